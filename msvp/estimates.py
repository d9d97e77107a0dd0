"""The per-cell time estimates that `grid --plan` measured, kept so that the book can cost the runs
of a cell that has no finished run yet the same way the command line does (the book layer never
measures or trains). One JSON file per profile, ``<results>/plans/<profile>.json``: a row per cell
(``experiments.COST_FIELDS``) with its minutes per run, where they came from (``measured`` on finished
runs or a ``warm-up`` of real training steps), the hardware and the date. A later `--plan` updates the
rows it measured and keeps the others.
"""
from __future__ import annotations

import datetime
import json
from pathlib import Path

from .experiments import COST_FIELDS, cost_key
from .store import write_atomic


def estimates_path(results, profile: str) -> Path:
    return Path(results) / "plans" / f"{profile}.json"


def load_estimates(results, profile: str) -> dict[tuple, dict]:
    """Rows of the profile's saved estimates by cost key; empty if `grid --plan` never saved any (or
    the file cannot be read: an estimate is a convenience, never a reason to fail a page)."""
    try:
        rows = json.loads(estimates_path(results, profile).read_text())["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {cost_key(r): r for r in rows if isinstance(r, dict) and all(f in r for f in COST_FIELDS)}


def with_threads(hardware: str, threads: int) -> str:
    """'AMD EPYC (1 thread)' -> 'AMD EPYC (2 threads)' for a row measured on 2: the planning process's
    own thread count is whichever cell it measured last. A GPU's name has no count and stays."""
    if " (" not in hardware:
        return hardware
    return f"{hardware.split(' (')[0]} ({threads} thread{'s' if threads != 1 else ''})"


def save_estimates(results, profile: str, rows: list[dict], hardware: str) -> Path:
    """Merge ``rows`` (``plan.per_cell``) into the profile's file, each stamped with hardware and date."""
    today = datetime.date.today().isoformat()
    cells = load_estimates(results, profile)
    for r in rows:
        cells[cost_key(r)] = {**{f: r[f] for f in COST_FIELDS}, "min_per_run": round(float(r["min_per_run"]), 2),
                              "source": r["source"], "hardware": with_threads(hardware, r["threads"]), "date": today}
    path = estimates_path(results, profile)
    write_atomic(path, json.dumps({"profile": profile, "cells": list(cells.values())}, indent=1) + "\n")
    return path
