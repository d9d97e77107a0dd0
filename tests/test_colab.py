"""The chapters' Colab setup cell (tools/colab_cell.py + book/_lib/colab.py).

The release test emulates Colab: a fresh virtualenv where msvp was never installed (torch and the
other dependencies come from the project's venv through a .pth file, tools/freshenv.py), a fake
``google.colab`` module imported at start-up as Colab's kernel does, a local ``file://`` git
repository holding the working tree in place of the public one, and a kernel started in a
``content/`` folder. Papermill runs the setup cell and the first code cells of a chapter there,
then a check that msvp and the book layer were imported from the clone and that the chapter's relative paths reach the
clone's results; then the same again in a second kernel, as after a runtime restart.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab_cell  # noqa: E402
import freshenv  # noqa: E402
from _lib import colab  # noqa: E402

CHAPTER = ROOT / "book" / "03_mnist.py"
KERNEL = "msvp-colab-emulation"
CHECK = '''
import os, sys
from pathlib import Path
import _lib
import msvp
clone = Path(REPO).resolve()
assert Path(msvp.__file__).resolve().is_relative_to(clone), f"msvp imported from {msvp.__file__}, not the clone"
assert Path(_lib.__file__).resolve().is_relative_to(clone / "book"), f"_lib imported from {_lib.__file__}"
assert Path.cwd().resolve() == clone / "book", f"working directory {os.getcwd()}"
assert Path(RESULTS_DIR).resolve() == clone / "results", f"RESULTS_DIR resolves to {Path(RESULTS_DIR).resolve()}"
assert Path(DATA_ROOT).resolve() == clone / "data"
assert "google.colab" in sys.modules
print("colab emulation ok:", len(df), "runs loaded")
'''


# ---- unit tests (make unit) ---------------------------------------------------------------------

def test_setup_cells_match_config():
    """Every chapter's .py and .ipynb hold the setup cell written from _config.yml's repository."""
    url, branch = colab_cell.repository()
    assert colab_cell.problems(url, branch, sorted((ROOT / "book").glob("*.py"))) == []


def test_setup_cell_takes_url_and_branch_from_config(tmp_path):
    cfg = tmp_path / "_config.yml"
    cfg.write_text("repository:\n  url: https://github.com/someone/other-book/\n  branch: dev\n")
    url, branch = colab_cell.repository(cfg)
    src = colab_cell.cell_source(url, branch)
    assert (url, branch) == ("https://github.com/someone/other-book", "dev")
    assert '"-b", "dev", "https://github.com/someone/other-book", REPO' in src
    assert 'REPO = "/content/other-book"' in src
    assert "pip install -e" not in src and "find_spec" not in src
    compile(src, "<setup cell>", "exec")


def test_render_py_replaces_only_the_setup_cell():
    text = CHAPTER.read_text()
    new = colab_cell.render_py(text, "https://example.org/x/y", "b")
    a, b = colab_cell.split_setup_cell(text.splitlines())
    a2, b2 = colab_cell.split_setup_cell(new.splitlines())
    assert text.splitlines()[:a] == new.splitlines()[:a2] and text.splitlines()[b:] == new.splitlines()[b2:]
    assert colab_cell.render_py(new, "https://example.org/x/y", "b") == new


def test_missing_requirements(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["pytest>=1", "pytest<1", "surely-not-installed-pkg>=1",'
        ' "also-missing; python_version < \'3\'"]\n[project.optional-dependencies]\nextra = ["other-missing"]\n')
    assert colab.missing_requirements(tmp_path) == ["pytest<1", "surely-not-installed-pkg>=1"]
    assert colab.missing_requirements(tmp_path, ("extra",))[-1] == "other-missing"


def test_setup_outside_a_checkout_does_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert colab.setup(tmp_path) is None
    assert Path.cwd() == tmp_path


def test_setup_runs_from_book_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert colab.setup() == ROOT
    assert Path.cwd() == ROOT / "book"


# ---- the Colab emulation (make release-check) ---------------------------------------------------

def chapter_cells(url: str, branch: str, dest: Path):
    """The chapter's setup cell (for this clone), its parameters and first code cell, then CHECK."""
    import jupytext
    import nbformat

    nb = jupytext.read(CHAPTER, fmt="py:percent")
    code = [c for c in nb.cells if c.cell_type == "code"]
    setup = colab_cell.notebook_cell(nb)
    params = next(i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", []))
    assert code.index(setup) < params, "the setup cell must come before the parameters"
    setup.source = colab_cell.cell_source(url, branch, str(dest))
    cells = [setup, code[params], code[params + 1], nbformat.v4.new_code_cell(CHECK)]
    out = nbformat.v4.new_notebook(cells=cells)
    out.metadata["kernelspec"] = {"name": KERNEL, "display_name": KERNEL, "language": "python"}
    return out


@pytest.mark.release
def test_colab_setup_cell_in_fresh_runtime_and_after_restart(tmp_path, monkeypatch):
    import nbformat
    import papermill

    origin = freshenv.snapshot_repo(tmp_path / "origin")
    python = freshenv.fresh_venv(tmp_path / "venv")
    site = freshenv.site_packages(python)
    (site / "google" / "colab").mkdir(parents=True)
    (site / "google" / "colab" / "__init__.py").write_text('"""Stand-in for Colab\'s module."""\n')
    (site / "_fake_colab.pth").write_text("import google.colab\n")     # Colab's kernel has it loaded
    kernels = tmp_path / "jupyter" / "kernels" / KERNEL
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": KERNEL, "language": "python"}))
    content = tmp_path / "content"
    content.mkdir()
    for key in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")

    probe = ("import importlib.util, sys; "
             "sys.exit(int(importlib.util.find_spec('msvp') is not None or 'google.colab' not in sys.modules))")
    assert os.system(f"cd '{content}' && '{python}' -c \"{probe}\"") == 0, \
        "the fresh venv must not see msvp, and must have google.colab loaded at start-up"

    _, branch = colab_cell.repository()
    dest = content / "msvp-book"
    nb_path = tmp_path / "chapter.ipynb"
    nbformat.write(chapter_cells(f"file://{origin}", branch, dest), nb_path)
    for run in ("fresh runtime", "after a restart"):
        out = tmp_path / f"out-{run.replace(' ', '-')}.ipynb"
        papermill.execute_notebook(str(nb_path), str(out), kernel_name=KERNEL, cwd=str(content),
                                   progress_bar=False, log_output=False)
        text = json.dumps(nbformat.read(out, as_version=4).cells[-1].outputs)
        assert "colab emulation ok" in text, f"{run}: {text}"
        if run == "fresh runtime":
            assert (dest / ".git").is_dir() and (dest / "results").is_dir()
            (dest / ".git" / "first-clone").write_text("")         # the second run must not clone again
    assert (dest / ".git" / "first-clone").exists()
