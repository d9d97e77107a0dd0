"""Figures for the book. Every function takes data (records, DataFrames, modules) and returns a
matplotlib Figure with a title, axis labels with units, and nothing computed that ``msvp`` does not
also store. Names, labels and colours come from ``names``.

Every figure passes ``check_readable`` before it is returned: text of at least ``MIN_FONT_PT``
and a saved width of at most ``MAX_WIDTH_IN`` (so the page shows it at its own size, without
shrinking the text), no two text labels overlapping, a title, and a label on every axis that
shows tick labels. A figure that fails raises ``FigureError`` while the notebook runs.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from msvp.datasets import DATASETS
from msvp.experiments import VARIANTS
from msvp.prompting import MultiScalePrompt
from msvp.stats import MARGIN_PP, NOT_ENOUGH_PAIRS

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

MIN_FONT_PT = 9
DPI = 100
MAX_WIDTH_IN = 6.8
"""The book's text column is 688 px wide at a 1280 px window (sphinx-book-theme, with the page's table
of contents on the right); at 100 dpi a figure up to 6.8 in is shown at its own size, so 9 pt text
stays 9 pt (12.5 px) on the page."""

class FigureError(ValueError):
    """A figure that a reader could not read (text too small, too wide, overlapping, unlabelled)."""


def style() -> None:
    """The book's matplotlib settings: 9 pt text at 100 dpi, PNG, no top/right spines."""
    mpl.rcParams.update({
        "figure.dpi": DPI, "savefig.dpi": DPI, "font.size": MIN_FONT_PT, "axes.titlesize": 10,
        "axes.labelsize": MIN_FONT_PT, "xtick.labelsize": MIN_FONT_PT, "ytick.labelsize": MIN_FONT_PT,
        "legend.fontsize": MIN_FONT_PT, "legend.title_fontsize": MIN_FONT_PT, "figure.titlesize": 11,
        "axes.spines.top": False, "axes.spines.right": False, "figure.constrained_layout.use": True,
    })


# ---------------------------------------------------------------------------------------------
# the readability check

def _tick_labels(axis, *, visible_only: bool = True) -> list:
    """Tick labels of one axis (major and minor); with ``visible_only`` those a reader sees: the axis is
    shown and the tick lies inside the view limits."""
    lo, hi = sorted(axis.get_view_interval())
    out = []
    for tick in axis.get_major_ticks() + axis.get_minor_ticks():
        for lab in (tick.label1, tick.label2):
            if not visible_only:
                out.append(lab)
            elif (axis.get_visible() and tick.get_visible() and lab.get_visible() and lab.get_text().strip()
                  and lo - 1e-9 <= tick.get_loc() <= hi + 1e-9):
                out.append(lab)
    return out


def _texts(fig) -> list:
    """Every text artist a reader sees: titles, labels, legends, annotations and visible tick labels."""
    axes = [ax for ax in fig.axes if ax.get_visible()]
    ticks = {id(t) for ax in fig.axes for a in (ax.xaxis, ax.yaxis) for t in _tick_labels(a, visible_only=False)}
    out = [t for t in fig.findobj(mpl.text.Text) if id(t) not in ticks and t.get_visible() and t.get_text().strip()
           and (t.axes is None or t.axes.get_visible())]
    return out + [t for ax in axes for a in (ax.xaxis, ax.yaxis) for t in _tick_labels(a)]


