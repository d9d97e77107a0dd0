"""Results store: one JSON file per run, written atomically; loaded into a tidy DataFrame.

Layout: <root>/<profile>/<dataset>/<backbone>/<variant>/seed<k>.json, where root is ``--results``,
else ``$MSVP_RESULTS``, else ``results/``.
"""
from __future__ import annotations

import base64
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import torch

RESULTS_ENV = "MSVP_RESULTS"


class ResultsError(RuntimeError):
    pass


def results_root(root=None) -> Path:
    return Path(root or os.environ.get(RESULTS_ENV) or "results")


def result_path(root, profile: str, config) -> Path:
    """<root>/<profile>/<dataset>/<backbone>/<variant>/seed<k>.json; a profile whose runs differ in
    more than these (``Profile.path_fields``, e.g. the training-set size of ``scarce``) adds one folder
    level per field: .../<variant>/train_subset-540/seed<k>.json."""
    from .experiments import PROFILES
    base = results_root(root) / profile / config.dataset / config.backbone / config.variant
    fields = PROFILES[profile].path_fields if profile in PROFILES else ()
    for name in fields:
        base = base / f"{name}-{getattr(config, name)}"
    return base / f"seed{config.seed}.json"


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


def encode_bits(mask: torch.Tensor) -> dict:
    """A boolean vector as base64 packed bits (10,000 test images -> 1,668 characters)."""
    bits = np.packbits(np.asarray(mask.cpu(), dtype=bool), bitorder="little")
    return {"n": int(mask.numel()), "packbits": base64.b64encode(bits.tobytes()).decode()}


