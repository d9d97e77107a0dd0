"""Matched-parameter controls (beyond the paper): is MSVP's gain due to its multi-scale structure,
or would any small input bias do?

The arms compared, all paired by seed with the baseline (same backbone initialisation, batch order
and augmentation stream):

- MSVP add/full, the reference: 1×1 + 4×4 + 8×8 maps, upsampled, averaged and added (81 / 243
  trainable parameters at 1×28×28 / 3×32×32);
- the pad prompt: a learned frame of width 1 added at the image border (108 / 372);
- the full-resolution prompt: one learned C×H×W map added to the image (784 / 3,072);
- the global-only prompt: MSVP's coarsest map alone, one constant per channel (1 / 3);
- the frozen random prompt: MSVP add/full kept at its random initial values (0 trainable).

The chapter makes, in every cell that ran a control, each arm − baseline, each arm − MSVP
add/full, and MSVP add/full − baseline. Each comparison is corrected in its own Holm family over
every cell of the profile where it ran (``msvp.stats.comparison_family``, the book's one rule), so
MSVP add/full − baseline reads here as on the report card; verdicts follow the per-cell rules of
:mod:`msvp.stats`, with the cell's convergence caveat (from its baseline) printed beside them.
Everything here reads result records (``view.View``); nothing trains.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from msvp.datasets import DATASETS
from msvp.experiments import VARIANTS, get_profile
from msvp.models import build_model, count_params
from msvp.stats import MARGIN_PP, NOT_ENOUGH_PAIRS, PAIRED_COLUMNS, comparison_family, fmt_pct, fmt_pp, paired_cells, signed
from msvp.verdicts import still_improving

from .chapter import Page, figure, key_results, md, table
from .figures import plot_gain_vs_params
from .names import BACKBONE_TITLES, cell_key, cell_name, short
from .words import caveat_detail, hardware_label, markdown_table, training_label, verdict_label

BASE = "baseline"
REFERENCE = "msvp-add-full"
ARMS = ("control-pad", "control-fullres", "control-frozen", "msvp-add-global")
UNSTRUCTURED = ("control-pad", "control-fullres", "msvp-add-global")
"""Learned input biases without MSVP's multi-scale structure: if one of them does as well as MSVP,
the structure is not what helps. The frozen prompt keeps the structure and drops the learning."""
CHAPTER_VARIANTS = (BASE, REFERENCE) + ARMS
PROMPT_VARIANTS = tuple(v for v in VARIANTS if v != BASE)
"""Every prompt variant of the book, in registry order (MSVP scales × fusions, then controls)."""

STRUCTURE = {
    "msvp-add-full": "1×1, 4×4 and 8×8 maps, upsampled bilinearly, averaged, added",
    "control-pad": "one learned frame, 1 px wide, added at the border; zero inside",
    "control-fullres": "one learned C×H×W map added to the image",
    "msvp-add-global": "MSVP's 1×1 map alone: one learned constant per channel",
    "control-frozen": "MSVP add/full at its random initial values, never trained",
}
SHAPES = {"1×28×28": "mnist", "3×32×32": "cifar10"}

# answers to the chapter's question, per (data set, backbone) cell
NOT_RUN = "not run yet"
NOT_ENOUGH = NOT_ENOUGH_PAIRS
NO_GAIN = "no MSVP gain to explain"
ANY_BIAS = "no: an unstructured prompt does as well"
STRUCTURE_MATTERS = "yes: every unstructured prompt falls short"
INCONCLUSIVE = "inconclusive"

# ---------------------------------------------------------------------------------------------
# which runs the chapter needs

def planned_cells(profile: str) -> tuple:
    part = get_profile(profile).part("controls")
    return tuple(part.cells) if part else ()


def chapter_cells(df: pd.DataFrame, profile: str | None = None) -> list[tuple[str, str]]:
    """Cells the chapter discusses: those the profile runs controls in, then any other cell whose
    results hold a control arm; in the profile's order, then sorted."""
    cells = list(planned_cells(profile)) if profile else []
    have = sorted({(d, b) for d, b, v in zip(df.dataset, df.backbone, df.variant) if v in ARMS}, key=cell_key)
    return cells + [c for c in have if c not in cells]


