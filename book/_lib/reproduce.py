"""Chapter 11: what each profile plans and has done, and the `make verify` outcome."""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from msvp.estimates import load_estimates
from msvp.experiments import PROFILES, core_shares, cost_key, get_profile, wall_time
from msvp.results import current_records, results_root
from msvp.stats import signed as pp  # '+0.12', '−0.05'
from msvp.verify import load_report, seed_spread_pp, still_current

from .chapter import Page, key_results, md, table
from .gpu_runs import GPU_PROFILE
from .names import (
    BACKBONE_ORDER,
    backbone_title,
    cell_name,
    label,
    ordered,
)
from .protocol import parts_table
from .view import View
from .words import (
    duration,
    hardware_label,
    plural,
)

CI_ONLY = tuple(name for name, p in PROFILES.items() if p.description.startswith("CI only"))
"""The profiles `make smoke` (and so `make test`) trains into build/results: never committed, so the
committed results/ hold none of their runs by design, not because they are still to train."""


def workers_label(workers: int) -> str:
    return "one worker" if workers == 1 else f"{workers} workers"


def uncommitted(name: str, done: int) -> bool:
    """A CI-only profile with no run in the results folder read (the committed one)."""
    return name in CI_ONLY and not done


def per_backbone_median(df: pd.DataFrame) -> str:
    """'CNN 21.5 min; ViT-Tiny 4.3 h': a median per backbone, since one median over runs minutes and
    hours long describes neither; '–' without runs."""
    if df.empty:
        return "–"
    return "; ".join(f"{backbone_title(b)} {duration(df[df.backbone == b].wall_time_s.astype(float).median())}"
                     for b in BACKBONE_ORDER if (df.backbone == b).any())


GPU_WORKERS = 6
"""Workers sharing one GPU in tools/gpu_paper.sh (its default JOBS): the `paper` profile's time left is
given for them, whatever the page's CPU worker count."""


def profile_workers(profile: str, workers: int) -> int:
    """The workers a profile's time left is given for: the GPU recipe's for `paper`, else the page's."""
    return GPU_WORKERS if profile == GPU_PROFILE else workers


LEFT = "time left"
"""The column of ``profile_runs_table`` with the time the runs still to train would take."""


def left_text(left: float, todo: list, workers: int) -> str:
    """'40.6 h on 2 workers'; 'none left' with nothing to train; '–' where no time could be costed."""
    if not todo:
        return "none left"
    return f"{duration(left)} on {workers_label(workers)}" if math.isfinite(left) else "–"


def profile_runs_table(results_dir, workers: int = 1) -> pd.DataFrame:
    """Per profile: runs planned and done, wall time per run (recorded), the wall time the runs still
    to train would take on its workers (``profile_workers``) taking them in plan order (costed as
    `grid --plan` does: ``time_left``), hardware."""
    rows, how, ci = [], {}, []
    for name in PROFILES:
        view = View(name, results_dir)
        df, states = view.df, view.states
        row = {"profile": name, "planned runs": len(states), "done": len(df),
               "diverged": len(df.attrs.get("diverged", []))}
        todo = todo_configs(view)
        n_workers = profile_workers(name, workers)
        left, how[name] = view_time_left(view, todo, n_workers)
        w = df.wall_time_s.astype(float)
        ci += [name] if uncommitted(name, len(df)) else []
        row.update({"time per run (median)": per_backbone_median(df), "compute time of finished runs":
                    duration(w.sum()) if len(w) else "–",
                    LEFT: "–" if name in ci else left_text(left, todo, n_workers),
                    "hardware": hardware_label(df) if len(df) else
                    "none committed: CI only" if name in ci else "not run yet"})
        rows.append(row)
    out = pd.DataFrame(rows)
    # per profile, the runs costed at a saved estimate, at the profile's median, and not at all; a
    # CI-only profile's runs are not left to train here (they are never committed): ``ci`` names them
    for way in ("saved", "guessed", "unknown"):
        out.attrs[way] = {k: h[way] for k, h in how.items() if h[way] and k not in ci}
    out.attrs["ci"] = ci
    return out


def _counts(by_profile: dict) -> str:
    return "; ".join(f"`{k}` {plural(n, 'run')}" for k, n in by_profile.items()) + "."


