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
# # 1. What is a multi-scale visual prompt?
#
# A *visual prompt* is a small learnable image that is added to every input before a network sees
# it {cite}`bahng2022visual,jia2022vpt`. MSVP {cite}`khazem2025msvp` learns three such images at
# different resolutions and trains them together with a small backbone from scratch.
#
# **What you will learn**
# - the three prompt scales (1 × 1 *global*, 4 × 4 *mid*, 8 × 8 *local*) and how bilinear
#   upsampling turns each into a full-size image;
# - how the prompt is fused with the input (the default is a plain addition, no convolution);
# - why the whole prompt costs only 81 parameters per image channel.

# %% tags=["remove-cell", "colab-setup"]
# In Colab: clone the repository once and import msvp and the book layer (book/_lib) from the clone
# (at once, and after a restart);
# setup() runs the chapter from <repository>/book. Written from _config.yml by tools/colab_cell.py.
import os, subprocess, sys; REPO = "/content/msvp-book"
if "google.colab" in sys.modules:
    os.path.isdir(REPO) or subprocess.run(["git", "clone", "-q", "--depth", "1", "-b", "main", "https://github.com/msvp-book/msvp-book", REPO], check=True)
    sys.path[:0] = [p for p in (REPO, REPO + "/book") if p not in sys.path]
from _lib.colab import setup; _ = setup()  # the book folder; not printed

# %% tags=["parameters"]
PROFILE = "cpu"          # unused here: this chapter reads no results
DATA_ROOT = "../data"    # one MNIST test image for the fusion figure

# %%
import torch

from _lib import chapter, concept, figures
from msvp.prompting import MultiScalePrompt

chapter.setup_plots()
_ = torch.manual_seed(0)

# %% [markdown]
# ## Three scales, one image each
#
# Each prompt is a tensor of shape (1, C, s, s), where C is the number of image channels (1 for grey,
# 3 for colour) and s = 1, 4 or 8; it is initialised from N(0, 1) × 0.01.
# For the figure we draw it at unit scale (N(0, 1)) so the patterns are visible; the shapes and the
# upsampling are exactly what the model uses.

# %% tags=["hide-input"]
demo = MultiScalePrompt(1, scales="full", fusion="add")
with torch.no_grad():
    for p in demo.prompts.values():
        p.normal_()
title = "Prompt maps at 1×1, 4×4 and 8×8, upsampled to 28×28"
chapter.figure(figures.plot_prompt_scales(demo, (28, 28), title=title))

# %% [markdown]
# Top row: the raw parameters. Bottom row: each map after `F.interpolate(mode="bilinear",
# align_corners=False)` to the image size, and their mean P̄, which add fusion adds to the image.
# The 1 × 1 map becomes a constant (a brightness shift per channel), the 4 × 4 map a smooth coarse
# pattern, the 8 × 8 map a finer one. The colours share one scale: red is positive, blue negative.
#
# ## Fusion with the input
#
# With `add` fusion (the official code's default, and so presumably what its main results used) the model sees
# y = x + P̄. The paper's abstract says that the prompts are "fused with the input via a lightweight
# 1 × 1 convolution"; in the official code that convolution exists only in the optional `concat` and
# `gated` fusions, not in the default path. This book follows the code, and trains the `concat`
# reading beside it in every main table.

# %% tags=["hide-input"]
from msvp.data import load_dataset
from msvp.datasets import DATASETS

spec = DATASETS["mnist"]
x = load_dataset("mnist", DATA_ROOT).x_test[:1].float() / 255
x = (x - spec.mean[0]) / spec.std[0]
with torch.no_grad():
    y = demo(x)
title = "Add fusion on the first MNIST test image (unit-scale prompt)"
chapter.figure(figures.plot_add_fusion(x[0, 0], y[0, 0], title))
chapter.md(concept.add_fusion_reading(x[0, 0], y[0, 0]))

# %% [markdown]
# The trained prompts are smaller than this demonstration: they start with a standard deviation of
# 0.01 and grow during training; chapters 3–5 show the learned ones and set their size against the
# range of the images.
#
# ## Counting parameters
#
# A prompt with side s has s² values per channel, so the three scales cost (1 + 16 + 64)·C = 81·C
# parameters. With K scales in the prompt (K = 3 here), `concat` stacks the image and its K upsampled
# maps into C(K+1) channels and maps them back to C with a 1 × 1 convolution of C(K+1)·C weights (no
# bias); `gated` adds a C → C convolution with bias, C² + C.
# The counts below are measured on the module.

# %% tags=["nbval-check-output"]
import pandas as pd

from msvp import FUSIONS, PROMPT_SIZES, SCALE_SETS, count_params

rows = []
for c in (1, 3):
    for scales in SCALE_SETS:
        sizes = [f"{PROMPT_SIZES[s]}²" for s in SCALE_SETS[scales]]
        maps = " + ".join(sizes)
        counts = {}
        for f in FUSIONS:
            prompt = MultiScalePrompt(c, scales=scales, fusion=f)
            counts[f"{f} (params)"] = count_params(prompt)
        rows.append({"channels": c, "scales": scales,
                     "maps per channel": maps, **counts})
chapter.table(pd.DataFrame(rows))

# %% [markdown]
# Chapter 9 compares these counts with the analytic formulas and with the size of each backbone.

# %% [markdown]
# ## Key results
#
# What this chapter's module computes, counted and measured when the page runs:

# %% tags=["remove-input"]
concept.concept_key_results()

# %% [markdown]
# ## Exercises
#
# Each exercise's starting code runs in this notebook as it stands.
#
# 1. **Another scale set.** Draw the maps of a `global+mid` prompt for a colour image (3 channels,
#    32 × 32 pixels). What does the mean P̄ lose without the 8 × 8 map?
#
#    ```python
#    import torch
#
#    from _lib import chapter, figures
#    from msvp import MultiScalePrompt
#
#    demo = MultiScalePrompt(3, scales="global+mid", fusion="add")
#    with torch.no_grad():
#        for p in demo.prompts.values():
#            p.normal_()
#    fig = figures.plot_prompt_scales(demo, (32, 32), title="global+mid")
#    chapter.figure(fig)
#    ```
#
# 2. **Count by hand.** Predict the parameters of a `concat` prompt with all three scales on a colour
#    image before running the check; then do the same for `gated`.
#
#    ```python
#    from msvp import MultiScalePrompt, count_params
#
#    c, k = 3, 3                      # channels, scales
#    by_hand = 81 * c + c * (k + 1) * c
#    prompt = MultiScalePrompt(c, scales="full", fusion="concat")
#    built = count_params(prompt)
#    print(by_hand, built)
#    ```
#
# 3. **Upsampling by hand.** Upsample a random 4 × 4 map to 32 × 32 with PyTorch and with the
#    book's hand-written bilinear interpolation. Which pixels of the result equal a value of the map?
#
#    ```python
#    import numpy as np
#    import torch
#    import torch.nn.functional as F
#
#    from _lib import concept
#
#    p = torch.randn(1, 1, 4, 4)
#    up = F.interpolate(p, size=(32, 32), mode="bilinear",
#                       align_corners=False)[0, 0].numpy()
#    ref = concept.bilinear_reference(p[0, 0].numpy(), 32)
#    print(np.abs(up - ref).max())
#    ```
