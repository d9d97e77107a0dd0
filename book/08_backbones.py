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
# # 8. Backbones compared
#
# The paper reports MSVP on a small CNN, a CIFAR-style ResNet-18 {cite}`he2016resnet` and a ViT-Tiny
# {cite}`dosovitskiy2021vit,touvron2021deit` (the [protocol](protocol.ipynb) page describes all
# three). This page puts every (data set, backbone) cell side by side, with the cost of each run.
#
# **What you will learn**
# - baseline and MSVP accuracy for each backbone and data set, with the paired difference and its
#   verdict for both readings of the fusion;
# - what each run cost in wall-clock time on the hardware that ran it;
# - which cells were not run here, and the command that runs them.
#
# The figure gives every backbone its own axis, so that a wide interval on one backbone (where its runs
# vary more from seed to seed, or it has fewer seeds) cannot squeeze a narrow one elsewhere; the
# sentence under the figure reads it, with each backbone's seed-to-seed spread where it has one.

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
RETRAIN = False          # True: train every missing run of the profile first (hours)

# %%
from _lib.backbones import BackbonesChapter
from msvp.grid import run_grid

if RETRAIN:  # train every missing run of the profile first
    run_grid(PROFILE, results=RESULTS_DIR, data_root=DATA_ROOT)
ch = BackbonesChapter(PROFILE, RESULTS_DIR, DATA_ROOT)
df = ch.df  # one row per finished run of the profile

# %% [markdown]
# ## Key results
#
# The answer first: each backbone in one line, computed from the runs and the {term}`profile`'s plan; the
# sections below give the tables, the figure and the costs behind it.

# %% tags=["remove-input"]
ch.key_results()

# %% [markdown]
# ## Every cell

# %% tags=["remove-input"]
ch.results()

# %% [markdown]
# A backbone whose runs are still training shows as a line of progress above the table, with the
# command that trains what is missing; its rows join the table as its runs land. On a GPU the
# `paper` {term}`profile` trains every cell in one go (the [reproduce](11_reproduce.ipynb) chapter has the
# one-command GPU script and a SLURM recipe).
#
# **Why the ViT-Tiny trails the CNN.** It is the official code's ViT-Tiny (width 192, depth 12, 3
# heads; patches of 7 × 7 pixels on the 28-pixel images, 4 × 4 on CIFAR-10; the
# [protocol](protocol.ipynb) page lists every setting beside the official one), trained from scratch
# for the paper's 10 epochs. A transformer lacks a convolution's built-in bias towards local
# patterns and needs far more data or training to match a CNN on small images
# {cite}`dosovitskiy2021vit`. So a low accuracy is what this protocol gives a ViT-Tiny rather than a
# sign of a fault here (the paper's own ViT numbers could not be read to compare; the GPU runs below
# are on other hardware and another torch, so their accuracies are not paired with these); its
# {term}`convergence caveat` shows its validation accuracy still rising as the schedule ended.

# %% [markdown]
# ## On a GPU
#
# The same cells from the `paper` profile's runs on one GPU, for the ResNet-18 and ViT-Tiny cells the
# CPU has not finished yet. They are judged on their own, never paired with a CPU run (other hardware,
# another torch, bf16).

# %% tags=["remove-input"]
from _lib.gpu_runs import GpuRuns

if PROFILE != "paper":   # a page of the paper profile already shows these runs above
    GpuRuns(RESULTS_DIR, DATA_ROOT).cells()

# %% [markdown]
# ## What it cost

# %% tags=["remove-input"]
ch.costs()

# %% [markdown]
# ## Exercises
#
# Each exercise's starting code runs here as it stands, on the runs of `PROFILE` in `RESULTS_DIR`.
#
# 1. **How big is each backbone?** Count the trainable parameters of each backbone on grey and on
#    colour images. Why does the ViT's count change with the input while the CNN's barely does?
#
#    ```python
#    from msvp import build_model, count_params
#
#    for b in ("cnn", "resnet18", "vit"):
#        for d in ("mnist", "cifar10"):
#            print(b, d, f"{count_params(build_model(b, d)):,}")
#    ```
#
# 2. **Time a forward pass.** Time each backbone on a batch of 32 colour images on this machine,
#    and compare the ratios with the run times in the table above.
#
#    ```python
#    import time
#
#    import torch
#
#    from msvp import build_model
#
#    x = torch.randn(32, 3, 32, 32)
#    for b in ("cnn", "resnet18", "vit"):
#        m = build_model(b, "cifar10").eval()
#        with torch.no_grad():
#            m(x)                              # warm-up
#            t0 = time.perf_counter()
#            m(x)
#        print(b, f"{1000 * (time.perf_counter() - t0):.0f} ms")
#    ```
#
# 3. **Run times from the result files.** Summarise the recorded wall time of the runs per backbone.
#
#    ```python
#    from msvp.results import load
#
#    df = load(PROFILE, RESULTS_DIR)
#    print(df.groupby("backbone").wall_time_s.describe().round(1))
#    ```
