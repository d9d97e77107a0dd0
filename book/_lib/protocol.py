"""The protocol page: the recipe, the backbones, every setting per profile and each deviation from
the official code."""
from __future__ import annotations

import dataclasses
import math
from collections import Counter
from pathlib import Path

import pandas as pd

from msvp.config import RunConfig
from msvp.datasets import DATASETS
from msvp.experiments import PROFILES, VARIANTS, get_profile

from .chapter import Page, key_results, md, table
from .names import (
    BACKBONE_ORDER,
    backbone_title,
    cell_name,
)
from .words import dataset_label

OFFICIAL = {
    "dataset": ("per run", ""),
    "backbone": ("per run", ""),
    "prompt": ("none or full", "our profiles also run the scale ablation and the controls"),
    "fusion": ("add (default)", "we also run concat, the abstract's 1 × 1 convolution, in every main table"),
    "seed": ("42, one seed", "several paired seeds give intervals; one seed cannot"),
    "epochs": ("10", ""),
    "batch_size": ("128", ""),
    "lr": ("0.001", ""),
    "weight_decay": ("0.0001", ""),
    "schedule": ("cosine", ""),
    "augment": ("official", ""),
    "val_fraction": ("0.1", ""),
    "split_seed": ("a fixed seed", ""),
    "train_subset": ("all", "smoke: seconds per run, for CI; scarce: the learning curve of chapter 13"),
    "val_subset": ("all", "smoke only"),
    "test_subset": ("all", "smoke only"),
    "prompt_init_std": ("0.01", ""),
    "pad_width": ("–", "our control (pad prompt), not in the paper"),
    "cnn_dropout": ("(0.5, 0.3)", ""),
    "vit_dropout": ("0.1", ""),
    "device": ("CUDA", "the cpu profile runs on CPUs"),
    "precision": ("fp32", "auto = bf16 autocast on a GPU (faster), fp32 on a CPU; the cpu profile's ResNet-18 "
                          "and ViT-Tiny parts set bf16 (the precision check below)"),
    "memory_format": ("contiguous", "auto = channels_last with bf16: the same arithmetic, reordered, faster"),
    "threads": ("–", "float results differ between thread counts, so paired runs share one"),
    "blowup": ("–", "our divergence check: a run whose loss explodes stops and is recorded as diverged"),
}


def _value(profile, name: str, default):
    p = get_profile(profile)
    if name == "train_subset" and p.train_subset:
        return ", ".join(f"{DATASETS[d].title} {n:,}" for d, n in p.train_subset.items())
    if name in ("dataset", "backbone", "prompt", "fusion", "seed"):
        return "per run"
    # e.g. precision: auto for the CNN column, bf16 for the backbones; numbers in numeric order
    by_part = {part.settings.get(name, p.settings.get(name, default)) for part in p.parts}
    shown = [_shown(v) for v in sorted(by_part, key=lambda v: (not isinstance(v, (int, float)), _order(v)))]
    return shown[0] if len(shown) == 1 else "per part: " + ", ".join(shown)


def _order(v):
    return v if isinstance(v, (int, float)) else str(v)


def _shown(v) -> str:
    if v is None:
        return "all"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, tuple):
        return str(tuple(v))
    return str(v)


TABLE_PROFILES = ("smoke", "cpu", "paper")
"""The profiles of the settings table; the others (``other_profiles_md``) are named by how they differ
from ``cpu``, since a column each would push the table past the page's width."""


def config_table(profiles=TABLE_PROFILES) -> pd.DataFrame:
    """Every field of RunConfig: its value in each profile, the official value, and why ours differs."""
    rows = []
    for f in dataclasses.fields(RunConfig):
        default = f.default
        official, why = OFFICIAL.get(f.name, ("?", ""))
        row = {"setting": f"`{f.name}`"}
        row.update({name: _value(name, f.name, default) for name in profiles})
        row.update({"official": official, "why ours differs": why or "–"})
        rows.append(row)
    return pd.DataFrame(rows)


def differing_settings(*profiles: str) -> list[str]:
    """The fields of RunConfig whose value in at least one of ``profiles`` is not the official code's
    (or that the official code lacks): a field with a reason in ``OFFICIAL`` but the official value in
    every profile named (the data subsets in `cpu`) does not count."""
    out = []
    for f in dataclasses.fields(RunConfig):
        official, why = OFFICIAL.get(f.name, ("?", ""))
        if why and any(_value(p, f.name, f.default) != official for p in profiles):
            out.append(f.name)
    return out


