"""What the chapters show, so that a chapter is prose plus a few one-line calls.

Every table and sentence here is computed from the results store (``msvp.results``) and the
statistics (``msvp.stats``, ``msvp.report``); nothing is typed in by hand. Tables are Markdown (the
book renders them as HTML tables that wrap), figures come from ``msvp.viz`` and pass its
readability check. Each page copes with 0, some or all of its runs: what is missing is named, with
the command that runs it.

The experiment chapters (3-5) share one body, ``ExperimentChapter``; the ablation chapters (6-7)
``AblationChapter``; the landing page and chapter 8 ``results_table``.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from collections import Counter
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from . import report, viz
from .config import RunConfig
from .datasets import DATASETS
from .experiments import MAIN_VARIANTS, PROFILES, VARIANTS, get_profile
from .grid import plan_runs, run_grid
from .results import current_records, load, load_records, skipped_line
from .stats import CONVERGENCE_TOL_PP, LEVEL, MARGIN_PP, NOT_ENOUGH_PAIRS
from .stats import signed as pp  # '+0.12', '−0.05'

ROOT = Path(__file__).resolve().parents[1]
MAIN = "msvp-add-full"
CONCAT = "msvp-concat-full"
MAIN_PAIR = ("baseline", MAIN)
READINGS = (MAIN, CONCAT)      # both readings of the abstract's fusion: the code's add, the text's 1×1 conv
DATASET_ORDER = ("mnist", "fashion_mnist", "cifar10")
BACKBONE_ORDER = ("cnn", "resnet18", "vit")
CHAPTERS = {"mnist": "03_mnist.ipynb", "fashion_mnist": "04_fashion_mnist.ipynb", "cifar10": "05_cifar10.ipynb"}


# ---------------------------------------------------------------------------------------------
# output helpers

def setup_plots() -> None:
    viz.style()
    matplotlib.rcParams["figure.max_open_warning"] = 0
    pd.set_option("display.width", 78)


def md(text: str) -> None:
    """Show Markdown (it wraps to the page; printed text would scroll sideways); nothing if empty."""
    from IPython.display import Markdown, display

    if text:
        display(Markdown(text))


def table(df: pd.DataFrame, bold: str | None = None) -> None:
    md(report.markdown_table(df, bold))


def figure(fig) -> None:
    """Show a figure once (the inline backend would show it again at the end of the cell)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)


def cell_name(dataset: str, backbone: str) -> str:
    return f"{DATASETS[dataset].title} · {report.backbone_title(backbone)}"


def _order(cells):
    return sorted(cells, key=lambda c: (DATASET_ORDER.index(c[0]) if c[0] in DATASET_ORDER else 9,
                                        BACKBONE_ORDER.index(c[1]) if c[1] in BACKBONE_ORDER else 9))


def pct(x: float, digits: int = 2) -> str:
    return f"{100 * x:.{digits}f} %"


def duration(seconds: float) -> str:
    """12 s, 3.4 min, 2.1 h."""
    if not np.isfinite(seconds):
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"



def key_results(lines) -> None:
    """A chapter's closing summary: one bullet per computed line (empty lines are dropped)."""
    md("\n".join(f"- {line}" for line in lines if line))

# ---------------------------------------------------------------------------------------------
# chapter 2: an independent oracle

def bilinear_reference(p: np.ndarray, out: int) -> np.ndarray:
    """Upsample a square map to out × out by hand: half-pixel
    centres, clamped at the border (what F.interpolate computes
    with mode="bilinear", align_corners=False)."""
    s = p.shape[0]
    src = (np.arange(out) + 0.5) * s / out - 0.5
    src = np.clip(src, 0, s - 1)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, s - 1)
    w = src - i0
    rows = p[i0] * (1 - w)[:, None] + p[i1] * w[:, None]
    return rows[:, i0] * (1 - w) + rows[:, i1] * w


def check_mark(ok: bool) -> str:
    return "✓ yes" if ok else "✗ NO"


# ---------------------------------------------------------------------------------------------
# what ran, and what did not

def ensure_results(profile: str, results_dir, *, only: str | None = None, retrain: bool = False,
                   data_root="../data") -> pd.DataFrame:
    """Train the profile's missing runs when ``retrain``, else train nothing; return all finished runs.

    Finished runs are never re-trained: their result files are the source of every number shown.
    What is missing is said by ``status_md``."""
    if retrain:
        run_grid(profile, only=only, results=results_dir, data_root=data_root, train=True, progress=False,
                 log=lambda *_: None)
    return load(profile, results_dir)


def run_states(profile: str, results_dir) -> pd.DataFrame:
    """One row per planned run of the profile: dataset, backbone, variant, seed, state
    (done, diverged, missing or stale)."""
    rows = [{"dataset": c.dataset, "backbone": c.backbone, "variant": c.variant, "seed": c.seed, "state": s}
            for c, _, s, _ in plan_runs(profile, results=results_dir)]
    return pd.DataFrame(rows, columns=["dataset", "backbone", "variant", "seed", "state"])


def grid_command(profile: str, **only) -> str:
    spec = ",".join(f"{k}={v}" for k, v in only.items())
    if "|" in spec:
        spec = f"'{spec}'"   # the shell would read | as a pipe
    return f"python -m msvp grid --profile {profile}" + (f" --only {spec}" if spec else "")


def status_md(profile: str, df: pd.DataFrame, states: pd.DataFrame, *, datasets=None, what: str = "") -> str:
    """The setting of a page: profile (and how it deviates from the paper), data actually trained on,
    hardware, how many planned runs are done, diverged runs and files not counted."""
    p = get_profile(profile)
    sel = states if datasets is None else states[states.dataset.isin(datasets)]
    counts = sel.state.value_counts()
    done, total = int(counts.get("done", 0)), len(sel)
    lines = [f"**Profile `{profile}`.** {p.description}"]
    if datasets:
        lines.append("**Data.** " + "; ".join(report.training_label(df, d) for d in datasets) + ".")
    lines.append("**Hardware.** " + (report.hardware_label(df) if not df.empty else "no runs yet") + ".")
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
                          "variant": viz.label(r["variant"]), "seed": r["seed"], "state": "diverged"} for r in rows])


def show_diverged(df: pd.DataFrame, datasets=None) -> None:
    d = diverged_table(df, datasets)
    if len(d):
        md("**Diverged runs** (their training loss exploded; they are listed here and left out of every "
           "mean and every paired difference):")
        table(d)


# ---------------------------------------------------------------------------------------------
# statistics, as sentences

def rules_md() -> str:
    """The verdict rules in a paragraph (chapter 10 explains each one and links to its code)."""
    return (
        f"Seed *k* of the baseline and seed *k* of MSVP share their backbone weights, batch order, "
        f"augmentation and dropout, so each per-seed difference isolates the prompt. Each cell gets two "
        f"{LEVEL:.0%} intervals: the **t-interval** over the paired seeds, and the **seed × image** interval, "
        f"which also counts the luck of the draw of test images shared by all seeds; the verdict uses the "
        f"second where every run stored its per-image results. **McNemar's test** per seed is shown as a "
        f"diagnostic only. **Improves** or **hurts**: the p-value, Holm-corrected over every cell where the "
        f"same comparison ran (one family per comparison, on every page), is below {1 - LEVEL:.2f}. "
        f"**Equivalent**: the TOST test, Holm-corrected like the p-value, "
        f"shows the difference lies within ±{MARGIN_PP:g} pp; for a single cell that means its "
        f"{2 * LEVEL - 1:.0%} interval lies inside ±{MARGIN_PP:g} pp, and Holm widens that interval as cells "
        f"are added (to {LEVEL:.0%} for the first of two). Every verdict is the one at the profile's protocol; "
        f"where the baseline's mean validation accuracy still rose by more than {CONVERGENCE_TOL_PP:g} pp over "
        f"its last two epochs, a **caveat** beside the verdict gives that rise and the schedule's last learning "
        f"rate. A cell with fewer than two paired seeds reads *{report.SINGLE_PAIR}*. "
        f"[Chapter 10](10_report_card.ipynb) explains each rule and links to the code that applies it.")


verdict_text = report.verdict_label  # one wording of a verdict across the book


def delta_text(r, pairs: bool = False) -> str:
    """'+0.12 [−0.05, +0.29]' (pp, the interval the verdict uses), with the number of pairs if asked."""
    n = f"{plural(int(r.n_pairs), 'pair')}" if pairs else ""
    if not np.isfinite(r.lo_pp):
        return f"{pp(r.diff_pp)} ({n + ', ' if n else ''}no interval)"
    return f"{pp(r.diff_pp)} [{pp(r.lo_pp)}, {pp(r.hi_pp)}]" + (f" ({n})" if n else "")


def effect_sentence(r, what: str) -> str:
    """One computed sentence: effect, both intervals, seeds won, verdict, convergence."""
    s = f"**{what}**: MSVP changes test accuracy by **{pp(r.diff_pp)} pp**"
    if r.n_pairs < 2:
        return s + f" on the one paired seed so far: {report.SINGLE_PAIR} (an interval needs a second pair)."
    where = "seed × image interval" if r.interval == "seed × image" else "t-interval (no per-image records)"
    s += f" ({LEVEL:.0%} {where} [{pp(r.lo_pp)}, {pp(r.hi_pp)}] pp"
    if r.interval == "seed × image":
        s += f"; t-interval over the {r.n_pairs} seeds [{pp(r.t_lo_pp)}, {pp(r.t_hi_pp)}] pp"
    s += f"); MSVP is ahead on {r.wins} of {r.n_pairs} seeds. "
    s += f"Verdict: **{verdict_text(r)}**"
    if r.converged is True:
        s += f" (the baseline has converged: {pp(r.val_rise_pp)} pp over its last two epochs)"
    return s + "."


