"""Sections that several pages share: the setting of a page, the progress of its runs, the results
table, the paired rows of both readings and their figure, and the verdict rules in a paragraph."""
from __future__ import annotations

import numpy as np
import pandas as pd

from msvp.datasets import DATASETS
from msvp.experiments import get_profile
from msvp.results import skipped_line
from msvp.stats import CONVERGENCE_TOL_PP, LEVEL, MARGIN_PP, MIN_PAIRS_EQUIVALENT, NOT_ENOUGH_PAIRS, fmt_pct
from msvp.stats import signed as pp  # '+0.12', '−0.05'
from msvp.verdicts import (
    paired_table,
    pairs_status,
    planned_pairs,
)

from .chapter import figure, md, table
from .effect_figures import plot_paired
from .names import (
    BACKBONE_ORDER,
    CHAPTERS,
    DATASET_ORDER,
    READINGS,
    backbone_title,
    cell_name,
    label,
    ordered,
    rank,
)
from .words import (
    delta_text,
    fmt_mcnemar,
    grid_command,
    hardware_label,
    plural,
    training_label,
    verdict_label,
)


def status_md(profile: str, df: pd.DataFrame, states: pd.DataFrame, *, datasets=None, what: str = "",
              brief: bool = False) -> str:
    """The setting of a page: profile (and how it deviates from the paper), data actually trained on,
    hardware, how many planned runs are done, diverged runs and files not counted. ``brief``: only the
    profile description's first sentence (its protocol), for pages about one part of the profile."""
    p = get_profile(profile)
    about = p.description.split(". ")[0].rstrip(".") + ". Every setting is on the protocol page." if brief \
        else p.description
    sel = states if datasets is None else states[states.dataset.isin(datasets)]
    counts = sel.state.value_counts()
    done, total = int(counts.get("done", 0)), len(sel)
    lines = [f"**Profile `{profile}`.** {about}"]
    if datasets:
        lines.append("**Data.** " + "; ".join(training_label(df, d) for d in datasets) + ".")
    lines.append("**Hardware.** " + (hardware_label(df) if not df.empty else "No runs yet") + ".")
    runs = f"**Runs.** {done:,} of {total:,} planned runs{what} are done"
    rest = [f"{int(counts[s]):,} {s}" for s in ("diverged", "stale") if counts.get(s)]
    missing = int(counts.get("missing", 0))
    if missing:
        rest.append(f"{missing:,} not run yet")
    lines.append(runs + (" (" + ", ".join(rest) + ")" if rest else "") + ".")
    if missing:
        only = {"dataset": "|".join(datasets)} if datasets else {}
        lines.append(f"To train what is missing: `{grid_command(profile, **only)}`.")
    note = skipped_line(df)
    if note:
        lines.append(note)
    return "\n\n".join(lines)


def diverged_table(df: pd.DataFrame, datasets=None) -> pd.DataFrame:
    """Runs recorded as diverged: shown, never averaged."""
    rows = [r for r in df.attrs.get("diverged", []) if datasets is None or r["dataset"] in datasets]
    return pd.DataFrame([{"data set · backbone": cell_name(r["dataset"], r["backbone"]),
                          "variant": label(r["variant"]), "seed": r["seed"], "state": "diverged"} for r in rows])


def show_diverged(df: pd.DataFrame, datasets=None) -> None:
    d = diverged_table(df, datasets)
    if len(d):
        md("**Diverged runs** (their training loss exploded; they are listed here and left out of every "
           "mean and every paired difference):")
        table(d)


