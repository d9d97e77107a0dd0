"""The landing page: the answer in plain words, every cell with runs, and the statistics."""
from __future__ import annotations

import math
from collections import Counter

import pandas as pd

from msvp.datasets import DATASETS
from msvp.experiments import get_profile
from msvp.stats import LEVEL, MARGIN_PP
from msvp.stats import signed as pp  # '+0.12', '−0.05'
from msvp.verdicts import (
    claim_accuracy,
    judged,
    paired_table,
    still_improving,
)

from .chapter import Page, md, table
from .gpu_runs import GPU_PROFILE, gpu_answer
from .names import (
    BACKBONE_ORDER,
    CONCAT,
    DATASET_ORDER,
    MAIN,
    backbone_title,
    cell_name,
    ordered,
    rank,
)
from .sections import paired_rows, progress_md, results_table, show_diverged, show_paired_figure
from .strongest_case import strongest_case_md
from .words import (
    CAVEAT_WORDS,
    CLAIM_MEANING,
    DATA_WORDS,
    PLAIN_CLAIMS,
    capital,
    cells_phrase,
    dataset_label,
    hardware_label,
    join,
    plain_verdict,
    plural,
    short_verdict,
    span,
)


def interim_note(profile: str, paired: pd.DataFrame) -> str:
    """' Interim: ...' when a cell of the accuracy claim has fewer paired seeds than the profile plans:
    a verdict read before the runs are complete can change as they finish, and says so. Started cells
    are named with their counts; cells with no pair yet are counted (the progress lines name them)."""
    planned = Counter((c.dataset, c.backbone) for c in get_profile(profile).configs() if c.variant == MAIN)
    have = {(r.dataset, r.backbone): int(r.n_pairs) for r in paired.itertuples()} if len(paired) else {}
    short = {cell: (have.get(cell, 0), n) for cell, n in planned.items() if have.get(cell, 0) < n}
    if not short:
        return ""
    started = [f"{cell_name(*cell)} {k} of {n}" for cell, (k, n) in sorted(short.items(), key=lambda kv: (
        rank(DATASET_ORDER, kv[0][0]), rank(BACKBONE_ORDER, kv[0][1]))) if k]
    empty = sum(1 for k, _ in short.values() if not k)
    parts = ([f"paired seeds so far against those planned — {', '.join(started)}"] if started else []) + (
        [f"{plural(empty, 'planned cell')} {'has' if empty == 1 else 'have'} no paired seed yet"] if empty else [])
    return f" **Interim:** {'; '.join(parts)}; the verdict can change as the remaining runs finish."


def pooled_basis(judged: pd.DataFrame) -> str:
    """' The pooled gain rests on 10 seed pairs (20 runs) on MNIST and Fashion-MNIST.': the runs the
    claim actually uses, which are far fewer than the profile's finished runs (ablation, controls,
    concat and gated cells do not enter it)."""
    if judged.empty:
        return ""
    n = int(judged.n_pairs.sum())
    where = join([DATASETS[d].title for d in DATASET_ORDER if d in set(judged.dataset)])
    per = (": " + join([f"{plural(int(g.n_pairs.sum()), 'pair')} on {backbone_title(b)}"
                        for b, g in judged.groupby("backbone", sort=False)])
           if "backbone" in judged and judged.backbone.nunique() > 1 else "")
    return (f" The pooled gain rests on {plural(n, 'seed pair')}{per} ({2 * n} runs) of MSVP add/full and the "
            f"baseline on {where}.")


def ceiling_note(df: pd.DataFrame, judged: pd.DataFrame) -> str:
    """Where a pooled cell's baseline errs on fewer test images than the equivalence margin, no gain
    can reach the margin there, so that cell's *equivalent* is almost given: said beside the headline,
    since such a cell pulls the pooled gain towards 'equivalent to 0'."""
    cells = []
    for r in judged.itertuples():
        base = df[(df.dataset == r.dataset) & (df.backbone == r.backbone) & (df.variant == "baseline")]
        err = 100 * (1 - base.test_acc.astype(float).mean()) if len(base) else math.nan
        if err < MARGIN_PP:
            cells.append(f"{cell_name(r.dataset, r.backbone)} (test error {err:.2f} %)")
    if not cells:
        return ""
    one = len(cells) == 1
    return (f" On {' and '.join(cells)} the baseline's test error is smaller than the ±{MARGIN_PP:g} pp margin, "
            f"so no gain there can reach the margin: *equivalent* there mainly says that MSVP does no harm, and "
            f"the pooled gain includes {'that cell' if one else 'those cells'}.")


def _sure_sentence(where: list[str], p: pd.DataFrame, unit: str = "cell") -> str:
    """'On MNIST and CIFAR-10 any difference is ... (on CIFAR-10 the baseline was still improving ...); on
    Fashion-MNIST ...': the cells grouped by their verdict in plain words, each group with its caveats."""
    groups: dict[str, list[tuple[str, bool]]] = {}
    for w, r in zip(where, p.itertuples()):
        groups.setdefault(plain_verdict(r, caveat=False), []).append((w, still_improving(r)))
    parts = []
    for words, cells in groups.items():
        late = [w for w, flag in cells if flag]
        note = ("" if not late else f" ({CAVEAT_WORDS})" if len(late) == len(cells) == 1 else
                f" ({cells_phrase(late, len(p), unit)} {CAVEAT_WORDS})")
        parts.append(f"{cells_phrase([w for w, _ in cells], len(p), unit)} {words}{note}")
    return capital("; ".join(parts)) + "."


