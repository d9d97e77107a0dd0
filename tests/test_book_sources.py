"""The book's sources and executed notebooks, checked as a reader would meet them.

- no block of six or more lines repeats across book/ (the generated jupytext header and Colab setup
  cell aside): shared structure belongs in the book layer (book/_lib), not in copies;
- no notebook machinery on the page: nbval markers are cell tags, not comments; no functions are
  defined in a chapter; no reference to files outside the repository;
- nothing scrolls sideways at 1280 px: code lines a reader sees and text outputs of the executed
  notebooks fit in ``tools/check_html.MAX_CODE_CHARS`` characters; no NaN and no stray object repr
  in an output.

The built HTML gets the same width and NaN checks in tools/check_html.py (make book), and so do the
smoke run's notebooks (``make smoke`` ends with ``tools/check_html.py --notebooks build/smoke``).
"""
from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
sys.path.insert(0, str(ROOT / "tools"))
import check_html  # noqa: E402

BLOCK = 6
HIDDEN = {"remove-cell", "remove-input", "parameters", "colab-setup"}
SOURCES = sorted(BOOK.glob("*.py")) + sorted(BOOK.glob("*.md"))


def strip_generated(lines: list[str]) -> list[tuple[int, str]]:
    """(line number, text) of a source's lines, without the jupytext header and the Colab setup
    cell (both generated), blank lines and lone comment marks, white space folded."""
    out, i = [], 0
    if lines and lines[0].strip() == "# ---":
        i = next(k for k in range(1, len(lines)) if lines[k].strip() == "# ---") + 1
    in_setup = False
    for n, line in enumerate(lines[i:], start=i + 1):
        if line.startswith("# %%"):
            in_setup = "colab-setup" in line
            if in_setup:
                continue
        if in_setup:
            continue
        text = " ".join(line.split())
        if text in ("", "#"):
            continue
        out.append((n, text))
    return out


def repeated_blocks(paths, size: int = BLOCK) -> list[str]:
    """Every run of ``size`` lines that stands in two places (of one file or of two)."""
    where = defaultdict(list)
    for path in paths:
        lines = strip_generated(path.read_text(encoding="utf-8").splitlines())
        for k in range(len(lines) - size + 1):
            window = tuple(t for _, t in lines[k:k + size])
            where[window].append(f"{path.name}:{lines[k][0]}")
    return [f"{' ~ '.join(places)}: {' / '.join(w)[:160]}" for w, places in where.items() if len(places) > 1]


def test_no_block_of_six_lines_repeats_across_book_sources():
    found = repeated_blocks(SOURCES)
    assert not found, f"{len(found)} repeated block(s); move the shared part into book/_lib:\n" + "\n".join(found[:20])


def test_repeated_block_check_finds_a_copy(tmp_path):
    text = "\n".join(f"x{i} = {i}" for i in range(8))
    (tmp_path / "a.py").write_text(text + "\ny = 1\n")
    (tmp_path / "b.py").write_text("z = 0\n" + text + "\n")
    assert len(repeated_blocks([tmp_path / "a.py", tmp_path / "b.py"])) == 3   # windows 0-5, 1-6, 2-7
    (tmp_path / "b.py").write_text("z = 0\n" + text.replace("x3 = 3", "x3 = 4") + "\n")
    assert repeated_blocks([tmp_path / "a.py", tmp_path / "b.py"]) == []


def cells(path: Path):
    import jupytext

    return jupytext.read(path, fmt="py:percent").cells


