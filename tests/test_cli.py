"""The command line: bad values give one line that names the valid choices, and exit code 2."""
import subprocess
import sys

import pytest


def cli(*args):
    return subprocess.run([sys.executable, "-m", "msvp", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args,needle", [
    (("train", "--backbone", "foo"), "'cnn', 'resnet18', 'vit'"),
    (("train", "--dataset", "svhn"), "'mnist', 'fashion_mnist', 'cifar10'"),
    (("grid", "--profile", "huge"), "'smoke', 'cpu', 'paper'"),
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
