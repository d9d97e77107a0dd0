"""The bf16-vs-fp32 check of the protocol page, for readers: ``msvp.precision``'s two tables with
labelled columns, and its outcome in a sentence."""
from __future__ import annotations

import numpy as np
import pandas as pd

from msvp.precision import GAIN_LEVEL, NAMES, TOST_LEVEL, compare, decide, runs
from msvp.stats import signed


def _pm(mean, sd) -> str:
    return "–" if pd.isna(mean) else f"{mean:.2f}" + ("" if pd.isna(sd) else f" ± {sd:.2f}")


def _signed(v) -> str:
    return "–" if pd.isna(v) else signed(v)


def _interval(row) -> str:
    if pd.isna(row.get("lo", np.nan)):
        return "–"
    return f"{signed(row['diff_pp'])} [{signed(row['lo'])}, {signed(row['hi'])}]"


def readable(base: pd.DataFrame, gain: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two tables of ``compare`` with labelled columns."""
    b = pd.DataFrame({
        "data set": base.dataset.map(NAMES), "runs bf16 / fp32": base.n_bf16.astype(str) + " / " + base.n_fp32.astype(str),
        "bf16 accuracy % (mean ± sd)": [_pm(m, s) for m, s in zip(base.bf16_mean, base.bf16_sd)],
        "fp32 accuracy % (mean ± sd)": [_pm(m, s) for m, s in zip(base.fp32_mean, base.fp32_sd)],
        f"bf16 − fp32, pp [{TOST_LEVEL:.0%} CI]": [_interval(r) for r in base.to_dict("records")],
        "verdict": base.verdict}) if len(base) else pd.DataFrame()
    g = pd.DataFrame({
        "data set": gain.dataset.map(NAMES), "pairs bf16 / fp32": gain.n_bf16.astype(str) + " / " + gain.n_fp32.astype(str),
        "gain in bf16, pp": gain.gain_bf16.map(_signed),
        "gain in fp32, pp": gain.gain_fp32.map(_signed),
        f"difference, pp [{GAIN_LEVEL:.0%} CI]": [_interval(r) for r in gain.to_dict("records")],
        "verdict": gain.verdict}) if len(gain) else pd.DataFrame()
    return b, g


def report(results_dir) -> tuple[list, str]:
    """For the protocol page: the tables ([(title, table)]) and the outcome line, from results/."""
    fp32, bf16 = runs(results_dir)
    base, gain = compare(fp32, bf16)
    choice, why = decide(base, gain)
    hw = ", ".join(sorted(set(bf16.hardware.dropna()) | set(fp32.hardware.dropna())))
    shown_base, shown_gain = readable(base, gain)
    tables = [(t, tab) for t, tab in (
        (f"**Baseline accuracy, `bf16` profile vs `cpu` profile (CNN)**, {hw}:", shown_base),
        ("**MSVP add/full gain in bf16 vs fp32 (CNN)**:", shown_gain)) if len(tab)]
    outcome = f"**Outcome:** {'not decided yet' if choice is None else choice + ' for the new backbones'} ({why})."
    speed = base.dropna(subset=["speedup"]) if len(base) else base
    if len(speed):
        outcome += (" Median run time fp32 / bf16: " + ", ".join(f"{NAMES[r.dataset]} {r.speedup:.2f}×"
                                                                for r in speed.itertuples())
                    + " (wall times of runs that shared the machine with other jobs, so only indicative; "
                      "`bench/backbones.py` times the steps interleaved).")
    return tables, outcome
