"""The grid runner and results store: profiles expand to unique configs, finished runs are skipped,
shards partition the grid, --only is parsed strictly, results load into one row per run."""
from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import replace

import pytest

import msvp.grid as grid
from msvp.engine import TrainingDiverged
from msvp.experiments import PROFILES, get_profile
from msvp.grid import parse_only, run_grid, select
from msvp.results import load, result_path, skipped_line

ONLY = "dataset=mnist,backbone=cnn,variant=baseline|msvp-add-full"  # two smoke runs keep this fast


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, data_root):
    """The smoke grid restricted to MNIST/CNN baseline + MSVP, run once into a tmp results root."""
    results = tmp_path_factory.mktemp("results")
    log: list[str] = []
    summary = run_grid("smoke", only=ONLY, results=results, data_root=data_root, progress=False, log=log.append)
    return results, summary, log


@pytest.mark.timeout(180)
def test_grid_writes_one_result_per_run(smoke):
    """Both runs train, write their result at the documented path, and leave no checkpoint behind."""
    results, summary, log = smoke
    configs = select(get_profile("smoke").configs(), ONLY)
    assert [c.variant for c in configs] == ["baseline", "msvp-add-full"]
    paths = [result_path(results, "smoke", c) for c in configs]
    assert summary["done"] == paths and summary["skipped"] == [] and summary["failed"] == []
    for c, p in zip(configs, paths):
        assert p == results / "smoke" / "mnist" / "cnn" / c.variant / "seed0.json"
        rec = json.loads(p.read_text())
        assert rec["status"] == "done" and rec["profile"] == "smoke" and rec["config"] == c.to_dict()
        assert (rec["n_train"], rec["n_val"], rec["n_test"]) == (256, 128, 256)
    assert not list(results.rglob("*.ckpt.pt")) and not list(results.rglob("*.tmp"))
    assert len(log) == 2 and all("test acc" in line for line in log)


def test_grid_rerun_trains_nothing(smoke, monkeypatch, data_root):
    """A second call finds every result and skips it: nothing is trained (run is never called)."""
    results, first, _ = smoke

    def must_not_run(*args, **kwargs):
        raise AssertionError("a finished run was trained again")
    monkeypatch.setattr(grid, "run", must_not_run)
    summary = run_grid("smoke", only=ONLY, results=results, data_root=data_root, progress=False, log=print)
    assert summary["done"] == [] and summary["failed"] == [] and summary["missing"] == []
    assert summary["skipped"] == first["done"]


def test_grid_listing_without_training(smoke, monkeypatch, data_root):
    """train=False lists the missing runs of the wider selection without training any."""
    results, first, _ = smoke
    monkeypatch.setattr(grid, "run", lambda *a, **k: pytest.fail("train=False must not train"))
    summary = run_grid("smoke", only="dataset=mnist,backbone=cnn", results=results, data_root=data_root,
                       train=False, progress=False)
    assert summary["skipped"] == first["done"]
    assert len(summary["missing"]) == 7  # concat, 3 ablations, 3 controls
    assert not any(p.exists() for p in summary["missing"])


def test_grid_reports_diverged_runs(tmp_path, monkeypatch, data_root):
    """A diverging run is logged and listed as failed; the grid goes on with the next run."""
    calls = []

    def fake_run(cfg, **kwargs):
        calls.append(cfg.variant)
        if cfg.variant == "baseline":
            raise TrainingDiverged("loss became nan at epoch 1, step 2")
        return {"test_acc": 0.5}
    monkeypatch.setattr(grid, "run", fake_run)
    log: list[str] = []
    summary = run_grid("smoke", only=ONLY, results=tmp_path, data_root=data_root, progress=False, log=log.append)
    assert calls == ["baseline", "msvp-add-full"]
    assert [p.parent.name for p in summary["failed"]] == ["baseline"]
    assert [p.parent.name for p in summary["done"]] == ["msvp-add-full"]
    assert any(line.startswith("diverged:") for line in log)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_profile_configs_are_unique_and_paired(profile):
    """Each profile expands to unique configs; every MSVP config has its baseline (same cell, seed)."""
    configs = get_profile(profile).configs()
    assert len(set(configs)) == len(configs)
    baselines = {(c.dataset, c.backbone, c.seed) for c in configs if c.prompt is None}
    assert all((c.dataset, c.backbone, c.seed) in baselines for c in configs)
    paths = {result_path("r", profile, c) for c in configs}
    assert len(paths) == len(configs)  # no two runs share a result file


