"""Chapter 11: what each profile plans and has done, and the `make verify` outcome."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from msvp.experiments import PROFILES, wall_time
from msvp.results import current_records
from msvp.stats import signed as pp  # '+0.12', '−0.05'
from msvp.verify import load_report, seed_spread_pp, still_current

from .chapter import Page, key_results, md, table
from .names import (
    cell_name,
    label,
)
from .protocol import parts_table
from .view import View
from .words import (
    duration,
    hardware_label,
    plural,
)


def workers_label(workers: int) -> str:
    return "one worker" if workers == 1 else f"{workers} workers"


def profile_runs_table(results_dir, workers: int = 1) -> pd.DataFrame:
    """Per profile: runs planned and done, wall time per run (recorded), the wall time the runs still
    to train would take on ``workers`` workers taking them in plan order, hardware. Like `grid --plan`,
    a run left is costed at the median of its own cell's finished runs (the profile's median where its
    cell has none yet)."""
    rows, left_col, guessed = [], f"time left, {workers_label(workers)}", {}
    for name in PROFILES:
        view = View(name, results_dir)
        df, states = view.df, view.states
        todo = states[states.state.isin(["missing", "stale"])]   # not diverged ones
        row = {"profile": name, "planned runs": len(states), "done": len(df),
               "diverged": len(df.attrs.get("diverged", []))}
        if df.empty:
            row.update({"time per run (median)": "–", "compute time of finished runs": "–",
                        left_col: "–", "hardware": "not run yet"})
        else:
            w = df.wall_time_s.astype(float)
            cell = w.groupby([df.dataset, df.backbone]).median()
            left = wall_time([cell.get((r.dataset, r.backbone), w.median()) for r in todo.itertuples()], workers)
            guessed[name] = sum((r.dataset, r.backbone) not in cell for r in todo.itertuples())
            row.update({"time per run (median)": duration(w.median()),
                        "compute time of finished runs": duration(w.sum()),
                        left_col: duration(left), "hardware": hardware_label(df)})
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["guessed"] = {k: n for k, n in guessed.items() if n}   # runs costed at the profile's median
    return out


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
        "seed spread now (pp)": [f"{x:.2f}" if x is not None else "–" for x in spread],
        "time": [duration(x) for x in df.wall_time_s]})
    same = df[df.same_provenance.astype(bool)]
    k, n = int(same.bit_identical.astype(bool).sum()), len(same)
    alike = f"all {n}" if n == len(df) else f"{n} of them"
    which = ("it" if n == 1 else f"all {k}") if k == n else f"{k} of these {n}"
    summary = (f"{plural(len(df), 'run')} re-trained on {', '.join(sorted(set(df.fresh_hardware.astype(str))))}; "
               f"{alike} had the committed run's training code, hardware and thread count, and {which} came out "
               f"bit-identical (history and every test prediction)")
    if not all(current):
        summary += f"; {len(df) - sum(current)} of the re-trained runs are no longer the committed ones"
    return out, f"profile `{head.get('profile')}`, run on {head.get('date')}: {summary}"


class ReproduceChapter(Page):
    """Chapter 11: what each profile trains, how far each has come, and the `make verify` outcome of
    ``profile``."""

    def parts(self) -> None:
        table(parts_table())

    def runs(self, workers: int = 1) -> None:
        t = profile_runs_table(self.results_dir, workers)
        table(t)
        if t.attrs["guessed"]:
            md("Runs of a cell with no finished run yet are costed at their profile's median, which a slower "
               "backbone can exceed several times: " + "; ".join(
                   f"`{k}` {plural(n, 'run')}" for k, n in t.attrs["guessed"].items()) + ".")

    def verify(self) -> None:
        verify, when = verify_table(Path(self.results_dir) / "verify" / f"{self.profile}.json")
        md(f"`make verify`: {when}.")
        if len(verify):
            table(verify)

    def key_results(self, workers: int = 1) -> None:
        """Per profile, runs done of planned and the time the rest would take; the verify outcome."""
        t, on = profile_runs_table(self.results_dir, workers), workers_label(workers)
        lines = [f"`{r['profile']}`: {r['done']:,} of {r['planned runs']:,} planned runs done"
                 + (f"; the rest would take {r['time left, ' + on]} on {on}"
                    if r["time left, " + on] not in ("–", "0 s") else "") + "."
                 for r in t.to_dict("records") if r["planned runs"]]
        _, when = verify_table(Path(self.results_dir) / "verify" / f"{self.profile}.json")
        key_results(lines + [f"`make verify` ({self.profile}): {when}."])