def plan_line(profile: str) -> str:
    """One sentence: where and with how many seeds the profile runs the controls."""
    part = get_profile(profile).part("controls")
    if part is None:
        return f"The {profile!r} profile runs no controls (the 'cpu' profile does)."
    cells = ", ".join(cell_name(d, b) for d, b in part.cells)
    return (f"The {profile!r} profile runs the controls ({', '.join(short(v) for v in part.variants)}) on "
            f"{cells}, {len(part.seeds)} seed{'s' if len(part.seeds) != 1 else ''} each.")


def coverage(df: pd.DataFrame, profile: str) -> pd.DataFrame:
    """Per chapter cell and arm: seeds with a current result, seeds the profile plans, diverged runs
    (long format: one row per cell × arm that has results or is planned)."""
    planned: dict = {}
    for c in get_profile(profile).configs():
        planned.setdefault((c.dataset, c.backbone, c.variant), set()).add(c.seed)
    diverged: dict = {}
    for r in df.attrs.get("diverged", []):
        diverged.setdefault((r["dataset"], r["backbone"], r["variant"]), []).append(int(r["seed"]))
    rows = []
    for dataset, backbone in chapter_cells(df, profile):
        cell = df[(df.dataset == dataset) & (df.backbone == backbone)]
        for v in CHAPTER_VARIANTS:
            done = sorted(int(s) for s in cell.seed[cell.variant == v])
            plan = planned.get((dataset, backbone, v), set())
            if not done and not plan:
                continue
            div = sorted(diverged.get((dataset, backbone, v), []))
            rows.append({"cell": cell_name(dataset, backbone), "arm": short(v),
                         "seeds with results": len(done), "seeds planned": len(plan) if plan else "not planned",
                         "note": ("diverged: seed " + ", ".join(map(str, div))) if div else
                                 ("not run yet" if not done else "")})
    return pd.DataFrame(rows, columns=["cell", "arm", "seeds with results", "seeds planned", "note"])


def coverage_table(cov: pd.DataFrame) -> pd.DataFrame:
    """``coverage`` for reading: one row per arm, one column per cell, 'done / planned' seeds
    ('–' where the profile plans no such run)."""
    if cov.empty:
        return pd.DataFrame(columns=["arm"])
    cells = list(dict.fromkeys(cov.cell))
    arms = [short(v) for v in CHAPTER_VARIANTS if short(v) in set(cov.arm)]
    out = pd.DataFrame({"arm": arms})
    for c in cells:
        got = {r["arm"]: r for r in cov[cov.cell == c].to_dict("records")}
        col = []
        for a in arms:
            r = got.get(a)
            if r is None:
                col.append("–")
                continue
            done, planned = r["seeds with results"], r["seeds planned"]
            text = f"{done} / {planned}" if isinstance(planned, int) else f"{done} (not planned)"
            col.append(text + (f" ({r['note']})" if r["note"] else ""))
        out[f"{c}: seeds done / planned"] = col
    return out


# ---------------------------------------------------------------------------------------------
# parameter cost

def param_table(backbone: str = "cnn", variants=(REFERENCE, "control-pad", "control-fullres", "msvp-add-global",
                                                 "control-frozen")) -> pd.DataFrame:
    """Per variant and input shape: trainable parameters from the registry's formula
    (``VARIANTS[v].params(C, H, W)``), trainable and fixed (untrained) parameters of the prompt of a
    built model, and the backbone's trainable parameters. One row per variant × shape."""
    rows = []
    for v in variants:
        var = VARIANTS[v]
        for shape_name, dataset in SHAPES.items():
            c, h, w = DATASETS[dataset].shape
            m = build_model(backbone, dataset, prompt=var.prompt, fusion=var.fusion, seed=0)
            prompt_params = list(m.prompt.parameters()) if m.prompt is not None else []
            rows.append({"variant": v, "shape": shape_name, "formula": var.params(c, h, w),
                         "measured": count_params(m.prompt) if m.prompt is not None else 0,
                         "fixed": sum(p.numel() for p in prompt_params if not p.requires_grad),
                         "backbone": count_params(m.backbone)})
    return pd.DataFrame(rows)


