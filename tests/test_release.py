"""Release checks (make release-check): workflows, CI data source, licence and citation, version,
lock file, sdist and wheel, the README's results table.

The build, twine and cffconvert checks use the release tools' own virtualenv (make release-tools;
cffconvert needs jsonschema<4). Without it those tests skip, unless MSVP_RELEASE_TOOLS names it
(make release-check does), when a missing tool is a failure.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import book_footer  # noqa: E402
import colab_cell  # noqa: E402
import freshenv  # noqa: E402
import readme_table  # noqa: E402

pytestmark = pytest.mark.release

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = ROOT / "requirements-lock.txt"
EXTRAS = ("book", "test")           # the extras `make lock` and `make install` use


def tool(name: str) -> Path:
    """A release tool: from $MSVP_RELEASE_TOOLS, else .venv/release-tools/bin."""
    where = os.environ.get("MSVP_RELEASE_TOOLS")
    path = Path(where or ROOT / ".venv" / "release-tools" / "bin") / name
    if not path.exists():
        msg = f"{name} not found in {path.parent}: make release-tools"
        pytest.fail(msg) if where else pytest.skip(msg)
    return path


def run(cmd, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert p.returncode == 0, f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    return p


def workflow(name: str) -> dict:
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))      # YAML 1.1 reads the key `on` as True
    return doc


def steps(doc: dict) -> list[dict]:
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


# ---- workflows and CI ---------------------------------------------------------------------------

def actionlint() -> Path:
    path = Path(sys.executable).parent / "actionlint"
    found = path if path.exists() else shutil.which("actionlint")
    assert found, "actionlint is not installed: it is in the test extra (make install)"
    return Path(found)


def test_workflows_pass_actionlint(tmp_path):
    files = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert {f.name for f in files} >= {"book.yml", "ci.yml"}
    run([actionlint(), "-no-color", *files], cwd=ROOT)
    # and the linter is not a no-op: an unknown key and a bad expression are caught
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n"
                   "    steps:\n      - run: echo ${{ github.nope( }}\n")
    p = subprocess.run([actionlint(), "-no-color", str(bad)], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 1 and "stepz" in p.stdout, p.stdout + p.stderr


def test_book_workflow_builds_and_deploys_to_pages():
    doc = workflow("book.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    uses = [s.get("uses", "").split("@")[0] for s in steps(doc)]
    for action in ("actions/configure-pages", "actions/upload-pages-artifact", "actions/deploy-pages"):
        assert action in uses, action
    runs = [s.get("run", "") for s in steps(doc)]
    assert "make book" in runs and "make install LOCKED=1" in runs
    upload = next(s for s in steps(doc) if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    assert doc["jobs"]["deploy"]["environment"]["name"] == "github-pages"


def test_ci_workflow_runs_ci_script_with_download():
    doc = workflow("ci.yml")
    assert "push" in doc["on"] and "pull_request" in doc["on"]
    job = doc["jobs"]["test"]
    assert job["env"]["MSVP_DATA_DOWNLOAD"] == "1" and "MSVP_DATA_MIRROR" not in job["env"]
    assert ".ci/run" in [s.get("run") for s in steps(doc)]


@pytest.mark.parametrize("case", ["mirror", "no mirror", "no mirror, download", "named mirror"])
def test_ci_run_data_source(tmp_path, case):
    """.ci/run: the mirror beside the checkout; without one, downloads only when told; else stops."""
    repo, shared = tmp_path / "repo", tmp_path / "shared" / "datasets"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy2(ROOT / ".ci" / "run", repo / ".ci" / "run")
    if case == "mirror":
        shared.mkdir(parents=True)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "make").write_text('#!/bin/sh\necho "make $* MIRROR=${MSVP_DATA_MIRROR-unset}"\n')
    (fake / "make").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("MSVP_DATA_MIRROR", "MSVP_DATA_DOWNLOAD")}
    env["PATH"] = f"{fake}:{env['PATH']}"
    if case == "no mirror, download":
        env["MSVP_DATA_DOWNLOAD"] = "1"
    if case == "named mirror":
        env["MSVP_DATA_MIRROR"] = "/somewhere"
    p = subprocess.run(["bash", str(repo / ".ci" / "run")], capture_output=True, text=True, env=env)
    want = {"mirror": f"make test MIRROR={shared}", "no mirror": None,
            "no mirror, download": "make test MIRROR=unset", "named mirror": "make test MIRROR=/somewhere"}[case]
    if want is None:
        assert p.returncode == 2 and "MSVP_DATA_DOWNLOAD=1" in p.stderr and "make" not in p.stdout
    else:
        assert p.returncode == 0 and p.stdout.strip() == want, p.stdout + p.stderr


# ---- licence, citation, version -------------------------------------------------------------------

def test_license_matches_pyproject():
    assert PYPROJECT["project"]["license"] == "MIT"
    assert "LICENSE" in PYPROJECT["project"]["license-files"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Permission is hereby granted, free of charge" in text


def test_version_is_in_one_place():
    """msvp/__init__.py holds it; pyproject reads it; CITATION.cff and the footer agree."""
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "msvp.__version__"}
    import msvp
    version = book_footer.package_version()
    assert version == msvp.__version__
    assert f"msvp {version} " in book_footer.footer_html(version, "https://example.org/r", "main")
    assert yaml.safe_load((ROOT / "CITATION.cff").read_text())["version"] == version
    assert version not in (ROOT / "_config.yml").read_text()


def test_citation_cff():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    url, _ = colab_cell.repository()
    assert cff["type"] == "software" and cff["license"] == "MIT" and cff["repository-code"] == url
    paper = cff["references"][0]
    assert "Multi-Scale Visual Prompting" in paper["title"] and paper["year"] == 2025
    assert paper["authors"][0]["family-names"] == "Khazem"
    assert "2512.03663" in paper["url"]
    run([tool("cffconvert"), "--validate", "-i", ROOT / "CITATION.cff"])


# ---- lock file --------------------------------------------------------------------------------------

def lock_pins() -> dict[str, tuple[str, str]]:
    """{canonical name: (version, annotation)} of requirements-lock.txt; every line must be name==version."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        req, _, note = line.partition("#")
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", req.strip())
        assert m, f"not an exact pin: {line!r}"
        name = canonicalize_name(m.group(1))
        assert name not in pins, f"{name} pinned twice"
        pins[name] = (m.group(2), note)
    return pins


