#!/usr/bin/env python
"""Sync the jupytext pairs book/NN_name.py <-> book/NN_name.ipynb without leaking executions.

- An .ipynb executed by papermill is never a source of inputs: it carries papermill's
  injected-parameters cell, which jupytext would copy into the .py. If tools/execute_notebooks.py
  executed it from the current .py it is skipped; otherwise its inputs are updated from the .py
  (outputs of unchanged cells are kept) and it is reported as needing re-execution.
- Any other pair is synced with ``jupytext --sync`` (the newer file gives the inputs).
- First, the hidden setup cell of every .py and .ipynb is written from _config.yml
  (tools/colab_cell.py).

Usage: python tools/sync_notebooks.py [book/NN_name.py ...]   (default: every book/*.py)
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import colab_cell  # noqa: E402
from execute_notebooks import BOOK, ROOT, executed_from, source_sha256  # noqa: E402

JUPYTEXT = [sys.executable, "-m", "jupytext"]


def was_executed(nb) -> bool:
    """Executed by papermill (this tool or by hand): its inputs are not the source's."""
    return bool(executed_from(nb)) or "papermill" in nb.metadata or any(
        "injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)


def main(argv=None) -> int:
    import nbformat

    argv = sys.argv[1:] if argv is None else argv
    pys = [Path(p).resolve() for p in argv] or sorted(BOOK.glob("*.py"))
    # the setup cell comes from _config.yml: written into each .py and its .ipynb first
    colab_cell.main([str(p) for p in pys])
    plain, rerun = [], []
    for py in pys:
        ipynb = py.with_suffix(".ipynb")
        nb = nbformat.read(ipynb, as_version=4) if ipynb.exists() else None
        rec = executed_from(nb) if nb is not None else {}
        rel = py.relative_to(ROOT)
        if nb is None or not was_executed(nb):
            plain.append(py)
        elif rec.get("source_sha256") == source_sha256(py):
            print(f"up to date: {rel} (its .ipynb was executed from it)")
        else:
            subprocess.run(JUPYTEXT + ["--quiet", "--update", "--to", "ipynb", str(py)], check=True)
            rerun.append(ipynb.relative_to(ROOT))
            print(f"updated inputs of {ipynb.relative_to(ROOT)} from {rel}")
    if plain:
        subprocess.run(JUPYTEXT + ["--sync"] + [str(p) for p in plain], check=True)
        rerun += [p.with_suffix(".ipynb").relative_to(ROOT) for p in plain]
    if rerun:
        print(f"re-execute before committing ({len(rerun)} notebook(s)): make notebooks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
