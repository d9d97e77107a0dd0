"""Carry committed runs across a change of the fingerprint's definition, without re-training them all.

A migration is one recorded step: re-train a sample of the runs stamped with the old fingerprint
under the code loaded now, and require every one to be bit-identical (the same per-epoch history and
the same prediction for every test image). The evidence goes to ``results/verify/migrations.json``;
``environment.VERIFIED_SAME`` then names the old fingerprint (a code change someone reviews), and
``restamp`` rewrites the old records' stamp, keeping the old one beside it.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from .config import RunConfig
from .engine import run
from .environment import CODE_VERSION, FINGERPRINT, PACKAGE_DIR, VERIFIED_SAME, to_json
from .grid import select
from .results import checkpoint_path, load_records, read_record, result_path, results_root
from .store import write_atomic
from .verify import compare


def evidence_path(results=None) -> Path:
    """Where the migrations' evidence lives: results/verify/migrations.json of the results root (not
    of the working directory, so a chapter run from book/ and the CLI read the same file)."""
    return results_root(results) / "verify" / "migrations.json"


def stamped(profile: str, fingerprint: str, results=None) -> list[dict]:
    """The finished records of a profile stamped with ``fingerprint``."""
    return [r for r in load_records(profile, results) if r.get("fingerprint") == fingerprint and r["status"] == "done"]


def verify_migration(profile: str, old: str, *, only=None, results=None, out="build/migrate", data_root=None,
                     evidence=None, log=print) -> bool:
    """Re-train the records stamped ``old`` that ``only`` selects, under the current code; append the
    outcome to ``evidence``; True when every one is bit-identical."""
    recs = stamped(profile, old, results)
    by_config = {RunConfig.from_dict(r["config"]): r for r in recs}
    chosen = select(list(by_config), only)
    if not chosen:
        raise ValueError(f"no finished {profile} runs stamped {old} match --only {only!r}")
    rows = []
    for cfg in chosen:
        t0 = time.perf_counter()
        fresh = retrained(cfg, result_path(out, profile, cfg), profile, data_root)
        row = {"dataset": cfg.dataset, "backbone": cfg.backbone, "variant": cfg.variant, "seed": cfg.seed,
               **compare(by_config[cfg], fresh),
               "wall_time_s": fresh.get("wall_time_s", time.perf_counter() - t0)}   # the training, if reused
        log(f"{cfg.dataset}/{cfg.backbone}/{cfg.variant}/seed{cfg.seed}: "
            f"{'bit-identical' if row['bit_identical'] else 'DIFFERS'} ({row['wall_time_s']:.0f} s)")
        rows.append(row)
    ok = all(r["bit_identical"] for r in rows)
    evidence = Path(evidence) if evidence else evidence_path(results)
    entries = json.loads(Path(evidence).read_text()) if Path(evidence).exists() else []
    entries.append({"from": old, "to": FINGERPRINT, "profile": profile, "date": time.strftime("%Y-%m-%d"),
                    "git_commit": CODE_VERSION["git_commit"], "runs_stamped_from": len(recs),
                    "outcome": "bit-identical" if ok else "differs", "rows": rows})
    write_atomic(evidence, to_json(entries))
    return ok


def retrained(cfg: RunConfig, path: Path, profile: str, data_root) -> dict:
    """The run re-trained under the current code: a finished one already in ``path`` (an interrupted
    migration resumes), else trained now, checkpointed beside ``path``."""
    if path.exists():
        rec = read_record(path)
        if rec.get("status") == "done" and rec.get("fingerprint") == FINGERPRINT and rec["config"] == cfg.to_dict():
            return rec
    return run(cfg, out_path=path, checkpoint_path=checkpoint_path(path), data_root=data_root, profile=profile,
               progress=False, explain=False)


def proved(entry: dict) -> bool:
    """Does a recorded step show that its two fingerprints name the same computation? Either every
    re-trained run was bit-identical, or the same source bytes give both fingerprints."""
    if entry.get("outcome") == "same sources":
        return bool(entry.get("sources_sha"))
    return bool(entry.get("rows")) and all(r["bit_identical"] for r in entry["rows"])


def evidence_for(old: str, new: str, evidence=None) -> list[dict]:
    """The recorded, proved steps that lead from ``old`` to ``new`` (old -> a -> ... -> new), shortest
    first found; [] when there is no such chain."""
    evidence = Path(evidence) if evidence else evidence_path()
    if not Path(evidence).exists():
        return []
    steps = [e for e in json.loads(Path(evidence).read_text()) if proved(e)]
    paths = {old: []}
    frontier = [old]
    while frontier:
        here = frontier.pop(0)
        for e in steps:
            if e["from"] == here and e["to"] not in paths:
                paths[e["to"]] = paths[here] + [e]
                frontier.append(e["to"])
    return paths.get(new, []) if new != old else []


# Run by another interpreter: environment.py alone, torch stubbed (hashing needs the standard library)
HASHES_SCRIPT = """
import importlib.util, json, platform, sys, types
sys.modules.setdefault("torch", types.ModuleType("torch"))
spec = importlib.util.spec_from_file_location("msvp_environment", sys.argv[1])
env = importlib.util.module_from_spec(spec)
spec.loader.exec_module(env)
src = env.TRAINING_SOURCES
print(json.dumps({"python": platform.python_version(), "fingerprint": env.numerics_hash(src),
                  "unparse": env.numerics_hash(src, code=env.unparse_code), "sources_sha": env.source_hash(src)}))
