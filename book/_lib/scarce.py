"""Chapter 13, beyond the paper: does MSVP help where data are scarce? The learning curve of the
``scarce`` profile (1 % and 10 % of the training split) beside the full split of the ``cpu`` profile;
the evidence comes from ``msvp.learning_curve``."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from msvp import learning_curve as lc
from msvp.datasets import DATASETS as SPECS
from msvp.experiments import OFFICIAL_TRAIN, get_profile
from msvp.stats import MARGIN_PP
from msvp.stats import signed as pp  # '+0.12', '−0.05'

from .chapter import Page, figure, key_results, md, table
from .figures import finish
from .names import VARIANT_COLORS, label
from .sections import status_md
from .view import View
from .words import (
    PRECISION_WORDS,
    caveat_text,
    data_title,
    delta_text,
    hardware_label,
    join,
    plain_verdict,
    plural,
    verdict_label,
)

DATASETS = ("fashion_mnist", "cifar10")
SCARCE_PROFILE = {"smoke": "smoke-scarce"}
"""The scarce profile that goes with a page's profile: CI's smoke page reads smoke-scarce."""


def scarce_profile(profile: str) -> str:
    return SCARCE_PROFILE.get(profile, "scarce")


class ScarceChapter(Page):
    """The full split from ``profile`` (the CNN column), the scarce sizes from its scarce profile."""

    def __init__(self, profile: str, results_dir, data_root="../data"):
        super().__init__(profile, results_dir, data_root)
        self.scarce_name = scarce_profile(profile)
        self.scarce = View(self.scarce_name, results_dir)
        self.curve = lc.curve(self.scarce.df, self.df, DATASETS)
        self.gains = lc.gains(self.scarce.df, self.df, DATASETS)
        # every run behind the page, for labels that name the data copy (the offline CIFAR-10 copy)
        self.runs = pd.concat([f for f in (self.scarce.df, lc.full_runs(self.df, DATASETS)) if not f.empty]
                              or [self.df])

    def answer(self) -> None:
        """The chapter's answer first, one computed sentence per data set; then how many of the learning
        curve's runs it rests on."""
        md("\n".join(f"- {answer_line(self.gains, self.runs, d)}" for d in DATASETS) + "\n\n"
           + progress_line(self.scarce_name, self.scarce.states))

    def status(self) -> None:
        md(status_md(self.scarce_name, self.scarce.df, self.scarce.states,
                     what=" of the scarce profile") + "\n\n" + sizes_md(self.scarce_name, self.runs))

    def plot(self) -> None:
        if self.curve.empty:
            md("No runs yet: the figure appears when the first pair of a size has landed.")
            return
        figure(plot_learning_curve(self.curve, self.gains, self.runs,
                                   f"The CNN's accuracy and MSVP's gain against training-set size\n(subsets: profile "
                                   f"{self.scarce_name}; full split: profile {self.profile}; "
                                   f"{device_words(self.runs)})"))

    def gain_table(self) -> None:
        if self.gains.empty:
            md("No paired runs yet.")
            return
        table(gain_rows(self.gains, self.curve, self.runs))
        scarce = (f"scarce sizes on {hardware_label(self.scarce.df)}" if not self.scarce.df.empty
                  else "scarce sizes not run yet")
        md(f"Hardware: {scarce}; full split on {hardware_label(lc.full_runs(self.df, DATASETS))}.")

    def key_results(self) -> None:
        lines = [answer_line(self.gains, self.runs, d) for d in DATASETS]
        done = int((self.scarce.states.state == "done").sum())
        lines.append(f"{done} of {len(self.scarce.states)} planned runs of the `{self.scarce_name}` profile are in.")
        key_results(lines)


def device_words(runs: pd.DataFrame) -> str:
    """'CPU, 1 thread per run': the device class and thread counts behind a figure, short enough for
    its title (the table under it names the machine and torch)."""
    if runs.empty or "device_class" not in runs:
        return "–"
    dev = join(sorted({str(d).upper() for d in runs.device_class.dropna()}))
    threads = sorted({int(t) for t in runs.threads.dropna()}) if "threads" in runs else []
    return dev + (f", {join([str(t) for t in threads])} thread{'s' if threads[-1] != 1 else ''} per run"
                  if threads else "")


def progress_line(name: str, states: pd.DataFrame) -> str:
    """'0 of 40 planned runs of the `scarce` profile are in: ...', saying, while none is, that the
    curve and the gains per size appear once they are (the page's learning goals promise them)."""
    done, planned = int((states.state == "done").sum()), len(states)
    text = f"{done} of {planned} planned runs of the `{name}` profile are in"
    if done:
        return text + "."
    return (text + ": the learning curve and the gains per training-set size appear once they are; until "
            "then only the full-split rows below have results.")