def paired_rows(df: pd.DataFrame, datasets=None) -> pd.DataFrame:
    """Paired statistics for both readings; each reading is one Holm family over all its cells (as on
    the report card), before ``datasets`` picks the rows."""
    frames = [report.paired_table(df, (t,), datasets=datasets) for t in READINGS]
    frames = [f for f in frames if len(f)]
    if not frames:
        return report.paired_table(df.iloc[:0])
    p = pd.concat(frames, ignore_index=True)
    key = [(READINGS.index(t), _rank(DATASET_ORDER, d), _rank(BACKBONE_ORDER, b))
           for t, d, b in zip(p.treatment, p.dataset, p.backbone)]
    return p.iloc[sorted(range(len(p)), key=key.__getitem__)].reset_index(drop=True)


def _rank(order, x) -> int:
    return order.index(x) if x in order else len(order)


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
        cell = f"{report.backbone_title(r.backbone)} · {r.treatment.split('-')[1]}"
        rows.append({"cell": f"{DATASETS[r.dataset].title} · {cell}" if with_dataset else cell,
                     "Δ (pp), seed × image CI": si, "Δ (pp), t-interval": t_ci,
                     "McNemar p, per seed": report.fmt_mcnemar(r.mcnemar_p),
                     "p (Holm)": f"{r.p_holm:.3g}" if np.isfinite(r.p_holm) else "–",
                     "MSVP ahead": f"{r.wins} of {r.n_pairs} seeds", "verdict": verdict_text(r)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# the results table of the landing page and chapter 8

def _acc(df: pd.DataFrame, dataset, backbone, variant) -> str:
    a = df[(df.dataset == dataset) & (df.backbone == backbone) & (df.variant == variant)].test_acc.astype(float)
    if a.empty:
        return "not run yet"
    std = a.std(ddof=1) if len(a) > 1 else None
    return report.fmt_pct(a.mean(), std)


def results_table(profile: str, df: pd.DataFrame, *, links: bool = True) -> pd.DataFrame:
    """Every (data set, backbone) cell with finished runs: baseline, MSVP add and concat accuracy, the
    paired difference with its interval and the verdict, per reading. Cells without runs are left to
    ``progress_md`` (a line per backbone with the command that trains them), so the table grows as
    runs land; ``attrs["cells"]`` gives each row's (dataset, backbone)."""
    p = paired_rows(df)
    rows, cells = [], []
    for dataset, backbone in _order({(d, b) for d, b in zip(df.dataset, df.backbone)}):
        name = cell_name(dataset, backbone)
        if links and dataset in CHAPTERS:
            name = f"[{name}]({CHAPTERS[dataset]})"
        for i, t in enumerate(READINGS):
            r = p[(p.dataset == dataset) & (p.backbone == backbone) & (p.treatment == t)]
            rows.append({"data set · backbone": name if i == 0 else "",
                         "baseline (%)": _acc(df, dataset, backbone, "baseline") if i == 0 else "",
                         "MSVP fusion": t.split("-")[1], "MSVP (%)": _acc(df, dataset, backbone, t),
                         "MSVP − baseline (pp), 95 % CI": delta_text(r.iloc[0], pairs=True) if len(r) else
                         "no paired seeds",
                         "verdict": verdict_text(r.iloc[0]) if len(r) else "–"})
            cells.append((dataset, backbone))
    out = pd.DataFrame(rows, columns=RESULTS_COLUMNS)
    out.attrs["cells"] = cells
    return out


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
        names = " and ".join(report.backbone_title(b) for b in absent)
        only = {"backbone": "|".join(absent), **({"dataset": "|".join(datasets)} if datasets else {})}
        lines.append(f"**{names}**: not in the `{profile}` profile; `{grid_command('paper', **only)}` "
                     f"trains {'it' if len(absent) == 1 else 'them'} on a GPU.")
    return "\n".join(f"- {line}" for line in lines)


def _backbone_progress(profile: str, s: pd.DataFrame, backbone: str, datasets=None) -> str:
    """'**ViT-Tiny**: 0 of 21 planned runs trained; `python -m msvp grid ...` trains the other 21.'"""
    counts = s.state.value_counts()
    done, todo = int(counts.get("done", 0)), int(counts.get("missing", 0) + counts.get("stale", 0))
    line = f"**{report.backbone_title(backbone)}**: {done:,} of {plural(len(s), 'planned run')} trained"
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
    figure(viz.plot_paired(p, title))


# ---------------------------------------------------------------------------------------------
# landing page

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
        _rank(DATASET_ORDER, kv[0][0]), _rank(BACKBONE_ORDER, kv[0][1]))) if k]
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
    where = " and ".join(DATASETS[d].title for d in DATASET_ORDER if d in set(judged.dataset))
    return f" The pooled gain rests on {plural(n, 'seed pair')} ({2 * n} runs) of MSVP add/full and the baseline on {where}."


def ceiling_note(df: pd.DataFrame, judged: pd.DataFrame) -> str:
    """Where a pooled cell's baseline errs on fewer test images than the equivalence margin, no gain
    can reach the margin there, so that cell's *equivalent* is almost given: said beside the headline,
    since such a cell pulls the pooled gain towards 'equivalent to 0'."""
    cells = []
    for r in judged.itertuples():
        base = df[(df.dataset == r.dataset) & (df.backbone == r.backbone) & (df.variant == "baseline")]
        err = 100 * (1 - base.test_acc.astype(float).mean()) if len(base) else math.nan
        if err < MARGIN_PP:
            cells.append(f"{cell_name(r.dataset, r.backbone)} ({err:.2f} %)")
    if not cells:
        return ""
    one = len(cells) == 1
    return (f" On {' and '.join(cells)} the baseline errs on fewer test images than the ±{MARGIN_PP:g} pp margin, "
            f"so no gain there can reach the margin: *equivalent* there mainly says that MSVP does no harm, and "
            f"the pooled gain includes {'that cell' if one else 'those cells'}.")


DATA_WORDS = {"mnist": "handwritten digits", "fashion_mnist": "photos of clothing", "cifar10": "small colour photos"}
"""What each data set shows, for the landing page's plain-words answer."""

PLAIN_VERDICTS = {
    "improves": "MSVP is better, beyond seed-to-seed noise",
    "hurts": "MSVP is worse, beyond seed-to-seed noise",
    "equivalent": f"any difference is shown to be smaller than {MARGIN_PP:g} pp, the size fixed in advance as too "
                  f"small to matter",
    "inconclusive": "the runs cannot tell yet whether MSVP helps or hurts",
}
"""A cell's verdict in words a student can read; the statistics behind it follow further down."""

PLAIN_CLAIMS = {
    "supported": "the evidence here backs it",
    "not supported": "the evidence here does not back it",
    "inconclusive": "the evidence here cannot decide it yet",
    NOT_ENOUGH_PAIRS: "too few runs to judge it yet",
    "not run here": "not tested yet: the runs it needs have not been trained here",
}
"""A claim's verdict (``msvp.report``) in words a student can read."""


def plain_verdict(r, caveat: bool = True) -> str:
    """One cell's verdict in plain words, with the convergence caveat where the baseline still improved."""
    words = PLAIN_VERDICTS.get(str(r.verdict), "there are too few runs to tell yet")
    return words + (f" ({CAVEAT_WORDS})" if caveat and _still_improving(r) else "")


CAVEAT_WORDS = "the baseline was still improving when training stopped"


def _still_improving(r) -> bool:
    return getattr(r, "converged", None) in (False,)   # numpy's False too; None and NaN mean "not checked"


def _sure_sentence(where: list[str], p: pd.DataFrame, unit: str = "cell") -> str:
    """'On MNIST and CIFAR-10 any difference is ... (on CIFAR-10 the baseline was still improving ...); on
    Fashion-MNIST ...': the cells grouped by their verdict in plain words, each group with its caveats."""
    groups: dict[str, list[tuple[str, bool]]] = {}
    for w, r in zip(where, p.itertuples()):
        groups.setdefault(plain_verdict(r, caveat=False), []).append((w, _still_improving(r)))
    parts = []
    for words, cells in groups.items():
        late = [w for w, flag in cells if flag]
        note = ("" if not late else f" ({CAVEAT_WORDS})" if len(late) == len(cells) == 1 else
                f" ({_cells_phrase(late, len(p), unit)} {CAVEAT_WORDS})")
        parts.append(f"{_cells_phrase([w for w, _ in cells], len(p), unit)} {words}{note}")
    return _capital("; ".join(parts)) + "."


def plain_answer(profile: str, df: pd.DataFrame, paired: pd.DataFrame, claim: str) -> str:
    """The landing page's first lines: what was trained, what MSVP changed, how sure we are, in plain words
    and computed from the runs; the pooled estimate, TOST and Holm come further down."""
    if paired.empty:
        return (f"No baseline and MSVP run of the `{profile}` profile share a seed yet, so there is no answer "
                f"yet: it appears here as the runs finish.")
    p = paired.set_index(["dataset", "backbone"]).loc[_order(set(zip(paired.dataset, paired.backbone)))].reset_index()
    nets = _join([f"a {report.backbone_title(b)}" for b in BACKBONE_ORDER if b in set(p.backbone)])
    sets = _join([f"{DATASETS[d].title} ({DATA_WORDS.get(d, 'images')})" for d in DATASET_ORDER if d in set(p.dataset)])
    k = report._span(p.n_pairs)
    runs = {"1": "once", "2": "twice"}.get(k, f"{k} times")
    one = len(set(p.backbone)) == 1
    where = [DATASETS[d].title if one else cell_name(d, b) for d, b in zip(p.dataset, p.backbone)]
    if len(p) <= 3:
        moved = _join([f"{pp(x)} pp on {w}" for x, w in zip(p.diff_pp, where)])
    else:   # a list of every cell would push the figure off the first screen
        moved = f"between {pp(p.diff_pp.min())} and {pp(p.diff_pp.max())} pp across the {len(p)} cells"
    moved = moved.replace(" pp", " {term}`percentage points (pp) <percentage point>`", 1)
    verdict = PLAIN_CLAIMS.get(claim, f"its verdict so far is *{claim}*")
    sure = _sure_sentence(where, p, "data set" if one else "cell")
    return (f"**In plain words.** We trained {nets} to recognise {sets}, {runs} with and {runs} without MSVP's "
            f"prompt; each pair of runs started from the same weights and saw the same batches of images. Adding "
            f"the prompt (as the official code does) changed test accuracy by {moved} on average. {sure} So for "
            f"the abstract's claim that MSVP improves accuracy, **{verdict}**.")


