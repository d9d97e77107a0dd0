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
# # 10. Report card
#
# **What you will learn**
# - each claim of the abstract, with a verdict computed from the result files and the evidence behind it;
# - each statistical rule behind the verdicts, in a sentence or two, with a link to the code that
#   applies it, and the one definition of a {term}`Holm` family that every page of the book uses;
# - what the ±0.5 pp {term}`equivalence margin` means on each data set, and the smallest gain each cell's
#   evidence could have detected;
# - why the headline pools the cells with a fixed-effect mean, and what the random-effects mean
#   beside it says;
# - why, on the ViT, an additive prompt cannot add anything the position embedding could not learn.
#
# Verdicts of a claim: *supported* (the evidence agrees), *not supported* (the measurements point the
# other way: an effect below zero or shown equivalent to zero, a bound that is exceeded, or gains
# ordered against the claim), *inconclusive* (the interval is too wide to say either: it holds both
# a gain and none), *not enough pairs yet*
# (no cell has two {term}`paired seeds` yet, so no interval exists), *not run here* (no results in this
# {term}`profile`). Every verdict is the one at the profile's protocol; a baseline still improving at the
# end of its schedule adds a caveat beside it and blocks nothing.

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
RETRAIN = False          # True: train every missing run of the profile first (hours)

# %% [markdown]
# ## Claims

# %% tags=["hide-input"]
from _lib.card import ReportCard
from _lib.chapter import table
from _lib.words import check_mark
from msvp.grid import run_grid

if RETRAIN:  # train the profile's missing runs first (hours)
    run_grid(PROFILE, results=RESULTS_DIR, data_root=DATA_ROOT)
ch = ReportCard(PROFILE, RESULTS_DIR, DATA_ROOT)
df, paired = ch.df, ch.paired
ch.verdicts()

