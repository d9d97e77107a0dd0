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
# # 7. How should the prompt be fused?
#
# Three fusions exist in the official code: `add` (y = x + P̄, no parameters beyond the prompts and the
# default), `concat` (a 1 × 1 convolution over the input and the K upsampled maps, without a residual
# path) and `gated` (y = x + σ(W P̄ + b) ⊙ P̄ — the gate sees only the prompts, never the image, so it is
# still a constant added to every input). The official chart of this ablation plots hard-coded parameter
# bars; here the parameters are measured.
#
# **What you will learn**
# - the accuracy of each fusion within one data set and backbone, paired against the baseline;
# - what each fusion costs in parameters;
# - why `gated` cannot do more than `add` in principle, and `concat` can (it mixes x with the prompts).

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
RETRAIN = False          # True: train the runs this chapter needs that have no result file yet

# %%
from msvp import book, report
from msvp.grid import get_profile

book.setup_plots()
df = book.ensure_results(PROFILE, RESULTS_DIR, retrain=RETRAIN, data_root=DATA_ROOT)
variants = report.FUSION_VARIANTS
cells = report.ablation_cells(df, variants)
book.print_provenance(PROFILE, df)
print("ablation cells with results:", ", ".join(f"{d} · {b}" for d, b in cells) or "none")
print("planned in the paper profile:", ", ".join(f"{d} · {b}" for d, b in get_profile("paper").ablation))

# %% [markdown]
# ## Results, one cell at a time

# %%
# NBVAL_CHECK_OUTPUT
book.show_ablation_tables(df, variants)

# %% tags=["hide-input"]
book.show_ablation_figures(df, variants, "Fusion ablation (full scales)")

# %% [markdown]
# Bars show mean test accuracy ± one standard deviation over seeds (%); labels give the measured prompt
# parameters. `concat` replaces the input by a learned 1 × 1 mix of the input and the prompts; it starts
# from a Kaiming-initialised mix rather than the identity, which is why it can also *hurt*.
