"""Augmentation + batching throughput (images/s) on the CPU at batch size 512.

Compares `cifar_gradcam.data.BatchLoader` (whole-batch augmentation of an in-memory uint8 tensor) with torchvision's
usual per-image pipeline (PIL images, RandomCrop + RandomHorizontalFlip + ToTensor + Normalize, batched by a torch
`DataLoader` with 0 and 2 workers) on the same training images. Each pipeline is timed over `--batches` batches after
2 warm-up batches, best of `--repeats` rounds; results are printed and written to bench/results/data_throughput.json.

Run:  python bench/data_throughput.py --data path/to/cifar10-jpeg.tar.gz [--batches 40] [--threads N]
"""
import argparse, itertools, json, os, platform, sys, time
from pathlib import Path

import torch
from PIL import Image
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo's package, installed or not
from cifar_gradcam.data import Augment, BatchLoader, load_data

BATCH_SIZE, WARMUP = 512, 2


def images_per_s(loader, n_batches, repeats):
    "Images/s of each of `repeats` rounds: a fresh pass over `loader`, `WARMUP` untimed batches, `n_batches` timed."
    rates = []
    for _ in range(repeats):
        it = itertools.chain.from_iterable(itertools.repeat(loader))  # epoch after epoch if need be
        for _ in range(WARMUP): next(it)
        n, start = 0, time.perf_counter()
        for _ in range(n_batches):
            x, y = next(it)  # held until the next batch replaces it, as in a training loop
            n += len(x)
        rates.append(n / (time.perf_counter() - start))
        del it, x, y
    return rates


class PILDataset(torch.utils.data.Dataset):
    "The images of a split as PIL images, with torchvision transforms applied one image at a time."
    def __init__(self, split, transform):
        self.images = [Image.fromarray(a) for a in split.images.permute(0, 2, 3, 1).numpy()]
        self.labels, self.transform = split.labels.tolist(), transform

    def __len__(self): return len(self.images)
    def __getitem__(self, i): return self.transform(self.images[i]), self.labels[i]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default=os.environ.get('CIFAR_GRADCAM_DATA', 'shapes'), help="load_data source")
    ap.add_argument('--batches', type=int, default=40, help="timed batches per pipeline (after 2 warm-up)")
    ap.add_argument('--repeats', type=int, default=3, help="timed rounds per pipeline; the best one is reported")
    ap.add_argument('--threads', type=int, default=None, help="torch.set_num_threads (default: leave as is)")
    ap.add_argument('--out', default=Path(__file__).parent / 'results' / 'data_throughput.json', type=Path)
    args = ap.parse_args()
    if args.threads: torch.set_num_threads(args.threads)

    data = load_data(args.data)
    split = data.train
    n_batches = args.batches
    if len(split) < BATCH_SIZE: raise SystemExit(f"{len(split)} training images are too few for batches of {BATCH_SIZE}")
    print(f"{data}\nbest of {args.repeats} rounds of {n_batches} batches of {BATCH_SIZE} after {WARMUP} warm-up, "
          f"{torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs\n\n{'pipeline':<40} {'images/s':>10}")

    results, rounds = {}, {}
    ours = {'ours crop+flip': dict(augment=Augment(cutout=0)),
            'ours crop+flip+cutout': dict(augment=Augment()),
            'ours crop+flip+cutout channels_last': dict(augment=Augment(), channels_last=True)}
    for name, kw in ours.items():
        loader = BatchLoader(split, data.mean, data.std, BATCH_SIZE, shuffle=True, drop_last=True, device='cpu', **kw)
        rounds[name] = images_per_s(loader, n_batches, args.repeats)
        results[name] = max(rounds[name])
        print(f"{name:<40} {results[name]:>10,.0f}")

    tf = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
                             transforms.ToTensor(), transforms.Normalize(data.mean.tolist(), data.std.tolist())])
    dataset = PILDataset(split, tf)
    for workers in (0, 2):
        name = f'torchvision DataLoader workers={workers}'
        loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True, drop_last=True,
                                             num_workers=workers, persistent_workers=workers > 0)
        rounds[name] = images_per_s(loader, n_batches, args.repeats)
        results[name] = max(rounds[name])
        print(f"{name:<40} {results[name]:>10,.0f}")

    best_ref = max(v for k, v in results.items() if k.startswith('torchvision'))
    ratios = {'crop+flip': results['ours crop+flip'] / best_ref,
              'crop+flip+cutout': results['ours crop+flip+cutout'] / best_ref}
    print()
    for k, r in ratios.items(): print(f"ours {k} / best torchvision: {r:.1f}x")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(
        data=str(args.data), n_train=len(split), batch_size=BATCH_SIZE, batches=n_batches, warmup=WARMUP,
        torch_threads=torch.get_num_threads(), cpus=os.cpu_count(), torch=torch.__version__,
        python=platform.python_version(), repeats=args.repeats, images_per_s=results, rounds=rounds,
        ratio_vs_best_reference=ratios), indent=2))
    print(f"wrote {args.out}")


if __name__ == '__main__':
    main()
