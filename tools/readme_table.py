#!/usr/bin/env python
"""Write the README's results table from results/, between its two markers.

One row per (data set, backbone, variant) that the profile plans (``msvp.experiments``), with the
finished, current runs that ``msvp.results.load(profile)`` returns: how many seeds of the planned
ones, the mean ± standard deviation (n - 1) of their top-1 test accuracy after the last epoch (the
paper's metric), and the command that trains exactly that row's missing runs. A row with no run
says "not run yet". Profiles: ``cpu`` always, ``paper`` once results/paper exists.

    python tools/readme_table.py           # rewrite the table in README.md (make readme)
    python tools/readme_table.py --check   # exit 1 if README.md does not hold the current table
"""
from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book"))   # the book layer's wording (_lib.words), as the chapters import it
README = ROOT / "README.md"
RESULTS = ROOT / "results"
BEGIN = "<!-- results-table:begin (written by tools/readme_table.py: make readme) -->"
END = "<!-- results-table:end -->"
PROFILES = ("cpu", "paper")
# The time left is given for the machine each profile is for: `make reproduce JOBS=2` on a 2-core
# machine (one worker per core), and tools/gpu_paper.sh's 6 workers sharing one GPU
WORKERS = {"cpu": 2, "paper": 6}
HOW = {"cpu": "`make reproduce JOBS=2`", "paper": "`tools/gpu_paper.sh` on one GPU"}


def command(profile: str, dataset: str, backbone: str, variant: str) -> str:
    return f"python -m msvp grid --profile {profile} --only dataset={dataset},backbone={backbone},variant={variant}"


def summary(profile: str, root: Path = RESULTS) -> list[dict]:
    """The rows of one profile's table, in the profile's order."""
    from _lib.words import data_title, dataset_label

    from msvp.datasets import DATASETS
    from msvp.experiments import get_profile
    from msvp.results import load

    planned: dict[tuple, set] = {}
    for cfg in get_profile(profile).configs():
        planned.setdefault((cfg.dataset, cfg.backbone, cfg.variant), set()).add(cfg.seed)
    df = load(profile, root)
    for key in df[["dataset", "backbone", "variant"]].drop_duplicates().itertuples(index=False):
        planned.setdefault(tuple(key), set())      # finished runs the profile no longer plans
    rows = []
    for (dataset, backbone, variant), seeds in planned.items():
        runs = df[(df.dataset == dataset) & (df.backbone == backbone) & (df.variant == variant)]
        acc = runs.drop_duplicates("seed").test_acc.astype(float)   # fractions, formatted as the book does
        label = DATASETS[dataset].title
        if data_title(df, dataset) != DATASETS[dataset].title:   # the profile's runs used another copy: name it
            label = dataset_label(df, dataset)
        rows.append({"dataset": dataset, "label": label,
                     "backbone": backbone, "variant": variant, "n": len(acc),
                     "planned": len(seeds), "mean": acc.mean() if len(acc) else None,
                     "std": acc.std(ddof=1) if len(acc) > 1 else None,
                     "command": command(profile, dataset, backbone, variant)})
    return rows


def progress_line(profile: str, root: Path = RESULTS) -> str:
    """'67 of 108 planned runs done; the 41 left would take about 71.8 h on 2 workers (...)', costed
    as chapter 11 costs them (finished runs alike, else the estimate `grid --plan` saved)."""
    from _lib.reproduce import todo_configs, view_time_left
    from _lib.view import View
    from _lib.words import duration, hardware_label

    view = View(profile, root)
    done, todo = int((view.states.state == "done").sum()), todo_configs(view)
    line = f"{done} of {len(view.states)} planned runs done"
    if not todo:
        return line + "."
    left, _ = view_time_left(view, todo, WORKERS[profile])
    when = (f"about {duration(left)} of wall time with {WORKERS[profile]} workers ({HOW[profile]})"
            if left == left else "a time that `python -m msvp grid --plan` estimates")
    hw = f" Finished runs: {hardware_label(view.df)}." if len(view.df) else ""
    return (f"{line}; the {len(todo)} left would take {when}, each run costed at the median time of "
            f"finished runs like it, else at the estimate `grid --plan` saved in `results/plans/`.{hw}")


def accuracy(row: dict) -> str:
    if not row["n"]:
        return "not run yet"
    from msvp.stats import fmt_pct  # the book's formatter, so both round the same means alike

    return fmt_pct(row["mean"], row["std"]) + ("" if row["std"] is not None else " (one seed)")


def table(profile: str, root: Path = RESULTS) -> str:
    from _lib.names import backbone_title

    rows = summary(profile, root)
    out = [f"Profile `{profile}` (`results/{profile}/`): {progress_line(profile, root)}", "",
           "| Data set | Backbone | Variant | Seeds | Test accuracy (%) | Reproduce |",
           "| --- | --- | --- | ---: | ---: | --- |"]
    for r in rows:
        out.append(f"| {r['label']} | {backbone_title(r['backbone'])} "
                   f"| {r['variant']} | {r['n']} of {r['planned']} | {accuracy(r)} | `{r['command']}` |")
    return "\n".join(out)


def render(root: Path = RESULTS) -> str:
    """The text between the markers (markers excluded)."""
    parts = [table(p, root) for p in PROFILES if p == "cpu" or (root / p).is_dir()]
    return "\n" + "\n\n".join(parts) + "\n"


def replace(readme: str, body: str) -> str:
    if readme.count(BEGIN) != 1 or readme.count(END) != 1 or readme.index(BEGIN) > readme.index(END):
        raise ValueError(f"README.md must hold the markers {BEGIN!r} and {END!r}, once each, in that order")
    head, rest = readme.split(BEGIN)
    _, tail = rest.split(END)
    return head + BEGIN + body + END + tail


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if README.md's table is not current")
    a = ap.parse_args(argv)
    old = README.read_text()
    new = replace(old, render())
    if a.check:
        if new != old:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                       "README.md", "README.md (current results)"))
            print("README.md's results table is not current: make readme", file=sys.stderr)
            return 1
        print("README.md's results table is current")
        return 0
    if new != old:
        README.write_text(new)
        print("wrote the results table of README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