# %% [markdown]
# Each verdict is computed by a function of `msvp.verdicts` (`claim_accuracy`, `claim_params`,
# `claim_compute`, `claim_harder_data`, `claim_transformers`) from the result files; the last column
# links to the chapter that shows the evidence.
#
# - **Improves accuracy.** The headline is the mean gain over every cell with at least two seed pairs,
#   each cell weighted equally (the fixed-effect mean; [pooling](pooling) below says why, and shows
#   the random-effects mean beside it). Supported if its interval lies above zero; not supported if it
#   lies below zero or is shown equivalent to zero within ±0.5 pp (a {term}`TOST` test, which reads the 90 %
#   interval; with few seeds that interval is much narrower than the 95 % one shown, so the claims
#   table prints it beside a pooled gain it decided); inconclusive otherwise. The per-cell verdicts
#   are listed beside it, and one cell that hurts does not veto the claim on its own.
# - **Fewer than 0.02 % parameters.** Supported if the measured add/full prompt stays below 0.02 % of
#   the backbone on every backbone and input shape.
# - **Negligible compute.** Supported if the FLOPs MSVP adds, counted by hand, stay below 1 % of the
#   backbone's on every backbone and input; 1 % is below the run-to-run spread of latency, so a smaller
#   overhead cannot show in wall time.
# - **Largest gains on harder data, on transformers.** Each ordering is one contrast with its own
#   interval (the gain on the harder data sets minus the gain on the easier ones, on the CNN, or on
#   ResNet-18 where a profile has no CNN runs on two data sets, as the GPU runs; the ViT's gain minus
#   the other backbones' on the same data), judged like the pooled gain. Cells with a single seed pair
#   have no interval and are left out; if that leaves out the hardest data set, the harder-data
#   ordering is *inconclusive*, since a contrast among the easier sets cannot speak for it.
#
# ## How a cell gets its verdict
#
# Every per-cell verdict of this book follows the same rules:
#
# 1. **Pairing.** Two runs are compared only if they share the training code, the device class, the
#    thread count, the numeric precision and the test set; otherwise the difference could come from
#    the environment.
# 2. **Two intervals.** The *t-interval* uses the per-seed differences only. The *{term}`seed × image <seed × image interval>`*
#    interval adds the noise of the test images all seeds share (a bootstrap over test images), so it
#    does not treat the 10,000 test images as the whole world; it is the verdict's interval wherever
#    every run stored its per-image results. With two to five seeds the seed part dominates (its t
#    quantile on 1 to 4 degrees of freedom is 12.7 to 2.8), so the two intervals are often close.
# 3. **McNemar per seed.** For one seed, among the images exactly one model gets right, is each model
#    equally likely to be the one? Shown as a diagnostic: it sees test-image noise, not seed noise.
# 4. **Convergence caveat, not a gate.** Every cell gets its verdict at the profile's protocol, as
#    the paper makes its claims. Where the baseline's mean validation accuracy still rose by more
#    than 0.5 pp over its last two epochs, the verdict carries a caveat that gives the measured rise
#    and the learning rate of the schedule's last epoch. The reason: under cosine annealing the
#    learning rate falls to a small fraction of its start in the last epochs (the caveat prints the last
#    epoch's rate), and validation accuracy nearly always rises
#    there, so the rise measures the schedule as much as whether the comparison is sound. Whether a verdict
#    would change with a longer budget is a separate question, answered by the long-budget check
#    (its outcome is printed under the claims table).
# 5. **Holm, one family per comparison.** A comparison is one treatment against one control (MSVP
#    add/full − baseline, MSVP concat/full − baseline, an ablation variant − baseline, a control −
#    baseline or − MSVP). Its p-values are Holm-corrected over every data set × backbone cell of the
#    profile where it ran, so that testing many cells does not manufacture a significant one. This
#    is the only definition of a family in the book: the experiment chapters, the ablations and the
#    controls chapter read each comparison from it, so one comparison has one verdict on every page.
#    Different comparisons answer different questions and are not corrected together; a page that
#    lists several of them (the ablations, the controls) ranks them by their intervals, not by their
#    verdicts.
# 6. **Verdict.** *Improves* or *hurts* when the Holm-adjusted p is below 0.05; else *equivalent*
#    when the Holm-adjusted TOST test puts the difference within ±0.5 pp (its p is printed beside the
#    verdict, since the 95 % interval shown may reach past the margin) and the cell has at least three
#    paired seeds; else *inconclusive*. Why three: with two, the seed part of the interval has one
#    degree of freedom, and the 90 % interval that TOST reads is half as wide as the 95 % one (t
#    quantiles 6.3 and 12.7), so two pairs could "show" an effect absent while the interval printed
#    beside the verdict reaches far past the margin. A cell with fewer than two paired seeds reads
#    *not enough pairs yet* (with its training progress where the profile plans more). The margin is
#    discussed [below](margin).
#
# The functions that apply them, with links to their lines in the repository:

# %% tags=["hide-input"]
ch.rules()

# %% [markdown]
# (margin)=
# ## The margin, and what each cell could detect
#
# **Why ±0.5 pp.** *Equivalent* needs a margin: the size of a difference we agree to call no
# difference. It was fixed before any run (a margin chosen after seeing the data would bias the
# test) at the seed-to-seed spread expected of a small network on CIFAR-10, where the paper's
# claims are hardest to make: a smaller difference could come from the choice of seed alone. The
# same margin means different things on different data sets, and the runs say what:

# %% tags=["hide-input"]
ch.margins()

# %% [markdown]
# Where the baseline errs on fewer test images than the margin, no prompt could gain as much as the
# margin: *equivalent* there only says that MSVP does no harm. Where one test image is a hundredth
# of a percentage point, the margin is dozens of images, so it is not a rounding artefact.
#
# **What each cell could detect.** A verdict of *inconclusive* means little unless the cell could
# have found an effect. For every cell the table gives the smallest gain its test would detect in 4 of
# 5 repeats of the whole experiment (80 % power at the 5 % level, before Holm, which can only raise it), computed from the
# cell's own seed × image variance and its number of seed pairs
# (`msvp.stats.Estimate.detectable`, linked in the rules table above), beside
# the margin and the most the cell could gain at all (its baseline's error). How to read it:
#
# - **detectable gain below the margin**: a gain as large as the margin would have been found;
#   *inconclusive* there is informative, and *equivalent* is a real statement;
# - **detectable gain above the margin**: the cell could miss a gain as large as the margin, so
#   *inconclusive* is the expected outcome whether or not such a gain exists. Read it as "too few
#   seeds to tell", never as "no effect"; only *equivalent* (or a gain beyond the detectable one)
#   would say more, and more seed pairs would lower the detectable gain roughly as 1/√(pairs);
# - **detectable gain above the baseline's error**: no possible gain could be found at all.

