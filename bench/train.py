#!/usr/bin/env python
"""Training throughput (images/s, forward + backward + optimiser step): our engine vs the official pipeline.

Ours is the engine's own path, not a copy of it: ``build_run(RunConfig(...))`` (the uint8 split on
the device, ``TensorLoader`` shuffling and augmenting whole batches with tensor ops) and
``train_epoch`` on a ``train_subset`` of exactly ``--batches`` x 128 images. Official style: a
Dataset over the same uint8 MNIST arrays whose ``__getitem__`` does what torchvision's MNIST does
(``Image.fromarray(img, mode "L")``, then RandomCrop(28, 4), RandomRotation(10), ToTensor,
Normalize), served by ``DataLoader(batch_size=128, shuffle=True, num_workers=2, drop_last=True)``
(pinned memory on CUDA, persistent workers), with a host->device copy of every batch.

Why it is fair: the baseline gets the official pipeline at its best settings (2 workers, no
handicap) and everything else from us: the same CNN with the same seed (``build_model``), the same
memory format and precision as the engine, the same Adam(1e-3, weight decay 1e-4), the same
step and bookkeeping (``loss.item()``, accuracy count) and the same number of batches. Both get an
untimed warm-up; repeats alternate the two and the best of ``--repeats`` counts. So the ratio
measures the input pipeline only; where the step is compute-bound (a CNN on a CPU) it cannot be
large, and the script says so, with how much of the official time goes to data loading.
Second part: the cost of MSVP (full scales, add fusion) per backbone on the training step and on
inference latency, baseline vs MSVP with bit-identical backbones, timed interleaved (median).

    python bench/train.py                            # MSVP_DATA_MIRROR defaults to ../shared/datasets
    python bench/train.py --batches 10 --threads 1 --skip-overhead
    python bench/train.py --quick                    # smoke run
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms
from torchvision.utils import _Image_fromarray   # what torchvision's MNIST calls: Image.fromarray(img, mode="L")

from msvp.accounting import SHAPES, interleaved_latency
from msvp.data import MIRROR_ENV
from msvp.splits import train_val_split
from msvp.engine import RunConfig, build_run, train_epoch
from msvp.environment import hardware
from msvp.loader import TensorLoader
from msvp.models import build_model

REPO = Path(__file__).resolve().parents[1]
BATCH = 128


class OfficialMNIST(Dataset):
    """The same uint8 images, served the way torchvision's MNIST serves them."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images[:, 0].numpy(), labels.tolist()   # (N, 28, 28) uint8, as torchvision
        self.transform = transforms.Compose([transforms.RandomCrop(28, padding=4), transforms.RandomRotation(10),
                                             transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(_Image_fromarray(self.images[i], mode="L")), self.labels[i]


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def official_pass(loader, model, opt, dev, bf16: bool, warmup: int, batches: int) -> tuple[int, float, float]:
    """Warm-up, then ``batches`` timed steps: (images, seconds, seconds spent waiting for data)."""
    model.train()
    it, n, wait = iter(loader), 0, 0.0
    for step in range(warmup + batches):
        if step == warmup:
            sync(dev)
            n, wait, t0 = 0, 0.0, time.perf_counter()
        tw = time.perf_counter()
        x, y = next(it)
        x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
        wait += time.perf_counter() - tw
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item(), (logits.argmax(1) == y).sum().item()   # the engine's per-step bookkeeping
        n += len(y)
    sync(dev)
    return n, time.perf_counter() - t0, wait


def throughput(a, dev: torch.device) -> None:
    cfg = RunConfig(dataset="mnist", backbone="cnn", prompt=a.prompt, seed=0, epochs=a.repeats, batch_size=BATCH,
                    train_subset=a.batches * BATCH, device=str(dev), precision=a.precision)
    parts = build_run(cfg, a.data_root)
    data = parts.data
    tr_idx, _ = train_val_split(len(data.y_train))
    official = DataLoader(OfficialMNIST(data.x_train[tr_idx], data.y_train[tr_idx]), batch_size=BATCH, shuffle=True,
                          num_workers=a.workers, pin_memory=dev.type == "cuda", drop_last=True,
                          persistent_workers=a.workers > 0)
    if a.warmup + a.batches > len(official):
        sys.exit(f"--batches + --warmup must be at most {len(official)} (one epoch of the 90 % split)")
    model = build_model("cnn", "mnist", prompt=a.prompt, seed=0)
    model = model.to(dev, memory_format=torch.channels_last) if dev.type == "cuda" else model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    k = a.warmup * BATCH   # our warm-up: the engine's train_epoch on the first few batches, same model/optimiser
    warm = TensorLoader(parts.train.images[:k], parts.train.labels[:k], dataset="mnist", batch_size=BATCH,
                        train=True, seed=0, device=dev)

    print(f"data      {data.label}; {a.batches} batches of {BATCH} timed, after {a.warmup} of warm-up")
    print(f"model     cnn, {'baseline' if a.prompt is None else 'MSVP ' + a.prompt}, "
          f"{'bf16 autocast' if parts.bf16 else 'fp32'}, Adam(1e-3, wd 1e-4)")
    best = {"ours": 0.0, "official": 0.0}
    wait_share = 1.0
    for r in range(a.repeats):
        train_epoch(dataclasses.replace(parts, train=warm), r, cfg, disable_bar=True)
        rate = train_epoch(parts, r, cfg, disable_bar=True)["images_per_s"]
        best["ours"] = max(best["ours"], rate)
        n, dt, wait = official_pass(official, model, opt, dev, parts.bf16, a.warmup, a.batches)
        if n / dt > best["official"]:
            best["official"], wait_share = n / dt, wait / dt
        print(f"repeat {r + 1}  ours {rate:8,.0f} images/s   official {n / dt:8,.0f} images/s")
    ratio = best["ours"] / best["official"]
    print(f"ours      {best['ours']:8,.0f} images/s  (engine: build_run + train_epoch, TensorLoader on {dev})")
    print(f"official  {best['official']:8,.0f} images/s  (PIL transforms, DataLoader({a.workers} workers), "
          f"per-batch .to({dev.type}))")
    print(f"ratio     ours/official = {ratio:.2f}x (target >= 3x: {'met' if ratio >= 3 else 'NOT met'})")
    it = iter(official)   # the official input pipeline alone, same number of batches, after the same warm-up
    [next(it) for _ in range(a.warmup)]
    t0 = time.perf_counter()
    [next(it)[0].to(dev) for _ in range(a.batches)]
    sync(dev)
    load_share = (time.perf_counter() - t0) / (a.batches * BATCH / best["official"])
    print(f"data      the official loop blocked on its DataLoader {100 * wait_share:.0f}% of its time; iterating the "
          f"DataLoader alone takes {100 * load_share:.0f}% of that time (its workers run beside the step and "
          f"share the CPU with it)")
    if ratio < 3:
        print(f"          on {dev.type.upper()} the step is compute-bound: forward + backward of the CNN dominates, "
              f"and no input pipeline can remove that part")


def overhead(a, dev: torch.device) -> None:
    print(f"\nMSVP overhead (full scales, add fusion), median of {a.overhead_repeats} interleaved repeats; "
          f"training step on {dev}, inference on cpu (msvp.accounting.interleaved_latency)")
    print(f"{'backbone':<9} {'input':<8} {'batch':>5}  {'step base ms':>12} {'msvp ms':>8} {'ovh %':>6}  "
          f"{'infer base ms':>13} {'msvp ms':>8} {'ovh %':>6}  (<= 2%?)")
    for shape in a.shapes:
        dataset = SHAPES[shape]
        for backbone in ("cnn", "resnet18", "vit"):
            bs = a.overhead_batch or (BATCH if backbone == "cnn" else 32)
            models = {"baseline": build_model(backbone, dataset, seed=0),
                      "msvp": build_model(backbone, dataset, prompt="full", fusion="add", seed=0)}
            lat = interleaved_latency(models, models["baseline"].input_shape, batch=bs, repeats=a.overhead_repeats)
            x = torch.randn(bs, *models["baseline"].input_shape, device=dev)
            y = torch.randint(0, 10, (bs,), device=dev)
            opts = {k: torch.optim.Adam(m.to(dev).train().parameters(), lr=1e-3, weight_decay=1e-4)
                    for k, m in models.items()}
            times = {name: [] for name in models}
            for r in range(2 + a.overhead_repeats):   # two warm-up rounds, then alternate who goes first
                for name in (("baseline", "msvp") if r % 2 else ("msvp", "baseline")):
                    sync(dev)
                    t0 = time.perf_counter()
                    loss = F.cross_entropy(models[name](x), y)
                    opts[name].zero_grad(set_to_none=True)
                    loss.backward()
                    opts[name].step()
                    sync(dev)
                    if r >= 2:
                        times[name].append(1e3 * (time.perf_counter() - t0))
            step = {k: statistics.median(v) for k, v in times.items()}
            so, io = 100 * (step["msvp"] / step["baseline"] - 1), 100 * (lat["msvp"] / lat["baseline"] - 1)
            ok = {o: "yes" if o <= 2 else "NO " for o in (so, io)}
            print(f"{backbone:<9} {shape:<8} {bs:>5}  {step['baseline']:12.2f} {step['msvp']:8.2f} {so:+6.1f} {ok[so]}  "
                  f"{lat['baseline']:13.2f} {lat['msvp']:8.2f} {io:+6.1f} {ok[io]}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", type=int, default=100, help="timed batches of 128 for each pipeline")
    ap.add_argument("--warmup", type=int, default=5, help="untimed batches before each timed pass")
    ap.add_argument("--repeats", type=int, default=1, help="alternating repeats of both; the best counts")
    ap.add_argument("--workers", type=int, default=2, help="DataLoader workers of the official pipeline")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads of the main process (default: torch's choice); 1 on a CPU "
                         "that other jobs keep busy. DataLoader workers always use 1")
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    ap.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                    help="as the engine's RunConfig.precision (auto = bf16 autocast on CUDA); used by both")
    ap.add_argument("--prompt", choices=("global", "global+mid", "full"), default=None,
                    help="train the MSVP model instead of the baseline CNN (both pipelines)")
    ap.add_argument("--data-root", default="data", help="relative paths are relative to the repository root")
    ap.add_argument("--skip-overhead", action="store_true", help="only the throughput comparison")
    ap.add_argument("--overhead-repeats", type=int, default=15)
    ap.add_argument("--overhead-batch", type=int, default=None, help="default: 128 for cnn, 32 for resnet18/vit")
    ap.add_argument("--shapes", nargs="+", choices=tuple(SHAPES), default=["1x28x28"])
    ap.add_argument("--quick", action="store_true", help="smoke run: 5 batches, 2 warm-up, 3 overhead repeats of batch 16")
    if ap.parse_args(argv).quick:   # smaller defaults; options given explicitly still win
        ap.set_defaults(batches=5, warmup=2, overhead_repeats=3, overhead_batch=16)
    a = ap.parse_args(argv)
    if a.batches < 1 or a.repeats < 1 or a.warmup < 1 or a.overhead_repeats < 1:
        ap.error("--batches, --warmup, --repeats and --overhead-repeats must be >= 1")
    a.data_root = REPO / a.data_root
    if (REPO.parent / "shared" / "datasets").is_dir():   # the offline mirror of this workplace
        os.environ.setdefault(MIRROR_ENV, str(REPO.parent / "shared" / "datasets"))
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda, but CUDA is not available")
    dev = torch.device("cuda" if a.device == "cuda" or (a.device == "auto" and torch.cuda.is_available()) else "cpu")

    print(f"hardware  {hardware(dev)}; torch {torch.__version__}, torchvision {torchvision.__version__}, "
          f"{torch.get_num_threads()} threads, python {platform.python_version()}")
    throughput(a, dev)
    if not a.skip_overhead:
        overhead(a, dev)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