def format_params(t: pd.DataFrame) -> pd.DataFrame:
    """``param_table`` for reading: one row per variant, the two input shapes as 'a / b'."""
    shapes = list(dict.fromkeys(t["shape"]))
    both = " / ".join(shapes)
    rows = []
    for v, g in t.groupby("variant", sort=False):
        g = g.set_index("shape").loc[shapes]
        ok = bool((g.formula == g.measured).all())
        rows.append({"prompt": short(v), "what it adds to the image": STRUCTURE.get(v, VARIANTS[v].label),
                     f"trainable parameters, {both}": " / ".join(f"{int(x):,}" for x in g.measured),
                     f"% of the {BACKBONE_TITLES['cnn']}'s": " / ".join(f"{100 * m / b:.4f}" for m, b in zip(g.measured, g.backbone)),
                     "untrained values": " / ".join(f"{int(x):,}" for x in g.fixed),
                     "formula = built model": "yes" if ok else "NO: formula " + " / ".join(f"{int(x):,}" for x in g.formula)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# what each additive prompt can express

def additive_image(prompt, shape, atol: float = 1e-6):
    """The image (1, C, H, W) a prompt adds to every input, or None when its output minus its input
    depends on the input (concat fusion). Add and gated fusion, the pad, full-resolution and frozen
    prompts all add one fixed image: the gate sees the prompts only."""
    import torch

    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, *shape, generator=g)
    with torch.no_grad():
        d = prompt(x) - x
    return d[:1].clone() if torch.allclose(d[0], d[1], atol=atol) else None


def as_fullres(prompt, shape):
    """A full-resolution prompt that adds exactly what ``prompt`` adds (None if it is not additive):
    every additive prompt's function class lies inside the full-resolution prompt's."""
    import torch

    from msvp.prompting import FullResPrompt

    image = additive_image(prompt, shape)
    if image is None:
        return None
    out = FullResPrompt(shape[0], tuple(shape[1:]))
    with torch.no_grad():
        out.map.copy_(image)
    return out


def fullres_table(backbone: str = "cnn", variants=(REFERENCE, "msvp-gated-full", "msvp-concat-full", "control-pad",
                                                    "msvp-add-global", "control-frozen"), tol: float = 1e-4):
    """Per prompt and input shape: can a full-resolution prompt reproduce it? Each prompt gets large
    random values (N(0, 1), far from its init), is replaced by ``as_fullres``, and the two models'
    logits are compared on random images."""
    import torch

    rows = []
    for v in variants:
        var = VARIANTS[v]
        row = {"prompt": short(v)}
        for shape_name, dataset in SHAPES.items():
            shape = DATASETS[dataset].shape
            m = build_model(backbone, dataset, prompt=var.prompt, fusion=var.fusion, seed=0).eval()
            g = torch.Generator().manual_seed(1)
            with torch.no_grad():
                for p in m.prompt.parameters():
                    p.normal_(generator=g)
            folded = as_fullres(m.prompt, shape)
            if folded is None:
                row[shape_name] = "no: its output mixes the image with the maps"
                continue
            x = torch.randn(4, *shape, generator=g)
            with torch.no_grad():
                gap = (m(x) - m.backbone(folded(x))).abs().max().item()
            row[shape_name] = f"yes: same logits (max difference < {tol:g})" if gap < tol else f"NO: logits differ by {gap:.2g}"
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# paired comparisons and verdicts

def control_family(df: pd.DataFrame, arms=ARMS, reference: str = REFERENCE, **kw) -> pd.DataFrame:
    """Every comparison the chapter makes, in each cell that holds an arm of ``arms``: reference −
    baseline, arm − baseline and arm − reference for every arm present (paired by seed,
    ``msvp.stats.cell_row``: seed × image interval where every run stored per-image correctness).
    ``df`` holds all of the profile's runs: each comparison is Holm-corrected over every cell where it
    ran (``msvp.stats.comparison_family``) before this chapter's cells are picked, so a comparison
    reads as on every other page. Each row carries its cell's convergence caveat (from the cell's
    baseline, also for the rows compared with the reference). Columns: ``msvp.stats.PAIRED_COLUMNS``."""
    cells = {(d, b) for d, b, v in zip(df.dataset, df.backbone, df.variant) if v in arms}
    if not cells:
        return pd.DataFrame(columns=PAIRED_COLUMNS)
    comparisons = [(reference, BASE)] + [(a, BASE) for a in arms] + [(a, reference) for a in arms]
    frames = [comparison_family(df, t, c, **kw) for t, c in comparisons]
    frames = [f[[(d, b) in cells for d, b in zip(f.dataset, f.backbone)]] for f in frames if not f.empty]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=PAIRED_COLUMNS)
    p = pd.concat(frames, ignore_index=True)
    order = {c: i for i, c in enumerate(sorted(cells, key=cell_key))}
    arm_rank = {v: i for i, v in enumerate((reference,) + tuple(arms))}
    p["_key"] = [(order[(r.dataset, r.backbone)], arm_rank.get(r.treatment, 99), r.control != BASE)
                 for r in p.itertuples()]
    return p.sort_values("_key", kind="stable").drop(columns="_key").reset_index(drop=True)