def other_profiles_md(base: str = "cpu") -> str:
    """The profiles left out of the settings table, each with the settings in which it differs from
    ``base`` (its parts may change more: chapter 11 lists them)."""
    lines = []
    for name in [n for n in PROFILES if n not in TABLE_PROFILES]:
        pairs = [(f.name, _value(name, f.name, f.default), _value(base, f.name, f.default))
                 for f in dataclasses.fields(RunConfig)]
        diff = [f"`{k}` {theirs} (`{base}`: {ours})" for k, theirs, ours in pairs if theirs != ours]
        lines.append(f"- `{name}`: {', '.join(diff) if diff else 'the same settings'}.")
    return (f"The other profiles differ from `{base}` in these settings:\n\n" + "\n".join(lines)) if lines else ""


def parts_table() -> pd.DataFrame:
    """What each profile trains: its parts (cells × variants × seeds) and run counts. A run two parts
    plan (a baseline seed both need) counts in the first, so the runs add up to the profile's total."""
    rows = []
    for name, p in PROFILES.items():
        new = Counter(part for part, _ in p.part_configs())
        for part in p.parts:
            rows.append({"profile": name, "part": part.name,
                         "cells": ", ".join(cell_name(d, b) for d, b in part.cells),
                         "variants": "; ".join(VARIANTS[v].label for v in part.variants),
                         "seeds": len(part.seeds), "runs": new[part.name]})
    return pd.DataFrame(rows)


def recipe_md() -> str:
    """The training recipe, from RunConfig's defaults (the official protocol)."""
    c = RunConfig()
    aug = {d: s.augment for d, s in DATASETS.items()}
    return (
        f"- **Optimiser**: Adam, learning rate {c.lr:g}, weight decay {c.weight_decay:g} (an L2 term) on every "
        f"parameter, prompts included; plain cross-entropy.\n"
        f"- **Schedule**: cosine annealing over the {c.epochs} epochs (`CosineAnnealingLR(T_max={c.epochs})`), "
        f"stepped once per epoch, no warm-up; the last epoch trains at "
        f"{100 * (1 + math.cos(math.pi * (c.epochs - 1) / c.epochs)) / 2:.1f} % of the starting rate (the schedule "
        f"reaches 0 only after training ends).\n"
        f"- **Batch**: {c.batch_size} images per step; the last, smaller batch of an epoch is kept.\n"
        f"- **Data**: the official training set split {1 - c.val_fraction:.0%}/{c.val_fraction:.0%} into training "
        f"and validation with a fixed seed ({c.split_seed}); the official test set for test (10,000 images; "
        f"fewer in the offline CIFAR-10 copy, whose label gives its counts).\n"
        f"- **Augmentation** (training batches only): MNIST and Fashion-MNIST ({aug['mnist']}): a random "
        f"crop after 4 pixels of zero padding and a random rotation within ±10°; CIFAR-10 ({aug['cifar10']}): "
        f"the same crop and a random horizontal flip. Validation and test images are never augmented.\n"
        f"- **Normalisation**: (x − 0.5)/0.5 for the grey data sets; CIFAR-10 with its channel means "
        f"{DATASETS['cifar10'].mean} and standard deviations {DATASETS['cifar10'].std}.\n"
        f"- **Prompts**: initialised as N(0, 1) × {c.prompt_init_std:g}.\n"
        f"- **Regularisation**: dropout {c.cnn_dropout} in the CNN's head and {c.vit_dropout:g} throughout the ViT, "
        f"besides the weight decay above.\n"
        f"- **Metric**: top-1 accuracy on the test set of the model after the last epoch (the paper's), and "
        f"of the checkpoint with the best clean validation accuracy (ours, beside it).")


LAYERS = {
    "cnn": "4 blocks of 2 × (3×3 conv, BN, ReLU), widths 32-64-128-256; max-pool after blocks 1-3; "
           "global average pool; head: dropout, 256→128, ReLU, dropout, 128→10",
    "resnet18": "CIFAR-style: 3×3 stride-1 stem, no max-pool; 4 stages of 2 basic blocks, widths "
                "64-128-256-512, strides 1-2-2-2, 1×1 shortcuts; global average pool; 512→10",
    "vit": "patch embedding (a strided conv), cls token, learned position embedding; 12 pre-norm blocks, "
           "width 192, 3 heads, MLP ×4, dropout 0.1; head on the cls token",
}


