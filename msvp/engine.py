"""One training run: a frozen config in, a result record out (and, optionally, a JSON file).

Defaults are the official protocol (design §3): Adam 1e-3 with weight decay 1e-4 on every
parameter, cosine annealing over the epochs stepped once per epoch, 10 epochs, batch 128, plain
cross-entropy, top-1 test accuracy of the final-epoch model.
"""
from __future__ import annotations

import copy
import functools
import time
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import environment
from .backbones import BACKBONES
from .data import load_dataset, stratified_prefix, train_val_split
from .datasets import DATASETS
from .loader import TensorLoader
from .models import PROMPTS, build_model, count_params, variant_name
from .prompting import FUSIONS, check_choice
from .store import write_atomic

SCHEDULES = ("cosine", "constant")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class RunConfig:
    dataset: str = "mnist"
    backbone: str = "cnn"
    prompt: str | None = None        # None = baseline; "global", "global+mid" or "full"
    fusion: str = "add"
    seed: int = 0
    epochs: int = 10
    batch_size: int = 128            # images per optimiser step
    lr: float = 1e-3                 # Adam step size
    weight_decay: float = 1e-4       # Adam's L2 term, applied to all parameters, prompts included
    schedule: str = "cosine"         # CosineAnnealingLR(T_max=epochs), stepped per epoch
    train_subset: int | None = None  # images from the 90% training split (None = all)
    val_subset: int | None = None    # images from the 10% validation split (None = all)
    test_subset: int | None = None   # images from the official test set (None = all)
    device: str = "auto"             # "auto" = CUDA when present, else CPU
    precision: str = "auto"          # "auto" = bf16 autocast on CUDA, fp32 on CPU

    def __post_init__(self):
        check_choice("dataset", self.dataset, tuple(DATASETS))
        check_choice("backbone", self.backbone, tuple(BACKBONES))
        check_choice("prompt", self.prompt, PROMPTS)
        check_choice("fusion", self.fusion, FUSIONS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("precision", self.precision, PRECISIONS)
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    @property
    def variant(self) -> str:
        return variant_name(self.prompt, self.fusion)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


class TrainingDiverged(RuntimeError):
    pass


@functools.lru_cache(maxsize=3)
def cached_dataset(name: str, root: str):
    return load_dataset(name, root)


def resolve_device(config: RunConfig) -> tuple[torch.device, bool]:
    """The device and whether to use bf16 autocast."""
    dev = torch.device("cuda" if config.device == "auto" and torch.cuda.is_available() else
                       ("cpu" if config.device == "auto" else config.device))
    bf16 = config.precision == "bf16" or (config.precision == "auto" and dev.type == "cuda")
    return dev, bf16


@dataclass
class RunParts:
    model: torch.nn.Module
    train: TensorLoader
    val: TensorLoader
    test: TensorLoader
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    device: torch.device
    bf16: bool
    data: object


def build_run(config: RunConfig, data_root="data") -> RunParts:
    """Model, loaders and optimiser for a config. Same seed => same backbone, batches, augmentation."""
    data = cached_dataset(config.dataset, str(data_root))
    dev, bf16 = resolve_device(config)
    tr_idx, va_idx = train_val_split(len(data.y_train))
    tr_idx = tr_idx[stratified_prefix(data.y_train[tr_idx], config.train_subset)]
    va_idx = va_idx[stratified_prefix(data.y_train[va_idx], config.val_subset)]
    te_idx = stratified_prefix(data.y_test, config.test_subset)
    kw = dict(dataset=config.dataset, batch_size=config.batch_size, device=dev)
    train = TensorLoader(data.x_train[tr_idx], data.y_train[tr_idx], train=True, seed=config.seed, **kw)
    val = TensorLoader(data.x_train[va_idx], data.y_train[va_idx], **kw)
    test = TensorLoader(data.x_test[te_idx], data.y_test[te_idx], **kw)
    model = build_model(config.backbone, config.dataset, prompt=config.prompt, fusion=config.fusion, seed=config.seed)
    model = model.to(dev, memory_format=torch.channels_last) if dev.type == "cuda" else model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs) if config.schedule == "cosine"
             else torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 1.0))
    return RunParts(model, train, val, test, opt, sched, dev, bf16, data)


