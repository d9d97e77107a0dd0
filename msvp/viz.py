"""Figures for the book. Every function takes data (records, DataFrames, modules) and returns a
matplotlib Figure with a title, axis labels with units, and nothing computed that the package
does not also store."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from .datasets import DATASETS

VARIANT_COLORS = {"baseline": "#777777", "msvp-add-full": "#d95f02", "msvp-add-global": "#1b9e77",
                  "msvp-add-global_mid": "#7570b3", "msvp-concat-full": "#e7298a", "msvp-gated-full": "#66a61e"}
VARIANT_LABELS = {"baseline": "baseline", "msvp-add-full": "MSVP add, full", "msvp-add-global": "MSVP add, global",
                  "msvp-add-global_mid": "MSVP add, global+mid", "msvp-concat-full": "MSVP concat, full",
                  "msvp-gated-full": "MSVP gated, full"}


def label(variant: str) -> str:
    return VARIANT_LABELS.get(variant, variant)


def show_image(ax, img_chw: np.ndarray, title: str = "") -> None:
    """uint8 or float (C, H, W) -> grey or RGB image without ticks."""
    img = np.asarray(img_chw)
    if img.shape[0] == 1:
        ax.imshow(img[0], cmap="gray")
    else:
        img = img.transpose(1, 2, 0)
        ax.imshow(img if img.dtype == np.uint8 else np.clip(img, 0, 1))
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_prompt_scales(prompt, size: tuple[int, int], channel: int = 0, title: str = "") -> plt.Figure:
    """Top: each raw prompt map at its own resolution. Bottom: upsampled to the image and their mean."""
    raw = prompt.get_prompts()
    ups = [m.detach()[0, channel] for m in prompt.prompt_maps(size)]
    k = len(raw)
    fig, axes = plt.subplots(2, k + 1, figsize=(2.6 * (k + 1) + 1, 5.0))
    lim = max(float(torch.stack(ups).abs().max()), 1e-12)
    for i, (name, p) in enumerate(raw.items()):
        s = p.shape[-1]
        axes[0, i].imshow(p[0, channel].numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[0, i].set_title(f"{name} ({s}×{s})", fontsize=9)
        axes[1, i].imshow(ups[i].numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[1, i].set_title(f"{name} → {size[0]}×{size[1]}", fontsize=9)
    im = axes[1, k].imshow(torch.stack(ups).mean(0).numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
    axes[1, k].set_title("mean P̄", fontsize=9)
    axes[0, k].axis("off")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.6, label="prompt value (normalised input units)")
    fig.suptitle(title or "The three prompt scales and their bilinear upsampling")
    fig.text(0.02, 0.02, "top: raw parameters · bottom: bilinear upsampling to the image and their mean, "
             "which add fusion adds to x", fontsize=8)
    return fig


def plot_learning_curves(records: list[dict], title: str) -> plt.Figure:
    """Validation accuracy and training loss per epoch; line = mean over seeds, band = min-max."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
    by_variant: dict[str, list] = {}
    for r in records:
        by_variant.setdefault(r["variant"], []).append(r["history"])
    for variant, hists in sorted(by_variant.items()):
        for ax, key in ((a1, "val_acc"), (a2, "train_loss")):
            arr = np.array([[h[key] for h in hist] for hist in hists], dtype=float)
            scale = 100 if key == "val_acc" else 1
            ep = np.arange(1, arr.shape[1] + 1)
            c = VARIANT_COLORS.get(variant)
            ax.plot(ep, scale * arr.mean(0), marker="o", color=c, label=f"{label(variant)} (n={len(hists)})")
            ax.fill_between(ep, scale * arr.min(0), scale * arr.max(0), color=c, alpha=0.2)
    a1.set(xlabel="epoch", ylabel="validation accuracy (%)", title="clean validation accuracy")
    a2.set(xlabel="epoch", ylabel="training cross-entropy (nats)", title="training loss (augmented batches)")
    for ax in (a1, a2):
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    a1.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusions(matrices: dict[str, np.ndarray], classes, title: str) -> plt.Figure:
    """Row-normalised confusion matrices (percent of each true class), side by side."""
    fig, axes = plt.subplots(1, len(matrices), figsize=(5.2 * len(matrices), 4.6), squeeze=False)
    for ax, (name, m) in zip(axes[0], matrices.items()):
        m = np.asarray(m, dtype=float)
        pct = 100 * m / m.sum(1, keepdims=True)
        im = ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
        for i in range(len(m)):
            for j in range(len(m)):
                if i != j and pct[i, j] >= 1:
                    ax.text(j, i, f"{pct[i, j]:.0f}", ha="center", va="center", fontsize=7, color="crimson")
        ax.set_xticks(range(len(classes)), classes, rotation=60, fontsize=7, ha="right")
        ax.set_yticks(range(len(classes)), classes, fontsize=7)
        ax.set(xlabel="predicted class", ylabel="true class", title=name)
    fig.colorbar(im, ax=axes, shrink=0.8, label="% of true class (red: off-diagonal ≥ 1 %)")
    fig.suptitle(title)
    return fig


