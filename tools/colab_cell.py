#!/usr/bin/env python
"""Write the chapters' setup cell from _config.yml, the one place that names the repository.

Each chapter (book/NN_name.py, py:percent) starts with a hidden cell tagged ``colab-setup``. In
Colab it clones ``repository.url`` at ``repository.branch`` once into /content/<name>, puts the
clone and its ``book`` folder on ``sys.path`` (``import msvp`` and the book layer ``import _lib``
work in the same kernel, before and after a restart) and calls :func:`_lib.colab.setup`, which
installs missing dependencies and makes ``<repository>/book`` the working directory. Elsewhere the
kernel already runs in book/ (papermill, Jupyter), so only ``setup()`` runs.

    python tools/colab_cell.py            # rewrite the cell in every book/*.py and its .ipynb
    python tools/colab_cell.py --check    # exit 1 if a .py or its .ipynb holds another cell

``make sync`` runs this before pairing the .py files with their notebooks.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CONFIG = ROOT / "_config.yml"
TAGS = ["remove-cell", "colab-setup"]
HEADER = "# %% tags=" + "[" + ", ".join(f'"{t}"' for t in TAGS) + "]"
CELL_START = re.compile(r"^# %%")


def repository(config: Path = CONFIG) -> tuple[str, str]:
    """(url, branch) of the book's repository, from _config.yml."""
    import yaml

    repo = yaml.safe_load(config.read_text())["repository"]
    return repo["url"].rstrip("/"), repo.get("branch") or "main"


def clone_dir(url: str) -> str:
    name = url.rstrip("/").rsplit("/", 1)[-1]
    return f"/content/{name[:-4] if name.endswith('.git') else name}"


def cell_source(url: str, branch: str, dest: str | None = None) -> str:
    """The setup cell's code (what the .ipynb cell holds)."""
    dest = dest or clone_dir(url)
    clone = ["git", "clone", "-q", "--depth", "1", "-b", branch, url]
    return "\n".join([
        "# In Colab: clone the repository once and import msvp and the book layer (book/_lib) from the clone",
        "# (at once, and after a restart);",
        "# setup() runs the chapter from <repository>/book. Written from _config.yml by tools/colab_cell.py.",
        f"import os, subprocess, sys; REPO = {dest!r}".replace("'", '"'),
        'if "google.colab" in sys.modules:',
        "    os.path.isdir(REPO) or subprocess.run([" + ", ".join(f'"{a}"' for a in clone) + ", REPO], check=True)",
        "    sys.path[:0] = [p for p in (REPO, REPO + \"/book\") if p not in sys.path]",
        "from _lib.colab import setup; _ = setup()  # the book folder; not printed",
    ])


def py_cell(url: str, branch: str) -> list[str]:
    """The cell as py:percent lines: header, code (commented lines stay comments), blank line."""
    return [HEADER, *cell_source(url, branch).splitlines(), ""]


def _is_setup_header(line: str, body: list[str]) -> bool:
    if not CELL_START.match(line):
        return False
    if "colab-setup" in line:
        return True
    # the cell as it was before this tool: hidden, and detects Colab
    return "remove-cell" in line and any("google.colab" in b for b in body)


def split_setup_cell(lines: list[str]) -> tuple[int, int] | None:
    """[start, end) of the setup cell in a py:percent file, or None."""
    starts = [i for i, line in enumerate(lines) if CELL_START.match(line)] + [len(lines)]
    for a, b in zip(starts, starts[1:]):
        if _is_setup_header(lines[a], lines[a + 1:b]):
            return a, b
    return None


def render_py(text: str, url: str, branch: str) -> str:
    lines = text.splitlines()
    span = split_setup_cell(lines)
    if span is None:
        raise ValueError("no setup cell (a '# %% tags=[\"remove-cell\", \"colab-setup\"]' cell)")
    a, b = span
    return "\n".join(lines[:a] + py_cell(url, branch) + lines[b:]) + "\n"


def notebook_cell(nb, legacy: bool = False):
    """The setup cell of a notebook (tag colab-setup; with ``legacy``, also the hidden cell that
    detected Colab before this tool), or None."""
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code" and ("colab-setup" in tags or (
                legacy and "remove-cell" in tags and "google.colab" in cell.source)):
            return cell
    return None


def write_notebook(ipynb: Path, url: str, branch: str) -> bool:
    """Replace the setup cell of an .ipynb in place (its source and tags only; every other cell,
    output and metadata stays as executed). True if the file changed."""
    import nbformat

    nb = nbformat.read(ipynb, as_version=4)
    cell = notebook_cell(nb, legacy=True)
    if cell is None:
        raise ValueError(f"{ipynb.relative_to(ROOT)}: no setup cell")
    want = cell_source(url, branch)
    tags = cell.metadata.get("tags", [])
    if cell.source == want and all(t in tags for t in TAGS):
        return False
    cell.source = want
    cell.metadata["tags"] = tags + [t for t in TAGS if t not in tags]
    nbformat.write(nb, ipynb)
    return True


def problems(url: str, branch: str, pys: list[Path]) -> list[str]:
    import nbformat

    out = []
    want = cell_source(url, branch)
    for py in pys:
        rel = py.relative_to(ROOT)
        try:
            if render_py(py.read_text(), url, branch) != py.read_text():
                out.append(f"{rel}: setup cell differs from _config.yml's repository (python tools/colab_cell.py)")
        except ValueError as e:
            out.append(f"{rel}: {e}")
        ipynb = py.with_suffix(".ipynb")
        if ipynb.exists():
            cell = notebook_cell(nbformat.read(ipynb, as_version=4))
            if cell is None or cell.source != want:
                out.append(f"{ipynb.relative_to(ROOT)}: setup cell differs from its .py's (make sync)")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only check; exit 1 on a difference")
    ap.add_argument("files", nargs="*", type=Path, help="book/*.py (default: all)")
    a = ap.parse_args(argv)
    url, branch = repository()
    pys = [p.resolve() for p in a.files] or sorted(BOOK.glob("*.py"))
    if a.check:
        found = problems(url, branch, pys)
        for p in found:
            print(p, file=sys.stderr)
        if not found:
            print(f"setup cells of {len(pys)} chapter(s) match _config.yml ({url} @ {branch})")
        return 1 if found else 0
    for py in pys:
        text = py.read_text()
        new = render_py(text, url, branch)
        if new != text:
            py.write_text(new)
            print(f"wrote the setup cell of {py.relative_to(ROOT)} ({url} @ {branch})")
        ipynb = py.with_suffix(".ipynb")
        if ipynb.exists() and write_notebook(ipynb, url, branch):
            print(f"wrote the setup cell of {ipynb.relative_to(ROOT)} (nothing else in it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
