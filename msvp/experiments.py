"""The experiments: the registry of variants (what sits in front of the backbone), its groups, and the
profiles (which cells, variants and seeds each plan trains, with which settings, in which order).

Not part of the training fingerprint: a variant's numerics are its ``RunConfig.prompt`` and
``RunConfig.fusion`` (stored with every run), so adding a variant or relabelling one leaves every
committed run current.
"""
from __future__ import annotations

import dataclasses
import heapq
import math
from dataclasses import dataclass, field

from .config import RunConfig, variant_name
from .prompting import FUSIONS, PROMPT_SIZES, SCALE_SETS, check_choice


@dataclass(frozen=True)
class Variant:
    """One arm of a comparison: what sits in front of the backbone."""
    name: str                 # path-safe id, used in result paths and tables
    label: str                # for readers
    kind: str                 # "baseline", "msvp" or "control"
    prompt: str | None        # RunConfig.prompt
    fusion: str = "add"       # RunConfig.fusion

    def params(self, channels: int, height: int, width: int, pad_width: int = 1) -> int:
        """Trainable parameters the variant adds to the backbone (the analytic formula)."""
        c, p = channels, self.prompt
        if p is None or p == "frozen":
            return 0
        if p == "pad":
            return c * (height * width - (height - 2 * pad_width) * (width - 2 * pad_width))
        if p == "fullres":
            return c * height * width
        k = len(SCALE_SETS[p])
        maps = c * sum(PROMPT_SIZES[s] ** 2 for s in SCALE_SETS[p])
        return maps + {"add": 0, "concat": c * (k + 1) * c, "gated": c * c + c}[self.fusion]


def _msvp(scales: str, fusion: str) -> Variant:
    return Variant(variant_name(scales, fusion), f"MSVP {fusion}/{scales}", "msvp", scales, fusion)


VARIANTS: dict[str, Variant] = {v.name: v for v in [
    Variant("baseline", "baseline", "baseline", None),
    *(_msvp(s, f) for f in FUSIONS for s in SCALE_SETS),
    Variant("control-pad", "pad prompt (border, width 1)", "control", "pad"),
    Variant("control-fullres", "full-resolution prompt", "control", "fullres"),
    Variant("control-frozen", "frozen random MSVP", "control", "frozen"),
]}
BACKBONE_TITLES = {"cnn": "CNN", "resnet18": "ResNet-18", "vit": "ViT-Tiny"}   # how readers name them

MAIN_VARIANTS = ("baseline", "msvp-add-full", "msvp-concat-full")   # both readings of the paper's fusion
SCALE_ABLATION = ("msvp-add-global", "msvp-add-global_mid", "msvp-add-full")
FUSION_ABLATION = ("msvp-add-full", "msvp-concat-full", "msvp-gated-full")
CONTROL_VARIANTS = ("control-pad", "control-fullres", "control-frozen")


def config_for(variant: str, **settings) -> RunConfig:
    """A RunConfig for a registered variant name, e.g. ``config_for('msvp-concat-full', dataset='cifar10')``."""
    check_choice("variant", variant, tuple(VARIANTS))
    v = VARIANTS[variant]
    return RunConfig(prompt=v.prompt, fusion=v.fusion, **settings)


ABLATION_EXTRA = ("msvp-add-global", "msvp-add-global_mid", "msvp-gated-full")  # beside MAIN_VARIANTS