def todo_configs(view: View) -> list:
    """The profile's missing and stale runs in plan order (diverged runs are not re-trained)."""
    return [c for c, state in zip(get_profile(view.profile).configs(), view.states.state)
            if state in ("missing", "stale")]


def view_time_left(view: View, todo: list, workers: int) -> tuple[float, dict[str, int]]:
    """``time_left`` of a profile's view: its records and the estimates `grid --plan` saved beside them."""
    return time_left(view.records, todo, load_estimates(results_root(view.results_dir), view.profile), workers,
                     core_shares(view.profile, todo))


def time_left(records: list[dict], todo: list, saved: dict, workers: int,
              shares: list[float] | None = None) -> tuple[float, dict[str, int]]:
    """Wall time of the runs ``todo`` on ``workers`` workers in plan order, and how many runs were
    costed which way. As `grid --plan`, a run is costed at the median wall time of the finished
    ``records`` alike in ``COST_FIELDS`` (data set, backbone, precision, epochs, training-set size,
    threads); a cell with none yet at the estimate `grid --plan` saved for it (``saved``), else at the
    median of all finished runs; a run with none of these is 'unknown' and makes the total NaN.
    ``shares``: the workers' cores each run takes (``core_shares``)."""
    done: dict[tuple, list[float]] = {}
    for r in records:
        if r["status"] == "done" and r.get("wall_time_s"):
            done.setdefault(cost_key(r["config"]), []).append(float(r["wall_time_s"]))
    every = [t for ts in done.values() for t in ts]
    fallback = float(np.median(every)) if every else math.nan
    costs, how = [], {"saved": 0, "guessed": 0, "unknown": 0}
    for cfg in todo:
        k = cost_key(cfg)
        if k in done:
            cost = float(np.median(done[k]))
        elif k in saved:
            cost = 60 * float(saved[k]["min_per_run"])
            how["saved"] += 1
        else:
            cost = fallback
            how["guessed" if math.isfinite(fallback) else "unknown"] += 1
        costs.append(cost)
    return wall_time(costs, workers, shares), how


def verify_table(path) -> tuple[pd.DataFrame, str]:
    """The `make verify` report (re-trained runs compared with the committed ones), for readers."""
    df, head = load_report(path)
    if df.empty:
        return df, f"not run yet: `make verify` writes {Path(path).name} into results/verify/"
    profile, root = head.get("profile", "cpu"), Path(path).parent.parent   # results/verify/x.json
    recs = current_records(profile, root)[0]   # read once: both columns below compare against them
    current = still_current(df, profile, root, recs)
    # the spread of the seeds committed now, not of those there were when verify ran
    spread = [seed_spread_pp(profile, root, {"variant": r.variant, "config": {"dataset": r.dataset,
                                                                               "backbone": r.backbone}}, recs)
              for r in df.itertuples()]
    out = pd.DataFrame({
        "run": [f"{cell_name(r.dataset, r.backbone)} · {label(r.variant)} · seed {r.seed}" for r in df.itertuples()],
        "outcome": [o if ok else f"{o} (the committed run has since been replaced: run `make verify` again)"
                    for o, ok in zip(df.outcome, current)],
        "committed (%)": [f"{x:.2f}" for x in df.committed_acc_pct],
        "re-trained (%)": [f"{x:.2f}" for x in df.fresh_acc_pct],
        "Δ (pp)": [pp(x) for x in df.diff_pp],
        "seed SD of the cell now (pp)": [f"{x:.2f}" if x is not None else "–" for x in spread],
        "time": [duration(x) for x in df.wall_time_s]})
    same = df[df.same_provenance.astype(bool)]
    k, n = int(same.bit_identical.astype(bool).sum()), len(same)
    alike = f"all {n}" if n == len(df) else f"{n} of them"
    which = ("it" if n == 1 else f"all {k}") if k == n else f"{k} of these {n}"
    summary = (f"{plural(len(df), 'run')} re-trained on {', '.join(sorted(set(df.fresh_hardware.astype(str))))}; "
               f"{alike} had the committed run's training code, hardware, thread count and precision, and {which} "
               "came out bit-identical (history and every test prediction)")
    if not all(current):
        summary += f"; {len(df) - sum(current)} of the re-trained runs are no longer the committed ones"
    summary += unverified_cells(df, recs)
    return out, f"profile `{head.get('profile')}`, run on {head.get('date')}: {summary}"