def accuracy_table(df: pd.DataFrame, profile: str | None = None) -> pd.DataFrame:
    """Per arm (rows) and chapter cell (columns): the test accuracy of the last-epoch model, mean ± SD
    over the seeds with a result (%), so that each gain the chapter discusses can be read beside the
    accuracies behind it. '–' where an arm has no result in a cell."""
    cells = chapter_cells(df, profile)
    arms = [v for v in CHAPTER_VARIANTS if v in set(df.variant)]
    out = pd.DataFrame({"arm": [short(v) for v in arms]})
    for d, b in cells:
        col = []
        for v in arms:
            acc = df[(df.dataset == d) & (df.backbone == b) & (df.variant == v)].test_acc.astype(float)
            sd = acc.std(ddof=1) if len(acc) > 1 else None
            col.append(f"{fmt_pct(acc.mean(), sd)} ({len(acc)} seed{'s' if len(acc) != 1 else ''})"
                       if len(acc) else "–")
        out[f"{cell_name(d, b)}: test accuracy (%)"] = col
    return out


def find(fam: pd.DataFrame, dataset: str, backbone: str, treatment: str, control: str = BASE):
    """The family's row for one comparison, or None."""
    if fam.empty:
        return None
    r = fam[(fam.dataset == dataset) & (fam.backbone == backbone) & (fam.treatment == treatment)
            & (fam.control == control)]
    return r.iloc[0] if len(r) else None


def short_interval(r) -> str:
    """'+0.12 [−0.05, +0.29] pp', or '+0.78 pp' without an interval."""
    return interval_text(r) if np.isfinite(r.lo_pp) else f"{signed(r.diff_pp)} pp"


def interval_text(r) -> str:
    """'+0.12 [-0.05, +0.29] pp' (or 'n = 1, no interval')."""
    return fmt_pp(r.diff_pp, r.lo_pp, r.hi_pp)


def judged_text(r, margin_pp: float = MARGIN_PP) -> str:
    """'+0.12 [−0.05, +0.29] pp (inconclusive)', or '+0.78 pp (not enough pairs yet: 1 seed pair)':
    the verdict's wording from ``verdict_label``, its brackets flattened to fit inside ours."""
    if not np.isfinite(r.lo_pp):
        return f"{signed(r.diff_pp)} pp ({NOT_ENOUGH_PAIRS}: {r.n_pairs} seed pair{'s' if r.n_pairs != 1 else ''})"
    v = verdict_label(r, margin_pp).replace(" (", " ").replace(")", "")
    return f"{interval_text(r)} ({v})"


def format_family(fam: pd.DataFrame) -> pd.DataFrame:
    """The comparisons for reading: cell, comparison, seed pairs, Δ with its 95 % interval, which
    interval, Holm-adjusted p with the size of its family (the comparison's cells), verdict. No NaN."""
    cols = ["cell", "comparison", "seed pairs", "Δ test accuracy [95 % interval]", "interval", "p (Holm)", "verdict"]
    rows = []
    for r in fam.itertuples():
        interval = r.interval if r.n_pairs > 1 else "no interval with 1 pair"
        m = int(r.holm_m)
        holm = f"{r.p_holm:.3g} (over {m} cell{'s' if m != 1 else ''})" if np.isfinite(r.p_holm) else "–"
        rows.append([cell_name(r.dataset, r.backbone), f"{short(r.treatment)} − {short(r.control)}", int(r.n_pairs),
                     interval_text(r), interval, holm, verdict_label(r)])
    return pd.DataFrame(rows, columns=cols)


