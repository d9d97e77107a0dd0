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
# # 11. Reproduce it
#
# **What you will learn**
# - every {term}`profile <profile>`, what each runs, and how long a run took on the machine that ran it;
# - whether re-training a sample of the committed runs gives the same numbers (`make verify`);
# - the commands that reproduce every number in this book: on this machine, on one GPU, on a SLURM
#   cluster.
#
# ## Two commands
#
# ```bash
# make reproduce  # train what is missing, re-execute the chapters, build
# make test       # lint, unit tests, release checks, smoke, nbval, build
# ```
#
# `make reproduce` trains the `paper` profile on a CUDA machine and the `cpu` profile elsewhere
# (`PROFILE=cpu` overrides it, for `make notebooks` and `make verify` too); `make reproduce JOBS=2`
# trains with two worker processes. In the CPU profiles a run uses one thread, except ResNet-18 runs,
# which use two (a pair ends sooner on CIFAR-10) and start only when two cores are free. Runs of the
# `paper` profile use two threads each.
# `make test` runs, in order: ruff, the unit tests, the release checks, `make smoke` (the seconds-long
# `smoke` and `smoke-scarce` profiles into build/results, then every chapter on them), nbval on the
# committed notebooks, and the book build. The `python -m msvp` commands below run in the
# environment `make` built: `source .venv/bin/activate` first.
#
# Offline? Point `MSVP_DATA_MIRROR` at a folder holding `mnist.npz`, `fashion_mnist.npz` and
# `cifar10.npz`. The package checks each file's sha256, shapes, class counts and pixel statistics
# before use; a file with an unknown sha256 is used, with a warning, only if it passes the other
# checks. `make test` needs either the mirror or `MSVP_DATA_DOWNLOAD=1` (torchvision downloads).

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
PROFILE = "cpu"          # smoke | cpu | paper: the profile `make verify` checked
RESULTS_DIR = "../results"
WORKERS = 2              # grid workers that share the time left (the JOBS of make reproduce)

# %% [markdown]
# ## Profiles
#
# A profile is a list of parts, each a set of (data set, backbone) cells × variants × seeds. The
# [protocol](protocol.ipynb) page gives every setting of each profile next to the official value.

# %% tags=["nbval-check-output", "hide-input"]
from _lib.reproduce import ReproduceChapter

ch = ReproduceChapter(PROFILE, RESULTS_DIR)
ch.parts()

# %% [markdown]
# ## What ran here, on what, and how long it took
#
# Counted from the result files: the runs that count for the current training code, the median wall
# time of one run (training, validation after every epoch, the test passes), the compute time the
# finished runs took together, the wall time the runs still missing would take on the grid workers
# the column names, each taking the next run when free (the line under the table says how many, and
# how `make reproduce JOBS=` changes it), and the hardware recorded with them. As `grid --plan`
# does, a run left is costed at the median of the profile's finished runs alike in data set,
# backbone, precision, epochs and training-set size; a cell with none yet at the estimate that
# `grid --plan` saved for it (`results/plans/`, from a short warm-up of real training steps); the note
# under the table counts the runs costed each way.

# %% tags=["hide-input"]
ch.runs(WORKERS)

# %% [markdown]
# ## Does re-training give the same numbers?
#
# `make verify` re-trains one committed run of every (data set, backbone) cell that has one into a
# fresh folder and compares (a cell whose runs landed after the last `make verify` is not in the
# report yet: the line below gives its date). Where the code, the hardware class, the thread count and the precision match, the two
# must be bit-identical (every epoch's history and every test prediction); elsewhere the difference is
# set against the spread between seeds of the same cell.

# %% tags=["hide-input"]
ch.verify()