def check_readable(fig, *, max_width_in: float = MAX_WIDTH_IN, min_pt: float = MIN_FONT_PT) -> None:
    """Raise FigureError unless the figure is readable on the book's page (see the module docstring)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    width = fig.get_tightbbox(renderer).width
    if width > max_width_in + 0.05:
        problems.append(f"{width:.2f} in wide (at most {max_width_in} in: wider figures are shrunk on the page)")
    texts = _texts(fig)
    for t in texts:
        if t.get_fontsize() < min_pt - 1e-6:
            problems.append(f"text {t.get_text()!r} is {t.get_fontsize():g} pt (at least {min_pt} pt)")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    if not (fig._suptitle and fig._suptitle.get_text()) and not any(ax.get_title() for ax in axes):
        problems.append("no title")
    for ax in axes:
        for axis, name in ((ax.xaxis, "x"), (ax.yaxis, "y")):
            if _tick_labels(axis) and not axis.get_label_text().strip():
                problems.append(f"{name} axis of {ax.get_title()!r} shows tick labels but has no label")
    boxes = [(t, t.get_window_extent(renderer)) for t in texts]
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        if ba.width and bb.width and ba.overlaps(bb):
            inter_w = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
            inter_h = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
            if inter_w > 1 and inter_h > 1:   # more than a pixel each way: they collide
                problems.append(f"text {a.get_text()!r} overlaps {b.get_text()!r}")
    if problems:
        raise FigureError(f"figure {fig._suptitle.get_text() if fig._suptitle else ''!r} is not readable: "
                          + "; ".join(dict.fromkeys(problems)))


def finish(fig, title: str | None = None):
    """Give the figure its title (wrapped to the column) and check that a reader can read it."""
    if fig.get_layout_engine() is None:   # style() was not applied (a reader's own session): keep labels apart
        fig.set_layout_engine("constrained")
    if title:
        fig.suptitle(wrap(title, 72))
    check_readable(fig)
    return fig


def wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) if text else text


# ---------------------------------------------------------------------------------------------
# images and prompts

def show_image(ax, img_chw: np.ndarray, title: str = "") -> None:
    """uint8 or float (C, H, W) -> grey or RGB image without ticks."""
    img = np.asarray(img_chw)
    if img.shape[0] == 1:
        ax.imshow(img[0], cmap="gray")
    else:
        img = img.transpose(1, 2, 0)
        ax.imshow(img if img.dtype == np.uint8 else np.clip(img, 0, 1))
    if title:
        ax.set_title(title, fontsize=MIN_FONT_PT)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_prompt_scales(prompt, size: tuple[int, int], channel: int = 0, title: str = "") -> plt.Figure:
    """Top: each raw prompt map at its own resolution. Bottom: upsampled to the image and their mean."""
    raw = prompt.get_prompts()
    ups = [m.detach()[0, channel] for m in prompt.prompt_maps(size)]
    k = len(raw)
    fig, axes = plt.subplots(2, k + 1, figsize=(MAX_WIDTH_IN, 3.9), squeeze=False)
    lim = max(float(torch.stack(ups).abs().max()), 1e-12)
    for i, (name, p) in enumerate(raw.items()):
        s = p.shape[-1]
        axes[0, i].imshow(p[0, channel].numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[0, i].set_title(f"{name}, {s}×{s}", fontsize=MIN_FONT_PT)
        axes[1, i].imshow(ups[i].numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[1, i].set_title(f"{name} → {size[0]}×{size[1]}", fontsize=MIN_FONT_PT)
    im = axes[1, k].imshow(torch.stack(ups).mean(0).numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
    axes[1, k].set_title("mean P̄", fontsize=MIN_FONT_PT)
    axes[0, k].axis("off")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel("raw parameters")
    axes[1, 0].set_ylabel("upsampled")
    fig.colorbar(im, ax=axes, shrink=0.8, label="value (normalised\ninput units)")
    return finish(fig, title or "The three prompt scales and their bilinear upsampling")


def plot_add_fusion(x: torch.Tensor, y: torch.Tensor, title: str) -> plt.Figure:
    """One image x, the prompt y − x and the model's input y, each with its own colour scale."""
    fig, axes = plt.subplots(1, 3, figsize=(MAX_WIDTH_IN, 2.6))
    for ax, img, name in zip(axes, (x, y - x, y), ("input x", "prompt P̄", "model input x + P̄")):
        im = ax.imshow(np.asarray(img), cmap="gray")
        ax.set_title(name, fontsize=MIN_FONT_PT)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, shrink=0.8, label="normalised units")
    return finish(fig, title)


def plot_learned_prompts(record: dict, title: str) -> plt.Figure:
    """The learned prompt of one run: each scale upsampled to the image size, and their mean."""
    c, h, w = DATASETS[record["config"]["dataset"]].shape
    p = MultiScalePrompt(c, scales=record["config"]["prompt"], fusion=record["config"]["fusion"])
    with torch.no_grad():
        for name, values in record["prompts"].items():
            p.prompts[name].copy_(torch.tensor(values).unsqueeze(0))
    return plot_prompt_scales(p, (h, w), title=title)


# ---------------------------------------------------------------------------------------------
# training runs