def plot_learned_prompts(record: dict, title: str) -> plt.Figure:
    """The learned prompt of one run: each scale upsampled to the image size, and their mean."""
    from .prompting import MultiScalePrompt

    c, h, w = DATASETS[record["config"]["dataset"]].shape
    p = MultiScalePrompt(c, scales=record["config"]["prompt"], fusion=record["config"]["fusion"])
    with torch.no_grad():
        for name, values in record["prompts"].items():
            p.prompts[name].copy_(torch.tensor(values).unsqueeze(0))
    return plot_prompt_scales(p, (h, w), title=title)


def plot_saliency(images: np.ndarray, records: dict[str, dict], classes, title: str) -> plt.Figure:
    """Row 1: test images (one per class). Next rows: each model's saliency map over the image."""
    n = len(images)
    fig, axes = plt.subplots(1 + len(records), n, figsize=(1.25 * n, 1.5 * (1 + len(records)) + 0.4), squeeze=False,
                             layout="constrained")
    for j in range(n):
        show_image(axes[0, j], images[j], classes[j] if isinstance(classes[j], str) else str(classes[j]))
    for i, (name, rec) in enumerate(records.items(), start=1):
        ex = rec["explanations"]
        for j in range(n):
            img = images[j]
            base = img[0] if img.shape[0] == 1 else img.mean(0)
            axes[i, j].imshow(base, cmap="gray")
            axes[i, j].imshow(np.asarray(ex["maps"][j]) / 255, cmap="jet", alpha=0.45, vmin=0, vmax=1)
            ok = "✓" if ex["pred"][j] == ex["labels"][j] else "✗"
            axes[i, j].set_title(f"{ok} pred {ex['pred'][j]}", fontsize=7)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
        axes[i, 0].set_ylabel(f"{name}\n{ex['method']}", fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig


def plot_paired(paired_df: pd.DataFrame, title: str) -> plt.Figure:
    """Forest plot: per cell, the mean paired difference (pp) and its 95 % interval."""
    df = paired_df.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(df) + 2.0), layout="constrained")
    for i, r in df.iterrows():
        lo = r.ci_low if np.isfinite(r.ci_low) else r.diff_mean
        hi = r.ci_high if np.isfinite(r.ci_high) else r.diff_mean
        color = {"improves": "#1b9e77", "hurts": "#d95f02"}.get(r.verdict, "#555555")
        ax.plot([100 * lo, 100 * hi], [i, i], color=color, lw=3, alpha=0.6)
        ax.plot(100 * r.diff_mean, i, "o", color=color)
        ax.text(100 * hi, i + 0.18, f"  {r.verdict} (n={r.n_pairs})", fontsize=8, va="bottom")
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(range(len(df)), [f"{DATASETS[r.dataset].title} · {r.backbone} · {r.treatment}" for r in df.itertuples()])
    ax.set(xlabel="paired difference in test accuracy, MSVP − baseline (percentage points)", title=title)
    ax.set_ylim(len(df) - 0.4, -0.6)
    ax.grid(axis="x", alpha=0.3)
    return fig


def plot_ablation(summary: pd.DataFrame, params: dict[str, int], order: list[str], title: str) -> plt.Figure:
    """Mean test accuracy ± std per variant (bars), with the measured prompt parameters on each bar."""
    s = summary.set_index("variant").reindex(order)
    fig, ax = plt.subplots(figsize=(1.6 * len(order) + 2, 3.8))
    x = np.arange(len(order))
    ax.bar(x, 100 * s["mean"], yerr=100 * s["std"].fillna(0), capsize=4,
           color=[VARIANT_COLORS.get(v, "#999999") for v in order])
    lo = 100 * (s["mean"] - s["std"].fillna(0)).min()
    hi = 100 * (s["mean"] + s["std"].fillna(0)).max()
    pad = max(0.5, (hi - lo) * 0.6)
    ax.set_ylim(lo - pad, hi + pad)
    for xi, v in zip(x, order):
        ax.text(xi, lo - pad * 0.9, f"{params.get(v, 0):,} params", ha="center", fontsize=8)
        ax.text(xi, 100 * s.loc[v, "mean"], f"{100 * s.loc[v, 'mean']:.2f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [label(v) for v in order], rotation=20, ha="right", fontsize=8)
    ax.set(ylabel="test accuracy (%)", title=title)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