# %% [markdown]
# ## On one GPU, or on a cluster
#
# The `paper` profile (every data set and backbone, 3 {term}`paired seeds`) needs a GPU. On a machine
# without a time limit, `make reproduce JOBS=6` runs 6 workers on the GPU. In a session with a
# wall-time limit:
#
# ```bash
# # the runs left and the time they need:
# python -m msvp grid --profile paper --jobs 6 --plan
# # start no run that would end after 3,000 s (call it again to resume):
# BUDGET=3000 tools/gpu_paper.sh
# # then render what it trained:
# make notebooks PROFILE=paper book
# ```
#
# The script uses `.venv/bin/python` when it exists (`PYTHON=` overrides it) and prints the wall
# time. On a SLURM cluster there are two ways, and in both the workers share one results folder
# (each run is claimed by exactly one live worker; resubmitting resumes): a job array of grid
# workers (`sbatch`), or `grid --executor slurm`, which submits them through submitit (`make install`
# installs it; elsewhere `pip install 'msvp[cluster]'`, from a clone `pip install -e '.[cluster]'`):
#
# ```bash
# # 1. a job array of 8 grid workers:
# sbatch --array=0-7 tools/slurm/grid_array.sbatch paper
# # 2. the same, via submitit (the cluster extra):
# python -m msvp grid --profile paper --executor slurm --jobs 8
# ```
#
# ## Useful commands
#
# ```bash
# python -m msvp data status                # each data set, verified?
# python -m msvp grid --profile cpu --list  # each run's state and why
# python -m msvp grid --profile cpu --plan  # what is left, how long
# python -m msvp grid --profile paper \
#     --only dataset=cifar10,backbone=resnet18
# python -m msvp train --dataset mnist --backbone vit --prompt full \
#     --seed 0
# ```
#
# Each run writes `results/<profile>/<dataset>/<backbone>/<variant>/seed<k>.json` atomically, with its
# configuration, per-epoch history, final metrics, per-image test results, parameter counts, data
# provenance (source, sha256, image counts), hardware, torch version and the {term}`fingerprint` of the
# training code. A run checkpoints every epoch beside its result file; an interrupted grid resumes from
# the last completed epoch and reaches the same numbers.
#
# ## How this book is built
#
# Two layers. The `msvp` package holds the experiment only: the method, the numerics, the runner
# and the evidence (statistics and the verdict rules, `msvp.verdicts`); it never imports the book.
# Beside the chapters, the book layer `book/_lib` holds what the pages show: one table of names
# (titles, labels, colours, orders), the wording, the figures, and one class per page built on
# `chapter.Page`, which reads the profile's records, finished runs and run states once (`view.View`).
# A page never trains: where a chapter has a `RETRAIN` parameter, its first code cell calls
# `msvp.grid.run_grid` in plain sight, and runs that are missing show as *not run yet*.
# `make notebooks` executes each chapter with papermill from `book/` (so `import _lib` works) into
# the committed `.ipynb`, and `make book` renders those executed notebooks with Jupyter Book;
# `make smoke` first trains the seconds-long `smoke` and `smoke-scarce` profiles into build/results
# (never committed), then executes every chapter on them into build/smoke.

# %% [markdown]
# ## Key results
#
# Where each profile stands, from the result files:

# %% tags=["remove-input"]
ch.key_results(WORKERS)

# %% [markdown]
# ## Exercises
#
# Each exercise's starting code runs here as it stands, on the runs of `PROFILE` in `RESULTS_DIR`.
#
# 1. **The state of every planned run.** Count the runs of the profile by backbone and state (done,
#    missing, stale, diverged), and print the command that trains what is missing.
#
#    ```python
#    from _lib.view import View
#    from _lib.words import grid_command
#
#    states = View(PROFILE, RESULTS_DIR).states
#    print(states.groupby(["backbone", "state"]).size())
#    print(grid_command(PROFILE, backbone="vit"))
#    ```
#
# 2. **Where a number comes from.** Print the provenance of one result file: the training code's
#    fingerprint, the hardware, the thread count and the data file's checksum.
#
#    ```python
#    from msvp.results import load_records
#
#    rec = load_records(PROFILE, RESULTS_DIR)[0]
#    env = rec["environment"]
#    print(rec["fingerprint"], env["hardware"], env["threads"])
#    print(rec["data"]["source"], rec["data"]["sha256"][:16])
#    ```
