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
# # 8. Backbones compared
#
# The paper reports MSVP on a small CNN, a CIFAR-style ResNet-18 {cite}`he2016resnet` and a ViT-Tiny
# {cite}`dosovitskiy2021vit,touvron2021deit`. This page puts every (data set, backbone) cell that has
# results side by side.
#
# **What you will learn**
# - baseline and MSVP accuracy for each backbone and data set, with the paired difference;
# - what each run cost in wall-clock time on the hardware that ran it;
# - which cells were not run here, and the command that runs them.

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
import pandas as pd
from IPython.display import display

from msvp import book, report, viz
from msvp.grid import get_profile

book.setup_plots()
df = book.ensure_results(PROFILE, RESULTS_DIR, retrain=RETRAIN, data_root=DATA_ROOT)

# %%
# NBVAL_CHECK_OUTPUT
book.print_provenance(PROFILE, df)
paired = report.paired_table(df)
rows = []
for (dataset, backbone), g in df[df.variant.isin(["baseline", "msvp-add-full"])].groupby(["dataset", "backbone"], sort=False):
    s = report.summarize(g).set_index("variant")
    p = paired[(paired.dataset == dataset) & (paired.backbone == backbone)]
    rows.append({"data": report.dataset_label(df, dataset), "backbone": backbone,
                 "backbone params": int(g.params_backbone.iloc[0]),
                 "baseline (%)": report.fmt_pct(s.loc["baseline", "mean"], s.loc["baseline", "std"]) if "baseline" in s.index else "–",
                 "MSVP add/full (%)": report.fmt_pct(s.loc["msvp-add-full", "mean"], s.loc["msvp-add-full", "std"]) if "msvp-add-full" in s.index else "–",
                 "Δ [95% CI]": report.fmt_ci(p.diff_mean.iloc[0], p.ci_low.iloc[0], p.ci_high.iloc[0]) if len(p) else "–",
                 "verdict": p.verdict.iloc[0] if len(p) else "–"})
display(pd.DataFrame(rows))
planned = [f"{d} · {b}" for d, b in get_profile("paper").main if not ((df.dataset == d) & (df.backbone == b)).any()]
print("not run in profile", PROFILE + ":", ", ".join(planned) or "none")
if planned:
    print("run them with: python -m msvp grid --profile paper   (minutes per run on a GPU, hours on a 2-core CPU)")

# %% tags=["hide-input"]
if not paired.empty:
    viz.plot_paired(paired, f"MSVP (add, full) − baseline, every cell of profile {PROFILE}");

# %% [markdown]
# Each bar spans the 95 % interval of the paired difference (percentage points). The y labels name data
# set, backbone and variant.
#
# ## What did it cost?

# %%
# NBVAL_IGNORE_OUTPUT
cost = (df.groupby(["dataset", "backbone", "hardware"], sort=False)
          .agg(runs=("wall_time_s", "size"), mean_run_min=("wall_time_s", lambda s: s.mean() / 60),
               total_h=("wall_time_s", lambda s: s.sum() / 3600), epochs=("epochs", "first"), train_images=("n_train", "first"))
          .round(3).reset_index())
display(cost)

# %% [markdown]
# Wall-clock minutes per run and hours per cell, including evaluation, as recorded in each result
# file on the hardware named in the row.
