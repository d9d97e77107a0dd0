"""The numerics of one run: model, data, optimiser, a training epoch and an evaluation pass.

Everything here decides the numbers a run produces, so this file belongs to the training
fingerprint (``msvp.environment.TRAINING_SOURCES``); bookkeeping (checkpoints, records, resumes)
lives in ``engine.py`` and can change without making results stale.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .config import RunConfig
from .datasets import DATASETS
from .loader import TensorLoader
from .models import build_model
from .splits import stratified_prefix, train_val_split

CHECK_EVERY = 25  # steps between divergence checks (one host sync each)


class TrainingDiverged(RuntimeError):
    pass


def resolve_device(config: RunConfig) -> torch.device:
    if config.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(config.device)
    except RuntimeError:
        raise ValueError(f"unknown device {config.device!r}; valid choices: auto, cpu, cuda, cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {config.device!r} asked for, but torch sees no CUDA device; use --device cpu or auto")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {config.device!r}; valid choices: auto, cpu, cuda, cuda:N")
    return dev


def resolve_precision(config: RunConfig, dev: torch.device) -> str:
    """'bf16' or 'fp32': auto is bf16 autocast on CUDA, fp32 on CPUs. bf16 on a CPU with native bf16
    is 2.1-2.3x faster here, but paired fp32/bf16 runs (bench/bf16_equivalence.py) did not show the
    accuracies equivalent within ±0.5 pp, so the CPU keeps fp32."""
    if config.precision != "auto":
        return config.precision
    return "bf16" if dev.type == "cuda" else "fp32"


def resolve_memory_format(config: RunConfig, dev: torch.device, precision: str) -> str:
    if config.memory_format != "auto":
        return config.memory_format
    return "channels_last" if dev.type == "cuda" or precision == "bf16" else "contiguous"


@dataclass
class RunParts:
    model: torch.nn.Module
    train: TensorLoader
    val: TensorLoader
    test: TensorLoader
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    device: torch.device
    precision: str
    memory_format: str
    data: object

    @property
    def bf16(self) -> bool:
        return self.precision == "bf16"

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.memory_format == "channels_last" else x


def split_indices(config: RunConfig, y_train: torch.Tensor, y_test: torch.Tensor):
    """(train, validation, test) index tensors; refuses a subset larger than its split."""
    tr, va = train_val_split(len(y_train), config.val_fraction, config.split_seed)
    for name, n, avail in (("train_subset", config.train_subset, len(tr)), ("val_subset", config.val_subset, len(va)),
                           ("test_subset", config.test_subset, len(y_test))):
        if n is not None and n > avail:
            raise ValueError(f"{name}={n} is larger than its split ({avail:,} images); use at most {avail} or None")
    return (tr[stratified_prefix(y_train[tr], config.train_subset, config.split_seed)],
            va[stratified_prefix(y_train[va], config.val_subset, config.split_seed)],
            stratified_prefix(y_test, config.test_subset, config.split_seed))


def build_run(config: RunConfig, data) -> RunParts:
    """Model, loaders and optimiser for a config and a loaded ``msvp.data.Dataset``.

    Same seed => bit-identical backbone, batches, augmentation and dropout for every variant.
    """
    torch.set_num_threads(config.threads)
    dev = resolve_device(config)
    precision = resolve_precision(config, dev)
    fmt = resolve_memory_format(config, dev, precision)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: autotune once per run
    tr, va, te = split_indices(config, data.y_train, data.y_test)
    kw = dict(dataset=config.dataset, batch_size=config.batch_size, device=dev)
    augment = config.augment == "official"
    train = TensorLoader(data.x_train[tr], data.y_train[tr], train=True, augment=augment, seed=config.seed, **kw)
    val = TensorLoader(data.x_train[va], data.y_train[va], **kw)
    test = TensorLoader(data.x_test[te], data.y_test[te], **kw)
    model = build_model(config.backbone, config.dataset, prompt=config.prompt, fusion=config.fusion,
                        seed=config.seed, prompt_init_std=config.prompt_init_std, pad_width=config.pad_width,
                        cnn_dropout=config.cnn_dropout, vit_dropout=config.vit_dropout)
    model = model.to(dev, memory_format=torch.channels_last) if fmt == "channels_last" else model.to(dev)
    params = [p for p in model.parameters() if p.requires_grad]
    # fused Adam (one kernel for all parameters) where it exists; same update rule
    opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay,
                           **({"fused": True} if dev.type == "cuda" else {}))
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs) if config.schedule == "cosine"
             else torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 1.0))
    return RunParts(model, train, val, test, opt, sched, dev, precision, fmt, data)


@torch.no_grad()
def evaluate(parts: RunParts, loader: TensorLoader) -> dict:
    """Accuracy, mean loss and predictions on a clean loader, with one host sync per pass."""
    parts.model.eval()
    preds, loss = [], torch.zeros((), device=loader.device, dtype=torch.float64)
    for x, y in loader:
        with torch.autocast(loader.device.type, dtype=torch.bfloat16, enabled=parts.bf16):
            logits = parts.model(parts.prepare(x))
        loss += F.cross_entropy(logits.float(), y, reduction="sum")
        preds.append(logits.argmax(1))
    pred = torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long, device=loader.device)
    correct = pred == loader.labels
    n = max(len(loader.labels), 1)
    return {"acc": correct.sum().item() / n, "loss": loss.item() / n, "pred": pred.cpu(), "correct": correct.cpu()}


def train_step(parts: RunParts, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimiser step on a batch: (loss, logits), both still on the device."""
    with torch.autocast(parts.device.type, dtype=torch.bfloat16, enabled=parts.bf16):
        logits = parts.model(parts.prepare(x))
        loss = F.cross_entropy(logits.float(), y)
    parts.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    parts.optimizer.step()
    return loss, logits