def rules_md() -> str:
    """The verdict rules in a paragraph (chapter 10 explains each one and links to its code)."""
    return (
        f"Seed *k* of the baseline and seed *k* of MSVP share their backbone weights, batch order, "
        f"augmentation and dropout, so each per-seed difference cancels the luck both runs share; what is "
        f"left still varies with the seed, hence intervals over several pairs. Each cell gets two "
        f"{LEVEL:.0%} intervals: the **t-interval** over the paired seeds, and the **seed × image** interval, "
        f"which also counts the luck of the draw of test images shared by all seeds; the verdict uses the "
        f"second where every run stored its per-image results. **McNemar's test** per seed is shown as a "
        f"diagnostic only. **Improves** or **hurts**: the p-value, Holm-corrected over every cell where the "
        f"same comparison ran (one family per comparison, on every page), is below {1 - LEVEL:.2f}. "
        f"**Equivalent**: with at least {MIN_PAIRS_EQUIVALENT} paired seeds, the TOST test, Holm-corrected "
        f"like the p-value, shows the difference lies within ±{MARGIN_PP:g} pp; for a single cell that means its "
        f"{2 * LEVEL - 1:.0%} interval lies inside ±{MARGIN_PP:g} pp; with more cells in the comparison, Holm "
        f"asks more (with two cells, the clearer one must pass at a {LEVEL:.0%} interval before the other "
        f"is tested at {2 * LEVEL - 1:.0%}). "
        f"Every verdict is the one at the profile's protocol; "
        f"where the baseline's mean validation accuracy still rose by more than {CONVERGENCE_TOL_PP:g} pp over "
        f"its last two epochs, a **caveat** beside the verdict gives that rise and the schedule's last learning "
        f"rate. A cell with fewer than two paired seeds reads *{NOT_ENOUGH_PAIRS}*. "
        f"[Chapter 10](10_report_card.ipynb) explains each rule and links to the code that applies it.")


def effect_sentence(r, what: str) -> str:
    """One computed sentence: effect, both intervals, seeds won, verdict, convergence."""
    s = f"**{what}**: MSVP changes test accuracy by **{pp(r.diff_pp)} pp**"
    if r.n_pairs < 2:
        return s + f" on the one paired seed so far: {NOT_ENOUGH_PAIRS} (an interval needs a second pair)."
    where = "seed × image interval" if r.interval == "seed × image" else "t-interval (no per-image records)"
    s += f" ({LEVEL:.0%} {where} [{pp(r.lo_pp)}, {pp(r.hi_pp)}] pp"
    if r.interval == "seed × image":
        s += f"; t-interval over the {r.n_pairs} seeds [{pp(r.t_lo_pp)}, {pp(r.t_hi_pp)}] pp"
    s += f"); MSVP is ahead on {r.wins} of {r.n_pairs} seeds. "
    s += f"Verdict: **{verdict_label(r)}**"
    if r.converged is True:
        s += f" (the baseline has converged: {pp(r.val_rise_pp)} pp over its last two epochs)"
    return s + "."


def paired_rows(df: pd.DataFrame, datasets=None) -> pd.DataFrame:
    """Paired statistics for both readings; each reading is one Holm family over all its cells (as on
    the report card), before ``datasets`` picks the rows."""
    frames = [paired_table(df, (t,), datasets=datasets) for t in READINGS]
    frames = [f for f in frames if len(f)]
    if not frames:
        return paired_table(df.iloc[:0])
    p = pd.concat(frames, ignore_index=True)
    key = [(READINGS.index(t), rank(DATASET_ORDER, d), rank(BACKBONE_ORDER, b))
           for t, d, b in zip(p.treatment, p.dataset, p.backbone)]
    return p.iloc[sorted(range(len(p)), key=key.__getitem__)].reset_index(drop=True)