def family_markdown(fam: pd.DataFrame) -> str:
    """The comparisons as Markdown: one short table per cell (comparison, seed pairs, Δ with its 95 %
    interval, Holm-adjusted p, verdict), under a line naming the cell and the kind of interval, after
    one line on the families (the book's rule: each comparison over the cells where it ran)."""
    if fam.empty:
        return "No paired control runs yet: nothing to compare."
    shown = format_family(fam)
    untested = int((fam.n_pairs < 2).sum())
    parts = ["Each comparison is Holm-corrected over every cell of the profile where it ran (the book's one "
             "rule, [chapter 10](10_report_card.ipynb)); the p column names that family's size."
             + (f" {untested} with fewer than 2 seed pairs {'is' if untested == 1 else 'are'} shown but not tested."
                if untested else "")]
    for cell, g in shown.groupby("cell", sort=False):
        kinds = sorted(set(g.interval))
        note = f"intervals: {kinds[0]}" if len(kinds) == 1 else "intervals: " + "; ".join(kinds)
        table = g.drop(columns=["cell", "interval"]) if len(kinds) == 1 else g.drop(columns=["cell"])
        parts.append(f"**{cell}** ({note})\n\n" + markdown_table(table))
    return "\n\n".join(parts)


# ---------------------------------------------------------------------------------------------
# the answer, cell by cell

@dataclass(frozen=True)
class Answer:
    dataset: str
    backbone: str
    verdict: str      # one of NOT_RUN, NOT_ENOUGH, NO_GAIN, ANY_BIAS, STRUCTURE_MATTERS, INCONCLUSIVE
    text: str         # Markdown


AGAINST_REFERENCE = {"hurts": "falls short of MSVP", "improves": "beats MSVP",
                     "equivalent": f"matches MSVP within ±{MARGIN_PP:g} pp",
                     "inconclusive": "cannot be told apart from MSVP (Holm-adjusted)"}


def _setting(df: pd.DataFrame, dataset: str, backbone: str) -> str:
    cell = df[(df.dataset == dataset) & (df.backbone == backbone)]
    n = sorted({int(x) for x in cell.n_train.dropna()})
    images = " or ".join(f"{x:,}" for x in n) + " training images" if n else "no runs yet"
    return f"{BACKBONE_TITLES.get(backbone, backbone)}, {images}"


def _params(variant: str, dataset: str) -> str:
    n = VARIANTS[variant].params(*DATASETS[dataset].shape)
    return f"{n:,} trainable parameter{'' if n == 1 else 's'}"


def against_reference(ref_row) -> str:
    """'falls short of MSVP', 'matches MSVP within ±0.5 pp', ... for an arm − MSVP row."""
    if ref_row.n_pairs < 2:
        return f"cannot be compared with MSVP yet ({NOT_ENOUGH_PAIRS})"
    return AGAINST_REFERENCE.get(ref_row.verdict, ref_row.verdict)


def _open_reason(base_row, ref_row) -> str:
    """Why one unstructured prompt settles neither answer."""
    if ref_row.verdict in ("equivalent", "improves"):
        return f"{against_reference(ref_row)} but its own gain over the baseline is {base_row.verdict}"
    return against_reference(ref_row)


def _seed_pairs(df: pd.DataFrame, dataset: str, backbone: str, variant: str) -> int:
    """How many seeds both ``variant`` and the baseline have finished in one cell."""
    cell = df[(df.dataset == dataset) & (df.backbone == backbone)] if not df.empty else df
    seeds = lambda v: set(cell.loc[cell.variant == v, "seed"]) if not cell.empty else set()  # noqa: E731
    return len(seeds(variant) & seeds(BASE))


