"""The paper's strongest case, ViT-Tiny on CIFAR-10: one computed paragraph, shown on the landing page
and in chapter 5, that says how far its runs have come and what they show so far."""
from __future__ import annotations

import numpy as np
import pandas as pd

from msvp.experiments import MAIN_VARIANTS, get_profile, wall_time
from msvp.stats import CONVERGENCE_TOL_PP, converged
from msvp.stats import signed as pp  # '+0.12', '−0.05'

from .gpu_runs import GPU_PROFILE, gpu_cell_md
from .names import BASE, READINGS, label
from .sections import acc_text, effect_sentence, paired_rows
from .words import duration, join, plural

DATASET, BACKBONE = "cifar10", "vit"
HEAD = ("**The paper's strongest case: ViT-Tiny on CIFAR-10.** The abstract says the gains are largest for "
        "transformers and on harder data; CIFAR-10 is the hardest of the three data sets and ViT-Tiny the "
        "transformer, so this is the cell where the paper's claim should show most clearly.")
ABSORBED = ("Whatever these runs show, on a ViT an additive prompt is a constant image: the linear patch "
            "embedding turns it into a constant per patch position, which the learned position embedding can "
            "absorb exactly (the [report card](10_report_card.ipynb) checks it on newly built ViTs with strong random "
            "prompts), so a gain here "
            "would come from easier optimisation, not from extra capacity.")


def strongest_case_md(profile: str, df: pd.DataFrame, states: pd.DataFrame, results_dir=None) -> str:
    """How many of the cell's planned runs are trained, the baseline beside the CNN's on the same data,
    the paired gain per reading where pairs exist, and the time the rest would take; with
    ``results_dir``, the same cell's GPU runs in a paragraph of their own."""
    if not any(c.dataset == DATASET and c.backbone == BACKBONE for c in get_profile(profile).configs()):
        return HEAD + f" The `{profile}` profile does not train it."
    gpu = gpu_cell_md(results_dir, DATASET, BACKBONE) if results_dir is not None and profile != GPU_PROFILE else ""
    return "\n\n".join(part for part in (_strongest_case(profile, df, states), gpu, ABSORBED) if part)


def _strongest_case(profile: str, df: pd.DataFrame, states: pd.DataFrame) -> str:
    """The profile's own paragraph on the cell: progress, baseline, paired changes, time left."""
    planned = states[(states.dataset == DATASET) & (states.backbone == BACKBONE) & states.variant.isin(MAIN_VARIANTS)]
    cell = df[(df.dataset == DATASET) & (df.backbone == BACKBONE)]
    out = [HEAD, _progress(planned)]
    if (cell.variant == BASE).any():
        out.append(_baseline(df, cell))
    p = paired_rows(df, datasets=[DATASET])
    p = p[p.backbone == BACKBONE]
    for t in READINGS:
        r = p[p.treatment == t]
        if len(r):
            out.append(effect_sentence(r.iloc[0], f"ViT-Tiny · CIFAR-10, {label(t)}"))
    if p.empty:
        out.append("No MSVP run has its baseline of the same seed yet, so there is **no verdict yet**.")
    left = int(planned.state.isin(["missing", "stale"]).sum())
    if left and len(cell):
        median = cell.wall_time_s.astype(float).median()
        two = wall_time([median] * left, 2)
        out.append(f"The {plural(left, 'run')} left would take about {duration(left * median)} on one worker "
                   f"({duration(two)} on two workers) at the median time of this cell's "
                   f"{plural(len(cell), 'finished run')}, {duration(median)} per run.")
    return " ".join(out)


def _progress(planned: pd.DataFrame) -> str:
    """'1 of 9 planned runs are trained (baseline: seed 0; MSVP add: none; ...).'"""
    parts = []
    for v in MAIN_VARIANTS:
        seeds = sorted(planned[(planned.variant == v) & (planned.state == "done")].seed.astype(int))
        parts.append(f"{label(v)}: " + (f"seed{'s' if len(seeds) > 1 else ''} {join([str(s) for s in seeds])}"
                                        if seeds else "none"))
    done = int((planned.state == "done").sum())
    return (f"{done} of {plural(len(planned), 'planned run')} {'is' if done == 1 else 'are'} trained "
            f"({'; '.join(parts)}).")


def _baseline(df: pd.DataFrame, cell: pd.DataFrame) -> str:
    """The ViT baseline's accuracy, beside the CNN baseline's on the same data, and whether it had
    levelled off by its last epoch (the convergence rule of the report card)."""
    base = cell[cell.variant == BASE]
    cnn = df[(df.dataset == DATASET) & (df.backbone == "cnn") & (df.variant == BASE)].test_acc.astype(float)
    s = f"Its baseline reaches {acc_text(df, DATASET, BACKBONE, BASE)} % test accuracy"
    if "epochs" in base:
        s += f" after {int(base.epochs.iloc[0])} epochs"
    if len(cnn):
        gap = 100 * (cnn.mean() - base.test_acc.astype(float).mean())
        s += f", {abs(gap):.1f} pp {'below' if gap >= 0 else 'above'} the CNN's {100 * cnn.mean():.2f} % on the same images"
    done, rise = converged(base.val_acc_curve) if "val_acc_curve" in base else (None, float("nan"))
    if done is False and np.isfinite(rise):
        over = "mean over seeds" if len(base) > 1 else "one seed so far"
        s += (f"; its validation accuracy ({over}) still rose {rise:.2f} pp over the last two epochs, more "
              f"than the {CONVERGENCE_TOL_PP:g} pp of the convergence rule. Part of such a rise is the schedule's "
              f"last, small learning rates (the report card's caveat); whether MSVP's effect on this backbone would "
              f"differ after a longer budget is not tested here")
    elif done:
        s += f"; its validation accuracy changed by {pp(rise)} pp over the last two epochs: it had levelled off"
    return s + "."