def test_smoke_profile_size():
    """smoke: 9 main cells x {baseline, MSVP add, MSVP concat} + 3 ablation + 3 controls on MNIST/CNN."""
    configs = get_profile("smoke").configs()
    assert len(configs) == 33
    assert {c.epochs for c in configs} == {1} and {c.train_subset for c in configs} == {256}


def test_cpu_profile_is_the_official_protocol():
    """cpu: full splits, 10 epochs, batch 128, 1 thread (ResNet-18: 2, every run of it). CNN: 5 seeds for
    baseline/add, 3 for the rest, in fp32. ResNet-18 and ViT-Tiny: baseline and add/full at 3 seeds on
    every data set, concat/full at 3 seeds on CIFAR-10, in bf16, the CIFAR-10 cells first."""
    configs = get_profile("cpu").configs()
    assert {(c.epochs, c.batch_size, c.train_subset, c.val_subset, c.test_subset) for c in configs} == {
        (10, 128, None, None, None)}
    assert {(c.backbone, c.threads) for c in configs} == {("cnn", 1), ("vit", 1), ("resnet18", 2)}
    cnn = [c for c in configs if c.backbone == "cnn"]
    assert {c.precision for c in cnn} == {"auto"}       # the committed fp32 column stays as it was
    count = Counter((c.dataset, c.variant) for c in cnn)
    for d in ("mnist", "fashion_mnist", "cifar10"):
        assert count[d, "baseline"] == count[d, "msvp-add-full"] == 5 and count[d, "msvp-concat-full"] == 3
    assert {v for (d, v) in count if d == "fashion_mnist"} >= {"msvp-add-global", "msvp-add-global_mid",
                                                             "msvp-gated-full", "control-pad"}
    assert len(cnn) == 66
    big = [c for c in configs if c.backbone != "cnn"]
    assert {c.precision for c in big} == {"bf16"}
    count = Counter((c.dataset, c.backbone, c.variant) for c in big)
    for d in ("mnist", "fashion_mnist", "cifar10"):
        for b in ("vit", "resnet18"):
            assert count[d, b, "baseline"] == count[d, b, "msvp-add-full"] == 3
            assert count[d, b, "msvp-concat-full"] == (3 if d == "cifar10" else 0)
    assert [(c.dataset, c.backbone) for c in big[:2]] == [("cifar10", "vit")] * 2
    assert [c.seed for c in big[:6]] == [0, 0, 1, 1, 2, 2]    # seed-major: a complete pair first


def test_bf16_profile_mirrors_the_cpu_protocol_in_bf16():
    """bf16: the cpu CNN settings but precision bf16; 5 baseline seeds per data set, 3 add/full pairs on
    Fashion-MNIST and CIFAR-10; its runs are the same configs as the cpu ones but for the precision."""
    configs = get_profile("bf16").configs()
    assert {c.precision for c in configs} == {"bf16"} and {c.backbone for c in configs} == {"cnn"}
    count = Counter((c.dataset, c.variant) for c in configs)
    assert count == {("mnist", "baseline"): 5, ("fashion_mnist", "baseline"): 5, ("cifar10", "baseline"): 5,
                     ("fashion_mnist", "msvp-add-full"): 3, ("cifar10", "msvp-add-full"): 3}
    cpu = set(get_profile("cpu").configs())
    assert all(replace(c, precision="auto") in cpu for c in configs)


@pytest.mark.parametrize("profile", list(PROFILES))
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_shards_partition_the_grid(profile, n):
    """shard (i, n) over i = 0..n-1 covers every config exactly once, in near-equal parts."""
    configs = get_profile(profile).configs()
    parts = [select(configs, shard=(i, n)) for i in range(n)]
    flat = [c for part in parts for c in part]
    assert sorted(map(repr, flat)) == sorted(map(repr, configs))
    assert len(flat) == len(configs)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_shards_after_only():
    """--only and --shard compose: the shards partition the selected configs."""
    configs = select(get_profile("paper").configs(), "dataset=cifar10")
    parts = [select(get_profile("paper").configs(), "dataset=cifar10", shard=(i, 4)) for i in range(4)]
    assert sorted(map(repr, (c for p in parts for c in p))) == sorted(map(repr, configs))


