"""Profiles and the grid runner: expand a profile into runs, skip current ones, train the rest.

Every run writes its result file when it finishes and checkpoints beside it, so an interrupted grid
restarts where it stopped. Workers (``jobs``), shards (``shard=(i, n)``), several grids on one
folder and SLURM array tasks can all share one results folder: each run is claimed by exactly one
live worker (``msvp.claims``), and a claim left by a dead worker is taken over.
"""
from __future__ import annotations

import functools
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

from tqdm import tqdm

from .claims import claim_path, try_claim
from .config import RunConfig
from .engine import TrainingDiverged, run
from .experiments import CONTROL_VARIANTS, MAIN_VARIANTS, config_for
from .results import ResultsError, checkpoint_path, read_record, result_path, staleness

LOG = functools.partial(print, flush=True)
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
                            out.append(cfg)
        return out


ALL = ("mnist", "fashion_mnist", "cifar10")
CNN_CELLS = tuple((d, "cnn") for d in ALL)
# ResNet-18 and ViT-Tiny on the CPU: the CIFAR-10 cells first (the paper's strongest claims), one part
# per cell so that each cell completes its pairs before the next starts, seed-major inside a cell
BACKBONE_CELLS = (("cifar10", "vit"), ("cifar10", "resnet18"), ("fashion_mnist", "vit"), ("mnist", "vit"),
                  ("fashion_mnist", "resnet18"), ("mnist", "resnet18"))
# The precision of every CPU run added after the fp32 CNN column: bf16 autocast + channels_last
# (memory_format "auto"), as the bf16 profile checks on the CNN (msvp.precision states the rule)
BF16 = dict(precision="bf16")
# The scarce-data learning curve: fractions of the official 90 % training split (54,000 images for
# MNIST-family sets, 45,000 for CIFAR-10), the same validation and test sets as the full protocol
OFFICIAL_TRAIN = {"fashion_mnist": 54_000, "cifar10": 45_000}
SCARCE_FRACTIONS = (0.01, 0.10)


def scarce_epochs(full: int, subset: int, base: int = 10, cap: int = 100) -> int:
    """min(cap, base x full / subset): a subset run gets as many optimiser steps as the full protocol,
    up to ``cap`` epochs (a 1 % run would otherwise take about 40 steps)."""
    return min(cap, round(base * full / subset))


def scarce_parts() -> tuple:
    parts = []
    for dataset, full in OFFICIAL_TRAIN.items():
        for fraction in SCARCE_FRACTIONS:
            n = round(fraction * full)
            parts.append(Part(f"{dataset}-{fraction:.0%}", ((dataset, "cnn"),), ("baseline", "msvp-add-full"),
                              (0, 1, 2, 3, 4), dict(train_subset=n, epochs=scarce_epochs(full, n))))
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
        "cpu", "The official protocol for the CNN (full 90 % training split, 10 epochs, batch 128, full "
               "validation and test sets) on all three data sets; fp32 (bf16 was not shown equivalent); "
               "1 thread per run; 3 paired seeds for baseline, MSVP add/full and MSVP concat/full, 2 more "
               "for baseline and add/full; the ablation on Fashion-MNIST and the controls on Fashion-MNIST "
               "and CIFAR-10 at 3 seeds. ResNet-18 and ViT-Tiny at the same protocol in bf16 autocast with "
               "channels_last (the bf16 profile checks that choice on the CNN): baseline and MSVP add/full at 3 "
               "paired seeds on every data set, MSVP concat/full at 3 seeds on CIFAR-10.",
        # the ablation and the controls before the two extra main seeds: they pair with main seeds
        # 0-2, so every chapter has evidence before the main cells' intervals are narrowed further
        parts=(Part("main", CNN_CELLS, MAIN_VARIANTS, (0, 1, 2)),
               Part("ablation", (("fashion_mnist", "cnn"),), ABLATION_EXTRA, (0, 1, 2)),
               Part("controls", (("fashion_mnist", "cnn"), ("cifar10", "cnn")), CONTROL_VARIANTS, (0, 1, 2)),
               Part("main-more-seeds", CNN_CELLS, ("baseline", "msvp-add-full"), (3, 4)),
               *(Part(f"backbones-{d}-{b}", ((d, b),), ("baseline", "msvp-add-full"), (0, 1, 2), BF16)
                 for d, b in BACKBONE_CELLS),
               *(Part(f"backbones-concat-{d}-{b}", ((d, b),), ("msvp-concat-full",), (0, 1, 2), BF16)
                 for d, b in BACKBONE_CELLS if d == "cifar10")),
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
}
ONLY_KEYS = ("dataset", "backbone", "variant", "seed")


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; valid choices: {', '.join(PROFILES)}")
    return PROFILES[name]


def parse_only(spec: str | None) -> dict:
    """'dataset=mnist,backbone=cnn|vit' -> {'dataset': {'mnist'}, 'backbone': {'cnn', 'vit'}}.
    A key given twice keeps both values (dataset=mnist,dataset=cifar10 = dataset=mnist|cifar10)."""
    if not spec:
        return {}
    out = {}
    for part in spec.split(","):
        key, sep, val = part.partition("=")
        if not sep or key not in ONLY_KEYS or not val:
            raise ValueError(f"bad --only item {part!r}; use key=value with key in {', '.join(ONLY_KEYS)}")
        out.setdefault(key, set()).update(val.split("|"))
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


def run_state(path: Path, cfg: RunConfig) -> tuple[str, str]:
    """('done' | 'diverged' | 'missing' | 'stale', why) for one run's result file."""
    if not path.exists():
        return "missing", ""
    try:
        rec = read_record(path)
    except ResultsError as e:
        return "stale", str(e)
    why = staleness(rec, cfg)
    return ("stale", why) if why else (rec["status"], rec.get("error", ""))


