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


def without_docstrings(tree: ast.AST) -> ast.AST:
    """The tree with every module, class and function docstring dropped (in place)."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def canonical_ast(node) -> str:
    """A syntax tree as text that every Python from 3.9 writes alike: each node's type and its fields,
    without positions and without empty fields. Not ``ast.unparse``: Python 3.12 picks other quotes
    for an f-string with quotes inside it; not ``ast.dump``: 3.12 adds empty ``type_params`` fields."""
    if isinstance(node, ast.AST):
        fields = (f"{k}={canonical_ast(v)}" for k, v in ast.iter_fields(node)
                  if v is not None and not (isinstance(v, list) and not v))
        return f"{type(node).__name__}({', '.join(fields)})"
    if isinstance(node, list):
        return f"[{', '.join(map(canonical_ast, node))}]"
    return repr(node)


def code_of(source: str) -> str:
    """The code of a module without comments, docstrings or layout: its syntax tree, docstrings
    dropped, as ``canonical_ast`` writes it. Comments never reach the tree."""
    return canonical_ast(without_docstrings(ast.parse(source)))


def unparse_code(source: str) -> str:
    """The fingerprint's earlier definition of a module's code: ``ast.unparse`` of the docstring-free
    tree, whose text depends on the Python version (kept to prove that old stamps name this code)."""
    return ast.unparse(without_docstrings(ast.parse(source)))


def numerics_hash(patterns, root: Path = PACKAGE_DIR, code=code_of) -> str:
    """sha256 over (module name, code without comments and docstrings) of the named sources, first 16
    hex digits: a why-comment or a moved file keeps it; any change to what runs moves it."""
    h = hashlib.sha256()
    for name, text in sorted((module_name(f, root), code(f.read_text())) for f in _files(patterns, root)):
        h.update(name.encode() + b"\0" + text.encode() + b"\0")
    return h.hexdigest()[:16]


# Read once at import: a long grid must record the code it runs, not what the files say later.
CODE_VERSION = {"git_commit": git_commit(), "code_sha": source_hash(["**/*.py"]),
                "fingerprint": numerics_hash(TRAINING_SOURCES)}
FINGERPRINT = CODE_VERSION["fingerprint"]

# Fingerprints of earlier training code, or of the same code under an earlier definition of the
# fingerprint, that count as the fingerprint they map to: each step is backed by evidence in
# results/verify/migrations.json (a bit-identical re-training, or the same source bytes hashed
# both ways). Records and checkpoints stamped with one of them count as current.
VERIFIED_SAME = {
    # the byte hash of the old sources -> the ast.unparse hash (the registry moved out of config.py;
    # CIFAR-10 MSVP concat/full seed 1 re-trained bit-identical, 2026-12-03) -> this definition
    "0090d345b0e77e7b": "d7e3801117794336",
    # the same source bytes hashed through ast.unparse, which Python 3.11 and 3.12 write differently
    # (one f-string's quotes), so a GPU machine or Colab on 3.12 saw every committed run as stale
    "0cecbfaa0e71e083": "d7e3801117794336",   # ast.unparse under Python 3.10 and 3.11
    "3ec4364291320fa6": "d7e3801117794336",   # ast.unparse under Python 3.12 and 3.13
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