def backbone_table() -> pd.DataFrame:
    """The three backbones: layers, trainable parameters at each input shape, and what the network
    makes of a 28-pixel and a 32-pixel image (measured with a forward pass)."""
    from msvp.models import build_model, count_params

    rows = []
    for b in BACKBONE_ORDER:
        row = {"backbone": backbone_title(b), "layers": LAYERS[b]}
        for dataset in ("mnist", "cifar10"):
            c, h, w = DATASETS[dataset].shape
            m = build_model(b, dataset, seed=0).eval()
            row[f"params, {c}×{h}×{w}"] = count_params(m)
            row[f"{h} px input"] = what_it_sees(b, m.backbone, (c, h, w))
        rows.append(row)
    return pd.DataFrame(rows)


def what_it_sees(backbone: str, net, shape) -> str:
    """'patches 7×7 → 4×4 = 16 tokens + cls' (ViT) or 'feature maps 28 → 14 → ... px, then pooled'."""
    import torch

    x = torch.zeros(1, *shape)
    with torch.no_grad():
        if backbone == "vit":
            tokens = net.embed(x).shape[1] - 1
            k = net.patch_embed.kernel_size[0]
            return f"patches {k}×{k} → {int(math.isqrt(tokens))}×{int(math.isqrt(tokens))} = {tokens} tokens + cls"
        stages = list(net.features) if backbone == "cnn" else [net.stem, net.layer1, net.layer2, net.layer3, net.layer4]
        sizes = [str(shape[-1])]
        for s in stages:
            x = s(x)
            sizes.append(str(x.shape[-1]))
    return "feature maps " + " → ".join(sizes) + " px, then pooled"


def deviations_table(profile: str, df: pd.DataFrame, results_dir) -> pd.DataFrame:
    """Every deviation from the official code, with the official value beside ours (computed where it
    depends on the runs: the precision they recorded and the equivalence check behind it)."""
    seeds = "; ".join(f"{name}: " + ", ".join(f"{part.name} {len(part.seeds)}" for part in p.parts)
                      for name, p in PROFILES.items() if name != "smoke")
    rows = [
        ("numeric precision", "fp32", precision_words(profile, df, results_dir)),
        ("memory layout", "contiguous", "channels_last with bf16 or on a GPU (the same arithmetic, reordered)"),
        ("validation images", "carry the training augmentation",
         "clean (never augmented) and disjoint from training: the fixed 90/10 split"),
        ("pairing of baseline and MSVP", "prompt built before the backbone: at the same seed the two get different "
         "backbone weights and data order", "backbone built first, prompt on a forked random stream: same weights, "
         "batches, augmentation and dropout at the same seed (tested bit for bit)"),
        ("seeds", "one (42)", f"paired seeds per part: {seeds}"),
        ("training length", "10 epochs on the full training split", training_length()),
        ("test checkpoint", "last epoch", "last epoch (the headline) and the best-validation checkpoint beside it"),
        ("data loading and augmentation", "torchvision transforms on PIL images in DataLoader workers",
         "the whole split as one uint8 tensor; crop, rotation and flip applied to a batch at once "
         "(one resampling, nearest neighbour, zero fill)"),
        ("CPU threads", "–", f"per run in the cpu profile: {cpu_threads()}; recorded, and runs with other thread "
         "counts are never paired"),
        ("CIFAR-10 copy", "torchvision download", "an offline copy where there is no internet, labelled on every "
         f"page; torchvision's complete set otherwise; {cifar_copy(profile, df)}"),
    ]
    return pd.DataFrame(rows, columns=["what", "official code", "this package"])


def precision_words(profile: str, df: pd.DataFrame, results_dir) -> str:
    """The precision row of the deviations: short sentences, with the check's decision and the
    precisions the profile's runs recorded computed from results/."""
    from msvp.precision import outcome

    choice, why = outcome(results_dir)
    used = sorted(set(df.precision.dropna())) if not df.empty else []
    recorded = f"The `{profile}` runs recorded {' and '.join(used)}." if used else f"No `{profile}` runs yet."
    return " ".join([
        "`precision='auto'` means bf16 autocast + channels_last on a GPU and fp32 on a CPU.",
        "A profile may set bf16 instead.", "On the CPU the CNN column trains in fp32.",
        "Whether ResNet-18 and ViT-Tiny train in bf16 is decided by the check below.",
        f"Its decision: {choice or 'not decided yet'} ({why}).",
        # the check runs on the CPU only, so the paper profile's GPU bf16 has no check
        "bf16 on a GPU has not been checked against fp32 here: it stays an unverified deviation.", recorded])


