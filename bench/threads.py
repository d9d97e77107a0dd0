#!/usr/bin/env python
"""How many threads should one CPU run of ResNet-18 or ViT-Tiny take? (issue 23, item 2)

The grid's workers share one machine's cores (2 here). A pair of runs can go two ways: two 1-thread
runs side by side, or one 2-thread run after the other. Which finishes a pair sooner depends on how
well a backbone's step uses a second thread and how much two runs side by side slow each other, so
three settings of the same training step (the engine's ``RunParts`` and ``msvp.training.train_step``,
bf16 autocast + channels_last, batch 128, as the cpu profile trains these backbones) are timed:

    1-alone       1 thread, nothing else running
    1-beside      1 thread while a second process trains the same step on the other core: what each
                  of two 1-thread grid workers gets
    2-alone       2 threads, nothing else running

The settings are timed in interleaved rounds (the order rotates each round); each number is the
MEDIAN over rounds; the neighbour process runs only during the 1-beside steps. Projected to the cpu
protocol (10 epochs of the 90 % split, training steps only), a pair takes ``run_1-beside`` side by
side, or ``2 x run_2-alone`` one after the other. A run must also end within one working stretch
(about 3 h here), as a checkpoint may not survive to the next.

    python bench/threads.py                                  # both backbones, both inputs, 3 rounds
    python bench/threads.py --backbones resnet18 --inputs cifar10 --rounds 2
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import torch
from backbones import TRAIN_IMAGES, parts_for, step_seconds  # bench/backbones.py, beside this file

from msvp.cores import machine_cores
from msvp.data import MIRROR_ENV
from msvp.environment import cpu_name

REPO = Path(__file__).resolve().parents[1]
SETTINGS = ("1-alone", "1-beside", "2-alone")


def neighbour(backbone: str, dataset: str, ready, stop) -> None:
    """A second 1-thread run of the same step on the other core, until told to stop."""
    torch.set_num_threads(1)
    parts, batches = parts_for(backbone, dataset, "bf16", batches=2, threads=1)
    step_seconds(parts, batches[0])
    ready.set()
    while not stop.is_set():
        step_seconds(parts, batches[1])


def timed_step(prepared, setting: str, ctx, backbone: str, dataset: str) -> float:
    """Seconds of one step in ``setting``; 1-beside starts the neighbour first and stops it after."""
    torch.set_num_threads(int(setting[0]))
    if setting != "1-beside":
        return step_seconds(*prepared)[0]
    ready, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=neighbour, args=(backbone, dataset, ready, stop))
    proc.start()
    ready.wait()
    seconds = step_seconds(*prepared)[0]
    stop.set()
    proc.join()
    return seconds


def bench_cell(backbone: str, dataset: str, rounds: int, ctx) -> list[dict]:
    parts, batches = parts_for(backbone, dataset, "bf16", batches=2, threads=1)
    prepared = (parts, batches[1])
    for threads in (1, 2):                       # warm both thread pools and the allocator
        torch.set_num_threads(threads)
        step_seconds(parts, batches[0])
    times = {s: [] for s in SETTINGS}
    for r in range(rounds):
        for s in SETTINGS[r % 3:] + SETTINGS[:r % 3]:
            times[s].append(timed_step(prepared, s, ctx, backbone, dataset))
    steps = 10 * -(-TRAIN_IMAGES[dataset] // 128)
    med = {s: statistics.median(t) for s, t in times.items()}
    run_min = {s: steps * med[s] / 60 for s in SETTINGS}
    return [{"backbone": backbone, "dataset": dataset, "setting": s, "step_s": med[s],
             "images_per_s": 128 / med[s], "speedup_vs_1_alone": med["1-alone"] / med[s],
             "run_min": run_min[s],
             "pair_min": run_min[s] if s == "1-beside" else (2 * run_min[s] if s == "2-alone" else None),
             "rounds": rounds} for s in SETTINGS]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbones", nargs="+", default=["resnet18", "vit"], choices=["cnn", "resnet18", "vit"])
    ap.add_argument("--inputs", nargs="+", default=["cifar10", "mnist"], choices=list(TRAIN_IMAGES))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=str(REPO / "bench" / "results"))
    a = ap.parse_args(argv)
    os.environ.setdefault(MIRROR_ENV, str(REPO.parent / "shared" / "datasets"))
    ctx = mp.get_context("spawn")
    load = os.getloadavg()
    rows = [row for b in a.backbones for d in a.inputs for row in bench_cell(b, d, a.rounds, ctx)]
    df = pd.DataFrame(rows).assign(hardware=cpu_name(), torch=torch.__version__, cores=machine_cores(),
                                   load_at_start=" ".join(f"{x:.2f}" for x in load),
                                   date=datetime.now(timezone.utc).date().isoformat())
    out = Path(a.out) / f"threads-pt{torch.__version__.split('+')[0].replace('.', '')}-cpu.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False)
    cols = ["backbone", "dataset", "setting", "images_per_s", "speedup_vs_1_alone", "run_min", "pair_min"]
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"load average at start {load[0]:.2f}; wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