@dataclass(frozen=True)
class Part:
    """Cells × variants × seeds: one block of a profile."""
    name: str                          # "main", "ablation" or "controls"
    cells: tuple                       # (dataset, backbone) pairs
    variants: tuple                    # names in msvp.experiments.VARIANTS
    seeds: tuple
    settings: dict = field(default_factory=dict)  # RunConfig fields for this part only (over the profile's)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str                   # how it deviates from the paper's protocol, for the book
    parts: tuple
    settings: dict = field(default_factory=dict)      # RunConfig fields shared by every run
    train_subset: dict = field(default_factory=dict)  # dataset -> images (absent = all)
    path_fields: tuple = ()            # RunConfig fields that tell this profile's runs of one cell apart

    def part(self, name: str) -> Part | None:
        return next((p for p in self.parts if p.name == name), None)

    @property
    def main(self) -> tuple:
        return self.part("main").cells

    @property
    def ablation(self) -> tuple:
        return self.part("ablation").cells if self.part("ablation") else ()

    @property
    def seeds(self) -> tuple:
        return self.part("main").seeds

    @property
    def epochs(self) -> int:
        return self.settings.get("epochs", RunConfig.epochs)

    def configs(self) -> list[RunConfig]:
        """Every run, in order (earlier parts first), each once."""
        return [cfg for _, cfg in self.part_configs()]

    def part_configs(self) -> list[tuple[str, RunConfig]]:
        """(part name, run) for every run, in order, each once: a run that two parts plan (a baseline seed
        both need) counts in the first."""
        out, seen = [], set()
        # seed-major: after each round the cells have complete pairs, so evidence accrues evenly
        for part in self.parts:
            for seed in part.seeds:
                for dataset, backbone in part.cells:
                    for variant in part.variants:
                        settings = {"train_subset": self.train_subset.get(dataset), **self.settings,
                                    **part.settings}
                        cfg = config_for(variant, dataset=dataset, backbone=backbone, seed=seed, **settings)
                        if cfg not in seen:
                            seen.add(cfg)
                            out.append((part.name, cfg))
        return out


ALL = ("mnist", "fashion_mnist", "cifar10")
CNN_CELLS = tuple((d, "cnn") for d in ALL)
# ResNet-18 and ViT-Tiny on the CPU: the CIFAR-10 cells first (the paper's strongest claims), one part
# per cell so that each cell completes its pairs before the next starts, seed-major inside a cell
BACKBONE_CELLS = (("cifar10", "vit"), ("cifar10", "resnet18"), ("fashion_mnist", "vit"), ("mnist", "vit"),
                  ("fashion_mnist", "resnet18"), ("mnist", "resnet18"))
# Intra-op threads per backbone run on the CPU. ResNet-18 takes 2 threads and runs one at a time:
# measured 2026-12-05 (bf16 + channels_last, batch 128, nothing else running), a second thread makes
# its training step 1.81x faster on CIFAR-10 (55 -> 100 img/s) and 1.93x on MNIST, so a 2-thread run
# of the protocol takes about 80 min, while two 1-thread runs side by side took about 17 min per
# epoch each (about 3 h per run): longer than a working stretch, whose checkpoints may not survive
# to the next. ViT-Tiny gains only 1.33x from a second thread and keeps 1 thread per run, two runs
# side by side. Results differ between thread counts, so a cell's runs all use its count.
BACKBONE_THREADS = {"resnet18": 2, "vit": 1}
# The precision of every CPU run added after the fp32 CNN column: bf16 autocast + channels_last
# (memory_format "auto"), as the bf16 profile checks on the CNN (msvp.precision states the rule)
BF16 = dict(precision="bf16")
# The scarce-data learning curve: fractions of the official 90 % training split (54,000 images for
# MNIST-family sets, 45,000 for CIFAR-10), the same validation and test sets as the full protocol
OFFICIAL_TRAIN = {"fashion_mnist": 54_000, "cifar10": 45_000}
SCARCE_FRACTIONS = (0.01, 0.10)


def scarce_epochs(full: int, subset: int, base: int = 10, cap: int = 100) -> int:
    """min(cap, base x full / subset): a subset run gets as many optimiser steps as the full protocol,
    up to ``cap`` epochs (a 1 % run would otherwise take only 40 (CIFAR-10) to 50 (Fashion-MNIST) steps)."""
    return min(cap, round(base * full / subset))