def trained_phrase(p: pd.DataFrame) -> str:
    """'a CNN to recognise MNIST (handwritten digits) …, 5 times with and 5 times without MSVP's prompt, and a
    ViT-Tiny on CIFAR-10, once with and once without': backbones trained on the same data sets the same number
    of times share a clause, so no clause claims a cell that has no runs; each data set is described once."""
    groups: dict[tuple, list[str]] = {}
    for b in BACKBONE_ORDER:
        q = p[p.backbone == b]
        if not q.empty:
            key = (tuple(d for d in DATASET_ORDER if d in set(q.dataset)), span(q.n_pairs))
            groups.setdefault(key, []).append(b)
    seen: set[str] = set()

    def named(d: str) -> str:
        first, _ = d not in seen, seen.add(d)
        return f"{DATASETS[d].title} ({DATA_WORDS.get(d, 'images')})" if first else DATASETS[d].title

    clauses = []
    for i, ((sets, k), nets) in enumerate(groups.items()):
        runs = {"1": "once", "2": "twice"}.get(k, f"{k} times")
        clauses.append(f"{join([f'a {backbone_title(b)}' for b in nets])} {'on' if i else 'to recognise'} "
                       f"{join([named(d) for d in sets])}, {runs} with and {runs} without"
                       + ("" if i else " MSVP's prompt"))
    return ", and ".join(clauses)


def plain_answer(profile: str, df: pd.DataFrame, paired: pd.DataFrame, claim: str) -> str:
    """The landing page's first lines: what was trained, what MSVP changed, how sure we are, in plain words
    and computed from the runs; the pooled estimate, TOST and Holm come further down."""
    if paired.empty:
        return (f"No baseline and MSVP run of the `{profile}` profile share a seed yet, so there is no answer "
                f"yet: it appears here as the runs finish.")
    p = paired.set_index(["dataset", "backbone"]).loc[ordered(set(zip(paired.dataset, paired.backbone)))].reset_index()
    one = len(set(p.backbone)) == 1
    where = [DATASETS[d].title if one else cell_name(d, b) for d, b in zip(p.dataset, p.backbone)]
    moved = moved_phrase(p, where)
    moved = moved.replace(" pp", " {term}`percentage points (pp) <percentage point>`", 1)
    verdict = PLAIN_CLAIMS.get(claim, f"its verdict so far is *{claim}*")
    sure = _sure_sentence(where, p, "data set" if one else "cell")
    return (f"**In plain words.** For the abstract's claim that MSVP improves accuracy, **{verdict}**. We trained "
            f"{trained_phrase(p)}; each pair of runs started from the same weights and saw the same batches of "
            f"images. Adding the prompt (as the official code does) changed the average test accuracy by {moved}. "
            f"{sure}")


def moved_phrase(p: pd.DataFrame, where: list[str]) -> str:
    """'amounts from −0.37 pp [−0.95, +0.22] (CIFAR-10 · ViT-Tiny) to +0.13 pp [...] (Fashion-MNIST · CNN)
    across the 4 cells with two or more pairs (in brackets, ...); and by −0.43 pp on Fashion-MNIST ·
    ViT-Tiny, from one pair so far': each cell, or the range over the cells with an interval where
    listing them all would push the figure off the first screen; a one-pair value is named apart, never
    as an end of the range."""
    two = [i for i in range(len(p)) if p.n_pairs[i] >= 2]
    one = [i for i in range(len(p)) if p.n_pairs[i] < 2]
    main = _cells_moved(p, where, two, "with two or more pairs")
    main += f" (in brackets, each cell's {LEVEL:.0%} interval)" if "[" in main else ""
    if not one:
        return main
    single = _cells_moved(p, where, one, "") + (", from one pair so far" if len(one) <= 3 else
                                                 ", each from one pair so far")
    return f"{main}; and by {single}" if main else single


def _cells_moved(p: pd.DataFrame, where: list[str], rows: list[int], which: str) -> str:
    """'+0.02 pp [..] on MNIST and ...' for up to 3 cells, else 'amounts from A (cell) to B (cell) across
    the n cells {which}'; '' for no rows."""
    if not rows:
        return ""
    if len(rows) <= 3:
        return join([f"{pp(p.diff_pp[i])} pp{_ci(p, i)} on {where[i]}" for i in rows])
    lo, hi = min(rows, key=lambda i: p.diff_pp[i]), max(rows, key=lambda i: p.diff_pp[i])
    return (f"amounts from {pp(p.diff_pp[lo])} pp{_ci(p, lo)} ({where[lo]}) to {pp(p.diff_pp[hi])} pp"
            f"{_ci(p, hi)} ({where[hi]}) across the {len(rows)} cells{' ' + which if which else ''}")


