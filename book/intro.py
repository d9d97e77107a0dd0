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
# # Multi-Scale Visual Prompting, re-run and checked
#
# *Multi-Scale Visual Prompting* {cite}`khazem2025msvp` adds three tiny learned images to the input
# of a small image classifier and claims better accuracy at almost no cost. This book re-trains it
# and checks each claim.
#
# ## The answer so far

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
PROFILE = "cpu"          # smoke | cpu | paper: the runs this page summarises
RESULTS_DIR = "../results"
DATA_ROOT = "../data"

# %% tags=["remove-cell"]
from _lib.front import FrontPage

page = FrontPage(PROFILE, RESULTS_DIR, DATA_ROOT)
df = page.df  # one row per finished run of the profile

# %% tags=["remove-input"]
page.answer()

# %% [markdown]
# ## Every cell, and what is still training
#
# One row per {term}`cell` (data set and backbone) with finished runs, for both readings of the fusion; the table
# grows as runs land. Below it, how far the cell where the paper's claim should show most clearly,
# ViT-Tiny on CIFAR-10, has come. Computed from the result files of this repository when the page was
# last executed (`make notebooks`).

# %% tags=["remove-input"]
page.cells()

# %% [markdown]
# ## On a GPU
#
# The `paper` {term}`profile` runs the paper's protocol on one GPU, several runs sharing it at once
# (`tools/gpu_paper.sh`). Its runs stand apart from the CPU runs above: the table gives their cells
# and verdicts as they land.

# %% tags=["remove-input"]
from _lib.gpu_runs import GpuRuns

if PROFILE != "paper":   # a page of the paper profile already shows these runs above
    GpuRuns(RESULTS_DIR, DATA_ROOT).cells(figure=False, words=False)   # the answer above reads them

# %% [markdown]
# ## The statistics behind the answer
#
# For readers who want the evidence: how the headline verdict was reached, on which runs, and with
# which tests. Each rule is explained in [chapter 10](10_report_card.ipynb) and each term in the
# {doc}`glossary`: the verdicts use {term}`paired seeds`, the {term}`seed × image interval`, an
# {term}`equivalence margin` tested by {term}`TOST`, and {term}`Holm`'s correction over every cell
# of the {term}`profile` where a comparison ran. The headline is the {term}`fixed-effect mean`: the
# cells' gains averaged with equal weights, a claim about the cells that were run. The
# {term}`random-effects mean` beside it asks what a data set or backbone not run here would gain, and the *between-cell SD* is
# its estimate of how far the cells' true gains differ.

# %% tags=["remove-input"]
page.evidence()

