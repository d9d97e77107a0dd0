#!/usr/bin/env python
"""Training benchmarks (issue 10): our engine vs the official pipeline, and the cost of MSVP.

1. Throughput: images/s of forward + backward + Adam(1e-3, weight decay 1e-4) step, the CNN on
MNIST, batch 128, four pipelines timed the same way:

    ours-fp32      the engine itself, not a copy: ``build_run(RunConfig(precision='fp32',
                   memory_format='contiguous', train_subset=--batches x 128))`` + ``train_epoch``
                   (uint8 split on the device, ``TensorLoader`` shuffling and augmenting whole
                   batches with tensor ops, ``msvp.training.train_step``)
    ours-bf16      the same with bf16 autocast and channels_last
    official-fp32  the official code's CPU path: ``OfficialMNIST`` (what torchvision's MNIST does:
                   ``Image.fromarray(img, mode "L")``, RandomCrop(28, 4), RandomRotation(10),
                   ToTensor, Normalize) in ``DataLoader(batch_size=128, shuffle=True,
                   num_workers=4, persistent_workers=True, pin_memory=<on CUDA>)``, a host->device
                   copy of every batch, fp32, contiguous, a plain fp32 step
    official-bf16  the same pipeline with bf16 autocast and channels_last: a reference for what
                   the official pipeline could get from the arithmetic alone

Why it is fair: the official pipeline runs at its own best CPU settings (4 persistent workers, no
handicap) and gets everything else from us: the same CNN with the same seed (``build_model``), the
same optimiser settings (the engine's Adam is fused on CUDA only), the very same uint8 images with
the same augmentation recipe, the same per-step bookkeeping (``loss.item()``, accuracy count) and
the same intra-op threads in the main process (``--threads``; DataLoader workers run 1 thread each,
as torch sets them). The time is wall clock, so the CPU the workers take is counted as the cost of
that pipeline; batches the workers prefetch during the warm-up fall in the timed window, which
favours the official side. Every pass starts with ``--warmup`` untimed batches (worker start-up,
allocator, kernel choice); each number is the MEDIAN of ``--repeats`` repeats, and the order
ROTATES (repeat r starts with the r-th pipeline), so drifting load from other jobs hits all four
alike. The headline ratio is ours at the
engine's default precision on this machine (``resolve_precision`` of ``precision='auto'``: bf16
on CUDA and on CPUs with native bf16, else fp32) over official-fp32, as the official code runs:
it includes the engine's precision choice. The like-for-like ratios (ours-bf16/official-bf16,
ours-fp32/official-fp32) isolate the input pipeline. Targets: headline >= 2x, stretch 3x.

2. MSVP overhead per backbone (cnn, resnet18, vit; input shapes from ``--shapes``): baseline vs
MSVP (full scales, add fusion) with bit-identical backbones (``build_model(..., seed=0)``). The
training step is the engine's ``msvp.training.train_step`` on ``RunParts`` with the engine's
default precision and memory format for this device, timed in ``--overhead-repeats`` interleaved
pairs (who goes first alternates; 2 warm-up rounds first); reported: median overhead of the
per-pair ratios and its interquartile range. Inference latency comes from
``msvp.accounting.interleaved_latency`` (CPU, fp32, eval). Target: <= 2 % median overhead.

Results go to ``--out`` as CSV tagged with the environment, timm-style
(``train-throughput-pt2141-cpu.csv``, ``msvp-overhead-pt2141-cpu.csv``; ``-quick`` is appended
for --quick runs), every row carrying the hardware, torch version, threads, the load average at
start and the repeats.

    OMP_NUM_THREADS=1 python bench/train.py          # MSVP_DATA_MIRROR defaults to ../shared/datasets
    python bench/train.py --threads 1 --batches 50 --skip-overhead
    python bench/train.py --quick --out /tmp/bench   # smoke run, ~30 s
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
import torchvision
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms
from torchvision.utils import _Image_fromarray  # what torchvision's MNIST calls: Image.fromarray(img, mode="L")

from msvp.accounting import SHAPES, interleaved_latency
from msvp.config import RunConfig
from msvp.data import MIRROR_ENV
from msvp.engine import build_run
from msvp.environment import hardware
from msvp.loader import TensorLoader
from msvp.models import build_model
from msvp.training import RunParts, resolve_memory_format, resolve_precision, train_epoch, train_step

REPO = Path(__file__).resolve().parents[1]
BATCH = 128
PIPELINES = ("ours-fp32", "ours-bf16", "official-fp32", "official-bf16")
FORMATS = {"fp32": "contiguous", "bf16": "channels_last"}
HEADLINE_TARGET, STRETCH_TARGET, OVERHEAD_TARGET_PCT = 2.0, 3.0, 2.0
WARMUP_ROUNDS = 2   # untimed rounds before the interleaved overhead pairs


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


def quartiles(values) -> tuple[float, float, float]:
    """25th, 50th and 75th percentile (inclusive method: fine for a handful of values)."""
    if len(values) == 1:
        return (values[0],) * 3
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def environment(a, dev: torch.device, load: tuple[float, float, float]) -> dict:
    """The columns every CSV row carries."""
    return {"hardware": hardware(dev), "device": dev.type, "torch": torch.__version__,
            "torchvision": torchvision.__version__, "python": platform.python_version(),
            "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
            "load_1m_start": load[0], "load_5m_start": load[1], "load_15m_start": load[2],
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quick": a.quick}


# ---------------------------------------------------------------- 1. throughput

class OfficialPipeline:
    """The official input pipeline's state: its loader, and its own model and optimiser."""

    def __init__(self, loader: DataLoader, dev: torch.device, precision: str, warmup: int):
        self.loader, self.dev, self.bf16, self.warmup = loader, dev, precision == "bf16", warmup
        model = build_model("cnn", "mnist", seed=0)
        self.channels_last = FORMATS[precision] == "channels_last"
        self.model = model.to(dev, memory_format=torch.channels_last) if self.channels_last else model.to(dev)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3, weight_decay=1e-4)


