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
# # 9. Parameters and compute
#
# The abstract claims that MSVP adds fewer than 0.02 % parameters and negligible compute. This page
# measures both, on every backbone and input shape.
#
# **What you will learn**
# - analytic vs measured prompt parameters for every scale set and fusion (they must match exactly);
# - the overhead relative to each backbone, against the "< 0.02 %" claim;
# - the {term}`FLOPs` MSVP adds, counted by hand and by `torch.utils.flop_counter`, and the forward latency
#   measured on this machine.

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
RETRAIN = False          # True: measure parameters, FLOPs and latency again

# %%
from _lib.costs import AccountingChapter

ch = AccountingChapter(PROFILE, RESULTS_DIR, remeasure=RETRAIN)
params, compute = ch.params, ch.compute

# %% [markdown]
# ## Parameters: analytic vs measured
#
# The main setting (add fusion, all three scales) costs 81·C parameters: 81 on the grey 1 × 28 × 28
# inputs, 243 on CIFAR-10's 3 × 32 × 32. The overhead is that count divided by the backbone's.

# %% tags=["nbval-check-output"]
ch.overhead()

# %% tags=["hide-input"]
ch.overhead_figure()

# %% [markdown]
# Log scale; the dashed line is the abstract's 0.02 % bound. For each backbone and input the three
# fusions stand side by side (add left, concat middle, gated right), so none hides another. A point
# on or above the line breaks the claim.

# %% tags=["hide-input"]
ch.params_claim()

# %% [markdown]
# ## All scale sets and fusions
#
# The prompt's parameters depend only on the channels, the scale set and the fusion, not on the
# backbone:

# %% tags=["nbval-check-output"]
ch.grid()

# %% [markdown]
# ## FLOPs and latency
#
# `FlopCounterMode` counts convolutions and matrix products, the backbone's cost. The prompt's
# upsampling, mean and addition are element-wise and invisible to it, so its *FLOP counter overhead*
# reads zero for add fusion by construction; the verdict below counts those operations by hand
# (`msvp.accounting.msvp_added_flops`). Latency is the median over repeats of a forward pass on a batch of 32
# on the CPU named below, the four variants timed in turn in every repeat; below the table, how far
# the ratios stray from 1 on this shared machine, and how much of that is noise.

# %% tags=["nbval-ignore-output", "hide-input"]
ch.flops()

# %% [markdown]
# ## Key results
#
# What MSVP costs, from the measurements above:

# %% tags=["remove-input"]
ch.key_results()

# %% [markdown]
# ## Exercises
#
# Each exercise's starting code runs in this notebook as it stands.
#
# 1. **Count FLOPs yourself.** Count the FLOPs of the CNN on a colour image with and without the
#    prompt using PyTorch's counter. Which operations of the prompt does it miss?
#
#    ```python
#    import torch
#    from torch.utils.flop_counter import FlopCounterMode
#
#    from msvp import build_model
#
#    for prompt in (None, "full"):
#        m = build_model("cnn", "cifar10", prompt=prompt).eval()
#        with FlopCounterMode(display=False) as fc, torch.no_grad():
#            m(torch.zeros(1, 3, 32, 32))
#        print(prompt, f"{fc.get_total_flops():,}")
#    ```
#
# 2. **The prompt's own operations.** Print the FLOPs that MSVP adds per image, counted by hand for
#    each step, for add and for concat fusion. Which step dominates?
#
#    ```python
#    from msvp.accounting import msvp_added_flops
#
#    for fusion in ("add", "concat"):
#        print(fusion, msvp_added_flops(3, 32, 32, "full", fusion))
#    ```
#
# 3. **Overhead on a bigger backbone.** What share of a ResNet-50's 25,557,032 parameters would
#    MSVP add on a colour image? And on a network with 100,000 parameters?
#
#    ```python
#    from msvp.experiments import VARIANTS
#
#    msvp = VARIANTS["msvp-add-full"].params(3, 32, 32)
#    for backbone in (25_557_032, 100_000):
#        print(backbone, f"{100 * msvp / backbone:.4f} %")
#    ```
