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
# The figure gives every backbone its own axis: a wide interval on one backbone (a ViT trained from
# scratch can vary much more from seed to seed than a CNN) cannot squeeze a narrow one elsewhere.

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
RETRAIN = False          # True: train every missing run of the profile first (hours)

# %%
from msvp import book

# %% [markdown]
# ## Every cell

# %% tags=["remove-input"]
df = book.backbones_chapter(PROFILE, RESULTS_DIR, DATA_ROOT, RETRAIN)

# %% [markdown]
# ## What it cost

# %% tags=["remove-input"]
book.run_costs(df)

# %% [markdown]
# The ResNet-18 and ViT cells belong to the `paper` profile, which needs a GPU:
# `python -m msvp grid --profile paper` trains them (the [reproduce](11_reproduce.ipynb) chapter has
# the one-command GPU script and a SLURM recipe). Until they exist, the claims about backbones on the
# report card read *not run here*.
