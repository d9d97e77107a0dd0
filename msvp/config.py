"""The one table of settings (``RunConfig``): every setting that can change a result.

Every setting that can change a result is a field of ``RunConfig``, with its unit, and is stored
with each run. Defaults are the official protocol (salimkhazem/msvp): Adam 1e-3 with weight decay
1e-4 on every parameter, cosine annealing stepped once per epoch, 10 epochs, batch 128, plain
cross-entropy, the official augmentation, a fixed 90/10 train/validation split.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from .backbones import BACKBONES
from .datasets import DATASETS
from .prompting import CONTROLS, FUSIONS, INIT_STD, SCALE_SETS, check_choice


def variant_name(prompt: str | None, fusion: str = "add") -> str:
    """'baseline', 'msvp-add-full', 'msvp-concat-global_mid', 'control-pad', ... ('+' is path-unsafe)."""
    if prompt is None:
        return "baseline"
    if prompt in CONTROLS:
        return f"control-{prompt}"
    return f"msvp-{fusion}-{prompt.replace('+', '_')}"


SCHEDULES = ("cosine", "constant")
PRECISIONS = ("auto", "fp32", "bf16")
MEMORY_FORMATS = ("auto", "contiguous", "channels_last")
AUGMENTATIONS = ("official", "none")


@dataclass(frozen=True)
class RunConfig:
    dataset: str = "mnist"
    backbone: str = "cnn"
    prompt: str | None = None        # None = baseline; MSVP scales or a control (msvp.experiments.VARIANTS)
    fusion: str = "add"
    seed: int = 0                    # backbone init, batch order, augmentation and dropout streams
    epochs: int = 10
    batch_size: int = 128            # images per optimiser step
    lr: float = 1e-3                 # Adam step size
    weight_decay: float = 1e-4       # Adam's L2 term, on all parameters, prompts included (official)
    schedule: str = "cosine"         # CosineAnnealingLR(T_max=epochs), stepped per epoch
    augment: str = "official"        # MNIST-family crop(pad 4)+rotate(10 deg); CIFAR crop(pad 4)+flip
    val_fraction: float = 0.1        # of the official training set, held out clean for validation
    split_seed: int = 42             # the train/validation split; independent of ``seed``
    train_subset: int | None = None  # images from the training split (None = all)
    val_subset: int | None = None    # images from the validation split (None = all)
    test_subset: int | None = None   # images from the official test set (None = all)
    prompt_init_std: float = INIT_STD  # prompts start as N(0, 1) * this
    pad_width: int = 1               # pixels, the pad-prompt control's frame
    cnn_dropout: tuple[float, float] = (0.5, 0.3)  # the CNN head's two dropout rates
    vit_dropout: float = 0.1         # the ViT's dropout everywhere
    device: str = "auto"             # "auto" = CUDA when present, else CPU
    precision: str = "auto"          # "auto" = bf16 autocast on CUDA, fp32 on CPUs (bench/bf16_equivalence.py)
    memory_format: str = "auto"      # "auto" = channels_last with bf16 or CUDA
    threads: int = 1                 # intra-op CPU threads; results differ between thread counts
    blowup: float = 10.0             # diverged when the training loss exceeds this × its first value

    def __post_init__(self):
        check_choice("dataset", self.dataset, tuple(DATASETS))
        check_choice("backbone", self.backbone, tuple(BACKBONES))
        check_choice("prompt", self.prompt, (None,) + tuple(SCALE_SETS) + CONTROLS)
        check_choice("fusion", self.fusion, FUSIONS)
        if (self.prompt is None or self.prompt in CONTROLS) and self.fusion != "add":
            raise ValueError(f"fusion {self.fusion!r} needs an MSVP prompt; the baseline and the controls use 'add'")
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("memory_format", self.memory_format, MEMORY_FORMATS)
        check_choice("augment", self.augment, AUGMENTATIONS)
        for name in ("epochs", "batch_size", "threads", "pad_width"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("train_subset", "val_subset", "test_subset"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer or None (all images), got {value!r}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must be between 0 and 1, got {self.val_fraction}")
        for name, ok, rule in (("lr", self.lr > 0, "> 0"), ("weight_decay", self.weight_decay >= 0, ">= 0"),
                               ("prompt_init_std", self.prompt_init_std >= 0, ">= 0"), ("blowup", self.blowup > 1, "> 1")):
            if not ok:
                raise ValueError(f"{name} must be {rule}, got {getattr(self, name)}")

    @property
    def variant(self) -> str:
        return variant_name(self.prompt, self.fusion)

    def to_dict(self) -> dict:
        """The config as JSON stores it (tuples become lists), for comparing with stored records."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        if isinstance(kw.get("cnn_dropout"), list):
            kw["cnn_dropout"] = tuple(kw["cnn_dropout"])
        return cls(**kw)
