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
# # The protocol: data, training, backbones
#
# Before the experiments, what exactly is trained, and how. Everything on this page is read from the
# package when the page runs (`RunConfig`, the {term}`profiles <profile>`, the backbones), so it cannot drift from the
# code that produced the results.
#
# **What you will learn**
# - the training recipe: optimiser, schedule, batch, augmentation, metric;
# - the three backbones: their layers, their parameters, and what each makes of a 28-pixel and a
#   32-pixel image;
# - every setting of a run, per profile, next to the official code's value, and why ours differs
#   where it does;
# - every deviation from the official code, and the official code's flaws that this package fixes.

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
PROFILE = "cpu"          # smoke | cpu | paper: whose recorded precision the deviations report
RESULTS_DIR = "../results"

# %% [markdown]
# ## The training recipe
#
# The official protocol, which the `paper` and `cpu` profiles follow (the defaults of `RunConfig`):

# %% tags=["nbval-check-output", "hide-input"]
from _lib.protocol import ProtocolPage

ch = ProtocolPage(PROFILE, RESULTS_DIR)
ch.recipe()

# %% [markdown]
# ## The three backbones
#
# Trainable parameters are counted on the models as built (10 classes). The last two columns show what
# each network does with the image size: the CNN and ResNet-18 shrink their feature maps by pooling or
# stride and end in a global average pool, so both input sizes end in the same feature vector; the ViT
# cuts the image into patches, 7 × 7 pixels at 28 px and 4 × 4 at 32 px, and works on the tokens.

# %% tags=["nbval-check-output", "hide-input"]
ch.backbones()

# %% [markdown]
# ## Every setting, per profile
#
# Each field of `RunConfig` is stored with every run. `smoke` is the seconds-long test profile and is
# never shown as a result; `cpu` is the official protocol for what two CPU cores can train (the CNN,
# then ResNet-18 and ViT-Tiny); `paper` is the official
# protocol for every backbone. "per run" marks the fields that vary between the runs of a profile (see
# the parts in [chapter 11](11_reproduce.ipynb)). Two settings concern the arithmetic rather than the
# method: `precision` (fp32, or {term}`bf16` under {term}`autocast`) and `memory_format`
# (PyTorch's default layout, or {term}`channels_last`).

# %% tags=["nbval-check-output", "hide-input"]
ch.settings()

# %% [markdown]
# ## Deviations from the official code
#
# The precision row is computed from the runs of the profile and from the bf16-vs-fp32 equivalence
# check of the `bf16` profile's runs in `results/` (the next section), where they exist:

# %% tags=["hide-input"]
ch.deviations()

# %% [markdown]
# ## Precision: may the CPU train in bf16?
#
# The CNN column was trained in fp32. ResNet-18 and ViT-Tiny are much slower per step in fp32 on this
# CPU, as `bench/backbones.py` measured:

# %% tags=["hide-input"]
ch.step_times()

# %% [markdown]
# So the `cpu` profile trains them in bf16 autocast with channels_last where bf16 passes this check
# at the full 10-epoch protocol (its outcome is computed below from the runs). The `bf16` profile
# re-trains the CNN exactly as the `cpu` profile did (full split, 10 epochs, the same seeds, 1 thread)
# with only the arithmetic changed, and compares with the committed fp32 runs:
#
# 1. **Baseline accuracy.** Two samples (a seed does not pair runs across precisions: after a few
#    hundred steps two runs part whatever their arithmetic), compared by {term}`TOST`: bf16 counts as
#    equivalent when the 90 % {term}`Welch interval` of mean(bf16) − mean(fp32) lies inside ±0.5 pp. Planned:
#    5 bf16 baselines per data set.
# 2. **The MSVP gain.** The per-seed gains (MSVP add/full − baseline, same seed and precision) in bf16
#    against those in fp32; a 95 % Welch interval of their difference that contains 0 means no change
#    was found. Planned: 3 bf16 pairs on Fashion-MNIST and CIFAR-10. With so few pairs this is a weak
#    test: the outcome below says how large a shift its intervals still allow.
#
# **Rule.** bf16 trains the new backbones if (1) says "equivalent" on all three data sets and (2)
# finds no difference on both; otherwise they are re-trained in fp32. A data set that fails counts
# only once its planned runs are in (two early runs give a wide interval). Earlier short checks
# (1–2 epochs, `bench/bf16_equivalence.py`) could not decide: at that budget any two runs part.

# %% tags=["hide-input"]
ch.precision()

# %% [markdown]
# ## Threads: one or two per run?
#
# Results differ between thread counts (the sums inside a step are split differently), so every run
# of a cell uses the same count, recorded with the hardware. The grid's workers share this machine's
# two cores: a pair of runs can train side by side on one thread each, or one after the other on two
# threads each. **Rule.** One count per backbone, decided on its slowest input, CIFAR-10, where most
# of its compute goes: the count that finishes a pair sooner there, provided a single run still ends
# within one working stretch of about 3 hours (a run's checkpoint need not survive to the next
# stretch, and a run cut off there starts again). On the smaller inputs the other count can be a
# little faster per pair; one count per backbone keeps the plan and the hardware label simple. `bench/threads.py` times the
# three settings on the real training step, with a second run busy on the other core for "beside".
# A cell keeps the thread count its first runs used: ViT-Tiny · CIFAR-10 had its baseline and add/full
# pairs on 1 thread before this was measured, so its concat/full runs pair with them on 1 thread too.

# %% tags=["hide-input"]
ch.threads()

# %% [markdown]
# ## The official code's flaws, and what this package does instead

# %% tags=["nbval-check-output", "hide-input"]
ch.flaws()

# %% [markdown]
# ## Key results
#
# The protocol in three lines, read from the package when the page runs:

# %% tags=["remove-input"]
ch.key_results()

# %% [markdown]
# ## Exercises
#
# Each exercise's starting code runs in this notebook as it stands.
#
# 1. **Every setting of one run.** List the runs of a profile and print the full configuration of
#    the first; find each of its fields in the table of settings above.
#
#    ```python
#    from msvp.experiments import get_profile
#
#    runs = get_profile(PROFILE).configs()
#    print(len(runs), "runs; the first:")
#    print(runs[0])
#    ```
#
# 2. **What the ViT makes of a 28-pixel image.** Count the tokens of the patch embedding for MNIST
#    and for CIFAR-10. Why does the ViT use 7 × 7 patches at 28 px and 4 × 4 at 32 px?
#
#    ```python
#    import torch
#
#    from msvp import build_model
#
#    inputs = (("mnist", (1, 28, 28)), ("cifar10", (3, 32, 32)))
#    for dataset, shape in inputs:
#        vit = build_model("vit", dataset, seed=0).backbone
#        print(dataset, tuple(vit.embed(torch.zeros(1, *shape)).shape))
#    ```