def sizes_md(profile: str, runs: pd.DataFrame) -> str:
    """The sizes the profile trains: images, share of the split, epochs (the profile's rule)."""
    rows = sorted({(c.dataset, c.train_subset, c.epochs) for c in get_profile(profile).configs()},
                  key=lambda r: (DATASETS.index(r[0]) if r[0] in DATASETS else 9, r[1]))
    parts = [f"{data_title(runs, d)}: {n:,} images ({share(d, n)}), {plural(e, 'epoch')}" for d, n, e in rows]
    notes = [copy_note(runs, d) for d in dict.fromkeys(r[0] for r in rows)]
    return "**Sizes.** " + "; ".join(parts) + "." + "".join(f" {n}" for n in notes if n)


def copy_note(runs: pd.DataFrame, dataset: str) -> str:
    """Where the runs read an incomplete copy of the data (the offline CIFAR-10 copy), why its full
    split is smaller than the official one the shares are of; empty for a complete copy."""
    rows = runs[runs.dataset == dataset] if "data_variant" in runs else runs.iloc[:0]
    rows = rows[rows.data_variant.astype(str) != "complete"]
    if rows.empty:
        return ""
    title, official = SPECS[dataset].title, OFFICIAL_TRAIN[dataset]
    full = rows[rows.train_subset.isna()] if "train_subset" in rows else rows.iloc[:0]
    here = f", so its full split here has {int(full.n_train.iloc[0]):,} images, not {official:,}" if len(full) else ""
    copy = str(rows.data_variant.iloc[0]).replace("-", " ")
    return (f"The {copy} of {title} holds {int(rows.data_n_train.iloc[0]):,} of the "
            f"{sum(SPECS[dataset].train_counts):,} official training images{here}; the subsets are drawn from "
            f"that split, and their shares are of the official split's {official:,} images, the size the profile "
            f"is defined on.")


def share(dataset: str, n: int) -> str:
    """'1 %' of the official 90 % split (54,000 or 45,000 images); the offline CIFAR-10 copy is a
    little smaller, so shares are of the official split the profile is defined on."""
    full = OFFICIAL_TRAIN.get(dataset)
    return f"{100 * n / full:.2g} % of the official split's {full:,}" if full else f"{n:,}"


def answer_line(gains: pd.DataFrame, runs: pd.DataFrame, dataset: str) -> str:
    """'**Fashion-MNIST**, MSVP add/full − baseline: with 540 training images +1.20 pp [+0.40, +2.00]
    over 5 pairs (MSVP is better, ...); ...; with the full split ...' and the scarcity contrast."""
    title = data_title(runs, dataset)
    g = gains[gains.dataset == dataset] if not gains.empty else gains
    if g.empty:
        return f"**{title}**: not run yet, so no answer for this data set."
    parts = [f"with {size_words(r)} {gain_words(r)}" for r in g.itertuples()]
    return (f"**{title}**, MSVP add/full − baseline: " + "; ".join(parts) + ". "
            + contrast_words(gains, dataset, subset_runs(runs, dataset)) + precision_note(runs, dataset))


def precision_note(runs: pd.DataFrame, dataset: str) -> str:
    """' The subsets trained in bf16 autocast and the full split in fp32: ...' where the two sides of the
    scarcity contrast used different arithmetic (each gain is paired within one precision; their
    difference is not), else ''."""
    if runs.empty or "precision" not in runs or "train_subset" not in runs:
        return ""
    rows = runs[runs.dataset == dataset]
    sub = set(rows[rows.train_subset.notna()].precision.astype(str))
    full = set(rows[rows.train_subset.isna()].precision.astype(str))
    if not sub or not full or sub == full:
        return ""
    words = lambda ps: join([PRECISION_WORDS.get(x, x) for x in sorted(ps)])  # noqa: E731
    return (f" The subsets trained in {words(sub)} and the full split in {words(full)}: each gain is paired "
            f"within one precision, but their difference also holds whatever the precision changes (the "
            f"[protocol](protocol.ipynb) page measures that for the CNN's gain).")


def subset_runs(runs: pd.DataFrame, dataset: str) -> int:
    """Finished runs of ``dataset`` on a subset (a full-split run has no ``train_subset``)."""
    if runs.empty or "train_subset" not in runs:
        return 0
    return int(((runs.dataset == dataset) & runs.train_subset.notna()).sum())


def gain_words(r) -> str:
    """'+1.20 pp [+0.40, +2.00] over 5 pairs: MSVP is better, ...', with the table's caveat where the
    baseline was still improving, or '+0.39 pp from 1 pair, too few for an interval yet'."""
    if not np.isfinite(r.lo_pp):
        return f"{pp(r.diff_pp)} pp from {plural(int(r.n_pairs), 'pair')}, too few for an interval yet"
    return (f"{pp(r.diff_pp)} pp [{pp(r.lo_pp)}, {pp(r.hi_pp)}] over {plural(int(r.n_pairs), 'pair')}: "
            f"{plain_verdict(r, caveat=False)}" + (f"; {caveat_text(r)}" if caveat_text(r) else ""))


def size_words(r) -> str:
    return f"the full split ({r.n_train:,} images)" if r.full_split else f"{r.n_train:,} training images"