def scarce_parts(fractions=SCARCE_FRACTIONS, seeds=(0, 1, 2, 3, 4), epochs: int | None = None) -> tuple:
    """One part per (data set, fraction): baseline and MSVP add/full on the CNN, seed-major.
    ``epochs`` None: the ``scarce_epochs`` rule; smoke-scarce passes 1."""
    parts = []
    for dataset, full in OFFICIAL_TRAIN.items():
        for fraction in fractions:
            n = round(fraction * full)
            parts.append(Part(f"{dataset}-{fraction:.1%}", ((dataset, "cnn"),), ("baseline", "msvp-add-full"),
                              tuple(seeds), dict(train_subset=n, epochs=epochs or scarce_epochs(full, n))))
    return tuple(parts)


PROFILES = {
    "smoke": Profile(
        "smoke", "CI only, never shown as results: 256 training images, 1 epoch, 128 validation and "
                 "256 test images, one seed.",
        parts=(Part("main", tuple((d, b) for d in ALL for b in ("cnn", "resnet18", "vit")), MAIN_VARIANTS, (0,)),
               Part("ablation", (("mnist", "cnn"),), ABLATION_EXTRA, (0,)),
               Part("controls", (("mnist", "cnn"),), CONTROL_VARIANTS, (0,))),
        settings=dict(epochs=1, val_subset=128, test_subset=256), train_subset={d: 256 for d in ALL}),
    "cpu": Profile(
        "cpu", "The official protocol (full 90 % training split, 10 epochs, batch 128, full validation and "
               "test sets) on all three data sets, 1 thread per run (ResNet-18: 2). The CNN in fp32: 3 paired seeds for "
               "baseline, MSVP add/full and MSVP concat/full, 2 more for baseline and add/full; the ablation on "
               "Fashion-MNIST and the controls on Fashion-MNIST "
               "and CIFAR-10 at 3 seeds. ResNet-18 and ViT-Tiny at the same protocol in bf16 autocast with "
               "channels_last (the bf16 profile checks that choice on the CNN): baseline and MSVP add/full at 3 "
               "paired seeds on every data set, MSVP concat/full at 3 seeds on CIFAR-10.",
        # the ablation and the controls before the two extra main seeds: they pair with main seeds
        # 0-2, so every chapter has evidence before the main cells' intervals are narrowed further
        parts=(Part("main", CNN_CELLS, MAIN_VARIANTS, (0, 1, 2)),
               Part("ablation", (("fashion_mnist", "cnn"),), ABLATION_EXTRA, (0, 1, 2)),
               Part("controls", (("fashion_mnist", "cnn"), ("cifar10", "cnn")), CONTROL_VARIANTS, (0, 1, 2)),
               Part("main-more-seeds", CNN_CELLS, ("baseline", "msvp-add-full"), (3, 4)),
               *(Part(f"backbones-{d}-{b}", ((d, b),), ("baseline", "msvp-add-full"), (0, 1, 2),
                      dict(threads=BACKBONE_THREADS[b], **BF16)) for d, b in BACKBONE_CELLS),
               *(Part(f"backbones-concat-{d}-{b}", ((d, b),), ("msvp-concat-full",), (0, 1, 2),
                      dict(threads=BACKBONE_THREADS[b], **BF16)) for d, b in BACKBONE_CELLS if d == "cifar10")),
        settings=dict(threads=1)),
    "paper": Profile(
        "paper", "The official protocol: full training split, 10 epochs, all data sets and backbones "
                 "(ResNet-18 and ViT cells first), 3 paired seeds; bf16 and channels_last on the GPU; "
                 "ablation on CIFAR-10 + ResNet-18.",
        parts=(Part("main", tuple((d, b) for b in ("resnet18", "vit", "cnn") for d in ALL), MAIN_VARIANTS,
                    (0, 1, 2)),
               Part("ablation", (("cifar10", "resnet18"),), ABLATION_EXTRA, (0, 1, 2))),
        settings=dict(threads=2)),  # 6 workers x 2 threads on a 16-core GPU host
    "bf16": Profile(
        "bf16", "The bf16 check: the cpu profile's CNN protocol (full split, 10 epochs, batch 128, 1 thread) "
                "in bf16 autocast with channels_last, to compare with the committed fp32 runs: the baseline "
                "at 5 seeds on all three data sets, MSVP add/full at 3 seeds on Fashion-MNIST and CIFAR-10.",
        parts=(Part("main", (("fashion_mnist", "cnn"), ("cifar10", "cnn")), ("baseline", "msvp-add-full"), (0, 1, 2)),
               Part("baseline-more", CNN_CELLS, ("baseline",), (0, 1, 2, 3, 4))),
        settings=dict(threads=1, **BF16)),
    "long": Profile(
        "long", "The long-budget check: the CNN on CIFAR-10 (offline copy) for 30 epochs with the cosine "
                "schedule over 30, otherwise the cpu protocol; baseline, MSVP add/full and concat/full at 3 "
                "paired seeds; bf16 autocast with channels_last, 1 thread.",
        parts=(Part("main", (("cifar10", "cnn"),), MAIN_VARIANTS, (0, 1, 2)),),
        settings=dict(threads=1, epochs=30, **BF16)),
    "scarce": Profile(
        "scarce", "Beyond the paper, a learning curve: the CNN on Fashion-MNIST and CIFAR-10 (offline copy) "
                  "trained on 1 % and 10 % of the official 90 % training split (class-balanced, nested, the "
                  "same images for every seed and variant), the full validation and test sets, epochs = "
                  "min(100, 10 x full split / subset) with the cosine schedule over them; baseline and MSVP "
                  "add/full at 5 paired seeds; bf16 autocast with channels_last, 1 thread.",
        parts=scarce_parts(), settings=dict(threads=1, **BF16), path_fields=("train_subset",)),
    "smoke-scarce": Profile(
        "smoke-scarce", "CI only, never shown as results: the scarce profile's shape with 0.2 % and 0.6 % "
                        "subsets, 1 epoch, 128 validation and 256 test images, one seed.",
        parts=scarce_parts((0.002, 0.006), seeds=(0,), epochs=1),
        settings=dict(val_subset=128, test_subset=256), path_fields=("train_subset",)),
}