# %% tags=["hide-input"]
ch.power()

# %% [markdown]
# (pooling)=
# ## Pooling the cells: the fixed effect decides
#
# The accuracy claim needs one number across cells. Two are shown:
#
# - the **fixed-effect mean**: the true gain averaged over the cells that were run, each cell
#   weighted equally, with its interval from the cells' own uncertainties;
# - the **random-effects mean**: the average gain of a population of cells from which these are
#   taken to be a sample, i.e. what a data set or backbone *not* run here would gain. Its interval
#   adds the spread between cells, estimated from the cells themselves.
#
# The paper claims that MSVP improves accuracy on the data sets and backbones it ran, so the
# **fixed-effect mean decides the headline**. The random-effects estimate answers a question the
# paper does not ask, and with few cells it cannot answer it well: with k cells the spread between
# cells is estimated from k − 1 degrees of freedom, and its interval uses a t quantile on k − 1
# degrees of freedom, whose quantile is large when k is 2 or 3 (12.7 at k = 2 and 4.3 at k = 3 for a
# 95 % interval, against 1.96 for a normal one). The cells are weighted equally rather
# than by their precision: weights estimated from three to five seeds are noisy and make the
# interval too narrow, and the most precisely measured cell (MNIST) is the one with the least room
# to gain. A simulation test (`tests/test_stats_pooling.py`) checks that the deciding interval
# covers the cells' mean gain at its nominal 95 % with two and three cells of equal pair counts.
# Its degrees of freedom are the Welch–Satterthwaite ones, computed from the cells' own seed
# variances. When the cells have different numbers of pairs (a ViT-Tiny cell of 2 or 3 pairs beside
# 5-pair CNN cells) that count is unreliable: the same test measures the interval covering only about
# 89–94 %. So there a verdict must also hold on the smallest cell's degrees of freedom (a wider,
# conservative interval), or it becomes *inconclusive*; the claims table prints that check. Where the
# two pooled estimates disagree, the pooling table below shows both verdicts side by side (the claims
# table says so for the reading it judges, add/full): a verdict of the fixed effect then holds for
# the cells run and is not shown to carry over to others.

# %% tags=["hide-input"]
ch.pooling()

# %% [markdown]
# ## The accuracy claim, cell by cell
#
# Both readings of the fusion; each reading is one comparison, corrected by Holm over its own cells.

# %% tags=["hide-input"]
ch.cells()

# %% [markdown]
# ## Backbones: the contrast the paper implies
#
# The paper expects the gain to depend on the backbone. Each contrast below is one backbone's gain
# minus the CNN's on the same data set (MSVP add/full − baseline each), with its own interval,
# judged like the other contrasts (*supported* if it lies above zero), and pooled over the data sets
# where both backbones have at least two seed pairs.

# %% tags=["hide-input"]
ch.contrasts()

# %% [markdown]
# ## The claims on the GPU runs
#
# The same rules applied to the `paper` profile's runs on one GPU, on their own: other hardware,
# torch and thread count, so never pooled or paired with the CPU runs above. The parameter and
# compute claims do not depend on the machine and are not repeated.

# %% tags=["hide-input"]
from _lib.gpu_runs import gpu_claims

# (a card of the paper profile already judges these runs above)
if PROFILE != "paper":
    gpu_claims(RESULTS_DIR, DATA_ROOT)

# %% [markdown]
# The official code's flaws, and what this package does instead, are listed on the
# [protocol](protocol.ipynb) page with every other deviation from the official code.
#
# (vit-absorption)=
# ## On the ViT, an additive prompt is absorbed by the position embedding
#
# With `add` fusion (or `gated`, which scales the prompt by a gate computed from the prompt alone,
# [chapter 7](07_fusion_ablation.ipynb)) the prompt adds the same image A to every input. The ViT's patch
# embedding is linear, so proj(x + A) = proj(x) + W∗A: a constant per token position, exactly what the
# learned position embedding already is. Folding W∗A into the position embedding gives a plain ViT with
# identical logits, so MSVP adds no representational capacity to the ViT; any gain must come from
# optimisation (a different parameterisation of the same function class).

