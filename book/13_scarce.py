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
# # 13. When data are scarce
#
# The paper presents MSVP as an inductive bias for small images, the kind of data used in teaching
# and prototyping. A bias in the input is most likely to matter when the backbone has little data to
# learn from, yet the paper trains only on full training sets; chapters [3](03_mnist.ipynb)–[5](05_cifar10.ipynb)
# give the CNN's verdicts at that protocol, and the full-split rows of the table below repeat them. This chapter
# asks the next question: **does MSVP help when the CNN sees 1 % or 10 % of the training images?**
#
# **What you will learn** (from the runs of the `scarce` {term}`profile` finished so far)
# - how the CNN's accuracy grows with the number of training images, with and without MSVP;
# - whether MSVP's paired gain changes with the training-set size, under the report card's rules;
# - how a learning curve is built so that its points can be compared: nested subsets, the same
#   images for every seed and variant, and a training length that gives a small subset more epochs
#   (as many optimiser steps as a full run at 10 %, about an eighth of them at 1 %, where 100 epochs is the cap).

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
PROFILE = "cpu"          # smoke | cpu | paper: the full-split runs; the subsets come from `scarce`
RESULTS_DIR = "../results"
DATA_ROOT = "../data"
RETRAIN = False          # True: train the missing runs of the scarce profile first (many hours)

# %% tags=["hide-input"]
from _lib.scarce import ScarceChapter, scarce_profile
from msvp.grid import run_grid

if RETRAIN:  # train the missing learning-curve runs first
    run_grid(scarce_profile(PROFILE), results=RESULTS_DIR,
             data_root=DATA_ROOT)
ch = ScarceChapter(PROFILE, RESULTS_DIR, DATA_ROOT)
df = ch.scarce.df  # one row per finished run of the scarce profile

# %% [markdown]
# The answer so far, per data set, computed from the runs:

# %% tags=["remove-input"]
ch.answer()

# %% [markdown]
# ## The setting
#
# Each subset is drawn once from the official 90 % training split, class by class (every class keeps
# its share), and the 1 % subset lies inside the 10 % one; every seed and both variants train on the
# same images, and validation and test sets are those of the full protocol. Ten epochs on 1 % of the
# data would be only 40 (CIFAR-10) to 50 (Fashion-MNIST) optimiser steps of 128 images, so a subset
# run trains for min(100, 10 × full split ÷ subset size) epochs with the cosine schedule over them:
# 100 epochs at 1 % and 10 %. At 10 % that matches a full run's steps; at 1 % the cap leaves about an
# eighth of them. The [protocol](protocol.ipynb) page lists this rule among the deviations.

# %% tags=["remove-input"]
ch.status()

# %% [markdown]
# ## Accuracy against training-set size
#
# Top row: test accuracy of the baseline and of MSVP add/full for each training-set size (log
# scale), with 95 % intervals over seeds; the rightmost point is the full split of the `cpu`
# profile. Bottom row: the paired gain (MSVP − baseline, same seed) with its interval, against the
# grey ±0.5 pp band that the report card treats as too small to matter.

# %% tags=["remove-input"]
ch.plot()

# %% [markdown]
# ## The gain per size
#
# The verdicts follow the report card's rules ([chapter 10](10_report_card.ipynb)). The subset sizes
# form one {term}`Holm` family of their own (training on 1 % or 10 % is a question the paper did not ask);
# the full-split rows carry the verdict the report card gives them, so that one comparison has one
# verdict in the whole book. The subset runs train in {term}`bf16` {term}`autocast` and the
# full-split CNN runs in fp32: the [protocol](protocol.ipynb) page compares the CNN's gain in the two
# precisions, with the interval of their difference (mind its width: it says how large a change the
# check could miss).

# %% tags=["remove-input"]
ch.gain_table()

# %% [markdown]
# ## Key results

# %% tags=["remove-input"]
ch.key_results()

# %% [markdown]
# ## Exercises
#
# Each exercise's starting code runs here as it stands, on the runs of `PROFILE` in `RESULTS_DIR`.
#
# 1. **Check the subsets.** Build the 1 % and 10 % training subsets of Fashion-MNIST as the runs do,
#    and check that the small one lies inside the large one and keeps every class's share.
#
#    ```python
#    import torch
#
#    from msvp import RunConfig
#    from msvp.data import load_dataset
#    from msvp.training import split_indices
#
#    data = load_dataset("fashion_mnist", DATA_ROOT)
#    idx = {}
#    for n in (540, 5400):
#        cfg = RunConfig(dataset="fashion_mnist", train_subset=n)
#        idx[n] = split_indices(cfg, data.y_train, data.y_test)[0]
#    print(set(idx[540].tolist()) <= set(idx[5400].tolist()))
#    print(torch.bincount(data.y_train[idx[540]]))
#    ```
#
# 2. **The epoch rule.** Print the epochs and the optimiser steps (batch 128) of a run for each
#    training-set size. Why does the rule cap at 100 epochs?
#
#    ```python
#    from msvp.experiments import scarce_epochs
#
#    for n in (540, 1000, 5400, 54000):
#        e = scarce_epochs(54000, n)
#        print(f"{n:6,} images: {e:3} epochs, {e * -(-n // 128):5,} steps")
#    ```
#
# 3. **Seed by seed.** List each seed's accuracy per size and variant, and look for a seed where
#    MSVP loses at one size and wins at another.
#
#    ```python
#    from _lib.scarce import scarce_profile
#    from msvp.results import load
#
#    runs = load(scarce_profile(PROFILE), RESULTS_DIR)
#    print(runs.pivot_table(index=["dataset", "n_train", "seed"],
#                           columns="variant", values="test_acc").round(4))
#    ```
