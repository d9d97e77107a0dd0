"""Command line: python -m msvp {train,grid,data,accounting} ... (``--help`` on each)."""
from __future__ import annotations

import argparse
import sys
from dataclasses import fields

from .backbones import BACKBONES
from .datasets import DATASETS
from .prompting import FUSIONS, SCALE_SETS


class OneLineErrors(argparse.ArgumentParser):
    """A bad flag or value gets one line naming the valid choices, not a usage dump."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_train(sub):
    from .engine import PRECISIONS, SCHEDULES, RunConfig
    p = sub.add_parser("train", help="one training run")
    p.add_argument("--dataset", choices=list(DATASETS), default="mnist")
    p.add_argument("--backbone", choices=list(BACKBONES), default="cnn")
    p.add_argument("--prompt", choices=["none"] + list(SCALE_SETS), default="none", help="none = baseline")
    p.add_argument("--fusion", choices=list(FUSIONS), default="add")
    p.add_argument("--schedule", choices=list(SCHEDULES), default="cosine")
    p.add_argument("--precision", choices=list(PRECISIONS), default="auto")
    defaults = RunConfig()
    for f in fields(RunConfig):
        if f.name in ("dataset", "backbone", "prompt", "fusion", "schedule", "precision"):
            continue
        typ = {"lr": float, "weight_decay": float, "device": str}.get(f.name, int)
        p.add_argument("--" + f.name.replace("_", "-"), type=typ, default=getattr(defaults, f.name))
    p.add_argument("--out", help="write the result JSON here")
    p.add_argument("--data-root", default="data")


def add_grid(sub):
    from .grid import PROFILES
    p = sub.add_parser("grid", help="run a profile's grid, skipping finished runs")
    p.add_argument("--profile", choices=list(PROFILES), required=True)
    p.add_argument("--only", help="filter, e.g. dataset=mnist,backbone=cnn|vit")
    p.add_argument("--shard", help="i/n: run every n-th job starting at i")
    p.add_argument("--force", action="store_true", help="re-run even if a result exists")
    p.add_argument("--results", help="results root (default $MSVP_RESULTS or results/)")
    p.add_argument("--data-root", default="data")
    p.add_argument("--list", action="store_true", help="list the runs and whether they exist; train nothing")
    p.add_argument("--plan", action="store_true", help="count the missing runs and estimate their time "
                                                      "from a short measured warm-up; train nothing")


def cmd_train(a):
    from .engine import RunConfig, run
    kw = {f.name: getattr(a, f.name) for f in fields(RunConfig)}
    kw["prompt"] = None if a.prompt == "none" else a.prompt
    rec = run(RunConfig(**kw), out_path=a.out, data_root=a.data_root, progress=True)
    print(f"test accuracy {rec['test_acc']:.4f} (last epoch), {rec['test_acc_best_val']:.4f} (best validation)")


def cmd_grid(a):
    from .grid import run_grid
    shard = None
    if a.shard:
        i, _, n = a.shard.partition("/")
        if not (i.isdigit() and n.isdigit()):
            raise ValueError(f"--shard must look like 0/4, got {a.shard!r}")
        shard = (int(i), int(n))
    s = run_grid(a.profile, only=a.only, shard=shard, force=a.force, results=a.results,
                 data_root=a.data_root, train=not (a.list or a.plan))
    if a.plan:
        return print_plan(a, s)
    for p in s["missing"]:
        print("missing", p)
    print(f"{len(s['done'])} trained, {len(s['skipped'])} already done, {len(s['missing'])} missing, "
          f"{len(s['failed'])} diverged")
    return 1 if s["failed"] else 0


def print_plan(a, summary) -> int:
    from .grid import get_profile, select
    from .plan import estimate
    from .results import result_path

    missing = {str(p) for p in summary["missing"]}
    todo = [c for c in select(get_profile(a.profile).configs(), a.only)
            if str(result_path(a.results, a.profile, c)) in missing]
    print(f"profile {a.profile}: {len(summary['skipped'])} runs done, {len(todo)} to train")
    if todo:
        est = estimate(todo, a.data_root)
        print(f"estimated time: {est['seconds'] / 60:.0f} min on {est['hardware']} "
              f"(from a {len(est['per_cell_ms_per_image'])}-cell warm-up; ms per training image: "
              + ", ".join(f"{k} {v}" for k, v in est["per_cell_ms_per_image"].items()) + ")")
    return 0


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


def main(argv=None) -> int:
    ap = OneLineErrors(prog="python -m msvp", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=OneLineErrors)
    add_train(sub)
    add_grid(sub)
    d = sub.add_parser("data", help="dataset status / fetch")
    d.add_argument("action", choices=["status", "fetch"])
    d.add_argument("name", nargs="?", choices=list(DATASETS))
    d.add_argument("--data-root", default="data")
    acc = sub.add_parser("accounting", help="parameters, FLOPs and latency table")
    acc.add_argument("--no-latency", action="store_true")
    acc.add_argument("--repeats", type=int, default=7)
    acc.add_argument("--out", default="results/accounting/cpu.json")
    a = ap.parse_args(argv)
    from .data import DataError
    from .results import ResultsError
    try:
        return {"train": cmd_train, "grid": cmd_grid, "data": cmd_data, "accounting": cmd_accounting}[a.cmd](a) or 0
    except (ValueError, DataError, ResultsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
