"""Data-layer faults (issue "Every fault gets one clear error and nothing is lost"): the cache race
between processes, degenerate content with the right class counts, unreadable files, and a `status`
that never raises. Each test names what the code before this change did."""
from __future__ import annotations

import builtins
import dataclasses
import errno
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_data import KNOWN, cache_files, fake_cifar, sha, small_cifar_spec, write_npz

import msvp.data
import msvp.datasets
from msvp.__main__ import main
from msvp.data import MIRROR_ENV, DataError, cache_paths, load_dataset, pixel_stats, read_cache, status, write_cache
from msvp.datasets import DATASETS

REPO = Path(__file__).resolve().parents[1]
SMALL_MNIST = dict(train_counts=(5,) * 10, test_counts=(2,) * 10)


def one_line_error(excinfo) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg and msg == msg.strip()
    return msg


def data_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "msvp.data"]


def row_of(rows, name="mnist") -> dict:
    return next(r for r in rows if r["dataset"] == name)


@pytest.fixture
def small_mnist(monkeypatch, mnist, tmp_path) -> Path:
    """A mirror folder with a 50/20-image MNIST made of real MNIST images (5/2 per class), and the spec
    patched to those counts: an unknown-sha256 file that is genuinely MNIST."""
    monkeypatch.setitem(msvp.datasets.DATASETS, "mnist", dataclasses.replace(DATASETS["mnist"], **SMALL_MNIST))
    arrays = {}
    for split, per_class in (("train", 5), ("test", 2)):
        x, y = getattr(mnist, f"x_{split}").numpy()[:, 0], getattr(mnist, f"y_{split}").numpy()
        pick = np.sort(np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(10)]))
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x[pick], y[pick].astype(np.uint8)
    write_npz(tmp_path / "mirror" / "mnist.npz", arrays)
    return tmp_path / "mirror"


def small_arrays(mirror: Path) -> tuple[dict, dict]:
    """Verified NCHW arrays and provenance of the small MNIST mirror file, as load_dataset caches them."""
    arrays, prov = msvp.data.load_from_mirror("mnist", mirror / "mnist.npz", warn=False)
    return arrays, {"dataset": "mnist", **prov, "n_train": 50, "n_test": 20}


def deny_read(monkeypatch, path: Path):
    """Make ``path`` unreadable: chmod 000, and (as root, who ignores modes) opening it raises EACCES.
    Returns a function that makes it readable again."""
    os.chmod(path, 0)
    denied = [True]

    def allow():
        denied[0] = False
        os.chmod(path, 0o644)
    if not os.access(path, os.R_OK):
        return allow
    target, real_open = path.resolve(), builtins.open

    def guarded(file, *args, **kwargs):
        if denied[0] and isinstance(file, (str, os.PathLike)) and Path(file).resolve() == target:
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)
    monkeypatch.setattr(builtins, "open", guarded)
    monkeypatch.setattr(io, "open", guarded)
    return allow


# ---------------------------------------------------------------- the cache race

RACE_WORKER = r"""
import json, sys, time
from pathlib import Path
from msvp.data import load_dataset
me, base, mirror, rounds = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
out = []
for i in range(rounds):
    (base / f"ready{i}.{me}").touch()           # a two-process barrier, so both start the build together
    deadline = time.monotonic() + 60
    while len(list(base.glob(f"ready{i}.*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.001)
    try:
        ds = load_dataset("mnist", base / f"root{i}", mirror=mirror)
        out.append({"ok": True, "sha256": ds.provenance["sha256"], "n": len(ds.y_train)})
    except BaseException as e:
        out.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
print(json.dumps(out))
"""


def test_two_processes_build_the_same_cache_at_once(mirror_dir, tmp_path):
    """Grid shards starting together on a new machine: two processes build the MNIST cache in the same
    fresh data root at the same moment, three times. Both must get the data every time and the cache must
    verify afterwards, with no temporary file left. (Before: both wrote msvp-cache/mnist.npz.tmp.npz,
    so one process crashed on a file the other had renamed, and sometimes the record did not match.)"""
    rounds = 3
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", RACE_WORKER, str(k), str(tmp_path), str(mirror_dir), str(rounds)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for k in range(2)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    for k, res in enumerate(results):
        assert [r.get("error") for r in res] == [None] * rounds, f"process {k}: {res}"
        assert all(r["sha256"] == KNOWN["mnist"] and r["n"] == 60000 for r in res)
    for i in range(rounds):
        root = tmp_path / f"root{i}"
        arrays, prov = read_cache("mnist", root)  # raises if the cache fails its record or its checks
        assert prov["sha256"] == KNOWN["mnist"] and len(arrays["y_train"]) == 60000
        assert cache_files(root) == ["mnist.json", "mnist.npz"]