def _not_run(df: pd.DataFrame, ref, arms, title: str, dataset: str, backbone: str, missing) -> Answer:
    """The answer of a cell without paired runs of MSVP add/full and of a control: what is missing."""
    # the family holds only cells with a control, so count MSVP's pairs from the runs themselves
    n_ref = ref.n_pairs if ref is not None else _seed_pairs(df, dataset, backbone, REFERENCE)
    msvp = (f"MSVP add/full has {n_ref} seed pair{'s' if n_ref != 1 else ''} with the baseline"
            if n_ref else "MSVP add/full has no seed pair with the baseline yet")
    ctrl = ("no control has a seed pair with the baseline yet" if not arms
            else "the controls' comparisons with MSVP are missing")
    left = f" {missing[0]} of the {missing[1]} runs planned for this cell have no result yet." if missing[0] else ""
    return Answer(dataset, backbone, NOT_RUN, f"{title}: not run yet — {msvp}; {ctrl}.{left}")


def _evidence(fam: pd.DataFrame, dataset: str, backbone: str, ref, arms, margin_pp: float) -> tuple[list, dict]:
    """One line per control arm: its gain over the baseline and its difference from MSVP, with the
    verdicts; and {arm: (arm − baseline row, arm − MSVP row)} for the arms paired with MSVP."""
    lines, vs_ref = [], {}
    for a in arms:
        base_row, ref_row = find(fam, dataset, backbone, a), find(fam, dataset, backbone, a, REFERENCE)
        text = (f"- The {short(a)}'s gain is {judged_text(base_row, margin_pp)} vs MSVP's {short_interval(ref)}, "
                f"with {_params(a, dataset)}")
        if ref_row is not None:
            vs_ref[a] = (base_row, ref_row)
            seeds = f"{ref_row.n_pairs} seed{'s' if ref_row.n_pairs != 1 else ''}"
            text += (f"; paired on the same {seeds}, {short(a)} − MSVP = "
                     f"{short_interval(ref_row)}: it {against_reference(ref_row)}.")
        else:
            text += "."
        lines.append(text)
    return lines, vs_ref


def _answer(ref, vs_ref: dict) -> tuple[str, str]:
    """(verdict, answer) of a cell by the rule of ``cell_answer``."""
    if ref.n_pairs < 2:
        return NOT_ENOUGH, (f"{NOT_ENOUGH} — MSVP add/full has {ref.n_pairs} seed pair with the baseline, so no "
                            "interval and no verdict for it, and nothing yet for a control to be measured against.")
    if ref.verdict in ("equivalent", "hurts"):
        return NO_GAIN, (f"MSVP add/full itself {'hurts' if ref.verdict == 'hurts' else 'is equivalent to the baseline'} "
                         "here, so there is no gain for its structure to explain.")
    learned = [a for a in UNSTRUCTURED if a in vs_ref]
    matched = [a for a in learned if vs_ref[a][1].verdict in ("equivalent", "improves")
               and vs_ref[a][0].verdict == "improves"]
    if ref.verdict == "improves" and matched:
        one = len(matched) == 1
        return ANY_BIAS, (f"no — the {' and the '.join(short(a) for a in matched)} "
                          f"{'improves' if one else 'improve'} on the baseline and {'does' if one else 'do'} as well "
                          "as MSVP, without the multi-scale structure.")
    if ref.verdict == "improves" and learned and all(vs_ref[a][1].verdict == "hurts" for a in learned):
        return STRUCTURE_MATTERS, ("yes, on this evidence — every learned prompt without the multi-scale structure "
                                   f"({', '.join(short(a) for a in learned)}) falls short of MSVP.")
    if ref.verdict != "improves":
        why = "MSVP's own gain over the baseline is not established"
    elif not learned:
        why = "no unstructured prompt was paired with MSVP"
    else:
        why = "; ".join(f"the {short(a)} {_open_reason(*vs_ref[a])}" for a in learned)
    return INCONCLUSIVE, f"inconclusive — {why}. More seeds would narrow the intervals."