def _cells_phrase(names: list[str], total: int, unit: str = "cell") -> str:
    """'on MNIST and CIFAR-10', 'in every cell', 'on all 3 data sets', 'in 4 of the 9 cells'."""
    if len(names) == total and total > 1:
        return "in every cell" if unit == "cell" else f"on all {total} {unit}s"
    return f"on {_join(names)}" if len(names) <= 3 else f"in {len(names)} of the {total} {unit}s"


def _capital(text: str) -> str:
    """'*adds < 0.02 %*' -> '*Adds < 0.02 %*': the first letter upper-case, whatever Markdown precedes it."""
    i = next((k for k, ch in enumerate(text) if ch.isalpha()), len(text))
    return text[:i] + text[i:i + 1].upper() + text[i + 1:]


def _join(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class FrontPage:
    """The landing page in three calls, each under its own heading: the answer in plain words with the
    headline figure; every cell with runs and the progress of the rest; the statistics for reviewers."""

    def __init__(self, profile: str, results_dir, data_root="../data"):
        setup_plots()
        self.profile = profile
        self.df = ensure_results(profile, results_dir, data_root=data_root)
        self.states = run_states(profile, results_dir)
        self.paired = report.paired_table(self.df)          # the accuracy claim: add fusion, full scales
        self.claim = report.claim_accuracy(self.paired)

    def answer(self) -> None:
        md(plain_answer(self.profile, self.df, self.paired, self.claim[0]))
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
        md(f"Test accuracy: mean ± standard deviation over the seeds run, in percent, after the last epoch (the "
           f"paper's metric). **MSVP − baseline**: the mean paired difference in percentage points with its "
           f"{LEVEL:.0%} interval. **add** is the official code's default fusion, **concat** the abstract's 1 × 1 "
           f"convolution. Each data set links to its chapter.")
        show_diverged(self.df)

    def evidence(self) -> None:
        verdict, detail = self.claim
        meaning = (f" *{verdict[:1].upper()}{verdict[1:]}* means: {report.CLAIM_MEANING[verdict]}."
                   if verdict in report.CLAIM_MEANING else "")
        interim = interim_note(self.profile, self.paired)
        judged = report.judged(self.paired)
        basis = (pooled_basis(judged) + ceiling_note(self.df, judged)).strip()
        done = int((self.states.state == "done").sum())
        md(f"**The accuracy claim{' so far' if interim else ''}: *{verdict}*.**{meaning}\n\n"
           f"- **Evidence.** {detail[:1].upper()}{detail[1:]}.\n"
           + (f"- **Basis.** {basis}\n" if basis else "")
           + f"- **Runs.** {done:,} of the {len(self.states):,} runs that the `{self.profile}` profile plans are "
             f"finished." + interim)
        md(f"*Equivalent* means a Holm-corrected TOST test puts the difference within ±{MARGIN_PP:g} pp (for one "
           f"cell: its {2 * LEVEL - 1:.0%} interval lies inside; Holm widens that interval with more cells). "
           + (f"Data: {'; '.join(report.dataset_label(self.df, d) for d in DATASET_ORDER if d in set(self.df.dataset))}. "
              f"Hardware: {report.hardware_label(self.df)}." if not self.df.empty else "No runs yet."))


# ---------------------------------------------------------------------------------------------
# chapters 3-5: one data set

def _row_shares(confusions) -> np.ndarray:
    """Stacked confusion matrices with each row (true class) as percentages of that class."""
    m = np.stack(confusions)
    return 100 * m / np.maximum(m.sum(-1, keepdims=True), 1)


def confusion_shift(recs: list[dict], classes, top: int = 3) -> str:
    """Does MSVP move the baseline's largest confusions? Over every seed both arms ran: the mean share
    of each of the baseline's ``top`` confusions under both arms, and the paired per-seed differences.
    A shift whose per-seed differences change sign is within seed noise; the figure above shows seed 0
    only, so this sentence is the one that speaks for all seeds."""
    mats = {v: {r["config"]["seed"]: np.asarray(r["confusion"], float) for r in recs
                if r["variant"] == v and r.get("confusion") is not None} for v in MAIN_PAIR}
    seeds = sorted(set(mats[MAIN_PAIR[0]]) & set(mats[MAIN_PAIR[1]]))
    if len(seeds) < 2:
        return ""
    base, msvp = (_row_shares([mats[v][s] for s in seeds]) for v in MAIN_PAIR)
    mean_base = base.mean(0)
    np.fill_diagonal(mean_base, 0)
    parts, mixed = [], 0
    for i, j in zip(*np.unravel_index(np.argsort(mean_base, axis=None)[::-1][:top], mean_base.shape)):
        d = msvp[:, i, j] - base[:, i, j]
        mixed += int(d.min() < 0 < d.max())
        parts.append(f"{classes[i]} → {classes[j]} {mean_base[i, j]:.1f} % → {msvp[:, i, j].mean():.1f} % "
                     f"({pp(d.mean())} pp; per seed {pp(d.min())} to {pp(d.max())})")
    k = len(parts)
    n = len(seeds)
    verdict = ("the per-seed differences change sign in all of them, so MSVP moves none of them beyond seed noise"
               if mixed == k else f"in {mixed} of the {k} the per-seed differences change sign (seed noise); in the "
               f"other {k - mixed} every seed moves the same way, which with no effect at all happens by chance "
               f"one time in {2 ** (n - 1)} for each confusion ({n} seeds): a hint, not a test")
    return (f"**Does MSVP move them?** The baseline's {k} largest confusions, mean over the {n} seeds both "
            f"arms ran, baseline → {viz.label(MAIN_PAIR[1])}: " + "; ".join(parts) + f". {verdict[:1].upper()}{verdict[1:]}.")


class ExperimentChapter:
    """The body of an experiment chapter (3-5) for one data set: the same sections (``SECTIONS``, in
    order), computed from the data set's own runs, with sentences that read its numbers and compare
    them with the other data sets."""

    SECTIONS = ("setting", "answer", "accuracy", "differences", "curves", "confusions", "prompts", "saliency")

    def __init__(self, profile: str, results_dir, dataset: str, data_root="../data", retrain: bool = False):
        setup_plots()
        self.profile, self.results_dir, self.dataset, self.data_root = profile, results_dir, dataset, data_root
        self.title = DATASETS[dataset].title
        self.all = ensure_results(profile, results_dir, only=f"dataset={dataset}", retrain=retrain, data_root=data_root)
        self.df = self.all[self.all.dataset == dataset]
        self.states = run_states(profile, results_dir)
        self.records = [r for r in current_records(profile, results_dir)[0]
                        if r["status"] == "done" and r["config"]["dataset"] == dataset]
        self.paired = paired_rows(self.all, datasets=[dataset])
        self.backbones = [b for b in BACKBONE_ORDER if b in set(self.df.backbone)]

    # -- helpers
    def _name(self, backbone: str) -> str:
        """'MNIST (54,000 training images) · CNN': what the figure's runs were trained on."""
        n = self.df[self.df.backbone == backbone].n_train
        return (f"{self.title} ({report._span(n)} training images) · {report.backbone_title(backbone)}"
                if len(n) else cell_name(self.dataset, backbone))

    def _recs(self, backbone: str, variants=MAIN_PAIR, seed: int | None = None) -> list[dict]:
        return [r for r in self.records if r["config"]["backbone"] == backbone and r["variant"] in variants
                and (seed is None or r["config"]["seed"] == seed)]

    def _seed0(self, backbone: str) -> dict:
        return {r["variant"]: r for r in self._recs(backbone, seed=0)}

    # -- sections: the notebook calls each one under its own Markdown heading, so that the headings
    #    are the page's own and enter its table of contents (headings printed by code do not)
    def setting(self) -> None:
        main = self.states[self.states.variant.isin(MAIN_VARIANTS)]
        md(status_md(self.profile, self.df, main, datasets=[self.dataset], what=f" of this page on {self.title}"))
        md(f"**Trained so far on {self.title}, per backbone:**\n\n"
           + progress_md(self.profile, main, datasets=[self.dataset]))
        show_diverged(self.all, [self.dataset])

    def answer(self) -> None:
        if self.df.empty:
            md(f"No finished runs on {self.title} yet in the `{self.profile}` profile, so there is nothing to "
               f"read here; the sections below fill in as runs finish.")
            return
        out = []
        for b in self.backbones:
            for t in READINGS:
                r = self.paired[(self.paired.backbone == b) & (self.paired.treatment == t)]
                what = f"{report.backbone_title(b)}, {viz.label(t)}"
                if len(r):
                    out.append(effect_sentence(r.iloc[0], what))
                elif (self.df.backbone == b).any():
                    out.append(f"**{what}**: no paired seeds yet.")
        out.append(self._checkpoint_sentence())
        out += self._comparison_sentences()
        md("\n\n".join(s for s in out if s))

    def _checkpoint_sentence(self) -> str:
        # the runs of the accuracy table below (its arms), not the ablation and control runs of this data set
        d = self.df[self.df.variant.isin(MAIN_VARIANTS)].dropna(subset=["best_epoch"])
        if d.empty:
            return ""
        last = d.best_epoch.astype(int) == d.epochs.astype(int)
        same = (d.test_acc.astype(float) == d.test_acc_best_val.astype(float))
        s = (f"**Best-validation checkpoint.** In {int(last.sum())} of the {len(d)} runs of the table below the best "
             f"clean validation "
             f"accuracy came at the last epoch, so the *best-validation* column reports the very same model as "
             f"the *last-epoch* column")
        if last.all():
            return s + (": with the cosine schedule the learning rate falls to zero at the end, and the last "
                        "epochs are the best. The two columns being equal is a finding, not a copy.")
        other = d[~last]
        diff = 100 * (other.test_acc_best_val.astype(float) - other.test_acc.astype(float))
        # an earlier best epoch can still score the same on test: say so only when that happens
        ties = (f"; {int(same.sum())} of {len(d)} runs give identical numbers in both columns"
                if int(same.sum()) != int(last.sum()) else "")
        return s + (f". In the other {len(other)} the best epoch came earlier (epoch "
                    f"{report._span(other.best_epoch)}), and its test accuracy differs from the last epoch's by "
                    f"{pp(diff.min())} to {pp(diff.max())} pp{ties}.")

    def _comparison_sentences(self) -> list[str]:
        out = []
        p_all = paired_rows(self.all)
        for b in self.backbones:
            cells = p_all[(p_all.backbone == b) & (p_all.treatment == MAIN)]
            errs = {d: 100 * (1 - self.all[(self.all.dataset == d) & (self.all.backbone == b)
                                           & (self.all.variant == "baseline")].test_acc.astype(float).mean())
                    for d in DATASET_ORDER}
            errs = {d: e for d, e in errs.items() if np.isfinite(e)}
            others = [d for d in errs if d != self.dataset]
            if self.dataset not in errs or not others:
                continue
            rank = sorted(errs, key=errs.get).index(self.dataset)
            level = ["the easiest", "the middle one", "the hardest"][min(rank, 2)] if len(errs) == 3 else (
                "the easier" if rank == 0 else "the harder")
            parts = []
            for d in [x for x in DATASET_ORDER if x in errs]:
                r = cells[cells.dataset == d]
                eff = f"{pp(r.diff_pp.iloc[0])} pp" if len(r) else "no paired seeds"
                parts.append(f"{report.data_title(self.all, d)} {errs[d]:.1f} % and {eff}")
            out.append(f"**Compared with the other data sets** ({report.backbone_title(b)}, same profile): by its "
                       f"baseline's test error, {self.title} is {level} of the {len(errs)} data sets run so far. "
                       f"Baseline error and MSVP add's paired difference: " + "; ".join(parts)
                       + ". Whether the gain grows with difficulty is judged on the [report card](10_report_card.ipynb).")
        return out

    def accuracy(self) -> None:
        if self.df.empty:
            md("No runs yet.")
            return
        rows = []
        for b in self.backbones:
            for v in [x for x in MAIN_VARIANTS if x in set(self.df[self.df.backbone == b].variant)]:
                d = self.df[(self.df.backbone == b) & (self.df.variant == v)]
                last, best = d.test_acc.astype(float), d.test_acc_best_val.astype(float)
                rows.append({"backbone": report.backbone_title(b), "variant": viz.label(v), "seeds": len(d),
                             "last epoch (%)": report.fmt_pct(last.mean(), _sd(last)),
                             "best-val. checkpoint (%)": report.fmt_pct(best.mean(), _sd(best)),
                             "best-val. epoch": report._span(d.best_epoch) + f" of {int(d.epochs.iloc[0])}",
                             "prompt params": int(d.params_prompt.iloc[0])})
        table(pd.DataFrame(rows))
        md("Top-1 test accuracy, mean ± standard deviation over seeds. *Last epoch* is the paper's metric; "
           "*best-val. checkpoint* is the model of the epoch with the best clean validation accuracy. Prompt "
           "parameters are counted on the trained model.")

    def differences(self) -> None:
        md(rules_md())
        if self.paired.empty:
            md("No paired seeds yet on this data set.")
            return
        table(paired_for_reading(self.paired))
        n = report._span(self.df.n_train)
        show_paired_figure(self.paired, f"{self.title} ({n} training images): MSVP − baseline")

    def curves(self) -> None:
        shown = False
        for b in self.backbones:
            recs = self._recs(b, MAIN_PAIR + (CONCAT,))
            if not recs:
                continue
            figure(viz.plot_learning_curves(recs, f"{self._name(b)}: learning curves"))
            md(self._curve_sentence(recs))
            shown = True
        if not shown:
            md("No runs yet.")
        else:
            md("Lines: mean over seeds; bands: range over seeds. Validation images are never augmented (the "
               "official code validates on augmented images); the training loss is measured on augmented batches.")

    def _curve_sentence(self, recs: list[dict]) -> str:
        parts = []
        for v in ("baseline",) + READINGS:
            h = [r["history"] for r in recs if r["variant"] == v]
            if not h:
                continue
            n = min(len(x) for x in h)
            final = np.mean([x[n - 1]["val_acc"] for x in h])
            rise = (100 * (final - np.mean([x[n - 3]["val_acc"] for x in h]))) if n >= 3 else math.nan
            s = f"{viz.label(v)} {pct(final)}"
            if np.isfinite(rise):
                s += f" ({pp(rise)} pp over the last two epochs)"
            parts.append(s)
        return "Final clean validation accuracy, mean over seeds: " + "; ".join(parts) + "."

    def confusions(self) -> None:
        shown = False
        classes = DATASETS[self.dataset].classes
        for b in self.backbones:
            pair = self._seed0(b)
            if not pair:
                continue
            mats = {viz.label(k): pair[k]["confusion"] for k in MAIN_PAIR if k in pair}
            figure(viz.plot_confusions(mats, classes, f"{self._name(b)}: test confusion, seed 0"))
            lines = []
            for name, m in mats.items():
                m = np.asarray(m, float)
                pct_m = 100 * m / np.maximum(m.sum(1, keepdims=True), 1)
                np.fill_diagonal(pct_m, 0)
                top = np.argsort(pct_m, axis=None)[::-1][:3]
                pairs = [f"{classes[i]} → {classes[j]} {pct_m[i, j]:.1f} %" for i, j in zip(*np.unravel_index(top, m.shape))
                         if pct_m[i, j] > 0]
                lines.append(f"{name}: " + ("; ".join(pairs) if pairs else "no confusion"))
            md("Largest confusions (share of the true class predicted as another): " + " — ".join(lines) + ".")
            md(confusion_shift(self._recs(b), classes))
            shown = True
        md("Rows are true classes, normalised to 100 %; the numbers mark confusions of at least 1 %."
           if shown else "No runs yet.")

    def prompts(self) -> None:
        shown = False
        for b in self.backbones:
            rec = self._seed0(b).get(MAIN)
            if not rec or "prompts" not in rec:
                continue
            figure(viz.plot_learned_prompts(rec, f"Learned prompt, {self._name(b)}, seed 0, channel 0"))
            maps = {k: np.asarray(v, float) for k, v in rec["prompts"].items()}
            spread = ", ".join(f"{k} {np.abs(v).max():.3f}" for k, v in maps.items())
            lo, hi = _input_bounds(self.dataset)
            share = max(np.abs(v).max() for v in maps.values()) / (hi - lo)
            init = rec["config"].get("prompt_init_std", RunConfig().prompt_init_std)   # what this run used
            md(f"Largest absolute value per map (normalised input units): {spread}; the maps started with a "
               f"standard deviation of {init:g}. The images span {_input_range(self.dataset)} in these units, so "
               f"the largest map value is {share:.0%} of that span. The upsampled maps are averaged, and their mean "
               f"is added to every image alike: one fixed pattern, not a function of the input. "
               + prompt_growth(maps, init))
            shown = True
        if not shown:
            md("No MSVP add/full run with seed 0 yet.")

    def saliency(self) -> None:
        shown = False
        for b in self.backbones:
            pair = {viz.label(k): r for k, r in sorted(self._seed0(b).items()) if "maps" in r.get("explanations", {})}
            if not pair:
                continue
            first = next(iter(pair.values()))
            ex = first["explanations"]
            names = [DATASETS[self.dataset].classes[c] for c in ex["labels"]]
            figure(viz.plot_saliency(example_images(first, self.data_root), pair, names,
                                     f"{self._name(b)}: {ex['method']}, seed 0"))
            right = "; ".join(f"{k} {sum(p == y for p, y in zip(r['explanations']['pred'], r['explanations']['labels']))}"
                              f" of {len(r['explanations']['labels'])} right" for k, r in pair.items())
            md(f"On these example images: {right}. ✓ marks an image the model got right, ✗ names its wrong "
               f"prediction. " + map_agreement(pair))
            shown = True
        md("The first row of each block shows the first test image of each class; the rows below overlay each "
           "model's map (Grad-CAM on the last convolutional stage for the CNN and ResNet-18 "
           "{cite}`selvaraju2017gradcam`; attention rollout for the ViT {cite}`abnar2020rollout`). Similar maps "
           "mean the prompt did not move the model's evidence."
           if shown else "No saliency maps yet (they are computed for seed 0 when a run finishes).")


    def key_results(self) -> None:
        """The chapter in a few computed lines: per backbone and reading, both arms' accuracy and the
        effect with its verdict in plain words; then the checkpoints and the size of the prompt."""
        if self.df.empty:
            md(f"No finished runs on {self.title} yet: the key results appear here as runs finish.")
            return
        lines = []
        for r in self.paired.itertuples():
            base, msvp = (_acc(self.df, self.dataset, r.backbone, v) for v in ("baseline", r.treatment))
            lines.append(f"{report.backbone_title(r.backbone)}, {viz.label(r.treatment)}: baseline {base} %, MSVP "
                         f"{msvp} %; paired difference {pp(r.diff_pp)} pp over {plural(int(r.n_pairs), 'seed')}: "
                         f"{plain_verdict(r)}.")
        d = self.df[self.df.variant.isin(MAIN_VARIANTS)].dropna(subset=["best_epoch"])
        if len(d):
            last = int((d.best_epoch.astype(int) == d.epochs.astype(int)).sum())
            lines.append(f"{last} of {len(d)} runs reached their best validation accuracy at the last epoch.")
        lines.append(self._prompt_size_line())
        key_results(lines)

    def _prompt_size_line(self) -> str:
        """The size of the learned prompt, from the seed-0 MSVP add/full run of the first backbone."""
        for b in self.backbones:
            rec = self._seed0(b).get(MAIN)
            if rec and rec.get("prompts"):
                lo, hi = _input_bounds(self.dataset)
                top = max(float(np.abs(np.asarray(v, float)).max()) for v in rec["prompts"].values())
                return (f"The largest value of the prompt MSVP learned ({report.backbone_title(b)}, seed 0) is "
                        f"{top / (hi - lo):.0%} of the range of the images' pixel values.")
        return ""


def prompt_growth(maps: dict, init_std: float) -> str:
    """Which map learned most: each map's largest |value| in units of its starting standard deviation,
    beside the median largest |value| its random start alone gives (the median of the maximum of n
    |N(0, 1)| draws, n = the map's size), so that a map near its start is seen to have learned little."""
    from scipy.stats import norm

    parts, growth = [], {}
    for k, v in maps.items():
        growth[k] = float(np.abs(v).max()) / init_std
        start = float(norm.ppf((1 + 0.5 ** (1 / np.size(v))) / 2))
        parts.append(f"{k} {growth[k]:.1f}× (about {start:.1f}× at a random start)")
    top = max(growth, key=growth.get)
    return (f"In units of that starting standard deviation the largest values are {'; '.join(parts)}: "
            f"the {top} map moved most.")


def map_agreement(pair: dict) -> str:
    """How alike the two models' saliency maps are on the same images: the mean Pearson correlation
    over the example images, so that 'similar maps' is a number, not an impression."""
    maps = [np.asarray(r["explanations"]["maps"], float) for r in pair.values()]
    if len(maps) != 2 or maps[0].shape != maps[1].shape:
        return ""
    a, b = (m.reshape(len(m), -1) for m in maps)
    rs = [np.corrcoef(x, y)[0, 1] for x, y in zip(a, b) if x.std() > 0 and y.std() > 0]
    if not rs:
        return ""
    names = " and ".join(pair)
    r = lambda x: f"{x:.2f}".replace("-", "−")  # noqa: E731 - the book's typographic minus
    return (f"The {names} maps correlate at r = {r(np.mean(rs))} on average over these {len(rs)} images "
            f"(range {r(min(rs))} to {r(max(rs))}; 1 means the same map).")


def _sd(x: pd.Series):
    return x.std(ddof=1) if len(x) > 1 else None


def _input_bounds(dataset: str) -> tuple[float, float]:
    """The lowest and highest normalised pixel value over the channels."""
    spec = DATASETS[dataset]
    return (min((0 - m) / s for m, s in zip(spec.mean, spec.std)),
            max((1 - m) / s for m, s in zip(spec.mean, spec.std)))


def _input_range(dataset: str) -> str:
    lo, hi = _input_bounds(dataset)
    return f"{pp(lo, 1)} to {pp(hi, 1)}"


def example_images(record: dict, data_root="../data") -> np.ndarray:
    """The uint8 test images (C, H, W) that a record's saliency maps were computed on."""
    from .data import load_dataset
    from .splits import stratified_prefix

    cfg = record["config"]
    data = load_dataset(cfg["dataset"], data_root)
    if data.provenance["variant"] != record["data"]["variant"]:
        raise ValueError(f"the run used the {record['data']['variant']!r} copy of {cfg['dataset']}, "
                         f"but {data_root} holds {data.provenance['variant']!r}")
    idx = stratified_prefix(data.y_test, cfg["test_subset"])[record["explanations"]["test_positions"]]
    return data.x_test[idx].numpy()


def records_for(profile: str, results_dir, **match) -> list[dict]:
    """Finished run records whose config matches every key=value given (variant matches the record)."""
    out = []
    for r in load_records(profile, results_dir):
        if r.get("status") != "done":
            continue
        fields = {**r["config"], "variant": r["variant"]}
        if all(fields.get(k) == v for k, v in match.items()):
            out.append(r)
    return out


# ---------------------------------------------------------------------------------------------
# chapters 6-7: ablations

class AblationChapter:
    """An ablation (scales or fusions): per (data set, backbone) cell, never pooled across cells; each
    variant − baseline in its own Holm family over every cell where it ran (the book's one rule)."""

    def __init__(self, profile: str, results_dir, variants, data_root="../data", retrain: bool = False):
        setup_plots()
        self.profile, self.variants = profile, list(variants)
        self.df = ensure_results(profile, results_dir, retrain=retrain, data_root=data_root)
        self.states = run_states(profile, results_dir)
        self.cells = report.ablation_cells(self.df, self.variants)
        self.family = report.ablation_family(self.df, self.variants)
        # the profile's ablation part, not every cell that runs one of the variants: concat/full is
        # also a main variant, so that would list every main cell
        self.planned = _order(set(get_profile(profile).ablation))

    def rules(self) -> None:
        md(rules_md().split(" [Chapter 10]")[0] + " The variants of this ablation are separate comparisons, each "
           "corrected over its own cells, so their order is read from their intervals, not from their verdicts.")

    def cells_section(self, title: str) -> None:
        """One table, figure and sentence per (data set, backbone) cell that has every variant."""
        if not self.cells:
            md("No (data set, backbone) cell has every variant of this ablation yet, so there is nothing to compare.")
        for d, b in self.cells:
            md(f"### {cell_name(d, b)}")
            fam = self.family[(self.family.dataset == d) & (self.family.backbone == b)]
            t = report.ablation_table(self.df, d, b, self.variants, family=self.family)
            rows = {r.treatment: r for r in fam.itertuples()}
            t["Δ vs baseline, pp [95 % CI]"] = [delta_text(rows[v]) if v in rows else ("reference" if v == "baseline"
                                                else "no paired seeds") for v in t.variant]
            t["verdict"] = [verdict_text(rows[v]) if v in rows else "–" for v in t.variant]
            t["variant"] = [viz.label(v) for v in t.variant]
            table(t)
            cell = self.df[(self.df.dataset == d) & (self.df.backbone == b)]
            params = cell.groupby("variant").params_prompt.first().astype(int).to_dict()
            name = f"{DATASETS[d].title} ({report._span(cell.n_train)} training images) · {report.backbone_title(b)}"
            figure(viz.plot_ablation(report.summarize(cell[cell.variant.isin(self.variants)]), fam, params,
                                     self.variants, f"{title}: {name}"))
            md(self.sentence(fam, params))

    def setting(self) -> None:
        sel = self.states[self.states.variant.isin(self.variants)
                          & self.states.apply(lambda r: (r.dataset, r.backbone) in self.planned, axis=1)]
        md(status_md(self.profile, self.df, sel, datasets=sorted({d for d, _ in self.planned}, key=DATASET_ORDER.index),
                     what=" of this ablation"))
        paper = get_profile("paper").ablation
        md("Ablation cells of this profile: " + (", ".join(cell_name(*c) for c in self.planned) or "none")
           + "; the paper profile runs it on " + ", ".join(cell_name(*c) for c in paper) + ".")
        show_diverged(self.df, sorted({d for d, _ in self.planned}))

    def sentence(self, fam: pd.DataFrame, params: dict) -> str:
        if fam.empty:
            return "No paired seeds yet."
        parts = []
        for v in self.variants:
            r = fam[fam.treatment == v]
            if len(r):
                r = r.iloc[0]
                parts.append(f"{viz.label(v)} ({report.param_word(params.get(v, 0))}): {pp(r.diff_pp)} pp, "
                             f"{verdict_text(r)}")
        best = fam.loc[fam.diff_pp.idxmax()]
        s = "Against the baseline of the same seeds: " + "; ".join(parts) + "."
        single = fam.lo_pp.isna().any()          # a single pair has no interval to rank it by
        overlap = not single and fam.lo_pp.max() <= fam.hi_pp.min()
        s += (f" The largest mean gain is {viz.label(best.treatment)}'s ({pp(best.diff_pp)} pp)"
              + ("; some variants have a single pair and no interval, so this ordering is not established."
                 if single else "; the intervals of all variants overlap, so this ordering is not established."
                 if overlap else "."))
        return s + self._family_note(fam)

    @functools.cached_property
    def _main_rows(self) -> pd.DataFrame:
        """Chapters 3-5's paired rows (both readings), computed once for all of this chapter's cells:
        the seed × image interval bootstraps every cell."""
        return paired_rows(self.df)

    def _family_note(self, fam: pd.DataFrame) -> str:
        """Where a main reading gets another verdict in chapters 3-5: Holm corrects there over the
        cells of that reading, here over this ablation, so one comparison can read two ways."""
        main = self._main_rows
        notes = []
        for r in fam[fam.treatment.isin(READINGS)].itertuples():
            m = main[(main.treatment == r.treatment) & (main.dataset == r.dataset) & (main.backbone == r.backbone)]
            if len(m) and m.verdict.iloc[0] != r.verdict:
                notes.append(f"{viz.label(r.treatment)} reads *{verdict_text(m.iloc[0])}* there")
        if not notes:
            return ""
        return (f" Chapters 3–5 correct over another family (the cells of each reading), so the same comparison "
                f"can read differently: {'; '.join(notes)}.")


    def key_results(self) -> None:
        """Per cell, every variant's paired difference to the baseline and its verdict; then the prompt
        parameters of each variant on grey and colour images (from the variant registry)."""
        lines = []
        for d, b in self.cells:
            fam = self.family[(self.family.dataset == d) & (self.family.backbone == b)]
            parts = [f"{viz.label(r.treatment)} {pp(r.diff_pp)} pp ({r.verdict})" for r in fam.itertuples()]
            lines.append(f"{cell_name(d, b)}, each variant against the baseline: " + "; ".join(parts) + ".")
        if not lines:
            lines.append("No cell has every variant of this ablation yet, so there is nothing to compare.")
        shapes = {"grey": DATASETS["mnist"].shape, "colour": DATASETS["cifar10"].shape}
        cost = [f"{viz.label(v)} {VARIANTS[v].params(*shapes['grey'])} / {VARIANTS[v].params(*shapes['colour'])}"
                for v in self.variants if v != "baseline"]
        lines.append("Prompt parameters on grey / colour images: " + "; ".join(cost) + ".")
        key_results(lines)


# ---------------------------------------------------------------------------------------------
# chapter 8: backbones

def backbones_chapter(profile: str, results_dir, data_root="../data", retrain: bool = False) -> pd.DataFrame:
    """Every (data set, backbone) cell of the profile with runs: the results table, the progress of
    the cells still training and the paired figure."""
    setup_plots()
    df = ensure_results(profile, results_dir, retrain=retrain, data_root=data_root)
    states = run_states(profile, results_dir)
    md(status_md(profile, df, states))
    md("**Trained so far, per backbone:**\n\n" + progress_md(profile, states))
    t = results_table(profile, df)
    params = {(d, b): f"{int(g.params_backbone.iloc[0]):,}" for (d, b), g in df.groupby(["dataset", "backbone"])}
    # the count on the first row of each cell; its continuation row stays blank like the cell's name
    t.insert(1, "backbone params", [params[c] if name else "" for c, name in zip(t.attrs["cells"],
                                                                                 t["data set · backbone"])])
    if len(t):
        table(t)
    show_diverged(df)
    p = paired_rows(df)
    show_paired_figure(p, f"MSVP − baseline per backbone, profile {profile}")
    return df


def run_costs(df: pd.DataFrame) -> None:
    """Wall-clock time per run and in all, per (data set, backbone) cell, with the hardware."""
    if df.empty:
        md("No runs yet.")
        return
    cost = []
    for d, b in _order({(d, b) for d, b in zip(df.dataset, df.backbone)}):
        g = df[(df.dataset == d) & (df.backbone == b)]
        cost.append({"data set · backbone": cell_name(d, b), "hardware": report.hardware_label(g),
                     "runs": len(g), "epochs": int(g.epochs.iloc[0]), "training images": int(g.n_train.iloc[0]),
                     "time per run (mean)": duration(g.wall_time_s.mean()),
                     "compute time, all runs": duration(g.wall_time_s.sum())})
    cost = pd.DataFrame(cost)
    if cost.hardware.nunique() == 1:
        md(f"All on {cost.hardware.iloc[0]}:")
        cost = cost.drop(columns="hardware")
    table(cost)
    md("Wall-clock time per run as recorded in each result file: training, validation after every epoch, "
       "the final test passes and the saliency examples.")


# ---------------------------------------------------------------------------------------------
# the protocol page

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
    "train_subset": ("all", "smoke only: seconds per run, for CI"),
    "val_subset": ("all", "smoke only"),
    "test_subset": ("all", "smoke only"),
    "prompt_init_std": ("0.01", ""),
    "pad_width": ("–", "our control (pad prompt), not in the paper"),
    "cnn_dropout": ("(0.5, 0.3)", ""),
    "vit_dropout": ("0.1", ""),
    "device": ("CUDA", "the cpu profile runs on CPUs"),
    "precision": ("fp32", "auto = bf16 autocast on a GPU (faster), fp32 on a CPU: see the deviations below"),
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
    v = p.settings.get(name, default)
    if v is None:
        return "all"
    if isinstance(v, float):
        return f"{v:g}"
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
    """What each profile trains: its parts (cells × variants × seeds) and run counts."""
    rows = []
    for name, p in PROFILES.items():
        for part in p.parts:
            rows.append({"profile": name, "part": part.name,
                         "cells": ", ".join(cell_name(d, b) for d, b in part.cells),
                         "variants": "; ".join(VARIANTS[v].label for v in part.variants),
                         "seeds": len(part.seeds),
                         "runs": len(part.cells) * len(part.variants) * len(part.seeds)})
    return pd.DataFrame(rows)


def recipe_md() -> str:
    """The training recipe, from RunConfig's defaults (the official protocol)."""
    c = RunConfig()
    aug = {d: s.augment for d, s in DATASETS.items()}
    return (
        f"- **Optimiser**: Adam, learning rate {c.lr:g}, weight decay {c.weight_decay:g} (an L2 term) on every "
        f"parameter, prompts included; plain cross-entropy.\n"
        f"- **Schedule**: cosine annealing over the {c.epochs} epochs (`CosineAnnealingLR(T_max={c.epochs})`), "
        f"stepped once per epoch, no warm-up; the learning rate reaches 0 at the end.\n"
        f"- **Batch**: {c.batch_size} images per step; the last, smaller batch of an epoch is kept.\n"
        f"- **Data**: the official training set split {1 - c.val_fraction:.0%}/{c.val_fraction:.0%} into training "
        f"and validation with a fixed seed ({c.split_seed}); the official test set for test (10,000 images; "
        f"fewer in the offline CIFAR-10 copy, whose label gives its counts).\n"
        f"- **Augmentation** (training batches only): MNIST and Fashion-MNIST ({aug['mnist']}): a random "
        f"crop after 4 pixels of zero padding and a random rotation within ±10°; CIFAR-10 ({aug['cifar10']}): "
        f"the same crop and a random horizontal flip. Validation and test images are never augmented.\n"
        f"- **Normalisation**: (x − 0.5)/0.5 for the grey data sets; CIFAR-10 with its channel means "
        f"{DATASETS['cifar10'].mean} and standard deviations {DATASETS['cifar10'].std}.\n"
        f"- **Prompts**: initialised as N(0, 1) × {c.prompt_init_std:g}; the CNN's head uses dropout "
        f"{c.cnn_dropout}, the ViT dropout {c.vit_dropout:g} throughout.\n"
        f"- **Metric**: top-1 accuracy on the test set of the model after the last epoch (the paper's), and "
        f"of the checkpoint with the best clean validation accuracy (ours, beside it).")


def backbone_table() -> pd.DataFrame:
    """The three backbones: layers, trainable parameters at each input shape, and what the network
    makes of a 28-pixel and a 32-pixel image (measured with a forward pass)."""
    import torch

    from .models import build_model, count_params

    layers = {
        "cnn": "4 blocks of 2 × (3×3 conv, BN, ReLU), widths 32-64-128-256; max-pool after blocks 1-3; "
               "global average pool; head: dropout, 256→128, ReLU, dropout, 128→10",
        "resnet18": "CIFAR-style: 3×3 stride-1 stem, no max-pool; 4 stages of 2 basic blocks, widths "
                    "64-128-256-512, strides 1-2-2-2, 1×1 shortcuts; global average pool; 512→10",
        "vit": "patch embedding (a strided conv), cls token, learned position embedding; 12 pre-norm blocks, "
               "width 192, 3 heads, MLP ×4, dropout 0.1; head on the cls token",
    }
    rows = []
    for b in BACKBONE_ORDER:
        row = {"backbone": report.backbone_title(b), "layers": layers[b]}
        for dataset in ("mnist", "cifar10"):
            c, h, w = DATASETS[dataset].shape
            m = build_model(b, dataset, seed=0).eval()
            shapes = []
            net = m.backbone
            if b == "vit":
                with torch.no_grad():
                    tokens = net.embed(torch.zeros(1, c, h, w)).shape[1] - 1
                k = net.patch_embed.kernel_size[0]
                shapes = f"patches {k}×{k} → {int(math.isqrt(tokens))}×{int(math.isqrt(tokens))} = {tokens} tokens + cls"
            else:
                stages = list(net.features) if b == "cnn" else [net.stem, net.layer1, net.layer2, net.layer3, net.layer4]
                x = torch.zeros(1, c, h, w)
                sizes = [str(h)]
                with torch.no_grad():
                    for s in stages:
                        x = s(x)
                        sizes.append(str(x.shape[-1]))
                shapes = "feature maps " + " → ".join(sizes) + " px, then pooled"
            row[f"params, {c}×{h}×{w}"] = count_params(m)
            row[f"{h} px input"] = shapes
        rows.append(row)
    return pd.DataFrame(rows)


def deviations_table(profile: str, df: pd.DataFrame, results_dir) -> pd.DataFrame:
    """Every deviation from the official code, with the official value beside ours (computed where it
    depends on the runs: the precision they recorded and the equivalence check behind it)."""
    used = sorted(set(df.precision.dropna())) if not df.empty else []
    from .precision import outcome
    choice, why = outcome(results_dir)
    check = ("the CPU's CNN column is fp32; ResNet-18 and ViT-Tiny train in bf16, which the protocol-level check "
             f"below decides: {choice or 'not decided yet'} ({why})")
    # the check runs on the CPU only, so the paper profile's GPU bf16 has no check
    check += "; bf16 on a GPU has not been checked against fp32 here, so it stays an unverified deviation"
    prec = (f"the `{profile}` runs recorded {' and '.join(used)}" if used else f"no `{profile}` runs yet")
    seeds = "; ".join(f"{name}: " + ", ".join(f"{part.name} {len(part.seeds)}" for part in p.parts)
                      for name, p in PROFILES.items() if name != "smoke")
    rows = [
        ("numeric precision", "fp32",
         f"`precision='auto'`: bf16 autocast + channels_last on a GPU, fp32 on a CPU unless a profile "
         f"sets bf16; {check}; {prec}"),
        ("memory layout", "contiguous", "channels_last with bf16 or on a GPU (the same arithmetic, reordered)"),
        ("validation images", "carry the training augmentation",
         "clean (never augmented) and disjoint from training: the fixed 90/10 split"),
        ("pairing of baseline and MSVP", "prompt built before the backbone: at the same seed the two get different "
         "backbone weights and data order", "backbone built first, prompt on a forked random stream: same weights, "
         "batches, augmentation and dropout at the same seed (tested bit for bit)"),
        ("seeds", "one (42)", f"paired seeds per part: {seeds}"),
        ("test checkpoint", "last epoch", "last epoch (the headline) and the best-validation checkpoint beside it"),
        ("data loading and augmentation", "torchvision transforms on PIL images in DataLoader workers",
         "the whole split as one uint8 tensor; crop, rotation and flip applied to a batch at once "
         "(one resampling, nearest neighbour, zero fill)"),
        ("CPU threads", "–", "1 per run in the cpu profile, recorded; runs with other thread counts are never paired"),
        ("CIFAR-10 copy", "torchvision download", "the offline copy where there is no internet (49,914 + 9,975 "
         "images), labelled on every page; torchvision's complete set otherwise"),
    ]
    return pd.DataFrame(rows, columns=["what", "official code", "this package"])


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


# ---------------------------------------------------------------------------------------------
# chapters 9-11

def params_overhead_table(params: pd.DataFrame) -> pd.DataFrame:
    main = params[(params.fusion == "add") & (params.scales == "full")]
    return pd.DataFrame({
        "backbone": [report.backbone_title(b) for b in main.backbone],
        "input (C×H×W)": [i.replace("x", "×") for i in main["input"]],
        "backbone params": main.backbone_params.astype(int).tolist(),
        "MSVP params (measured)": main.prompt_params.astype(int).tolist(),
        "analytic 81·C": main.analytic.astype(int).tolist(),
        "overhead (%)": [f"{x:.4f}" for x in main.overhead_pct],
        "below 0.02 %": main["below_0.02pct"].astype(bool).tolist()})


def params_grid_table(params: pd.DataFrame) -> pd.DataFrame:
    """Prompt parameters for every scale set × fusion (rows) and input shape (columns)."""
    rows = []
    for (scales, fusion), g in params[params.backbone == params.backbone.iloc[0]].groupby(["scales", "fusion"], sort=False):
        row = {"scales": scales, "fusion": fusion}
        for r in g.itertuples():
            row[f"params, {r.input.replace('x', '×')}"] = int(r.prompt_params)
        rows.append(row)
    return pd.DataFrame(rows)


def compute_table(compute: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "backbone": [report.backbone_title(b) for b in compute.backbone],
        "input": [i.replace("x", "×") for i in compute["input"]],
        "variant": [viz.label(v) for v in compute.variant],
        "FLOPs per image": compute.flops.astype(int).tolist(),
        "FLOP counter overhead (%)": [f"{x:.4f}" for x in compute.flops_overhead_pct],
        "latency (ms per 32 images)": [f"{x:.2f}" if pd.notna(x) else "–" for x in compute.latency_ms],
        "latency ÷ baseline": [f"{x:.3f}" if pd.notna(x) else "–" for x in compute.latency_ratio]})


