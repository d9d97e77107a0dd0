"""What each prompt of the controls chapter costs and can express: parameter counts from the
registry's formula against built models, and each additive prompt folded into a full-resolution one."""
from __future__ import annotations

import pandas as pd

from msvp.datasets import DATASETS
from msvp.experiments import VARIANTS
from msvp.models import build_model, count_params

from .control_arms import REFERENCE
from .names import BACKBONE_TITLES, short

STRUCTURE = {
    "msvp-add-full": "1×1, 4×4 and 8×8 maps, upsampled bilinearly, averaged, added",
    "control-pad": "one learned frame, 1 px wide, added at the border; zero inside",
    "control-fullres": "one learned C×H×W map added to the image",
    "msvp-add-global": "MSVP's 1×1 map alone: one learned constant per channel",
    "control-frozen": "MSVP add/full at its random initial values, never trained",
}


SHAPES = {"1×28×28": "mnist", "3×32×32": "cifar10"}


def param_table(backbone: str = "cnn", variants=(REFERENCE, "control-pad", "control-fullres", "msvp-add-global",
                                                 "control-frozen")) -> pd.DataFrame:
    """Per variant and input shape: trainable parameters from the registry's formula
    (``VARIANTS[v].params(C, H, W)``), trainable and fixed (untrained) parameters of the prompt of a
    built model, and the backbone's trainable parameters. One row per variant × shape."""
    rows = []
    for v in variants:
        var = VARIANTS[v]
        for shape_name, dataset in SHAPES.items():
            c, h, w = DATASETS[dataset].shape
            m = build_model(backbone, dataset, prompt=var.prompt, fusion=var.fusion, seed=0)
            prompt_params = list(m.prompt.parameters()) if m.prompt is not None else []
            rows.append({"variant": v, "shape": shape_name, "formula": var.params(c, h, w),
                         "measured": count_params(m.prompt) if m.prompt is not None else 0,
                         "fixed": sum(p.numel() for p in prompt_params if not p.requires_grad),
                         "backbone": count_params(m.backbone)})
    return pd.DataFrame(rows)


def format_params(t: pd.DataFrame) -> pd.DataFrame:
    """``param_table`` for reading: one row per variant, the two input shapes as 'a / b'."""
    shapes = list(dict.fromkeys(t["shape"]))
    both = " / ".join(shapes)
    rows = []
    for v, g in t.groupby("variant", sort=False):
        g = g.set_index("shape").loc[shapes]
        ok = bool((g.formula == g.measured).all())
        rows.append({"prompt": short(v), "what it adds to the image": STRUCTURE.get(v, VARIANTS[v].label),
                     f"trainable parameters, {both}": " / ".join(f"{int(x):,}" for x in g.measured),
                     f"% of the {BACKBONE_TITLES['cnn']}'s": " / ".join(f"{100 * m / b:.4f}" for m, b in zip(g.measured, g.backbone)),
                     "untrained values": " / ".join(f"{int(x):,}" for x in g.fixed),
                     "formula = built model": "yes" if ok else "NO: formula " + " / ".join(f"{int(x):,}" for x in g.formula)})
    return pd.DataFrame(rows)


def additive_image(prompt, shape, atol: float = 1e-6):
    """The image (1, C, H, W) a prompt adds to every input, or None when its output minus its input
    depends on the input (concat fusion). Add and gated fusion, the pad, full-resolution and frozen
    prompts all add one fixed image: the gate sees the prompts only."""
    import torch

    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, *shape, generator=g)
    with torch.no_grad():
        d = prompt(x) - x
    return d[:1].clone() if torch.allclose(d[0], d[1], atol=atol) else None


def as_fullres(prompt, shape):
    """A full-resolution prompt that adds exactly what ``prompt`` adds (None if it is not additive):
    every additive prompt's function class lies inside the full-resolution prompt's."""
    import torch

    from msvp.prompting import FullResPrompt

    image = additive_image(prompt, shape)
    if image is None:
        return None
    out = FullResPrompt(shape[0], tuple(shape[1:]))
    with torch.no_grad():
        out.map.copy_(image)
    return out


def fullres_table(backbone: str = "cnn", variants=(REFERENCE, "msvp-gated-full", "msvp-concat-full", "control-pad",
                                                    "msvp-add-global", "control-frozen"), tol: float = 1e-4):
    """Per prompt and input shape: can a full-resolution prompt reproduce it? Each prompt gets large
    random values (N(0, 1), far from its init), is replaced by ``as_fullres``, and the two models'
    logits are compared on random images."""
    import torch

    rows = []
    for v in variants:
        var = VARIANTS[v]
        row = {"prompt": short(v)}
        for shape_name, dataset in SHAPES.items():
            shape = DATASETS[dataset].shape
            m = build_model(backbone, dataset, prompt=var.prompt, fusion=var.fusion, seed=0).eval()
            g = torch.Generator().manual_seed(1)
            with torch.no_grad():
                for p in m.prompt.parameters():
                    p.normal_(generator=g)
            folded = as_fullres(m.prompt, shape)
            if folded is None:
                row[shape_name] = "no: its output mixes the image with the maps"
                continue
            x = torch.randn(4, *shape, generator=g)
            with torch.no_grad():
                gap = (m(x) - m.backbone(folded(x))).abs().max().item()
            row[shape_name] = f"yes: same logits (max difference < {tol:g})" if gap < tol else f"NO: logits differ by {gap:.2g}"
        rows.append(row)
    return pd.DataFrame(rows)
