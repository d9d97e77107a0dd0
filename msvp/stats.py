"""Statistics over seeds: mean ± std per cell, paired MSVP − baseline differences with a 95 % t-interval."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps

CELL = ["dataset", "backbone"]


def t_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t-interval of ``values``; (mean, nan, nan) when fewer than 2 values."""
    v = np.asarray(values, dtype=float)
    mean = float(v.mean()) if len(v) else math.nan
    if len(v) < 2:
        return mean, math.nan, math.nan
    half = float(sps.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return mean, mean - half, mean + half


def verdict(lo: float, hi: float) -> str:
    """'improves' / 'hurts' when the interval excludes 0, else 'inconclusive'."""
    if math.isnan(lo) or math.isnan(hi) or lo <= 0 <= hi:
        return "inconclusive"
    return "improves" if lo > 0 else "hurts"


def summarize(df: pd.DataFrame, metric: str = "test_acc") -> pd.DataFrame:
    """Mean, std (ddof=1) and number of seeds per (dataset, backbone, variant)."""
    g = df.groupby(CELL + ["variant"], sort=False)[metric]
    out = g.agg(n="count", mean="mean", std="std").reset_index()
    return out


def paired(df: pd.DataFrame, treatment: str, control: str = "baseline", metric: str = "test_acc",
           level: float = 0.95) -> pd.DataFrame:
    """Per (dataset, backbone): the per-seed difference treatment − control, over seeds both have."""
    rows = []
    for (dataset, backbone), cell in df.groupby(CELL, sort=False):
        a = cell[cell.variant == treatment].set_index("seed")[metric]
        b = cell[cell.variant == control].set_index("seed")[metric]
        seeds = sorted(set(a.index) & set(b.index))
        if not seeds:
            continue
        d = (a.loc[seeds] - b.loc[seeds]).to_numpy(dtype=float)
        mean, lo, hi = t_interval(d, level)
        p = float(sps.ttest_1samp(d, 0.0).pvalue) if len(d) > 1 and d.std() > 0 else math.nan
        rows.append({"dataset": dataset, "backbone": backbone, "treatment": treatment, "control": control,
                     "n_pairs": len(d), "diff_mean": mean, "diff_std": float(d.std(ddof=1)) if len(d) > 1 else math.nan,
                     "ci_low": lo, "ci_high": hi, "p_value": p, "verdict": verdict(lo, hi),
                     "wins": int((d > 0).sum())})
    return pd.DataFrame(rows)


def fmt_pct(mean: float, std: float | None = None, digits: int = 2) -> str:
    """0.9912, 0.0011 -> '99.12 ± 0.11' (percent)."""
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{100 * mean:.{digits}f}"
    return f"{100 * mean:.{digits}f} ± {100 * std:.{digits}f}"


def fmt_ci(mean: float, lo: float, hi: float, digits: int = 2) -> str:
    """Difference in percentage points with its interval: '+0.12 [-0.05, +0.29] pp'."""
    if math.isnan(lo):
        return f"{100 * mean:+.{digits}f} pp (n = 1, no interval)"
    return f"{100 * mean:+.{digits}f} [{100 * lo:+.{digits}f}, {100 * hi:+.{digits}f}] pp"