def accounting(results_dir, retrain: bool = False, profile: str = "cpu"):
    """Parameters, FLOPs and latency from results/accounting/cpu.json (measured here if absent or
    ``retrain``): (params, compute, environment)."""
    from .accounting import load_accounting, save_accounting

    path = Path(results_dir) / "accounting" / "cpu.json"
    if retrain or not path.exists():
        save_accounting(path, repeats=3 if profile == "smoke" else 7)
    return load_accounting(path)


def machine_label(env: dict) -> str:
    """'AMD EPYC CPU, 2 threads; torch 2.14.1' from a record's environment."""
    threads = env.get("threads")
    name = str(env.get("hardware", "?")).split(" (")[0]
    if env.get("device_class", "cpu") == "cpu":
        name += " CPU" + (f", {threads} thread{'s' if threads != 1 else ''}" if threads else "")
    return name + f"; torch {str(env.get('torch', '?')).split('+')[0]}"


def claim_md(claim: tuple[str, str]) -> str:
    verdict, detail = claim
    return f"**Verdict: {verdict}.** {detail[0].upper() + detail[1:] if detail else ''}."


def cells_table(p: pd.DataFrame) -> pd.DataFrame:
    """Every cell × reading of a paired table, for reading: both intervals, McNemar, Holm, verdict."""
    return paired_for_reading(p, with_dataset=True)


