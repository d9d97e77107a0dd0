"""Faults a hostile user or a flaky machine produces: each gives one clear line (no traceback), and
nothing is lost or silently wrong."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import torch

from msvp.engine import RunConfig, TrainingDiverged, run, save_checkpoint

# starts training processes of its own: one such test at a time (make test runs pytest-xdist)
PROCESSES = pytest.mark.xdist_group("processes")

REPO = Path(__file__).resolve().parents[1]
TINY = ("--dataset", "mnist", "--epochs", "1", "--train-subset", "256", "--val-subset", "64",
        "--test-subset", "128", "--device", "cpu")
CFG = RunConfig(dataset="mnist", epochs=1, train_subset=256, val_subset=64, test_subset=128, device="cpu")
CNN = "dataset=mnist,backbone=cnn"


def cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "msvp", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})


def one_line(r, needle: str, rc: int = 2) -> None:
    lines = [x for x in r.stderr.splitlines() if x.strip() and "%|" not in x]  # tqdm bars may come first
    assert r.returncode == rc, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and len(lines) == 1 and needle in lines[0], r.stderr


@pytest.mark.parametrize("args,needle", [
    (("grid", "--profile", "smoke", "--results", "", "--list"), "--results is empty"),
    (("train", *TINY, "--threads", "0"), "threads must be a positive integer"),
    (("train", "--dataset", "mnist", "--train-subset", "-5"), "train_subset must be a positive integer or None"),
    (("train", "--dataset", "mnist", "--train-subset", "0"), "train_subset must be a positive integer or None"),
    (("train", "--dataset", "mnist", "--train-subset", "60000"), "train_subset=60000 is larger than its split"),
    (("train", *TINY, "--device", "tpu"), "valid choices: auto, cpu, cuda"),
    (("train", *TINY, "--device", "cuda"), "torch sees no CUDA device"),
    (("train", *TINY, "--prompt", "pad", "--fusion", "gated"), "the baseline and the controls use 'add'"),
    (("grid", "--profile", "smoke", "--jobs", "0"), "--jobs must be >= 1"),
])
def test_bad_input_is_one_line(args, needle):
    one_line(cli(*args), needle)


def test_unwritable_result_paths_fail_before_training(tmp_path):
    """A result path that is a folder, or under a file, is refused in well under a training's time."""
    f = tmp_path / "file"
    f.write_text("x")
    for out, needle in ((tmp_path, "is a directory"), (f / "r.json", "is a file, not a folder")):
        t0 = time.monotonic()
        one_line(cli("train", *TINY, "--out", str(out)), needle)
        assert time.monotonic() - t0 < 60
    one_line(cli("grid", "--profile", "smoke", "--results", str(f), "--list"), "is a file, not a folder")


def test_divergence_in_train_is_one_line():
    r = cli("train", *TINY, "--lr", "1e30")
    one_line(r, "diverged: training loss", rc=1)


@pytest.mark.timeout(300)   # a hang guard; make test runs a process-starting test beside it
def test_exploded_but_finite_run_is_diverged_not_done(tmp_path, data_root):
    """lr 1e6: the loss explodes to huge finite values (accuracy at chance); it must not be 'done'."""
    out = tmp_path / "r.json"
    with pytest.raises(TrainingDiverged, match="limit: finite and below 23"):
        run(RunConfig(**{**CFG.__dict__, "lr": 1e6}), out_path=out, data_root=data_root, progress=False, explain=False)
    assert json.loads(out.read_text())["status"] == "diverged"


@pytest.mark.timeout(300)   # a hang guard; make test runs a process-starting test beside it
def test_diverged_run_is_not_already_done(tmp_path):
    """A rerun names the diverged run instead of counting it as done, and retries it only when asked."""
    path = tmp_path / "smoke/mnist/cnn/baseline/seed0.json"
    args = ("grid", "--profile", "smoke", "--only", CNN + ",variant=baseline", "--results", str(tmp_path), "--no-explain")
    assert cli(*args).returncode == 0
    rec = json.loads(path.read_text())
    path.write_text(json.dumps({**rec, "status": "diverged", "error": "training loss nan at step 2"}))
    r = cli(*args)
    assert r.returncode == 0 and "diverged earlier (kept; --retry-diverged trains it again)" in r.stdout
    assert "0 trained, 0 already done, 0 diverged, 1 diverged earlier" in r.stdout
    r = cli(*args, "--retry-diverged")
    assert "1 trained" in r.stdout and json.loads(path.read_text())["status"] == "done"


@pytest.mark.timeout(300)   # a hang guard; make test runs a process-starting test beside it
def test_corrupt_checkpoint_is_moved_aside_and_the_run_restarts(tmp_path, data_root, capsys):
    ckpt = tmp_path / "seed0.ckpt.pt"
    for junk in (b"", b"not a zip file at all", b"PK\x03\x04truncated"):
        ckpt.write_bytes(junk)
        rec = run(CFG, checkpoint_path=ckpt, data_root=data_root, progress=False, explain=False)
        assert rec["status"] == "done" and len(rec["history"]) == 1
        assert "is unreadable" in capsys.readouterr().out
        assert not ckpt.exists() and list(tmp_path.glob("seed0.ckpt.pt.corrupt-*"))