def official_epoch(pipe: OfficialPipeline) -> tuple[float, float]:
    """One epoch of the official loader (first ``warmup`` batches untimed): (images/s, data-wait share)."""
    pipe.model.train()
    it = iter(pipe.loader)
    total = len(pipe.loader)
    n, wait, t0 = 0, 0.0, time.perf_counter()
    for step in range(total):
        if step == pipe.warmup:
            sync(pipe.dev)
            n, wait, t0 = 0, 0.0, time.perf_counter()
        tw = time.perf_counter()
        x, y = next(it)
        x, y = x.to(pipe.dev, non_blocking=True), y.to(pipe.dev, non_blocking=True)
        if pipe.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        wait += time.perf_counter() - tw
        with torch.autocast(pipe.dev.type, dtype=torch.bfloat16, enabled=pipe.bf16):
            logits = pipe.model(x)
            loss = F.cross_entropy(logits.float(), y)
        pipe.opt.zero_grad(set_to_none=True)
        loss.backward()
        pipe.opt.step()
        loss.item(), (logits.argmax(1) == y).sum().item()   # the official loop's per-step bookkeeping
        n += len(y)
    sync(pipe.dev)
    dt = time.perf_counter() - t0
    return n / dt, wait / dt


def throughput(a, dev: torch.device, env: dict) -> pd.DataFrame:
    default = resolve_precision(RunConfig(precision="auto"), dev)
    ours, warm = {}, {}
    for prec in ("fp32", "bf16"):
        cfg = RunConfig(dataset="mnist", backbone="cnn", seed=0, epochs=a.repeats, batch_size=BATCH,
                        train_subset=a.batches * BATCH, device=str(dev), precision=prec,
                        memory_format=FORMATS[prec], threads=a.threads)
        parts = build_run(cfg, a.data_root)
        # the untimed warm-up: the same engine path on the first --warmup batches' worth of the subset
        idx = torch.arange(a.warmup * BATCH, device=parts.train.images.device) % len(parts.train.labels)
        w = TensorLoader(parts.train.images[idx], parts.train.labels[idx], dataset="mnist", batch_size=BATCH,
                         train=True, seed=1, device=dev)
        ours[prec] = (cfg, parts)
        warm[prec] = RunParts(**{**vars(parts), "train": w})
    parts = ours["fp32"][1]
    # the official pipeline sees the very same images: the warm-up ones, then the timed subset
    images = torch.cat([warm["fp32"].train.images, parts.train.images]).cpu()
    labels = torch.cat([warm["fp32"].train.labels, parts.train.labels]).cpu()
    # torch warns when workers outnumber the cores; the official settings are kept (and said) anyway
    warnings.filterwarnings("ignore", message="This DataLoader will create")
    loader = DataLoader(OfficialMNIST(images, labels), batch_size=BATCH, shuffle=True, num_workers=a.workers,
                        pin_memory=dev.type == "cuda", drop_last=True, persistent_workers=a.workers > 0)
    assert len(loader) == a.warmup + a.batches
    official = {prec: OfficialPipeline(loader, dev, prec, a.warmup) for prec in ("fp32", "bf16")}

    print(f"\nTHROUGHPUT  cnn on {parts.data.label}, batch {BATCH}, Adam(1e-3, wd 1e-4); {a.batches} timed batches "
          f"after {a.warmup} untimed, per pass; median of {a.repeats} repeats in rotating order")
    print(f"            official: DataLoader({a.workers} workers, persistent, pin_memory={dev.type == 'cuda'}); "
          f"{os.cpu_count()} cores; engine default precision here: {default}")
    rates = {p: [] for p in PIPELINES}
    waits = {p: [] for p in PIPELINES}
    for r in range(a.repeats):
        k = r % len(PIPELINES)
        order = PIPELINES[k:] + PIPELINES[:k]
        line = []
        for name in order:
            kind, prec = name.split("-")
            if kind == "ours":
                cfg, p = ours[prec]
                train_epoch(warm[prec], r, cfg, disable_bar=True)
                rate = train_epoch(p, r, cfg, disable_bar=True)["images_per_s"]
            else:
                rate, wait = official_epoch(official[prec])
                waits[name].append(wait)
            rates[name].append(rate)
            line.append(f"{name} {rate:7,.0f}")
        print(f"  repeat {r + 1}: " + "   ".join(line) + "  images/s")

    med = {p: statistics.median(v) for p, v in rates.items()}
    headline = med[f"ours-{default}"] / med["official-fp32"]
    same = {prec: med[f"ours-{prec}"] / med[f"official-{prec}"] for prec in ("fp32", "bf16")}
    print(f"  {'pipeline':<14} {'images/s':>9}  {'min':>7} {'max':>7}  {'waits for data':>14}")
    for p in PIPELINES:
        w = f"{100 * statistics.median(waits[p]):13.0f}%" if waits[p] else f"{'-':>14}"
        print(f"  {p:<14} {med[p]:9,.0f}  {min(rates[p]):7,.0f} {max(rates[p]):7,.0f}  {w}")
    verdict = (f"target >= {HEADLINE_TARGET:g}x: {'met' if headline >= HEADLINE_TARGET else 'NOT met'}; "
               f"stretch >= {STRETCH_TARGET:g}x: {'met' if headline >= STRETCH_TARGET else 'NOT met'}")
    print(f"  HEADLINE  ours-{default} (engine default) / official-fp32 (as the official code runs) = "
          f"{headline:.2f}x   {verdict}")
    print(f"  like for like: ours-bf16 / official-bf16 = {same['bf16']:.2f}x;  "
          f"ours-fp32 / official-fp32 = {same['fp32']:.2f}x")

    rows = []
    for p in PIPELINES:
        kind, prec = p.split("-")
        rows.append({"bench": "train-throughput", "pipeline": p, "engine": kind, "precision": prec,
                     "memory_format": FORMATS[prec], "engine_default": kind == "ours" and prec == default,
                     "model": "cnn", "dataset": "mnist", "batch": BATCH, "batches": a.batches, "warmup": a.warmup,
                     "repeats": a.repeats, "workers": a.workers if kind == "official" else 0,
                     "images_per_s": med[p], "images_per_s_min": min(rates[p]), "images_per_s_max": max(rates[p]),
                     "images_per_s_runs": ";".join(f"{v:.1f}" for v in rates[p]),
                     "data_wait_share": statistics.median(waits[p]) if waits[p] else None,
                     "ratio_vs_official_fp32": med[p] / med["official-fp32"],
                     "ratio_vs_official_same_precision": med[p] / med[f"official-{prec}"],
                     "headline_ratio": headline, "headline_met": headline >= HEADLINE_TARGET,
                     "stretch_met": headline >= STRETCH_TARGET, **env})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- 2. MSVP overhead

