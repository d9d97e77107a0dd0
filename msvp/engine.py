"""One run, end to end: a frozen ``RunConfig`` in, a result record out (and, optionally, a file).

The numerics live in ``training.py``; this module does the bookkeeping around them: resume from a
checkpoint, divergence records, the result record with its provenance, atomic writes.
"""
from __future__ import annotations

import copy
import functools
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch

from . import environment
from .config import RunConfig
from .data import load_dataset, resolve_data_root
from .models import count_params
from .results import encode_bits, encode_labels
from .store import atomic_file, write_atomic
from .training import RunParts, TrainingDiverged, evaluate, train_epoch
from .training import build_run as build_parts

__all__ = ["RunConfig", "TrainingDiverged", "build_run", "run", "check_output_path"]
CHECKPOINT_EVERY_S = 60  # seconds between checkpoints: every epoch on a CPU, every few on a GPU


@functools.lru_cache(maxsize=3)
def cached_dataset(name: str, root: str):
    return load_dataset(name, root)


def build_run(config: RunConfig, data_root=None) -> RunParts:
    """Model, loaders and optimiser for a config (the dataset loaded once per process)."""
    return build_parts(config, cached_dataset(config.dataset, str(resolve_data_root(data_root))))


def check_output_path(path) -> Path:
    """Refuse, before any training, a result path that could not be written at the end."""
    path = Path(path)
    if str(path) in ("", "."):
        raise ValueError("empty result path; name a .json file")
    if path.is_dir():
        raise ValueError(f"result path {path} is a directory; name a file inside it")
    parent = path.parent
    for p in (parent, *parent.parents):
        if p.exists():
            if not p.is_dir():
                raise ValueError(f"cannot write {path}: {p} is a file, not a folder")
            if not os.access(p, os.W_OK | os.X_OK):
                raise ValueError(f"cannot write {path}: folder {p} is not writable")
            break
    return path


def save_checkpoint(path: Path, state: dict) -> None:
    """Atomic and race-safe (``store.atomic_file``): a reader sees the old checkpoint or the new one."""
    with atomic_file(path, "wb") as f:
        torch.save(state, f)


