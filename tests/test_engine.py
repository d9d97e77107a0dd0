"""One training run on tiny real MNIST: the result record, atomic result files, exact resume after an
interruption, bit-for-bit pairing of baseline and MSVP, and divergence handling."""
from __future__ import annotations

import json
import os
import stat
from datetime import datetime

import pytest
import torch

import msvp.engine as engine
import msvp.training as training
from msvp.engine import RunConfig, TrainingDiverged, build_run, run
from msvp.environment import FINGERPRINT
from msvp.results import decode_bits, decode_labels
from msvp.store import write_atomic

CFG = RunConfig(dataset="mnist", backbone="cnn", seed=0, epochs=2, train_subset=256, val_subset=64,
                test_subset=128, device="cpu")
HISTORY_KEYS = {"epoch", "lr", "train_loss", "train_acc", "val_acc", "val_loss", "train_time_s", "images_per_s"}
TIMING_KEYS = {"train_time_s", "images_per_s"}  # wall-clock: the only history fields allowed to differ


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data_root):
    """An uninterrupted 2-epoch run, written to a tmp results root: (record, result path)."""
    out = tmp_path_factory.mktemp("results") / "tiny" / "seed0.json"
    return run(CFG, out_path=out, data_root=data_root, profile="test", progress=False), out


@pytest.mark.timeout(120)
def test_record_has_documented_fields(reference, mnist):
    """The record carries config, per-epoch history, both test accuracies, params, data provenance,
    environment and timing, with sane values."""
    rec, _ = reference
    assert rec["status"] == "done" and rec["variant"] == "baseline" and rec["profile"] == "test"
    assert rec["config"] == CFG.to_dict() and rec["fingerprint"] == FINGERPRINT
    assert len(rec["history"]) == 2
    for i, row in enumerate(rec["history"]):
        assert HISTORY_KEYS <= set(row), HISTORY_KEYS - set(row)
        assert row["epoch"] == i + 1
        assert row["train_loss"] > 0 and 0 <= row["train_acc"] <= 1 and 0 <= row["val_acc"] <= 1
        assert row["train_time_s"] > 0 and row["images_per_s"] > 0
    assert rec["history"][0]["lr"] == pytest.approx(1e-3)
    assert rec["history"][1]["lr"] == pytest.approx(5e-4)  # cosine over 2 epochs, stepped per epoch
    for k in ("test_acc", "test_acc_best_val", "best_val_acc"):
        assert 0 <= rec[k] <= 1
    assert rec["best_epoch"] in (1, 2)
    assert rec["best_val_acc"] == max(r["val_acc"] for r in rec["history"])
    if rec["best_epoch"] == 2:
        assert rec["test_acc_best_val"] == rec["test_acc"]
    assert (rec["n_train"], rec["n_val"], rec["n_test"]) == (256, 64, 128)
    conf = torch.tensor(rec["confusion"])
    assert conf.shape == (10, 10) and conf.sum() == 128
    assert conf.trace().item() / 128 == pytest.approx(rec["test_acc"])
    assert rec["params"] == {"backbone": 1_207_786, "prompt": 0}
    assert rec["prompts"] == {}
    assert rec["data"] == mnist.provenance
    env = rec["environment"]
    assert {"hardware", "torch", "git_commit", "device_class", "threads", "precision", "memory_format"} <= set(env)
    assert env["device_class"] == "cpu" and env["threads"] == CFG.threads == 1
    correct, pred = decode_bits(rec["test_correct"]), decode_labels(rec["test_pred"])
    assert correct.shape == pred.shape == (128,) and correct.mean() == pytest.approx(rec["test_acc"])
    assert (pred[correct] < 10).all() and conf.diagonal().sum().item() == correct.sum()
    assert env["torch"] == torch.__version__ and env["hardware"] and env["git_commit"]
    assert rec["wall_time_s"] > 0
    datetime.fromisoformat(rec["started_at"])
    assert rec["explanations"]["method"] == "Grad-CAM"
    assert len(rec["explanations"]["maps"]) == 10  # one test image per class


def test_result_file_is_the_record(reference):
    """The JSON file holds the same record, is world-readable, and no temp file is left beside it."""
    rec, out = reference
    assert json.loads(out.read_text()) == json.loads(json.dumps(rec))
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert sorted(p.name for p in out.parent.iterdir()) == ["seed0.json"]


