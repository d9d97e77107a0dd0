"""Chapters 6-7: the scale and fusion ablations, per (data set, backbone) cell."""
from __future__ import annotations

import numpy as np
import pandas as pd

from msvp.datasets import DATASETS
from msvp.experiments import VARIANTS, get_profile
from msvp.stats import comparison_family, summarize
from msvp.stats import signed as pp  # '+0.12', '−0.05'
from msvp.verdicts import (
    ablation_cells,
    ablation_family,
    still_improving,
)

from .chapter import Page, figure, key_results, md, table
from .effect_figures import plot_ablation
from .names import (
    DATASET_ORDER,
    backbone_title,
    cell_name,
    label,
    ordered,
    short,
)
from .sections import rules_md, show_diverged, status_md
from .tables import ablation_table
from .words import (
    CAVEAT_WORDS,
    capital,
    delta_text,
    param_word,
    plural,
    short_verdict,
    span,
    verdict_label,
)


class AblationChapter(Page):
    """An ablation (scales or fusions): per (data set, backbone) cell, never pooled across cells; each
    variant − baseline in its own Holm family over every cell where it ran (the book's one rule)."""

    def __init__(self, profile: str, results_dir, variants, data_root="../data", versus: tuple[str, str] | None = None):
        super().__init__(profile, results_dir, data_root)
        self.variants = list(variants)
        # (treatment, control) compared head to head, paired by seed: its own Holm family (the book's rule)
        self.versus = in_order(comparison_family(self.df, *versus)) if versus else None
        self.cells = ablation_cells(self.df, self.variants)
        self.family = ablation_family(self.df, self.variants)
        # the profile's ablation part, not every cell that runs one of the variants: concat/full is
        # also a main variant, so that would list every main cell
        self.planned = ordered(set(get_profile(profile).ablation))

    def rules(self) -> None:
        md(rules_md().split(" [Chapter 10]")[0] + " The variants of this ablation are separate comparisons, each "
           "corrected over its own cells, so their order is read from their intervals, not from their verdicts.")

    def cells_section(self, title: str) -> None:
        """One table, figure and sentence per (data set, backbone) cell that has every variant."""
        if not self.cells:
            md("No (data set, backbone) cell has every variant of this ablation yet, so there is nothing to compare.")
        for d, b in self.cells:
            md(f"### {cell_name(d, b)}")
            fam = self.family[(self.family.dataset == d) & (self.family.backbone == b)]
            t = ablation_table(self.df, d, b, self.variants, family=self.family)
            rows = {r.treatment: r for r in fam.itertuples()}
            t["Δ vs baseline, pp [95 % CI]"] = [delta_text(rows[v]) if v in rows else ("reference" if v == "baseline"
                                                else "no paired seeds") for v in t.variant]
            t["verdict"] = [verdict_label(rows[v]) if v in rows else "–" for v in t.variant]
            t["variant"] = [label(v) for v in t.variant]
            table(t)
            cell = self.df[(self.df.dataset == d) & (self.df.backbone == b)]
            params = cell.groupby("variant").params_prompt.first().astype(int).to_dict()
            name = f"{DATASETS[d].title} ({span(cell.n_train)} training images) · {backbone_title(b)}"
            figure(plot_ablation(summarize(cell[cell.variant.isin(self.variants)]), fam, params,
                                     self.variants, f"{title}: {name}"))
            md(self.sentence(fam, params))

    def setting(self) -> None:
        sel = self.states[self.states.variant.isin(self.variants)
                          & self.states.apply(lambda r: (r.dataset, r.backbone) in self.planned, axis=1)]
        cells = self.df[[(d, b) in self.planned for d, b in zip(self.df.dataset, self.df.backbone)]]
        md(status_md(self.profile, cells, sel, datasets=sorted({d for d, _ in self.planned}, key=DATASET_ORDER.index),
                     what=" of this ablation", brief=True))
        paper = get_profile("paper").ablation
        md("Ablation cells of this profile: " + (", ".join(cell_name(*c) for c in self.planned) or "none")
           + "; the paper profile runs it on " + ", ".join(cell_name(*c) for c in paper) + ".")
        show_diverged(self.df, sorted({d for d, _ in self.planned}))

    def sentence(self, fam: pd.DataFrame, params: dict) -> str:
        if fam.empty:
            return "No paired seeds yet."
        parts = []
        for v in self.variants:
            r = fam[fam.treatment == v]
            if len(r):
                r = r.iloc[0]
                parts.append(f"{label(v)} ({param_word(params.get(v, 0))}): {pp(r.diff_pp)} pp, "
                             f"{verdict_label(r)}")
        best = fam.loc[fam.diff_pp.idxmax()]
        s = "Against the baseline of the same seeds: " + "; ".join(parts) + "."
        single = fam.lo_pp.isna().any()          # a single pair has no interval to rank it by
        overlap = not single and fam.lo_pp.max() <= fam.hi_pp.min()
        s += (f" The largest mean gain is {label(best.treatment)}'s ({pp(best.diff_pp)} pp)"
              + ("; some variants have a single pair and no interval, so this ordering is not established."
                 if single else "; the intervals of all variants overlap, so this ordering is not established."
                 if overlap else "."))
        return s

    def cell_lines(self) -> list[str]:
        """Per cell, every variant − baseline with its verdict in a few words."""
        lines = []
        for d, b in self.cells:
            fam = self.family[(self.family.dataset == d) & (self.family.backbone == b)]
            parts = [f"{label(r.treatment)} {pp(r.diff_pp)} pp ({short_verdict(r)})" for r in fam.itertuples()]
            late = f" ({CAVEAT_WORDS})" if any(still_improving(r) for r in fam.itertuples()) else ""
            lines.append(f"{cell_name(d, b)}, each variant against the baseline: " + "; ".join(parts) + late + ".")
        return lines

    def in_short(self) -> None:
        """The answer before the method: each cell's variants against the baseline, in a few words."""
        lines = self.cell_lines() or ["no (data set, backbone) cell has every variant of this ablation yet."]
        if self.versus is not None and not self.versus.empty:
            lines.append(versus_sentence(self.versus))
        md("**In short.** " + " ".join(capital(x) for x in lines) + " The verdicts' rules, the tables and the "
           "figures follow.")

    def head_to_head(self) -> None:
        """Two variants against each other, paired by seed, in every cell where both ran."""
        fam = self.versus
        if fam is None or fam.empty:
            md("No cell has paired seeds of both variants yet, so there is nothing to compare head to head.")
            return
        name = f"{short(fam.treatment.iloc[0])} − {short(fam.control.iloc[0])}, pp [95 % CI]"
        table(pd.DataFrame([{"cell": cell_name(r.dataset, r.backbone), "seed pairs": int(r.n_pairs), name: delta_text(r),
                             "p (Holm)": f"{r.p_holm:.3g}" if np.isfinite(r.p_holm) else "–",
                             "verdict": verdict_label(r)} for r in fam.itertuples()]))
        md(versus_sentence(fam))

    def key_results(self) -> None:
        """Per cell, every variant's paired difference to the baseline and its verdict; then the prompt
        parameters of each variant on grey and colour images (from the variant registry)."""
        lines = self.cell_lines()
        if not lines:
            lines.append("No cell has every variant of this ablation yet, so there is nothing to compare.")
        if self.versus is not None and not self.versus.empty:
            lines.append(versus_sentence(self.versus))
        shapes = {"grey": DATASETS["mnist"].shape, "colour": DATASETS["cifar10"].shape}
        cost = [f"{label(v)} {VARIANTS[v].params(*shapes['grey'])} / {VARIANTS[v].params(*shapes['colour'])}"
                for v in self.variants if v != "baseline"]
        lines.append("Prompt parameters on grey / colour images: " + "; ".join(cost) + ".")
        key_results(lines)


def versus_sentence(fam: pd.DataFrame) -> str:
    """'Head to head, MSVP concat/full − MSVP add/full: −0.42 [..] pp on CIFAR-10 · CNN (3 pairs,
    inconclusive); ...': every cell of the comparison, with its verdict."""
    name = f"{short(fam.treatment.iloc[0])} − {short(fam.control.iloc[0])}"
    cells = "; ".join(f"{delta_text(r)} pp on {cell_name(r.dataset, r.backbone)} ({plural(int(r.n_pairs), 'pair')}: "
                      f"{short_verdict(r)})" for r in fam.itertuples())
    return f"Head to head, {name}: {cells}."


def in_order(fam: pd.DataFrame) -> pd.DataFrame:
    """The family's rows in the book's order of cells (data sets, then backbones)."""
    if fam.empty:
        return fam
    order = {c: i for i, c in enumerate(ordered(set(zip(fam.dataset, fam.backbone))))}
    return fam.iloc[sorted(range(len(fam)), key=lambda i: order[(fam.dataset.iloc[i], fam.backbone.iloc[i])])]