def _ci(p: pd.DataFrame, i: int) -> str:
    """' [−0.95, +0.22]': row ``i``'s verdict interval in pp, or '' where it has none (one pair)."""
    if "lo_pp" not in p or "hi_pp" not in p:
        return ""
    lo, hi = p.lo_pp[i], p.hi_pp[i]
    return f" [{pp(lo)}, {pp(hi)}]" if pd.notna(lo) and pd.notna(hi) else ""


def concat_sentence(df: pd.DataFrame) -> str:
    """The abstract's other fusion (concat, a 1 × 1 convolution) in one sentence: its changes and its
    verdicts in plain words, per cell with ≥ 2 pairs (the claim above is judged on add alone). Cells
    are named by data set alone where every paired cell has the same backbone."""
    p = paired_rows(df)
    c = p[(p.treatment == CONCAT) & (p.n_pairs >= 2)]
    if c.empty:
        return ""
    one = p.backbone.nunique() == 1
    name = (lambda r: DATASETS[r.dataset].title) if one else (lambda r: cell_name(r.dataset, r.backbone))
    by = {}
    for r in c.itertuples():
        by.setdefault(short_verdict(r), []).append(f"{pp(r.diff_pp)} pp on {name(r)}")
    parts = "; ".join(f"{join(cells)} ({words})" for words, cells in by.items())
    return (f" The abstract's own fusion, a 1 × 1 convolution (*concat*), is judged apart, over "
            f"{span(c.n_pairs)} pairs: {parts}.")


class FrontPage(Page):
    """The landing page in three calls, each under its own heading: the answer in plain words with the
    headline figure; every cell with runs and the progress of the rest; the statistics for reviewers."""

    def __init__(self, profile: str, results_dir, data_root="../data"):
        super().__init__(profile, results_dir, data_root)
        self.paired = paired_table(self.df)          # the accuracy claim: add fusion, full scales
        self.claim = claim_accuracy(self.paired)

    def answer(self) -> None:
        md(plain_answer(self.profile, self.df, self.paired, self.claim[0]) + concat_sentence(self.df))
        gpu = gpu_answer(self.results_dir) if self.profile != GPU_PROFILE else ""
        if gpu:     # its own paragraph: other hardware, never pooled with the answer above
            md(gpu.strip())
        show_paired_figure(paired_rows(self.df), f"MSVP − baseline, profile {self.profile}: every cell with paired "
                                                 f"seeds")
        if len(self.paired):
            md(f"Each dot is the mean difference in test accuracy between the runs with and without MSVP, in "
               f"percentage points (pp); the bar is its {LEVEL:.0%} interval, the grey band the ±{MARGIN_PP:g} pp "
               f"within which a difference counts as too small to matter.")

    def cells(self) -> None:
        md("**Trained so far, per backbone:**\n\n" + progress_md(self.profile, self.states))
        t = results_table(self.profile, self.df)
        if len(t):
            table(t)
        md(f"Profile `{self.profile}`; {hardware_label(self.df)}. "
           f"Test accuracy: mean ± standard deviation over the seeds run, in percent, after the last epoch (the "
           f"paper's metric). **MSVP − baseline**: the mean paired difference in percentage points with its "
           f"{LEVEL:.0%} interval. **add** is the official code's default fusion, **concat** the abstract's 1 × 1 "
           f"convolution. Each data set links to its chapter.")
        show_diverged(self.df)
        md(strongest_case_md(self.profile, self.df, self.states, self.results_dir))

    def evidence(self) -> None:
        verdict, detail = self.claim
        meaning = (f" *{verdict[:1].upper()}{verdict[1:]}* means: {CLAIM_MEANING[verdict]}."
                   if verdict in CLAIM_MEANING else "")
        interim = interim_note(self.profile, self.paired)
        rows = judged(self.paired)
        basis = (pooled_basis(rows) + ceiling_note(self.df, rows)).strip()
        done = int((self.states.state == "done").sum())
        md(f"**The accuracy claim{' so far' if interim else ''}: *{verdict}*.**{meaning}\n\n"
           f"- **Evidence.** {detail[:1].upper()}{detail[1:]}.\n"
           + (f"- **Basis.** {basis}\n" if basis else "")
           + f"- **Runs.** {done:,} of the {len(self.states):,} runs that the `{self.profile}` profile plans are "
             f"finished." + interim)
        md(f"*Equivalent* means a Holm-corrected TOST test puts the difference within ±{MARGIN_PP:g} pp (for one "
           f"cell: its {2 * LEVEL - 1:.0%} interval lies inside; Holm widens that interval with more cells), so the "
           f"{LEVEL:.0%} interval printed beside it may reach past ±{MARGIN_PP:g} pp. "
           + (f"Data: {'; '.join(dataset_label(self.df, d) for d in DATASET_ORDER if d in set(self.df.dataset))}. "
              f"Hardware: {hardware_label(self.df)}." if not self.df.empty else "No runs yet."))
