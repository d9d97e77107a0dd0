"""Chapter 8: the backbones side by side, and what their runs cost."""
from __future__ import annotations

import numpy as np
import pandas as pd

from msvp.datasets import DATASETS
from msvp.stats import MARGIN_PP
from msvp.stats import signed as pp  # '+0.12', '−0.05'

from .chapter import Page, key_results, md, table
from .gpu_runs import GPU_PROFILE, gpu_line
from .names import (
    BACKBONE_ORDER,
    DATASET_ORDER,
    READINGS,
    backbone_title,
    fusion_of,
    ordered,
)
from .sections import paired_rows, progress_md, results_table, show_diverged, show_paired_figure, status_md
from .words import (
    caveat_detail,
    data_title,
    delta_text,
    duration,
    hardware_label,
    join,
    plural,
    training_label,
)


class BackbonesChapter(Page):
    """Chapter 8: every (data set, backbone) cell of the profile with runs, side by side."""

    def results(self) -> None:
        """The results table with each cell's backbone size, the progress of the cells still training
        and the paired figure, read in a sentence under it."""
        md(status_md(self.profile, self.df, self.states) + "\n\n" + data_md(self.df))
        md("**Trained so far, per backbone:**\n\n" + progress_md(self.profile, self.states))
        t = results_table(self.profile, self.df)
        params = {(d, b): f"{int(g.params_backbone.iloc[0]):,}"
                  for (d, b), g in self.df.groupby(["dataset", "backbone"])}
        # the count on the first row of each cell; its continuation row stays blank like the cell's name
        t.insert(1, "backbone params", [params[c] if name else "" for c, name in zip(t.attrs["cells"],
                                                                                     t["data set · backbone"])])
        if len(t):
            table(t)
        show_diverged(self.df)
        p = paired_rows(self.df)
        show_paired_figure(p, f"MSVP − baseline per backbone, profile {self.profile}")
        md(figure_words(p))

    def costs(self) -> None:
        run_costs(self.df)

    def key_results(self) -> None:
        """Per backbone, the runs trained of those planned, both readings' paired differences over its
        data sets, the convergence caveats, and the median time a run took."""
        df, states, p = self.df, self.states, paired_rows(self.df)
        lines = []
        for b in [x for x in BACKBONE_ORDER if x in set(states.backbone) | set(df.backbone)]:
            s, runs, rows = states[states.backbone == b], df[df.backbone == b], p[p.backbone == b]
            parts = [f"{backbone_title(b)}: {int((s.state == 'done').sum())} of {len(s)} planned runs trained"]
            parts += [reading_words(rows[rows.treatment == t], df) for t in READINGS if (rows.treatment == t).any()]
            parts += caveat_words(rows, df)
            if len(runs):
                parts.append(f"median time per run {run_times(runs)}, on {hardware_label(runs)}")
            lines.append("; ".join(parts) + ".")
        if self.profile != GPU_PROFILE and (gpu := gpu_line(self.results_dir)):
            lines.append(gpu)   # the page's GPU section, which holds the only ResNet-18 verdicts so far
        key_results(lines)


def run_times(runs: pd.DataFrame) -> str:
    """'72 min on Fashion-MNIST and 4.3 h on CIFAR-10': one backbone's median time per data set, since
    its runs on 32 × 32 colour images take several times as long as on 28 × 28 grey ones."""
    sets = [d for d in DATASET_ORDER if d in set(runs.dataset)]
    if len(sets) == 1:
        return duration(runs.wall_time_s.median())
    return join([f"{duration(runs[runs.dataset == d].wall_time_s.median())} on {DATASETS[d].title}" for d in sets])


def data_md(df: pd.DataFrame) -> str:
    """'**Data.** ...': the images each data set's runs trained, validated and tested on, and which
    copy of the data they read (the offline CIFAR-10 copy lacks some images), as on chapters 12 and 13."""
    sets = [d for d in DATASET_ORDER if d in set(df.dataset)]
    return "**Data.** " + "; ".join(training_label(df, d) for d in sets) + "." if sets else ""


def reading_words(rows: pd.DataFrame, runs: pd.DataFrame) -> str:
    """One reading of one backbone over its data sets: 'MSVP concat − baseline from −0.45 pp on CIFAR-10
    (offline copy) to +0.17 pp on Fashion-MNIST over 3 data sets (1 equivalent, 2 inconclusive)', or,
    where one value stands for all, '−0.10 pp on CIFAR-10 (offline copy), from 1 pair: ...'."""
    name = f"MSVP {fusion_of(rows.treatment.iloc[0])} − baseline"
    single = rows[rows.n_pairs < 2]
    if 0 < len(single) < len(rows):   # a one-pair value is no end of a range of cells with intervals
        rest = "; ".join(f"{pp(r.diff_pp)} pp on {data_title(runs, r.dataset)} from 1 pair ({r.verdict})"
                         for r in single.itertuples())
        return f"{reading_words(rows[rows.n_pairs >= 2], runs)}; {rest}"
    lo, hi = rows.loc[rows.diff_pp.astype(float).idxmin()], rows.loc[rows.diff_pp.astype(float).idxmax()]
    counts = rows.verdict.astype(str).value_counts()
    every = "both" if len(rows) == 2 else f"all {len(rows)}"
    verdicts = (f"{every} {counts.index[0]}" if len(counts) == 1 and len(rows) > 1 else
                ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) if len(rows) > 1 else counts.index[0])
    if pp(lo.diff_pp) == pp(hi.diff_pp):       # one cell, or several that print the same: say it once
        pairs = plural(int(rows.n_pairs.min()), "pair") if rows.n_pairs.nunique() == 1 else \
            f"{int(rows.n_pairs.min())}–{int(rows.n_pairs.max())} pairs"
        return (f"{name} {pp(lo.diff_pp)} pp on {join([data_title(runs, d) for d in rows.dataset])}, from "
                f"{pairs}: {verdicts}")
    return (f"{name} from {pp(lo.diff_pp)} pp on {data_title(runs, lo.dataset)} to {pp(hi.diff_pp)} pp on "
            f"{data_title(runs, hi.dataset)} over {plural(len(rows), 'data set')} ({verdicts})")


