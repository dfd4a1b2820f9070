"""The atlas of mistakes over a test split, next to a plain forward pass and to the same maps from pytorch-grad-cam.

The work: for every image the Grad-CAM map of its predicted class at `--layer` (layer3), and for every mistake also
the map of its true class and the contrastive map (predicted rather than true). Three ways, on the same model and
images, timed in one run:

- `forward`: the model over the images in batches under `torch.no_grad()`, the floor;
- `atlas`: `mistake_atlas`'s maps (`_atlas_maps`: batched, 8-bit maps), without the statistics and faithfulness;
- `reference`: pytorch-grad-cam, one call per batch and target (predicted; true and the logit difference for the
  mistakes), as its README does it.

The model: `--checkpoint` (a saved ResNet18), by default 03_train's short CIFAR-10 run from the cache if it is there,
else a ResNet18 with random weights (whose mistakes are most images: the slowest case for the atlas). The data:
`--data` (default `$CIFAR_GRADCAM_DATA`), `--images` of its test split. Peak memory (resident size, where the
platform reports it) is printed too, and the resident size during the atlas: before it, and the most over the
first and over the last quarter of the split, and after it once malloc has given back the free memory it keeps
(what is still held is what the atlas keeps: its 8-bit maps). Results go to
bench/results/atlas_speed.json.

Run:  python bench/atlas_speed.py [--images 2000] [--batch 128] [--checkpoint PATH]
"""
import argparse, json, os, platform, sys, time, warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cifar_gradcam.data import default_cache_dir, load_data
from cifar_gradcam.model import ResNet18, load_model
from cifar_gradcam.gradcam import CAMWarning
from cifar_gradcam.atlas import _atlas_maps


class RSSSampler:
    "The resident size of this process, sampled every 50 ms in a thread (Linux), to see whether it grows over a split."
    def __init__(self): self.samples, self._stop = [], None
    def __enter__(self):
        import threading
        self._stop = threading.Event()
        def sample():
            while not self._stop.wait(0.05): self.samples.append(current_rss_mb())
        self._thread = threading.Thread(target=sample, daemon=True); self._thread.start()
        return self
    def __exit__(self, *exc): self._stop.set(); self._thread.join()


def current_rss_mb():
    try: return int(Path('/proc/self/statm').read_text().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20
    except (OSError, ValueError): return float('nan')


def trimmed_rss_mb():
    "The resident size once glibc's malloc has given back the free memory it keeps (where there is glibc)."
    try:
        import ctypes
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError): pass
    return current_rss_mb()


def peak_rss_mb():
    try:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == 'darwin' else peak / 2**10
    except ImportError: return float('nan')


def reference_atlas(model, split, mean, std, layer, batch):
    "pytorch-grad-cam's maps for the same work: one call per batch and target."
    from pytorch_grad_cam import GradCAM as ReferenceGradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    class Difference:
        def __init__(self, a, b): self.a, self.b = a, b
        def __call__(self, output): return output[..., self.a] - output[..., self.b]
    with ReferenceGradCAM(model=model, target_layers=[model.get_submodule(layer)]) as cam:
        for start in range(0, len(split), batch):
            x = (split.images[start:start + batch].float() / 255 - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)
            with torch.no_grad(): predicted = model(x).argmax(1)
            cam(input_tensor=x, targets=[ClassifierOutputTarget(int(p)) for p in predicted])
            wrong = (predicted != split.labels[start:start + batch]).nonzero().flatten()
            if len(wrong):
                labels, guesses = split.labels[start:start + batch][wrong], predicted[wrong]
                cam(input_tensor=x[wrong], targets=[ClassifierOutputTarget(int(t)) for t in labels])
                cam(input_tensor=x[wrong], targets=[Difference(int(p), int(t)) for p, t in zip(guesses, labels)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default=None, help="data source (default: $CIFAR_GRADCAM_DATA or the download)")
    ap.add_argument('--images', type=int, default=2000, help="test images (10000: the whole CIFAR-10 test split)")
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--layer', default='layer3')
    ap.add_argument('--checkpoint', default=None)
    ap.add_argument('--skip-reference', action='store_true')
    ap.add_argument('--out', default=Path(__file__).parent / 'results' / 'atlas_speed.json', type=Path)
    args = ap.parse_args()
    warnings.simplefilter('ignore', CAMWarning)
    data = load_data(args.data, progress=False)
    split = data.test[:args.images]
    checkpoint = args.checkpoint or default_cache_dir() / 'models' / 'cifar10-short-run.pt'
    model = load_model(checkpoint) if Path(checkpoint).exists() else ResNet18(num_classes=len(data.classes)).eval()
    x_all = data.normalize(split.images)

    def forward():
        with torch.no_grad():
            return torch.cat([model(x_all[i:i + args.batch].contiguous(memory_format=torch.channels_last)).argmax(1)
                              for i in range(0, len(split), args.batch)])

    times = {}
    start = time.perf_counter(); predicted = forward(); times['forward'] = time.perf_counter() - start
    before = current_rss_mb()
    start = time.perf_counter()
    with RSSSampler() as rss:
        _atlas_maps(model, split, data.mean, data.std, args.layer, 'gradcam', args.batch, progress=False)
    times['atlas'] = time.perf_counter() - start
    quarter = max(len(rss.samples) // 4, 1)  # resident size over the first and the last quarter of the split
    memory = dict(before_atlas=round(before), first_quarter_max=round(max(rss.samples[:quarter], default=before)),
                  last_quarter_max=round(max(rss.samples[-quarter:], default=before)),
                  after_atlas_trimmed=round(trimmed_rss_mb()))
    if not args.skip_reference:
        start = time.perf_counter()
        reference_atlas(model, split, data.mean, data.std, args.layer, args.batch)
        times['reference'] = time.perf_counter() - start
    mistakes = (predicted != split.labels).float().mean().item()
    result = dict(images=len(split), layer=args.layer, batch=args.batch, mistakes=mistakes,
                  model=str(checkpoint) if Path(checkpoint).exists() else 'random weights',
                  seconds={k: round(v, 2) for k, v in times.items()},
                  atlas_over_forward=round(times['atlas'] / times['forward'], 2),
                  reference_over_atlas=round(times['reference'] / times['atlas'], 2) if 'reference' in times else None,
                  peak_rss_mb=round(peak_rss_mb()), atlas_rss_mb=memory, cpus=os.cpu_count(),
                  threads=torch.get_num_threads(),
                  torch=torch.__version__, python=platform.python_version())
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == '__main__': main()
