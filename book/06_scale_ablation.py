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
# # 6. Which scales matter?
#
# The paper ablates the prompt scales: global only (1 × 1), global + mid (1 × 1 and 4 × 4), and full
# (all three). The official ablation script pools runs across data sets and models; here every
# (data set, backbone) cell is reported on its own, with the baseline of the same seeds.
#
# **What you will learn**
# - how test accuracy changes as scales are added, within one data set and backbone;
# - how many parameters each scale set costs (measured on the trained models);
# - whether any step is distinguishable from seed noise with paired 95 % intervals.

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
variants = report.SCALE_VARIANTS
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
book.show_ablation_figures(df, variants, "Scale ablation (add fusion)")

# %% [markdown]
# Bars show mean test accuracy ± one standard deviation over seeds, in percent; the label under each
# bar is the number of prompt parameters measured on the model. A global-only add prompt is a constant
# per channel, which the first convolution's bias can absorb away from the zero-padded border
# (see the [report card](10_report_card.ipynb)); the mid and local maps add a fixed per-pixel shift.