def caveat_words(rows: pd.DataFrame, runs: pd.DataFrame) -> list[str]:
    """'caveat: on CIFAR-10 (offline copy) the baseline was still improving (...)', once per data set
    whose baseline failed the convergence check (it is the same baseline for both readings)."""
    first = rows.drop_duplicates("dataset")
    return [f"caveat: on {data_title(runs, r.dataset)} the baseline was {caveat_detail(r, full=False)}"
            for r in first.itertuples() if caveat_detail(r, full=False)]


def figure_words(p: pd.DataFrame) -> str:
    """The paired figure read per backbone, in one sentence each (``bars_words``); the cells with one
    pair show a point but no bar."""
    if p.empty:
        return ""
    parts = []
    for b in [x for x in BACKBONE_ORDER if x in set(p.backbone)]:
        g = p[p.backbone == b]
        bars = g[np.isfinite(g.lo_pp.astype(float))]
        words = [bars_words(bars)] if len(bars) else []
        points = g[~g.index.isin(bars.index)]
        if len(points):
            words.append(f"{join([fusion_cell(r) for r in points.itertuples()])}: a point without a bar, since "
                         f"one pair gives neither an interval nor a seed-to-seed SD")
        parts.append(f"**{backbone_title(b)}**: " + "; ".join(words) + ".")
    return "Reading the figure. " + " ".join(parts)


def bars_words(bars: pd.DataFrame) -> str:
    """One backbone's intervals: how many include 0 (naming those that do not, with their interval),
    how many lie inside the grey band, the widest, and the seed-to-seed SD of the paired difference."""
    lo, hi = bars.lo_pp.astype(float), bars.hi_pp.astype(float)
    apart = bars[(lo > 0) | (hi < 0)]
    not_zero = f" (not {join([f'{fusion_cell(r)}: {delta_text(r)} pp' for r in apart.itertuples()])})" if len(apart) else ""
    wide = bars.loc[(hi - lo).idxmax()]
    widest = f"the widest, {fusion_cell(wide)}," if len(bars) > 1 else f"the interval of {fusion_cell(wide)}"
    sd = sorted({f"{x:.2f}" for x in bars.diff_std_pp.astype(float)}, key=float)
    sd_text = "–".join(dict.fromkeys([sd[0], sd[-1]]))          # one number when all print the same
    return (f"intervals that include 0: {len(bars) - len(apart)} of {len(bars)}{not_zero}; wholly inside the grey "
            f"±{MARGIN_PP:g} pp band: {int(((lo > -MARGIN_PP) & (hi < MARGIN_PP)).sum())} of {len(bars)}; "
            f"{widest} spans {wide.hi_pp - wide.lo_pp:.2f} pp; the paired difference's seed-to-seed SD is {sd_text} pp")


def fusion_cell(r) -> str:
    """'CIFAR-10 · concat', as the figure's rows are labelled within a backbone's panel."""
    return f"{DATASETS[r.dataset].title} · {fusion_of(r.treatment)}"


def run_costs(df: pd.DataFrame) -> None:
    """Wall-clock time per run and in all, per (data set, backbone) cell, with the hardware; the data
    set is named with its copy, since the training images are those of the copy the runs read."""
    if df.empty:
        md("No runs yet.")
        return
    cost = []
    for d, b in ordered({(d, b) for d, b in zip(df.dataset, df.backbone)}):
        g = df[(df.dataset == d) & (df.backbone == b)]
        cost.append({"data set · backbone": f"{data_title(df, d)} · {backbone_title(b)}", "hardware": hardware_label(g),
                     "runs": len(g), "epochs": int(g.epochs.iloc[0]), "training images": int(g.n_train.iloc[0]),
                     "time per run (median)": duration(g.wall_time_s.median()),
                     "compute time, all runs": duration(g.wall_time_s.sum())})
    cost = pd.DataFrame(cost)
    if cost.hardware.nunique() == 1:
        md(f"All on {cost.hardware.iloc[0]}:")
        cost = cost.drop(columns="hardware")
    table(cost)
    md("Wall-clock time per run as recorded in each result file: training, validation after every epoch, "
       "the final test passes and the saliency examples. *Runs* counts every finished run of the cell, its "
       "ablation and control runs included.")