def contrast_words(gains: pd.DataFrame, dataset: str, n_subset_runs: int = 0) -> str:
    """The chapter's question for one data set: is the gain larger with the fewest images? Before its
    answer, why there is none: no subset run finished, or too few pairs at the smallest size."""
    c = lc.scarcity_contrast(gains, dataset)
    if c is None and not n_subset_runs:
        return "Whether MSVP helps more with fewer images is not known: no subset run has finished yet."
    if c is None:
        return ("Whether MSVP helps more with fewer images: not known yet, the smallest subset has fewer than 2 "
                "paired seeds so far.")
    small, full, est, verdict = c
    lo, hi = est.interval()
    return (f"Gain with {small.n_train:,} images minus gain with the full split: {pp(est.mean)} pp "
            f"[{pp(lo)}, {pp(hi)}]: to the question whether MSVP helps more where data are scarce (not a claim of "
            f"the paper), the answer here is **{verdict}**.")


def gain_rows(gains: pd.DataFrame, curve: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (data set, size): accuracies of both arms, the paired gain and its verdict."""
    acc = curve.set_index(["dataset", "n_train", "variant"])
    rows = []
    order = gains.dataset.map({d: i for i, d in enumerate(DATASETS)})
    for r in gains.assign(_order=order).sort_values(["_order", "n_train"]).itertuples():
        arm = {v: acc.loc[(r.dataset, r.n_train, v)] if (r.dataset, r.n_train, v) in acc.index else None
               for v in (lc.CONTROL, lc.TREATMENT)}
        rows.append({"data set": data_title(runs, r.dataset),
                     "training images": f"{r.n_train:,}" + (" (full)" if r.full_split else ""),
                     "pairs": int(r.n_pairs),
                     **{f"{label(v)} acc %": acc_cell(a) for v, a in arm.items()},
                     "MSVP − baseline, pp [95 %]": delta_text(r), "verdict": verdict_label(r)})
    return pd.DataFrame(rows)


def acc_cell(a) -> str:
    return "–" if a is None else f"{a.acc_pct:.2f} ± {a.sd_pp:.2f}" if np.isfinite(a.sd_pp) else f"{a.acc_pct:.2f}"


def plot_learning_curve(curve: pd.DataFrame, gains: pd.DataFrame, runs: pd.DataFrame, title: str):
    """Top: accuracy of both arms against training images (log axis), 95 % t-intervals over seeds.
    Bottom: the paired gain with its interval and the ±margin band."""
    sets = [d for d in DATASETS if d in set(curve.dataset)]
    fig, axes = plt.subplots(2, len(sets), figsize=(3.3 * len(sets), 5.2), squeeze=False, sharex="col")
    for j, d in enumerate(sets):
        accuracy_panel(axes[0, j], curve[curve.dataset == d], data_title(runs, d))
        gain_panel(axes[1, j], gains[gains.dataset == d] if not gains.empty else gains)
    axes[0, 0].legend(loc="lower right", frameon=False)
    return finish(fig, title)


def accuracy_panel(ax, c: pd.DataFrame, title: str) -> None:
    for v, shift in ((lc.CONTROL, 0.94), (lc.TREATMENT, 1.06)):
        s = c[c.variant == v].sort_values("n_train")
        err = np.vstack([s.acc_pct - s.lo_pct, s.hi_pct - s.acc_pct]).clip(min=0)
        # points only: a line would join 540 to 54,000 images across a size not trained yet; the two
        # arms sit a few % apart on the log axis, else the second would hide the first
        ax.errorbar(s.n_train * shift, s.acc_pct, yerr=np.nan_to_num(err), marker="o", capsize=3, ls="none",
                    color=VARIANT_COLORS[v], label=label(v))
    size_axis(ax, c.n_train)
    ax.set_title(title)
    ax.set_ylabel("test accuracy (%)")


def gain_panel(ax, g: pd.DataFrame) -> None:
    ax.axhspan(-MARGIN_PP, MARGIN_PP, color="#dddddd", label=f"±{MARGIN_PP:g} pp margin")
    ax.axhline(0, color="#666666", lw=0.8)
    if not g.empty:
        err = np.vstack([g.diff_pp - g.lo_pp, g.hi_pp - g.diff_pp])
        ax.errorbar(g.n_train, g.diff_pp, yerr=np.nan_to_num(err), marker="o", capsize=3, ls="none",
                    color=VARIANT_COLORS[lc.TREATMENT])
    size_axis(ax, g.n_train if not g.empty else [])
    ax.set_xlabel("training images (log scale)")
    ax.set_ylabel("MSVP − baseline (pp)")



def size_axis(ax, sizes) -> None:
    """A log axis whose ticks are the trained sizes, written out ('540', '5,400', '54,000'); a size
    closer than a factor 1.6 to the previous tick gets no label of its own (they would collide)."""
    from matplotlib.ticker import NullLocator

    ax.set_xscale("log")
    ticks = []
    for n in sorted({int(n) for n in sizes}):
        if not ticks or n >= 1.6 * ticks[-1]:
            ticks.append(n)
    ax.set_xticks(ticks, [f"{n:,}" for n in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    if ticks:   # the same room around every size, one size or several, so dodged points stay near it
        ax.set_xlim(ticks[0] / 1.6, max(int(n) for n in sizes) * 1.6)
