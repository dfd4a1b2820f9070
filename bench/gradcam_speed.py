"""Grad-CAM time on the CPU: `cifar_gradcam.gradcam.GradCAM` next to pytorch-grad-cam and a plain forward pass.

A ResNet18 (eval mode, random but fixed weights) and one batch of `--batch` (64) images of shapes. Timed cases:

- `forward`: the model on the batch (channels-last, the faster memory format here, which `GradCAM` uses too) under
  `torch.no_grad()`: the floor for anything that needs a forward pass;
- `layer1` .. `layer4`: Grad-CAM of the predicted classes at that stage, ours and `pytorch_grad_cam.GradCAM` with
  that one target layer;
- `all four`: ours in one call returning four maps; the reference in four single-layer calls (its call with several
  target layers averages them into one map, which is not the same result).

Each case is timed `--repeats` times after one warm-up round, the cases interleaved within each round so that a change
in the machine's load hits them alike; the median is reported. torch's thread count is left as it is unless
`--threads` is given. The maps of both are compared too (largest difference). Results are printed and written to
bench/results/gradcam_speed.json.

Run:  python bench/gradcam_speed.py [--repeats 5] [--batch 64] [--threads N]
"""
import argparse, json, os, platform, statistics, sys, time, warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo's package, installed or not
from cifar_gradcam.data import make_shapes
from cifar_gradcam.gradcam import GradCAM, CAMWarning
from cifar_gradcam.model import ResNet18

LAYERS = ['layer1', 'layer2', 'layer3', 'layer4']


def reference_call(model, layer, x):
    "One pytorch-grad-cam Grad-CAM call, as its README shows it (targets None: the predicted classes)."
    from pytorch_grad_cam import GradCAM as ReferenceGradCAM
    with ReferenceGradCAM(model=model, target_layers=[model.get_submodule(layer)]) as cam:
        return torch.from_numpy(cam(input_tensor=x, targets=None))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--batch', type=int, default=64, help="images per call")
    ap.add_argument('--repeats', type=int, default=5, help="timed rounds after one warm-up round; the median is reported")
    ap.add_argument('--threads', type=int, default=None, help="torch.set_num_threads (default: leave as is)")
    ap.add_argument('--out', default=Path(__file__).parent / 'results' / 'gradcam_speed.json', type=Path)
    args = ap.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    warnings.simplefilter('ignore', CAMWarning)  # a random network has some all-zero maps; they are timed alike

    torch.manual_seed(0)
    model = ResNet18().eval()
    data = make_shapes(n_train=16, n_test=args.batch, seed=0)
    x = data.normalize(data.test.images)

    x_channels_last = x.contiguous(memory_format=torch.channels_last)
    def forward():  # the faster of the two memory formats, which GradCAM uses
        with torch.no_grad(): return model(x_channels_last)

    cases = {'forward': {'floor': forward}}
    for layer in LAYERS:
        cases[layer] = {'ours': lambda layer=layer: GradCAM(model, layer)(x),
                        'reference': lambda layer=layer: reference_call(model, layer, x)}
    cases['all four'] = {'ours': lambda: GradCAM(model, LAYERS)(x),
                         'reference': lambda: torch.stack([reference_call(model, l, x) for l in LAYERS], 1)}

    times = {case: {who: [] for who in fns} for case, fns in cases.items()}
    results = {}
    for round_ in range(args.repeats + 1):
        for case, fns in cases.items():
            for who, fn in fns.items():
                start = time.perf_counter()
                out = fn()
                elapsed = time.perf_counter() - start
                if round_ == 0: results[case, who] = out  # warm-up: keep the maps to compare
                else: times[case][who].append(elapsed)

    median = {case: {who: statistics.median(t) for who, t in d.items()} for case, d in times.items()}
    floor = median['forward']['floor']
    differences = {case: (results[case, 'ours'] - results[case, 'reference'].reshape(results[case, 'ours'].shape))
                   .abs().max().item() for case in cases if case != 'forward'}

    print(f"Grad-CAM, ResNet18 (eval, random weights), batch {args.batch} of 32x32 images, CPU, "
          f"{torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs; median of {args.repeats} after a warm-up\n")
    print(f"{'case':<10} {'ours s':>8} {'reference s':>12} {'reference/ours':>15} {'ours/forward':>13} {'max |diff|':>11}")
    print(f"{'forward':<10} {floor:>8.3f} {'':>12} {'':>15} {1:>13.2f}")
    ratios = {}
    for case in [*LAYERS, 'all four']:
        ours, ref = median[case]['ours'], median[case]['reference']
        ratios[case] = dict(speedup_vs_reference=ref / ours, vs_forward=ours / floor)
        print(f"{case:<10} {ours:>8.3f} {ref:>12.3f} {ref / ours:>14.1f}x {ours / floor:>12.2f}x "
              f"{differences[case]:>11.1e}")
    targets = {'layer3 >= 2.5x faster than the reference': ratios['layer3']['speedup_vs_reference'] >= 2.5,
               'all four >= 6x faster than the reference\'s four calls': ratios['all four']['speedup_vs_reference'] >= 6,
               'layer4 within 1.4x of a forward pass': ratios['layer4']['vs_forward'] <= 1.4}
    print()
    for name, met in targets.items(): print(f"{'met' if met else 'MISSED':>6}  {name}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(
        batch=args.batch, repeats=args.repeats, torch_threads=torch.get_num_threads(), cpus=os.cpu_count(),
        torch=torch.__version__, python=platform.python_version(), platform=platform.platform(),
        median_s=median, times_s=times, ratios=ratios, max_abs_difference=differences, targets_met=targets), indent=2))
    print(f"\nwrote {args.out}")


if __name__ == '__main__':
    main()