# %% [markdown]
# **What we cannot compare with.** The paper's own result tables are not available to us. This book
# therefore does not set its numbers beside the paper's, and it quotes no result from anywhere else
# (only the abstract's claims, which it tests): every accuracy, interval and timing on these pages is
# computed from the runs of this repository and labelled with the {term}`profile` and the hardware
# that produced it.
#
# **Two readings of the fusion.** The abstract says the prompts are fused with the input "via a
# lightweight 1 × 1 convolution", but the official code's default, used for its main results, is a
# plain addition with no convolution. Both readings are trained and shown side by side: **add**
# (the code) and **concat** (a 1 × 1 convolution over the image and the prompts, the text).
#
# ## What this book is
#
# A re-implementation and a check. The `msvp` Python package (PyTorch) next to this book holds the
# prompt module, the three backbones, the training loop and the statistics; every chapter imports it
# and no chapter defines a model of its own. Visual prompting adapts a vision model through a few
# learnable values added to its input rather than to its weights {cite}`bahng2022visual,jia2022vpt`;
# MSVP trains them together with a small backbone from scratch on MNIST {cite}`lecun1998mnist`,
# Fashion-MNIST {cite}`xiao2017fashion` and CIFAR-10 {cite}`krizhevsky2009cifar`, with a CNN, a
# CIFAR-style ResNet-18 {cite}`he2016resnet` and a ViT-Tiny {cite}`dosovitskiy2021vit,touvron2021deit`.
#
# Every claim is tested with several paired seeds: seed *k* of the baseline and of MSVP share the
# backbone's initial weights, the batches and the augmentation, so their difference is the prompt's
# effect. A {term}`verdict` is one of *improves*, *hurts*, *equivalent* (a TOST test, Holm-corrected,
# puts the difference within ±0.5 percentage points, with at least three paired seeds) or
# *inconclusive*; a cell with fewer than two paired seeds gets none. Where the baseline was still improving when training stopped, a
# {term}`convergence caveat` is printed beside the verdict.
#
# ## How to read it
#
# Every chapter opens with what you will learn and closes with its key results, computed from the
# runs, and a few exercises whose starting code runs as it stands (on the `smoke` profile in
# seconds).
#
# - **Idea.** {doc}`01_concept` shows what a visual prompt is; {doc}`02_implementation` walks through
#   the module with exact checks.
# - **Experiments.** {doc}`protocol` describes the training recipe, the three backbones and every
#   setting next to the official one. {doc}`03_mnist`, {doc}`04_fashion_mnist` and
#   {doc}`05_cifar10` give one data set each: accuracy, paired differences, learning curves,
#   confusions, the learned prompts and saliency maps, each read out in sentences.
# - **Analysis.** Which prompt scales matter ({doc}`06_scale_ablation`), which fusion
#   ({doc}`07_fusion_ablation`), how the backbones compare ({doc}`08_backbones`), what MSVP costs
#   in parameters and compute ({doc}`09_accounting`).
# - **Verdict.** {doc}`10_report_card` gives each claim of the abstract its verdict and explains the
#   statistical rules; {doc}`11_reproduce` lists the profiles, timings and commands.
# - **Beyond the paper.** {doc}`12_controls` asks whether MSVP's multi-scale structure matters at
#   all, against simpler prompts of the same budget; {doc}`13_scarce` asks whether MSVP helps when
#   the CNN sees only 1 % or 10 % of the training images.
# - **Reference.** The {doc}`glossary` explains each statistical term in a few sentences.
#
# Profiles decide what is trained: `paper` is the official protocol for every data set and
# backbone (a GPU job); `cpu` is the same protocol for what two CPU cores can train (the CNN first,
# then ResNet-18 and ViT-Tiny); `smoke` is a seconds-long run for the tests and is never shown as a
# result. Three more check the choices made on the way: `bf16` (may the CPU train in {term}`bf16`?), `long`
# (would a longer budget change a verdict?) and `scarce` (the learning curve of chapter 13);
# [chapter 11](11_reproduce.ipynb) lists them all.
#
# ## How to run it
#
# From a clone of the repository (the Makefile builds its own virtual environment in `.venv/`):
#
# ```bash
# make reproduce  # train the missing runs, re-execute the chapters, build
# make test       # unit tests, smoke run of every chapter, nbval, build
# ```
#
# `make reproduce` picks the `paper` profile when a CUDA GPU is present and `cpu` otherwise, and prints
# an estimate of the time it needs first: the `cpu` profile is hours of training per core, and
# [chapter 11](11_reproduce.ipynb) gives the measured time per run and the time left. Both commands
# need the data sets: torchvision downloads them, or `MSVP_DATA_MIRROR` names an offline copy
# (`make test` asks for `MSVP_DATA_DOWNLOAD=1` before it downloads). The rocket icon at the top of
# each chapter opens it in Google Colab.
#
# ## Where the numbers come from
#
# Each training run writes one JSON file into `results/<profile>/`: its full configuration, the
# metrics and per-epoch history, the prediction for every test image, the wall time, the hardware,
# the torch version and a {term}`fingerprint` of the training code. A result counts only for the code that
# produced it. The offline copy of CIFAR-10 used where there is no internet lacks a few of its 60,000
# images, so every page with CIFAR-10 results names the copy and its image counts (in the page's
# *Data* line, the results tables and the README), and a CIFAR-10 number in this book means that copy.
#
# ## References
#
# ```{bibliography}
# ```
