#!/usr/bin/env python
"""Throughput of one training epoch of batches: our in-memory loader vs the official pipeline.

Ours: ``msvp.loader.TensorLoader`` (the whole split is one uint8 tensor; shuffling, crop,
rotation/flip and normalisation are done per batch with tensor ops, no workers). Official style:
a Dataset over the same uint8 arrays that does exactly what torchvision's MNIST/CIFAR10
``__getitem__`` does (``Image.fromarray`` then the PIL transforms of the official code), served by
``DataLoader(batch_size=128, shuffle=True, num_workers=2)``. Both get a short warm-up, then one
timed pass over the 90 % training split (54,000 images for MNIST; ``--batches`` limits it), and
every batch is touched (``x.sum()``) so no work is skipped. Prints images/s and ours/official.

    MSVP_DATA_MIRROR=../shared/datasets python bench/loader.py --batches 50
    python bench/loader.py --threads 1          # on a CPU shared with other jobs
    python bench/loader.py --dataset cifar10 --device cuda
"""
from __future__ import annotations

import argparse
import platform
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from msvp.data import load_dataset
from msvp.datasets import DATASETS
from msvp.environment import hardware
from msvp.loader import TensorLoader
from msvp.splits import train_val_split


def official_transform(name: str):
    spec = DATASETS[name]
    if name == "cifar10":
        aug = [transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip()]
    else:
        aug = [transforms.RandomCrop(28, padding=4), transforms.RandomRotation(10)]
    return transforms.Compose(aug + [transforms.ToTensor(), transforms.Normalize(spec.mean, spec.std)])


class OfficialStyle(Dataset):
    """The same uint8 images, served the way torchvision's MNIST / CIFAR10 datasets serve them."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform):
        # torchvision keeps MNIST as (N, H, W) uint8 and CIFAR-10 as (N, H, W, C) uint8 numpy
        self.images = images[:, 0].numpy() if images.shape[1] == 1 else images.permute(0, 2, 3, 1).contiguous().numpy()
        self.labels = labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        img = Image.fromarray(self.images[i])   # a 2-D uint8 array gives mode "L", as torchvision's MNIST
        return self.transform(img), self.labels[i]


def timed_pass(loader, max_batches: int | None, warmup: int) -> tuple[int, float]:
    """Warm up with a few batches of a first pass, then time one (possibly truncated) pass."""
    for i, (x, _) in enumerate(loader):
        x.sum().item()
        if i + 1 >= warmup:
            break
    n, t0 = 0, time.perf_counter()
    for i, (x, y) in enumerate(loader):
        x.sum().item()   # touch every batch, and wait for it on an accelerator
        n += len(y)
        if max_batches and i + 1 >= max_batches:
            break
    return n, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", choices=list(DATASETS), default="mnist")
    ap.add_argument("--batches", type=int, default=None, help="time only the first N batches of the epoch")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--workers", type=int, default=2, help="DataLoader workers of the official pipeline")
    ap.add_argument("--warmup", type=int, default=5, help="batches of warm-up before each timed pass")
    ap.add_argument("--device", default="cpu", help="device of our loader (the official one stays on the CPU)")
    ap.add_argument("--data-root", default="data")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads of the main process (default: torch's choice). On a CPU "
                         "that other jobs keep busy, 1 avoids thread oversubscription; DataLoader workers "
                         "always use 1")
    a = ap.parse_args(argv)

    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    ds = load_dataset(a.dataset, a.data_root)
    train_idx, _ = train_val_split(len(ds.y_train))
    x, y = ds.x_train[train_idx], ds.y_train[train_idx]

    ours = TensorLoader(x, y, dataset=a.dataset, batch_size=a.batch_size, train=True, seed=a.seed, device=a.device)
    official = DataLoader(OfficialStyle(x, y, official_transform(a.dataset)), batch_size=a.batch_size,
                          shuffle=True, num_workers=a.workers)

    print(f"data      {ds.label}; timed split: {len(y):,} training images, batch {a.batch_size}"
          + (f", first {a.batches} batches" if a.batches else ", one full epoch"))
    print(f"hardware  {hardware(a.device)}; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"python {platform.python_version()}")
    rates = {}
    for name, loader in (("ours", ours), ("official", official)):
        n, dt = timed_pass(loader, a.batches, a.warmup)
        rates[name] = n / dt
        detail = f"TensorLoader on {a.device}" if name == "ours" else f"PIL transforms, DataLoader({a.workers} workers)"
        print(f"{name:<9} {n:>7,} images in {dt:6.2f} s = {rates[name]:>9,.0f} images/s  ({detail})")
    print(f"ratio     ours/official = {rates['ours'] / rates['official']:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
