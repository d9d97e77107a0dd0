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
# # 12. Is it the multi-scale structure?
#
# MSVP adds a learned image to the input, built from three maps of 1 × 1, 4 × 4 and 8 × 8 values that
# are upsampled and averaged. When it helps, is it because of that multi-scale structure, or would
# any small learned input bias do as well? The paper does not test this. This chapter goes beyond
# it with *controls*: prompts that keep MSVP's additive form and its tiny parameter budget but drop
# the structure (or the learning), trained with the same protocol, seeds and backbone
# initialisation as the baseline and MSVP.
#
# **What you will learn**
# - the four controls (three new prompts, and the global-only prompt of the scale ablation), what
#   they add to the image, and what they cost in parameters (formula checked against built models);
# - why a full-resolution prompt can express everything an additive MSVP prompt can;
# - each control against the baseline and against MSVP (add fusion, full scales), paired by seed,
#   with intervals and verdicts;
# - where every prompt variant of the book sits on a plot of accuracy gain against parameter cost;
# - the answer to the question for each data set, or why there is none yet.

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
RETRAIN = False          # True: train the runs this chapter needs that have no result file yet

# %%
from _lib.control_arms import grid_only
from _lib.controls import ControlsChapter
from msvp.grid import run_grid

only = grid_only(PROFILE)
if RETRAIN and only:  # train the runs this chapter needs first
    run_grid(PROFILE, only=only, results=RESULTS_DIR,
             data_root=DATA_ROOT)
ch = ControlsChapter(PROFILE, RESULTS_DIR, DATA_ROOT)
df = ch.df  # one row per finished run of the profile
ch.setting()

# %% tags=["remove-input"]
ch.in_short()

# %% [markdown]
# ## The controls
#
# Each control answers one way in which MSVP's gain could arise without its multi-scale structure:
#
# - **pad prompt** — a learned frame, one pixel wide, added at the image border and zero inside: the
#   padding prompt of earlier visual-prompting work {cite}`bahng2022visual`. It has a third to a half
#   more parameters than MSVP (the table below) but cannot touch the image's interior.
# - **full-resolution prompt** — one learned value per pixel and channel, added to the image: about 10
#   (grey) to 13 (colour) times MSVP's parameters, and no structure at all.
# - **global-only prompt** — MSVP's coarsest map alone: one constant per channel. It is the cheapest
#   input bias there is (it comes from the [scale ablation](06_scale_ablation.ipynb) runs).
# - **frozen random prompt** — MSVP add/full with its three maps kept at their random initial values.
#   It has the structure but never learns: if it matches MSVP, learning the maps is not what helps.
#
# Parameter counts come from the variant registry (`msvp.experiments.VARIANTS[...].params(C, H, W)`) and
# are checked against the prompt of a model built for each input shape:

# %% tags=["nbval-check-output"]
ch.params()

# %% [markdown]
# "Untrained values" are prompt numbers that exist but are never trained (the frozen prompt's
# maps). The shares are of the CNN's trainable parameters, the backbone every control runs on.
#
# ### A full-resolution prompt can express every additive prompt
#
# With add fusion, MSVP adds one fixed image to every input: the mean of its upsampled maps. So do
# the gated fusion (its gate sees only the prompts, not the image), the pad, global-only and frozen
# prompts. A full-resolution prompt *is* an arbitrary fixed image, so each of them can be rewritten
# as a full-resolution prompt with identical outputs; only concat fusion, which mixes the image with
# the maps through a 1 × 1 convolution, cannot. The check below gives every prompt large random
# values, folds it into a full-resolution prompt (`_lib.control_prompts.as_fullres`) and compares logits:

# %% tags=["nbval-check-output"]
ch.fullres()

# %% [markdown]
# So if MSVP beats the full-resolution prompt, it cannot be because it expresses something the
# full-resolution prompt cannot: it would be the *parameterisation* — few, smooth, low-resolution
# numbers under the same Adam step and weight decay — that trains to a better image.
#
# ## What was run
#
# The controls are a part of their own in each {term}`profile` that runs them (the
# [reproduce chapter](11_reproduce.ipynb) lists the profiles). Seeds with a current result, per arm:

# %%
ch.runs()

# %% [markdown]
# ## Test accuracy of every arm
#
# The comparisons below are differences; these are the accuracies behind them: the test accuracy of
# the last-epoch model, mean ± standard deviation over the seeds with a result, per arm and cell.
# The baseline and MSVP add/full have more seeds than the controls; each comparison below pairs
# only the seeds both arms have.

# %%
ch.accuracy()

