#!/usr/bin/env python
"""Execute the book's notebooks with papermill, one output notebook per chapter.

The chapter list comes from ``_toc.yml``: every entry under ``book/`` that has a jupytext
``.py`` (py:percent, the source) or an ``.ipynb``. The ``.py`` is preferred and converted in
memory, so nothing here ever writes a ``.py`` or syncs a pair. Each notebook runs in ``book/``
(relative paths resolve as in the built book) with the parameters ``PROFILE`` and
``RESULTS_DIR`` injected. A notebook is executed into a staging folder and moved into ``--out``
only when it ran without error and without output a reader could not read (a text line too wide
for the page, NaN, a stray object repr: tools/check_html.py), so a failure never replaces a good
notebook; the failed one is kept in ``build/failed/`` for inspection. The ``parameters`` and ``injected-parameters`` cells
get the ``remove-cell`` tag (papermill's injected cell would otherwise show on the page).

Examples::

    python tools/execute_notebooks.py --profile smoke --results "$PWD/build/results" --out build/smoke
    python tools/execute_notebooks.py --profile paper --results ../results --out book --only 03_mnist
    python tools/execute_notebooks.py --list          # the notebooks the toc expects, one per line
    python tools/execute_notebooks.py --check         # do they exist, and were they run from the current .py?
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOC = ROOT / "_toc.yml"
BOOK = ROOT / "book"
KERNEL = "python3"                      # installed by `make install` (ipykernel --sys-prefix)
HIDDEN_TAGS = ("parameters", "injected-parameters")
NOISY_CELL_METADATA = ("papermill", "execution")   # per-cell timings: change on every run
META_KEY = "msvp_book"          # notebook metadata: which source file (and its sha256) was executed
KERNEL_NOISE = "Kernel is running over TCP without encryption"

# a venv's own kernelspec must win over a user-level one with the same name
os.environ.setdefault("JUPYTER_PREFER_ENV_PATH", "1")


class ChapterError(RuntimeError):
    pass


def toc_files(toc_path: Path = TOC) -> list[str]:
    """All `root` and `file` entries of a jb-book toc, in reading order."""
    import yaml

    toc = yaml.safe_load(toc_path.read_text())
    out = [toc["root"]] if toc.get("root") else []

    def walk(items):
        for item in items or []:
            if "file" in item:
                out.append(item["file"])
            for key in ("parts", "chapters", "sections"):
                walk(item.get(key))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return out


def notebook_chapters(toc_path: Path = TOC) -> list[Path]:
    """Stems (book/NN_name, no suffix) of the toc entries that are notebooks.

    Markdown pages are skipped; an entry with no source at all is an error, not a silent skip.
    """
    stems, missing = [], []
    for entry in toc_files(toc_path):
        stem = ROOT / Path(entry).with_suffix("")
        has_nb = stem.with_suffix(".py").exists() or stem.with_suffix(".ipynb").exists()
        if has_nb and stem.parent == BOOK:
            stems.append(stem)
        elif not has_nb and not stem.with_suffix(".md").exists():
            missing.append(entry)
    if missing:
        raise ChapterError(f"{toc_path.name} lists chapters with no .py/.ipynb/.md source: {', '.join(missing)}")
    return stems


def load_source(stem: Path):
    """The chapter as a NotebookNode: from the jupytext .py when present, else the .ipynb."""
    import jupytext
    import nbformat

    py = stem.with_suffix(".py")
    nb = jupytext.read(py, fmt="py:percent") if py.exists() else nbformat.read(stem.with_suffix(".ipynb"), as_version=4)
    ks = nb.metadata.get("kernelspec") or {}
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": ks.get("display_name", "Python 3"),
                                 "language": "python"}
    # keep the pairing information only, as jupytext itself writes it into an .ipynb
    jt = nb.metadata.get("jupytext")
    if jt is not None:
        jt.pop("text_representation", None)
        if not jt:
            del nb.metadata["jupytext"]
    return nb


def source_file(stem: Path) -> Path:
    py = stem.with_suffix(".py")
    return py if py.exists() else stem.with_suffix(".ipynb")


def source_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def executed_from(nb) -> dict:
    """What this tool recorded when it executed ``nb``: {'source', 'source_sha256', ...} or {}."""
    return dict(nb.metadata.get(META_KEY) or {})


def tidy(nb) -> None:
    """Hide the parameter cells on the page and drop per-cell timing metadata."""
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if any(t in tags for t in HIDDEN_TAGS) and "remove-cell" not in tags:
            tags.append("remove-cell")
        if not tags:
            del cell.metadata["tags"]
        for key in NOISY_CELL_METADATA:
            cell.metadata.pop(key, None)
    pm = nb.metadata.get("papermill")
    if pm is not None:
        pm.pop("input_path", None)     # an in-memory notebook; the .py is the source
        pm.pop("output_path", None)    # a staging path


def reader_problems(nb) -> list[str]:
    """Text output lines that would scroll sideways, NaN, stray reprs, NBVAL comments (check_html)."""
    sys.path.insert(0, str(ROOT / "tools"))
    from check_html import notebook_problems

    return notebook_problems(nb)


def has_parameters_cell(nb) -> bool:
    return any("parameters" in c.metadata.get("tags", []) for c in nb.cells)


def declared_parameters(nb) -> set[str] | None:
    """Names the ``parameters`` cell assigns (None without such a cell: then every parameter is
    injected). A chapter that reads no results declares no RESULTS_DIR and is not handed one."""
    import re

    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if not cells:
        return None
    return {m.group(1) for c in cells for m in re.finditer(r"^([A-Za-z_]\w*)\s*=", c.source, re.M)}


def execute(stem: Path, out_dir: Path, params: dict, log_output: bool) -> tuple[str, bool, float, str]:
    import nbformat
    import papermill as pm

    name = stem.name
    t0 = time.perf_counter()
    nb = load_source(stem)
    src = source_file(stem)
    # recorded before execution; a later edit of the .py makes the notebook detectably stale
    nb.metadata[META_KEY] = {"source": src.name, "source_sha256": source_sha256(src) if src.suffix == ".py" else None,
                             "profile": params["PROFILE"]}
    note = "" if has_parameters_cell(nb) else " (no 'parameters' cell: parameters injected at the top)"
    declared = declared_parameters(nb)
    params = {k: v for k, v in params.items() if declared is None or k in declared}
    staging = Path(tempfile.mkdtemp(prefix=f"exec-{name}-", dir=ROOT / "build"))
    tmp = staging / f"{name}.ipynb"
    # The kernel process inherits our stderr; catch it in a file and show only what matters
    # (ipykernel 7 warns on every start that its local TCP sockets are unencrypted).
    err_log = staging / "kernel-stderr.log"
    saved = os.dup(2)
    try:
        with open(err_log, "w") as f:
            os.dup2(f.fileno(), 2)
        pm.execute_notebook(nb, str(tmp), parameters=params, kernel_name=KERNEL, language="python",
                            cwd=str(BOOK), progress_bar=False, log_output=log_output)
        ok = True
    except Exception as e:  # PapermillExecutionError, kernel death, timeouts
        ok = False
        note = f"{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else e!r}"
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
    kernel_err = [line for line in err_log.read_text(errors="replace").splitlines()
                  if line.strip() and KERNEL_NOISE not in line]
    if kernel_err:
        note += "\n      stderr: " + "\n      ".join(kernel_err[-20:])
    if tmp.exists():
        done = nbformat.read(tmp, as_version=4)
        tidy(done)
        problems = reader_problems(done) if ok else []
        if problems:   # it ran, but a reader would meet these (tools/check_html.py, checks 7-8)
            ok = False
            note += "; a reader would meet: " + "; ".join(problems[:5])
        if ok:
            nbformat.write(done, tmp)
            os.replace(tmp, out_dir / f"{name}.ipynb")
        else:
            failed = ROOT / "build" / "failed"
            failed.mkdir(parents=True, exist_ok=True)
            nbformat.write(done, failed / f"{name}.ipynb")
            note += f"; executed notebook kept in {(failed / f'{name}.ipynb').relative_to(ROOT)}"
    shutil.rmtree(staging, ignore_errors=True)
    return name, ok, time.perf_counter() - t0, note


def staleness(stem: Path) -> str | None:
    """Why the chapter's .ipynb does not show its current .py executed, or None if it does."""
    import nbformat

    ipynb, py = stem.with_suffix(".ipynb"), stem.with_suffix(".py")
    if not ipynb.exists():
        return "missing"
    if not py.exists():
        return None
    rec = executed_from(nbformat.read(ipynb, as_version=4))
    if not rec:
        return "not executed by tools/execute_notebooks.py (make notebooks)"
    if rec.get("source_sha256") != source_sha256(py):
        return f"executed from an older {py.name} (make notebooks)"
    return None