# %% tags=["nbval-check-output"]
import pandas as pd
import torch

from msvp import build_model
from msvp.analysis import fold_prompt_into_vit

rows = []
for dataset in ("mnist", "cifar10"):
    for fusion in ("add", "gated"):
        m = build_model("vit", dataset, prompt="full", fusion=fusion,
                        seed=0)
        m.eval()
        g = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for p in m.prompt.prompts.values():
                p.normal_(generator=g)  # a strong prompt, far from zero
        folded = fold_prompt_into_vit(m)
        g.manual_seed(2)
        x = torch.randn(8, *m.input_shape, generator=g)
        with torch.no_grad():
            gap = (m(x) - folded(x)).abs().max().item()
            effect = (m(x) - m.backbone(x)).abs().max().item()
        rows.append({"ViT": f"{dataset}, {fusion} fusion",
                     "prompt changes logits":
                         check_mark(effect > 0.1),
                     "folded: same logits": check_mark(gap < 1e-4)})
table(pd.DataFrame(rows))

# %% [markdown]
# For the CNN and ResNet-18 the picture is similar but not exact: the global (1 × 1) prompt is a constant
# per channel that the first layer absorbs everywhere except at the zero-padded border (the CNN's first
# convolution through its bias; ResNet-18's stem has none, so the BatchNorm after it),
# and the mid and local maps are a fixed per-pixel input bias. `concat` is different: it mixes the image
# with the prompts through a learned 1 × 1 convolution and is not a constant shift.

# %% tags=["nbval-check-output"]
from msvp.analysis import global_prompt_as_bias

m = build_model("cnn", "mnist", prompt="global", seed=0).eval()
with torch.no_grad():
    m.prompt.prompts["global"].fill_(0.5)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 1, 28, 28, generator=g)
    a = m.backbone.features[0][0](m.prompt(x))
    b = global_prompt_as_bias(m).features[0][0](x)
diff = (a - b).abs()
inside = diff[..., 1:-1, 1:-1].max()
checks = {"interior: prompt = folded bias (< 1e-5)": inside < 1e-5,
          "border: they differ (> 1e-3)": diff.max() > 1e-3}
holds = [check_mark(bool(v)) for v in checks.values()]
table(pd.DataFrame({"first convolution": list(checks),
                    "holds": holds}))

# %% [markdown]
# ## Key results
#
# The report card in a few lines, computed from the claims above:

# %% tags=["remove-input"]
ch.key_results()

# %% [markdown]
# ## Exercises
#
# Each exercise's starting code runs here as it stands, on the runs of `PROFILE` in `RESULTS_DIR`.
#
# 1. **Holm by hand.** Adjust three p-values with Holm's step-down rule by hand and compare with the
#    package. Which of them stay below 0.05?
#
#    ```python
#    import numpy as np
#
#    from msvp import stats
#
#    p = np.array([0.01, 0.04, 0.03])
#    order = np.argsort(p)
#    steps = p[order] * (len(p) - np.arange(len(p)))
#    adjusted = np.minimum(np.maximum.accumulate(steps), 1)
#    by_hand = adjusted[np.argsort(order)]
#    print(by_hand, stats.holm(p))
#    ```
#
# 2. **Equivalence from an interval.** For one cell, TOST at level 0.05 says *equivalent* when the
#    90 % interval lies inside the margin. Try it on these per-seed differences, then on three seeds.
#
#    ```python
#    from msvp import stats
#
#    d = [0.10, -0.05, 0.20, 0.02, 0.08]   # per-seed differences, pp
#    mean, lo, hi = stats.t_interval(d, level=0.90)
#    inside = -stats.MARGIN_PP < lo and hi < stats.MARGIN_PP
#    print(f"{mean:+.2f} [{lo:+.2f}, {hi:+.2f}] pp; equivalent: {inside}")
#    ```
#
# 3. **The accuracy claim from the result files.** Recompute the claim's verdict and its evidence
#    from the runs, then leave out one data set and see whether the verdict changes.
#
#    ```python
#    from msvp.results import load
#    from msvp.verdicts import claim_accuracy, paired_table
#
#    df = load(PROFILE, RESULTS_DIR)
#    print(claim_accuracy(paired_table(df)))
#    ```
