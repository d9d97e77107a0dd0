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

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch

from msvp.datasets import DATASETS
from msvp.prompting import MultiScalePrompt

from .names import (
    VARIANT_COLORS,
    label,
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