# %% [markdown]
# ## Paired comparisons
#
# Every comparison this chapter makes is listed below: in each cell with a control, MSVP add/full −
# baseline, each control − baseline, and each control − MSVP add/full, paired by seed (same
# backbone initialisation, batch order and augmentation). The rules are the report card's
# (`msvp.stats`, stated once in [chapter 10](10_report_card.ipynb)):
#
# - **interval**: 95 %, over seeds *and* test images (`seed × image`) where every run stored which
#   test images it got right; with one {term}`seed pair <paired seeds>` there is no interval, and the verdict reads
#   *not enough pairs yet*;
# - **verdict**: *improves* / *hurts* when the {term}`Holm`-adjusted p is below 0.05; *equivalent* when the
#   difference is shown to lie within ±0.5 pp ({term}`TOST`, Holm-adjusted: TOST's 90 % interval lies inside
#   the margin, so the 95 % interval printed beside the verdict may reach a little past it); *inconclusive*
#   otherwise.
#   Holm's correction runs, as everywhere in the book, over the cells of one comparison: MSVP
#   add/full − baseline over every cell of the profile where it ran (so its verdict here is the
#   report card's), each control comparison over the cells where that control ran;
# - **{term}`convergence caveat`**: where a cell's baseline still gained more than 0.5 pp of validation
#   accuracy over its last two epochs, every verdict in that cell carries a caveat with that rise
#   and the schedule's last learning rate; the verdict itself stands, at the paper's protocol.
#
# The intervals are not adjusted for multiplicity, the verdicts are: an interval that just excludes
# zero can still carry *inconclusive*. The comparisons of different arms are not corrected
# together, so read the arms' order from their intervals, not from their verdicts.

# %%
ch.comparisons()

# %% [markdown]
# ## Gain against parameter cost, for every prompt in the book
#
# Each point is one prompt variant in one (data set, backbone) cell: its mean paired gain over the
# baseline, with the 95 % interval as a bar, against the trainable parameters it adds (measured on
# the trained model). The MSVP scale sets share a colour, fusions a marker shape; controls have
# their own (the global-only prompt is "MSVP add · global"). Points closer than a marker's width
# are spread sideways so that none hides another. Exact parameter counts: the controls' and MSVP
# add/full's in the table at the top of this page, every MSVP scale set and fusion's in
# [chapter 9](09_accounting.ipynb).

# %% tags=["hide-input"]
ch.gains()

# %% [markdown]
# ## The answer, data set by data set
#
# The rule (`_lib.control_answers.cell_answer`): when MSVP add/full *improves* on the baseline, the answer
# is **no** if a learned prompt without the multi-scale structure (pad, full-resolution,
# global-only) also *improves* on the baseline and is *equivalent* to MSVP or better; it is **yes**
# if every such prompt that ran falls short of MSVP (*hurts* in control − MSVP); otherwise it is
# *inconclusive*. When MSVP is equivalent to the baseline or worse, there is no gain for the structure
# to explain; when its own gain is inconclusive, so is the answer.

# %%
ch.answer()

# %% [markdown]
# ## Limits of this check
#
# - The controls run on the CNN only; on the ViT an additive prompt is absorbed exactly by the
#   position embedding ([chapter 10](10_report_card.ipynb)), so every additive control there is the
#   same function class as the baseline.
# - Three seeds give wide seed intervals; a verdict of *inconclusive* says the runs cannot tell,
#   not that the arms are equal. Only *equivalent* rules out a difference larger than 0.5 pp.
# - All prompts start at N(0, 1) × 0.01 and share the optimiser settings of the official code,
#   including weight decay on the prompts; a control could behave differently with its own tuning.
# - The frozen prompt keeps that start: a perturbation of about 1 % of a normalised pixel's spread,
#   close to no prompt at all. A frozen prompt that matches MSVP therefore says the learned maps did
#   no better than a near-zero input bias; it separates learning from perturbing only where MSVP
#   itself gains on the baseline.

# %% [markdown]
# ## Key results
#
# The answer per cell, computed from the controls' runs:

# %% tags=["remove-input"]
ch.key_results()

# %% [markdown]
# ## Exercises
#
# Each exercise's starting code runs here as it stands, on the runs of `PROFILE` in `RESULTS_DIR`.
#
# 1. **What each control costs.** Print the trainable parameters of MSVP and of each control on
#    grey and colour images. Which control has more parameters than MSVP, and by how much?
#
#    ```python
#    from msvp.experiments import VARIANTS
#
#    for v in ("msvp-add-full", "control-pad", "control-fullres",
#              "control-frozen"):
#        grey = VARIANTS[v].params(1, 28, 28)
#        print(v, grey, VARIANTS[v].params(3, 32, 32))
#    ```
#
# 2. **MSVP as a full-resolution prompt.** Give an MSVP prompt random values and fold it into a
#    full-resolution prompt: the two add the same image. Then try a `concat` prompt.
#
#    ```python
#    import torch
#
#    from msvp import MultiScalePrompt
#    from _lib.control_prompts import as_fullres
#
#    msvp = MultiScalePrompt(1, scales="full", fusion="add")
#    with torch.no_grad():
#        for p in msvp.prompts.values():
#            p.normal_()
#        full = as_fullres(msvp, (1, 28, 28))
#        x = torch.randn(2, 1, 28, 28)
#        print((msvp(x) - full(x)).abs().max())
#    ```