def unverified_cells(report: pd.DataFrame, recs: list[dict]) -> str:
    """'; not re-trained yet: CIFAR-10 · ViT-Tiny (2 committed runs)': the cells with committed runs
    that the report has no re-trained run of (they finished after `make verify` ran)."""
    done = set(zip(report.dataset, report.backbone))
    left = Counter((r["config"]["dataset"], r["config"]["backbone"]) for r in recs
                   if r.get("status") == "done" and (r["config"]["dataset"], r["config"]["backbone"]) not in done)
    if not left:
        return ""
    return "; not re-trained yet: " + ", ".join(f"{cell_name(*c)} ({plural(left[c], 'committed run')})"
                                                 for c in ordered(set(left)))


class ReproduceChapter(Page):
    """Chapter 11: what each profile trains, how far each has come, and the `make verify` outcome of
    ``profile``."""

    def parts(self) -> None:
        table(parts_table())

    def runs(self, workers: int = 1) -> None:
        t = profile_runs_table(self.results_dir, workers)
        table(t)
        notes = [f"Time left is for the workers it names taking the runs in plan order: {workers_label(workers)} "
                 f"for the CPU profiles, as `make reproduce JOBS={workers}` would train them, and the {GPU_WORKERS} "
                 f"that `tools/gpu_paper.sh` runs on one GPU for `{GPU_PROFILE}`; another `JOBS=` gives another time "
                 "(`python -m msvp grid --profile <name> --jobs N --plan` prints it)."]
        ci = t.attrs["ci"]
        if ci:
            one = len(ci) == 1
            notes.append(" and ".join(f"`{k}`" for k in ci) + f" {'runs' if one else 'run'} in CI only: `make smoke` "
                         f"(part of `make test`) trains {'it' if one else 'them'} into build/results and never "
                         f"commits the runs, so none is done here by design, and none is left to train.")
        if t.attrs["saved"]:
            notes.append("Runs of a cell with no finished run yet are costed at the estimate `grid --plan` saved for "
                         "it (`results/plans/`: a short warm-up of real training steps, or the cell's runs when it saved): "
                         + _counts(t.attrs["saved"]))
        if t.attrs["guessed"]:
            notes.append("Runs of a cell with neither a finished run nor a saved estimate are costed at their "
                         "profile's median, which a slower backbone can exceed several times (`python -m msvp grid "
                         "--profile <name> --plan` measures them): " + _counts(t.attrs["guessed"]))
        if t.attrs["unknown"]:
            notes.append("A profile with nothing finished and no saved estimate has no time left to show (–) until "
                         "`grid --plan` measures it: " + _counts(t.attrs["unknown"]))
        md(" ".join(notes))

    def verify(self) -> None:
        verify, when = verify_table(Path(self.results_dir) / "verify" / f"{self.profile}.json")
        md(f"`make verify`: {when}.")
        if len(verify):
            table(verify)

    def key_results(self, workers: int = 1) -> None:
        """Per profile, runs done of planned and the time the rest would take; the verify outcome."""
        t = profile_runs_table(self.results_dir, workers)
        lines = [profile_line(r) for r in t.to_dict("records") if r["planned runs"]]
        _, when = verify_table(Path(self.results_dir) / "verify" / f"{self.profile}.json")
        key_results(lines + [f"`make verify` ({self.profile}): {when}."])


def profile_line(row: dict) -> str:
    """'`cpu`: 70 of 108 planned runs done; the rest would take 66.3 h on 2 workers.', or for a CI-only
    profile with nothing here, that `make smoke` trains its runs and never commits them."""
    name, planned = row["profile"], row["planned runs"]
    if uncommitted(name, row["done"]):
        return (f"`{name}`: CI only — `make smoke` (part of `make test`) trains its {planned:,} runs into "
                "build/results; they are never committed.")
    return f"`{name}`: {row['done']:,} of {planned:,} planned runs done{left_phrase(row)}."


def left_phrase(row: dict) -> str:
    """'; all done' only when every planned run is; else the time the rest would take, or that nothing
    has measured it yet (a profile with no finished run and no saved estimate shows '–')."""
    left = row[LEFT]
    if row["done"] >= row["planned runs"]:
        return "; all done"
    if left in ("–", "none left") or left.startswith("0 s"):
        return "; the time the rest needs is not measured yet (`grid --plan` measures it)"
    return f"; the rest would take {left}"
