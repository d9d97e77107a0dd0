"""Provenance and workers: stale results are re-trained, several workers or grids on one folder
train each run exactly once, a killed worker's claim is taken over, the GPU script's CPU dry run."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from msvp.claims import claim_path, try_claim
from msvp.grid import plan_runs, run_grid

# starts training processes of its own: one such test at a time (make test runs pytest-xdist)
PROCESSES = pytest.mark.xdist_group("processes")

REPO = Path(__file__).resolve().parents[1]
ONE = "dataset=mnist,backbone=cnn,variant=baseline"
CNN = "dataset=mnist,backbone=cnn"


def cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "msvp", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, **kw)


@pytest.mark.timeout(300)   # a hang guard; make test runs a process-starting test beside it
def test_result_of_other_training_code_is_stale_and_retrained(tmp_path, data_root):
    """A record whose fingerprint differs is listed as stale, with the reason, and trained again."""
    first = run_grid("smoke", only=ONE, results=tmp_path, data_root=data_root, progress=False, explain=False)
    (path,) = first["done"]
    rec = json.loads(path.read_text())
    path.write_text(json.dumps({**rec, "fingerprint": "0123456789abcdef"}))
    (cfg, _, state, why) = plan_runs("smoke", only=ONE, results=tmp_path)[0]
    assert state == "stale" and "training code changed (fingerprint 0123456789abcdef" in why
    again = run_grid("smoke", only=ONE, results=tmp_path, data_root=data_root, progress=False, explain=False)
    assert again["done"] == [path] and json.loads(path.read_text())["fingerprint"] == rec["fingerprint"]
    rec = json.loads(path.read_text())
    path.write_text(json.dumps({**rec, "config": {**rec["config"], "lr": 0.5}}))
    assert plan_runs("smoke", only=ONE, results=tmp_path)[0][2:] == ("stale", "config changed: lr")


@PROCESSES
@pytest.mark.timeout(600)   # a hang guard: a loaded 2-core machine runs this 2-4x slower
def test_two_grids_on_one_folder_train_each_run_once(tmp_path):
    """Two grid processes (the second with 2 workers) started together: each run is trained once."""
    args = ("grid", "--profile", "smoke", "--only", CNN, "--results", str(tmp_path), "--no-explain")
    procs = [cli(*args), cli(*args, "--jobs", "2")]
    outs = [p.communicate(timeout=500)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    trained = Counter(line.split(":")[0] for out in outs for line in out.splitlines() if ": test acc" in line)
    assert len(trained) == 9 and set(trained.values()) == {1}, trained
    plan = plan_runs("smoke", only=CNN, results=tmp_path)
    assert {state for *_, state, _ in plan} == {"done"}
    assert not list(tmp_path.rglob("*.claim")) and not list(tmp_path.rglob("*.tmp"))


def test_claims_are_exclusive_and_released(tmp_path):
    result = tmp_path / "seed0.json"
    a = try_claim(result)
    assert a is not None and try_claim(result) is None
    a.release()
    assert not claim_path(result).exists()
    b = try_claim(result)
    assert b is not None and b.previous is None
    b.release()


@pytest.mark.timeout(300)   # a hang guard; make test runs a process-starting test beside it
def test_claim_of_a_killed_worker_is_taken_over(tmp_path, data_root):
    """SIGKILL a process holding a claim: the claim file stays, and the next grid takes the run over."""
    (cfg, path, _, _), = plan_runs("smoke", only=ONE, results=tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", f"import time; from msvp.claims import try_claim; "
                               f"c = try_claim({str(path)!r}); print('held', flush=True); time.sleep(120)"],
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert holder.stdout.readline().strip() == "held"
    assert try_claim(path) is None  # alive: held
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert claim_path(path).exists()
    log = []
    summary = run_grid("smoke", only=ONE, results=tmp_path, data_root=data_root, progress=False, explain=False,
                       log=log.append)
    assert summary["done"] == [path]
    assert any(line.startswith("taking over seed0.json") and f"pid {holder.pid}" in line for line in log), log


@PROCESSES
@pytest.mark.timeout(900)   # a hang guard (two calls of the script)
def test_gpu_script_dry_run_on_cpu(tmp_path, mirror_dir):
    """tools/gpu_paper.sh with the smoke profile on the CPU: trains, resumes, packs the results."""
    env = {**os.environ, "PROFILE": "smoke", "DEVICE": "cpu", "JOBS": "2", "BUDGET": "600",
           "ONLY": "dataset=mnist,backbone=cnn,variant=baseline|msvp-add-full", "OUT": str(tmp_path),
           "MSVP_DATA_MIRROR": str(mirror_dir), "PYTHON": sys.executable}
    results = tmp_path / "results"
    r = subprocess.run(["bash", "tools/gpu_paper.sh", str(results)], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=420)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 trained, 0 already done" in r.stdout and r.stdout.strip().endswith("2 done")
    assert packed(tmp_path) == {"smoke/mnist/cnn/baseline/seed0.json", "smoke/mnist/cnn/msvp-add-full/seed0.json"}
    # a run cut off by the budget leaves a checkpoint: it must not travel back (16 MiB per file)
    (results / "smoke" / "mnist" / "cnn" / "baseline" / "seed1.ckpt.pt").write_bytes(b"0" * 1000)
    r = subprocess.run(["bash", "tools/gpu_paper.sh", str(results)], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=420)
    assert "0 trained, 2 already done" in r.stdout
    assert not any(name.endswith(".ckpt.pt") for name in packed(tmp_path))


def packed(out: Path) -> set[str]:
    """The files in the script's archive parts (out/results.tgz.part-aa, -ab, ...)."""
    parts = b"".join(p.read_bytes() for p in sorted(out.glob("results.tgz.part-*")))
    with tarfile.open(fileobj=io.BytesIO(parts), mode="r:gz") as tar:
        return {m.name for m in tar.getmembers() if m.isfile()}


