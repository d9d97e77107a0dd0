"""How long will a grid take? A short measured warm-up per (dataset, backbone), scaled up."""
from __future__ import annotations

import time

import torch

from .engine import RunConfig, build_run, train_step
from .environment import hardware

WARMUP_STEPS, TIMED_STEPS = 1, 3


def measure_step(config: RunConfig, data_root="data") -> tuple[float, float]:
    """Seconds per training image (fwd+bwd+step) and per evaluation image, from a few real batches."""
    parts = build_run(config, data_root)
    model = parts.model
    batches = iter(parts.train)
    model.train()
    times = []
    for i in range(WARMUP_STEPS + TIMED_STEPS):
        x, y = next(batches)
        t0 = time.perf_counter()
        train_step(parts, x, y)
        if parts.device.type == "cuda":
            torch.cuda.synchronize()
        if i >= WARMUP_STEPS:
            times.append((time.perf_counter() - t0) / len(y))
    model.eval()
    x, _ = next(iter(parts.test))
    t0 = time.perf_counter()
    with torch.no_grad(), torch.autocast(parts.device.type, dtype=torch.bfloat16, enabled=parts.bf16):
        model(x)
    if parts.device.type == "cuda":
        torch.cuda.synchronize()
    return min(times), (time.perf_counter() - t0) / len(x)


def estimate(configs: list[RunConfig], data_root="data") -> dict:
    """Estimated seconds for ``configs``: one warm-up per (dataset, backbone), then
    epochs × (train images × train cost + validation images × eval cost) + test images × eval cost × 2."""
    from .data import train_val_split
    from .engine import cached_dataset

    cost, total = {}, 0.0
    for cfg in configs:
        key = (cfg.dataset, cfg.backbone)
        if key not in cost:
            cost[key] = measure_step(cfg, data_root)
        t_train, t_eval = cost[key]
        data = cached_dataset(cfg.dataset, str(data_root))
        n_tr, n_va = (len(i) for i in train_val_split(len(data.y_train)))
        n_tr, n_va = min(n_tr, cfg.train_subset or n_tr), min(n_va, cfg.val_subset or n_va)
        n_te = min(len(data.y_test), cfg.test_subset or len(data.y_test))
        total += cfg.epochs * (n_tr * t_train + n_va * t_eval) + 2 * n_te * t_eval
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return {"seconds": total, "runs": len(configs), "hardware": hardware(device),
            "per_cell_ms_per_image": {f"{d}/{b}": round(1e3 * c[0], 3) for (d, b), c in cost.items()}}