def overhead(a, dev: torch.device, env: dict) -> pd.DataFrame:
    prec = resolve_precision(RunConfig(precision="auto"), dev)
    fmt = resolve_memory_format(RunConfig(), dev, prec)
    print(f"\nMSVP OVERHEAD  baseline vs MSVP add/full, bit-identical backbones; training step = "
          f"msvp.training.train_step on {dev} ({prec}, {fmt}), {a.overhead_repeats} interleaved pairs after "
          f"{WARMUP_ROUNDS} warm-up rounds: median [IQR] of per-pair ratios; inference = interleaved_latency "
          f"(cpu, fp32), median of {a.overhead_repeats}")
    print(f"  {'backbone':<9} {'input':<8} {'batch':>5}  {'step base ms':>12} {'msvp ms':>8} {'ovh % [IQR]':>20}  "
          f"{'<=2%':<7}  {'infer base ms':>13} {'msvp ms':>8} {'ovh %':>6}  {'<=2%':<7}")
    rows = []
    for shape in a.shapes:
        dataset = SHAPES[shape]
        for backbone in ("cnn", "resnet18", "vit"):
            bs = a.overhead_batch or (BATCH if backbone == "cnn" else 32)
            models = {"baseline": build_model(backbone, dataset, seed=0),
                      "msvp": build_model(backbone, dataset, prompt="full", fusion="add", seed=0)}
            in_shape = models["baseline"].input_shape
            lat = interleaved_latency(models, in_shape, batch=bs, repeats=a.overhead_repeats)
            parts = {}
            for name, m in models.items():
                m = m.to(dev, memory_format=torch.channels_last) if fmt == "channels_last" else m.to(dev)
                params = [p for p in m.train().parameters() if p.requires_grad]
                opt = torch.optim.Adam(params, lr=1e-3, weight_decay=1e-4,
                                       **({"fused": True} if dev.type == "cuda" else {}))
                parts[name] = RunParts(m, None, None, None, opt, None, dev, prec, fmt, None)
            g = torch.Generator().manual_seed(0)
            x = torch.randn(bs, *in_shape, generator=g).to(dev)
            y = torch.randint(0, 10, (bs,), generator=g).to(dev)
            times = {name: [] for name in parts}
            for r in range(WARMUP_ROUNDS + a.overhead_repeats):   # alternate who goes first
                for name in (("baseline", "msvp") if r % 2 else ("msvp", "baseline")):
                    sync(dev)
                    t0 = time.perf_counter()
                    loss, _ = train_step(parts[name], x, y)
                    loss.item()
                    sync(dev)
                    if r >= WARMUP_ROUNDS:
                        times[name].append(1e3 * (time.perf_counter() - t0))
            ratios = [m / b for m, b in zip(times["msvp"], times["baseline"])]
            q1, q2, q3 = (100 * (q - 1) for q in quartiles(ratios))
            step = {k: statistics.median(v) for k, v in times.items()}
            io = 100 * (lat["msvp"] / lat["baseline"] - 1)
            ok_s, ok_i = q2 <= OVERHEAD_TARGET_PCT, io <= OVERHEAD_TARGET_PCT
            iqr = f"{q2:+.1f} [{q1:+.1f}, {q3:+.1f}]"
            print(f"  {backbone:<9} {shape:<8} {bs:>5}  {step['baseline']:12.2f} {step['msvp']:8.2f} {iqr:>20}  "
                  f"{'met' if ok_s else 'NOT met':<7}  {lat['baseline']:13.2f} {lat['msvp']:8.2f} {io:+6.1f}  "
                  f"{'met' if ok_i else 'NOT met':<7}")
            rows.append({"bench": "msvp-overhead", "backbone": backbone, "input": shape, "variant": "msvp-add-full",
                         "batch": bs, "precision": prec, "memory_format": fmt, "repeats": a.overhead_repeats,
                         "warmup_rounds": WARMUP_ROUNDS,
                         "step_baseline_ms": step["baseline"], "step_msvp_ms": step["msvp"],
                         "step_overhead_pct": q2, "step_overhead_q1_pct": q1, "step_overhead_q3_pct": q3,
                         "step_met": ok_s, "infer_baseline_ms": lat["baseline"], "infer_msvp_ms": lat["msvp"],
                         "infer_overhead_pct": io, "infer_met": ok_i, "target_pct": OVERHEAD_TARGET_PCT, **env})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", type=int, default=100, help="timed batches of 128 per pass (ours: train_subset)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed batches before each timed pass")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of all four pipelines, rotating; the median counts")
    ap.add_argument("--workers", type=int, default=4, help="DataLoader workers of the official pipeline (persistent)")
    ap.add_argument("--threads", type=int, default=None,
                    help="intra-op threads of the main process, for both pipelines (default: torch's, which "
                         "follows OMP_NUM_THREADS). DataLoader workers run 1 each")
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    ap.add_argument("--data-root", default="data", help="relative paths are relative to the repository root")
    ap.add_argument("--out", default=str(REPO / "bench" / "results"), help="folder for the CSV files")
    ap.add_argument("--skip-throughput", action="store_true", help="only the MSVP overhead")
    ap.add_argument("--skip-overhead", action="store_true", help="only the throughput comparison")
    ap.add_argument("--overhead-repeats", type=int, default=15, help="interleaved baseline/MSVP pairs per backbone")
    ap.add_argument("--overhead-batch", type=int, default=None, help="default: 128 for cnn, 32 for resnet18/vit")
    ap.add_argument("--shapes", nargs="+", choices=tuple(SHAPES), default=["1x28x28"])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run (~30 s): 3 batches after 1 warm-up, 3 repeats, 3 overhead pairs of batch 16; "
                         "'-quick' in the CSV names")
    if ap.parse_args(argv).quick:   # smaller defaults; options given explicitly still win
        ap.set_defaults(batches=3, warmup=1, repeats=3, overhead_repeats=3, overhead_batch=16)
    a = ap.parse_args(argv)
    if min(a.batches, a.warmup, a.repeats, a.overhead_repeats) < 1 or a.workers < 0:
        ap.error("--batches, --warmup, --repeats and --overhead-repeats must be >= 1, --workers >= 0")
    a.data_root = REPO / a.data_root
    if (REPO.parent / "shared" / "datasets").is_dir():   # the offline mirror of this workplace
        os.environ.setdefault(MIRROR_ENV, str(REPO.parent / "shared" / "datasets"))
    if a.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda, but CUDA is not available")
    dev = torch.device("cuda" if a.device == "cuda" or (a.device == "auto" and torch.cuda.is_available()) else "cpu")
    a.threads = a.threads or torch.get_num_threads()
    torch.set_num_threads(a.threads)   # build_run sets it too, from RunConfig.threads = the same value

    load = os.getloadavg()
    env = environment(a, dev, load)
    print(f"hardware  {env['hardware']}; {os.cpu_count()} cores; torch {torch.__version__}, torchvision "
          f"{torchvision.__version__}, python {env['python']}; {a.threads} intra-op thread(s)")
    print(f"load      {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min averages at start)")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = f"pt{torch.__version__.split('+')[0].replace('.', '')}-{dev.type}" + ("-quick" if a.quick else "")
    written = []
    if not a.skip_throughput:
        if (a.warmup + a.batches) * BATCH > 54_000:
            sys.exit("--batches + --warmup must be at most 421 (the 90 % training split of MNIST)")
        written.append(out / f"train-throughput-{tag}.csv")
        throughput(a, dev, env).to_csv(written[-1], index=False)
    if not a.skip_overhead:
        written.append(out / f"msvp-overhead-{tag}.csv")
        overhead(a, dev, env).to_csv(written[-1], index=False)
    end = os.getloadavg()
    print(f"\nload      {end[0]:.2f} {end[1]:.2f} {end[2]:.2f} at the end")
    for path in written:
        print(f"wrote     {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
