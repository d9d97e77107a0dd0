# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 7. How should the prompt be fused?
#
# Three {term}`fusions <fusion>` exist in the official code: `add` (y = x + P̄, the default: no parameters beyond the
# prompts), `concat` (a 1 × 1 convolution over the image and the K upsampled maps, without a residual
# path: the abstract's reading) and `gated` (y = x + σ(W P̄ + b) ⊙ P̄). The gate sees only the
# prompts, never the image, so `gated`, like `add`, ends up as one fixed image added to every input;
# the gate only changes which fixed images it can reach (the maps' mean, scaled element-wise by a gate
# computed from it, rather than the mean itself), not whether the shift can depend on the input.
# `concat` adds a fixed image too (its 1 × 1 convolution applied to the maps), but first rescales and
# mixes the image's own channels, and it starts from a Kaiming-initialised mix rather than the
# identity: the backbone first sees a randomly scaled (on a grey image, possibly sign-flipped) copy of
# the image plus the maps, not the image itself, which may be why it can hurt (the head-to-head
# section below measures it).
# The official chart of this ablation plots hard-coded parameter bars; here they are counted.
#
# **What you will learn**
# - the accuracy of each fusion within one data set and backbone, paired against the baseline;
# - what each fusion costs in parameters;
# - whether the two readings of the paper, add and concat, differ measurably.

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
PROFILE = "cpu"          # smoke | cpu | paper
RESULTS_DIR = "../results"
DATA_ROOT = "../data"
RETRAIN = False          # True: train the missing runs of the fusion ablation first

# %%
from _lib.ablation import AblationChapter
from _lib.names import FUSION_VARIANTS
from msvp.grid import run_grid

variants = FUSION_VARIANTS
if RETRAIN:  # train the fusion ablation's missing runs first
    run_grid(PROFILE, only={"variant": set(variants)},
             results=RESULTS_DIR, data_root=DATA_ROOT)
ch = AblationChapter(PROFILE, RESULTS_DIR, variants, DATA_ROOT,
                     versus=("msvp-concat-full", "msvp-add-full"))

# %% tags=["remove-input"]
ch.in_short()

# %% [markdown]
# ## The setting
#
# Which runs the fusion ablation has so far, and the rules its verdicts follow.

# %% tags=["remove-input"]
ch.setting()
ch.rules()

# %% [markdown]
# ## Every cell, against the baseline of the same seeds
#
# Each fusion against the baseline, cell by cell: add is the official default, concat the
# abstract's 1 × 1 convolution, gated scales the prompt by a sigmoid gate computed from it.

# %% tags=["remove-input"]
ch.cells_section("Fusion ablation (full scales)")

# %% [markdown]
# `add` and `gated` differ only by the gate's 1 × 1 convolution (C² + C parameters); `concat` pays
# C(K+1)·C weights for its mix. The main tables of chapters 3–5 and 8 also carry `concat` and `add`
# against the baseline, with the verdicts shown here: each comparison has one {term}`Holm` family over
# every cell where it ran, so it reads the same on every page.
#
# ## Add against concat, head to head
#
# The two readings of the paper's fusion, compared directly: concat/full − add/full, paired by seed
# in every cell where both ran (the same initialisation and batches), with the report card's rules.
# This comparison is its own Holm family; no other page shows it.

# %% tags=["remove-input"]
ch.head_to_head()

# %% [markdown]
# ## Key results
#
# What the fusion ablation shows, cell by cell, computed from its runs:

# %% tags=["remove-input"]
ch.key_results()

# %% [markdown]
# ## Exercises
#
# Each exercise's starting code runs here as it stands, on the runs of `PROFILE` in `RESULTS_DIR`.
#
# 1. **Inside `concat`.** List the parameters of a `concat` prompt. How many input channels does its
#    1 × 1 convolution see, and why is a zero prompt not the identity here?
#
#    ```python
#    from msvp import MultiScalePrompt
#
#    cat = MultiScalePrompt(1, scales="full", fusion="concat")
#    for name, p in cat.named_parameters():
#        print(name, tuple(p.shape))
#    ```
#
# 2. **The gate sees only the prompt.** Show that a `gated` prompt adds the same image to any two
#    inputs, so that, like `add`, it is one fixed image.
#
#    ```python
#    import torch
#
#    from msvp import MultiScalePrompt
#
#    g = MultiScalePrompt(1, scales="full", fusion="gated")
#    x1, x2 = torch.randn(1, 1, 28, 28), torch.randn(1, 1, 28, 28)
#    with torch.no_grad():
#        print(torch.allclose(g(x1) - x1, g(x2) - x2))
#    ```
#
# 3. **Mean accuracy per fusion.** Average each fusion's test accuracy over seeds, per data set.
#    Why is a difference of these means weaker evidence than the paired differences above?
#
#    ```python
#    from _lib.names import FUSION_VARIANTS
#    from msvp.results import load
#
#    df = load(PROFILE, RESULTS_DIR)
#    runs = df[df.variant.isin(FUSION_VARIANTS)]
#    print(runs.groupby(["dataset", "variant"]).test_acc.mean().round(4))
#    ```
