"""The controls chapter's paired comparisons: every arm against the baseline and against MSVP
add/full, each in its own Holm family over the cells where it ran, and the gain of every prompt."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from msvp.datasets import DATASETS
from msvp.experiments import VARIANTS
from msvp.stats import MARGIN_PP, NOT_ENOUGH_PAIRS, PAIRED_COLUMNS, comparison_family, fmt_pp, paired_cells, signed

from .control_arms import ARMS, BASE, PROMPT_VARIANTS, REFERENCE
from .names import cell_key, cell_name, short
from .words import markdown_table, verdict_label


def control_family(df: pd.DataFrame, arms=ARMS, reference: str = REFERENCE, **kw) -> pd.DataFrame:
    """Every comparison the chapter makes, in each cell that holds an arm of ``arms``: reference −
    baseline, arm − baseline and arm − reference for every arm present (paired by seed,
    ``msvp.stats.cell_row``: seed × image interval where every run stored per-image correctness).
    ``df`` holds all of the profile's runs: each comparison is Holm-corrected over every cell where it
    ran (``msvp.stats.comparison_family``) before this chapter's cells are picked, so a comparison
    reads as on every other page. Each row carries its cell's convergence caveat (from the cell's
    baseline, also for the rows compared with the reference). Columns: ``msvp.stats.PAIRED_COLUMNS``."""
    cells = {(d, b) for d, b, v in zip(df.dataset, df.backbone, df.variant) if v in arms}
    if not cells:
        return pd.DataFrame(columns=PAIRED_COLUMNS)
    comparisons = [(reference, BASE)] + [(a, BASE) for a in arms] + [(a, reference) for a in arms]
    frames = [comparison_family(df, t, c, **kw) for t, c in comparisons]
    frames = [f[[(d, b) in cells for d, b in zip(f.dataset, f.backbone)]] for f in frames if not f.empty]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=PAIRED_COLUMNS)
    p = pd.concat(frames, ignore_index=True)
    order = {c: i for i, c in enumerate(sorted(cells, key=cell_key))}
    arm_rank = {v: i for i, v in enumerate((reference,) + tuple(arms))}
    p["_key"] = [(order[(r.dataset, r.backbone)], arm_rank.get(r.treatment, 99), r.control != BASE)
                 for r in p.itertuples()]
    return p.sort_values("_key", kind="stable").drop(columns="_key").reset_index(drop=True)


def find(fam: pd.DataFrame, dataset: str, backbone: str, treatment: str, control: str = BASE):
    """The family's row for one comparison, or None."""
    if fam.empty:
        return None
    r = fam[(fam.dataset == dataset) & (fam.backbone == backbone) & (fam.treatment == treatment)
            & (fam.control == control)]
    return r.iloc[0] if len(r) else None


def short_interval(r) -> str:
    """'+0.12 [−0.05, +0.29] pp', or '+0.78 pp' without an interval."""
    return interval_text(r) if np.isfinite(r.lo_pp) else f"{signed(r.diff_pp)} pp"


def interval_text(r) -> str:
    """'+0.12 [-0.05, +0.29] pp' (or 'n = 1, no interval')."""
    return fmt_pp(r.diff_pp, r.lo_pp, r.hi_pp)


def judged_text(r, margin_pp: float = MARGIN_PP) -> str:
    """'+0.12 [−0.05, +0.29] pp (inconclusive)', or '+0.78 pp (not enough pairs yet: 1 seed pair)':
    the verdict's wording from ``verdict_label`` inside our brackets (``unbracketed``)."""
    if not np.isfinite(r.lo_pp):
        return f"{signed(r.diff_pp)} pp ({NOT_ENOUGH_PAIRS}: {r.n_pairs} seed pair{'s' if r.n_pairs != 1 else ''})"
    return f"{interval_text(r)} ({unbracketed(verdict_label(r, margin_pp))})"


