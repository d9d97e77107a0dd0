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
# # 3. MNIST: baseline vs MSVP
#
# MNIST {cite}`lecun1998mnist` holds 70,000 grey 28 × 28 images of handwritten digits. It is the
# easiest of the three data sets: a small CNN gets almost every test image right (the baseline's
# error is on this page), so there is little room for any method to help, and a real gain must be
# told apart from seed-to-seed noise of a fraction of a percentage point.
#
# **What you will learn**
# - how large the prompt's effect is on MNIST, measured as a *paired* difference over seeds
#   (same backbone initialisation, same batches, same augmentation), and how this book turns
#   such differences into verdicts;
# - why the best-validation checkpoint and the last epoch (the paper's metric) give the same number
#   here, or where they do not;
# - what the learned prompts look like, and whether the prompt moves the models' attention.

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
RETRAIN = False          # True: train this profile's missing MNIST runs first
DATASET = "mnist"

# %%
from msvp.book import ExperimentChapter

ch = ExperimentChapter(PROFILE, RESULTS_DIR, DATASET, DATA_ROOT, RETRAIN)
df = ch.df  # one row per finished run on this data set

# %% [markdown]
# `df` holds every finished MNIST run of the profile, one row per run (accuracies, seeds, timings,
# provenance); every section below is computed from it and from the run records by one method of
# `ch` (open the notebook to see the calls). On
# MNIST, look first at the size of the differences against the ±0.5 pp equivalence margin: with a
# baseline this close to 100 %, *equivalent* is the most likely honest answer.

# %% [markdown]
# ## The setting
#
# The MNIST runs behind this page, the machine that trained them, and what is not run yet.

# %% tags=["remove-input"]
ch.setting()

# %% [markdown]
# ## What the numbers say on MNIST
#
# One computed sentence per backbone and reading of the fusion: the paired effect, its interval
# and the verdict.

# %% tags=["remove-input"]
ch.answer()

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
# Validation accuracy after every epoch, one line per seed: does either arm still climb at the end?

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
# Grad-CAM maps of the same test digits for the baseline and MSVP.

# %% tags=["remove-input"]
ch.saliency()

# %% [markdown]
# The verdicts above are computed, not written by hand; the [report card](10_report_card.ipynb)
# collects them with those of the other data sets, and [chapter 4](04_fashion_mnist.ipynb) asks the
# same questions on a harder grey-scale data set.
