"""Chapter 9: parameter and compute accounting."""
from __future__ import annotations

import inspect
from pathlib import Path

import pandas as pd

from msvp.accounting import load_accounting, save_accounting
from msvp.verdicts import (
    claim_compute,
    claim_params,
)

from .chapter import Page, figure, key_results, md, table
from .effect_figures import plot_overhead
from .names import (
    BASE,
    MAIN,
    backbone_title,
    label,
)
from .words import (
    PLAIN_CLAIMS,
    check_mark,
    claim_md,
    machine_label,
)


def params_overhead_table(params: pd.DataFrame) -> pd.DataFrame:
    main = params[(params.fusion == "add") & (params.scales == "full")]
    return pd.DataFrame({
        "backbone": [backbone_title(b) for b in main.backbone],
        "input (C×H×W)": [i.replace("x", "×") for i in main["input"]],
        "backbone params": main.backbone_params.astype(int).tolist(),
        "MSVP params (measured)": main.prompt_params.astype(int).tolist(),
        "analytic 81·C": main.analytic.astype(int).tolist(),
        "overhead (%)": [f"{x:.4f}" for x in main.overhead_pct],
        "below 0.02 %": main["below_0.02pct"].astype(bool).tolist()})


def params_grid_table(params: pd.DataFrame) -> pd.DataFrame:
    """Prompt parameters for every scale set × fusion (rows) and input shape (columns)."""
    rows = []
    for (scales, fusion), g in params[params.backbone == params.backbone.iloc[0]].groupby(["scales", "fusion"], sort=False):
        row = {"scales": scales, "fusion": fusion}
        for r in g.itertuples():
            row[f"params, {r.input.replace('x', '×')}"] = int(r.prompt_params)
        rows.append(row)
    return pd.DataFrame(rows)


def compute_table(compute: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "backbone": [backbone_title(b) for b in compute.backbone],
        "input": [i.replace("x", "×") for i in compute["input"]],
        "variant": [label(v) for v in compute.variant],
        "FLOPs per image": compute.flops.astype(int).tolist(),
        "FLOP counter overhead (%)": [f"{x:.4f}" for x in compute.flops_overhead_pct],
        "latency (ms per 32 images)": [f"{x:.2f}" if pd.notna(x) else "–" for x in compute.latency_ms],
        "latency ÷ baseline": [f"{x:.3f}" if pd.notna(x) else "–" for x in compute.latency_ratio]})


def rule_constant(verdict, name: str) -> float:
    """A verdict's threshold as its function's default, so the page states the rule the code applies."""
    return inspect.signature(verdict).parameters[name].default


def shape_title(shape: str) -> str:
    """'3 × 32 × 32' for the record's '3x32x32'."""
    return " × ".join(shape.split("x"))


def _gap(count: int, allowed: float) -> str:
    """'1.3 parameters over the bound': the rule is a strict '<', so reaching it counts as over."""
    return f"{abs(count - allowed):,.1f} parameters {'over' if count >= allowed else 'under'} the bound"


def largest_overhead(params: pd.DataFrame) -> tuple[pd.Series, float, str]:
    """The main setting's (add, full scales) largest overhead, the parameters the bound allows there and
    where it is ('the CNN at 3 × 32 × 32')."""
    threshold = rule_constant(claim_params, "threshold_pct")
    main = params[(params.fusion == "add") & (params.scales == "full")]
    worst = main.loc[main.overhead_pct.idxmax()]
    return worst, threshold / 100 * worst.backbone_params, (
        f"the {backbone_title(worst.backbone)} at {shape_title(worst['input'])}")


def params_rule(params: pd.DataFrame) -> str:
    """The parameter verdict's rule, and how far the largest overhead and concat (the book's reading of
    the abstract's 1 × 1 convolution) on the same backbone and input stand from the bound: exact counts,
    so the verdict carries no noise and no interval."""
    threshold = rule_constant(claim_params, "threshold_pct")
    worst, allowed, where = largest_overhead(params)
    text = (f"*Rule:* supported if MSVP add/full stays below {threshold:g} % of the backbone's parameters on every "
            f"backbone and input. These are exact counts, not estimates: no noise, no interval. The largest overhead "
            f"is on {where}, where the bound allows {allowed:,.1f} parameters: MSVP add/full has "
            f"{int(worst.prompt_params):,} ({worst.overhead_pct:.4f} %), {_gap(worst.prompt_params, allowed)}")
    cat = params[(params.fusion == "concat") & (params.scales == "full") & (params.backbone == worst.backbone)
                 & (params["input"] == worst["input"])]
    for r in cat.itertuples():
        text += (f"; concat, which reads the abstract's 1 × 1 convolution literally, has {int(r.prompt_params):,} "
                 f"({r.overhead_pct:.4f} %), {_gap(r.prompt_params, allowed)}")
    return text + "."


