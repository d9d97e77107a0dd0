"""Figures of effects: paired differences (forest plot), the ablations, the parameter overhead and
the gain of every prompt against its parameter cost. Each passes ``figures.check_readable``."""
from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from msvp.datasets import DATASETS
from msvp.experiments import VARIANTS
from msvp.stats import MARGIN_PP, NOT_ENOUGH_PAIRS

from .figures import MAX_WIDTH_IN, MIN_FONT_PT, check_readable, finish, wrap
from .names import (
    BACKBONE_ORDER,
    DATASET_ORDER,
    FUSION_STYLES,
    MAIN,
    VARIANT_COLORS,
    VARIANT_MARKERS,
    VERDICT_COLORS,
    backbone_title,
    cell_name,
    fusion_of,
    label,
    ordered,
    rank,
    short_label,
    variant_style,
)

# ---------------------------------------------------------------------------------------------
# paired differences

def _verdict_short(r) -> str:
    return NOT_ENOUGH_PAIRS if r.n_pairs < 2 else str(r.verdict)


def plot_paired(paired_df: pd.DataFrame, title: str) -> plt.Figure:
    """Forest plot: per cell and MSVP reading, the mean paired difference (pp) with the interval its
    verdict rests on (seed × image where per-image records exist, else the t-interval). One panel,
    with its own x axis, per backbone, so that a wide interval on one backbone cannot hide a narrow
    one on another; the grey band is the ±0.5 pp equivalence margin; verdicts on the right."""
    df = paired_df.reset_index(drop=True)
    backbones = sorted(set(df.backbone), key=lambda b: (rank(BACKBONE_ORDER, b), b))
    groups = [df[df.backbone == b] for b in backbones]
    heights = [0.34 * len(g) + 0.9 for g in groups]
    fig, axes = plt.subplots(len(groups), 1, figsize=(MAX_WIDTH_IN, sum(heights) + 0.5), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, b, g in zip(axes[:, 0], backbones, groups):
        g = g.sort_values(["dataset", "treatment"],
                          key=lambda s: s.map(lambda d: rank(DATASET_ORDER, d)) if s.name == "dataset" else s)
        _paired_panel(ax, b, g)
    return finish(fig, title)


def _paired_panel(ax, backbone: str, g: pd.DataFrame) -> None:
    """One backbone's rows of the forest plot, with the verdicts on a right-hand axis."""
    _margin_band(ax)
    ys = list(range(len(g)))
    for y, r in zip(ys, g.itertuples()):
        color = VERDICT_COLORS.get(r.verdict, "#555555")
        if np.isfinite(r.lo_pp):
            ax.plot([r.lo_pp, r.hi_pp], [y, y], color=color, lw=2.5, alpha=0.8, solid_capstyle="butt")
        ax.plot(r.diff_pp, y, VARIANT_MARKERS.get(r.treatment, "o"), color=color, ms=7,
                mfc="white" if r.treatment != MAIN else color)
    ax.set_yticks(ys, [f"{DATASETS[r.dataset].title} · {fusion_of(r.treatment)}" for r in g.itertuples()])
    ax.set_ylim(len(g) - 0.5, -0.5)
    lo = np.nanmin(np.r_[g.lo_pp.to_numpy(float), g.diff_pp.to_numpy(float), -MARGIN_PP])
    hi = np.nanmax(np.r_[g.hi_pp.to_numpy(float), g.diff_pp.to_numpy(float), MARGIN_PP])
    pad = 0.08 * (hi - lo)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_xlabel(f"{backbone_title(backbone)}: MSVP − baseline, test accuracy (pp)")
    ax.set_ylabel("data set · reading")
    ax.grid(axis="x", alpha=0.3)
    _verdict_axis(ax, ys, [_verdict_short(r) for r in g.itertuples()])
    ax.set_title(f"{backbone_title(backbone)} (filled: add fusion; open: concat; grey band: ±{MARGIN_PP:g} pp)",
                 fontsize=MIN_FONT_PT)


def _margin_band(ax) -> None:
    """The ±m equivalence band and the zero line of a panel of differences."""
    ax.axvspan(-MARGIN_PP, MARGIN_PP, color="#dddddd", alpha=0.6, lw=0)
    ax.axvline(0, color="black", lw=1)


def _verdict_axis(ax, ys, verdicts) -> None:
    """The verdicts as tick labels of a right-hand y axis that shares the panel's rows."""
    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    right.set_yticks(ys, verdicts)
    right.spines["right"].set_visible(False)
    right.tick_params(length=0)
    right.set_ylabel("verdict")


# ---------------------------------------------------------------------------------------------
# ablations and accounting

def plot_ablation(summary: pd.DataFrame, family: pd.DataFrame, params: dict[str, int], order: list[str],
                  title: str) -> plt.Figure:
    """Left: test accuracy per variant, mean ± std over seeds. Right: paired difference to the
    baseline with the interval its verdict rests on, the ±0.5 pp margin shaded, verdicts on the
    right. Variants on the y axis, labelled with their measured prompt parameters."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(MAX_WIDTH_IN, 0.45 * len(order) + 1.5), sharey=True,
                                 gridspec_kw={"width_ratios": [1, 1.2]})
    _accuracy_panel(a1, summary.set_index("variant").reindex(order), params, order)
    _difference_panel(a2, family.set_index("treatment") if len(family) else family, order)
    return finish(fig, title)


def _accuracy_panel(ax, s: pd.DataFrame, params: dict[str, int], order: list[str]) -> None:
    y = np.arange(len(order))
    for yi, v in zip(y, order):
        if np.isfinite(s.loc[v, "mean"]):
            ax.errorbar(100 * s.loc[v, "mean"], yi, xerr=100 * np.nan_to_num(s.loc[v, "std"]),
                        fmt=VARIANT_MARKERS.get(v, "o"), color=VARIANT_COLORS.get(v, "#777777"), capsize=3, ms=6)
    n = {v: params.get(v, 0) for v in order}
    ax.set_yticks(y, [f"{label(v)}\n({n[v]:,} param{'' if n[v] == 1 else 's'})" for v in order])
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set(xlabel="test accuracy (%)\nmean ± std over seeds", ylabel="variant (measured prompt parameters)")
    ax.grid(axis="x", alpha=0.3)
    ax.margins(x=0.25)


def _difference_panel(ax, fam: pd.DataFrame, order: list[str]) -> None:
    _margin_band(ax)
    verdicts = []
    for yi, v in enumerate(order):
        if v == "baseline" or len(fam) == 0 or v not in fam.index:
            verdicts.append("reference" if v == "baseline" else "no pairs")
            continue
        r = fam.loc[v]
        color = VERDICT_COLORS.get(r.verdict, "#555555")
        if np.isfinite(r.lo_pp):
            ax.plot([r.lo_pp, r.hi_pp], [yi, yi], color=color, lw=2.5, alpha=0.8)
        ax.plot(r.diff_pp, yi, VARIANT_MARKERS.get(v, "o"), color=color, ms=6)
        verdicts.append(_verdict_short(r))
    ax.set(xlabel=f"Δ vs baseline (pp), 95 % interval\ngrey band: ±{MARGIN_PP:g} pp")
    ax.grid(axis="x", alpha=0.3)
    ax.margins(x=0.1)
    # 'not enough pairs yet' would squeeze the panel
    _verdict_axis(ax, list(range(len(order))), [wrap(v, 13) for v in verdicts])


def plot_overhead(params: pd.DataFrame, threshold_pct: float = 0.02) -> plt.Figure:
    """Prompt parameters as a share of the backbone (full scales), per backbone × input and fusion;
    the fusions side by side so that no marker hides another."""
    d = params[params.scales == "full"]
    cells = list(dict.fromkeys(zip(d.backbone, d["input"])))
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 3.4))
    for fusion, (marker, color, dx) in FUSION_STYLES.items():
        f = d[d.fusion == fusion].set_index(["backbone", "input"])
        xs = [i + dx for i, c in enumerate(cells) if c in f.index]
        vals = [f.loc[c, "overhead_pct"] for c in cells if c in f.index]
        ax.scatter(xs, vals, marker=marker, s=40, color=color, label=f"{fusion} fusion", zorder=3)
    ax.axhline(threshold_pct, color="#b2182b", ls="--", lw=1, label=f"claim: < {threshold_pct} %")
    ax.set_yscale("log")
    ax.set_xticks(range(len(cells)), [f"{backbone_title(b)}\n{i.replace('x', '×')}" for b, i in cells])
    ax.set(xlabel="backbone and input (channels × height × width)",
           ylabel="prompt / backbone parameters (%)")
    ax.legend(loc="upper right", ncols=2)
    ax.grid(alpha=0.3, axis="y")
    ax.margins(y=0.3)
    return finish(fig, "MSVP parameter overhead, full scales (measured)")


# ---------------------------------------------------------------------------------------------
# gain against parameter cost (the controls chapter)

LINTHRESH, LINSCALE = 1.0, 0.6   # symlog x axis: linear on [0, 1] (the frozen prompt's 0), log above
FONT = 10.0   # pt; the figure is drawn at the width the book shows it (about 680 px at 100 dpi)
MARKER_PT = 7.5


def dodge(t, min_gap: float) -> np.ndarray:
    """Spread 1-D positions ``t`` so that neighbours are at least ``min_gap`` apart, moving them as
    little as this simple rule allows: points closer than ``min_gap`` form a cluster, spaced evenly by
    ``min_gap`` around the cluster's mean; clusters that then overlap merge, until none do. The order
    of the points is kept (ties keep their input order)."""
    t = np.asarray(t, dtype=float)
    if len(t) == 0:
        return t.copy()
    order = np.argsort(t, kind="stable")
    clusters = [[float(x)] for x in t[order]]          # each: the original positions, in order

    def placed(c):
        mid = float(np.mean(c))
        return mid + min_gap * (np.arange(len(c)) - (len(c) - 1) / 2)

    changed = True
    while changed:
        changed = False
        for i in range(len(clusters) - 1):
            if placed(clusters[i + 1])[0] - placed(clusters[i])[-1] < min_gap - 1e-12:
                clusters[i:i + 2] = [clusters[i] + clusters[i + 1]]
                changed = True
                break
    out = np.empty_like(t)
    out[order] = np.concatenate([placed(c) for c in clusters])
    return out


@dataclass(frozen=True)
class GainAxis:
    """The shared symlog x axis of the gain panels, and the gap that keeps two markers apart on it."""
    xmax: float
    min_gap: float

    @property
    def transform(self):
        from matplotlib.scale import SymmetricalLogTransform

        return SymmetricalLogTransform(10, LINTHRESH, LINSCALE)

    @classmethod
    def for_gains(cls, gains: pd.DataFrame, width_in: float, ncols: int) -> GainAxis:
        xmax = max(10.0, float(gains.params.max()) * 2.0)
        tr = cls(xmax, 0.0).transform
        t_lo, t_hi = float(tr.transform(np.array([0.0]))[0]), float(tr.transform(np.array([xmax]))[0])
        panel_w_in = width_in / ncols - 1.0                       # minus the y-axis label and ticks
        return cls(xmax, 1.3 * (MARKER_PT / 72) / panel_w_in * (t_hi - t_lo + 0.3))   # 1.3 marker widths

    def apply(self, ax) -> None:
        tr = self.transform
        ax.set_xscale("symlog", linthresh=LINTHRESH, linscale=LINSCALE)
        t_lo = float(tr.transform(np.array([0.0]))[0])
        ax.set_xlim(float(tr.inverted().transform(np.array([t_lo - 0.3]))[0]), self.xmax)
        ticks = [0] + [10 ** k for k in range(int(math.floor(math.log10(self.xmax))) + 1)]
        ax.set_xticks(ticks, [f"{k:,}" for k in ticks])
        ax.xaxis.set_minor_locator(plt.NullLocator())


def plot_gain_vs_params(gains: pd.DataFrame, df: pd.DataFrame | None = None, width_in: float = 6.6,
                        margin_pp: float = MARGIN_PP):
    """Accuracy gain over the baseline (pp, paired by seed, 95 % interval bars) against the trainable
    parameters each prompt adds, for every prompt variant with results: one panel per (data set,
    backbone) cell. The x axis is logarithmic above 1 parameter and linear below it, so that the
    frozen prompt's 0 has a place. Points closer than a marker's width are spread sideways
    (``dodge``); their parameter counts are in the table. Returns None when there is nothing to plot."""
    if gains.empty:
        return None
    cells = ordered(dict.fromkeys(zip(gains.dataset, gains.backbone)))
    ncols = 1 if len(cells) <= 3 else 2
    nrows = math.ceil(len(cells) / ncols)
    axis = GainAxis.for_gains(gains, width_in, ncols)
    with plt.rc_context({"font.size": FONT, "axes.titlesize": FONT + 0.5, "axes.labelsize": FONT,
                         "xtick.labelsize": FONT, "ytick.labelsize": FONT, "legend.fontsize": FONT}):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width_in, (2.7 if ncols == 1 else 2.9) * nrows + 1.8),
                                 squeeze=False, layout="constrained")
        seen, hollow = {}, False
        for ax, (dataset, backbone) in zip(axes.flat, cells):
            g = gains[(gains.dataset == dataset) & (gains.backbone == backbone)].reset_index(drop=True)
            hollow |= _gain_panel(ax, g, axis, margin_pp, seen)
            ax.set_title(_gain_title(g, df, dataset, backbone, ncols), loc="left")
        for ax in list(axes.flat)[len(cells):]:
            ax.set_visible(False)
        _gain_legend(fig, seen, hollow, width_in, margin_pp)
        for ax in list(axes.flat)[:len(cells)]:
            ax.set_xlabel("trainable parameters added" + (" (log scale above 1)" if ncols == 1 else "\n(log scale above 1)"))
            ax.set_ylabel("gain vs baseline (pp)")
        fig.suptitle("Test-accuracy gain over the baseline against the prompt's parameter cost\n"
                     "(paired by seed; bars: 95 % seed × image interval, not Holm-adjusted)", fontsize=FONT + 1.5)
    check_readable(fig)
    return fig


def _gain_panel(ax, g: pd.DataFrame, axis: GainAxis, margin_pp: float, seen: dict) -> bool:
    """One cell's points (interval bars where there are 2+ pairs, hollow markers where not); returns
    whether any point is hollow. ``seen`` collects each variant's (marker, colour) for the legend."""
    tr = axis.transform
    xs = tr.inverted().transform(dodge(tr.transform(g.params.to_numpy(float)), axis.min_gap))
    ax.axhspan(-margin_pp, margin_pp, color="#dddddd", zorder=0, lw=0)
    ax.axhline(0, color="black", lw=0.8, zorder=1)
    hollow = False
    for x, r in zip(xs, g.itertuples()):
        marker, color = variant_style(r.treatment)
        has_ci = np.isfinite(r.lo_pp) and np.isfinite(r.hi_pp)
        if has_ci:
            ax.errorbar(x, r.diff_pp, yerr=[[r.diff_pp - r.lo_pp], [r.hi_pp - r.diff_pp]], fmt="none",
                        ecolor=color, elinewidth=1.4, capsize=2.5, zorder=2)
        hollow |= not has_ci
        ax.plot(x, r.diff_pp, marker=marker, ms=MARKER_PT, color=color, mec=color if not has_ci else "white",
                mew=1.3 if not has_ci else 0.6, mfc=color if has_ci else "none", ls="none", zorder=3)
        seen[r.treatment] = (marker, color)
    axis.apply(ax)
    ax.grid(axis="y", alpha=0.3)
    return hollow


def _gain_title(g: pd.DataFrame, df: pd.DataFrame | None, dataset: str, backbone: str, ncols: int) -> str:
    """'CIFAR-10 · CNN' over the training images, the data copy where it is not complete, and the pairs."""
    n = sorted({int(x) for x in g.n_train})
    seeds = sorted({int(x) for x in g.n_pairs})
    seed_txt = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}–{seeds[-1]}"
    copy = ""
    if df is not None:
        rows = df[df.dataset == dataset].dropna(subset=["data_variant"])
        if len(rows) and rows.data_variant.iloc[0] != "complete":
            copy = rows.data_variant.iloc[0].replace("-", " ")
    images = f"{' or '.join(f'{x:,}' for x in n)} training images"
    pairs = f"{seed_txt} seed pair{'s' if seeds[-1] != 1 else ''}"
    head = cell_name(dataset, backbone)
    if ncols == 1:
        return f"{head}\n{images}{f' ({copy})' if copy else ''}, {pairs}"
    return f"{head}\n{images}\n{f'{copy}, ' if copy else ''}{pairs}"   # narrow panels: one fact a line


def _gain_legend(fig, seen: dict, hollow: bool, width_in: float, margin_pp: float) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    prompts = [v for v in VARIANTS if v != "baseline"]
    handles = [Line2D([], [], marker=m, color=c, ls="none", ms=MARKER_PT, label=short_label(v))
               for v, (m, c) in sorted(seen.items(), key=lambda kv: prompts.index(kv[0]))]
    handles.append(Patch(color="#dddddd", label=f"±{margin_pp:g} pp: equivalence"))
    if hollow:
        handles.append(Line2D([], [], marker="o", color="#555555", mfc="none", ls="none", ms=MARKER_PT,
                              label="hollow: 1 seed pair"))
    fig.legend(handles=handles, loc="outside lower center", ncols=3 if width_in >= 6.5 else 2, frameon=False,
               columnspacing=1.2, handletextpad=0.4)
