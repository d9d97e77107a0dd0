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
# # 4. Fashion-MNIST: baseline vs MSVP
#
# Fashion-MNIST {cite}`xiao2017fashion` has MNIST's format (70,000 grey 28 × 28 images, 10 classes)
# but photographs of clothing instead of digits. It is harder: shirts, T-shirts, pullovers and coats
# look alike at this resolution, and the same CNN makes many more errors than on MNIST (both
# baselines' errors are compared below). The abstract expects the largest gains on harder data, so if
# the prompt helps, it should show more here than on MNIST.
#
# **What you will learn**
# - whether MSVP's effect on Fashion-MNIST differs from its effect on MNIST, with the same prompt
#   size (81 parameters) and the same protocol;
# - which classes the models confuse, and whether the prompt changes those confusions;
# - what the learned prompt looks like: one fixed pattern added to every garment alike, so it
#   cannot follow each garment's shape.

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
RETRAIN = False          # True: train this profile's missing Fashion-MNIST runs first
DATASET = "fashion_mnist"

# %%
from _lib.experiment import ExperimentChapter
from msvp.grid import run_grid

if RETRAIN:  # train the missing Fashion-MNIST runs first
    run_grid(PROFILE, only=f"dataset={DATASET}", results=RESULTS_DIR,
             data_root=DATA_ROOT)
ch = ExperimentChapter(PROFILE, RESULTS_DIR, DATASET, DATA_ROOT)
df = ch.df  # one row per finished run on this data set

# %% [markdown]
# The sections below follow [chapter 3](03_mnist.ipynb), where the paired statistics are introduced;
# here the interesting rows are the comparison with the other data sets (is the effect larger where
# the baseline errs more?) and the confusion matrices, where the upper-body garments dominate.

# %% [markdown]
# ## What the numbers say on Fashion-MNIST
#
# The sentences set the effect on Fashion-MNIST beside the one on MNIST: the abstract predicts a
# larger gain here.

# %% tags=["remove-input"]
ch.answer()

# %% [markdown]
# ## The setting
#
# The Fashion-MNIST runs behind this page; the ablations of chapters 6 and 7 pair with these
# same baselines.

# %% tags=["remove-input"]
ch.setting()

# %% [markdown]
# ## Accuracy per backbone and variant
#
# Compare the baseline rows with chapter 3's: harder data leaves the prompt more room to help.

# %% tags=["remove-input"]
ch.accuracy()

# %% [markdown]
# ## Paired differences
#
# The statistics of chapter 3, on Fashion-MNIST's 10,000 test images.

# %% tags=["remove-input"]
ch.differences()

# %% [markdown]
# ## Learning curves
#
# Clothing takes longer to learn than digits: watch how much the last epochs still move.

# %% tags=["remove-input"]
ch.curves()

# %% [markdown]
# ## Confusion matrices (seed 0)
#
# Which garments carry most errors, and does MSVP move any of them? The figure shows seed 0; the
# sentence under it answers over every {term}`paired seed <paired seeds>`.

# %% tags=["remove-input"]
ch.confusions()

# %% [markdown]
# ## What the prompt learned (seed 0)
#
# The three maps MSVP learned, and the image they add to every garment. One pattern serves all ten
# classes, so an outline in it could only be an average one; the numbers under the figure say how far
# each map moved from its random start, which the figure alone cannot.

# %% tags=["remove-input"]
ch.prompts()

# %% [markdown]
# ## Where the models look (seed 0)
#
# Grad-CAM maps (CNN, ResNet-18) or attention-rollout maps (ViT-Tiny) of the same test garments for the
# baseline and MSVP. Whether a map lights the outline or the texture inside it is left to the eye:
# nothing here measures it; the number under the figure says how alike the two models' maps are.

# %% tags=["remove-input"]
ch.saliency()

# %% [markdown]
# Fashion-MNIST is where the scale and fusion ablations of the `cpu` {term}`profile` run
# ([chapter 6](06_scale_ablation.ipynb), [chapter 7](07_fusion_ablation.ipynb)), because its
# baseline leaves room for an effect while a CNN still trains on it on a CPU.

# %% [markdown]
# ## Key results
#
# What the Fashion-MNIST runs show, computed from their result files:

# %% tags=["remove-input"]
ch.key_results()

# %% [markdown]
# ## Exercises
#
# Each exercise's starting code runs here as it stands, on the runs of `PROFILE` in `RESULTS_DIR`.
#
# 1. **The prompt of another seed.** The chapter shows the prompt of seed 0. Draw the prompt of
#    the last seed: do the two seeds learn the same pattern?
#
#    ```python
#    from _lib import chapter, figures
#    from _lib.view import View
#
#    recs = View(PROFILE, RESULTS_DIR).done(
#        dataset=DATASET, backbone="cnn", variant="msvp-add-full")
#    rec = recs[-1]
#    seed = rec["config"]["seed"]
#    title = f"Learned prompt, seed {seed}"
#    fig = figures.plot_learned_prompts(rec, title)
#    chapter.figure(fig)
#    ```
#
# 2. **Which classes gain?** Compute the accuracy of each class for both arms from the confusion
#    matrices of seed 0. Which garments does MSVP change most, and is that more than one seed's luck?
#
#    ```python
#    import numpy as np
#
#    from _lib.view import View
#    from msvp.datasets import DATASETS
#
#    recs = View(PROFILE, RESULTS_DIR).done(dataset=DATASET,
#                                          backbone="cnn", seed=0)
#    print(DATASETS[DATASET].classes)
#    for r in recs:
#        if r["variant"] in ("baseline", "msvp-add-full"):
#            m = np.asarray(r["confusion"], float)
#            print(r["variant"], (100 * m.diagonal() / m.sum(1)).round(1))
#    ```