BENCH_RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"   # the checkout: book/_lib/protocol.py


def bench_steps(bench_dir=BENCH_RESULTS) -> tuple[pd.DataFrame, Path] | None:
    """The newest committed output of bench/backbones.py: per (backbone, dataset), the eager step time
    in fp32 and in bf16 (s), its rounds, hardware and torch; and its path. None without one."""
    files = sorted(Path(bench_dir).glob("backbones-*.csv"))
    if not files:
        return None
    # one file per torch version and device: the newest measurement speaks for the code as it is
    t, path = max(((pd.read_csv(f), f) for f in files), key=lambda tf: (str(tf[0].date.max()), tf[1].name))
    eager = t[t.setting.isin(["fp32", "bf16"])].pivot_table(index=["backbone", "dataset"], columns="setting",
                                                            values="step_s")
    eager.attrs.update(rounds=int(t["rounds"].min()), hardware=t.hardware.iloc[0], torch=t.torch.iloc[0])
    return eager.sort_index(), path


def step_times_md(bench_dir=BENCH_RESULTS) -> str:
    """How much longer a fp32 training step of ResNet-18 and ViT-Tiny takes than a bf16 one, read from
    the committed output of bench/backbones.py (never typed); a pointer to the script if there is none."""
    found = bench_steps(bench_dir)
    if found is None:
        return ("No timing of the backbones is committed yet: `bench/backbones.py` measures how much longer a "
                "fp32 step takes than a bf16 one.")
    eager, path = found
    ratios = ", ".join(f"{backbone_title(b)} {r.fp32 / r.bf16:.2f}× ({DATASETS[d].title} input)"
                       for (b, d), r in eager.iterrows())
    return (f"Time per training step, fp32 over bf16 autocast with channels_last: {ratios}. Each is the "
            f"median of {eager.attrs['rounds']} interleaved rounds on {eager.attrs['hardware']}, "
            f"torch {eager.attrs['torch']} (`bench/backbones.py`, committed output "
            f"`{path.relative_to(path.parents[2]).as_posix()}`).")


def bench_speedup_range(bench_dir=BENCH_RESULTS) -> str:
    """'1.6–2.4×': the smallest and largest fp32 / bf16 step-time ratio of the backbones that bench
    measured ('' without a bench output), for the precision outcome's sentence on run times."""
    found = bench_steps(bench_dir)
    if found is None:
        return ""
    r = found[0].fp32 / found[0].bf16
    lo, hi = f"{r.min():.1f}", f"{r.max():.1f}"
    return f"{lo}×" if lo == hi else f"{lo}–{hi}×"


def cpu_threads() -> str:
    """'1 (CNN, ViT-Tiny), 2 (ResNet-18)': the cpu profile's thread count per backbone, from its runs' configs."""
    by = {}
    for c in get_profile("cpu").configs():
        by.setdefault(c.threads, set()).add(c.backbone)
    return ", ".join(f"{t} ({', '.join(backbone_title(b) for b in BACKBONE_ORDER if b in bs)})"
                     for t, bs in sorted(by.items()))


def bench_threads(bench_dir=BENCH_RESULTS) -> tuple[pd.DataFrame, Path] | None:
    """The newest committed output of bench/threads.py and its path; None without one."""
    files = sorted(Path(bench_dir).glob("threads-*.csv"))
    if not files:
        return None
    return max(((pd.read_csv(f), f) for f in files), key=lambda tf: (str(tf[0].date.max()), tf[1].name))