def test_write_atomic_keeps_old_file_on_failure(tmp_path, monkeypatch):
    """An interrupted write leaves the previous file intact and no temp file behind."""
    path = tmp_path / "r.json"
    write_atomic(path, "old")

    def broken_fsync(fd):
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, "new" * 1000)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


@pytest.mark.timeout(180)
def test_resume_after_interruption_is_exact(tmp_path, monkeypatch, data_root):
    """Kill a 3-epoch run during epoch 2, rerun it: it resumes from the epoch-1 checkpoint (epoch 1 is
    not retrained) and ends with exactly the history (lr included: the scheduler state must survive)
    and test metrics of an uninterrupted run."""
    cfg = RunConfig(**{**CFG.__dict__, "epochs": 3})
    ref = run(cfg, data_root=data_root, progress=False, explain=False)
    ckpt, out = tmp_path / "seed0.ckpt.pt", tmp_path / "seed0.json"
    real, calls = engine.train_epoch, []
    monkeypatch.setattr(engine, "CHECKPOINT_EVERY_S", 0)  # every epoch (the default is at most once a minute)

    def interrupted(parts, epoch, config, progress):
        calls.append(epoch)
        if epoch == 1:
            raise KeyboardInterrupt  # Ctrl-C / preemption in the middle of epoch 2
        return real(parts, epoch, config, progress)

    monkeypatch.setattr(engine, "train_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(cfg, out_path=out, checkpoint_path=ckpt, data_root=data_root, progress=False, explain=False)
    assert calls == [0, 1]
    assert ckpt.is_file() and not out.exists()
    assert len(torch.load(ckpt, weights_only=True)["history"]) == 1

    calls.clear()
    monkeypatch.setattr(engine, "train_epoch", lambda *a: (calls.append(a[1]), real(*a))[1])
    rec = run(cfg, out_path=out, checkpoint_path=ckpt, data_root=data_root, progress=False, explain=False)
    assert calls == [1, 2], "the resumed run must start at epoch 2"
    strip = [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in rec["history"]]
    assert strip == [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in ref["history"]]
    for k in ("test_acc", "test_loss", "test_acc_best_val", "best_epoch", "best_val_acc", "confusion", "params"):
        assert rec[k] == ref[k], k
    assert not ckpt.exists(), "a finished run removes its checkpoint"
    assert json.loads(out.read_text())["status"] == "done"


@pytest.mark.timeout(60)
def test_checkpoint_of_another_config_is_not_resumed(tmp_path, monkeypatch, data_root):
    """A checkpoint written for a different config is ignored: the run starts from epoch 1."""
    ckpt = tmp_path / "x.ckpt.pt"
    one = RunConfig(**{**CFG.__dict__, "epochs": 1})
    torch.save({"config": CFG.to_dict(), "history": [{"epoch": 1}]}, ckpt)
    real, calls = engine.train_epoch, []
    monkeypatch.setattr(engine, "train_epoch", lambda *a: (calls.append(a[1]), real(*a))[1])
    rec = run(one, checkpoint_path=ckpt, data_root=data_root, progress=False, explain=False)
    assert calls == [0] and len(rec["history"]) == 1


@pytest.mark.parametrize("other", [dict(prompt="full", fusion="add"), dict(prompt="global", fusion="concat"),
                                   dict(prompt="global+mid", fusion="gated")])
def test_build_run_pairs_baseline_and_msvp_bit_for_bit(data_root, other):
    """Same seed: baseline and MSVP runs get identical backbone weights and identical training batches
    (order and augmentation, x and y), and identical validation/test data."""
    a = build_run(CFG, data_root)
    b = build_run(RunConfig(**{**CFG.__dict__, **other}), data_root)
    assert a.model.prompt is None and b.model.prompt is not None
    sa, sb = a.model.backbone.state_dict(), b.model.backbone.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    for (xa, ya), (xb, yb), _ in zip(a.train, b.train, range(3)):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    for la, lb in ((a.val, b.val), (a.test, b.test)):
        assert torch.equal(la.images, lb.images) and torch.equal(la.labels, lb.labels)


def test_build_run_other_seed_other_batches_same_split(data_root):
    """A different seed changes the backbone and the batch stream, never the data split itself."""
    a = build_run(CFG, data_root)
    b = build_run(RunConfig(**{**CFG.__dict__, "seed": 1}), data_root)
    (_, ya), (_, yb) = next(iter(a.train)), next(iter(b.train))
    assert not torch.equal(ya, yb)
    assert not torch.equal(a.model.backbone.features[0][0].weight, b.model.backbone.features[0][0].weight)
    assert torch.equal(torch.sort(a.train.labels).values, torch.sort(b.train.labels).values)
    assert torch.equal(a.train.images, b.train.images) and torch.equal(a.test.images, b.test.images)
    counts = torch.bincount(a.train.labels, minlength=10)
    assert counts.sum() == 256 and counts.max() - counts.min() <= 1  # class-balanced subset


@pytest.mark.timeout(60)
def test_divergence_raises_and_keeps_the_record(tmp_path, data_root):
    """A NaN loss stops the run with TrainingDiverged naming epoch and step; the record is still written,
    with status 'diverged' and valid JSON."""
    cfg = RunConfig(**{**CFG.__dict__, "epochs": 1, "lr": 1e30})
    out = tmp_path / "seed0.json"
    with pytest.raises(TrainingDiverged, match=r"at step \d+ of epoch 1 \(mnist/cnn/baseline, seed 0\)") as e:
        run(cfg, out_path=out, data_root=data_root, progress=False, explain=False)
    rec = json.loads(out.read_text())
    assert rec["status"] == "diverged" and rec["error"] == str(e.value)
    assert rec["config"]["lr"] == 1e30 and rec["history"] == []


def test_divergence_on_a_later_step(tmp_path, data_root, monkeypatch):
    """The step count is the 1-based batch index of the first non-finite loss (here the 3rd of epoch 1)."""
    real_ce, n = training.F.cross_entropy, []

    def ce(*args, **kwargs):
        loss = real_ce(*args, **kwargs)
        n.append(1)
        return loss * float("nan") if len(n) == 3 else loss
    monkeypatch.setattr(training.F, "cross_entropy", ce)
    cfg = RunConfig(**{**CFG.__dict__, "epochs": 1, "batch_size": 32})
    with pytest.raises(TrainingDiverged, match=r"training loss nan at step 3 of epoch 1 "):
        run(cfg, out_path=tmp_path / "r.json", data_root=data_root, progress=False, explain=False)


@pytest.mark.parametrize("bad", [dict(dataset="svhn"), dict(backbone="vgg"), dict(prompt="local"),
                                 dict(fusion="mul"), dict(schedule="step"), dict(precision="fp16"),
                                 dict(epochs=0), dict(batch_size=0), dict(train_subset=0), dict(train_subset=-5),
                                 dict(threads=0), dict(memory_format="nhwc"), dict(augment="heavy"),
                                 dict(prompt="pad", fusion="concat"), dict(val_fraction=1.0), dict(lr=-1),
                                 dict(weight_decay=-1e-4), dict(blowup=1.0)])
def test_config_validation(bad):
    """A bad config fails when it is made, not hours into a grid."""
    with pytest.raises(ValueError):
        RunConfig(**bad)


def test_config_from_dict_roundtrip():
    """Records store asdict(config); from_dict rebuilds it (ignoring unknown keys)."""
    assert RunConfig.from_dict({**CFG.to_dict(), "something_new": 1}) == CFG
    assert RunConfig(prompt="global+mid", fusion="gated").variant == "msvp-gated-global_mid"


def test_epoch_whose_steps_are_a_multiple_of_the_check_interval(data_root):
    """25 steps = one divergence-check interval exactly: the epoch ends without an empty final check."""
    from msvp.training import CHECK_EVERY, train_epoch
    cfg = RunConfig(**{**CFG.__dict__, "batch_size": 8, "train_subset": 8 * CHECK_EVERY})
    parts = build_run(cfg, data_root)
    assert len(parts.train) == CHECK_EVERY
    row = train_epoch(parts, 0, cfg, disable_bar=True)
    assert row["train_loss"] > 0 and 0 <= row["train_acc"] <= 1


@pytest.mark.timeout(60)
def test_checkpoint_of_other_training_code_is_not_resumed(tmp_path, monkeypatch, data_root):
    """Same config, but written by other training code (another fingerprint): the run starts over."""
    ckpt = tmp_path / "x.ckpt.pt"
    one = RunConfig(**{**CFG.__dict__, "epochs": 1})
    torch.save({"config": one.to_dict(), "fingerprint": "0" * 16, "history": [{"epoch": 1}]}, ckpt)
    real, calls = engine.train_epoch, []
    monkeypatch.setattr(engine, "train_epoch", lambda *a: (calls.append(a[1]), real(*a))[1])
    rec = run(one, checkpoint_path=ckpt, data_root=data_root, progress=False, explain=False)
    assert calls == [0] and len(rec["history"]) == 1