def direct_requirements() -> list[Requirement]:
    project = PYPROJECT["project"]
    reqs = list(project["dependencies"]) + [r for e in EXTRAS for r in project["optional-dependencies"][e]]
    return [Requirement(r) for r in reqs]


def test_lock_file_is_consistent_with_pyproject():
    pins = lock_pins()
    env = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux",
           "platform_machine": "x86_64"}
    wanted = {canonicalize_name(r.name): r for r in direct_requirements()
              if r.marker is None or r.marker.evaluate(env)}
    # the same packages: every requirement of pyproject (with the extras) is pinned, and every
    # package the lock says comes from pyproject is one of them
    assert sorted(set(wanted) - set(pins)) == [], "in pyproject.toml, not in the lock file: make lock"
    from_pyproject = {n for n, (_, note) in pins.items() if "msvp (pyproject.toml)" in note}
    assert from_pyproject == set(wanted), "the lock file was made from another pyproject.toml: make lock"
    # each pin satisfies the range
    bad = [f"{n}=={pins[n][0]} (pyproject: {r})" for n, r in wanted.items()
           if not r.specifier.contains(pins[n][0], prereleases=True)]
    assert bad == [], f"pins outside pyproject.toml's ranges: {bad}"
    assert "msvp" not in pins and "file:" not in LOCK.read_text()
    assert "make lock" in LOCK.read_text().split("\n", 3)[1] + LOCK.read_text().split("\n", 3)[0]


# ---- sdist and wheel ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    """sdist and wheel built from a copy of the package's sources (the checkout stays untouched)."""
    tmp = tmp_path_factory.mktemp("dist")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "msvp", src / "msvp", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    run([tool("python"), "-m", "build", "--no-isolation", "--outdir", tmp / "dist", src])
    out = {p.suffix: p for p in (tmp / "dist").iterdir()}
    assert set(out) == {".whl", ".gz"}, sorted(out)
    return {"wheel": out[".whl"], "sdist": out[".gz"]}


def test_sdist_and_wheel_pass_twine_check(dists):
    p = run([tool("twine"), "check", "--strict", dists["sdist"], dists["wheel"]])
    assert p.stdout.count("PASSED") == 2


