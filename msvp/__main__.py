"""Command line: python -m msvp {train,grid,data,accounting,verify,migrate} ... (``--help`` on each)."""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields

INTERRUPTED = ("interrupted: finished runs are saved; an unfinished run resumes from its last checkpoint "
               "when you run the same command again")

try:    # torch takes seconds to import on a busy machine: a Ctrl-C then is the same one line
    from .backbones import BACKBONES
    from .datasets import DATASETS
    from .prompting import FUSIONS, SCALE_SETS
except KeyboardInterrupt:
    print(INTERRUPTED, file=sys.stderr)
    sys.exit(130)


class OneLineErrors(argparse.ArgumentParser):
    """A bad flag or value gets one line naming the valid choices, not a usage dump."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


DATA_ROOT_HELP = "data cache folder (default: $MSVP_DATA_ROOT, else data/ at the top of the checkout)"
CHOICE_FIELDS = ("dataset", "backbone", "prompt", "fusion", "schedule", "precision", "memory_format", "augment")


def optional_int(text: str) -> int | None:
    return None if text.lower() in ("none", "all") else int(text)


def add_train(sub):
    from .config import AUGMENTATIONS, MEMORY_FORMATS, PRECISIONS, SCHEDULES, RunConfig
    from .prompting import CONTROLS
    p = sub.add_parser("train", help="one training run")
    p.add_argument("--dataset", choices=list(DATASETS), default="mnist")
    p.add_argument("--backbone", choices=list(BACKBONES), default="cnn")
    p.add_argument("--prompt", choices=["none"] + list(SCALE_SETS) + list(CONTROLS), default="none",
                   help="none = baseline; pad, fullres, frozen = controls")
    p.add_argument("--fusion", choices=list(FUSIONS), default="add")
    p.add_argument("--schedule", choices=list(SCHEDULES), default="cosine")
    p.add_argument("--precision", choices=list(PRECISIONS), default="auto")
    p.add_argument("--memory-format", choices=list(MEMORY_FORMATS), default="auto")
    p.add_argument("--augment", choices=list(AUGMENTATIONS), default="official")
    defaults = RunConfig()
    for f in fields(RunConfig):
        if f.name in CHOICE_FIELDS:
            continue
        value = getattr(defaults, f.name)
        flag = "--" + f.name.replace("_", "-")
        if isinstance(value, tuple):
            p.add_argument(flag, type=float, nargs=len(value), default=value)
        elif value is None:
            p.add_argument(flag, type=optional_int, default=None, help="images (default: all)")
        else:
            p.add_argument(flag, type=type(value), default=value)
    p.add_argument("--out", help="write the result JSON here")
    p.add_argument("--data-root", default=None, help=DATA_ROOT_HELP)


def add_grid(sub):
    from .cluster import EXECUTORS
    from .experiments import PROFILES
    p = sub.add_parser("grid", help="run a profile's grid, skipping finished runs")
    p.add_argument("--profile", choices=list(PROFILES), required=True)
    p.add_argument("--only", help="filter, e.g. dataset=mnist,backbone=cnn|vit")
    p.add_argument("--shard", help="i/n: run every n-th job starting at i")
    p.add_argument("--jobs", type=int, default=1, help="worker processes sharing the runs (default 1)")
    p.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="start no run expected to end after this many seconds; exit 0 and list what is left")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: CUDA when present)")
    p.add_argument("--executor", choices=list(EXECUTORS), help="submit the workers through submitit")
    p.add_argument("--force", action="store_true", help="re-run even if a result exists")
    p.add_argument("--retry-diverged", action="store_true", help="re-run the runs recorded as diverged")
    p.add_argument("--no-explain", action="store_true", help="skip the Grad-CAM / attention examples")
    p.add_argument("--results", help="results root (default $MSVP_RESULTS or results/)")
    p.add_argument("--data-root", default=None, help=DATA_ROOT_HELP)
    p.add_argument("--list", action="store_true", help="list every run with its state; train nothing")
    p.add_argument("--plan", action="store_true",
                   help="count the runs to train and estimate their time (saved to <results>/plans/ for chapter 11); "
                        "train nothing")


def cmd_train(a):
    from .config import RunConfig
    from .engine import run
    kw = {f.name: getattr(a, f.name) for f in fields(RunConfig)}
    kw["prompt"] = None if a.prompt == "none" else a.prompt
    kw["cnn_dropout"] = tuple(kw["cnn_dropout"])
    rec = run(RunConfig(**kw), out_path=a.out, data_root=a.data_root, progress=True)
    print(f"test accuracy {rec['test_acc']:.4f} (last epoch), {rec['test_acc_best_val']:.4f} (best validation)")


def parse_shard(text: str | None):
    if not text:
        return None
    i, _, n = text.partition("/")
    if not (i.isdigit() and n.isdigit()):
        raise ValueError(f"--shard must look like 0/4, got {text!r}")
    return int(i), int(n)


def cmd_grid(a):
    from .grid import plan_runs, run_grid
    shard = parse_shard(a.shard)
    if a.list:
        return print_list(plan_runs(a.profile, only=a.only, shard=shard, results=a.results, device=a.device))
    s = run_grid(a.profile, only=a.only, shard=shard, force=a.force, results=a.results, data_root=a.data_root,
                 train=not a.plan, jobs=a.jobs, time_budget=a.time_budget, device=a.device,
                 retry_diverged=a.retry_diverged, explain=not a.no_explain, executor=a.executor)
    if a.plan:
        return print_plan(a, s)
    for p in s["left"]:
        print("left for later (time budget):", p)
    for p in s["diverged"]:
        print("diverged earlier (kept; --retry-diverged trains it again):", p)
    print(f"{len(s['done'])} trained, {len(s['skipped'])} already done, {len(s['failed'])} diverged, "
          f"{len(s['diverged'])} diverged earlier, {len(s['left'])} left for later, "
          f"{len(s['elsewhere'])} held by other workers")
    return 1 if s["failed"] else 0


def print_list(plan) -> int:
    from .claims import live_holder
    from .engine import checkpoint_progress
    from .results import checkpoint_path
    counts = {}
    for cfg, path, state, why in plan:
        if state in ("missing", "stale") and (owner := live_holder(path)):
            state, why = "running", f"pid {owner.get('pid')} on {owner.get('host')} since {owner.get('since')}"
            epochs = checkpoint_progress(checkpoint_path(path))
            why += f"; {epochs} of {cfg.epochs} epochs checkpointed" if epochs is not None else ""
        counts[state] = counts.get(state, 0) + 1
        print(f"{state:<9} {path}" + (f"  ({why})" if why else ""))
    print(", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no runs selected")
    return 0


def print_plan(a, summary) -> int:
    from .grid import plan_runs
    todo = [c for c, p, _, _ in plan_runs(a.profile, only=a.only, shard=parse_shard(a.shard), results=a.results,
                                          device=a.device) if p in set(summary["missing"])]
    print(f"profile {a.profile}: {len(summary['skipped'])} runs done, {len(todo)} to train")
    if todo:
        print_estimate(a, todo)
    return 0


def print_estimate(a, todo) -> None:
    """Minutes per run per cell, their sum, and the wall time with ``a.jobs`` workers in plan order."""
    import torch

    from .environment import hardware
    from .estimates import save_estimates
    from .experiments import core_shares, cost_key, wall_time
    from .plan import per_cell
    from .results import results_root
    rows = per_cell(todo, a.data_root, a.results, a.profile)
    for row in rows:
        size = "" if row["train_subset"] is None else f", {row['train_subset']:,} images"
        print(f"  {row['dataset']}/{row['backbone']} ({row['precision']}, {row['epochs']} epochs{size}): "
              f"{row['runs']} run(s) x {row['min_per_run']:.0f} min ({row['source']})")
    minutes = {cost_key(r): r["min_per_run"] for r in rows}
    costs = [minutes[cost_key(c)] for c in todo]          # per run, in plan order
    wall, jobs = wall_time(costs, a.jobs, core_shares(a.profile, todo)), max(a.jobs, 1)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"estimated time: {sum(costs):.0f} min of run time on "
          f"{hardware(device)}, about {wall:.0f} min of wall time with {jobs} worker(s) taking the runs in "
          f"order (from finished runs of the same cell where there are some, else a short warm-up)")
    # saved for chapter 11, which costs the runs left the same way without measuring anything itself
    try:
        print(f"per-cell estimates saved to {save_estimates(results_root(a.results), a.profile, rows, hardware(device))}")
    except OSError as e:                 # a read-only results folder: the estimate above still stands
        print(f"per-cell estimates not saved ({e.strerror}: {e.filename})")


def cmd_verify(a):
    from .verify import verify
    report = a.report or f"results/verify/{a.profile}.json"
    df = verify(a.profile, results=a.results, out=a.out, per_cell=a.per_cell, data_root=a.data_root, report=report)
    if df.empty:
        raise ValueError(f"no current results of profile {a.profile!r} to re-train; run the grid first")
    bad = df[~df.bit_identical & df.same_provenance]
    print(f"{len(df)} runs re-trained; {int(df.bit_identical.sum())} bit-identical, {len(bad)} differ despite the same "
          f"code, hardware and threads; report: {report}")
    return 1 if len(bad) else 0


def cmd_migrate(a):
    from .migrate import record_same_sources, restamp, verify_migration
    if a.restamp:
        restamp(a.profile, a.results)
        return 0
    if a.same_sources:
        entry = record_same_sources(a.same_sources, a.python or sys.executable)
        print(f"recorded: {entry['from']} (ast.unparse, Python {entry['python']}) -> {entry['to']}, same sources")
        return 0
    if not a.from_fingerprint:
        raise ValueError("migrate needs --from OLD_FINGERPRINT (to verify), --same-sources OLD (to record a "
                         "definition change) or --restamp (to re-stamp verified records)")
    ok = verify_migration(a.profile, a.from_fingerprint, only=a.only, results=a.results, data_root=a.data_root)
    print("every sampled run is bit-identical: add the old fingerprint to environment.VERIFIED_SAME, then "
          "run `python -m msvp migrate --restamp`" if ok else "the sample differs: the runs must be re-trained")
    return 0 if ok else 1


def cmd_data(a):
    from .data import load_dataset, status
    if a.action == "status":
        for r in status(a.data_root):
            mark = "verified" if r["verified"] else ("PROBLEM" if r["present"] else "absent")
            print(f"{r['dataset']:<14} {mark:<9} {r['source']:<40} {r['detail']}")
        return 0
    if not a.name:
        raise ValueError(f"data fetch needs a dataset name; valid choices: {', '.join(DATASETS)}")
    print(load_dataset(a.name, a.data_root).label, "ready")


def cmd_accounting(a):
    import pandas as pd

    from .accounting import save_accounting
    rec = save_accounting(a.out, latency=not a.no_latency, repeats=a.repeats)
    print(pd.DataFrame(rec["compute"]).to_string(index=False))
    print(f"written to {a.out}")


def add_data(sub):
    d = sub.add_parser("data", help="dataset status / fetch")
    d.add_argument("action", choices=["status", "fetch"])
    d.add_argument("name", nargs="?", choices=list(DATASETS))
    d.add_argument("--data-root", default=None, help=DATA_ROOT_HELP)


def add_committed_runs_args(p) -> None:
    """--profile, --results and --data-root, as verify and migrate both read committed runs."""
    from .experiments import PROFILES
    p.add_argument("--profile", choices=list(PROFILES), default="cpu")
    p.add_argument("--results", help="committed results root (default $MSVP_RESULTS or results/)")
    p.add_argument("--data-root", default=None, help=DATA_ROOT_HELP)


def add_verify(sub):
    v = sub.add_parser("verify", help="re-train a sample of committed runs and compare them")
    add_committed_runs_args(v)
    v.add_argument("--per-cell", type=int, default=1, help="runs per (dataset, backbone) cell (default 1)")
    v.add_argument("--out", default="build/verify", help="fresh folder for the re-trained runs")
    v.add_argument("--report", help="report JSON (default results/verify/<profile>.json)")


def add_migrate(sub):
    m = sub.add_parser("migrate", help="carry committed runs across a fingerprint change (verified re-training)")
    add_committed_runs_args(m)
    m.add_argument("--from", dest="from_fingerprint", metavar="OLD", help="re-train a sample stamped OLD and compare")
    m.add_argument("--only", help="the sample, e.g. dataset=cifar10,variant=msvp-concat-full,seed=1")
    m.add_argument("--restamp", action="store_true", help="re-stamp the records that environment.VERIFIED_SAME names")
    m.add_argument("--same-sources", metavar="OLD", help="record that the sources on disk hash to OLD under the "
                   "earlier (ast.unparse) definition: no re-training needed")
    m.add_argument("--python", help="the interpreter for --same-sources (default: this one)")


def add_accounting(sub):
    acc = sub.add_parser("accounting", help="parameters, FLOPs and latency table")
    acc.add_argument("--no-latency", action="store_true")
    acc.add_argument("--repeats", type=int, default=7)
    acc.add_argument("--out", default="results/accounting/cpu.json")


def parser() -> argparse.ArgumentParser:
    ap = OneLineErrors(prog="python -m msvp", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=OneLineErrors)
    for add in (add_train, add_grid, add_data, add_verify, add_migrate, add_accounting):
        add(sub)
    ap.add_argument("--debug", action="store_true", help="full tracebacks (also MSVP_DEBUG=1)")
    return ap


COMMANDS = {"train": cmd_train, "grid": cmd_grid, "verify": cmd_verify, "data": cmd_data,
            "accounting": cmd_accounting, "migrate": cmd_migrate}


def main(argv=None) -> int:
    """Run one command; a Ctrl-C at any point (the lazy imports too) is one line and exit 130."""
    try:
        return run(argv)
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130


def run(argv=None) -> int:
    """A user's mistake or a data fault is one line on stderr (exit 2), a diverged run exit 1, unless
    --debug asks for the traceback."""
    a = parser().parse_args(argv)
    from .data import DataError
    from .results import ResultsError
    from .training import TrainingDiverged
    debug = a.debug or os.environ.get("MSVP_DEBUG") == "1"
    try:
        return COMMANDS[a.cmd](a) or 0
    except (ValueError, DataError, ResultsError, TrainingDiverged, OSError) as e:
        if debug:
            raise
        kind = "diverged" if isinstance(e, TrainingDiverged) else "error"
        print(f"{kind}: {e}" + ("" if isinstance(e, (ValueError, TrainingDiverged)) else
                                " (--debug for the traceback)"), file=sys.stderr)
        return 1 if isinstance(e, TrainingDiverged) else 2


if __name__ == "__main__":
    sys.exit(main())
