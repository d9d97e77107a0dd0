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
# # 6. Which scales matter?
#
# The paper ablates the prompt scales: global only (1 × 1), global + mid (1 × 1 and 4 × 4), and full
# (all three). The official ablation script pools runs across data sets and models; here every
# (data set, backbone) cell is reported on its own, against the baseline of the same seeds.
#
# **What you will learn**
# - how test accuracy changes as scales are added, within one data set and backbone;
# - how many parameters each {term}`scale set` costs (counted on the trained models);
# - whether any step is distinguishable from seed noise, with paired intervals and verdicts.
#
# One fact to keep in mind: a global-only add prompt is a constant per channel, which the first layer
# absorbs everywhere except at the zero-padded border: the CNN's first convolution through its bias,
# ResNet-18 (whose stem convolution has no bias) through the BatchNorm after it. Only the mid and
# local maps add a per-pixel pattern. On the ViT the position embedding absorbs the whole additive
# prompt exactly, as the [report card](10_report_card.ipynb) shows numerically.

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
RETRAIN = False          # True: train the missing runs of the scale ablation first

# %%
from _lib.ablation import AblationChapter
from _lib.names import SCALE_VARIANTS
from msvp.grid import run_grid

variants = SCALE_VARIANTS
if RETRAIN:  # train the scale ablation's missing runs first
    run_grid(PROFILE, only={"variant": set(variants)},
             results=RESULTS_DIR, data_root=DATA_ROOT)
ch = AblationChapter(PROFILE, RESULTS_DIR, variants, DATA_ROOT)

# %% tags=["remove-input"]
ch.in_short()

# %% [markdown]
# ## The setting
#
# Which runs the scale ablation has so far, and the rules its verdicts follow.

# %% tags=["remove-input"]
ch.setting()
ch.rules()

# %% [markdown]
# ## Every cell, against the baseline of the same seeds
#
# Each scale set against the baseline, cell by cell: the maps are added from the coarsest
# (global) to the finest (local).

# %% tags=["remove-input"]
ch.cells_section("Scale ablation (add fusion)")

# %% [markdown]
# In each figure the left panel gives the accuracy of every variant (mean ± standard deviation over
# seeds) and the right panel its paired difference to the baseline with the interval the verdict uses;
# the y labels carry the prompt parameters counted on the trained model. A gain that grows with the
# scales would show as differences that move right from global to full.
#
# **Why a constant could matter on the CNN at all.** The global-only prompt adds one constant per
# channel. The CNN's first layer is a 3 × 3 convolution with zero padding, followed by BatchNorm:
# wherever the 3 × 3 window lies inside the image, the constant shifts the output by a fixed amount,
# which BatchNorm's mean subtraction removes (almost exactly: the border's outputs share the mean).
# Only along the one-pixel border does the window overlap the padding, whose zeros do not move with
# the image; there the constant changes the contrast between the image and its frame. So a
# global-only gain beyond noise would live at the image border, the region the pad prompt of
# [chapter 12](12_controls.ipynb) learns directly, or be chance: the book makes many comparisons, each
# corrected only within its own family (chapter 12 counts them). These runs cannot tell the two apart.

# %% [markdown]
# ## Key results
#
# What the scale ablation shows, cell by cell, computed from its runs:

# %% tags=["remove-input"]
ch.key_results()

# %% [markdown]
# ## Exercises
#
# Each exercise's starting code runs here as it stands, on the runs of `PROFILE` in `RESULTS_DIR`.
#
# 1. **Train a scale set yourself.** Train MSVP with the global and mid maps on 256 MNIST images for
#    one epoch (the `smoke` {term}`profile`'s settings, seconds on a CPU). Then change `prompt` to `"global"`
#    or `"full"`, or `seed`, and compare: how much do the accuracies move from seed to seed alone?
#
#    ```python
#    from msvp import RunConfig
#    from msvp.engine import run
#
#    cfg = RunConfig(dataset="mnist", backbone="cnn", prompt="global+mid",
#                    epochs=1, train_subset=256, val_subset=128,
#                    test_subset=256, seed=0)
#    rec = run(cfg, data_root=DATA_ROOT, explain=False)
#    print(rec["test_acc"], rec["params"])
#    ```
#
# 2. **What each scale costs.** Print the prompt parameters of each scale set on grey and colour
#    images from the variant registry, and derive them from the map sizes 1 × 1, 4 × 4 and 8 × 8.
#
#    ```python
#    from _lib.names import SCALE_VARIANTS
#    from msvp.experiments import VARIANTS
#
#    for v in SCALE_VARIANTS:
#        grey = VARIANTS[v].params(1, 28, 28)
#        colour = VARIANTS[v].params(3, 32, 32)
#        print(v, grey, colour)
#    ```
#
# 3. **The ablation table of one cell.** Print the table of every cell that ran the ablation, and
#    find the pair of variants whose difference is largest.
#
#    ```python
#    from _lib.names import SCALE_VARIANTS
#    from _lib.tables import ablation_table
#    from msvp.results import load
#    from msvp.verdicts import ablation_cells
#
#    df = load(PROFILE, RESULTS_DIR)
#    for d, b in ablation_cells(df, SCALE_VARIANTS):
#        print(ablation_table(df, d, b, SCALE_VARIANTS).to_string())
#    ```