def check_divergence(losses: list[torch.Tensor], start: int, limit: float, where: str) -> None:
    """Raise on the first step since ``start`` whose loss is non-finite or above ``limit`` (one sync)."""
    chunk = torch.stack(losses[start:])
    bad = (~torch.isfinite(chunk)) | (chunk > limit)
    if bad.any():
        i = int(bad.nonzero()[0])
        raise TrainingDiverged(f"training loss {chunk[i].item():.4g} at step {start + i + 1} of {where} "
                               f"(limit: finite and below {limit:.3g})")


def train_epoch(parts: RunParts, epoch: int, config: RunConfig, disable_bar=None) -> dict:
    """One epoch of training; ``disable_bar`` as tqdm's ``disable`` (None = only on a terminal).

    Diverged = a non-finite loss, or one above ``config.blowup`` × ln(classes), the loss of a
    uniform guess; checked every ``CHECK_EVERY`` steps so a blown-up run stops early.
    """
    parts.model.train()
    parts.train.set_epoch(epoch)
    torch.manual_seed(7919 * (config.seed + 1) + epoch)  # dropout stream: same seed, same masks
    limit = config.blowup * math.log(len(DATASETS[config.dataset].classes))
    where = (f"epoch {epoch + 1} ({config.dataset}/{config.backbone}/{config.variant}, seed {config.seed})")
    losses, sizes, correct, t0, checked = [], [], 0, time.perf_counter(), 0
    bar = tqdm(parts.train, desc=f"epoch {epoch + 1}/{config.epochs}", leave=False, disable=disable_bar)
    for x, y in bar:
        loss, logits = train_step(parts, x, y)
        # kept on the device: a host sync only every CHECK_EVERY steps (matters on a GPU)
        losses.append(loss.detach())
        sizes.append(len(y))
        correct += (logits.argmax(1) == y).sum()
        if len(losses) - checked >= CHECK_EVERY:
            check_divergence(losses, checked, limit, where)
            checked = len(losses)
    if not losses:
        raise ValueError("the training split is empty: train_subset must be >= 1")
    if checked < len(losses):  # the steps since the last check (none when they came out even)
        check_divergence(losses, checked, limit, where)
    n = sum(sizes)
    tot_loss = (torch.stack(losses).double() * torch.tensor(sizes, dtype=torch.float64, device=parts.device)).sum()
    if parts.device.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return {"train_loss": tot_loss.item() / n, "train_acc": int(correct) / n, "train_time_s": dt,
            "images_per_s": n / dt}