@pytest.mark.timeout(300)   # a hang guard; make test runs a process-starting test beside it
def test_time_budget_starts_nothing_that_cannot_finish(tmp_path, data_root, monkeypatch):
    """A budget shorter than a run's expected time: nothing starts, everything is listed as left."""
    import msvp.grid
    monkeypatch.setattr(msvp.grid, "expected_seconds", lambda *a, **k: 3600.0)
    summary = run_grid("smoke", only=CNN, results=tmp_path, data_root=data_root, progress=False,
                       time_budget=60, explain=False)
    assert summary["done"] == [] and len(summary["left"]) == 9
    assert not list(tmp_path.rglob("*.json"))


@PROCESSES
@pytest.mark.timeout(600)
def test_submitit_local_executor_runs_the_workers(tmp_path, mirror_dir, monkeypatch):
    """--executor local: two submitit tasks share the runs through claims; each run is trained once."""
    pytest.importorskip("submitit", reason="the cluster extra (pip install 'msvp[cluster]')")
    monkeypatch.setenv("MSVP_DATA_MIRROR", str(mirror_dir))
    monkeypatch.chdir(tmp_path)  # submitit's task logs go to build/submitit under the working directory
    only = "dataset=mnist,backbone=cnn,variant=baseline|msvp-add-full"
    summary = run_grid("smoke", only=only, results=tmp_path / "r", data_root=tmp_path / "data", progress=False,
                       explain=False, executor="local", jobs=2)
    assert sorted(p.parent.name for p in summary["done"]) == ["baseline", "msvp-add-full"]
    assert {state for *_, state, _ in plan_runs("smoke", only=only, results=tmp_path / "r")} == {"done"}
    assert list((tmp_path / "build" / "submitit").glob("*_result.pkl"))


def test_bad_executor_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match="valid choices: slurm, local"):
        run_grid("smoke", only=ONE, results=tmp_path, executor="kubernetes")


@pytest.mark.timeout(300)   # a hang guard; make test runs a process-starting test beside it
def test_verify_retrains_and_finds_bit_identical_runs(tmp_path, data_root):
    """verify re-trains one run per cell into a fresh folder: same code, machine and threads give
    bit-identical histories and predictions; a tampered committed record is reported as differing."""
    from msvp.verify import load_report, verify
    committed = tmp_path / "committed"
    run_grid("smoke", only=ONE, results=committed, data_root=data_root, progress=False, explain=False)
    report = tmp_path / "verify.json"
    df = verify("smoke", results=committed, out=tmp_path / "fresh", data_root=data_root, report=report, log=print)
    assert len(df) == 1 and df.bit_identical.all() and df.same_provenance.all()
    back, head = load_report(report)
    assert head["profile"] == "smoke" and back.outcome.tolist() == ["bit-identical"]
    (path,) = committed.rglob("seed0.json")
    rec = json.loads(path.read_text())
    path.write_text(json.dumps({**rec, "test_acc": rec["test_acc"] + 0.01}))
    df = verify("smoke", results=committed, out=tmp_path / "fresh2", data_root=data_root, log=print)
    assert df.outcome.tolist() == ["DIFFERS (same code, device class, threads and precision)"]
    assert df.diff_pp.iloc[0] == pytest.approx(-1.0)
