"""How long will a run or a grid take? Measured: from finished runs of the same cell where there
are some, else from a short warm-up of real training steps, scaled up."""
from __future__ import annotations

import functools
import statistics
import time

import torch

from .config import RunConfig
from .data import resolve_data_root
from .engine import build_run, cached_dataset
from .experiments import COST_FIELDS, cost_key
from .results import ResultsError, load_records
from .training import split_indices, train_step

WARMUP_STEPS, TIMED_STEPS = 1, 3


def measure_step(config: RunConfig, data_root=None) -> tuple[float, float]:
    """Seconds per training image (fwd+bwd+step) and per evaluation image, from a few real batches."""
    parts = build_run(config, data_root)
    batches = iter(parts.train)
    parts.model.train()
    times = []
    for i in range(WARMUP_STEPS + TIMED_STEPS):
        x, y = next(batches)
        t0 = time.perf_counter()
        train_step(parts, x, y)
        if parts.device.type == "cuda":
            torch.cuda.synchronize()
        if i >= WARMUP_STEPS:
            times.append((time.perf_counter() - t0) / len(y))
    parts.model.eval()
    x, _ = next(iter(parts.test))
    t0 = time.perf_counter()
    with torch.no_grad(), torch.autocast(parts.device.type, dtype=torch.bfloat16, enabled=parts.bf16):
        parts.model(parts.prepare(x))
    if parts.device.type == "cuda":
        torch.cuda.synchronize()
    return min(times), (time.perf_counter() - t0) / len(x)


@functools.cache
def _cell_cost(dataset: str, backbone: str, threads: int, device: str, precision: str,
               data_root: str) -> tuple[float, float]:
    return measure_step(RunConfig(dataset=dataset, backbone=backbone, threads=threads, device=device,
                                  precision=precision), data_root)


def warmup_seconds(cfg: RunConfig, data_root=None) -> float:
    """epochs × (train images × train cost + validation images × eval cost) + 2 × test images × eval cost."""
    root = str(resolve_data_root(data_root))
    t_train, t_eval = _cell_cost(cfg.dataset, cfg.backbone, cfg.threads, cfg.device, cfg.precision, root)
    data = cached_dataset(cfg.dataset, root)
    n_tr, n_va, n_te = (len(i) for i in split_indices(cfg, data.y_train, data.y_test))
    return cfg.epochs * (n_tr * t_train + n_va * t_eval) + 2 * n_te * t_eval


def measured_seconds(cfg: RunConfig, results, profile: str) -> float | None:
    """Median wall time of this profile's finished runs that cost alike (``experiments.cost_key``: data
    set, backbone, precision, epochs, training-set size, threads) on this device class."""
    device = "cuda" if torch.cuda.is_available() and cfg.device != "cpu" else "cpu"
    key = cost_key(cfg)
    times = [r["wall_time_s"] for r in _records(profile, results)
             if r.get("status") == "done" and cost_key(r["config"]) == key
             and (r.get("environment") or {}).get("device_class") == device and r.get("wall_time_s")]
    return statistics.median(times) if times else None


def _records(profile: str, results) -> list[dict]:
    try:
        return load_records(profile, results)
    except ResultsError:
        return []


def expected_seconds(cfg: RunConfig, data_root=None, results=None, profile: str | None = None) -> float:
    measured = measured_seconds(cfg, results, profile) if profile else None
    return measured if measured is not None else warmup_seconds(cfg, data_root)


def per_cell(configs: list[RunConfig], data_root=None, results=None, profile: str | None = None) -> list[dict]:
    """One row per cell of ``configs`` (data set, backbone, precision, epochs, training-set size): runs,
    minutes per run, and whether that time was measured on finished runs or estimated from a warm-up."""
    rows: dict[tuple, dict] = {}
    for c in configs:
        key = cost_key(c)
        if key not in rows:
            measured = measured_seconds(c, results, profile) if profile else None
            rows[key] = {**dict(zip(COST_FIELDS, key)), "runs": 0, "source": "measured" if measured else "warm-up",
                         "min_per_run": (measured if measured is not None else warmup_seconds(c, data_root)) / 60}
        rows[key]["runs"] += 1
    return list(rows.values())
