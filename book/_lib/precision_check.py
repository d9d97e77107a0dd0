"""The bf16-vs-fp32 check of the protocol page, for readers: ``msvp.precision``'s two tables with
labelled columns, and its outcome in a sentence."""
from __future__ import annotations

import numpy as np
import pandas as pd

from msvp.experiments import VARIANTS
from msvp.precision import GAIN_LEVEL, NAMES, TOST_LEVEL, compare, decide, runs
from msvp.results import load
from msvp.stats import pair_runs, signed

from .names import cell_name
from .words import join


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


def largest_msvp_gain(cpu: pd.DataFrame) -> tuple[float, str] | None:
    """The MSVP gain farthest from 0 measured in the `cpu` runs: the mean paired gain (pp) of any MSVP
    variant over the baseline in any (data set, backbone) cell, with the cell and variant named."""
    found = []
    for (dataset, backbone), cell in cpu.groupby(["dataset", "backbone"]):
        for variant in sorted(v for v in set(cell.variant) if v.startswith("msvp-")):
            pairs = pair_runs(cell, variant)
            if len(pairs):
                gain = float(100 * (pairs.test_acc_t - pairs.test_acc_b).mean())
                found.append((gain, f"{cell_name(dataset, backbone)}, {VARIANTS[variant].label}"))
    return max(found, key=lambda g: abs(g[0])) if found else None


def shift_words(gain: pd.DataFrame, largest: tuple[float, str] | None) -> str:
    """What "no difference found" can mean: the largest bf16-induced shift of the gain that the
    intervals still allow, against the largest MSVP gain measured (both in pp; '' without intervals)."""
    rows = gain.dropna(subset=["lo"]).reset_index(drop=True) if "lo" in gain else pd.DataFrame()
    if rows.empty:
        return ""
    bound = rows[["lo", "hi"]].abs().max(axis=1)
    widest, where = float(bound.max()), NAMES[rows.dataset[bound.idxmax()]]
    text = (f" The gain intervals are wide: on {where} the interval still allows a bf16-induced shift of the "
            f"MSVP gain of up to {widest:.2f} pp")
    if largest is not None:
        size, cell = largest
        word = "larger than" if widest > abs(size) else "no larger than"
        text += f", {word} any MSVP effect measured in the `cpu` runs (the largest: {signed(size)} pp, {cell})"
    return text + (". \"No difference found\" means that the check detected none, not that a shift of that "
                   "size is ruled out.")


def report(results_dir, bench_speedup: str = "") -> tuple[list, str]:
    """For the protocol page: the tables ([(title, table)]) and the outcome line, from results/
    (``bench_speedup``: the backbones' fp32 / bf16 step-time range bench measured, for ``speed_words``)."""
    fp32, bf16 = runs(results_dir)
    base, gain = compare(fp32, bf16)
    choice, why = decide(base, gain)
    hw = ", ".join(sorted(set(bf16.hardware.dropna()) | set(fp32.hardware.dropna())))
    shown_base, shown_gain = readable(base, gain)
    tables = [(t, tab) for t, tab in (
        (f"**Baseline accuracy, `bf16` profile vs `cpu` profile (CNN)**, {hw}:", shown_base),
        ("**MSVP add/full gain in bf16 vs fp32 (CNN)**:", shown_gain)) if len(tab)]
    outcome = f"**Outcome:** {'not decided yet' if choice is None else choice + ' for the new backbones'} ({why})."
    outcome += shift_words(gain, largest_msvp_gain(load("cpu", results_dir)))
    return tables, outcome + speed_words(base, bench_speedup)


def speed_words(base: pd.DataFrame, bench_speedup: str = "") -> str:
    """The CNN's median run time fp32 / bf16 per data set, and where bf16 ran slower, why that does not
    bear on the choice: the check decides the backbones' precision, not the CNN's ('' without times)."""
    speed = base.dropna(subset=["speedup"]) if len(base) else base
    if not len(speed):
        return ""
    text = (" Median run time fp32 / bf16: " + ", ".join(f"{NAMES[r.dataset]} {r.speedup:.2f}×"
                                                         for r in speed.itertuples())
            + " (wall times of runs that shared the machine with other jobs, so only indicative; "
              "`bench/backbones.py` times the steps interleaved).")
    slower = [NAMES[r.dataset] for r in speed.itertuples() if round(r.speedup, 2) < 1]
    if slower:
        bench = f", whose steps `bench/backbones.py` measured {bench_speedup} as fast in bf16" if bench_speedup else ""
        text += (f" On {join(slower)} bf16 trained the CNN more slowly than fp32 (below 1×). That does not bear on "
                 "the choice: the `cpu` profile's CNN stays in fp32, and the check decides only whether ResNet-18 "
                 f"and ViT-Tiny train in bf16{bench}.")
    return text