def test_writer_finishing_between_write_and_rename(small_mnist, tmp_path, monkeypatch):
    """Deterministic interleaving: a second writer does its whole write while the first is between writing
    its temporary file and renaming it. Each has its own temporary file, so both succeed and the cache
    verifies. (Before: one fixed temporary name, so the first writer's rename failed, FileNotFoundError.)"""
    arrays, prov = small_arrays(small_mnist)
    root = tmp_path / "root"
    npz = cache_paths("mnist", root)[0]
    real_replace, nested = os.replace, []

    def replace(src, dst):
        if Path(dst) == npz and not nested:
            nested.append(src)
            write_cache("mnist", arrays, prov, root)  # the other process, start to finish
        return real_replace(src, dst)
    with monkeypatch.context() as m:
        m.setattr(os, "replace", replace)
        write_cache("mnist", arrays, prov, root)
    assert nested
    assert read_cache("mnist", root)[1] == prov
    assert cache_files(root) == ["mnist.json", "mnist.npz"]


def test_writer_finishing_between_rename_and_record(small_mnist, tmp_path, monkeypatch):
    """The other interleaving: the second writer renames its arrays and writes its record while the first
    is between its rename and its record, so the final record is the first writer's and the arrays the
    second's. That is only safe because the cache bytes depend on the arrays alone, not on the clock
    (advanced 10 s per call here) or the writer: this guards that property of the cache writer. (The old
    np.savez writer has it too on Python 3.11, whose zipfile stamps 1980-01-01; the old code lost this
    race through its shared temporary file instead, which the two tests around this one catch.)"""
    arrays, prov = small_arrays(small_mnist)
    root = tmp_path / "root"
    real_write_atomic, real_time, nested = msvp.data.write_atomic, time.time, []
    clock = iter(range(10**9))

    def write_atomic(path, text):
        if not nested:
            nested.append(path)
            write_cache("mnist", arrays, prov, root)
        return real_write_atomic(path, text)
    with monkeypatch.context() as m:
        m.setattr(msvp.data, "write_atomic", write_atomic)
        m.setattr(time, "time", lambda: real_time() + 10 * next(clock))
        write_cache("mnist", arrays, prov, root)
    assert nested
    cached = read_cache("mnist", root)
    assert cached is not None and cached[1] == prov


# ---------------------------------------------------------------- degenerate content

DEGENERATE = {
    "blank": lambda x, rng: np.zeros_like(x),
    "constant": lambda x, rng: np.full_like(x, 100),
    "inverted": lambda x, rng: 255 - x,
    "binarised": lambda x, rng: np.where(x > 127, 255, 0).astype(np.uint8),
    "noise": lambda x, rng: rng.integers(0, 256, x.shape).astype(np.uint8),
    "repeated": lambda x, rng: np.broadcast_to(x[:1], x.shape).copy(),
}


@pytest.mark.parametrize("kind", [k for k in DEGENERATE if k != "inverted"])  # inverted photos are still photos
def test_degenerate_cifar10_with_right_counts_is_refused(kind, tmp_path, monkeypatch):
    """An unknown cifar10.npz with exactly the right class counts but degenerate images is refused with one
    line naming the file, what is wrong and the fix; nothing is cached. (Before: accepted as
    'CIFAR-10 (complete)'.)"""
    small_cifar_spec(monkeypatch)
    arrays, rng = fake_cifar(seed=7), np.random.default_rng(0)
    arrays["x_train"] = DEGENERATE[kind](arrays["x_train"], rng)
    path = write_npz(tmp_path / "mirror" / "cifar10.npz", arrays)
    with pytest.raises(DataError) as e:
        load_dataset("cifar10", tmp_path / "root", mirror=tmp_path / "mirror")
    msg = one_line_error(e)
    assert str(path) in msg and "x_train" in msg and "degenerate" in msg
    assert "fix: replace" in msg and MIRROR_ENV in msg
    assert cache_files(tmp_path / "root") == []


@pytest.mark.parametrize("kind", DEGENERATE)
def test_degenerate_mnist_is_refused_as_degenerate(kind, small_mnist, tmp_path):
    """The same for an unknown MNIST file: the refusal says the content is degenerate (before: only
    'checksum mismatch', since an unknown MNIST file was refused whatever it held)."""
    arrays = dict(np.load(small_mnist / "mnist.npz"))
    arrays["x_test"] = DEGENERATE[kind](arrays["x_test"], np.random.default_rng(1))
    path = write_npz(small_mnist / "mnist.npz", arrays)
    with pytest.raises(DataError) as e:
        load_dataset("mnist", tmp_path / "root", mirror=small_mnist)
    msg = one_line_error(e)
    assert str(path) in msg and "x_test" in msg and "degenerate" in msg and sha(path) in msg
    assert cache_files(tmp_path / "root") == []


