"""Every chapter's exercises run: the starting code of each, executed as a student meets it.

The convention (every chapter of book/, the landing page and the glossary aside): the chapter has a
Markdown cell headed ``## Key results`` and a code cell that computes them (near the end, or first
where the chapter is itself a summary, as chapter 8 is), and closes with a Markdown
cell headed ``## Exercises`` holding a numbered list of 2-4 exercises, each with one fenced
``python`` block: its starting code. That code may use the chapter's parameters (``PROFILE``,
``RESULTS_DIR``, ``DATA_ROOT``, ``DATASET``): the test runs the chapter's ``parameters`` cell first,
then sets ``PROFILE = "smoke"`` and ``RESULTS_DIR`` to the smoke runs in build/results (the CNN cells
are trained there first if missing or stale, a few seconds each, which ``make smoke`` then reuses),
and runs each block in book/, where the chapter runs.
"""
from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SMOKE_RESULTS = ROOT / "build" / "results"
sys.path.insert(0, str(ROOT / "tools"))
from check_html import MAX_CODE_CHARS  # noqa: E402

EXERCISE_CHARS = MAX_CODE_CHARS - 3
"""A code block inside a numbered list item is indented, so 3 characters fewer fit than in a code cell
(tools/check_layout.sh found 73-character lines 5-6 px too wide there at 1280 px)."""

CHAPTERS = [p for p in sorted(BOOK.glob("*.py")) if p.stem != "intro"]
FENCE = re.compile(r"^( *)```python\n(.*?)^\1```", re.M | re.S)
ITEM = re.compile(r"^\d+\. \*\*", re.M)


def cells(path: Path):
    import jupytext

    return jupytext.read(path, fmt="py:percent").cells


def heading(cell) -> str:
    return cell.source.lstrip().splitlines()[0] if cell.cell_type == "markdown" and cell.source.strip() else ""


def exercises(source: str) -> list[str]:
    """The starting code of each exercise in an ``## Exercises`` Markdown cell, dedented."""
    return [textwrap.dedent(m.group(2)) for m in FENCE.finditer(source)]


def exercise_cell(path: Path):
    found = [c for c in cells(path) if heading(c) == "## Exercises"]
    assert len(found) == 1, f"{path.name}: {len(found)} '## Exercises' cells (the convention: exactly one)"
    return found[0]


def parameters(path: Path) -> dict:
    """The chapter's namespace after its ``parameters`` cell."""
    ns: dict = {}
    for c in cells(path):
        if "parameters" in c.metadata.get("tags", []):
            exec(c.source, ns)
    return ns


def all_exercises():
    return [pytest.param(path, k, code, id=f"{path.stem}-{k + 1}")
            for path in CHAPTERS for k, code in enumerate(exercises(exercise_cell(path).source))]


# ---- the convention ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_follows_the_learner_template(path):
    """What you will learn first; Key results (a heading, then the code that computes them), then
    2-4 exercises, each a numbered item with one block of starting code, at the end."""
    cs = cells(path)
    first = next(c for c in cs if c.cell_type == "markdown")
    assert "**What you will learn**" in first.source, f"{path.name}: the first cell says what you will learn"
    heads = [heading(c) for c in cs]
    assert "## Key results" in heads, f"{path.name}: no '## Key results' cell"
    k = heads.index("## Key results")
    assert cs[k + 1].cell_type == "code" and "remove-input" in cs[k + 1].metadata.get("tags", []), \
        f"{path.name}: the key results are computed by the (hidden-input) code cell after their heading"
    assert heads[-1] == "## Exercises", f"{path.name}: the chapter ends with its exercises"
    source = cs[-1].source
    items, blocks = ITEM.findall(source), exercises(source)
    assert 2 <= len(items) <= 4 and len(blocks) == len(items), \
        f"{path.name}: {len(items)} exercises with {len(blocks)} code blocks (2-4, one block each)"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_exercise_code_fits_the_page(path):
    for code in exercises(exercise_cell(path).source):
        long = [line for line in code.splitlines() if len(line) > EXERCISE_CHARS]
        assert not long, f"{path.name}: exercise lines over {EXERCISE_CHARS} characters scroll sideways: {long}"


def test_the_extractor_finds_indented_blocks_and_a_broken_block_fails():
    text = ("## Exercises\n\n1. **One.** Do it.\n\n   ```python\n   x = 1\n   print(x)\n   ```\n\n"
            "2. **Two.** Break it.\n\n   ```python\n   1 / 0\n   ```\n")
    blocks = exercises(text)
    assert blocks == ["x = 1\nprint(x)\n", "1 / 0\n"] and len(ITEM.findall(text)) == 2
    exec(blocks[0], {})
    with pytest.raises(ZeroDivisionError):
        exec(blocks[1], {})


# ---- every exercise runs -------------------------------------------------------------------------

@pytest.fixture(scope="session")
def smoke_results(data_source) -> Path:
    """build/results with the smoke profile's CNN runs (the exercises read no other backbone):
    trained only where missing or stale, seconds each, and reused by `make smoke`."""
    from msvp.grid import run_grid

    run_grid("smoke", only="backbone=cnn", results=SMOKE_RESULTS, data_root=ROOT / "data", progress=False,
             log=lambda *a, **k: None)
    return SMOKE_RESULTS


# all on one xdist worker: the session fixture trains into the shared build/results, and a second
# worker's copy would find those runs claimed and start before they exist
@pytest.mark.xdist_group("exercises")
@pytest.mark.timeout(600)
@pytest.mark.parametrize("path,k,code", all_exercises())
def test_exercise_starting_code_runs(path, k, code, smoke_results, monkeypatch, capsys):
    ns = parameters(path)
    ns.update(PROFILE="smoke", RESULTS_DIR=str(smoke_results))
    monkeypatch.chdir(BOOK)
    try:
        exec(compile(code, f"{path.name}, exercise {k + 1}", "exec"), ns)
    finally:
        plt.close("all")
    assert capsys.readouterr().out.strip(), "an exercise's starting code shows the student something"
