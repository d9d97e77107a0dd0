"""Results store: one JSON file per run, written atomically; loaded into a tidy DataFrame.

Layout: <root>/<profile>/<dataset>/<backbone>/<variant>/seed<k>.json, where root is ``--results``,
else ``$MSVP_RESULTS``, else ``results/``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

RESULTS_ENV = "MSVP_RESULTS"


class ResultsError(RuntimeError):
    pass


def results_root(root=None) -> Path:
    return Path(root or os.environ.get(RESULTS_ENV) or "results")


def result_path(root, profile: str, config) -> Path:
    return results_root(root) / profile / config.dataset / config.backbone / config.variant / f"seed{config.seed}.json"


def checkpoint_path(result: Path) -> Path:
    """Epoch checkpoints sit beside the result they will become (ignored by git)."""
    return result.with_suffix(".ckpt.pt")


def read_record(path: Path) -> dict:
    try:
        rec = json.loads(Path(path).read_text())
        for key in ("dataset", "backbone", "prompt", "fusion", "seed", "epochs"):
            rec["config"][key]  # noqa: B018 - a record without its config is malformed
        rec["variant"]  # noqa: B018
        return rec
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise ResultsError(f"malformed result file {path}: {type(e).__name__}: {e}") from e


def load_records(profile: str, root=None) -> list[dict]:
    base = results_root(root) / profile
    out = []
    for path in sorted(base.rglob("seed*.json")):
        rec = read_record(path)
        rec["path"] = str(path)
        out.append(rec)
    return out


def flatten(rec: dict) -> dict:
    c = rec["config"]
    env = rec.get("environment", {})
    data = rec.get("data", {})
    params = rec.get("params", {})
    return {
        "profile": rec.get("profile"), "dataset": c["dataset"], "backbone": c["backbone"],
        "variant": rec["variant"], "prompt": c["prompt"], "fusion": c["fusion"], "seed": c["seed"],
        "status": rec.get("status"), "test_acc": rec.get("test_acc"),
        "test_acc_best_val": rec.get("test_acc_best_val"), "best_val_acc": rec.get("best_val_acc"),
        "best_epoch": rec.get("best_epoch"), "epochs": c["epochs"], "n_train": rec.get("n_train"),
        "n_val": rec.get("n_val"), "n_test": rec.get("n_test"),
        "params_backbone": params.get("backbone"), "params_prompt": params.get("prompt"),
        "wall_time_s": rec.get("wall_time_s"), "hardware": env.get("hardware"), "torch": env.get("torch"),
        "data_variant": data.get("variant"), "data_n_train": data.get("n_train"), "data_n_test": data.get("n_test"),
        "path": rec.get("path"),
    }


def load(profile: str, root=None) -> pd.DataFrame:
    """All finished runs of a profile, one row per run (empty frame with the columns if none)."""
    rows = [flatten(r) for r in load_records(profile, root) if r.get("status") == "done"]
    cols = list(flatten({"config": {"dataset": None, "backbone": None, "prompt": None, "fusion": None,
                                    "seed": None, "epochs": None}, "variant": None}))
    return pd.DataFrame(rows, columns=cols)