CHAPTERS = sorted(BOOK.glob("*.py"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_papermill_reads_every_parameter(path):
    """papermill skips a parameter line it cannot parse (an '=' in its comment, for one) with a
    warning only; `make notebooks` would then run with a value nobody can override."""
    import nbformat
    from papermill.translators import PythonTranslator

    for cell in cells(path):
        if "parameters" not in cell.metadata.get("tags", []):
            continue
        names = re.findall(r"^([A-Z_][A-Z0-9_]*)\s*=", cell.source, re.M)
        found = [p.name for p in PythonTranslator.inspect(nbformat.v4.new_code_cell(cell.source))]
        assert found == names, f"papermill reads {found}, the cell sets {names}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_notebook_machinery_in_the_source(path):
    text = path.read_text(encoding="utf-8")
    assert "NBVAL_" not in text, "use the cell tags nbval-check-output / nbval-ignore-output"
    assert not re.search(r"design\s*§|\.\./shared|/work/", text), "a reference to a file readers don't have"
    for cell in cells(path):
        if cell.cell_type != "code":
            continue
        src = cell.source
        assert not re.search(r"^\s*(def|class)\s|\blambda\b", src, re.M), \
            f"a chapter imports msvp and defines no function: {src.splitlines()[0]!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_shown_code_lines_fit_the_page(path):
    """Code a reader sees must not scroll sideways at 1280 px (hidden cells may be longer)."""
    for cell in cells(path):
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type != "code" or tags & HIDDEN:
            continue
        long = [line for line in cell.source.splitlines() if len(line) > check_html.MAX_CODE_CHARS]
        assert not long, f"code lines over {check_html.MAX_CODE_CHARS} characters: {long}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_code_blocks_in_the_text_fit_the_page(path):
    """Fenced code in the prose (commands to copy) must not scroll sideways at 1280 px either."""
    for cell in cells(path):
        if cell.cell_type != "markdown":
            continue
        blocks = re.findall(r"^```[^\n]*\n(.*?)^```", cell.source, re.M | re.S)
        long = [line for b in blocks for line in b.splitlines() if len(line) > check_html.MAX_CODE_CHARS]
        assert not long, f"fenced code lines over {check_html.MAX_CODE_CHARS} characters: {long}"


# ---- executed notebooks: the committed ones (make smoke checks its own, tools/check_html.py) ------

def executed_notebooks():
    # only committed files, so a clean clone collects the same tests as a working copy
    return [p for p in sorted(BOOK.glob("*.ipynb"))
            if p.with_suffix(".py").name in {c.name for c in CHAPTERS}]


@pytest.mark.parametrize("path", executed_notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_executed_notebook_outputs_read_well(path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    problems = check_html.notebook_problems(nb)
    assert not problems, "\n".join(problems)


def test_notebook_output_checks_catch_problems():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="a" * 100 + "\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "<torch._C.Generator at 0x7f00aa>"}),
        nbformat.v4.new_output("display_data", data={"text/markdown": "| a |\n|---|\n| NaN |",
                                                      "text/plain": "<IPython.core.display.Markdown object>"}),
    ])])
    nb.cells.append(nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\n1"))
    problems = "\n".join(check_html.notebook_problems(nb))
    assert "100 characters" in problems and "repr" in problems and "NaN" in problems and "NBVAL" in problems


def test_smoke_notebook_check_fails_on_a_bad_notebook_and_on_none(tmp_path, capsys):
    import nbformat

    assert check_html.main(["--notebooks", str(tmp_path)]) == 1
    assert "make smoke" in capsys.readouterr().err
    good = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="fine\n")])])
    nbformat.write(good, tmp_path / "a.ipynb")
    assert check_html.main(["--notebooks", str(tmp_path)]) == 0
    bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="| nan |\n")])])
    nbformat.write(bad, tmp_path / "b.ipynb")
    assert check_html.main(["--notebooks", str(tmp_path)]) == 1
    assert "b.ipynb: cell 0: NaN" in capsys.readouterr().err


# ---- rule constants stated in prose must be the ones the code uses ---------------------------------

def prose_sources() -> dict[str, str]:
    """Every text a reader meets that is typed, not computed: chapter sources, README, data/README."""
    paths = CHAPTERS + [ROOT / "README.md", ROOT / "data" / "README.md"]
    return {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in paths}


def stated(pattern: str) -> list[tuple[str, str]]:
    return [(name, m.group(1)) for name, text in prose_sources().items()
            for m in re.finditer(pattern, text.replace("\n# ", " ").replace("\n", " "))]