def check(stems: list[Path], strict: bool) -> int:
    missing, stale = [], []
    for stem in stems:
        why = staleness(stem)
        rel = stem.with_suffix(".ipynb").relative_to(ROOT)
        if why == "missing":
            missing.append(rel)
            print(f"error: {rel} does not exist; execute it: make notebooks", file=sys.stderr)
        elif why:
            stale.append(rel)
            print(f"{'error' if strict else 'warning'}: {rel} is stale: {why}", file=sys.stderr)
    if missing or (strict and stale):
        return 1
    print(f"{len(stems) - len(stale)} of {len(stems)} notebooks executed from their current source")
    return 0


def report(result: tuple[str, bool, float, str]) -> tuple[str, bool, float, str]:
    name, ok, dt, note = result
    print(f"  {'ok    ' if ok else 'FAILED'} {name} ({dt:.0f} s){' ' + note if note else ''}", flush=True)
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", help="value of the PROFILE parameter (smoke, cpu, paper)")
    ap.add_argument("--results", help="value of the RESULTS_DIR parameter; a relative path is "
                                      "relative to book/, where the notebooks run")
    ap.add_argument("--out", default="build/executed", help="folder for the executed notebooks")
    ap.add_argument("--parallel", type=int, default=1, metavar="N", help="notebooks executed at once")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="only this chapter (e.g. 03_mnist or book/03_mnist.py); repeatable")
    ap.add_argument("--log-output", action="store_true", help="echo the cells' output while running")
    ap.add_argument("--list", action="store_true", help="print the .ipynb path of each notebook chapter and exit")
    ap.add_argument("--check", action="store_true",
                    help="check that every chapter's .ipynb exists and was executed from its current .py; "
                         "exit 1 if one is missing (or, with --strict, stale)")
    ap.add_argument("--strict", action="store_true", help="with --check: a stale notebook is an error too")
    a = ap.parse_args(argv)
    if a.log_output:   # papermill logs cell output at INFO; send it to stdout (stderr is captured)
        import logging
        logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")

    try:
        stems = notebook_chapters()
    except (ChapterError, OSError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not stems:
        print("error: _toc.yml lists no notebook chapters with a .py or .ipynb under book/", file=sys.stderr)
        return 2
    if a.list:
        print("\n".join(str(s.with_suffix(".ipynb").relative_to(ROOT)) for s in stems))
        return 0
    if a.check:
        return check(stems, a.strict)
    if a.only:
        want = {Path(o).with_suffix("").name for o in a.only}
        unknown = want - {s.name for s in stems}
        if unknown:
            print(f"error: not a notebook chapter of _toc.yml: {', '.join(sorted(unknown))}; "
                  f"valid: {', '.join(s.name for s in stems)}", file=sys.stderr)
            return 2
        stems = [s for s in stems if s.name in want]
    if not a.profile or not a.results:
        ap.error("--profile and --results are required unless --list is given")

    out_dir = (Path.cwd() / a.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    (ROOT / "build").mkdir(exist_ok=True)
    params = {"PROFILE": a.profile, "RESULTS_DIR": a.results}
    print(f"executing {len(stems)} notebook(s) with PROFILE={a.profile!r} RESULTS_DIR={a.results!r} "
          f"in book/ -> {out_dir}", flush=True)

    results = []
    if a.parallel > 1 and len(stems) > 1:
        # processes, not threads: papermill changes the working directory of its process
        with ProcessPoolExecutor(max_workers=a.parallel) as pool:
            futures = [pool.submit(execute, s, out_dir, params, a.log_output) for s in stems]
            for f in futures:
                results.append(report(f.result()))
    else:
        for s in stems:
            results.append(report(execute(s, out_dir, params, a.log_output)))

    failed = [r[0] for r in results if not r[1]]
    if failed:
        print(f"error: {len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