def paired_for_reading(p: pd.DataFrame, with_dataset: bool = False) -> pd.DataFrame:
    """The paired table for readers: one row per cell and reading, named in one column (backbone ·
    fusion; the data set too where the page spans several), then both intervals, McNemar per seed, the
    Holm-adjusted p, the seeds MSVP won and the verdict. Seven columns, so that the verdict column
    still fits a 1280 px page."""
    if p.empty:
        return pd.DataFrame()
    rows = []
    for r in p.itertuples():
        t_ci = f"{pp(r.diff_pp)} [{pp(r.t_lo_pp)}, {pp(r.t_hi_pp)}]" if np.isfinite(r.t_lo_pp) else \
            f"{pp(r.diff_pp)} (no interval)"
        si = (delta_text(r) if r.interval == "seed × image" else "no per-image records")
        cell = f"{backbone_title(r.backbone)} · {r.treatment.split('-')[1]}"
        rows.append({"cell": f"{DATASETS[r.dataset].title} · {cell}" if with_dataset else cell,
                     "Δ (pp), seed × image CI": si, "Δ (pp), t-interval": t_ci,
                     "McNemar p, per seed": fmt_mcnemar(r.mcnemar_p),
                     "p (Holm)": f"{r.p_holm:.3g}" if np.isfinite(r.p_holm) else "–",
                     "MSVP ahead": f"{r.wins} of {plural(int(r.n_pairs), 'seed')}", "verdict": verdict_label(r)})
    return pd.DataFrame(rows)


def shared_noise_md(p: pd.DataFrame) -> str:
    """Why the two interval columns can look equal: the seed × image interval adds to the t-interval
    only the test-image noise that all seeds share beyond the seed × image residual the seed part
    already holds (``msvp.stats.seed_image_estimate``); where that is tiny they print the same."""
    both = p[(p.interval == "seed × image") & np.isfinite(p.t_lo_pp.astype(float))
             & np.isfinite(p.lo_pp.astype(float))]
    if both.empty:
        return ""
    same = [(pp(r.lo_pp), pp(r.hi_pp)) == (pp(r.t_lo_pp), pp(r.t_hi_pp)) for r in both.itertuples()]
    if not any(same):
        return ""
    wider = np.maximum(both.t_lo_pp - both.lo_pp, both.hi_pp - both.t_hi_pp).astype(float)[same]
    which = "every row" if all(same) else f"{sum(same)} of the {len(both)} rows with both intervals"
    gap = (f"is at most {wider.max():.3f} pp wider there" if f"{wider.max():.3f}" != "0.000"
           else "matches it to three decimals there")
    return (f"In {which} the two interval columns print the same (the seed × image interval {gap}): the "
            f"test-image noise that all seeds share adds almost nothing "
            f"beyond the seed-to-seed spread, which already contains each seed's own draw of image-level luck.")


def acc_text(df: pd.DataFrame, dataset, backbone, variant, seeds=None) -> str:
    """'mean ± sd' test accuracy (%) of one arm, over all its seeds or over ``seeds`` only."""
    sel = (df.dataset == dataset) & (df.backbone == backbone) & (df.variant == variant)
    if seeds is not None:
        sel &= df.seed.astype(int).isin([int(s) for s in seeds])
    a = df[sel].test_acc.astype(float)
    if a.empty:
        return "not run yet"
    std = a.std(ddof=1) if len(a) > 1 else None
    return fmt_pct(a.mean(), std)


def _arm_text(df: pd.DataFrame, dataset, backbone, variant, r: pd.DataFrame, every: bool = True) -> str:
    """One arm's accuracy column in a reading's row: over every seed of the arm (``every``), and, where
    the row's paired seeds are not all of them, over those paired seeds too, so that a row's two
    accuracy columns subtract to its paired difference (concat has 3 seeds, the baseline 5)."""
    text = acc_text(df, dataset, backbone, variant) if every else ""
    if r.empty:
        return text
    seeds = tuple(r.iloc[0].seeds)
    arm = df[(df.dataset == dataset) & (df.backbone == backbone) & (df.variant == variant)]
    if set(seeds) == set(arm.seed.astype(int)):
        return text
    own = f"{acc_text(df, dataset, backbone, variant, seeds)} on its {plural(len(seeds), 'paired seed')}"
    return f"{text}; {own}" if text else own