def show_cells(p: pd.DataFrame) -> None:
    if p.empty:
        md("No paired results yet.")
    else:
        table(cells_table(p))


def plain_claims(card: pd.DataFrame) -> str:
    """Each claim of the report card with its verdict in plain words, before the table of evidence."""
    lines = []
    for r in card.itertuples():
        claim = str(r.claim).split(" (")[0]
        words = PLAIN_CLAIMS.get(str(r.verdict), f"its verdict so far is *{r.verdict}*")
        lines.append(f"- *{claim[:1].upper()}{claim[1:]}*: {words}.")
    return "**In plain words.** The claims of the abstract, one by one:\n\n" + "\n".join(lines)


def report_card_page(profile: str, results_dir, data_root="../data", retrain: bool = False):
    """The claims of the abstract with their verdicts; returns (df, paired rows of both readings)."""
    setup_plots()
    df = ensure_results(profile, results_dir, retrain=retrain, data_root=data_root)
    params, compute, _ = accounting(results_dir, profile=profile)
    both = paired_rows(df)
    card = report.report_card(both[both.treatment == MAIN], params, compute, plan=report.planned_pairs(profile))
    md(plain_claims(card))      # the verdicts in plain words first, then the runs and the statistics
    md(status_md(profile, df, run_states(profile, results_dir)))
    table(card, bold="verdict")
    md(report.caveat_md(both, report.long_budget_line(results_dir)))
    return df, both


