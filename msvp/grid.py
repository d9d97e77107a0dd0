"""Profiles and the grid runner: expand a profile into runs, skip finished ones, resume the rest.

Every run writes its result file as soon as it finishes and checkpoints each epoch beside it, so
an interrupted grid restarts where it stopped. ``shard=(i, n)`` gives a deterministic 1/n of the
runs, so several processes, GPUs or a SLURM array can share one grid.
"""
from __future__ import annotations

import functools
import sys
import time
from dataclasses import asdict, dataclass, field

from tqdm import tqdm

from .engine import RunConfig, TrainingDiverged, run
from .results import checkpoint_path, read_record, result_path

MAIN_VARIANTS = ((None, "add"), ("full", "add"))
ABLATION_VARIANTS = (("global", "add"), ("global+mid", "add"), ("full", "add"), ("full", "concat"), ("full", "gated"))


@dataclass(frozen=True)
class Profile:
    name: str
    description: str                   # how it deviates from the paper's protocol, for the book
    main: tuple                        # (dataset, backbone) cells: baseline vs MSVP add/full
    ablation: tuple                    # cells that also get the scale and fusion ablation
    seeds: tuple = (0, 1, 2)
    epochs: int = 10
    train_subset: dict = field(default_factory=dict)  # dataset -> images (absent = all)
    val_subset: int | None = None
    test_subset: int | None = None

    def configs(self) -> list[RunConfig]:
        out, seen = [], set()
        cells = [(c, v) for c in self.main for v in MAIN_VARIANTS]
        cells += [(c, v) for c in self.ablation for v in ((None, "add"),) + ABLATION_VARIANTS]
        for (dataset, backbone), (prompt, fusion) in cells:
            for seed in self.seeds:
                cfg = RunConfig(dataset=dataset, backbone=backbone, prompt=prompt, fusion=fusion, seed=seed,
                                epochs=self.epochs, train_subset=self.train_subset.get(dataset),
                                val_subset=self.val_subset, test_subset=self.test_subset)
                if cfg not in seen:
                    seen.add(cfg)
                    out.append(cfg)
        return out


ALL = ("mnist", "fashion_mnist", "cifar10")
PROFILES = {
    "smoke": Profile(
        "smoke", "CI only, never shown as results: 256 training images, 1 epoch, 128 validation and "
                 "256 test images, one seed.",
        main=tuple((d, b) for d in ALL for b in ("cnn", "resnet18", "vit")), ablation=(("mnist", "cnn"),),
        seeds=(0,), epochs=1, train_subset={d: 256 for d in ALL}, val_subset=128, test_subset=256),
    "cpu": Profile(
        "cpu", "Sized for a 2-core CPU: the CNN on all three data sets and the ViT-Tiny on MNIST; 3 epochs "
               "instead of 10 (cosine schedule over those 3); "
               "a class-balanced subset of the training split (10,000 images for MNIST and Fashion-MNIST, "
               "15,000 for CIFAR-10) and 2,000 validation images; full official test sets; 3 paired seeds.",
        main=(("mnist", "cnn"), ("fashion_mnist", "cnn"), ("cifar10", "cnn"), ("mnist", "vit")),
        ablation=(("fashion_mnist", "cnn"),),
        epochs=3, train_subset={"mnist": 10_000, "fashion_mnist": 10_000, "cifar10": 15_000}, val_subset=2000),
    "paper": Profile(
        "paper", "The official protocol (design §3): full training split, 10 epochs, all datasets and backbones, "
                 "3 paired seeds; ablations on CIFAR-10 + ResNet-18 and Fashion-MNIST + CNN.",
        main=tuple((d, b) for d in ALL for b in ("cnn", "resnet18", "vit")),
        ablation=(("cifar10", "resnet18"), ("fashion_mnist", "cnn"))),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; valid choices: {', '.join(PROFILES)}")
    return PROFILES[name]


def parse_only(spec: str | None) -> dict:
    """'dataset=mnist,backbone=cnn|vit' -> {'dataset': {'mnist'}, 'backbone': {'cnn', 'vit'}}."""
    if not spec:
        return {}
    out = {}
    for part in spec.split(","):
        key, sep, val = part.partition("=")
        if not sep or key not in ("dataset", "backbone", "variant", "seed"):
            raise ValueError(f"bad --only item {part!r}; use key=value with key in dataset, backbone, variant, seed")
        out[key] = set(val.split("|"))
    return out


def check_only(configs: list[RunConfig], only: dict) -> None:
    """A filter value that matches nothing in the profile is a typo, not an empty selection."""
    for key, values in only.items():
        known = {str(getattr(c, key)) for c in configs}
        if values - known:
            raise ValueError(f"--only {key}: {', '.join(sorted(values - known))} not in this profile; "
                             f"valid choices: {', '.join(sorted(known))}")


def select(configs: list[RunConfig], only: dict | str | None = None, shard: tuple[int, int] | None = None):
    only = parse_only(only) if isinstance(only, str) or only is None else only
    check_only(configs, only)
    picked = [c for c in configs if all(str(getattr(c, k)) in v for k, v in only.items())]
    if shard:
        i, n = shard
        if not 0 <= i < n:
            raise ValueError(f"shard {i}/{n}: need 0 <= i < n")
        picked = picked[i::n]
    return picked


def is_current(path, cfg: RunConfig) -> bool:
    """A finished result exists for exactly this config (a profile edit makes old files stale)."""
    if not path.exists():
        return False
    rec = read_record(path)
    return rec.get("status") in ("done", "diverged") and rec["config"] == asdict(cfg)


def run_grid(profile: str, *, only=None, shard=None, force=False, results=None, data_root="data",
             train=True, progress=None, log=functools.partial(print, flush=True)) -> dict:
    """Run every missing result of a profile. With ``train=False`` nothing is trained and the
    missing runs are only listed. Returns {'done': [...], 'skipped': [...], 'missing': [...], 'failed': [...]}."""
    prof = get_profile(profile)
    configs = select(prof.configs(), only, shard)
    summary = {"done": [], "skipped": [], "missing": [], "failed": []}
    todo = []
    for cfg in configs:
        path = result_path(results, profile, cfg)
        (todo.append((cfg, path)) if force or not is_current(path, cfg) else summary["skipped"].append(path))
    if not train:
        summary["missing"] = [p for _, p in todo]
        return summary
    disable = (not sys.stderr.isatty()) if progress is None else not progress
    for cfg, path in tqdm(todo, desc=f"grid {profile}", disable=disable):
        t0 = time.perf_counter()
        try:
            rec = run(cfg, out_path=path, checkpoint_path=checkpoint_path(path), data_root=data_root,
                      profile=profile, progress=None if progress is None else progress)
        except TrainingDiverged as e:
            log(f"diverged: {e}")
            summary["failed"].append(path)
            continue
        summary["done"].append(path)
        log(f"{cfg.dataset}/{cfg.backbone}/{cfg.variant}/seed{cfg.seed}: test acc {rec['test_acc']:.4f} "
            f"({time.perf_counter() - t0:.0f} s)")
    return summary
