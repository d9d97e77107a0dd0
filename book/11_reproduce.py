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
# # 11. Reproduce it
#
# **What you will learn**
# - the three profiles, what each runs and how each deviates from the paper's protocol;
# - the commands that reproduce every number in this book, and how long they took here;
# - how results are stored, resumed and verified.
#
# ## Two commands
#
# ```bash
# make reproduce   # trains what is missing for the profile (paper on a CUDA machine, cpu otherwise), re-executes the book
# make test        # unit tests, a smoke run of every notebook, nbval on the committed notebooks, the book build
# ```
#
# Offline? Point `MSVP_DATA_MIRROR` at a folder holding `mnist.npz`, `fashion_mnist.npz` and
# `cifar10.npz`; the package checks their sha256 and class counts before use.

# %% tags=["remove-cell", "colab-setup"]
# In Colab: clone the repository once and import msvp from the clone (at once, and after a restart);
# setup() runs the chapter from <repository>/book. Written from _config.yml by tools/colab_cell.py.
import os, subprocess, sys; REPO = "/content/msvp-book"
if "google.colab" in sys.modules:
    os.path.isdir(REPO) or subprocess.run(["git", "clone", "-q", "--depth", "1", "-b", "main", "https://github.com/msvp-book/msvp-book", REPO], check=True)
    REPO in sys.path or sys.path.insert(0, REPO)
from msvp.colab import setup; setup()

# %% tags=["parameters"]
PROFILE = "cpu"          # smoke | cpu | paper
RESULTS_DIR = "../results"
DATA_ROOT = "../data"
RETRAIN = False          # True: train the runs this chapter needs that have no result file yet

# %%
import pandas as pd
from IPython.display import display

from msvp.grid import PROFILES
from msvp.results import load

# %% [markdown]
# ## Profiles

# %%
# NBVAL_CHECK_OUTPUT
rows = []
for name, p in PROFILES.items():
    cfgs = p.configs()
    rows.append({"profile": name, "runs": len(cfgs), "seeds": len(p.seeds), "epochs": p.epochs,
                 "main cells": ", ".join(f"{d}·{b}" for d, b in p.main),
                 "ablation cells": ", ".join(f"{d}·{b}" for d, b in p.ablation),
                 "train images": ", ".join(f"{d} {n:,}" for d, n in p.train_subset.items()) or "all"})
display(pd.DataFrame(rows))
for name, p in PROFILES.items():
    print(f"{name}: {p.description}")

# %% [markdown]
# ## What ran here, on what, and how long it took

# %%
# NBVAL_CHECK_OUTPUT
for name in PROFILES:
    df = load(name, RESULTS_DIR)
    if df.empty:
        print(f"{name}: no results in this repository — run: python -m msvp grid --profile {name}")
        continue
    print(f"{name}: {len(df)} runs, {df.wall_time_s.sum() / 3600:.2f} h of training and evaluation in total")
    print("  hardware:", "; ".join(sorted(set(df.hardware))), "| torch:", ", ".join(sorted(set(df.torch))))

# %% [markdown]
# ## Useful commands
#
# ```bash
# python -m msvp data status                              # where each data set comes from, verified or not
# python -m msvp grid --profile cpu --list                # which runs exist and which are missing
# python -m msvp grid --profile paper --only dataset=cifar10,backbone=resnet18
# python -m msvp grid --profile paper --shard 0/4         # one of four workers (e.g. a SLURM array)
# python -m msvp train --dataset mnist --backbone vit --prompt full --fusion add --seed 0
# ```
#
# Each run writes `results/<profile>/<dataset>/<backbone>/<variant>/seed<k>.json` atomically, with its
# configuration, per-epoch history, final metrics, parameter counts, data provenance (source, sha256,
# image counts), hardware, torch version and git commit. A run checkpoints every epoch beside its result
# file; an interrupted grid resumes from the last completed epoch and reaches the same numbers.
#
# ## Deviations from the paper's protocol
#
# - The `cpu` profile is smaller than the paper (see its description above): fewer epochs, a
#   class-balanced subset of the training split, the CNN everywhere and the ViT on MNIST only. Its numbers answer "does the prompt help
#   at this budget", not "does it reproduce the paper's table".
# - Every profile pairs seeds (see [chapter 2](02_implementation.ipynb)) and validates on clean images.
# - CIFAR-10 here is the offline copy (49,914 training and 9,975 test images); with internet,
#   torchvision's complete set is used and labelled as such.