def threads_table(t: pd.DataFrame) -> pd.DataFrame:
    """Per backbone and input: images/s of each setting and the minutes a pair of runs takes each way,
    beside the thread count the cpu profile gives that backbone (msvp.experiments.BACKBONE_THREADS)."""
    from msvp.experiments import BACKBONE_THREADS

    rows = []
    for (b, d), g in t.groupby(["backbone", "dataset"], sort=False):
        s = g.set_index("setting")
        rows.append({"backbone · input": f"{backbone_title(b)} · {DATASETS[d].title}",
                     "img/s, 1 thread beside another run": f"{s.images_per_s['1-beside']:.0f}",
                     "img/s, 2 threads": f"{s.images_per_s['2-alone']:.0f}",
                     "a pair side by side (min)": f"{s.pair_min['1-beside']:.0f}",
                     "a pair one after the other (min)": f"{s.pair_min['2-alone']:.0f}",
                     "threads per run (cpu profile)": BACKBONE_THREADS.get(b, 1)})
    return pd.DataFrame(rows)


STRETCH_MIN = 180     # a working stretch of this project, in minutes: the longest run that surely ends


def threads_reading(t: pd.DataFrame, backbone: str) -> str:
    """'ResNet-18 runs on 2 threads: a pair takes 143–145 min one after the other (runs of up to 72 min),
    130–154 min side by side (runs of up to 154 min).' for one backbone of bench/threads.py's output."""
    from msvp.experiments import BACKBONE_THREADS

    g = t[t.backbone == backbone].set_index("setting")

    def span(col: str, setting: str) -> str:
        lo, hi = (f"{v:.0f}" for v in (g.loc[[setting], col].min(), g.loc[[setting], col].max()))
        return lo if lo == hi else f"{lo}–{hi}"
    n = BACKBONE_THREADS.get(backbone, 1)
    chosen = g.loc[["2-alone" if n == 2 else "1-beside"]]
    too_long = [DATASETS[d].title for d in chosen[chosen.run_min > STRETCH_MIN].dataset]
    return (f"{backbone_title(backbone)} runs on {n} thread{'s' if n != 1 else ''}: a pair takes "
            f"{span('pair_min', '2-alone')} min one after the other (runs of up to "
            f"{g.loc[['2-alone'], 'run_min'].max():.0f} min), {span('pair_min', '1-beside')} min side by side "
            f"(runs of up to {g.loc[['1-beside'], 'run_min'].max():.0f} min)"
            + (f"; its {' and '.join(too_long)} runs outlast a stretch and finish only where a checkpoint "
               f"survives to the next." if too_long else "."))


def threads_md(bench_dir=BENCH_RESULTS) -> tuple[pd.DataFrame | None, str]:
    """The thread-count table and the sentence that reads it, from bench/threads.py's committed output."""
    found = bench_threads(bench_dir)
    if found is None:
        return None, "No timing of thread counts is committed yet: `bench/threads.py` measures it."
    t, path = found
    return threads_table(t), " ".join(threads_reading(t, b) for b in t.backbone.unique()) + (
        f" Projected training time of the cpu protocol (10 epochs, training steps only; evaluation and other "
        f"jobs make a real run longer), from the median of {int(t['rounds'].min())} interleaved "
        f"rounds on {t.hardware.iloc[0]} with {int(t.cores.iloc[0])} cores, torch {t.torch.iloc[0].split('+')[0]} "
        f"(`bench/threads.py`, committed output `{path.relative_to(path.parents[2]).as_posix()}`).")


def cifar_copy(profile: str, df: pd.DataFrame) -> str:
    """Which CIFAR-10 copies the runs recorded, with their image counts (computed, never typed)."""
    if df.empty or not (df.dataset == "cifar10").any():
        return f"no `{profile}` CIFAR-10 runs yet"
    return f"the `{profile}` runs used {dataset_label(df, 'cifar10')}"


def training_length() -> str:
    """The epochs of each profile that departs from 10, computed from msvp.experiments: the scarce
    rule, and what it gives per subset (``subset_steps``)."""
    from msvp.experiments import SCARCE_FRACTIONS

    e = RunConfig().epochs
    return (f"{e} in `cpu` and `paper`; the long-budget check (`long`) trains {PROFILES['long'].epochs} "
            "epochs with the cosine schedule over them; the learning curve (`scarce`, chapter 13) trains on "
            f"class-balanced, nested subsets of the split for min(100, {e} × full split ÷ subset size) epochs: "
            f"as many optimiser steps as a full {e}-epoch run, unless the cap of 100 epochs binds. Per subset: "
            + "; ".join(subset_steps(f) for f in SCARCE_FRACTIONS))