def plot_learning_curves(records: list[dict], title: str) -> plt.Figure:
    """Validation accuracy and training loss per epoch; line = mean over seeds, band = min-max."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(MAX_WIDTH_IN, 3.6))
    by_variant: dict[str, list] = {}
    for r in records:
        by_variant.setdefault(r["variant"], []).append(r["history"])
    for variant, hists in sorted(by_variant.items()):
        n_ep = min(len(h) for h in hists)
        for ax, key in ((a1, "val_acc"), (a2, "train_loss")):
            arr = np.array([[row[key] for row in hist[:n_ep]] for hist in hists], dtype=float)
            scale = 100 if key == "val_acc" else 1
            ep = np.arange(1, n_ep + 1)
            c = VARIANT_COLORS.get(variant)
            hollow = variant == "baseline"   # a hollow, larger marker stays visible under a coinciding one
            ax.plot(ep, scale * arr.mean(0), marker="o", ms=7 if hollow else 4, mfc="white" if hollow else c,
                    color=c, label=f"{label(variant)} ({len(hists)} seed{'s' if len(hists) != 1 else ''})")
            ax.fill_between(ep, scale * arr.min(0), scale * arr.max(0), color=c, alpha=0.15)
    a1.set(xlabel="epoch", ylabel="validation accuracy (%)", title="clean validation images")
    a2.set(xlabel="epoch", ylabel="cross-entropy (nats)", title="training loss (augmented)")
    n_max = max((len(h) for hists in by_variant.values() for h in hists), default=1)
    for ax in (a1, a2):
        ax.set_xticks(range(1, n_max + 1, max(1, n_max // 10)))
        ax.grid(alpha=0.3)
    a2.ticklabel_format(axis="y", useOffset=False)
    handles, labels = a1.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(3, len(labels)), frameon=False)
    return finish(fig, title)


def plot_confusions(matrices: dict[str, np.ndarray], classes, title: str) -> plt.Figure:
    """Row-normalised confusion matrices (percent of each true class), side by side, one y axis."""
    n = len(matrices)
    fig, axes = plt.subplots(1, n, figsize=(MAX_WIDTH_IN, 3.9), squeeze=False, sharey=True)
    for k, (ax, (name, m)) in enumerate(zip(axes[0], matrices.items())):
        m = np.asarray(m, dtype=float)
        pct = 100 * m / np.maximum(m.sum(1, keepdims=True), 1)
        im = ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
        for i in range(len(m)):
            for j in range(len(m)):
                if i != j and pct[i, j] >= 1:   # white on dark cells, dark red on light ones
                    ax.text(j, i, f"{pct[i, j]:.0f}", ha="center", va="center", fontsize=MIN_FONT_PT,
                            color="white" if pct[i, j] > 55 else "#b2182b")
        ax.set_xticks(range(len(classes)), classes, rotation=90)
        ax.set_yticks(range(len(classes)), classes)
        ax.set_xlabel("predicted class")
        if k == 0:
            ax.set_ylabel("true class")
        else:
            ax.tick_params(labelleft=False)
        ax.set_title(name, fontsize=MIN_FONT_PT + 1)
    fig.colorbar(im, ax=axes, shrink=0.8, label="% of the true class")
    return finish(fig, title)


def plot_saliency(images: np.ndarray, records: dict[str, dict], classes, title: str, per_row: int = 5) -> plt.Figure:
    """Blocks of ``per_row`` test images (one per class): the image, then each model's saliency map on it,
    titled ✓ when the model got the image right, else ✗ and its prediction."""
    n = len(images)
    blocks = int(np.ceil(n / per_row))
    rows = blocks * (1 + len(records))
    fig, axes = plt.subplots(rows, per_row, figsize=(MAX_WIDTH_IN, 1.2 * rows + 0.4), squeeze=False)
    for b in range(blocks):
        top = b * (1 + len(records))
        for j in range(per_row):
            i = b * per_row + j
            col = [axes[top + r, j] for r in range(1 + len(records))]
            if i >= n:
                for ax in col:
                    ax.axis("off")
                continue
            show_image(col[0], images[i], str(classes[i]))
            base = images[i][0] if images[i].shape[0] == 1 else images[i].mean(0)
            for ax, rec in zip(col[1:], records.values()):
                ex = rec["explanations"]
                ax.imshow(base, cmap="gray")
                ax.imshow(np.asarray(ex["maps"][i]) / 255, cmap="jet", alpha=0.45, vmin=0, vmax=1)
                pred = ex["pred"][i]
                ok = pred == ex["labels"][i]
                ax.set_title("✓" if ok else f"✗ {classes_name(classes, pred)}", fontsize=MIN_FONT_PT,
                             color="#1b7837" if ok else "#b2182b")
                ax.set_xticks([])
                ax.set_yticks([])
        axes[top, 0].set_ylabel("test image")
        for r, name in enumerate(records, start=1):
            axes[top + r, 0].set_ylabel(name)
    return finish(fig, title)


def classes_name(classes, index: int) -> str:
    """The class name for a predicted index, from the names shown (one per class, in class order)."""
    names = list(classes)
    return str(names[index]) if 0 <= index < len(names) else str(index)


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
