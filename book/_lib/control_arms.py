"""Which runs the controls chapter (12) needs and has: its arms, cells, coverage and accuracies."""
from __future__ import annotations

import pandas as pd

from msvp.experiments import VARIANTS, get_profile
from msvp.stats import fmt_pct

from .names import cell_key, cell_name, short
from .words import hardware_label, training_label

BASE = "baseline"


REFERENCE = "msvp-add-full"


ARMS = ("control-pad", "control-fullres", "control-frozen", "msvp-add-global")


UNSTRUCTURED = ("control-pad", "control-fullres", "msvp-add-global")
"""Learned input biases without MSVP's multi-scale structure: if one of them does as well as MSVP,
the structure is not what helps. The frozen prompt keeps the structure and drops the learning."""


CHAPTER_VARIANTS = (BASE, REFERENCE) + ARMS


PROMPT_VARIANTS = tuple(v for v in VARIANTS if v != BASE)
"""Every prompt variant of the book, in registry order (MSVP scales × fusions, then controls)."""


def planned_cells(profile: str) -> tuple:
    part = get_profile(profile).part("controls")
    return tuple(part.cells) if part else ()


def chapter_cells(df: pd.DataFrame, profile: str | None = None) -> list[tuple[str, str]]:
    """Cells the chapter discusses: those the profile runs controls in, then any other cell whose
    results hold a control arm; in the profile's order, then sorted."""
    cells = list(planned_cells(profile)) if profile else []
    have = sorted({(d, b) for d, b, v in zip(df.dataset, df.backbone, df.variant) if v in ARMS}, key=cell_key)
    return cells + [c for c in have if c not in cells]


def plan_line(profile: str) -> str:
    """One sentence: where and with how many seeds the profile runs the controls."""
    part = get_profile(profile).part("controls")
    if part is None:
        return f"The `{profile}` profile runs no controls (the `cpu` profile does)."
    cells = ", ".join(cell_name(d, b) for d, b in part.cells)
    return (f"The `{profile}` profile runs the controls ({', '.join(short(v) for v in part.variants)}) on "
            f"{cells}, {len(part.seeds)} seed{'s' if len(part.seeds) != 1 else ''} each.")


def coverage(df: pd.DataFrame, profile: str) -> pd.DataFrame:
    """Per chapter cell and arm: seeds with a current result, seeds the profile plans, diverged runs
    (long format: one row per cell × arm that has results or is planned)."""
    planned: dict = {}
    for c in get_profile(profile).configs():
        planned.setdefault((c.dataset, c.backbone, c.variant), set()).add(c.seed)
    diverged: dict = {}
    for r in df.attrs.get("diverged", []):
        diverged.setdefault((r["dataset"], r["backbone"], r["variant"]), []).append(int(r["seed"]))
    rows = []
    for dataset, backbone in chapter_cells(df, profile):
        cell = df[(df.dataset == dataset) & (df.backbone == backbone)]
        for v in CHAPTER_VARIANTS:
            done = sorted(int(s) for s in cell.seed[cell.variant == v])
            plan = planned.get((dataset, backbone, v), set())
            if not done and not plan:
                continue
            div = sorted(diverged.get((dataset, backbone, v), []))
            rows.append({"cell": cell_name(dataset, backbone), "arm": short(v),
                         "seeds with results": len(done), "seeds planned": len(plan) if plan else "not planned",
                         "note": ("diverged: seed " + ", ".join(map(str, div))) if div else
                                 ("not run yet" if not done else "")})
    return pd.DataFrame(rows, columns=["cell", "arm", "seeds with results", "seeds planned", "note"])


def coverage_table(cov: pd.DataFrame) -> pd.DataFrame:
    """``coverage`` for reading: one row per arm, one column per cell, 'done / planned' seeds
    ('–' where the profile plans no such run)."""
    if cov.empty:
        return pd.DataFrame(columns=["arm"])
    cells = list(dict.fromkeys(cov.cell))
    arms = [short(v) for v in CHAPTER_VARIANTS if short(v) in set(cov.arm)]
    out = pd.DataFrame({"arm": arms})
    for c in cells:
        got = {r["arm"]: r for r in cov[cov.cell == c].to_dict("records")}
        col = []
        for a in arms:
            r = got.get(a)
            if r is None:
                col.append("–")
                continue
            done, planned = r["seeds with results"], r["seeds planned"]
            text = f"{done} / {planned}" if isinstance(planned, int) else f"{done} (not planned)"
            col.append(text + (f" ({r['note']})" if r["note"] else ""))
        out[f"{c}: seeds done / planned"] = col
    return out


def accuracy_table(df: pd.DataFrame, profile: str | None = None) -> pd.DataFrame:
    """Per arm (rows) and chapter cell (columns): the test accuracy of the last-epoch model, mean ± SD
    over the seeds with a result (%), so that each gain the chapter discusses can be read beside the
    accuracies behind it. '–' where an arm has no result in a cell."""
    cells = chapter_cells(df, profile)
    arms = [v for v in CHAPTER_VARIANTS if v in set(df.variant)]
    out = pd.DataFrame({"arm": [short(v) for v in arms]})
    for d, b in cells:
        col = []
        for v in arms:
            acc = df[(df.dataset == d) & (df.backbone == b) & (df.variant == v)].test_acc.astype(float)
            sd = acc.std(ddof=1) if len(acc) > 1 else None
            col.append(f"{fmt_pct(acc.mean(), sd)} ({len(acc)} seed{'s' if len(acc) != 1 else ''})"
                       if len(acc) else "–")
        out[f"{cell_name(d, b)}: test accuracy (%)"] = col
    return out


def provenance(df: pd.DataFrame, profile: str) -> list[str]:
    """Short lines: profile, hardware and data copies of the runs loaded."""
    out = [f"profile: {profile} — {get_profile(profile).description}"]
    out.append(f"hardware: {hardware_label(df)}")
    labels = [training_label(df, d) for d in sorted(set(df.dataset))]  # images actually trained on
    out.append("data: " + ("; ".join(labels) or "no runs loaded"))
    return out


def grid_only(profile: str) -> dict | None:
    """The ``only`` selection of ``msvp.grid.run_grid`` that trains this chapter's runs (None: the
    profile plans no controls)."""
    cells = planned_cells(profile)
    if not cells:
        return None
    known = {c.variant for c in get_profile(profile).configs()}
    return {"dataset": {d for d, _ in cells}, "backbone": {b for _, b in cells},
            "variant": {v for v in CHAPTER_VARIANTS if v in known}}


def needed_line(profile: str, results_dir, states: pd.DataFrame) -> str:
    """How many of the runs this chapter's comparisons use have a current result."""
    cells = set(planned_cells(profile))
    if not cells:
        return (f"The `{profile}` profile plans no control runs (the `cpu` profile runs them); "
                "this page shows whatever results exist.")
    mine = states[[(d, b) in cells and v in CHAPTER_VARIANTS
                   for d, b, v in zip(states.dataset, states.backbone, states.variant)]]
    missing = int(mine.state.isin(["missing", "stale"]).sum())
    if not missing:
        return f"All {len(mine)} runs this chapter needs have results."
    return (f"{missing} of the {len(mine)} runs this chapter needs have no current result in "
            f"{results_dir}; the page shows what exists. To train them, set RETRAIN = True or run "
            f"`python -m msvp grid --profile {profile}` (it skips finished runs).")