def decode_bits(d: dict | None) -> np.ndarray | None:
    if not d:
        return None
    raw = np.frombuffer(base64.b64decode(d["packbits"]), dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[:d["n"]].astype(bool)


def encode_labels(pred: torch.Tensor) -> dict:
    """Predicted class indices (< 256) as base64 bytes."""
    return {"n": int(pred.numel()), "uint8": base64.b64encode(pred.cpu().to(torch.uint8).numpy().tobytes()).decode()}


def decode_labels(d: dict | None) -> np.ndarray | None:
    return None if not d else np.frombuffer(base64.b64decode(d["uint8"]), dtype=np.uint8)[:d["n"]].astype(np.int64)


def staleness(rec: dict, config) -> str | None:
    """Why a record does not count for ``config`` under the current training code (None = it counts)."""
    from .environment import FINGERPRINT, is_current
    if rec.get("status") not in ("done", "diverged"):
        return f"unfinished (status {rec.get('status')!r})"
    # the device asked for is not part of a run's identity: the one used is in the environment,
    # and the statistics refuse to pair runs from different device classes
    want = config.to_dict()
    changed = sorted(k for k in set(rec["config"]) | set(want)
                     if k != "device" and rec["config"].get(k) != want.get(k))
    if changed:
        return "config changed: " + ", ".join(changed)
    if not is_current(rec.get("fingerprint")):
        return f"training code changed (fingerprint {rec.get('fingerprint')}, now {FINGERPRINT})"
    return None


def load_records(profile: str, root=None) -> list[dict]:
    """Every record file under the profile's folder, as stored (no currency check)."""
    base = results_root(root) / profile
    out = []
    for path in sorted(base.rglob("seed*.json")):
        rec = read_record(path)
        rec["path"] = str(path)
        out.append(rec)
    return out


def current_records(profile: str, root=None) -> tuple[list[dict], Counter]:
    """The records of the profile's configs that count for the current code, done or diverged, and a
    count of the files skipped by reason: stale (config or code), foreign (not a config of the
    profile), malformed."""
    from .experiments import get_profile
    base = results_root(root)
    wanted = {result_path(base, profile, c): c for c in get_profile(profile).configs()}
    kept, skipped = [], Counter()
    for path in sorted((base / profile).rglob("seed*.json")):
        if path not in wanted:
            skipped["foreign"] += 1
            continue
        try:
            rec = read_record(path)
        except ResultsError:
            skipped["malformed"] += 1
            continue
        reason = staleness(rec, wanted[path])
        if reason:
            skipped["stale"] += 1
            continue
        rec["path"] = str(path)
        kept.append(rec)
    return kept, skipped


def canonical(fingerprint: str | None) -> str | None:
    """A fingerprint as the current code names it (a verified-same earlier one maps to its successor),
    so that the pairing rules see two runs of numerically identical code as one code version."""
    from .environment import VERIFIED_SAME
    return VERIFIED_SAME.get(fingerprint, fingerprint)


def flatten(rec: dict) -> dict:
    c = rec["config"]
    env = rec.get("environment") or {}
    data = rec.get("data", {})
    params = rec.get("params", {})
    return {
        "profile": rec.get("profile"), "dataset": c["dataset"], "backbone": c["backbone"],
        "variant": rec["variant"], "prompt": c["prompt"], "fusion": c["fusion"], "seed": c["seed"],
        "status": rec.get("status"), "test_acc": rec.get("test_acc"),
        "test_acc_best_val": rec.get("test_acc_best_val"), "best_val_acc": rec.get("best_val_acc"),
        "best_epoch": rec.get("best_epoch"), "epochs": c["epochs"], "train_subset": c.get("train_subset"),
        "n_train": rec.get("n_train"),
        "n_val": rec.get("n_val"), "n_test": rec.get("n_test"),
        "params_backbone": params.get("backbone"), "params_prompt": params.get("prompt"),
        "wall_time_s": rec.get("wall_time_s"), "hardware": env.get("hardware"), "torch": env.get("torch"),
        "fingerprint": canonical(rec.get("fingerprint")), "device_class": env.get("device_class"),
        "threads": env.get("threads"), "precision": env.get("precision"),
        "correct": decode_bits(rec.get("test_correct")),
        "val_acc_curve": [h.get("val_acc") for h in rec.get("history", [])],
        "lr_curve": [h.get("lr") for h in rec.get("history", [])],  # the convergence caveat names the last one
        "data_variant": data.get("variant"), "data_n_train": data.get("n_train"), "data_n_test": data.get("n_test"),
        "path": rec.get("path"),
    }


def load(profile: str, root=None) -> pd.DataFrame:
    """The finished, current runs of a profile, one row per run (an empty frame with the columns if
    none). ``df.attrs``: 'diverged' (records of runs that diverged: shown, never averaged) and
    'skipped' (files not loaded, by reason); ``skipped_line(df)`` says both in one line."""
    return frame(*current_records(profile, root))


def frame(records: list[dict], skipped) -> pd.DataFrame:
    """The table ``load`` gives, from records already read (the book's one view reads them once)."""
    cols = list(flatten({"config": {"dataset": None, "backbone": None, "prompt": None, "fusion": None,
                                    "seed": None, "epochs": None}, "variant": None}))
    df = pd.DataFrame([flatten(r) for r in records if r["status"] == "done"], columns=cols)
    df.attrs["diverged"] = [flatten(r) for r in records if r["status"] == "diverged"]
    df.attrs["skipped"] = dict(skipped)
    return df


def skipped_line(df: pd.DataFrame) -> str:
    """e.g. 'Not counted: 2 diverged runs (cifar10/cnn/msvp-add-full seed 3, ...); 36 stale files.'"""
    parts = []
    if df.attrs.get("diverged"):
        names = ", ".join(f"{r['dataset']}/{r['backbone']}/{r['variant']} seed {r['seed']}" for r in df.attrs["diverged"])
        parts.append(f"{len(df.attrs['diverged'])} diverged run(s) ({names})")
    parts += [f"{n} {reason} file(s)" for reason, n in sorted(df.attrs.get("skipped", {}).items())]
    return ("Not counted: " + "; ".join(parts) + ".") if parts else ""