def subset_steps(fraction: float) -> str:
    """'1 %: 100 epochs (the cap), 12 % of a full run's optimiser steps on Fashion-MNIST and 11 % on
    CIFAR-10', from the scarce rule and the batch size (the last, smaller batch of an epoch counts)."""
    from msvp.experiments import OFFICIAL_TRAIN, scarce_epochs

    c = RunConfig()
    steps = lambda n, epochs: math.ceil(n / c.batch_size) * epochs  # noqa: E731
    sizes = {d: round(fraction * full) for d, full in OFFICIAL_TRAIN.items()}
    epochs = {d: scarce_epochs(OFFICIAL_TRAIN[d], n) for d, n in sizes.items()}
    capped = any(c.epochs * OFFICIAL_TRAIN[d] / n > epochs[d] for d, n in sizes.items())
    shares = [f"{100 * steps(n, epochs[d]) / steps(OFFICIAL_TRAIN[d], c.epochs):.0f} %" for d, n in sizes.items()]
    where = [f"{share} on {DATASETS[d].title}" for share, d in zip(shares, sizes)]
    where[0] = where[0].replace(" %", " % of a full run's optimiser steps", 1)
    e = " or ".join(map(str, sorted(set(epochs.values()))))
    return f"{100 * fraction:g} %: {e} epochs{' (the cap)' if capped else ''}, " + " and ".join(where)


FLAWS = pd.DataFrame([
    ("one seed (42)", "no error bars: a difference of a few tenths of a percent cannot be told from noise",
     "3–5 paired seeds planned per cell (fewer while a profile runs; every table counts them), mean ± std, "
     "and two paired 95 % intervals per cell"),
    ("prompt module built before the backbone", "at the same seed the baseline and MSVP get different backbone "
     "weights and data order", "backbone first; batches, augmentation and dropout from the seed alone"),
    ("validation images carry the training augmentation", "model selection on noisy, augmented images",
     "clean validation; last-epoch and best-validation test accuracy both reported"),
    ("ablation scripts pool runs across data sets and models; the fusion chart's parameter bars are "
     "hard-coded", "ablation effects mixed with data-set effects; parameters not measured",
     "one table per (data set, backbone); parameters measured"),
    ("`--multi_gpu` crashes on one GPU; the OneCycle option never steps its scheduler",
     "options that fail or silently do nothing", "one code path; the schedule is recorded in every result"),
    ("abstract: fusion \"via a lightweight 1 × 1 convolution\"", "the default `add` path has no convolution",
     "both readings in every main table: add (the code) and concat (the text)"),
], columns=["official code", "consequence", "this package"])


class ProtocolPage(Page):
    """The protocol page: the recipe, the backbones, every setting per profile, each deviation from the
    official code (with the precision the profile's runs recorded) and the bf16 check."""

    def recipe(self) -> None:
        md(recipe_md())

    def backbones(self) -> None:
        table(backbone_table())

    def settings(self) -> None:
        table(config_table())
        md(other_profiles_md())

    def deviations(self) -> None:
        table(deviations_table(self.profile, self.df, self.results_dir))

    @staticmethod
    def step_times() -> None:
        md(step_times_md())

    @staticmethod
    def threads() -> None:
        shown, note = threads_md()
        if shown is not None:
            table(shown)
        md(note)

    def precision(self) -> None:
        from .precision_check import report

        tables, outcome = report(self.results_dir, bench_speedup_range())
        for title, shown in tables:
            md(title)
            table(shown)
        md(outcome)

    def flaws(self) -> None:
        table(FLAWS)

    @staticmethod
    def key_results() -> None:
        """The protocol page: the backbones' sizes, how many settings differ from the official code, and the
        runs each profile plans."""
        sizes = backbone_table().set_index("backbone")
        n = len(dataclasses.fields(RunConfig))
        runs = {name: len(p.configs()) for name, p in PROFILES.items()}   # a run in two parts counts once
        key_results([
            "Trainable parameters, grey / colour input: " + "; ".join(
                f"{b} {int(r['params, 1×28×28']):,} / {int(r['params, 3×32×32']):,}" for b, r in sizes.iterrows()) + ".",
            f"{len(differing_settings('cpu'))} of the {n} settings of a `cpu` run differ from the official "
            f"code or do not exist there, {len(differing_settings(*PROFILES))} counting every profile; the table "
            "above says why for each.",
            "Runs per profile: " + "; ".join(f"`{k}` {int(v):,}" for k, v in runs.items()) + ".",
        ])