@pytest.mark.parametrize("shard", [(2, 2), (-1, 2), (0, 0)])
def test_bad_shard(shard):
    with pytest.raises(ValueError, match="shard"):
        select(get_profile("smoke").configs(), shard=shard)


def test_parse_only():
    """'key=a|b' items separated by commas; seed values compare as strings."""
    assert parse_only("dataset=mnist,backbone=cnn|vit") == {"dataset": {"mnist"}, "backbone": {"cnn", "vit"}}
    assert parse_only(None) == {} and parse_only("") == {}
    picked = select(get_profile("cpu").configs(), "dataset=mnist,seed=1|2,variant=msvp-add-full")
    assert picked and all(c.dataset == "mnist" and c.seed in (1, 2) and c.variant == "msvp-add-full" for c in picked)


@pytest.mark.parametrize("spec", ["model=cnn", "dataset", "dataset=mnist,fusion=add", "Dataset=mnist"])
def test_parse_only_rejects_bad_keys(spec):
    """Unknown keys or items without '=' are errors that name the valid keys."""
    with pytest.raises(ValueError, match="key in dataset, backbone, variant, seed"):
        parse_only(spec)


def test_unknown_profile():
    with pytest.raises(ValueError, match="valid choices: smoke, cpu, paper, bf16"):
        get_profile("gpu")


def test_results_load_one_row_per_run(smoke):
    """results.load: a DataFrame with one row per finished run and the values of its record."""
    results, summary, _ = smoke
    df = load("smoke", results)
    assert len(df) == 2
    assert sorted(df["variant"]) == ["baseline", "msvp-add-full"]
    for path in summary["done"]:
        rec = json.loads(path.read_text())
        row = df[df["path"] == str(path)].iloc[0]
        assert row["test_acc"] == rec["test_acc"] and row["seed"] == 0 and row["status"] == "done"
        assert row["data_variant"] == "complete" and row["n_train"] == 256
    assert df.set_index("variant").loc["msvp-add-full", "params_prompt"] == 81
    assert df.set_index("variant").loc["baseline", "params_prompt"] == 0
    assert load("cpu", results).empty and "test_acc" in load("cpu", results).columns


def test_results_load_counts_only_current_records_and_names_the_rest(smoke, tmp_path):
    """load(): diverged runs are listed apart (never averaged); stale (other code or config), foreign
    (not a config of the profile) and malformed files are skipped and counted in one line."""
    results, _, _ = smoke
    root = tmp_path / "results"
    shutil.copytree(results, root)
    cell = root / "smoke" / "mnist" / "cnn"
    msvp = json.loads((cell / "msvp-add-full" / "seed0.json").read_text())
    (cell / "msvp-add-full" / "seed0.json").write_text(json.dumps({**msvp, "status": "diverged", "error": "x"}))
    df = load("smoke", root)
    assert list(df["variant"]) == ["baseline"]
    assert [r["variant"] for r in df.attrs["diverged"]] == ["msvp-add-full"]
    assert "1 diverged run(s) (mnist/cnn/msvp-add-full seed 0)" in skipped_line(df)

    base = json.loads((cell / "baseline" / "seed0.json").read_text())
    (cell / "baseline" / "seed7.json").write_text(json.dumps({**base, "config": {**base["config"], "seed": 7}}))
    (cell / "msvp-add-global" / "seed0.json").parent.mkdir()
    (cell / "msvp-add-global" / "seed0.json").write_text('{"config": {"dataset": "mnist"')  # truncated
    (cell / "msvp-gated-full" / "seed0.json").parent.mkdir()
    gated = {**base, "variant": "msvp-gated-full",
             "config": {**base["config"], "prompt": "full", "fusion": "gated"}, "fingerprint": "0" * 16}
    (cell / "msvp-gated-full" / "seed0.json").write_text(json.dumps(gated))
    df = load("smoke", root)
    assert list(df["variant"]) == ["baseline"]
    assert df.attrs["skipped"] == {"foreign": 1, "malformed": 1, "stale": 1}
    assert skipped_line(df).endswith("1 foreign file(s); 1 malformed file(s); 1 stale file(s).")
