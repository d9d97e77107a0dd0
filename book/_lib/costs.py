"""Chapter 9: parameter and compute accounting."""
from __future__ import annotations

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
        md(claim_md(claim_params(self.params)))

    def grid(self) -> None:
        table(params_grid_table(self.params))

    def flops(self) -> None:
        table(compute_table(self.compute))
        md(f"Measured on {machine_label(self.env)}.")
        md(claim_md(claim_compute(self.compute)))

    def key_results(self) -> None:
        """The parameter overhead's range and the compute claim, in plain words."""
        params, compute = self.params, self.compute
        main = params[(params.fusion == "add") & (params.scales == "full")]
        lat = compute[compute.variant == MAIN].latency_ratio.dropna()
        key_results([
            f"Every measured prompt count equals its formula ({int(params.match.sum())} of {len(params)} "
            f"combinations).",
            f"MSVP add/full costs {main.overhead_pct.min():.4f} % to {main.overhead_pct.max():.4f} % of a backbone's "
            f"parameters; the claim *fewer than 0.02 %*: {PLAIN_CLAIMS.get(claim_params(params)[0], '–')}.",
            f"The claim *negligible compute*: {PLAIN_CLAIMS.get(claim_compute(compute)[0], '–')}"
            + (f"; measured forward latency with MSVP is {lat.min():.2f}× to {lat.max():.2f}× the baseline's."
               if len(lat) else "."),
        ])
