"""What produced a result: hardware, library versions, code version."""
from __future__ import annotations

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


# The sources that decide a run's numbers: settings, data splits, loader, models, training loop.
# Not here: data.py (reads files; their contents are pinned by sha256 in each record), engine.py
# (checkpoints, records), and everything for the book. Edit one of these and results go stale.
TRAINING_SOURCES = ("config.py", "datasets.py", "splits.py", "loader.py", "prompting.py", "models.py",
                    "backbones/*.py", "training.py")


def source_hash(patterns) -> str:
    """sha256 over the named package sources (path and bytes), first 16 hex digits."""
    h = hashlib.sha256()
    files = sorted({f for pat in patterns for f in PACKAGE_DIR.glob(pat)})
    for f in files:
        h.update(f.relative_to(PACKAGE_DIR).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


# Read once at import: a long grid must record the code it runs, not what the files say later.
CODE_VERSION = {"git_commit": git_commit(), "code_sha": source_hash(["**/*.py"]),
                "fingerprint": source_hash(TRAINING_SOURCES)}
FINGERPRINT = CODE_VERSION["fingerprint"]


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