@torch.no_grad()
def evaluate(model, loader: TensorLoader, bf16: bool = False) -> dict:
    """Accuracy, mean loss and predictions of ``model`` on a clean loader."""
    model.eval()
    preds, loss, n = [], 0.0, 0
    for x, y in loader:
        with torch.autocast(loader.device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss += F.cross_entropy(logits.float(), y, reduction="sum").item()
        preds.append(logits.argmax(1))
        n += len(y)
    pred = torch.cat(preds)
    return {"acc": (pred == loader.labels).float().mean().item(), "loss": loss / n, "pred": pred.cpu()}


def confusion(labels: torch.Tensor, pred: torch.Tensor, k: int) -> list[list[int]]:
    return torch.bincount(labels.cpu() * k + pred, minlength=k * k).view(k, k).tolist()


def train_step(parts: RunParts, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimiser step on a batch: (loss, logits), both still on the device."""
    with torch.autocast(parts.device.type, dtype=torch.bfloat16, enabled=parts.bf16):
        logits = parts.model(x)
        loss = F.cross_entropy(logits.float(), y)
    parts.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    parts.optimizer.step()
    return loss, logits


def train_epoch(parts: RunParts, epoch: int, config: RunConfig, disable_bar=None) -> dict:
    """One epoch of training; ``disable_bar`` as tqdm's ``disable`` (None = only on a terminal)."""
    parts.model.train()
    parts.train.set_epoch(epoch)
    torch.manual_seed(7919 * (config.seed + 1) + epoch)  # dropout stream: same seed, same masks
    losses, correct, n, t0 = [], 0, 0, time.perf_counter()
    bar = tqdm(parts.train, desc=f"epoch {epoch + 1}/{config.epochs}", leave=False, disable=disable_bar)
    for x, y in bar:
        loss, logits = train_step(parts, x, y)
        # kept on the device: one host sync per epoch instead of one per step (matters on a GPU)
        losses.append(loss.detach() * len(y))
        correct += (logits.argmax(1) == y).sum()
        n += len(y)
    losses = torch.stack(losses)
    bad = (~torch.isfinite(losses)).nonzero()
    if len(bad):
        step = int(bad[0])
        raise TrainingDiverged(f"loss became {losses[step].item()} at epoch {epoch + 1}, "
                               f"step {step + 1} ({config.dataset}/{config.backbone}/{config.variant}, seed {config.seed})")
    tot_loss, correct = losses.double().sum().item(), int(correct)
    if parts.device.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return {"train_loss": tot_loss / n, "train_acc": correct / n, "train_time_s": dt, "images_per_s": n / dt}


def save_checkpoint(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def run(config: RunConfig, *, out_path=None, checkpoint_path=None, data_root="data", profile: str | None = None,
        progress: bool | None = None, explain: bool = True) -> dict:
    """Train and evaluate one config. Writes ``out_path`` atomically when given; with
    ``checkpoint_path``, saves every epoch and resumes from the last completed one."""
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    parts = build_run(config, data_root)
    disable = None if progress is None else not progress
    history, best, start_epoch, elapsed = [], None, 0, 0.0
    ckpt = Path(checkpoint_path) if checkpoint_path else None
    if ckpt and ckpt.exists():
        state = torch.load(ckpt, map_location=parts.device, weights_only=False)
        if state["config"] == asdict(config):
            parts.model.load_state_dict(state["model"])
            parts.optimizer.load_state_dict(state["optimizer"])
            parts.scheduler.load_state_dict(state["scheduler"])
            history, best, elapsed, started = state["history"], state["best"], state["elapsed"], state["started"]
            start_epoch = len(history)
    record = {"config": asdict(config), "profile": profile, "variant": config.variant, "status": "running"}
    t_run = time.perf_counter() - elapsed
    try:
        for epoch in range(start_epoch, config.epochs):
            row = {"epoch": epoch + 1, "lr": parts.optimizer.param_groups[0]["lr"],
                   **train_epoch(parts, epoch, config, disable)}
            val = evaluate(parts.model, parts.val, parts.bf16)
            row.update(val_acc=val["acc"], val_loss=val["loss"])
            parts.scheduler.step()
            history.append(row)
            if best is None or val["acc"] > best["val_acc"]:
                best = {"epoch": epoch + 1, "val_acc": val["acc"],
                        "state": {k: v.detach().clone() for k, v in parts.model.state_dict().items()}}
            if ckpt:
                save_checkpoint(ckpt, {"config": asdict(config), "model": parts.model.state_dict(),
                                       "optimizer": parts.optimizer.state_dict(),
                                       "scheduler": parts.scheduler.state_dict(), "history": history,
                                       "best": best, "elapsed": time.perf_counter() - t_run, "started": started})
    except TrainingDiverged as e:
        record.update(status="diverged", error=str(e), history=history)
        if out_path:
            write_atomic(out_path, environment.to_json(record))
        raise
    last = evaluate(parts.model, parts.test, parts.bf16)
    record.update(final_metrics(parts, last, best, config.epochs))
    if explain:
        from .explain import explain_examples
        record["explanations"] = explain_examples(parts.model, config.backbone, parts.test)
    record.update(status="done", history=history, started_at=started,
                  wall_time_s=time.perf_counter() - t_run, data=parts.data.provenance,
                  params={"backbone": count_params(parts.model.backbone),
                          "prompt": count_params(parts.model.prompt) if parts.model.prompt else 0},
                  prompts={k: v.squeeze(0).tolist() for k, v in parts.model.prompt.get_prompts().items()}
                  if parts.model.prompt else {},
                  environment=environment.describe(parts.device))
    if out_path:
        write_atomic(out_path, environment.to_json(record))
    if ckpt and ckpt.exists():
        ckpt.unlink()
    return record


def final_metrics(parts: RunParts, last: dict, best: dict, last_epoch: int) -> dict:
    k = len(parts.data.classes)
    out = {"test_acc": last["acc"], "test_loss": last["loss"], "n_test": len(parts.test.labels),
           "n_train": len(parts.train.labels), "n_val": len(parts.val.labels),
           "confusion": confusion(parts.test.labels, last["pred"], k)}
    at_best = last
    if best["epoch"] != last_epoch:  # the best-validation model is another model: evaluate it too
        final_state = copy.deepcopy(parts.model.state_dict())
        parts.model.load_state_dict(best["state"])
        at_best = evaluate(parts.model, parts.test, parts.bf16)
        parts.model.load_state_dict(final_state)
    out.update(best_epoch=best["epoch"], best_val_acc=best["val_acc"], test_acc_best_val=at_best["acc"])
    return out

