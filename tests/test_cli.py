"""The command line: bad values give one line that names the valid choices, and exit code 2."""
import subprocess
import sys

import pytest


def cli(*args):
    return subprocess.run([sys.executable, "-m", "msvp", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args,needle", [
    (("train", "--backbone", "foo"), "'cnn', 'resnet18', 'vit'"),
    (("train", "--dataset", "svhn"), "'mnist', 'fashion_mnist', 'cifar10'"),
    (("grid", "--profile", "huge"), "'smoke', 'cpu', 'paper', 'bf16'"),
    (("grid", "--profile", "cpu", "--only", "dataset=mnsit", "--list"), "valid choices: cifar10, fashion_mnist, mnist"),
    (("grid", "--profile", "cpu", "--shard", "x", "--list"), "--shard must look like 0/4"),
])
def test_bad_values_one_line(args, needle):
    r = cli(*args)
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr


def test_grid_list_names_runs(tmp_path):
    r = cli("grid", "--profile", "smoke", "--only", "dataset=mnist,backbone=cnn", "--results", str(tmp_path), "--list")
    assert r.returncode == 0
    assert r.stdout.splitlines()[-1] == "9 missing"
    assert "missing   " + str(tmp_path / "smoke" / "mnist" / "cnn" / "control-pad" / "seed0.json") in r.stdout


def test_grid_list_shows_runs_a_live_worker_holds(tmp_path):
    """A claim whose worker is alive lists as running, with the epochs its checkpoint holds; a claim
    left by a dead worker does not."""
    import json
    import os
    import socket

    import torch

    base = tmp_path / "smoke" / "mnist" / "cnn"
    held, dead = base / "baseline" / "seed0.json", base / "control-pad" / "seed0.json"
    for path, pid in ((held, os.getpid()), (dead, 2 ** 22 + 7)):   # above Linux's largest pid: never alive
        path.parent.mkdir(parents=True)
        path.with_suffix(".claim").write_text(json.dumps({"host": socket.gethostname(), "pid": pid, "since": "t"}))
    torch.save({"history": [{}, {}]}, held.with_suffix(".ckpt.pt"))
    r = cli("grid", "--profile", "smoke", "--only", "dataset=mnist,backbone=cnn", "--results", str(tmp_path), "--list")
    assert r.returncode == 0, r.stderr
    assert f"running   {held}  (pid {os.getpid()} on {socket.gethostname()} since t; 2 of" in r.stdout
    assert f"missing   {dead}" in r.stdout and r.stdout.splitlines()[-1] == "8 missing, 1 running"