def repo_url() -> tuple[str, str] | None:
    """The repository named in _config.yml (the one place that names it), if this is a checkout."""
    try:
        import yaml

        repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
        return repo["url"].rstrip("/"), repo.get("branch") or "main"
    except (OSError, KeyError, TypeError, ImportError):
        return None


def code_link(obj) -> str:
    """A Markdown link to the lines of a function on the repository (computed when the page runs)."""
    import inspect

    lines, start = inspect.getsourcelines(obj)
    path = Path(inspect.getsourcefile(obj)).resolve().relative_to(ROOT).as_posix()
    name = f"`{obj.__module__.split('.')[-1]}.{obj.__name__}`"
    repo = repo_url()
    if not repo:
        return f"{name} ({path}, line {start})"
    url, branch = repo
    return f"[{name}]({url}/blob/{branch}/{path}#L{start}-L{start + len(lines) - 1})"


def rules_table() -> pd.DataFrame:
    """Each statistical rule with the function that applies it (linked)."""
    from . import stats

    return pd.DataFrame([
        ("pairing", "runs are paired only with the same training code, device class, threads, precision "
         "and test set", stats.check_pair),
        ("t-interval", "mean of the per-seed differences ± t quantile × standard error, seeds only", stats.t_estimate),
        ("seed × image interval", "adds the shared test-image noise (a bootstrap over test images) to the "
         "seed noise; the verdict's interval where per-image records exist", stats.seed_image_estimate),
        ("McNemar per seed", "exact test on the images exactly one model gets right; a diagnostic", stats.mcnemar_p),
        ("convergence caveat", f"baseline validation accuracy rose > {CONVERGENCE_TOL_PP:g} pp over its last two "
         "epochs: a caveat beside the verdict, with that rise and the last learning rate", stats.converged),
        ("Holm families", "one per comparison (treatment − control) over every cell where it ran, on every page",
         stats.comparison_family),
        ("Holm", "step-down correction within a family", stats.holm),
        ("detectable gain", f"smallest gain the cell's test finds with {100 * stats.POWER:.0f} % power (noncentral t)",
         stats.Estimate.detectable),
        ("verdict", f"improves/hurts if Holm p < {1 - LEVEL:.2f}; equivalent if Holm-corrected TOST within "
         f"±{MARGIN_PP:g} pp; else inconclusive", stats.cell_verdict),
        ("pooled gain", "fixed effect (cells weighted equally) decides; random effects shown beside",
         stats.fixed_effect),
        ("claims across cells", "a pooled effect or a contrast with its own interval", stats.contrast_verdict),
    ], columns=["rule", "in one line", "code"]).assign(code=lambda d: [code_link(f) for f in d.code])


