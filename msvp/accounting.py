"""Parameters, FLOPs and latency: baseline vs MSVP, measured, next to the analytic formulas."""
from __future__ import annotations

import statistics
import time

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from .backbones import BACKBONES
from .config import variant_name
from .environment import hardware
from .experiments import VARIANTS
from .models import build_model, count_params, input_shape
from .prompting import FUSIONS, SCALE_SETS

SHAPES = {"1x28x28": "mnist", "3x32x32": "cifar10"}


def analytic_prompt_params(channels: int, scales: str, fusion: str) -> int:
    """The variant registry's formula (design §1), the one parameter formula of the package."""
    return VARIANTS[variant_name(scales, fusion)].params(channels, 1, 1)   # MSVP's count needs no image size


def forward_flops(model, shape) -> int:
    """FLOPs of one forward pass on one image (convolutions and matmuls, as FlopCounterMode counts)."""
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model(torch.zeros(1, *shape))
    return int(fc.get_total_flops())


def interleaved_latency(models: dict, shape, *, batch: int = 32, repeats: int = 7) -> dict:
    """Median CPU forward time (ms per batch) of each model, timing them in turn in every repeat so
    that load changes on the machine hit all of them alike."""
    x = torch.randn(batch, *shape)
    times = {k: [] for k in models}
    with torch.no_grad():
        for m in models.values():
            m.eval()
            m(x)  # warm-up: allocator and kernel selection
        for _ in range(repeats):
            for name, m in models.items():
                t0 = time.perf_counter()
                m(x)
                times[name].append(1e3 * (time.perf_counter() - t0))
    return {k: statistics.median(v) for k, v in times.items()}


def params_table() -> pd.DataFrame:
    """Every backbone × input shape × scales × fusion: measured vs analytic prompt parameters."""
    rows = []
    for backbone in BACKBONES:
        for shape_name, dataset in SHAPES.items():
            c = input_shape(dataset)[0]
            base = count_params(build_model(backbone, dataset, seed=0))
            for scales in SCALE_SETS:
                for fusion in FUSIONS:
                    m = build_model(backbone, dataset, prompt=scales, fusion=fusion, seed=0)
                    measured = count_params(m.prompt)
                    analytic = analytic_prompt_params(c, scales, fusion)
                    rows.append({"backbone": backbone, "input": shape_name, "scales": scales, "fusion": fusion,
                                 "backbone_params": base, "prompt_params": measured, "analytic": analytic,
                                 "match": measured == analytic, "overhead_pct": 100 * measured / base,
                                 "below_0.02pct": 100 * measured / base < 0.02})
    return pd.DataFrame(rows)


def compute_table(*, latency: bool = True, batch: int = 32, repeats: int = 7) -> pd.DataFrame:
    """Per backbone × input: FLOPs and latency of the baseline and of MSVP (full scales, each fusion)."""
    rows = []
    for backbone in BACKBONES:
        for shape_name, dataset in SHAPES.items():
            shape = input_shape(dataset)
            models = {"baseline": build_model(backbone, dataset, seed=0)}
            models.update({f"msvp-{f}-full": build_model(backbone, dataset, prompt="full", fusion=f, seed=0)
                           for f in FUSIONS})
            lat = interleaved_latency(models, shape, batch=batch, repeats=repeats) if latency else {}
            base_flops = forward_flops(models["baseline"], shape)
            for name, m in models.items():
                fl = forward_flops(m, shape)
                rows.append({"backbone": backbone, "input": shape_name, "variant": name, "flops": fl,
                             "flops_overhead_pct": 100 * (fl - base_flops) / base_flops,
                             "latency_ms": lat.get(name), "latency_ratio": lat[name] / lat["baseline"] if lat else None,
                             "batch": batch, "repeats": repeats, "hardware": hardware("cpu"),
                             "torch": torch.__version__})
    return pd.DataFrame(rows)


def save_accounting(path, *, latency: bool = True, batch: int = 32, repeats: int = 7) -> dict:
    """Measure both tables and write them, with the machine that measured them, as one JSON file."""
    from datetime import datetime, timezone

    from .environment import describe, to_json
    from .store import write_atomic

    rec = {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "environment": describe("cpu"),
           "params": params_table().to_dict(orient="records"),
           "compute": compute_table(latency=latency, batch=batch, repeats=repeats).to_dict(orient="records")}
    write_atomic(path, to_json(rec))
    return rec


def load_accounting(path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    import json
    from pathlib import Path

    rec = json.loads(Path(path).read_text())
    return pd.DataFrame(rec["params"]), pd.DataFrame(rec["compute"]), rec["environment"]


BILINEAR_FLOPS = 7
"""FLOPs per output value per prompt map for bilinear upsampling: 4 neighbours × weight (4 multiplies)
summed (3 adds). The interpolation weights depend only on the row or column and are not counted."""


SIGMOID_FLOPS = 4
"""FLOPs per value for a sigmoid: negate, exp, add 1, divide."""


def msvp_added_flops(channels: int, height: int, width: int, scales: str = "full", fusion: str = "add",
                     batch: int = 1) -> dict[str, float]:
    """FLOPs per image that MSVP adds in front of the backbone, by operation, counted analytically.

    Per-op costs (E = C·H·W values, K prompt maps): upsampling BILINEAR_FLOPS·K·E; mean of the K
    maps K·E ((K − 1) adds and one division per value); 'add' fusion one add per value;
    'concat' a 1×1 convolution C(K+1) → C, 2 FLOPs per multiply-accumulate (as PyTorch's FLOP
    counter counts convolutions): 2·C(K+1)·C·H·W; 'gated' the 1×1 gate convolution with bias
    (2·C²·H·W + E), the sigmoid (SIGMOID_FLOPS·E), the gate × mean product (E) and the add (E).
    The prompt maps, their mean and the gate do not depend on the image: they are computed once
    per forward pass and shared by the ``batch`` images in it (batch 1 = the worst case, as the
    FLOP counter measures it)."""
    k, e, hw = len(SCALE_SETS[scales]), channels * height * width, height * width
    shared = {"bilinear upsampling": BILINEAR_FLOPS * k * e}
    per_image = {}
    if fusion == "concat":
        per_image["1×1 conv (concat)"] = 2 * channels * (k + 1) * channels * hw
    else:
        shared["mean of maps"] = k * e
        if fusion == "gated":
            shared["1×1 gate conv + bias"] = 2 * channels * channels * hw + e
            shared["sigmoid"] = SIGMOID_FLOPS * e
            shared["gate × mean"] = e
        per_image["add to image"] = e
    return {**{op: f / batch for op, f in shared.items()}, **per_image}
