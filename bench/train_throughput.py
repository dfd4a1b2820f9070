"""Training throughput (images/s) of one step -- augmentation, forward, backward and optimizer step.

Compares `cifar_gradcam.train`'s pipeline (`BatchLoader` with whole-batch augmentation feeding `train_step`) in each
setting that a recipe can choose -- fp32 or bf16, channels-last memory or not, and the smaller image sizes of the
CPU recipe's first epochs -- with a plain reference loop (a torch `DataLoader` over PIL images with torchvision's
RandomCrop + RandomHorizontalFlip + ToTensor + Normalize, fp32, `loss.backward(); opt.step()`) on the same images
and the same ResNet18, in one run. Each is timed over `--steps` steps after 2 warm-up steps; results go to
bench/results/train_throughput.json.

Run:  python bench/train_throughput.py --data path/to/cifar10-jpeg.tar.gz [--steps 10] [--batch-size 256] [--device cpu]
"""
import argparse, itertools, json, os, platform, sys, time
from pathlib import Path

import torch
import torch.nn as nn
from PIL import Image
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cifar_gradcam.data import Augment, BatchLoader, load_data
from cifar_gradcam.lrfinder import make_optimizer, make_scaler, resolve_precision, train_step
from cifar_gradcam.model import ResNet18

WARMUP = 2

class PILDataset(torch.utils.data.Dataset):
    "The reference: one PIL image at a time through torchvision's transforms."
    def __init__(self, split, mean, std):
        self.images = [Image.fromarray(im.permute(1, 2, 0).numpy()) for im in split.images]
        self.labels, self.tf = split.labels.tolist(), transforms.Compose([
            transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
            transforms.Normalize(mean.tolist(), std.tolist())])
    def __len__(self): return len(self.images)
    def __getitem__(self, i): return self.tf(self.images[i]), self.labels[i]

def timed(step, batches, n_steps, batch_size):
    it = itertools.chain.from_iterable(itertools.repeat(batches))
    for _ in range(WARMUP): step(*next(it))
    sync()
    start = time.perf_counter()
    for _ in range(n_steps): step(*next(it))
    sync()
    return n_steps * batch_size / (time.perf_counter() - start)

def sync():
    if torch.cuda.is_available(): torch.cuda.synchronize()

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', default=os.environ.get('CIFAR_GRADCAM_DATA', 'shapes'))
    p.add_argument('--steps', type=int, default=10)
    p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--subset', type=int, default=4096, help='training images to use (PIL conversion takes time)')
    args = p.parse_args()
    device = torch.device(args.device)
    data = load_data(args.data)
    split = data.train[:args.subset]
    results, bs = {}, args.batch_size
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)

    bf16 = 'bf16' if device.type == 'cpu' else resolve_precision('auto', device)
    settings = [('fp32', False, None), ('fp32', True, None), (bf16, False, None), (bf16, True, None),
                (bf16, True, 24), (bf16, True, 16)]
    for precision, channels_last, size in settings:
        torch.manual_seed(0)
        model = ResNet18(num_classes=len(data.classes)).to(device)
        if channels_last: model.to(memory_format=torch.channels_last)
        opt, scaler = make_optimizer(model, 0.05), make_scaler(precision, device)
        ours = BatchLoader(split, data.mean, data.std, bs, shuffle=True, drop_last=True, augment=Augment(),
                           device=device, channels_last=channels_last, size=size)
        name = f'ours ({precision}{", channels_last" if channels_last else ""}, {size or 32} px)'
        results[name] = timed(lambda x, y: train_step(model, x, y, loss_fn, opt, scaler, precision), ours,
                              args.steps, bs)
        print(f'{name}: {results[name]:.1f} images/s', flush=True)

    torch.manual_seed(0)
    ref_model = ResNet18(num_classes=len(data.classes)).to(device)
    ref_opt = torch.optim.SGD(ref_model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    ref_loader = torch.utils.data.DataLoader(PILDataset(split, data.mean, data.std), batch_size=bs,
                                             shuffle=True, drop_last=True, num_workers=2, persistent_workers=True)
    def ref_step(x, y):
        x, y = x.to(device), y.to(device)
        ref_opt.zero_grad()
        loss = loss_fn(ref_model(x), y)
        loss.backward(); ref_opt.step()
    results['reference (DataLoader + torchvision transforms, fp32)'] = timed(ref_step, ref_loader, args.steps, bs)

    width = max(map(len, results))
    for name, rate in results.items(): print(f'{name:<{width}}  {rate:9.1f} images/s')
    ref_rate = results[list(results)[-1]]
    ratios = {name: rate / ref_rate for name, rate in list(results.items())[:-1]}
    for name, ratio in ratios.items(): print(f'{name} / reference: {ratio:.2f}x')
    out = Path(__file__).parent / 'results' / 'train_throughput.json'
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(dict(data=str(args.data), device=str(device), torch=torch.__version__,
                                   cpus=os.cpu_count(), threads=torch.get_num_threads(), python=platform.python_version(),
                                   batch_size=bs, steps=args.steps, images_per_s=results,
                                   ratio_to_reference=ratios), indent=1))

if __name__ == '__main__':
    main()