def profile_runs_table(results_dir) -> pd.DataFrame:
    """Per profile: runs planned and done, wall time per run (recorded), the time the runs still to
    train would take one after another, hardware. Like `grid --plan`, a run left is costed at the
    median of its own cell's finished runs (the profile's median where its cell has none yet)."""
    rows = []
    for name in PROFILES:
        df = load(name, results_dir)
        states = run_states(name, results_dir)
        todo = states[states.state.isin(["missing", "stale"])]   # not diverged ones
        row = {"profile": name, "planned runs": len(states), "done": len(df),
               "diverged": len(df.attrs.get("diverged", []))}
        if df.empty:
            row.update({"time per run (median)": "–", "compute time of finished runs": "–",
                        "time left, one worker": "–", "hardware": "not run yet"})
        else:
            w = df.wall_time_s.astype(float)
            cell = w.groupby([df.dataset, df.backbone]).median()
            left = sum(cell.get((r.dataset, r.backbone), w.median()) for r in todo.itertuples())
            # divide "time left" by the workers you run
            row.update({"time per run (median)": duration(w.median()),
                        "compute time of finished runs": duration(w.sum()),
                        "time left, one worker": duration(left), "hardware": report.hardware_label(df)})
        rows.append(row)
    return pd.DataFrame(rows)


