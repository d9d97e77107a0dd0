"""msvp.cores: grid workers on one machine share its cores; a run holds as many as it has threads."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from msvp.cores import cores

fcntl = pytest.importorskip("fcntl")


def test_a_two_core_run_waits_until_both_cores_are_free(tmp_path):
    """While a 1-thread run holds one of two cores, a 2-thread run waits; it starts once that ends."""
    entered, messages = threading.Event(), []

    def two_core_run():
        with cores(2, total=2, poll=0.02, folder=tmp_path, log=messages.append):
            entered.set()

    with cores(1, total=2, folder=tmp_path):
        t = threading.Thread(target=two_core_run)
        t.start()
        time.sleep(0.3)
        assert not entered.is_set()          # one core is free, not two
    t.join(timeout=5)
    assert entered.is_set() and messages == ["waiting for 2 free core(s) of 2: other runs hold them"]


def test_one_core_runs_side_by_side_and_a_request_is_capped_at_the_machine(tmp_path):
    """Two 1-thread runs fit two cores at once; a run asking for more cores than exist takes them all
    instead of waiting forever, and gives them back when it ends."""
    with cores(1, total=2, folder=tmp_path), cores(1, total=2, folder=tmp_path, poll=60):
        pass                                 # would block for a minute if the second waited
    with cores(8, total=2, folder=tmp_path):
        held = [f for f in tmp_path.glob("core*.lock")]
        assert len(held) == 2
    with cores(2, total=2, folder=tmp_path, poll=60):
        pass                                 # both released


def test_grid_workers_hold_cores_for_cpu_runs(monkeypatch, tmp_path):
    """The grid trains a CPU run inside ``cores(threads)``; a GPU run takes none."""
    from msvp import grid
    from msvp.config import RunConfig

    asked, folders = [], []

    class Held:
        def __init__(self, n, folder=None, **kw):
            asked.append(n)
            folders.append(folder)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False
    monkeypatch.setattr(grid, "cores", Held)
    monkeypatch.setattr(grid, "run", lambda cfg, **kw: {"test_acc": 0.5})
    job = grid.Job("smoke", tmp_path, str(tmp_path), False, False, None, False, False, time.time())
    grid.train_one(job, RunConfig(dataset="mnist", backbone="resnet18", threads=2, device="cpu"), tmp_path / "r.json",
                   print)
    assert asked == [2] and folders == [tmp_path / ".cores" / socket.gethostname()]   # the results folder's own
    monkeypatch.setattr(grid, "resolve_device", lambda cfg: __import__("torch").device("cuda"))
    grid.train_one(job, RunConfig(dataset="mnist", backbone="cnn", threads=2), tmp_path / "r.json", print)
    assert asked == [2]


def test_a_run_that_got_its_cores_too_late_for_the_time_budget_is_left(monkeypatch, tmp_path):
    """The deadline is checked before the claim and again once the cores are free: a run that waited
    a whole other run for its cores would otherwise start after its time had gone."""
    from msvp import grid
    from msvp.config import RunConfig

    clock = {"now": 1000.0}
    trained = []

    class Waits:                                     # holding the cores costs 50 s of waiting
        def __init__(self, n, **kw):
            pass

        def __enter__(self):
            clock["now"] += 50
            return self

        def __exit__(self, *exc):
            return False
    monkeypatch.setattr(grid, "cores", Waits)
    monkeypatch.setattr(grid.time, "time", lambda: clock["now"])
    monkeypatch.setattr(grid, "expected_seconds", lambda *a: 30.0)
    monkeypatch.setattr(grid, "run", lambda cfg, **kw: trained.append(cfg) or {"test_acc": 0.5})
    cfg = RunConfig(dataset="mnist", backbone="resnet18", threads=2, device="cpu")
    late = grid.Job("smoke", tmp_path, str(tmp_path), False, False, 1000.0 + 60, False, False, 1000.0)
    summary = grid.work(late, [(cfg, tmp_path / "r.json")], log=lambda m: None)
    assert summary["left"] == [tmp_path / "r.json"] and not trained and not summary["done"]
    clock["now"] = 1000.0
    in_time = grid.Job("smoke", tmp_path, str(tmp_path), False, False, 1000.0 + 90, False, False, 1000.0)
    summary = grid.work(in_time, [(cfg, tmp_path / "s.json")], log=lambda m: None)
    assert summary["done"] == [tmp_path / "s.json"] and len(trained) == 1