def cell_answer(df: pd.DataFrame, fam: pd.DataFrame, dataset: str, backbone: str,
                margin_pp: float = MARGIN_PP, missing: tuple[int, int] = (0, 0)) -> Answer:
    """Rule, per cell. 'not run yet' without paired runs of MSVP add/full and of a control; 'not enough
    pairs yet' while MSVP add/full − baseline has fewer than 2 seed pairs;
    'no MSVP gain to explain' if MSVP add/full − baseline is 'equivalent' or 'hurts'; when MSVP
    'improves': 'no: an unstructured prompt does as well' if a learned prompt without the multi-scale
    structure (pad, full-resolution, global-only) improves on the baseline AND matches or beats MSVP
    (arm − MSVP 'equivalent' or 'improves'), 'yes: every unstructured prompt falls short' if each of
    them that ran 'hurts' against MSVP; 'inconclusive' otherwise (also when MSVP's own gain is
    inconclusive). A baseline still improving at the end of its schedule adds a caveat to the answer
    and blocks nothing: the answer is the one at the profile's protocol."""
    title = f"**On {DATASETS[dataset].title}** ({_setting(df, dataset, backbone)})"
    ref = find(fam, dataset, backbone, REFERENCE)
    arms = [a for a in ARMS if find(fam, dataset, backbone, a) is not None]
    if ref is None or not arms:
        return _not_run(df, ref, arms, title, dataset, backbone, missing)
    pairs = f"{ref.n_pairs} seed pair{'s' if ref.n_pairs != 1 else ''}"
    lines, vs_ref = _evidence(fam, dataset, backbone, ref, arms, margin_pp)
    verdict, answer = _answer(ref, vs_ref)
    if missing[0]:
        answer += f" ({missing[0]} of the {missing[1]} runs planned for this cell have no result yet.)"
    first = (f"{title}: MSVP add/full ({_params(REFERENCE, dataset)}) changes test accuracy by "
             f"{judged_text(ref, margin_pp)} against the baseline, over {pairs}.")
    # the answer first, then the evidence it rests on
    return Answer(dataset, backbone, verdict, "\n".join([first] + _answer_lines(answer, ref, vs_ref) + lines))


LEARNING = {"hurts": "learning the maps matters", "equivalent": "learning the maps adds nothing measurable",
            "improves": "the random maps beat the learned ones"}


def _answer_lines(answer: str, ref, vs_ref: dict) -> list[str]:
    """The answer, the cell's convergence caveat, and what the frozen prompt says about learning."""
    head = [f"- **Answer: {answer}**"]
    if still_improving(ref):
        head.append(f"- Caveat, not a block: the baseline was {caveat_detail(ref)}; the answer is the one at "
                    "the profile's protocol, and a longer budget could change it.")
    if "control-frozen" in vs_ref:
        fr = vs_ref["control-frozen"][1]
        learn = LEARNING.get(fr.verdict, "whether learning matters is open")
        head.append(f"- Same structure, no learning: frozen random prompt − MSVP = {short_interval(fr)}; it "
                    f"{against_reference(fr)}, so {learn}.")
    return head


def answers(df: pd.DataFrame, fam: pd.DataFrame, profile: str | None = None) -> list[Answer]:
    """``cell_answer`` for every chapter cell (planned by the profile, or holding a control)."""
    cov = coverage(df, profile) if profile else None
    out = []
    for d, b in chapter_cells(df, profile):
        missing = (0, 0)
        if cov is not None and not cov.empty:
            c = cov[(cov.cell == cell_name(d, b)) & cov["seeds planned"].map(lambda x: isinstance(x, int))]
            planned = int(c["seeds planned"].sum())
            missing = (planned - int(c["seeds with results"].clip(upper=c["seeds planned"]).sum()), planned)
        out.append(cell_answer(df, fam, d, b, missing=missing))
    return out


def answers_markdown(items: list[Answer], profile: str | None = None) -> str:
    if not items:
        return (f"No cell of the {profile!r} profile runs the controls, and no control results were found: "
                "nothing to answer yet. The `cpu` profile runs them (CNN on Fashion-MNIST and CIFAR-10, "
                "3 paired seeds)." if profile else "No control results were found: nothing to answer yet.")
    return "\n\n".join(a.text for a in items)


# ---------------------------------------------------------------------------------------------
# gain against parameter cost, for every prompt variant

