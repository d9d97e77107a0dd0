# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. The implementation, checked
#
# **What you will learn**
# - the complete prompt module of the `msvp` package (shown from its source, not retyped);
# - how a prompt is put in front of any backbone without touching the backbone's code;
# - the checks that make us trust it: shapes, gradients, exact oracles, and the *pairing* of baseline
#   and MSVP runs that the official code lacks.
#
# ## The module
#
# ```{literalinclude} ../msvp/prompting.py
# :language: python
# :pyobject: MultiScalePrompt
# ```
#
# The wrapper keeps the backbone untouched and checks the input shape before any layer runs:
#
# ```{literalinclude} ../msvp/prompting.py
# :language: python
# :pyobject: PromptedModel
# ```

# %% tags=["remove-cell", "colab-setup"]
# In Colab: clone the repository once and import msvp from the clone (at once, and after a restart);
# setup() runs the chapter from <repository>/book. Written from _config.yml by tools/colab_cell.py.
import os, subprocess, sys; REPO = "/content/msvp-book"
if "google.colab" in sys.modules:
    os.path.isdir(REPO) or subprocess.run(["git", "clone", "-q", "--depth", "1", "-b", "main", "https://github.com/msvp-book/msvp-book", REPO], check=True)
    REPO in sys.path or sys.path.insert(0, REPO)
from msvp.colab import setup; setup()

# %% tags=["parameters"]
PROFILE = "cpu"          # unused here: this chapter trains nothing and reads no results
RESULTS_DIR = "../results"
DATA_ROOT = "../data"
RETRAIN = False

# %%
import pandas as pd
import torch

from msvp import FUSIONS, MultiScalePrompt, build_model

# %% [markdown]
# ## Shapes and gradients for every combination
#
# Each backbone, on both input shapes, with every fusion and scale set (the test suite runs the full
# cross product): the output must be finite
# with 10 logits, and one backward pass must reach every trainable parameter, prompts included (a
# prompt that gets no gradient would silently stay at its initial noise).

# %%
# NBVAL_CHECK_OUTPUT
rows = []
for backbone in ("cnn", "resnet18", "vit"):
    for dataset, shape in (("mnist", (1, 28, 28)), ("cifar10", (3, 32, 32))):
        for scales, fusion in [("full", f) for f in FUSIONS] + [(s, "add") for s in ("global", "global+mid")]:
            m = build_model(backbone, dataset, prompt=scales, fusion=fusion, seed=0).train()
            out = m(torch.randn(2, *shape))
            out.square().mean().backward()
            no_grad = [n for n, p in m.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
            rows.append({"backbone": backbone, "input": "x".join(map(str, shape)), "scales": scales,
                         "fusion": fusion, "output": tuple(out.shape), "finite": bool(torch.isfinite(out).all()),
                         "params without gradient": len(no_grad)})
checks = pd.DataFrame(rows)
print(f"{len(checks)} combinations; all finite: {checks.finite.all()}; "
      f"parameters without gradient: {checks['params without gradient'].sum()}")

# %% [markdown]
# ## Oracles
#
# Three exact checks against independent computations: add fusion with zero prompts is the identity;
# a global-only prompt adds one constant per channel; the upsampled maps equal a hand-written
# bilinear interpolation (half-pixel centres, clamped at the border).

# %%
# NBVAL_CHECK_OUTPUT
import numpy as np


def bilinear_by_hand(p: np.ndarray, out: int) -> np.ndarray:
    """Half-pixel bilinear upsampling of a square map, written out in numpy."""
    s = p.shape[0]
    src = np.clip((np.arange(out) + 0.5) * s / out - 0.5, 0, s - 1)
    i0 = np.floor(src).astype(int); i1 = np.minimum(i0 + 1, s - 1); w = src - i0
    rows = p[i0] * (1 - w)[:, None] + p[i1] * w[:, None]
    return rows[:, i0] * (1 - w)[None, :] + rows[:, i1] * w[None, :]

x = torch.randn(4, 3, 32, 32)
zero = MultiScalePrompt(3, scales="full", fusion="add")
with torch.no_grad():
    for p in zero.prompts.values():
        p.zero_()
g = MultiScalePrompt(3, scales="global", fusion="add")
full = MultiScalePrompt(1, scales="full")
maps = full.prompt_maps((28, 28))
err = max(np.abs(m[0, 0].detach().numpy() - bilinear_by_hand(p[0, 0].detach().numpy(), 28)).max()
          for m, p in zip(maps, full.prompts.values()))
print("zero prompt + add is the identity:", torch.equal(zero(x), x))
print("global prompt adds one constant per channel:", torch.allclose(g(x) - x, g.prompts["global"].expand_as(x)))
print("bilinear upsampling matches the hand computation (max error < 1e-6):", err < 1e-6)

# %% [markdown]
# ## Pairing: the same seed gives the same backbone
#
# The official code builds the prompt *before* the backbone, so at the same seed a baseline and an MSVP
# model start from different backbone weights and a different data order — the comparison then mixes
# the prompt's effect with seed noise. `build_model` builds the backbone first and initialises the
# prompt on a forked random stream; the training loop derives batch order, augmentation and dropout
# from the seed alone. The check below compares every backbone tensor bit for bit.

# %%
# NBVAL_CHECK_OUTPUT
for backbone in ("cnn", "resnet18", "vit"):
    base = build_model(backbone, "cifar10", seed=3).backbone.state_dict()
    same = all(torch.equal(base[k], v) for f in FUSIONS
               for k, v in build_model(backbone, "cifar10", prompt="full", fusion=f, seed=3).backbone.state_dict().items())
    print(f"{backbone}: baseline and MSVP (add, concat, gated) share bit-identical backbone weights: {same}")

# %% [markdown]
# ## Clear errors
#
# A wrong input is refused before any layer runs, with the expected and the given shape:

# %%
# NBVAL_CHECK_OUTPUT
m = build_model("cnn", "mnist", prompt="full")
for bad in (torch.zeros(2, 3, 28, 28), torch.zeros(2, 1, 32, 32)):
    try:
        m(bad)
    except ValueError as e:
        print("ValueError:", e)
try:
    build_model("resnet50", "mnist")
except ValueError as e:
    print("ValueError:", e)

# %% [markdown]
# The same checks run in the test suite (`tests/`), together with the parameter counts of design §2
# and a small learning test; chapter 9 compares the counts with the analytic formulas.
