"""Set up a kernel to run a chapter of the book, in Colab (or any fresh runtime) as on a workstation.

Every chapter starts with one hidden setup cell, written by ``tools/colab_cell.py`` from
``_config.yml`` (the repository's URL and branch). In Colab it clones the repository once into
``/content/<name>`` and puts the clone and its ``book`` folder at the front of ``sys.path``, so
``import msvp`` and ``import _lib`` work in the same kernel (an editable ``pip install -e`` would not
be seen before a restart). Then it calls :func:`setup`, here, which

- installs the package's missing or too old dependencies (Colab only, by default; elsewhere it
  only warns), read from the clone's ``pyproject.toml``;
- changes the working directory to ``<repository>/book``, so that the chapters' relative paths
  (``RESULTS_DIR = "../results"``, ``DATA_ROOT = "../data"``) resolve from the repository root,
  whatever the kernel's working directory was (``/content`` again after a runtime restart).

This module is imported from the clone before anything is installed: it uses the standard
library only (``packaging`` where present), and ``_lib/__init__`` imports nothing.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

COLAB_MODULE = "google.colab"


def in_colab() -> bool:
    return COLAB_MODULE in sys.modules


def repo_root(start: Path | None = None) -> Path | None:
    """The checkout this book layer was imported from (book/_lib/colab.py), or None outside one."""
    root = Path(start or Path(__file__).resolve().parents[2])
    return root if (root / "_config.yml").is_file() and (root / "book").is_dir() else None


def _requirements(root: Path, extras: tuple[str, ...] = ()) -> list[str]:
    """The dependency strings of ``root/pyproject.toml`` (and of the given extras)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            return []
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    reqs = list(project.get("dependencies", []))
    for extra in extras:
        reqs += project.get("optional-dependencies", {}).get(extra, [])
    return reqs


def missing_requirements(root: Path, extras: tuple[str, ...] = ()) -> list[str]:
    """The requirements of ``root/pyproject.toml`` that are not installed or whose version does not fit.

    Without ``packaging`` only presence is checked.
    """
    try:
        from packaging.requirements import Requirement
    except ModuleNotFoundError:
        Requirement = None  # noqa: N806
    out = []
    for text in _requirements(root, extras):
        if Requirement is not None:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate():
                continue
            name, spec = req.name, req.specifier
        else:
            name = text.split(";")[0].split("[")[0]
            for sep in "<>=!~ ":
                name = name.split(sep)[0]
            spec = None
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out.append(text)
            continue
        if spec is not None and not spec.contains(have, prereleases=True):
            out.append(text)
    return out


def setup(root: str | Path | None = None, *, install: bool | None = None,
          extras: tuple[str, ...] = ()) -> Path | None:
    """Make this kernel ready for a chapter; return the repository root (None outside a checkout).

    ``install``: pip-install missing dependencies (default: only in Colab). Idempotent: run it again
    after a restart, or twice in one kernel.
    """
    root = repo_root(Path(root).resolve() if root else None)
    if root is None:
        return None
    missing = missing_requirements(root, extras)
    if missing:
        if install if install is not None else in_colab():
            print(f"installing {len(missing)} missing dependencies: {' '.join(missing)}", flush=True)
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True)
            importlib.invalidate_caches()
        else:
            print(f"warning: dependencies missing or too old: {' '.join(missing)} "
                  f"(pip install {' '.join(repr(m) for m in missing)})", file=sys.stderr)
    os.chdir(root / "book")
    return root
