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
# # 3. MNIST: baseline vs MSVP
#
# MNIST {cite}`lecun1998mnist` holds 70,000 grey 28 × 28 images of handwritten digits. It is the
# easiest of the three data sets: a small CNN gets almost every test image right (the baseline's
# error is on this page), so there is little room for any method to help, and a real gain must be
# told apart from seed-to-seed noise of a fraction of a {term}`percentage point (pp) <percentage point>`.
#
# **What you will learn**
# - how large the prompt's effect is on MNIST, measured as a *paired* difference over seeds
#   (same backbone initialisation, same batches, same augmentation), and how this book turns
#   such differences into verdicts;
# - why the best-validation checkpoint and the last epoch (the paper's metric) give the same number
#   here, or where they do not;
# - what the learned prompts look like, and whether the prompt moves the models' attention.

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
RETRAIN = False          # True: train this profile's missing MNIST runs first
DATASET = "mnist"

# %%
from _lib.experiment import ExperimentChapter
from msvp.grid import run_grid

if RETRAIN:  # train the missing MNIST runs first
    run_grid(PROFILE, only=f"dataset={DATASET}", results=RESULTS_DIR,
             data_root=DATA_ROOT)
ch = ExperimentChapter(PROFILE, RESULTS_DIR, DATASET, DATA_ROOT)
df = ch.df  # one row per finished run on this data set

# %% [markdown]
# `df` holds every finished MNIST run of the {term}`profile`, one row per run (accuracies, seeds, timings,
# provenance); every section below is computed from it and from the run records by one method of
# `ch` (open the notebook to see the calls). On
# MNIST, look first at the size of the differences against the ±0.5 pp {term}`equivalence margin`: no
# prompt can gain more than the baseline's error, which the sections below print.

# %% [markdown]
# ## What the numbers say on MNIST
#
# One computed sentence per backbone and reading of the fusion: the paired effect, its interval
# and the verdict.

# %% tags=["remove-input"]
ch.answer()

# %% [markdown]
# ## The setting
#
# The MNIST runs behind this page, the machine that trained them, and what is not run yet.

# %% tags=["remove-input"]
ch.setting()

# %% [markdown]
# ## Accuracy per backbone and variant
#
# Mean test accuracy of each arm over its seeds: the paper's last-epoch metric beside the
# best-validation checkpoint.

# %% tags=["remove-input"]
ch.accuracy()

# %% [markdown]
# ## Paired differences
#
# The paired statistics are introduced here, and chapters 4 and 5 refer back to this section.

# %% tags=["remove-input"]
ch.differences()

# %% [markdown]
# ## Learning curves
#
# Validation accuracy after every epoch, the mean over seeds with their range as a band: does either
# arm still climb at the end?

# %% tags=["remove-input"]
ch.curves()

# %% [markdown]
# ## Confusion matrices (seed 0)
#
# Which digits each model mistakes for which, over the whole test set.

# %% tags=["remove-input"]
ch.confusions()

# %% [markdown]
# ## What the prompt learned (seed 0)
#
# The three maps MSVP learned, and the image they add to every digit.

# %% tags=["remove-input"]
ch.prompts()

# %% [markdown]
# ## Where the models look (seed 0)
#
# Grad-CAM maps (CNN, ResNet-18) or attention-rollout maps (ViT-Tiny) of the same test digits for the
# baseline and MSVP.

# %% tags=["remove-input"]
ch.saliency()

# %% [markdown]
# The verdicts above are computed, not written by hand; the [report card](10_report_card.ipynb)
# collects them with those of the other data sets, and [chapter 4](04_fashion_mnist.ipynb) asks the
# same questions on a harder grey-scale data set.

# %% [markdown]
# ## Key results
#
# What the MNIST runs show, computed from their result files:

# %% tags=["remove-input"]
ch.key_results()

# %% [markdown]
# ## Exercises
#
# Each exercise's starting code runs here as it stands, on the runs of `PROFILE` in `RESULTS_DIR`.
#
# 1. **A paired difference by hand.** Read the baseline and MSVP result files of each seed,
#    subtract, and compute the t-interval of the per-seed differences. Compare it with the table of
#    paired differences above.
#
#    ```python
#    import json
#    from pathlib import Path
#
#    from msvp import stats
#
#    cell = Path(RESULTS_DIR) / PROFILE / DATASET / "cnn"
#    acc = {}
#    for arm in ("baseline", "msvp-add-full"):
#        for f in sorted((cell / arm).glob("seed*.json")):
#            rec = json.loads(f.read_text())
#            acc.setdefault(arm, {})[f.stem] = rec["test_acc"]
#    seeds = sorted(set(acc["baseline"]) & set(acc["msvp-add-full"]))
#    msvp, base = acc["msvp-add-full"], acc["baseline"]
#    d = [100 * (msvp[s] - base[s]) for s in seeds]
#    print(seeds, d)
#    print(stats.t_interval(d))   # mean, low, high in pp (2+ seeds)
#    ```
#
# 2. **One seed's learning curves.** Plot the curves of seed 0 alone. Does one seed tell the same
#    story as the mean over seeds?
#
#    ```python
#    from _lib import chapter, figures
#    from _lib.view import View
#
#    recs = View(PROFILE, RESULTS_DIR).done(dataset=DATASET,
#                                          backbone="cnn", seed=0)
#    arms = ("baseline", "msvp-add-full")
#    recs = [r for r in recs if r["variant"] in arms]
#    fig = figures.plot_learning_curves(recs, "MNIST · CNN, seed 0")
#    chapter.figure(fig)
#    ```