def unbracketed(label: str) -> str:
    """``label`` with each bracketed aside turned into a dash clause, so that it reads inside another
    bracket: 'improves, by less than the margin — its 95 % interval lies within ±0.5 pp'. Inside an
    aside '; ' becomes ', ', so a semicolon still separates the verdict from its caveat."""
    return re.sub(r" \(([^()]*)\)", lambda m: " — " + m.group(1).replace("; ", ", "), label)


def format_family(fam: pd.DataFrame) -> pd.DataFrame:
    """The comparisons for reading: cell, comparison, seed pairs, Δ with its 95 % interval, which
    interval, Holm-adjusted p with the size of its family (the comparison's cells), verdict. No NaN."""
    cols = ["cell", "comparison", "seed pairs", "Δ test accuracy [95 % interval]", "interval", "p (Holm)", "verdict"]
    rows = []
    for r in fam.itertuples():
        interval = r.interval if r.n_pairs > 1 else "no interval with 1 pair"
        m = int(r.holm_m)
        holm = f"{r.p_holm:.3g} (over {m} cell{'s' if m != 1 else ''})" if np.isfinite(r.p_holm) else "–"
        rows.append([cell_name(r.dataset, r.backbone), f"{short(r.treatment)} − {short(r.control)}", int(r.n_pairs),
                     interval_text(r), interval, holm, verdict_label(r)])
    return pd.DataFrame(rows, columns=cols)


def family_markdown(fam: pd.DataFrame) -> str:
    """The comparisons as Markdown: one short table per cell (comparison, seed pairs, Δ with its 95 %
    interval, Holm-adjusted p, verdict), under a line naming the cell and the kind of interval, after
    one line on the families (the book's rule: each comparison over the cells where it ran)."""
    if fam.empty:
        return "No paired control runs yet: nothing to compare."
    shown = format_family(fam)
    untested = int((fam.n_pairs < 2).sum())
    parts = ["Each comparison is Holm-corrected over every cell of the profile where it ran (the book's one "
             "rule, [chapter 10](10_report_card.ipynb)); the p column names that family's size."
             + (f" {untested} with fewer than 2 seed pairs {'is' if untested == 1 else 'are'} shown but not tested."
                if untested else "")]
    for cell, g in shown.groupby("cell", sort=False):
        kinds = sorted(set(g.interval))
        note = f"intervals: {kinds[0]}" if len(kinds) == 1 else "intervals: " + "; ".join(kinds)
        table = g.drop(columns=["cell", "interval"]) if len(kinds) == 1 else g.drop(columns=["cell"])
        parts.append(f"**{cell}** ({note})\n\n" + markdown_table(table))
    return "\n\n".join(parts)


def gain_table(df: pd.DataFrame, variants=PROMPT_VARIANTS, **kw) -> pd.DataFrame:
    """Every prompt variant − baseline in every cell that has both (unadjusted 95 % intervals, seed ×
    image where per-image records exist), with the trainable parameters the variant adds: measured on
    the trained model (``params_prompt`` of its records), and the registry's formula."""
    frames = [paired_cells(df, v, BASE, **kw) for v in variants if v in set(df.variant)]
    frames = [f for f in frames if not f.empty]
    cols = ["dataset", "backbone", "treatment", "n_pairs", "diff_pp", "lo_pp", "hi_pp", "params", "params_formula",
            "n_train"]
    if not frames:
        return pd.DataFrame(columns=cols)
    p = pd.concat(frames, ignore_index=True)
    measured, formula, n_train = [], [], []
    for r in p.itertuples():
        rows = df[(df.dataset == r.dataset) & (df.backbone == r.backbone) & (df.variant == r.treatment)]
        f = VARIANTS[r.treatment].params(*DATASETS[r.dataset].shape)
        m = rows.params_prompt.dropna()
        measured.append(int(m.iloc[0]) if len(m) else f)
        formula.append(f)
        n_train.append(int(rows.n_train.iloc[0]))
    p["params"], p["params_formula"], p["n_train"] = measured, formula, n_train
    return p[cols]