def load_checkpoint(path: Path, config: RunConfig, device) -> dict | None:
    """The checkpoint's state if ``config`` and the current training code wrote it; a corrupt one is
    moved aside (and said)."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location=device, weights_only=True)
        if not isinstance(state, dict) or "config" not in state:
            raise ValueError("not a checkpoint of this package")
    except Exception as e:  # noqa: BLE001 - any unreadable checkpoint is handled the same way
        aside = path.with_name(f"{path.name}.corrupt-{os.getpid()}")
        os.replace(path, aside)
        print(f"warning: checkpoint {path} is unreadable ({type(e).__name__}); moved to {aside.name}, "
              f"restarting the run", flush=True)
        return None
    # resume only what the same training code started: a run must not mix two versions of it
    same = state["config"] == config.to_dict() and environment.is_current(state.get("fingerprint"))
    return state if same else None


def checkpoint_progress(path: Path) -> int | None:
    """How many epochs a checkpoint holds, for progress listings; None if there is none or it cannot
    be read (a listing must never move a checkpoint aside, so this is not ``load_checkpoint``)."""
    try:
        return len(torch.load(path, map_location="cpu", weights_only=True)["history"])
    except Exception:  # noqa: BLE001 - absent, half-written or foreign: no progress to show
        return None


@dataclass
class Progress:
    """Where a run stands: epochs done, the best-validation model so far, and its clock (which keeps
    counting across resumes, so ``wall_time_s`` is the whole run's time)."""
    started: str
    history: list = field(default_factory=list)
    best: dict | None = None
    t_run: float = field(default_factory=time.perf_counter)

    @classmethod
    def resume(cls, parts: RunParts, config: RunConfig, ckpt: Path | None, started: str) -> Progress:
        """A fresh start, or the state of a checkpoint that this config and training code wrote."""
        state = load_checkpoint(ckpt, config, parts.device) if ckpt else None
        if not state:
            return cls(started)
        parts.model.load_state_dict(state["model"])
        parts.optimizer.load_state_dict(state["optimizer"])
        parts.scheduler.load_state_dict(state["scheduler"])
        return cls(state["started"], state["history"], state["best"], time.perf_counter() - state["elapsed"])

    def checkpoint(self, parts: RunParts, config: RunConfig) -> dict:
        return {"config": config.to_dict(), "fingerprint": environment.FINGERPRINT,
                "model": parts.model.state_dict(), "optimizer": parts.optimizer.state_dict(),
                "scheduler": parts.scheduler.state_dict(), "history": self.history, "best": self.best,
                "elapsed": time.perf_counter() - self.t_run, "started": self.started}


def run(config: RunConfig, *, out_path=None, checkpoint_path=None, data_root=None, profile: str | None = None,
        progress: bool | None = None, explain: bool = True) -> dict:
    """Train and evaluate one config. Writes ``out_path`` atomically when given; with
    ``checkpoint_path``, checkpoints at most every ``CHECKPOINT_EVERY_S`` and resumes from it."""
    if out_path is not None:
        out_path = check_output_path(out_path)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    parts = build_run(config, data_root)
    ckpt = Path(checkpoint_path) if checkpoint_path else None
    state = Progress.resume(parts, config, ckpt, started)
    record = {"config": config.to_dict(), "profile": profile, "variant": config.variant, "status": "running",
              "fingerprint": environment.FINGERPRINT}
    try:
        train_epochs(parts, config, state, ckpt, None if progress is None else not progress)
    except TrainingDiverged as e:
        record.update(status="diverged", error=str(e), history=state.history, environment=run_environment(parts))
        _write_final(record, out_path, ckpt)
        raise
    record.update(final_metrics(parts, evaluate(parts, parts.test), state.best, config.epochs))
    if explain:
        record["explanations"] = explanations(parts, config)
    record.update(status="done", history=state.history, started_at=state.started,
                  wall_time_s=time.perf_counter() - state.t_run, data=parts.data.provenance,
                  params=param_counts(parts), prompts=prompt_values(parts), environment=run_environment(parts))
    _write_final(record, out_path, ckpt)
    return record


def train_epochs(parts: RunParts, config: RunConfig, state: Progress, ckpt: Path | None, disable) -> None:
    """The remaining epochs: train, validate, step the schedule, keep the best-validation weights, and
    checkpoint at most every CHECKPOINT_EVERY_S (never after the last epoch: the result follows)."""
    last_save = time.perf_counter()
    for epoch in range(len(state.history), config.epochs):
        row = {"epoch": epoch + 1, "lr": parts.optimizer.param_groups[0]["lr"],
               **train_epoch(parts, epoch, config, disable)}
        val = evaluate(parts, parts.val)
        row.update(val_acc=val["acc"], val_loss=val["loss"])
        parts.scheduler.step()
        state.history.append(row)
        if state.best is None or val["acc"] > state.best["val_acc"]:
            state.best = {"epoch": epoch + 1, "val_acc": val["acc"],
                          "state": {k: v.detach().clone() for k, v in parts.model.state_dict().items()}}
        if ckpt and epoch + 1 < config.epochs and time.perf_counter() - last_save >= CHECKPOINT_EVERY_S:
            save_checkpoint(ckpt, state.checkpoint(parts, config))
            last_save = time.perf_counter()


def run_environment(parts: RunParts) -> dict:
    return environment.describe(parts.device, precision=parts.precision, memory_format=parts.memory_format)


def param_counts(parts: RunParts) -> dict:
    prompt = parts.model.prompt
    return {"backbone": count_params(parts.model.backbone), "prompt": count_params(prompt) if prompt else 0}


def prompt_values(parts: RunParts) -> dict:
    """The learned prompts (lists of floats), for the book's pictures of them."""
    prompt = parts.model.prompt
    return {k: v.squeeze(0).tolist() for k, v in prompt.get_prompts().items()} if prompt else {}


def _write_final(record: dict, out_path, ckpt) -> None:
    """Write a finished (or diverged) run's record, then drop its checkpoint: in this order, so that a
    run stopped between the two steps still has its result, and the stale checkpoint is only ignored."""
    if out_path:
        write_atomic(out_path, environment.to_json(record))
    if ckpt:
        ckpt.unlink(missing_ok=True)


def explanations(parts: RunParts, config: RunConfig) -> dict:
    """Grad-CAM / attention maps of a few test images; skipped (and said) where grad-cam is missing."""
    try:
        from .explain import explain_examples
    except ImportError as e:
        return {"skipped": f"grad-cam not installed ({e.name})"}
    return explain_examples(parts.model, config.backbone, parts.test)


def confusion(labels: torch.Tensor, pred: torch.Tensor, k: int) -> list[list[int]]:
    return torch.bincount(labels.cpu() * k + pred, minlength=k * k).view(k, k).tolist()


def final_metrics(parts: RunParts, last: dict, best: dict, last_epoch: int) -> dict:
    """Test metrics of the last-epoch model and of the best-validation one, with per-image results
    (correctness bits and predicted labels) for paired statistics."""
    k = len(parts.data.classes)
    out = {"test_acc": last["acc"], "test_loss": last["loss"], "n_test": len(parts.test.labels),
           "n_train": len(parts.train.labels), "n_val": len(parts.val.labels),
           "confusion": confusion(parts.test.labels, last["pred"], k),
           "test_correct": encode_bits(last["correct"]), "test_pred": encode_labels(last["pred"])}
    at_best = last
    if best["epoch"] != last_epoch:  # the best-validation model is another model: evaluate it too
        final_state = copy.deepcopy(parts.model.state_dict())
        parts.model.load_state_dict(best["state"])
        at_best = evaluate(parts, parts.test)
        parts.model.load_state_dict(final_state)
    out.update(best_epoch=best["epoch"], best_val_acc=best["val_acc"], test_acc_best_val=at_best["acc"],
               test_correct_best_val=encode_bits(at_best["correct"]))
    return out