def results_table(profile: str, df: pd.DataFrame, *, links: bool = True) -> pd.DataFrame:
    """Every (data set, backbone) cell with finished runs: baseline, MSVP add and concat accuracy, the
    paired difference with its interval and the verdict, per reading. Cells without runs are left to
    ``progress_md`` (a line per backbone with the command that trains them), so the table grows as
    runs land; ``attrs["cells"]`` gives each row's (dataset, backbone)."""
    p, plan = paired_rows(df), planned_pairs(profile)
    rows, cells = [], []
    for dataset, backbone in ordered({(d, b) for d, b in zip(df.dataset, df.backbone)}):
        name = cell_name(dataset, backbone)
        if links and dataset in CHAPTERS:
            name = f"[{name}]({CHAPTERS[dataset]})"
        for i, t in enumerate(READINGS):
            r = p[(p.dataset == dataset) & (p.backbone == backbone) & (p.treatment == t)]
            rows.append({"data set · backbone": name if i == 0 else "",
                         "baseline (%)": _arm_text(df, dataset, backbone, "baseline", r, every=i == 0),
                         "MSVP fusion": t.split("-")[1], "MSVP (%)": _arm_text(df, dataset, backbone, t, r),
                         "MSVP − baseline (pp), 95 % CI": delta_text(r.iloc[0], pairs=True) if len(r) else
                         "no paired seeds",
                         "verdict": _cell_verdict(r, plan.get((dataset, backbone, t)))})
            cells.append((dataset, backbone))
    out = pd.DataFrame(rows, columns=RESULTS_COLUMNS)
    out.attrs["cells"] = cells
    return out


def _cell_verdict(r: pd.DataFrame, planned: int | None) -> str:
    """The verdict of a cell's paired row; with fewer than 2 pairs, how many of its planned pairs exist."""
    n = int(r.iloc[0].n_pairs) if len(r) else 0
    if n == 0 and not planned:       # a reading the profile does not plan for this cell
        return "–"
    return verdict_label(r.iloc[0]) if n >= 2 else pairs_status(n, planned)


RESULTS_COLUMNS = ["data set · backbone", "baseline (%)", "MSVP fusion", "MSVP (%)", "MSVP − baseline (pp), 95 % CI",
                   "verdict"]


def progress_md(profile: str, states: pd.DataFrame, datasets=None) -> str:
    """One line per backbone: how many of the runs the profile plans are trained, and the command that
    trains the rest; backbones the profile does not plan are named with the profile that does."""
    sel = states if datasets is None else states[states.dataset.isin(datasets)]
    lines = [_backbone_progress(profile, sel[sel.backbone == b], b, datasets)
             for b in BACKBONE_ORDER if b in set(sel.backbone)]
    absent = [b for b in BACKBONE_ORDER if b not in set(sel.backbone)]
    if absent and profile != "paper":
        names = " and ".join(backbone_title(b) for b in absent)
        only = {"backbone": "|".join(absent), **({"dataset": "|".join(datasets)} if datasets else {})}
        lines.append(f"**{names}**: not in the `{profile}` profile; `{grid_command('paper', **only)}` "
                     f"trains {'it' if len(absent) == 1 else 'them'} on a GPU.")
    return "\n".join(f"- {line}" for line in lines)


def _backbone_progress(profile: str, s: pd.DataFrame, backbone: str, datasets=None) -> str:
    """'**ViT-Tiny**: 0 of 21 planned runs trained; `python -m msvp grid ...` trains the other 21.'"""
    counts = s.state.value_counts()
    done, todo = int(counts.get("done", 0)), int(counts.get("missing", 0) + counts.get("stale", 0))
    line = f"**{backbone_title(backbone)}**: {done:,} of {plural(len(s), 'planned run')} trained"
    if counts.get("diverged"):
        line += f" ({int(counts['diverged'])} diverged)"
    if not todo:
        return line + "."
    stale = int(counts.get("stale", 0))
    only = {**({"dataset": "|".join(datasets)} if datasets else {}), "backbone": backbone}
    return (line + f"; `{grid_command(profile, **only)}` trains the other {todo:,}"
            + (f" ({stale:,} of them made by older training code)" if stale else "") + ".")


def show_paired_figure(p: pd.DataFrame, title: str) -> None:
    if p.empty:
        md("*No paired results yet: the figure of paired differences appears once a baseline and an MSVP "
           "run share a seed.*")
        return
    figure(plot_paired(p, title))