"""


def hashes_under(python: str) -> dict:
    """Both definitions of the fingerprint of the sources on disk, computed by the interpreter
    ``python``: its version, 'fingerprint' (this definition), 'unparse' (the earlier one), 'sources_sha'."""
    try:
        out = subprocess.run([python, "-c", HASHES_SCRIPT, str(PACKAGE_DIR / "environment.py")],
                             capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        raise ValueError(f"could not hash the sources with {python}: {err}") from None
    return json.loads(out.stdout)


def record_same_sources(old: str, python: str = sys.executable, evidence=None) -> dict:
    """Record a step that needs no re-training: the sources on disk give ``old`` under the earlier
    definition on ``python`` and the current fingerprint under this one."""
    h = hashes_under(python)
    if h["unparse"] != old or h["fingerprint"] != FINGERPRINT:
        raise ValueError(f"on Python {h['python']} the sources hash to {h['unparse']} (ast.unparse) and "
                         f"{h['fingerprint']} (now), not {old} and {FINGERPRINT}: no same-sources step")
    entry = {"from": old, "to": FINGERPRINT, "outcome": "same sources", "date": time.strftime("%Y-%m-%d"),
             "python": h["python"], "git_commit": CODE_VERSION["git_commit"], "sources_sha": h["sources_sha"],
             "rows": []}
    evidence = Path(evidence) if evidence else evidence_path()
    entries = json.loads(evidence.read_text()) if evidence.exists() else []
    write_atomic(evidence, to_json(entries + [entry]))
    return entry


def restamp(profile: str, results=None, log=print) -> int:
    """Rewrite the stamp of every record whose fingerprint ``VERIFIED_SAME`` maps to the current one;
    the first stamp a record had is kept as ``fingerprint_trained``. Idempotent; returns the count."""
    n = 0
    for rec in load_records(profile, results):
        old = rec.get("fingerprint")
        if VERIFIED_SAME.get(old) != FINGERPRINT:
            continue
        path = Path(rec.pop("path"))
        stored = json.loads(path.read_text())   # as written, without the loader's additions
        stored.setdefault("fingerprint_trained", old)
        stored["fingerprint"] = FINGERPRINT
        write_atomic(path, to_json(stored))
        n += 1
    log(f"{profile}: {n} record(s) re-stamped {FINGERPRINT}")
    return n