COST_FIELDS = ("dataset", "backbone", "precision", "epochs", "train_subset", "threads")   # runs alike in these cost alike


def cost_key(c) -> tuple:
    """A run's values of COST_FIELDS, from a RunConfig, a record's config dict or a row of per-cell costs;
    a field an older record lacks takes RunConfig's default (what that run used)."""
    if isinstance(c, dict):
        defaults = {f.name: f.default for f in dataclasses.fields(RunConfig)}
        return tuple(c.get(f, defaults[f]) for f in COST_FIELDS)
    return tuple(getattr(c, f) for f in COST_FIELDS)


def wall_time(costs: list[float], workers: int, shares: list[float] | None = None) -> float:
    """Wall time of runs taken in the given order by ``workers`` workers, each starting the next run
    as soon as it is free (as grid workers claim them): not ``sum / workers`` when few long runs are
    left, e.g. one 4-hour run keeps one worker busy for 4 hours whatever the others do. ``shares`` (per
    run, from ``core_shares``): a run taking s workers' cores slows the others, so it counts s times."""
    if not all(math.isfinite(c) for c in costs):
        return math.nan                   # an unknown cost: unknown wall time (a NaN would break the heap)
    if shares is not None:
        costs = [c * max(1.0, min(s, workers)) for c, s in zip(costs, shares, strict=True)]
    free = [0.0] * max(workers, 1)        # when each worker is next free; a heap
    for cost in costs:
        heapq.heapreplace(free, free[0] + cost)
    return max(free)


def core_shares(profile: str, configs: list[RunConfig]) -> list[float]:
    """How many workers' cores each run takes: its threads over the profile's threads per worker. In the
    cpu profile a worker has one core, so a 2-thread ResNet-18 run takes two workers' cores."""
    base = get_profile(profile).settings.get("threads", 1)
    return [c.threads / base for c in configs]


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; valid choices: {', '.join(PROFILES)}")
    return PROFILES[name]
