#!/usr/bin/env python
"""Which arithmetic should train ResNet-18 and ViT-Tiny on this CPU? (issue 23, item 2)

For each backbone and input (CIFAR-10 3x32x32 and MNIST 1x28x28), one training step (forward,
backward, Adam(1e-3, wd 1e-4)) of batch 128 at ``--threads`` intra-op threads (default 1), timed
for four settings on the engine's own ``RunParts`` (the real model, optimiser and ``msvp.training.train_step``):

    fp32           eager, contiguous: the arithmetic of the official code (the baseline)
    bf16           eager bf16 autocast + channels_last: what the cpu profile uses for these backbones
    fp32-compile   ``torch.compile(model)`` in fp32
    bf16-compile   ``torch.compile(model)`` with bf16 autocast + channels_last

The settings are timed in interleaved rounds (the order rotates each round, so drifting load from
other jobs hits all alike); each number is the MEDIAN over rounds. Compilation is timed separately
(first compiled step minus a steady one), and a whole run is projected as compile time + steps of
the cpu protocol (10 epochs of the 90 % split) x the median step, so a compile that pays off per step
but not over a run is not chosen. A compiled setting counts only if it keeps the numbers equivalent:
its loss on the first batch must match the eager loss of the same precision (relative difference
below ``--tol``). Evaluation passes and the loader are the same for every setting and not timed.

    OMP_NUM_THREADS=1 python bench/backbones.py                 # all four, both inputs, 5 rounds
    python bench/backbones.py --backbones vit --inputs cifar10 --rounds 3
    python bench/backbones.py --quick                           # smoke: tiny rounds, no compile
    python bench/backbones.py --backbones resnet18 --threads 2  # the thread count ResNet-18 runs use
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import torch

from msvp.config import RunConfig
from msvp.data import MIRROR_ENV
from msvp.engine import build_run
from msvp.environment import hardware
from msvp.training import train_step

REPO = Path(__file__).resolve().parents[1]
SETTINGS = ("fp32", "bf16", "fp32-compile", "bf16-compile")
TRAIN_IMAGES = {"cifar10": 44_923, "mnist": 54_000}   # the cpu protocol's 90 % split (offline CIFAR-10 copy)


def parts_for(backbone: str, dataset: str, setting: str, batches: int, threads: int = 1):
    """RunParts of the engine for one setting; compiled settings wrap the model in torch.compile."""
    precision = setting.split("-")[0]
    cfg = RunConfig(dataset=dataset, backbone=backbone, precision=precision, device="cpu", threads=threads,
                    train_subset=batches * 128, val_subset=128, test_subset=128)
    parts = build_run(cfg)
    if setting.endswith("compile"):
        parts = dataclasses.replace(parts, model=torch.compile(parts.model))   # same parameters, same optimiser
    return parts, [b for _, b in zip(range(batches), parts.train)]


def step_seconds(parts, batch) -> tuple[float, float]:
    """(seconds, loss) of one training step."""
    x, y = batch
    t0 = time.perf_counter()
    loss, _ = train_step(parts, x, y)
    value = loss.item()   # the host sync ends the step
    return time.perf_counter() - t0, value


def bench_cell(backbone: str, dataset: str, settings, rounds: int, log, threads: int = 1) -> list[dict]:
    """Interleaved rounds of one step per setting; compile time and first-batch loss per setting."""
    prepared, first, compile_s = {}, {}, {}
    for s in settings:
        parts, batches = parts_for(backbone, dataset, s, batches=2, threads=threads)
        t_first, first[s] = step_seconds(parts, batches[0])    # the first step compiles, if at all
        t_next, _ = step_seconds(parts, batches[1])
        compile_s[s] = max(t_first - t_next, 0.0) if s.endswith("compile") else 0.0
        prepared[s] = (parts, batches[1])
        log(f"  {backbone}/{dataset} {s}: first step {t_first:.1f} s, second {t_next:.1f} s")
    times = {s: [] for s in settings}
    for r in range(rounds):
        order = list(settings[r % len(settings):]) + list(settings[:r % len(settings)])
        for s in order:
            times[s].append(step_seconds(*prepared[s])[0])
    steps = 10 * -(-TRAIN_IMAGES[dataset] // 128)
    base = statistics.median(times["fp32"])
    rows = []
    for s in settings:
        med = statistics.median(times[s])
        eager = first[s.split("-")[0]] if s.split("-")[0] in first else None
        rel = abs(first[s] - eager) / abs(eager) if eager else 0.0
        rows.append({"backbone": backbone, "dataset": dataset, "setting": s, "step_s": med,
                     "images_per_s": 128 / med, "speedup_vs_fp32": base / med, "compile_s": compile_s[s],
                     "run_h": (compile_s[s] + steps * med) / 3600, "first_loss": first[s],
                     "loss_rel_diff_vs_eager": rel, "rounds": rounds})
    return rows


def choose(df: pd.DataFrame, tol: float) -> pd.DataFrame:
    """Per cell, the setting with the shortest projected run among those whose numbers match eager."""
    ok = df[df.loss_rel_diff_vs_eager < tol]
    return ok.loc[ok.groupby(["backbone", "dataset"]).run_h.idxmin(), ["backbone", "dataset", "setting", "run_h"]]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbones", nargs="+", default=["resnet18", "vit"], choices=["cnn", "resnet18", "vit"])
    ap.add_argument("--inputs", nargs="+", default=["cifar10", "mnist"], choices=list(TRAIN_IMAGES))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tol", type=float, default=2e-2, help="relative loss difference allowed vs eager")
    ap.add_argument("--quick", action="store_true", help="2 rounds, eager settings only")
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads (the cpu profile: 1, ResNet-18 2)")
    ap.add_argument("--out", default=str(REPO / "bench" / "results"))
    a = ap.parse_args(argv)
    os.environ.setdefault(MIRROR_ENV, str(REPO.parent / "shared" / "datasets"))
    torch.set_num_threads(a.threads)
    settings = SETTINGS[:2] if a.quick else SETTINGS
    rounds = 2 if a.quick else a.rounds
    load = os.getloadavg()
    rows = []
    for b in a.backbones:
        for d in a.inputs:
            rows += bench_cell(b, d, settings, rounds, log=lambda m: print(m, flush=True), threads=a.threads)
    df = pd.DataFrame(rows).assign(hardware=hardware("cpu"), torch=torch.__version__, threads=a.threads,
                                   load_at_start=" ".join(f"{x:.2f}" for x in load),
                                   date=datetime.now(timezone.utc).date().isoformat())
    tag = (f"pt{torch.__version__.split('+')[0].replace('.', '')}-cpu" + (f"-t{a.threads}" if a.threads != 1 else "")
           + ("-quick" if a.quick else ""))
    out = Path(a.out) / f"backbones-{tag}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False)
    cols = ["backbone", "dataset", "setting", "images_per_s", "speedup_vs_fp32", "compile_s", "run_h",
            "loss_rel_diff_vs_eager"]
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"load average at start {load[0]:.2f}; chosen (shortest projected run, numbers equivalent):")
    print(choose(df, a.tol).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
