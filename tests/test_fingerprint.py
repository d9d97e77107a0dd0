"""The training fingerprint: it names what a run computes, so comments and docstrings leave it, and
any change to the code that runs moves it; migrations across its changes rest on recorded evidence."""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

from msvp import environment
from msvp.environment import TRAINING_SOURCES, numerics_hash
from msvp.migrate import evidence_for, evidence_path, hashes_under, restamp


@pytest.fixture
def pkg(tmp_path):
    root = tmp_path / "msvp"
    shutil.copytree(environment.PACKAGE_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def test_the_copy_hashes_like_the_package(pkg):
    assert numerics_hash(TRAINING_SOURCES, pkg) == environment.FINGERPRINT


@pytest.mark.parametrize("file, old, new", [
    ("config.py", "    lr: float = 1e-3                 # Adam step size",
     "    lr: float = 1e-3                 # Adam's step size, as in the official code"),
    ("config.py", '"""The one table of settings', '"""The one and only table of settings'),
    ("training.py", "CHECK_EVERY = 25", "\n# a new why-comment\nCHECK_EVERY  =  25"),
    ("prompting.py", "from __future__", "# leading comment\nfrom __future__"),
])
def test_comments_docstrings_and_layout_keep_it(pkg, file, old, new):
    edit(pkg / file, old, new)
    assert numerics_hash(TRAINING_SOURCES, pkg) == environment.FINGERPRINT


@pytest.mark.parametrize("file, old, new", [
    ("config.py", "lr: float = 1e-3", "lr: float = 2e-3"),
    ("training.py", "CHECK_EVERY = 25", "CHECK_EVERY = 26"),
    ("backbones/vit.py", "import torch\n", "import torch\nimport math\n"),
])
def test_a_change_to_the_code_moves_it(pkg, file, old, new):
    edit(pkg / file, old, new)
    assert numerics_hash(TRAINING_SOURCES, pkg) != environment.FINGERPRINT


def test_a_new_variant_in_the_registry_keeps_it(pkg):
    """The registry lives outside the fingerprinted modules: a variant's numerics are its prompt and
    fusion, which every record's config holds."""
    edit(pkg / "experiments.py", '    Variant("control-frozen"', '    Variant("control-new", "new", "control", "pad"),\n'
                                                               '    Variant("control-frozen"')
    assert numerics_hash(TRAINING_SOURCES, pkg) == environment.FINGERPRINT


def test_every_verified_same_fingerprint_has_evidence():
    """An entry of VERIFIED_SAME is a claim that old and new code compute the same runs: the claim
    needs a chain of recorded steps, each a bit-identical re-training or the same sources hashed both ways."""
    for old, new in environment.VERIFIED_SAME.items():
        assert evidence_for(old, new), f"no proved chain {old} -> {new} in {evidence_path()}"


def test_a_chain_of_proved_steps_counts_and_a_broken_one_does_not(tmp_path):
    ev = tmp_path / "m.json"
    bit = {"from": "a", "to": "b", "rows": [{"bit_identical": True}]}
    same = {"from": "b", "to": "c", "outcome": "same sources", "sources_sha": "x", "rows": []}
    ev.write_text(json.dumps([bit, same]))
    assert [e["to"] for e in evidence_for("a", "c", ev)] == ["b", "c"]
    ev.write_text(json.dumps([bit, same | {"sources_sha": ""}]))
    assert evidence_for("a", "c", ev) == []
    assert evidence_for("c", "a", ev) == []


def pythons() -> dict:
    """The interpreters on this machine, Python 3.10 and later, one per minor version."""
    candidates = [sys.executable, *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3"))),
                  *filter(None, (shutil.which(f"python3.{m}") for m in range(10, 16)))]
    found = {}
    for exe in candidates:
        out = subprocess.run([exe, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True)
        if out.returncode == 0 and tuple(map(int, out.stdout.split())) >= (3, 10):
            found.setdefault(tuple(map(int, out.stdout.split())), exe)
    return found


def test_the_fingerprint_is_the_same_on_every_python():
    """Colab and the GPU machines run Python 3.12, CI 3.11: one code, one fingerprint on all of them."""
    found = pythons()
    if len(found) < 2:
        pytest.skip("only one Python here")
    seen = {version: hashes_under(exe)["fingerprint"] for version, exe in found.items()}
    assert set(seen.values()) == {environment.FINGERPRINT}, seen


def test_the_same_sources_steps_hold_for_the_sources_they_name():
    """Each recorded 'same sources' step, re-computed: where the training sources are still the bytes
    it names, its Python gives its old stamp under ast.unparse and its new one now."""
    found, here = pythons(), hashes_under(sys.executable)
    steps = [e for e in json.loads(evidence_path().read_text()) if e.get("outcome") == "same sources"]
    checked = 0
    for step in steps:
        exe = found.get(tuple(map(int, step["python"].split(".")[:2])))
        if step["sources_sha"] != here["sources_sha"] or exe is None:
            continue
        h = hashes_under(exe)
        assert (h["unparse"], h["fingerprint"]) == (step["from"], step["to"]), step
        checked += 1
    if not checked:
        pytest.skip("no step names the current sources, or no Python of theirs is here")


def test_evidence_that_differs_does_not_count(tmp_path):
    ev = tmp_path / "m.json"
    row = {"bit_identical": False}
    ev.write_text(json.dumps([{"from": "a", "to": "b", "rows": [row]}, {"from": "a", "to": "b", "rows": []}]))
    assert evidence_for("a", "b", ev) == []
    row["bit_identical"] = True
    ev.write_text(json.dumps([{"from": "a", "to": "b", "rows": [row]}]))
    assert len(evidence_for("a", "b", ev)) == 1


def test_restamp_rewrites_only_verified_stamps_and_keeps_the_first(tmp_path, monkeypatch):
    monkeypatch.setattr(environment, "VERIFIED_SAME", {"old1": environment.FINGERPRINT})
    monkeypatch.setattr("msvp.migrate.VERIFIED_SAME", {"old1": environment.FINGERPRINT})
    base = tmp_path / "cpu" / "mnist" / "cnn"
    for variant, fp in (("baseline", "old1"), ("msvp-add-full", "other")):
        (base / variant).mkdir(parents=True)
        (base / variant / "seed0.json").write_text(json.dumps({
            "config": {"dataset": "mnist", "backbone": "cnn", "prompt": None, "fusion": "add", "seed": 0,
                       "epochs": 1}, "variant": variant, "status": "done", "fingerprint": fp}))
    assert restamp("cpu", tmp_path, log=lambda *a: None) == 1
    rec = json.loads((base / "baseline" / "seed0.json").read_text())
    assert rec["fingerprint"] == environment.FINGERPRINT and rec["fingerprint_trained"] == "old1"
    assert "path" not in rec
    assert json.loads((base / "msvp-add-full" / "seed0.json").read_text())["fingerprint"] == "other"
    assert restamp("cpu", tmp_path, log=lambda *a: None) == 0    # idempotent


def test_a_verified_same_stamp_counts_as_current(monkeypatch):
    monkeypatch.setattr(environment, "VERIFIED_SAME", {"old1": environment.FINGERPRINT, "old2": "elsewhere"})
    assert environment.is_current(environment.FINGERPRINT) and environment.is_current("old1")
    assert not environment.is_current("old2") and not environment.is_current(None)


def test_an_interrupted_migration_reuses_its_finished_runs(tmp_path, monkeypatch):
    """A fresh run already written under the current code is compared, not trained again."""
    from msvp import migrate
    from msvp.config import RunConfig
    cfg = RunConfig(dataset="mnist", seed=0)
    path = tmp_path / "seed0.json"
    path.write_text(json.dumps({"config": cfg.to_dict(), "variant": cfg.variant, "status": "done",
                                "fingerprint": environment.FINGERPRINT, "test_acc": 0.5}))
    monkeypatch.setattr(migrate, "run", lambda *a, **k: pytest.fail("trained again"))
    assert migrate.retrained(cfg, path, "cpu", "data")["test_acc"] == 0.5
    stale = json.loads(path.read_text()) | {"fingerprint": "other"}
    path.write_text(json.dumps(stale))
    monkeypatch.setattr(migrate, "run", lambda *a, **k: {"trained": True})
    assert migrate.retrained(cfg, path, "cpu", "data") == {"trained": True}