def test_unknown_file_that_verifies_is_accepted_with_its_checksum(small_mnist, tmp_path, caplog):
    """A new MNIST file (sha256 not in the known table) whose structure, counts and pixels check out is
    accepted, with one warning line naming the file and its sha256, and cached with that sha256 as its
    provenance. (Before: refused with 'checksum mismatch' whatever it held.)"""
    path = small_mnist / "mnist.npz"
    with caplog.at_level("WARNING", logger="msvp.data"):
        ds = load_dataset("mnist", tmp_path / "root", mirror=small_mnist)
    [warning] = data_warnings(caplog)
    assert sha(path) in warning and str(path) in warning and "\n" not in warning
    assert ds.provenance == {"dataset": "mnist", "source": "mirror:mnist.npz", "sha256": sha(path),
                             "variant": "complete", "n_train": 50, "n_test": 20}
    row = row_of(status(tmp_path / "root2", mirror=small_mnist))
    assert row["verified"] and sha(path) in row["detail"]


def test_pixel_stats_match_the_published_figures(mnist, fashion):
    """The statistics the sanity check uses reproduce the mirror README's measurements."""
    s = pixel_stats(mnist.x_train.numpy())
    assert abs(s["mean"][0] - 0.130660) < 1e-5 and abs(s["std"][0] - 0.308108) < 1e-5
    assert s["distinct_values"] == 256 and s["distinct_images"] == 1.0 and s["neighbour_corr"] > 0.7
    s = pixel_stats(fashion.x_test.numpy())
    assert abs(s["mean"][0] - 0.286849) < 1e-5 and abs(s["std"][0] - 0.352444) < 1e-5


def test_degenerate_cache_is_rebuilt(small_mnist, tmp_path, caplog):
    """A cache whose record matches but whose images are blank (as a cache written before these checks
    could be) is reported in one line and rebuilt from the source. (Before: the blank images were used.)"""
    arrays, prov = small_arrays(small_mnist)
    root = tmp_path / "root"
    write_cache("mnist", {**arrays, "x_train": np.zeros_like(arrays["x_train"])}, prov, root)
    with caplog.at_level("WARNING", logger="msvp.data"):
        ds = load_dataset("mnist", root, mirror=small_mnist)
    assert np.array_equal(ds.x_train.numpy(), arrays["x_train"])
    assert any("degenerate" in w and "rebuilding" in w for w in data_warnings(caplog))
    assert np.array_equal(read_cache("mnist", root)[0]["x_train"], arrays["x_train"])


# ---------------------------------------------------------------- unreadable files

def test_unreadable_mirror_file_is_one_clear_error(small_mnist, tmp_path, monkeypatch):
    """Permission denied on the mirror file: a DataError naming the file and the fix, from load_dataset,
    and a PROBLEM row from status. (Before: a bare PermissionError traceback from both.)"""
    path = small_mnist / "mnist.npz"
    deny_read(monkeypatch, path)
    with pytest.raises(DataError) as e:
        load_dataset("mnist", tmp_path / "root", mirror=small_mnist)
    msg = one_line_error(e)
    assert str(path) in msg and "permission denied" in msg and "chmod" in msg
    row = row_of(status(tmp_path / "root", mirror=small_mnist))
    assert row["present"] and not row["verified"] and row["detail"] == msg


def test_mirror_path_that_is_a_directory(tmp_path):
    """<mirror>/mnist.npz being a folder: one DataError naming it (before: IsADirectoryError)."""
    (tmp_path / "mirror" / "mnist.npz").mkdir(parents=True)
    with pytest.raises(DataError) as e:
        load_dataset("mnist", tmp_path / "root", mirror=tmp_path / "mirror")
    msg = one_line_error(e)
    assert str(tmp_path / "mirror" / "mnist.npz") in msg and "is a directory" in msg
    assert not row_of(status(tmp_path / "root", mirror=tmp_path / "mirror"))["verified"]


@pytest.mark.parametrize("content", ["npy", "empty", "text"])
def test_mirror_file_that_is_not_an_npz(content, tmp_path, monkeypatch):
    """A cifar10.npz that is a bare .npy array, empty, or text: one DataError naming it. (Before: the .npy
    crashed with a TypeError from `with np.load(...)`; empty and text were already DataErrors.)"""
    small_cifar_spec(monkeypatch)
    path = tmp_path / "mirror" / "cifar10.npz"
    path.parent.mkdir()
    if content == "npy":
        with path.open("wb") as f:
            np.save(f, fake_cifar()["x_train"])
    else:
        path.write_text("" if content == "empty" else "not a zip file\n")
    with pytest.raises(DataError) as e:
        load_dataset("cifar10", tmp_path / "root", mirror=tmp_path / "mirror")
    msg = one_line_error(e)
    assert str(path) in msg and "truncated or corrupt" in msg and "fix:" in msg