def test_prose_states_the_margin_and_gate_the_code_uses():
    from msvp import stats

    margins = stated(r"±\s?(\d+(?:\.\d+)?) (?:pp|percentage points)")
    gates = stated(r"(?:gain(?:s|ed|ing)?|rose by) more than (\d+(?:\.\d+)?) pp")
    assert margins and gates, "the patterns no longer find the stated rules: update this test"
    assert all(float(v) == stats.MARGIN_PP for _, v in margins), margins
    assert all(float(v) == stats.CONVERGENCE_TOL_PP for _, v in gates), gates


def test_prose_states_the_offline_cifar_copy_the_package_knows():
    from msvp.datasets import DATASETS, VARIANT_COUNTS

    train, test = VARIANT_COUNTS[("cifar10", "offline-copy")]
    full = sum(DATASETS["cifar10"].train_counts) + sum(DATASETS["cifar10"].test_counts)
    lacks = stated(r"lacks (\d[\d,]*) (?:of|images)")
    assert lacks, "the pattern no longer finds the stated gap: update this test"
    assert {int(v.replace(",", "")) for _, v in lacks} == {full - sum(train) - sum(test)}, lacks
    counts = [(a, b) for text in prose_sources().values()
              for a, b in re.findall(r"(\d[\d,]*) training and\s+(\d[\d,]*) test images instead", text)]
    assert counts, "the pattern no longer finds the copy's counts in the README: update this test"
    assert set(counts) == {(f"{sum(train):,}", f"{sum(test):,}")}, counts


def test_prose_states_the_prompt_sizes_the_registry_computes():
    from msvp.experiments import VARIANTS

    full = VARIANTS["msvp-add-full"]
    grey, colour = full.params(1, 28, 28), full.params(3, 32, 32)
    found = stated(r"(\d+) parameters \((\d+) per channel\)") + stated(r"costs (\d+)·C parameters")
    found += stated(r"(\d+) on CIFAR-10's 3 × 32 × 32")
    assert len(found) >= 3, "the patterns no longer find the stated sizes: update this test"
    assert {int(v) for _, v in found} <= {grey, colour}, found


def test_prose_states_the_controls_cost_ratios_the_registry_computes():
    from msvp.experiments import VARIANTS

    ratio = {v: (VARIANTS[v].params(1, 28, 28) / VARIANTS["msvp-add-full"].params(1, 28, 28),
                 VARIANTS[v].params(3, 32, 32) / VARIANTS["msvp-add-full"].params(3, 32, 32))
             for v in ("control-pad", "control-fullres")}
    times = [(m.group(1), m.group(2)) for text in prose_sources().values()
             for m in re.finditer(r"about (\d+)\s+\(grey\)\s+to (\d+)\s+\(colour\)\s+times",
                                  text.replace("\n# ", " ").replace("\n", " "))]
    assert times, "the pattern no longer finds the full-resolution prompt's cost: update this test"
    assert set(times) == {tuple(str(round(x)) for x in ratio["control-fullres"])}, (times, ratio)
    flat = re.sub(r"\s+", " ", " ".join(t.replace("\n#", " ") for t in prose_sources().values()))
    assert "a third to a half more parameters than MSVP" in flat, "update this test with the prose"
    grey, colour = (x - 1 for x in ratio["control-pad"])
    assert abs(grey - 1 / 3) < 0.05 and abs(colour - 1 / 2) < 0.05, ratio


def test_prose_states_the_t_quantiles_scipy_computes():
    from scipy import stats as sps

    found = stated(r"(\d+\.\d) at k = 2 and (?:\d+\.\d) at k = 3") + stated(r"\d+\.\d at k = 2 and (\d+\.\d) at k = 3")
    assert len(found) == 2, "the pattern no longer finds the stated quantiles: update this test"
    assert [v for _, v in found] == [f"{sps.t.ppf(0.975, 1):.1f}", f"{sps.t.ppf(0.975, 2):.1f}"], found