def verify_table(path) -> tuple[pd.DataFrame, str]:
    """The `make verify` report (re-trained runs compared with the committed ones), for readers."""
    from .verify import load_report, seed_spread_pp, still_current

    df, head = load_report(path)
    if df.empty:
        return df, f"not run yet: `make verify` writes {Path(path).name} into results/verify/"
    profile, root = head.get("profile", "cpu"), Path(path).parent.parent   # results/verify/x.json
    recs = current_records(profile, root)[0]   # read once: both columns below compare against them
    current = still_current(df, profile, root, recs)
    # the spread of the seeds committed now, not of those there were when verify ran
    spread = [seed_spread_pp(profile, root, {"variant": r.variant, "config": {"dataset": r.dataset,
                                                                               "backbone": r.backbone}}, recs)
              for r in df.itertuples()]
    out = pd.DataFrame({
        "run": [f"{cell_name(r.dataset, r.backbone)} · {viz.label(r.variant)} · seed {r.seed}" for r in df.itertuples()],
        "outcome": [o if ok else f"{o} (the committed run has since been replaced: run `make verify` again)"
                    for o, ok in zip(df.outcome, current)],
        "committed (%)": [f"{x:.2f}" for x in df.committed_acc_pct],
        "re-trained (%)": [f"{x:.2f}" for x in df.fresh_acc_pct],
        "Δ (pp)": [pp(x) for x in df.diff_pp],
        "seed spread now (pp)": [f"{x:.2f}" if x is not None else "–" for x in spread],
        "time": [duration(x) for x in df.wall_time_s]})
    same = df[df.same_provenance.astype(bool)]
    k, n = int(same.bit_identical.astype(bool).sum()), len(same)
    alike = f"all {n}" if n == len(df) else f"{n} of them"
    which = ("it" if n == 1 else f"all {k}") if k == n else f"{k} of these {n}"
    summary = (f"{plural(len(df), 'run')} re-trained on {', '.join(sorted(set(df.fresh_hardware.astype(str))))}; "
               f"{alike} had the committed run's training code, hardware and thread count, and {which} came out "
               f"bit-identical (history and every test prediction)")
    if not all(current):
        summary += f"; {len(df) - sum(current)} of the re-trained runs are no longer the committed ones"
    return out, f"profile `{head.get('profile')}`, run on {head.get('date')}: {summary}"


# ---------------------------------------------------------------------------------------------
# chapter summaries: the "Key results" section that closes a page, computed like the rest of it

def concept_key_results() -> None:
    """Chapter 1: what the prompt costs per input type and fusion, counted on the module, and what the
    1 × 1 map becomes after upsampling (measured)."""
    import torch

    from .prompting import FUSIONS, MultiScalePrompt

    counts = {c: {f: sum(p.numel() for p in MultiScalePrompt(c, scales="full", fusion=f).parameters())
                  for f in FUSIONS} for c in (1, 3)}
    demo = MultiScalePrompt(1, scales="full")
    with torch.no_grad():
        for p in demo.prompts.values():
            p.normal_()
        flat = demo.prompt_maps((28, 28))[0]
        spread = float(flat.max() - flat.min())
    key_results([
        "MSVP learns three maps of 1 × 1, 4 × 4 and 8 × 8 values per channel, upsamples them to the image size and "
        "adds their mean to every image (add fusion, the official default).",
        "Parameters of the full prompt, grey / colour images: " + "; ".join(
            f"{f} {counts[1][f]} / {counts[3][f]}" for f in FUSIONS) + ".",
        f"The upsampled 1 × 1 map is one constant over the whole image (its pixels differ by {spread:.0e} at most, "
        f"float rounding): a brightness shift per channel.",
    ])


def backbones_key_results(profile: str, results_dir, df: pd.DataFrame) -> None:
    """Chapter 8: per backbone, the runs trained of those planned, MSVP add's paired differences over its
    data sets, and the mean time a run took."""
    states = run_states(profile, results_dir)
    p = paired_rows(df)
    lines = []
    for b in [x for x in BACKBONE_ORDER if x in set(states.backbone) | set(df.backbone)]:
        s, runs = states[states.backbone == b], df[df.backbone == b]
        line = f"{report.backbone_title(b)}: {int((s.state == 'done').sum())} of {len(s)} planned runs trained"
        main = p[(p.backbone == b) & (p.treatment == MAIN)]
        if len(main):
            line += (f"; MSVP add − baseline from {pp(main.diff_pp.min())} to {pp(main.diff_pp.max())} pp over "
                     f"{plural(len(main), 'data set')} ({_join(sorted(set(main.verdict.astype(str))))})")
        if len(runs):
            line += f"; {duration(runs.wall_time_s.mean())} per run on {report.hardware_label(runs)}"
        lines.append(line + ".")
    key_results(lines)


def accounting_key_results(params: pd.DataFrame, compute: pd.DataFrame) -> None:
    """Chapter 9: the parameter overhead's range and the compute claim, in plain words."""
    main = params[(params.fusion == "add") & (params.scales == "full")]
    lat = compute[compute.variant == MAIN].latency_ratio.dropna()
    key_results([
        f"Every measured prompt count equals its formula ({int(params.match.sum())} of {len(params)} combinations).",
        f"MSVP add/full costs {main.overhead_pct.min():.4f} % to {main.overhead_pct.max():.4f} % of a backbone's "
        f"parameters; the claim *fewer than 0.02 %*: {PLAIN_CLAIMS.get(report.claim_params(params)[0], '–')}.",
        f"The claim *negligible compute*: {PLAIN_CLAIMS.get(report.claim_compute(compute)[0], '–')}"
        + (f"; measured forward latency with MSVP is {lat.min():.2f}× to {lat.max():.2f}× the baseline's."
           if len(lat) else "."),
    ])


def card_key_results(paired: pd.DataFrame, results_dir, profile: str = "cpu") -> None:
    """Chapter 10: how many claims the runs back, contradict or cannot decide yet."""
    params, compute, _ = accounting(results_dir, profile=profile)
    card = report.report_card(paired[paired.treatment == MAIN] if len(paired) else paired, params, compute,
                              plan=report.planned_pairs(profile))
    groups: dict[str, list[str]] = {}
    for r in card.itertuples():
        groups.setdefault(PLAIN_CLAIMS.get(str(r.verdict), f"verdict *{r.verdict}*"), []).append(
            f"*{str(r.claim).split(' (')[0]}*")
    key_results([f"{_capital(_join(names))}: {words}." for words, names in groups.items()]
                + ["Every verdict is computed from the result files when the page runs; the rules above decide it, "
                   "and chapters 3–9 show the evidence."])


def reproduce_key_results(results_dir, profile: str) -> None:
    """Chapter 11: per profile, runs done of planned and the time the rest would take; the verify outcome."""
    t = profile_runs_table(results_dir)
    lines = [f"`{r['profile']}`: {r['done']:,} of {r['planned runs']:,} planned runs done"
             + (f"; the rest would take {r['time left, one worker']} on one worker"
                if r["time left, one worker"] not in ("–", "0 s") else "") + "."
             for r in t.to_dict("records") if r["planned runs"]]
    _, when = verify_table(Path(results_dir) / "verify" / f"{profile}.json")
    key_results(lines + [f"`make verify` ({profile}): {when}."])


def controls_key_results(answers) -> None:
    """Chapter 12: the answer per cell (``msvp.controls.answers``)."""
    key_results([f"{cell_name(a.dataset, a.backbone)}: {a.verdict}." for a in answers]
                or ["No cell has control results yet, so the question has no answer yet."])


def protocol_key_results() -> None:
    """The protocol page: the backbones' sizes, how many settings differ from the official code, and the
    runs each profile plans."""
    sizes = backbone_table().set_index("backbone")
    cfg = config_table()
    runs = {name: len(p.configs()) for name, p in PROFILES.items()}   # a run in two parts counts once
    key_results([
        "Trainable parameters, grey / colour input: " + "; ".join(
            f"{b} {int(r['params, 1×28×28']):,} / {int(r['params, 3×32×32']):,}" for b, r in sizes.iterrows()) + ".",
        f"{int((cfg['why ours differs'] != '–').sum())} of the {len(cfg)} settings of a run differ from the official "
        f"code or do not exist there; the table above says why for each.",
        "Runs per profile: " + "; ".join(f"`{k}` {int(v):,}" for k, v in runs.items()) + ".",
    ])
