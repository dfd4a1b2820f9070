"""Time to 90% and 93% CIFAR-10 test accuracy of a training recipe on this machine, from its training log.

It runs `cifar_gradcam_run --recipe <recipe>` into `--out` (resuming the run if one is there, so an interrupted
benchmark goes on where it stopped), then reads the run's history.json and writes, for each target accuracy, the
training time at which the test accuracy first reached it: the sum of the epochs' seconds as `fit` records them
(an epoch's training, then the test of the model that predicts, the averaged weights where the recipe averages
them). The time between sessions of a resumed run is not counted. With it go the final accuracies (plain, with
flip test-time augmentation, and of the trained weights before averaging), the images/s of each image size, the
machine, torch, the recipe's settings and the seed. The targets of the CPU recipe on 2 cores: 90% within 2 hours,
93% within 4.

Results go to bench/results/time_to_accuracy-<recipe>.json (or <name>.json). A setting newer than the run is
recorded at its default, as a checkpoint reads it.

Run:  python bench/time_to_accuracy.py --data path/to/cifar10-jpeg.tar.gz [--recipe cpu] [--out runs/cifar10-cpu]
      python bench/time_to_accuracy.py --out runs/cifar10-cpu --no-train    # only read a run that is done
"""
import argparse, json, os, platform, shutil, subprocess, sys
from dataclasses import asdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cifar_gradcam.data import write_json
from cifar_gradcam.train import History, TrainConfig

TARGETS = (0.90, 0.93)


def cpu_name() -> str:
    try: lines = Path('/proc/cpuinfo').read_text().splitlines()
    except OSError: return platform.processor() or platform.machine()
    return next((l.split(':', 1)[1].strip() for l in lines if l.startswith('model name')), platform.machine())


def time_to(epochs: list, target: float):
    "`(seconds, epoch)` at which `test_acc` first reached `target`, or `(None, None)`."
    elapsed = 0.0
    for row in epochs:
        elapsed += row['seconds']
        if row['test_acc'] >= target: return round(elapsed, 1), row['epoch']
    return None, None


def summary(out: Path, recipe: str) -> dict:
    history = History.load(out / 'history.json')
    rows, config = history.epochs, asdict(TrainConfig()) | history.config
    metrics = json.loads((out / 'metrics.json').read_text()) if (out / 'metrics.json').exists() else {}
    steps_per_epoch = len(history.lrs) // len(rows)
    by_size = {}
    for row in rows:  # images/s of each training image size, the test after each epoch included
        seen = by_size.setdefault(row.get('size', 32), [0, 0.0])
        seen[0] += steps_per_epoch * config['batch_size']; seen[1] += row['seconds']
    last = rows[-1]
    result = dict(recipe=recipe, run=str(out), epochs=len(rows), of_epochs=config['epochs'],
                  seconds=round(sum(r['seconds'] for r in rows), 1), test_acc=last['test_acc'],
                  test_acc_flip=last.get('test_acc_flip'), trained_test_acc=last.get('trained_test_acc'),
                  explained_accuracy=metrics.get('accuracy'),
                  images_per_s_by_size={size: round(n / s, 1) for size, (n, s) in sorted(by_size.items())},
                  machine=dict(cpu=cpu_name(), cpus=os.cpu_count(), threads=torch.get_num_threads(),
                               cuda=torch.cuda.get_device_name() if torch.cuda.is_available() else None),
                  torch=torch.__version__, python=platform.python_version(), seed=config['seed'], settings=config)
    for target in TARGETS:
        seconds, epoch = time_to(rows, target)
        result[f'time_to_{target:.0%}'] = dict(seconds=seconds, hours=None if seconds is None else round(seconds / 3600, 2),
                                                epoch=epoch)
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', default=os.environ.get('CIFAR_GRADCAM_DATA'), help='CIFAR-10: a folder or an archive')
    p.add_argument('--recipe', default='cpu')
    p.add_argument('--out', default=None, help='the run folder (default: runs/cifar10-<recipe>)')
    p.add_argument('--no-train', action='store_true', help='read the run in --out without training')
    p.add_argument('--name', default=None, help='the results file: bench/results/time_to_accuracy-<name>.json '
                   '(default: the recipe)')
    args = p.parse_args()
    out = Path(args.out or f'runs/cifar10-{args.recipe}')
    if not args.no_train:
        if not args.data: sys.exit('--data (or $CIFAR_GRADCAM_DATA) must name a copy of CIFAR-10')
        command = [shutil.which('cifar_gradcam_run') or sys.exit('cifar_gradcam_run is not installed: pip install -e .'),
                   '--data', args.data, '--recipe', args.recipe, '--out', str(out)]
        print('running', ' '.join(command[1:]), flush=True)
        if subprocess.run(command).returncode: sys.exit('the run failed')
    result = summary(out, args.recipe)
    for target in TARGETS:
        t = result[f'time_to_{target:.0%}']
        print(f"time to {target:.0%}: " + (f"{t['seconds']:,.0f} s ({t['hours']:.2f} h), epoch {t['epoch']}"
                                           if t['seconds'] is not None else 'not reached'))
    print(f"final test accuracy {result['test_acc']:.2%} (with flip {result['test_acc_flip'] or 0:.2%}) after "
          f"{result['seconds']:,.0f} s; images/s by size: {result['images_per_s_by_size']}")
    path = Path(__file__).parent / 'results' / f'time_to_accuracy-{args.name or args.recipe}.json'
    path.parent.mkdir(exist_ok=True)
    write_json(result, path)
    print(f"written to {path}")


if __name__ == '__main__':
    main()