def gain_table(df: pd.DataFrame, variants=PROMPT_VARIANTS, **kw) -> pd.DataFrame:
    """Every prompt variant − baseline in every cell that has both (unadjusted 95 % intervals, seed ×
    image where per-image records exist), with the trainable parameters the variant adds: measured on
    the trained model (``params_prompt`` of its records), and the registry's formula."""
    frames = [paired_cells(df, v, BASE, **kw) for v in variants if v in set(df.variant)]
    frames = [f for f in frames if not f.empty]
    cols = ["dataset", "backbone", "treatment", "n_pairs", "diff_pp", "lo_pp", "hi_pp", "params", "params_formula",
            "n_train"]
    if not frames:
        return pd.DataFrame(columns=cols)
    p = pd.concat(frames, ignore_index=True)
    measured, formula, n_train = [], [], []
    for r in p.itertuples():
        rows = df[(df.dataset == r.dataset) & (df.backbone == r.backbone) & (df.variant == r.treatment)]
        f = VARIANTS[r.treatment].params(*DATASETS[r.dataset].shape)
        m = rows.params_prompt.dropna()
        measured.append(int(m.iloc[0]) if len(m) else f)
        formula.append(f)
        n_train.append(int(rows.n_train.iloc[0]))
    p["params"], p["params_formula"], p["n_train"] = measured, formula, n_train
    return p[cols]


def provenance(df: pd.DataFrame, profile: str) -> list[str]:
    """Short lines: profile, hardware and data copies of the runs loaded."""
    out = [f"profile: {profile} — {get_profile(profile).description}"]
    out.append(f"hardware: {hardware_label(df)}")
    labels = [training_label(df, d) for d in sorted(set(df.dataset))]  # images actually trained on
    out.append("data: " + ("; ".join(labels) or "no runs loaded"))
    return out


def grid_only(profile: str) -> dict | None:
    """The ``only`` selection of ``msvp.grid.run_grid`` that trains this chapter's runs (None: the
    profile plans no controls)."""
    cells = planned_cells(profile)
    if not cells:
        return None
    known = {c.variant for c in get_profile(profile).configs()}
    return {"dataset": {d for d, _ in cells}, "backbone": {b for _, b in cells},
            "variant": {v for v in CHAPTER_VARIANTS if v in known}}


def needed_line(profile: str, results_dir, states: pd.DataFrame) -> str:
    """How many of the runs this chapter's comparisons use have a current result."""
    cells = set(planned_cells(profile))
    if not cells:
        return (f"The {profile!r} profile plans no control runs (the 'cpu' profile runs them); "
                "this page shows whatever results exist.")
    mine = states[[(d, b) in cells and v in CHAPTER_VARIANTS
                   for d, b, v in zip(states.dataset, states.backbone, states.variant)]]
    missing = int(mine.state.isin(["missing", "stale"]).sum())
    if not missing:
        return f"All {len(mine)} runs this chapter needs have results."
    return (f"{missing} of the {len(mine)} runs this chapter needs have no current result in "
            f"{results_dir}; the page shows what exists. To train them, set RETRAIN = True or run "
            f"`python -m msvp grid --profile {profile}` (it skips finished runs).")


class ControlsChapter(Page):
    """Chapter 12: the matched-parameter controls, from the profile's runs."""

    def setting(self) -> None:
        from msvp.results import skipped_line

        lines = [needed_line(self.profile, self.results_dir, self.states), *provenance(self.df, self.profile),
                 skipped_line(self.df)]
        md("\n\n".join(line for line in lines if line))

    def runs(self) -> None:
        md(plan_line(self.profile))
        cov = coverage(self.df, self.profile)
        if not cov.empty:
            table(coverage_table(cov))

    @functools.cached_property
    def family(self) -> pd.DataFrame:
        return control_family(self.df)

    @functools.cached_property
    def answers(self) -> list[Answer]:
        return answers(self.df, self.family, self.profile)

    def comparisons(self) -> None:
        md(family_markdown(self.family))

    def gains(self) -> None:
        fig = plot_gain_vs_params(gain_table(self.df), self.df)
        if fig is None:
            md("No prompt variant has paired results yet: nothing to plot.")
        else:
            figure(fig)

    def answer(self) -> None:
        md(answers_markdown(self.answers, self.profile))

    def key_results(self) -> None:
        """The answer per cell."""
        key_results([f"{cell_name(a.dataset, a.backbone)}: {a.verdict}." for a in self.answers]
                    or ["No cell has control results yet, so the question has no answer yet."])
