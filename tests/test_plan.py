"""ETAs: a cell's measured run time counts only for runs like it (epochs, subset size, precision)."""
from __future__ import annotations

import json
import math

import pytest

from msvp.config import RunConfig
from msvp.experiments import wall_time
from msvp.plan import measured_seconds
from msvp.results import result_path


def write(root, cfg, wall):
    path = result_path(root, "cpu", cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"config": cfg.to_dict(), "variant": cfg.variant, "status": "done",
                                "wall_time_s": wall, "environment": {"device_class": "cpu"}}))


def test_measured_time_is_per_precision_and_size(tmp_path):
    fp32 = RunConfig(dataset="cifar10", backbone="cnn", seed=0)
    write(tmp_path, fp32, 1000.0)
    write(tmp_path, RunConfig(dataset="cifar10", backbone="cnn", seed=1), 1200.0)
    assert measured_seconds(fp32, tmp_path, "cpu") == pytest.approx(1100.0)
    assert measured_seconds(RunConfig(dataset="cifar10", backbone="cnn", precision="bf16"), tmp_path, "cpu") is None
    assert measured_seconds(RunConfig(dataset="cifar10", backbone="cnn", train_subset=450), tmp_path, "cpu") is None
    assert measured_seconds(RunConfig(dataset="mnist", backbone="cnn"), tmp_path, "cpu") is None
    # runs on another thread count take another time (ResNet-18 runs on 2 threads)
    assert measured_seconds(RunConfig(dataset="cifar10", backbone="cnn", threads=2), tmp_path, "cpu") is None



def test_an_older_record_without_a_cost_field_counts_with_the_default_it_ran_on(tmp_path):
    """Records written before `threads` and `precision` joined RunConfig ran on 1 thread, 'auto'."""
    cfg = RunConfig(dataset="cifar10", backbone="cnn", seed=0)
    path = result_path(tmp_path, "cpu", cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = {k: v for k, v in cfg.to_dict().items() if k not in ("threads", "precision")}
    path.write_text(json.dumps({"config": old, "variant": cfg.variant, "status": "done",
                                "wall_time_s": 900.0, "environment": {"device_class": "cpu"}}))
    assert measured_seconds(cfg, tmp_path, "cpu") == 900.0
    assert measured_seconds(RunConfig(dataset="cifar10", backbone="cnn", threads=2), tmp_path, "cpu") is None


def test_per_cell_groups_runs_and_says_where_the_time_came_from(tmp_path, monkeypatch):
    from msvp import plan
    monkeypatch.setattr(plan, "warmup_seconds", lambda cfg, data_root="data": 600.0)
    done = RunConfig(dataset="cifar10", backbone="cnn", seed=0)
    write(tmp_path, done, 1200.0)
    todo = [RunConfig(dataset="cifar10", backbone="cnn", seed=s) for s in (1, 2)]
    todo += [RunConfig(dataset="cifar10", backbone="vit", precision="bf16", seed=0)]
    rows = plan.per_cell(todo, results=tmp_path, profile="cpu")
    assert [(r["backbone"], r["runs"], r["source"], r["min_per_run"]) for r in rows] == [
        ("cnn", 2, "measured", 20.0), ("vit", 1, "warm-up", 10.0)]


def test_wall_time_follows_workers_taking_runs_in_order():
    """Two workers, runs of 4, 4, 1 h: the third starts when the first worker is free (5 h, not the
    4.5 h of sum / workers); one worker adds them up; more workers than runs wait for the longest."""
    assert wall_time([4, 4, 1], 2) == 5
    assert wall_time([4, 4, 1], 1) == 9
    assert wall_time([1, 4], 5) == 4
    assert wall_time([1, 1, 4], 2) == 5      # in order: the 4 h run starts after a 1 h run
    assert wall_time([], 2) == 0
    assert math.isnan(wall_time([1, float("nan")], 2))   # an unknown cost is not a number of hours


def test_saved_estimates_merge_by_cell_and_a_bad_file_reads_as_none(tmp_path):
    """`grid --plan` saves its per-cell minutes for chapter 11; a later plan of other cells keeps the
    earlier rows and replaces the ones it measured again; an unreadable file is no estimate, not a crash."""
    from msvp.estimates import estimates_path, load_estimates, save_estimates
    from msvp.experiments import COST_FIELDS, cost_key

    vit = RunConfig(dataset="cifar10", backbone="vit", precision="bf16")
    cnn = RunConfig(dataset="mnist", backbone="cnn", train_subset=540)

    def row(cfg, minutes, source="warm-up"):
        return {**{f: getattr(cfg, f) for f in COST_FIELDS},
                "runs": 3, "min_per_run": minutes, "source": source}
    save_estimates(tmp_path, "cpu", [row(vit, 330.0)], "AMD EPYC (1 thread)")
    save_estimates(tmp_path, "cpu", [row(cnn, 9.5)], "AMD EPYC (1 thread)")
    save_estimates(tmp_path, "cpu", [row(vit, 300.0, "measured")], "AMD EPYC (1 thread)")
    got = load_estimates(tmp_path, "cpu")
    assert set(got) == {cost_key(vit), cost_key(cnn)}
    assert (got[cost_key(vit)]["min_per_run"], got[cost_key(vit)]["source"]) == (300.0, "measured")
    assert got[cost_key(cnn)]["min_per_run"] == 9.5 and got[cost_key(cnn)]["hardware"] == "AMD EPYC (1 thread)"
    assert load_estimates(tmp_path, "long") == {}
    # a row names its own thread count, not the one the planning process was left with
    resnet = RunConfig(dataset="cifar10", backbone="resnet18", precision="bf16", threads=2)
    save_estimates(tmp_path, "cpu", [row(resnet, 75.0)], "AMD EPYC (1 thread)")
    assert load_estimates(tmp_path, "cpu")[cost_key(resnet)]["hardware"] == "AMD EPYC (2 threads)"
    estimates_path(tmp_path, "cpu").write_text("{not json")
    assert load_estimates(tmp_path, "cpu") == {}
