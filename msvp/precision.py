"""Is bf16 safe for the CPU profile? The bf16 profile's CNN runs against the committed fp32 ones.

Both were trained at the converged protocol (full split, 10 epochs, the same seeds, 1 thread); only
the arithmetic differs (bf16 autocast + channels_last vs fp32). Two questions, per data set:

1. Baseline accuracy: is bf16 equivalent to fp32 within ``MARGIN_PP``? Two-sample TOST (Welch), the
   90 % interval of mean(bf16) - mean(fp32) must lie inside the margin. Two samples, not pairs: at
   10 epochs two runs of one seed part after a few hundred steps whatever the precision, so a seed
   pairs nothing across precisions; the seed-to-seed spread is the noise.
2. The MSVP gain: does it change with the arithmetic? The per-seed paired gains (MSVP add/full -
   baseline) in bf16 against those in fp32: the 95 % Welch interval of their difference.

The rule (stated in the book's protocol page): bf16 trains the new backbones if question 1 says
"equivalent" on all three data sets and question 2 finds no difference (its interval contains 0)
on both data sets with MSVP runs; otherwise they train in fp32.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .stats import MARGIN_PP

TOST_LEVEL = 0.90      # a 90 % interval inside the margin = TOST at alpha 0.05
GAIN_LEVEL = 0.95
MIN_RUNS = 2           # per precision and data set, before any verdict
ORDER = ("mnist", "fashion_mnist", "cifar10")
NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10 (offline copy)"}


def welch(a, b, level: float) -> tuple[float, float, float]:
    """mean(a) - mean(b) and its Welch interval at ``level`` (lo, hi); a point where both samples are
    constant (scipy's interval is undefined there)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    diff = a.mean() - b.mean()
    if a.var() == 0 and b.var() == 0:
        return diff, diff, diff
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(level)
    return diff, float(ci.low), float(ci.high)


def tost_p(a, b, margin: float) -> float:
    """Two one-sided Welch tests of |mean(a) - mean(b)| < margin: the larger p (small = equivalent)."""
    lower = stats.ttest_ind(a, np.asarray(b, float) - margin, equal_var=False, alternative="greater").pvalue
    upper = stats.ttest_ind(a, np.asarray(b, float) + margin, equal_var=False, alternative="less").pvalue
    return float(max(lower, upper))


def _acc(df: pd.DataFrame, dataset: str, variant: str) -> pd.Series:
    cell = df[(df.dataset == dataset) & (df.backbone == "cnn") & (df.variant == variant)]
    return (100 * cell.set_index("seed").test_acc).sort_index()


def gains(df: pd.DataFrame, dataset: str) -> pd.Series:
    """Per-seed MSVP add/full - baseline test accuracy (pp), over the seeds that have both."""
    return (_acc(df, dataset, "msvp-add-full") - _acc(df, dataset, "baseline")).dropna()


def baseline_row(fp32: pd.DataFrame, bf16: pd.DataFrame, dataset: str, margin: float = MARGIN_PP) -> dict:
    a, b = _acc(bf16, dataset, "baseline"), _acc(fp32, dataset, "baseline")
    row = {"dataset": dataset, "n_bf16": len(a), "n_fp32": len(b), "bf16_mean": a.mean(), "bf16_sd": a.std(),
           "fp32_mean": b.mean(), "fp32_sd": b.std()}
    if min(len(a), len(b)) < MIN_RUNS:
        return {**row, "verdict": "not enough runs yet"}
    diff, lo, hi = welch(a, b, TOST_LEVEL)
    p = tost_p(a, b, margin)
    equivalent = -margin < lo and hi < margin
    return {**row, "diff_pp": diff, "lo": lo, "hi": hi, "p_tost": p,
            "verdict": "equivalent" if equivalent else "not shown equivalent"}


def gain_row(fp32: pd.DataFrame, bf16: pd.DataFrame, dataset: str) -> dict:
    g16, g32 = gains(bf16, dataset), gains(fp32, dataset)
    row = {"dataset": dataset, "n_bf16": len(g16), "n_fp32": len(g32), "gain_bf16": g16.mean(),
           "gain_fp32": g32.mean()}
    if min(len(g16), len(g32)) < MIN_RUNS:
        return {**row, "verdict": "not enough pairs yet"}
    diff, lo, hi = welch(g16, g32, GAIN_LEVEL)
    return {**row, "diff_pp": diff, "lo": lo, "hi": hi,
            "verdict": "no difference found" if lo <= 0 <= hi else "differs"}


def speed(fp32: pd.DataFrame, bf16: pd.DataFrame, dataset: str) -> float | None:
    """Median wall time of a fp32 CNN run over that of a bf16 one (same data set; both finished)."""
    t32 = fp32[(fp32.dataset == dataset) & (fp32.backbone == "cnn")].wall_time_s.median()
    t16 = bf16[(bf16.dataset == dataset) & (bf16.backbone == "cnn")].wall_time_s.median()
    return None if pd.isna(t32) or pd.isna(t16) else float(t32 / t16)


def compare(fp32: pd.DataFrame, bf16: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(baseline equivalence per data set, gain comparison per data set with MSVP runs in bf16)."""
    present = [d for d in ORDER if d in set(bf16.dataset) | set(fp32.dataset)]
    base = pd.DataFrame([{**baseline_row(fp32, bf16, d), "speedup": speed(fp32, bf16, d)} for d in present])
    with_msvp = [d for d in present if (bf16[bf16.dataset == d].variant == "msvp-add-full").any()]
    return base, pd.DataFrame([gain_row(fp32, bf16, d) for d in with_msvp])


def decide(base: pd.DataFrame, gain: pd.DataFrame, *, planned_runs: int = 5, planned_pairs: int = 3,
           datasets=ORDER, gain_datasets=("fashion_mnist", "cifar10")) -> tuple[str | None, str]:
    """('bf16' | 'fp32' | None, reason). A data set that fails counts only once all its planned bf16
    runs are in (an early interval is wide); None while the evidence the rule needs is incomplete."""
    b = base.set_index("dataset") if len(base) else pd.DataFrame(columns=["verdict", "n_bf16"])
    g = gain.set_index("dataset") if len(gain) else pd.DataFrame(columns=["verdict", "n_bf16"])
    failed, waiting = [], []
    for table, names, ok, bad, planned in ((b, datasets, "equivalent", "not shown equivalent", planned_runs),
                                           (g, gain_datasets, "no difference found", "differs", planned_pairs)):
        for d in names:
            verdict = table.verdict.get(d)
            if verdict == bad and table.n_bf16.get(d, 0) >= planned:
                failed.append(d)
            elif verdict != ok or table.n_bf16.get(d, 0) < planned:
                waiting.append(d)
    if failed:
        return "fp32", "bf16 fails the rule on " + _names(failed)
    if waiting:
        return None, "waiting for bf16 runs on " + _names(waiting)
    return "bf16", "baseline accuracy equivalent on every data set and no gain difference found"


def _names(datasets) -> str:
    return ", ".join(NAMES[d] for d in sorted(set(datasets), key=list(ORDER).index))


def runs(results_dir) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fp32 CNN runs of the cpu profile, runs of the bf16 profile), current ones only."""
    from .results import load
    fp32, bf16 = load("cpu", results_dir), load("bf16", results_dir)   # the bf16 profile mirrors cpu
    return fp32[fp32.backbone == "cnn"], bf16


def outcome(results_dir) -> tuple[str | None, str]:
    """The rule's decision on the committed runs: ('bf16' | 'fp32' | None, reason)."""
    return decide(*compare(*runs(results_dir)))