@pytest.mark.parametrize("fault", ["permission", "directory", "truncated"])
def test_unreadable_cache_is_reported_and_rebuilt(fault, small_mnist, tmp_path, monkeypatch, caplog):
    """A cache file that cannot be read (permission denied, a folder in its place, truncated) is a PROBLEM
    row in status and, on load, one warning line and a rebuild from the mirror; the data arrive.
    (Before: PermissionError / IsADirectoryError tracebacks, or a 'does not match its record' refusal of
    every later run until someone deleted the cache by hand.)"""
    arrays, prov = small_arrays(small_mnist)
    root = tmp_path / "root"
    write_cache("mnist", arrays, prov, root)
    npz = cache_paths("mnist", root)[0]
    allow = None
    if fault == "permission":
        allow = deny_read(monkeypatch, npz)
    elif fault == "directory":
        npz.unlink()
        npz.mkdir()
    else:
        npz.write_bytes(npz.read_bytes()[:1000])
    row = row_of(status(root, mirror=small_mnist))
    assert row["present"] and not row["verified"] and str(npz) in row["detail"] and "\n" not in row["detail"]
    with caplog.at_level("WARNING", logger="msvp.data"):
        ds = load_dataset("mnist", root, mirror=small_mnist)
    assert np.array_equal(ds.x_test.numpy(), arrays["x_test"])
    warnings = data_warnings(caplog)
    assert any(str(npz) in w and "rebuilding it from" in w for w in warnings), warnings
    if allow:
        allow()
    if fault != "directory":  # a folder in the way cannot be replaced by a file: reported, data still served
        assert read_cache("mnist", root)[1] == prov


def test_corrupt_cache_without_a_source_names_both(small_mnist, tmp_path, monkeypatch):
    """A corrupt cache and no way to rebuild it (mirror file gone, no network): one DataError line naming
    the source's fix and the cache's problem. (Before: 'does not match its record; delete both and load
    again', after which the load fails anyway.)"""
    arrays, prov = small_arrays(small_mnist)
    root = tmp_path / "root"
    write_cache("mnist", arrays, prov, root)
    npz = cache_paths("mnist", root)[0]
    npz.write_bytes(npz.read_bytes()[:-10])
    (small_mnist / "mnist.npz").unlink()
    with pytest.raises(DataError) as e:
        load_dataset("mnist", root, mirror=small_mnist)
    msg = one_line_error(e)
    assert str(small_mnist / "mnist.npz") in msg and MIRROR_ENV in msg
    assert "rebuilding the cache" in msg and str(npz) in msg and "does not match its record" in msg


def test_unwritable_cache_location_still_serves_the_data(small_mnist, tmp_path, caplog):
    """When the cache cannot be written (here a file where the msvp-cache folder should be), the verified
    data are still returned, with one warning line. (Before: FileExistsError traceback.)"""
    root = tmp_path / "root"
    root.mkdir()
    (root / "msvp-cache").write_text("in the way")
    with caplog.at_level("WARNING", logger="msvp.data"):
        ds = load_dataset("mnist", root, mirror=small_mnist)
    assert len(ds.y_train) == 50
    assert any("could not write the data cache" in w for w in data_warnings(caplog))


# ---------------------------------------------------------------- status never raises

def test_status_never_raises(tmp_path, monkeypatch):
    """Whatever goes wrong inside, status gives a PROBLEM row with one line (before: the exception
    escaped and crashed `python -m msvp data status`)."""
    def boom(*args, **kwargs):
        raise RuntimeError("unexpected\nfailure")
    monkeypatch.setattr(msvp.data, "read_cache", boom)
    rows = status(tmp_path / "root", mirror=tmp_path / "none")
    assert [r["dataset"] for r in rows] == list(DATASETS)
    for r in rows:
        assert r["present"] and not r["verified"] and r["detail"] == "RuntimeError: unexpected failure"


def test_cli_data_status_reports_problem_rows(small_mnist, tmp_path, monkeypatch, capsys):
    """`python -m msvp data status` with an unreadable mirror file prints one PROBLEM line for it, one line
    per dataset, and exits 0 (before: PermissionError traceback)."""
    monkeypatch.setenv(MIRROR_ENV, str(small_mnist))
    deny_read(monkeypatch, small_mnist / "mnist.npz")
    assert main(["data", "status", "--data-root", str(tmp_path / "root")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(DATASETS)
    assert "PROBLEM" in lines[0] and "permission denied" in lines[0] and lines[0].startswith("mnist")
