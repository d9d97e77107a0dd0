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
#   applies it;
# - why, on the ViT, an additive prompt cannot add anything the position embedding could not learn.
#
# Verdicts of a claim: *supported* (the evidence agrees), *not supported* (the measurements point the
# other way: an effect below zero or shown equivalent to zero, a bound that is exceeded, or gains
# ordered against the claim), *inconclusive* (the interval admits both), *not converged at this
# budget* (no cell's baseline has converged, so no cell can carry the claim), *not judged yet* (every
# cell has a single paired seed, so no interval exists), *not run here* (no results in this profile).

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
RETRAIN = False          # True: train every missing run of the profile first (hours)

# %% [markdown]
# ## Claims

# %% tags=["hide-input"]
from msvp import book, report

df, paired = book.report_card_page(PROFILE, RESULTS_DIR, DATA_ROOT,
                                   RETRAIN)

# %% [markdown]
# Each verdict is computed by a function of `msvp.report` (`claim_accuracy`, `claim_params`,
# `claim_compute`, `claim_harder_data`, `claim_transformers`) from the result files; the last column
# links to the chapter that shows the evidence.
#
# - **Improves accuracy.** The headline is the gain pooled over every cell whose baseline converged
#   (a random-effects mean, so cells that disagree widen the interval). Supported if its interval lies
#   above zero; not supported if it lies below zero or is shown equivalent to zero within ±0.5 pp
#   (a TOST test, which reads the 90 % interval; with few seeds that interval is much narrower than the
#   95 % one shown, so the claims table prints it beside a pooled gain it decided); inconclusive
#   otherwise. The per-cell
#   verdicts are listed beside it, and one cell that hurts does not veto the claim on its own.
# - **Fewer than 0.02 % parameters.** Supported if the measured add/full prompt stays below 0.02 % of
#   the backbone on every backbone and input shape.
# - **Negligible compute.** Supported if the FLOPs MSVP adds, counted by hand, stay below 1 % of the
#   backbone's on every backbone and input; 1 % is below the run-to-run spread of latency, so a smaller
#   overhead cannot show in wall time.
# - **Largest gains on harder data, on transformers.** Each ordering is one contrast with its own
#   interval (the gain on the harder data sets minus the gain on the easier ones; the ViT's gain minus
#   the other backbones' on the same data), judged like the pooled gain. Cells whose baseline failed the
#   convergence gate are left out; if that leaves out the hardest data set, the harder-data ordering is
#   *inconclusive*, since a contrast among the easier sets cannot speak for it.
#
# ## How a cell gets its verdict
#
# Every per-cell verdict of this book follows the same rules:
#
# 1. **Pairing.** Two runs are compared only if they share the training code, the device class, the
#    thread count, the numeric precision and the test set; otherwise the difference could come from
#    the environment.
# 2. **Two intervals.** The *t-interval* uses the per-seed differences only. The *seed × image*
#    interval adds the noise of the test images all seeds share (a bootstrap over test images), so it
#    does not treat the 10,000 test images as the whole world; it is the verdict's interval wherever
#    every run stored its per-image results. With two to five seeds the seed part dominates (its t
#    quantile on 1 to 4 degrees of freedom is 12.7 to 2.8), so the two intervals are often close.
# 3. **McNemar per seed.** For one seed, among the images exactly one model gets right, is each model
#    equally likely to be the one? Shown as a diagnostic: it sees test-image noise, not seed noise.
# 4. **Convergence gate.** If the baseline's mean validation accuracy still rose by more than
#    0.5 pp over its last two epochs, the cell gets *not converged at this budget* and no test. Under
#    the cosine schedule part of a late rise is the annealing itself, so wherever a cell fails the
#    gate, a line below the claims table shows what the verdicts would be with the gate waived: how
#    much rests on this rule.
# 5. **Holm.** The p-values of all cells of one claim (or of one ablation) are corrected together,
#    so that testing many cells does not manufacture a significant one.
# 6. **Verdict.** *Improves* or *hurts* when the Holm-adjusted p is below 0.05; else *equivalent*
#    when the Holm-adjusted TOST test puts the difference within ±0.5 pp (its p is printed beside the
#    verdict, since the 95 % interval shown may reach past the margin); else *inconclusive*. A cell
#    with fewer than two paired seeds gets no verdict. The margin was fixed before any run, since a
#    margin fitted to the same data would bias the test; the line below the rules table sets it
#    beside the measured seed-to-seed spread and error of each baseline.
#
# The functions that apply them, with links to their lines in the repository:

# %% tags=["hide-input"]
book.table(book.rules_table())
book.md(report.margin_context(df))

# %% [markdown]
# ## The accuracy claim, cell by cell
#
# Both readings of the fusion; each reading is corrected by Holm over its own cells.

# %% tags=["hide-input"]
book.show_cells(paired)

# %% [markdown]
# The official code's flaws, and what this package does instead, are listed on the
# [protocol](protocol.ipynb) page with every other deviation from the official code.
#
# (vit-absorption)=
# ## On the ViT, an additive prompt is absorbed by the position embedding
#
# With `add` (or `gated`) fusion the prompt adds the same image A to every input. The ViT's patch
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
                         book.check_mark(effect > 0.1),
                     "folded: same logits": book.check_mark(gap < 1e-4)})
book.table(pd.DataFrame(rows))

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
holds = [book.check_mark(bool(v)) for v in checks.values()]
book.table(pd.DataFrame({"first convolution": list(checks),
                         "holds": holds}))