def _hammer(path: str, n: int) -> None:
    state = {"config": CFG.to_dict(), "w": torch.randn(256, 256)}
    for _ in range(n):
        save_checkpoint(Path(path), state)


def test_two_writers_of_one_checkpoint_never_crash(tmp_path):
    """The checkpoint race: two processes saving the same checkpoint over and over both succeed, the
    file always loads, and no temporary file is left."""
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    path = tmp_path / "x.ckpt.pt"
    procs = [ctx.Process(target=_hammer, args=(str(path), 40)) for _ in range(2)]
    [p.start() for p in procs]
    [p.join(120) for p in procs]
    assert [p.exitcode for p in procs] == [0, 0]
    assert torch.load(path, weights_only=True)["w"].shape == (256, 256)
    assert [p.name for p in tmp_path.iterdir()] == ["x.ckpt.pt"]


@pytest.mark.timeout(300)   # a hang guard; make test runs a process-starting test beside it
def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    """SIGINT during training: one line saying what resumes, exit code 130, no traceback."""
    p = subprocess.Popen([sys.executable, "-m", "msvp", "train", "--dataset", "mnist", "--epochs", "3",
                          "--train-subset", "20000", "--device", "cpu", "--out", str(tmp_path / "r.json")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                         # a shell that starts jobs in the background ignores SIGINT, and children inherit
                         # that; the test is about the default, so give the child the default
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(8)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    lines = [x for x in err.splitlines() if x.strip() and "%|" not in x]
    assert p.returncode == 130 and "Traceback" not in err, err
    assert lines == [lines[-1]] and lines[-1].startswith("interrupted: finished runs are saved")


def test_debug_flag_shows_the_traceback():
    r = cli("--debug", "train", *TINY, "--device", "tpu")
    assert r.returncode != 0 and "Traceback" in r.stderr


@PROCESSES
@pytest.mark.timeout(900)   # a hang guard: three killed grids and a reference grid
def test_killing_a_two_worker_grid_at_random_moments_loses_nothing(tmp_path):
    """Kill a 2-worker grid (SIGKILL to the whole process group) at random moments, three times, then
    let it finish: every result is valid, no run was finished twice, and all results equal those of
    an uninterrupted grid."""
    args = ("grid", "--profile", "smoke", "--only", CNN, "--no-explain", "--jobs", "2")
    ref, hit = tmp_path / "ref", tmp_path / "hit"
    assert cli(*args, "--results", str(ref), timeout=400).returncode == 0
    rng, finished = random.Random(7), Counter()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _ in range(3):
        p = subprocess.Popen([sys.executable, "-m", "msvp", *args, "--results", str(hit)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, cwd=REPO, env=env, start_new_session=True)
        time.sleep(rng.uniform(2, 9))
        os.killpg(p.pid, signal.SIGKILL)
        out = p.communicate()[0]
        finished.update(line.split(":")[0] for line in out.splitlines() if ": test acc" in line)
    r = cli(*args, "--results", str(hit), timeout=400)
    assert r.returncode == 0
    finished.update(line.split(":")[0] for line in r.stdout.splitlines() if ": test acc" in line)
    assert set(finished.values()) == {1}, finished
    refs = sorted(ref.rglob("seed*.json"))
    assert len(refs) == 9
    for a in refs:
        b = hit / a.relative_to(ref)
        ra, rb = json.loads(a.read_text()), json.loads(b.read_text())
        assert rb["status"] == "done"
        for key in ("test_acc", "test_loss", "test_correct", "confusion", "best_val_acc"):
            assert ra[key] == rb[key], (a, key)
        drop = ("train_time_s", "images_per_s")
        assert [{k: v for k, v in h.items() if k not in drop} for h in ra["history"]] == \
               [{k: v for k, v in h.items() if k not in drop} for h in rb["history"]]
    assert not list(hit.rglob("*.tmp")) and not list(hit.rglob("*.claim"))


def test_the_package_leaves_torch_to_the_command_line():
    """`import msvp` loads no torch (its names load on first use), so `python -m msvp` catches a Ctrl-C
    while torch loads and says it in one line."""
    out = subprocess.run([sys.executable, "-c", "import msvp, sys; print('torch' in sys.modules); msvp.RunConfig; "
                          "print('torch' in sys.modules); print(msvp.models.count_params is msvp.count_params)"],
                         capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.split() == ["False", "True", "True"]     # a submodule is an attribute too, as before
    assert not hasattr(__import__("msvp"), "nope")          # an unknown name stays an AttributeError