def test_wheel_holds_only_the_package(dists):
    import msvp
    with zipfile.ZipFile(dists["wheel"]) as z:
        names = z.namelist()
        meta = z.read(f"msvp-{msvp.__version__}.dist-info/METADATA").decode()
    top = {n.split("/")[0] for n in names}
    assert top == {"msvp", f"msvp-{msvp.__version__}.dist-info"}, top
    assert "msvp/backbones/cnn.py" in names and not any("_lib" in n or n.startswith("book/") for n in names)
    assert f"Version: {msvp.__version__}" in meta and "License-Expression: MIT" in meta
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_wheel_installs_and_builds_a_model_in_fresh_venv(dists, tmp_path):
    import msvp
    python = freshenv.fresh_venv(tmp_path / "venv")
    env = freshenv.clean_env(OMP_NUM_THREADS="1")
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('msvp') is not None)"
    run([python, "-c", probe], cwd=tmp_path, env=env)              # msvp is not there yet
    # pip of the release tools, run for the fresh interpreter; deps come through the .pth file
    run([tool("python"), "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
         "--ignore-installed", "-q", dists["wheel"]], cwd=tmp_path, env=env)
    code = ("import sys, torch, msvp, importlib.metadata as md\n"
            "assert msvp.__file__.startswith(sys.prefix), msvp.__file__\n"
            "m = msvp.models.build_model('cnn', 'mnist')\n"
            "y = m(torch.zeros(2, 1, 28, 28))\n"
            "print(md.version('msvp'), tuple(y.shape))\n")
    p = run([python, "-c", code], cwd=tmp_path, env=env)
    assert p.stdout.split() == [msvp.__version__, "(2,", "10)"], p.stdout


# ---- README ---------------------------------------------------------------------------------------

def test_readme_results_table_is_current():
    readme = (ROOT / "README.md").read_text()
    current = readme_table.replace(readme, readme_table.render())
    assert current == readme, "README.md's results table is not current: make readme"
    assert "python -m msvp grid --profile cpu --only dataset=mnist,backbone=cnn" in readme


def test_readme_links_exist():
    readme = (ROOT / "README.md").read_text()
    for target in ("CITATION.cff", "LICENSE", "tools/slurm/"):
        assert f"]({target})" in readme, target
    for target in ("CITATION.cff", "LICENSE"):
        assert (ROOT / target).exists(), target


# ---- the built book's links (tools/check_html.py, check 6) -----------------------------------------

def fake_page(url: str, colab: str | None, version: str) -> str:
    buttons = [f'<a href="{url}" class="btn btn-sm btn-source-repository-button dropdown-item">Repository</a>',
               f'<a href="{url}/issues/new?title=Issue%20on%20page" class="btn btn-source-issues-button">Open issue</a>']
    if colab:
        buttons.append(f'<a href="{colab}" class="btn btn-sm dropdown-item" title="Launch on Colab">Colab</a>')
    footer = f'<div class="extra_footer"><p class="msvp-release">msvp {version} · licence</p></div>'
    return "<html><body>" + "".join(buttons) + footer + "</body></html>"


def test_check_html_compares_buttons_with_config(tmp_path):
    import check_html

    url, branch = colab_cell.repository()
    version = book_footer.package_version()
    colab = f"https://colab.research.google.com/github/{url.split('github.com/')[1]}/blob/{branch}/book/03_mnist.ipynb"
    page = tmp_path / "book" / "03_mnist.html"
    page.parent.mkdir()

    def problems(html: str) -> list[str]:
        page.write_text(html)
        return check_html.check_config_links({page: check_html.Page(page)}, tmp_path)

    assert problems(fake_page(url, colab, version)) == []
    wrong = problems(fake_page("https://github.com/someone/else", colab.replace(branch, "other"), "0.0.0"))
    assert any("repository button" in p for p in wrong) and any("issues button" in p for p in wrong)
    assert any("no Colab button" in p for p in wrong) and any("footer" in p for p in wrong)
    assert any("no Colab button" in p for p in problems(fake_page(url, None, version)))


def test_readme_table_names_an_incomplete_data_copy(tmp_path):
    """The offline CIFAR-10 copy is named with its image counts; complete data sets keep their name."""
    import json

    src = ROOT / "results" / "cpu" / "cifar10" / "cnn" / "baseline" / "seed0.json"
    if not src.exists():
        pytest.skip("no committed CIFAR-10 run")
    rec = json.loads(src.read_text())
    out = tmp_path / "cpu" / "cifar10" / "cnn" / "baseline" / "seed0.json"
    out.parent.mkdir(parents=True)
    out.write_text(json.dumps(rec))
    rows = {r["variant"]: r for r in readme_table.summary("cpu", tmp_path)
            if r["dataset"] == "cifar10" and r["backbone"] == "cnn"}
    assert rows["baseline"]["label"] == "CIFAR-10 (offline copy, 49,914 train / 9,975 test)"
    # a row with no run yet will train on the same copy: it is named alike
    assert rows["msvp-add-full"]["label"] == rows["baseline"]["label"]
    line = readme_table.progress_line("cpu", tmp_path)
    assert line.startswith("1 of ") and "left would take about" in line and "with 2 workers" in line, line
    assert "Finished runs: " in line
    rec["data"]["variant"] = "complete"
    out.write_text(json.dumps(rec))
    rows = {r["variant"]: r for r in readme_table.summary("cpu", tmp_path)
            if r["dataset"] == "cifar10" and r["backbone"] == "cnn"}
    assert rows["baseline"]["label"] == "CIFAR-10"
