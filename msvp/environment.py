"""What produced a result: hardware, library versions, code version."""
from __future__ import annotations

import ast
import hashlib
import json
import math
import platform
import subprocess
from pathlib import Path

import torch

PACKAGE_DIR = Path(__file__).resolve().parent


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(device) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    n = torch.get_num_threads()
    return f"{cpu_name()} ({n} thread{'s' if n != 1 else ''})"


def git_commit() -> str:
    """Commit of the code as it was when this process imported it ('-dirty' if it had edits)."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=40"], cwd=PACKAGE_DIR,
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# The modules that decide a run's numbers: settings, data splits, loader, models, training loop.
# Not here: data.py (reads files; their contents are pinned by sha256 in each record), engine.py
# (checkpoints, records), experiments.py (the registry: a variant's numerics are its RunConfig.prompt
# and .fusion, stored with each run) and everything for the book.
TRAINING_SOURCES = ("config.py", "datasets.py", "splits.py", "loader.py", "prompting.py", "models.py",
                    "backbones/*.py", "training.py")


def source_hash(patterns) -> str:
    """sha256 over the named package sources (path and bytes), first 16 hex digits."""
    h = hashlib.sha256()
    for f in _files(patterns):
        h.update(f.relative_to(PACKAGE_DIR).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _files(patterns, root: Path = PACKAGE_DIR) -> list[Path]:
    return sorted({f for pat in patterns for f in Path(root).glob(pat)})


def module_name(path: Path, root: Path = PACKAGE_DIR) -> str:
    """msvp/backbones/vit.py -> 'msvp.backbones.vit'; msvp/backbones/__init__.py -> 'msvp.backbones'."""
    parts = ("msvp",) + path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def code_of(source: str) -> str:
    """The code of a module without comments, docstrings or layout: ``ast.unparse`` of its tree with
    every docstring dropped. Comments never reach the tree; unparse normalises quotes and spacing."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def numerics_hash(patterns, root: Path = PACKAGE_DIR) -> str:
    """sha256 over (module name, code without comments and docstrings) of the named sources, first 16
    hex digits: a why-comment or a moved file keeps it; any change to what runs moves it."""
    h = hashlib.sha256()
    for name, code in sorted((module_name(f, root), code_of(f.read_text())) for f in _files(patterns, root)):
        h.update(name.encode() + b"\0" + code.encode() + b"\0")
    return h.hexdigest()[:16]


# Read once at import: a long grid must record the code it runs, not what the files say later.
CODE_VERSION = {"git_commit": git_commit(), "code_sha": source_hash(["**/*.py"]),
                "fingerprint": numerics_hash(TRAINING_SOURCES)}
FINGERPRINT = CODE_VERSION["fingerprint"]

# Fingerprints of earlier training code that a verified re-training showed to give bit-identical
# runs under the code of the fingerprint they map to (results/verify/migrations.json holds the
# evidence). Records and checkpoints stamped with one of them count as current.
VERIFIED_SAME = {
    # the byte hash of the old sources -> the code hash, with the registry moved out of config.py:
    # CIFAR-10 MSVP concat/full seed 1 re-trained bit-identical (2026-12-03)
    "0090d345b0e77e7b": "0cecbfaa0e71e083",
}


def is_current(fingerprint: str | None) -> bool:
    """Does a record or checkpoint stamped with ``fingerprint`` count for the training code loaded now?"""
    return fingerprint == FINGERPRINT or VERIFIED_SAME.get(fingerprint) == FINGERPRINT


def describe(device, *, precision: str | None = None, memory_format: str | None = None) -> dict:
    device = torch.device(device)
    return {"hardware": hardware(device), "device": str(device), "device_class": device.type,
            "threads": torch.get_num_threads(), "precision": precision, "memory_format": memory_format,
            "torch": torch.__version__, "python": platform.python_version(), **CODE_VERSION}


def _clean(obj):
    """JSON has no NaN/inf: write them as null rather than producing an invalid file."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def to_json(record: dict) -> str:
    return json.dumps(_clean(record), indent=1)