def check_results_root(results) -> None:
    if results is not None and str(results).strip() in ("", "."):
        raise ValueError("--results is empty; name a folder (default: $MSVP_RESULTS or results/)")
    root = Path(results) if results else None
    if root is not None and root.exists() and not root.is_dir():
        raise ValueError(f"--results {root} is a file, not a folder")


@dataclass
class Job:
    profile: str
    results: object
    data_root: str
    force: bool
    retry_diverged: bool
    deadline: float | None
    progress: bool | None
    explain: bool
    started: float


def needs_training(job: Job, cfg: RunConfig, path: Path) -> bool:
    state, _ = run_state(path, cfg)
    if job.force:  # once per grid call, even with several workers
        return not (path.exists() and path.stat().st_mtime >= job.started)
    return state in ("missing", "stale") or (state == "diverged" and job.retry_diverged)


def work(job: Job, todo: list[tuple[RunConfig, Path]], log=LOG) -> dict:
    """One worker: claim each run in turn, train it unless it is done by now, release it."""
    from .plan import expected_seconds
    summary = {"done": [], "failed": [], "left": [], "elsewhere": []}
    disable = (not sys.stderr.isatty()) if job.progress is None else not job.progress
    for cfg, path in tqdm(todo, desc=f"grid {job.profile}", disable=disable):
        if job.deadline and time.time() + expected_seconds(cfg, job.data_root, job.results, job.profile) > job.deadline:
            summary["left"].append(path)
            continue
        claim = try_claim(path)
        if claim is None:
            summary["elsewhere"].append(path)
            continue
        with claim:
            if not needs_training(job, cfg, path):
                continue
            if claim.previous:
                log(f"taking over {path.name} of {cfg.dataset}/{cfg.backbone}/{cfg.variant} from a stopped worker "
                    f"(pid {claim.previous.get('pid')} on {claim.previous.get('host')})")
            t0 = time.perf_counter()
            try:
                rec = run(cfg, out_path=path, checkpoint_path=checkpoint_path(path), data_root=job.data_root,
                          profile=job.profile, progress=job.progress, explain=job.explain)
            except TrainingDiverged as e:
                log(f"diverged: {e}")
                summary["failed"].append(path)
                continue
        summary["done"].append(path)
        here = time.perf_counter() - t0
        total = rec.get("wall_time_s", here)   # the whole run's time, across resumes
        took = f"{total:.0f} s"
        if total > 1.05 * here:
            took += f", {here:.0f} s of it since this worker resumed it"
        log(f"{cfg.dataset}/{cfg.backbone}/{cfg.variant}/seed{cfg.seed}: test acc {rec['test_acc']:.4f} ({took})")
    return summary


def plan_runs(profile: str, *, only=None, shard=None, results=None, device=None) -> list[tuple[RunConfig, Path, str, str]]:
    """(config, result path, state, why) for every selected run of a profile."""
    check_results_root(results)
    configs = select(get_profile(profile).configs(), only, shard)
    if device:
        configs = [replace(c, device=device) for c in configs]
    out = []
    for cfg in configs:
        path = result_path(results, profile, cfg)
        out.append((cfg, path, *run_state(path, cfg)))
    return out


def run_grid(profile: str, *, only=None, shard=None, force=False, results=None, data_root="data",
             train=True, progress=None, jobs: int = 1, time_budget: float | None = None, device: str | None = None,
             retry_diverged: bool = False, explain: bool = True, executor: str | None = None,
             log=LOG) -> dict:
    """Train every run of a profile that is missing or stale (``force``: all; ``retry_diverged``: also
    the diverged ones). With ``train=False`` nothing is trained. ``jobs`` worker processes share the
    runs; ``time_budget`` (seconds) starts no run expected to end after it. Returns lists of paths:
    done, skipped (current results), diverged (recorded as diverged, kept), missing (not trained),
    failed (diverged now), left (out of time), elsewhere (claimed by another worker), and
    'stale': {path: why}."""
    if jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {jobs}")
    plan = plan_runs(profile, only=only, shard=shard, results=results, device=device)
    job = Job(profile, results, str(data_root), force, retry_diverged,
              time.time() + time_budget if time_budget else None, progress, explain, time.time())
    todo = [(c, p) for c, p, state, _ in plan
            if force or state in ("missing", "stale") or (state == "diverged" and retry_diverged)]
    summary = {"done": [], "failed": [], "left": [], "elsewhere": [], "missing": [],
               "skipped": [p for c, p, state, _ in plan if (c, p) not in todo and state == "done"],
               "diverged": [p for c, p, state, _ in plan if (c, p) not in todo and state == "diverged"],
               "stale": {p: why for _, p, state, why in plan if state == "stale"}}
    for path in summary["skipped"]:  # a claim file left by a worker killed after writing its result
        if claim_path(path).exists() and (claim := try_claim(path)):
            claim.release()
    if not train:
        summary["missing"] = [p for _, p in todo]
        return summary
    if executor:
        from .cluster import submit
        parts = submit(executor, job, todo, jobs)
    elif jobs == 1:
        parts = [work(job, todo, log)]
    else:
        # spawn, not fork: each worker gets a clean torch (thread pools, CUDA) of its own
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            parts = list(pool.map(work, [job] * jobs, [todo] * jobs))
    for part in parts:
        for key in ("done", "failed"):
            summary[key] += part[key]
    done = set(summary["done"]) | set(summary["failed"])
    # a run is 'left' or 'elsewhere' only if no worker of ours trained it
    for key in ("left", "elsewhere"):
        summary[key] = sorted({p for part in parts for p in part[key]} - done)
    return summary
