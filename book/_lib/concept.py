"""Chapters 1-2: the prompt on its own, and an independent oracle for its upsampling."""
from __future__ import annotations

import numpy as np

from .chapter import key_results


def bilinear_reference(p: np.ndarray, out: int) -> np.ndarray:
    """Upsample a square map to out × out by hand: half-pixel
    centres, clamped at the border (what F.interpolate computes
    with mode="bilinear", align_corners=False)."""
    s = p.shape[0]
    src = (np.arange(out) + 0.5) * s / out - 0.5
    src = np.clip(src, 0, s - 1)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, s - 1)
    w = src - i0
    rows = p[i0] * (1 - w)[:, None] + p[i1] * w[:, None]
    return rows[:, i0] * (1 - w) + rows[:, i1] * w


def add_fusion_reading(x, y) -> str:
    """How to read the add-fusion figure, from its own image x and model input y = x + P̄: the range of
    each panel (their colour scales differ) and what the prompt does to the background, which is one
    value in x, against the stroke's contrast."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    p, background = y - x, x == x.min()
    bg = y[background]
    spread, contrast = bg.max() - bg.min(), y[~background].mean() - bg.mean()

    def num(v: float) -> str:
        return f"{v:.2f}".replace("-", "−")
    verdict = ("the digit still stands out" if contrast > spread
               else "at unit scale the prompt varies as much as the digit differs from its background")
    return (f"Each panel has its own colour scale, so compare the colour bars, not the shades. The digit spans "
            f"{num(x.min())} to {num(x.max())} normalised units and the unit-scale prompt {num(p.min())} to "
            f"{num(p.max())}. In x + P̄ the background, one value ({num(x.min())}) in x, now ranges over "
            f"{num(spread)} units, while the stroke lies {num(contrast)} above the background on average: {verdict}.")


def concept_key_results() -> None:
    """Chapter 1: what the prompt costs per input type and fusion, counted on the module, and what the
    1 × 1 map becomes after upsampling (measured)."""
    import torch

    from msvp.prompting import FUSIONS, MultiScalePrompt

    counts = {c: {f: sum(p.numel() for p in MultiScalePrompt(c, scales="full", fusion=f).parameters())
                  for f in FUSIONS} for c in (1, 3)}
    demo = MultiScalePrompt(1, scales="full")
    with torch.no_grad():
        for p in demo.prompts.values():
            p.normal_()
        flat = demo.prompt_maps((28, 28))[0]
        spread = float(flat.max() - flat.min())
    key_results([
        "MSVP learns three maps of 1 × 1, 4 × 4 and 8 × 8 values per channel, upsamples them to the image size and "
        "adds their mean to every image (add fusion, the official default).",
        "Parameters of the full prompt, grey / colour images: " + "; ".join(
            f"{f} {counts[1][f]} / {counts[3][f]}" for f in FUSIONS) + ".",
        f"The upsampled 1 × 1 map is one constant over the whole image (its pixels differ by {spread:.0e} at most, "
        f"float rounding): a brightness shift per channel.",
    ])