def compute_rule() -> str:
    """The compute verdict's rule, its threshold read from ``claim_compute`` itself."""
    tol = rule_constant(claim_compute, "flops_tol_pct")
    return (f"*Rule:* supported if, on every backbone and input, the FLOPs MSVP add/full adds, counted by hand, stay "
            f"below {tol:g} % of the backbone's convolution and matmul FLOPs.")


def latency_reading(compute: pd.DataFrame) -> str:
    """How far the MSVP latency ratios stray from 1. Every MSVP variant does more work than its baseline,
    so a ratio below 1 is timing noise: the largest such speed-up shows what noise reaches here."""
    timed = compute[compute.variant != BASE].dropna(subset=["latency_ratio"])
    if timed.empty:
        return ""
    reps = sorted({int(n) for n in compute.get("repeats", pd.Series(dtype=float)).dropna()})
    text = (f"Each latency is the median of {'/'.join(map(str, reps))} timed repeats; " if reps
            else "Each latency is a median over repeats; ") + "the record keeps no spread. "

    def where(r) -> str:
        return f"{r.latency_ratio:.3f}, {label(r.variant)} on the {backbone_title(r.backbone)} at {shape_title(r['input'])}"
    fast, slow = timed[timed.latency_ratio < 1], timed[timed.latency_ratio > 1]
    if len(fast):
        r = fast.loc[fast.latency_ratio.idxmin()]
        text += (f"{len(fast)} of {len(timed)} MSVP ratios are below 1 although each MSVP variant does more work than "
                 f"its baseline, so noise alone reaches {100 * (1 - r.latency_ratio):.1f} % here ({where(r)}). ")
    if len(slow):
        r = slow.loc[slow.latency_ratio.idxmax()]
        text += f"The largest slowdown is {100 * (r.latency_ratio - 1):.1f} % ({where(r)})."
    return text


def params_verdict_words(params: pd.DataFrame) -> str:
    """'not supported: an exact count, 1.3 parameters over the bound on the CNN at 3 × 32 × 32'."""
    worst, allowed, where = largest_overhead(params)
    return f"{claim_params(params)[0]}: an exact count, {_gap(worst.prompt_params, allowed)} on {where}"


def accounting(results_dir, retrain: bool = False, profile: str = "cpu"):
    """Parameters, FLOPs and latency from results/accounting/cpu.json (measured here if absent or
    ``retrain``): (params, compute, environment)."""
    path = Path(results_dir) / "accounting" / "cpu.json"
    if retrain or not path.exists():
        save_accounting(path, repeats=3 if profile == "smoke" else 7)
    return load_accounting(path)


class AccountingChapter(Page):
    """Chapter 9: parameters, FLOPs and latency of every backbone with and without MSVP, from
    results/accounting/cpu.json (measured here where it is absent, or again with ``remeasure``)."""

    def __init__(self, profile: str, results_dir, data_root="../data", remeasure: bool = False):
        super().__init__(profile, results_dir, data_root)
        self.params, self.compute, self.env = accounting(results_dir, remeasure, profile)

    def overhead(self) -> None:
        table(params_overhead_table(self.params))
        md(f"Every measured count equals its analytic formula: **{check_mark(bool(self.params.match.all()))}** "
           f"({len(self.params)} backbone × input × scales × fusion combinations).")

    def overhead_figure(self) -> None:
        figure(plot_overhead(self.params))

    def params_claim(self) -> None:
        md(claim_md(claim_params(self.params)) + " " + params_rule(self.params))

    def grid(self) -> None:
        table(params_grid_table(self.params))

    def flops(self) -> None:
        table(compute_table(self.compute))
        md(f"Measured on {machine_label(self.env)}. {latency_reading(self.compute)}")
        md(claim_md(claim_compute(self.compute)) + " " + compute_rule())

    def key_results(self) -> None:
        """The parameter overhead's range and the compute claim, in plain words."""
        params, compute = self.params, self.compute
        main = params[(params.fusion == "add") & (params.scales == "full")]
        lat = compute[compute.variant == MAIN].latency_ratio.dropna()
        key_results([
            f"Every measured prompt count equals its formula ({int(params.match.sum())} of {len(params)} "
            f"combinations).",
            f"MSVP add/full costs {main.overhead_pct.min():.4f} % to {main.overhead_pct.max():.4f} % of a backbone's "
            f"parameters; the claim *fewer than 0.02 %*: {params_verdict_words(params)}.",
            f"The claim *negligible compute*: {PLAIN_CLAIMS.get(claim_compute(compute)[0], '–')}"
            + (f"; measured forward latency with MSVP add/full is {lat.min():.2f}× to {lat.max():.2f}× the "
               f"baseline's (on {machine_label(self.env)})." if len(lat) else "."),
        ])
