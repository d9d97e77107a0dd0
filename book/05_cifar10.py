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
# # 5. CIFAR-10: baseline vs MSVP
#
# CIFAR-10 {cite}`krizhevsky2009cifar` is the hardest of the three: 32 × 32 colour photographs of
# animals and vehicles. With three channels the prompt has 243 parameters (81 per channel), and the
# networks see a 32-pixel image (the protocol page shows what each backbone makes of it). Where there
# is no internet the runs use an offline copy of CIFAR-10 that lacks a few of its 60,000 images; the
# data line below names the copy and the exact image counts behind every number.
#
# **What you will learn**
# - MSVP's effect on colour photographs, where the baseline errs most and where the abstract expects
#   the largest gains;
# - whether the CNN's learning curves on CIFAR-10 have flattened by the 10th epoch, and what a
#   verdict given at the paper's budget means when they have not;
# - what a three-channel prompt learns (the figure shows channel 0, red).

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
RETRAIN = False          # True: train this profile's missing CIFAR-10 runs first
DATASET = "cifar10"

# %%
from _lib.experiment import ExperimentChapter
from msvp.grid import run_grid

if RETRAIN:  # train the missing CIFAR-10 runs first
    run_grid(PROFILE, only=f"dataset={DATASET}", results=RESULTS_DIR,
             data_root=DATA_ROOT)
ch = ExperimentChapter(PROFILE, RESULTS_DIR, DATASET, DATA_ROOT)
df = ch.df  # one row per finished run on this data set

# %% [markdown]
# As in [chapter 3](03_mnist.ipynb), each section is computed from the runs. Ten epochs are a short
# budget for colour photographs, so on CIFAR-10 each verdict comes with its convergence sentence: a
# baseline that is still improving gets its verdict at the paper's protocol with a
# {term}`convergence caveat <convergence caveat>` beside it (the rule is in
# [chapter 10](10_report_card.ipynb)); whether a longer budget changes it is the question of the
# section *Would a longer budget change it?* below.

# %% [markdown]
# ## What the numbers say on CIFAR-10

# %% tags=["remove-input"]
ch.answer()

# %% tags=["remove-input"]
ch.strongest_case()

# %% [markdown]
# ## The setting
#
# The *Data* line below names the copy of CIFAR-10 the runs trained on and counts its images; every
# number on this page comes from that copy.

# %% tags=["remove-input"]
ch.setting()

# %% [markdown]
# ## Accuracy per backbone and variant
#
# Mean test accuracy of each arm over its seeds. How these baselines compare with the grey-scale
# ones is computed above (*Compared with the other data sets*) for each backbone run on both.

# %% tags=["remove-input"]
ch.accuracy()

# %% [markdown]
# ## Paired differences
#
# The statistics of chapter 3 on this page's test images; a baseline still improving at the end of its
# schedule gets its verdict with a caveat.

# %% tags=["remove-input"]
ch.differences()

# %% [markdown]
# ## Learning curves
#
# The {term}`convergence caveat` reads these curves: a baseline still gaining more than 0.5 pp over
# its last two epochs gets its verdict with the caveat, and the rise printed beside it.

# %% tags=["remove-input"]
ch.curves()

# %% [markdown]
# ## Would a longer budget change it?
#
# The {term}`convergence caveat` leaves one question open: would the verdicts above stand if the CNN
# trained longer? The long-budget check (the `long` {term}`profile`) re-trains the CNN on CIFAR-10
# for three times the paper's epochs, with the cosine schedule stretched over them: baseline, MSVP
# add and concat, 3 {term}`paired seeds`. Once its runs are in, each comparison is shown at both budgets
# (until then the line below counts them); the verdict at
# the paper's budget stays the book's. Two differences besides the budget: the long runs are in {term}`bf16`
# and the paper's-budget runs of the CNN in fp32 (the precision check on the protocol page compares
# the two on this CNN), and each budget's verdict comes from its own {term}`Holm` family (at the
# paper's budget every cell of the `cpu` profile where the comparison ran, at the long budget its
# one cell), so a verdict that changes only because a p-value crossed 0.05 is weak evidence of a
# change.

# %% tags=["remove-input"]
ch.long_budget()

# %% [markdown]
# ## Confusion matrices (seed 0)
#
# Which classes each model mistakes for which, over the whole test set: the line under the matrices
# names the largest confusions.

# %% tags=["remove-input"]
ch.confusions()

# %% [markdown]
# ## What the prompt learned (seed 0)
#
# On colour input each map has one plane per channel: 243 learned numbers in all.

# %% tags=["remove-input"]
ch.prompts()

# %% [markdown]
# ## Where the models look (seed 0)
#
# Grad-CAM maps (CNN, ResNet-18) or attention-rollout maps (ViT-Tiny) of the same test photographs for
# the baseline and MSVP. Whether a map lights the object or the background is left to the eye:
# measuring it would need object masks, which CIFAR-10 lacks; the number under the figure says how
# alike the two models' maps are.

# %% tags=["remove-input"]
ch.saliency()

# %% [markdown]
# [Chapter 8](08_backbones.ipynb) puts the CIFAR-10 cells beside the grey-scale ones for every
# backbone; its ResNet-18 and ViT-Tiny cells fill in as their runs land (the setting above counts
# them and gives the command that trains them).

# %% [markdown]
# ## Key results
#
# What the CIFAR-10 runs show, computed from their result files:

# %% tags=["remove-input"]
ch.key_results()

# %% [markdown]
# ## Exercises
#
# Each exercise's starting code runs here as it stands, on the runs of `PROFILE` in `RESULTS_DIR`.
#
# 1. **McNemar by hand.** For seed 0, count the test images that only MSVP gets right and those
#    that only the baseline gets right, and compute McNemar's p-value. Why does this test see only
#    test-image noise?
#
#    ```python
#    from msvp import stats
#    from msvp.results import load
#
#    df = load(PROFILE, RESULTS_DIR)
#    run = df[(df.dataset == DATASET) & (df.backbone == "cnn")
#             & (df.seed == 0)].set_index("variant").correct
#    b, t = run["baseline"], run["msvp-add-full"]
#    print("MSVP only:", (t & ~b).sum(), "baseline only:", (b & ~t).sum())
#    print("McNemar p:", stats.mcnemar_p(t, b))
#    ```
#
# 2. **Still improving?** Print each baseline's validation accuracy over its last three epochs.
#    How much did it rise, and what does the learning-rate schedule do there?
#
#    ```python
#    from msvp.results import load
#
#    df = load(PROFILE, RESULTS_DIR)
#    base = df[(df.dataset == DATASET) & (df.backbone == "cnn")
#              & (df.variant == "baseline")]
#    curves = zip(base.seed, base.val_acc_curve, base.lr_curve)
#    for seed, val, lr in curves:
#        print(seed, [round(100 * v, 2) for v in val[-3:]], lr[-3:])
#    ```
#
# 3. **Last epoch or best checkpoint?** List each run's best epoch and both test accuracies. When
#    do the two columns of the accuracy table differ?
#
#    ```python
#    from msvp.results import load
#
#    df = load(PROFILE, RESULTS_DIR)
#    runs = df[(df.dataset == DATASET) & (df.backbone == "cnn")]
#    cols = ["variant", "seed", "best_epoch", "test_acc",
#            "test_acc_best_val"]
#    print(runs[cols].to_string(index=False))
#    ```
