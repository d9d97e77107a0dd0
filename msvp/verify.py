"""Re-training check: train a sample of committed runs again, into a fresh folder, and compare.

Where the fresh run shares the committed one's training-code fingerprint, device class, thread count
and precision, the numbers must be bit-identical: the same per-epoch history (timings aside) and
the same prediction for every test image. Elsewhere (another machine, another torch) they are
compared against the committed seed-to-seed spread of the same cell: a re-run should differ from its
original by about as much as two seeds differ, not more.
"""
from __future__ import annotations

import json
import random
import statistics
import time
from pathlib import Path

import pandas as pd

from .config import RunConfig
from .engine import run
from .environment import to_json
from .results import canonical, current_records, result_path
from .stats import signed
from .store import write_atomic

TIMING = ("train_time_s", "images_per_s")
PROVENANCE = ("fingerprint", "device_class", "threads", "precision")


def provenance(rec: dict) -> dict:
    env = rec.get("environment") or {}
    return {"fingerprint": canonical(rec.get("fingerprint")), **{k: env.get(k) for k in PROVENANCE[1:]}}


def sample(profile: str, root=None, *, per_cell: int = 1, seed: int = 0) -> list[dict]:
    """``per_cell`` committed records of each (dataset, backbone) cell, drawn with a fixed seed."""
    recs, _ = current_records(profile, root)
    done = [r for r in recs if r["status"] == "done"]
    cells = sorted({(r["config"]["dataset"], r["config"]["backbone"]) for r in done})
    rng, out = random.Random(seed), []
    for cell in cells:
        pool = sorted((r for r in done if (r["config"]["dataset"], r["config"]["backbone"]) == cell),
                      key=lambda r: r["path"])
        out += rng.sample(pool, min(per_cell, len(pool)))
    return out


def strip_timing(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in TIMING} for row in history]


def seed_spread_pp(profile: str, root, rec: dict, recs: list[dict] | None = None) -> float | None:
    """Std (pp) of the committed test accuracy over the seeds of the run's own cell and variant
    (``recs``: the profile's current records, when the caller has already read them)."""
    recs = current_records(profile, root)[0] if recs is None else recs
    c = rec["config"]
    accs = [r["test_acc"] for r in recs if r["status"] == "done" and r["variant"] == rec["variant"]
            and r["config"]["dataset"] == c["dataset"] and r["config"]["backbone"] == c["backbone"]]
    return 100 * statistics.stdev(accs) if len(accs) > 1 else None


def compare(committed: dict, fresh: dict) -> dict:
    """One row: same provenance?, bit-identical?, and the accuracy difference in pp."""
    same = provenance(committed) == provenance(fresh)
    identical = (strip_timing(committed["history"]) == strip_timing(fresh["history"])
                 and committed.get("test_pred") == fresh.get("test_pred") and committed["test_acc"] == fresh["test_acc"])
    return {"same_provenance": same, "bit_identical": identical,
            "committed_acc_pct": 100 * committed["test_acc"], "fresh_acc_pct": 100 * fresh["test_acc"],
            "diff_pp": 100 * (fresh["test_acc"] - committed["test_acc"]),
            "outcome": ("bit-identical" if identical else "DIFFERS (same code, device class, threads and precision)") if same
            else "compared with the seed spread (other code, device class, threads or precision)"}


def verify(profile: str, *, results=None, out="build/verify", per_cell: int = 1, seed: int = 0, data_root=None,
           report=None, log=print) -> pd.DataFrame:
    """Re-train the sample into ``out`` (a fresh folder), compare, and write the report JSON."""
    rows, out = [], Path(out)
    for rec in sample(profile, results, per_cell=per_cell, seed=seed):
        cfg = RunConfig.from_dict(rec["config"])
        t0 = time.perf_counter()
        fresh = run(cfg, out_path=result_path(out, profile, cfg), data_root=data_root, profile=profile,
                    progress=False, explain=False)
        row = {"dataset": cfg.dataset, "backbone": cfg.backbone, "variant": cfg.variant, "seed": cfg.seed,
               **compare(rec, fresh), "seed_spread_pp": seed_spread_pp(profile, results, rec),
               "committed_hardware": (rec.get("environment") or {}).get("hardware"),
               "fresh_hardware": fresh["environment"]["hardware"], "wall_time_s": time.perf_counter() - t0}
        log(f"{cfg.dataset}/{cfg.backbone}/{cfg.variant}/seed{cfg.seed}: {row['outcome']}, "
            f"Δ {signed(row['diff_pp'])} pp ({row['wall_time_s']:.0f} s)")
        rows.append(row)
    df = pd.DataFrame(rows)
    if report and rows:  # an empty sample writes nothing (the caller says why)
        write_atomic(report, to_json({"profile": profile, "date": time.strftime("%Y-%m-%d"), "rows": rows}))
    return df


def still_current(rows: pd.DataFrame, profile: str, root=None, recs: list[dict] | None = None) -> list[bool]:
    """For each report row: is the run it re-trained still a current committed record with the same
    accuracy? A report about a run that has since been replaced (new training code, re-trained)
    says nothing about the run now committed. (``recs`` as in ``seed_spread_pp``.)"""
    recs = current_records(profile, root)[0] if recs is None else recs
    acc = {(r["config"]["dataset"], r["config"]["backbone"], r["variant"], r["config"]["seed"]): 100 * r["test_acc"]
           for r in recs if r["status"] == "done"}
    return [abs(acc.get((r.dataset, r.backbone, r.variant, int(r.seed)), float("nan")) - r.committed_acc_pct) < 1e-9
            for r in rows.itertuples()]


def load_report(path) -> tuple[pd.DataFrame, dict]:
    """The verify report as a DataFrame, and its header (profile, date); empty if absent."""
    path = Path(path)
    if not path.exists():
        return pd.DataFrame(), {}
    data = json.loads(path.read_text())
    return pd.DataFrame(data["rows"]), {k: v for k, v in data.items() if k != "rows"}
