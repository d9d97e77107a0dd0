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
# # 5. CIFAR-10: baseline vs MSVP
#
# CIFAR-10 {cite}`krizhevsky2009cifar` is the hardest data set here: 32 × 32 colour photographs. The runs on this machine use the offline copy of CIFAR-10 (real images, 111 of 60,000 missing, see the data line below); every number on this page is labelled with the copy and image counts that produced it.
#
# **What you will learn**
# - how much the multi-scale prompt changes test accuracy on CIFAR-10, measured as a *paired*
#   difference over seeds (same backbone initialisation, same batches, same augmentation);
# - whether the best-validation checkpoint tells a different story than the last epoch (the paper's metric);
# - what the learned prompts look like, and whether the prompt moves the model's attention.
#
# Every number below is read from the result files in `results/<profile>/cifar10/`, written by
# `msvp.engine.run`; the profile, the data variant and the hardware are printed with them.

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
RETRAIN = False          # True: train the runs of this chapter that have no result file yet
DATASET = "cifar10"

# %%
from IPython.display import display

from msvp import book, report, viz

book.setup_plots()
df = book.ensure_results(PROFILE, RESULTS_DIR, only=f"dataset={DATASET}", retrain=RETRAIN, data_root=DATA_ROOT)
df = df[df.dataset == DATASET]

# %% [markdown]
# ## The setting
#
# The profile decides how far the runs follow the paper's protocol (10 epochs on the full training
# split). The data line says exactly which copy of the data produced the numbers.

# %%
# NBVAL_CHECK_OUTPUT
book.print_setting(PROFILE, df, DATASET)

# %% [markdown]
# (cifar10-accuracy)=
# ## Accuracy per backbone
#
# Mean ± standard deviation over seeds of the top-1 test accuracy, for the model after the last
# epoch (the paper's metric) and for the checkpoint with the best clean validation accuracy.

# %%
# NBVAL_CHECK_OUTPUT
display(report.accuracy_table(df, DATASET))

# %% [markdown]
# (cifar10-paired)=
# ## Paired differences
#
# Seed *k* of the baseline and seed *k* of MSVP share their backbone weights, batch order and
# augmentation, so the per-seed difference isolates the prompt. The interval is a 95 % Student-t
# interval over the paired differences; *improves* or *hurts* only when it excludes zero.

# %%
# NBVAL_CHECK_OUTPUT
paired = report.paired_table(df, datasets=[DATASET])
display(report.format_paired(paired))

# %% tags=["hide-input"]
if not paired.empty:
    viz.plot_paired(paired, f"{report.dataset_label(df, DATASET)}: MSVP (add, full) − baseline, per backbone");

# %% [markdown]
# Each bar spans the 95 % interval of the paired difference in percentage points; the dot is the mean.
# A bar that crosses the black line at 0 is *inconclusive* at this number of seeds.
#
# ## Learning curves

# %% tags=["hide-input"]
book.show_learning_curves(PROFILE, RESULTS_DIR, df, DATASET)

# %% [markdown]
# Lines are the mean over seeds, shaded bands the range. Validation images are never augmented
# (the official code validates on augmented images); training loss is measured on augmented batches.
#
# ## Confusion matrices (seed 0)

# %% tags=["hide-input"]
book.show_confusions(PROFILE, RESULTS_DIR, df, DATASET)

# %% [markdown]
# Rows are true classes, normalised to 100 %; red numbers mark confusions of at least 1 %.
#
# ## What did the prompt learn?

# %% tags=["hide-input"]
book.show_learned_prompts(PROFILE, RESULTS_DIR, df, DATASET)

# %% [markdown]
# The learned maps are shown in normalised input units (the input itself spans about −1 to 1 for the
# MNIST family and about −2 to 2 for CIFAR-10). Compare their scale with the image: a prompt this
# small is a gentle, fixed shift of the input, the same for every image.
#
# ## Where does the model look?

# %% tags=["hide-input"]
book.show_saliency(PROFILE, RESULTS_DIR, df, DATASET, DATA_ROOT)

# %% [markdown]
# The first row shows the first test image of each class; the other rows overlay each model's map
# (Grad-CAM on the last convolutional stage for the CNN and ResNet-18 {cite}`selvaraju2017gradcam`;
# attention rollout for the ViT {cite}`abnar2020rollout`). ✓/✗ marks whether the model got that image
# right. Similar maps for the two rows mean the prompt did not move the model's evidence.
#
# ## Take-away

# %%
# NBVAL_CHECK_OUTPUT
verdict, detail = report.claim_accuracy(paired)
print(f"MSVP (add, full) vs baseline on {report.dataset_label(df, DATASET)}: {verdict} ({detail}).")

# %% [markdown]
# The verdict above is computed, not written by hand; the [report card](10_report_card.ipynb) collects it
# with the other data sets.
