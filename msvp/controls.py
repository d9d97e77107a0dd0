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
Everything here reads result records; nothing trains unless asked (``ensure_results``).
"""
from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import report, viz
from .datasets import DATASETS
from .experiments import VARIANTS, get_profile
from .grid import plan_runs, run_grid
from .models import build_model, count_params
from .results import load
from .stats import (
    MARGIN_PP,
    PAIRED_COLUMNS,
    comparison_family,
    fmt_pp,
    paired_cells,
    signed,
)

BASE = "baseline"
REFERENCE = "msvp-add-full"
ARMS = ("control-pad", "control-fullres", "control-frozen", "msvp-add-global")
UNSTRUCTURED = ("control-pad", "control-fullres", "msvp-add-global")
"""Learned input biases without MSVP's multi-scale structure: if one of them does as well as MSVP,
the structure is not what helps. The frozen prompt keeps the structure and drops the learning."""
CHAPTER_VARIANTS = (BASE, REFERENCE) + ARMS
PROMPT_VARIANTS = tuple(v for v in VARIANTS if v != BASE)
"""Every prompt variant of the book, in registry order (MSVP scales × fusions, then controls)."""

SHORT = {"msvp-add-full": "MSVP add/full", "control-pad": "pad prompt", "control-fullres": "full-resolution prompt",
         "control-frozen": "frozen random prompt", "msvp-add-global": "global-only prompt"}
STRUCTURE = {
    "msvp-add-full": "1×1, 4×4 and 8×8 maps, upsampled bilinearly, averaged, added",
    "control-pad": "one learned frame, 1 px wide, added at the border; zero inside",
    "control-fullres": "one learned C×H×W map added to the image",
    "msvp-add-global": "MSVP's 1×1 map alone: one learned constant per channel",
    "control-frozen": "MSVP add/full at its random initial values, never trained",
}
BACKBONE_TITLES = {"cnn": "CNN", "resnet18": "ResNet-18", "vit": "ViT-Tiny"}
SHAPES = {"1×28×28": "mnist", "3×32×32": "cifar10"}

# answers to the chapter's question, per (data set, backbone) cell
NOT_RUN = "not run yet"
NOT_ENOUGH = report.SINGLE_PAIR
NO_GAIN = "no MSVP gain to explain"
ANY_BIAS = "no: an unstructured prompt does as well"
STRUCTURE_MATTERS = "yes: every unstructured prompt falls short"
INCONCLUSIVE = "inconclusive"

WIDTH = 73  # printed lines: the book's code boxes show 73 characters at 1280 px (tools/check_html.py)


def short(variant: str) -> str:
    return SHORT.get(variant, VARIANTS[variant].label if variant in VARIANTS else variant)


def cell_title(dataset: str, backbone: str) -> str:
    return f"{DATASETS[dataset].title} · {BACKBONE_TITLES.get(backbone, backbone)}"


def cell_order(cell: tuple[str, str]) -> tuple:
    """Data sets in the book's order (MNIST, Fashion-MNIST, CIFAR-10), then backbones in theirs."""
    d, b = cell
    return (list(DATASETS).index(d) if d in DATASETS else 99, list(BACKBONE_TITLES).index(b) if b in BACKBONE_TITLES else 99,
            d, b)


def say(text: str) -> None:
    """Print a paragraph wrapped to the book's code-output width."""
    print(textwrap.fill(text, WIDTH, break_on_hyphens=False))


# ---------------------------------------------------------------------------------------------
# which runs the chapter needs

def planned_cells(profile: str) -> tuple:
    part = get_profile(profile).part("controls")
    return tuple(part.cells) if part else ()


def chapter_cells(df: pd.DataFrame, profile: str | None = None) -> list[tuple[str, str]]:
    """Cells the chapter discusses: those the profile runs controls in, then any other cell whose
    results hold a control arm; in the profile's order, then sorted."""
    cells = list(planned_cells(profile)) if profile else []
    have = sorted({(d, b) for d, b, v in zip(df.dataset, df.backbone, df.variant) if v in ARMS}, key=cell_order)
    return cells + [c for c in have if c not in cells]


def plan_line(profile: str) -> str:
    """One sentence: where and with how many seeds the profile runs the controls."""
    part = get_profile(profile).part("controls")
    if part is None:
        return f"The {profile!r} profile runs no controls (the 'cpu' profile does)."
    cells = ", ".join(cell_title(d, b) for d, b in part.cells)
    return (f"The {profile!r} profile runs the controls ({', '.join(short(v) for v in part.variants)}) on "
            f"{cells}, {len(part.seeds)} seed{'s' if len(part.seeds) != 1 else ''} each.")


def _only(profile: str) -> dict | None:
    cells = planned_cells(profile)
    if not cells:
        return None
    known = {c.variant for c in get_profile(profile).configs()}
    return {"dataset": {d for d, _ in cells}, "backbone": {b for _, b in cells},
            "variant": {v for v in CHAPTER_VARIANTS if v in known}}


def chapter_plan(profile: str, results_dir) -> list[tuple]:
    """(config, path, state, why) for every run of the profile that this chapter's comparisons use."""
    only = _only(profile)
    if only is None:
        return []
    cells = set(planned_cells(profile))
    return [r for r in plan_runs(profile, only=only, results=results_dir) if (r[0].dataset, r[0].backbone) in cells]


def ensure_results(profile: str, results_dir, *, retrain: bool = False, data_root="../data") -> pd.DataFrame:
    """Train this chapter's missing runs when ``retrain``, else say how many are missing; return every
    finished, current run of the profile (``msvp.results.load``). Finished runs are never re-trained."""
    plan = chapter_plan(profile, results_dir)
    missing = [r for r in plan if r[2] in ("missing", "stale")]
    if retrain and missing:
        run_grid(profile, only=_only(profile), results=results_dir, data_root=data_root, progress=False,
                 log=lambda *_: None)
        missing = [r for r in chapter_plan(profile, results_dir) if r[2] in ("missing", "stale")]
    if not plan:
        say(f"The {profile!r} profile plans no control runs (the 'cpu' profile runs them); "
            "this page shows whatever results exist.")
    elif missing:
        say(f"{len(missing)} of the {len(plan)} runs this chapter needs have no current result in "
            f"{results_dir}; the page shows what exists. To train them, set RETRAIN = True or run "
            f"`python -m msvp grid --profile {profile}` (it skips finished runs).")
    else:
        say(f"All {len(plan)} runs this chapter needs have results.")
    return load(profile, results_dir)


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
            rows.append({"cell": cell_title(dataset, backbone), "arm": short(v),
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

    from .prompting import FullResPrompt

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
        row = {"prompt": short(v) if v in SHORT else var.label}
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
    order = {c: i for i, c in enumerate(sorted(cells, key=cell_order))}
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
            col.append(f"{report.fmt_pct(acc.mean(), sd)} ({len(acc)} seed{'s' if len(acc) != 1 else ''})"
                       if len(acc) else "–")
        out[f"{cell_title(d, b)}: test accuracy (%)"] = col
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


verdict_text = report.verdict_label  # one wording of a verdict across the book


def judged_text(r, margin_pp: float = MARGIN_PP) -> str:
    """'+0.12 [−0.05, +0.29] pp (inconclusive)', or '+0.78 pp (not enough pairs yet: 1 seed pair)':
    the verdict's wording from ``report.verdict_label``, its brackets flattened to fit inside ours."""
    if not np.isfinite(r.lo_pp):
        return f"{signed(r.diff_pp)} pp ({report.SINGLE_PAIR}: {r.n_pairs} seed pair{'s' if r.n_pairs != 1 else ''})"
    v = verdict_text(r, margin_pp).replace(" (", " ").replace(")", "")
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
        rows.append([cell_title(r.dataset, r.backbone), f"{short(r.treatment)} − {short(r.control)}", int(r.n_pairs),
                     interval_text(r), interval, holm, verdict_text(r)])
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
        parts.append(f"**{cell}** ({note})\n\n" + report.markdown_table(table))
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
        return f"cannot be compared with MSVP yet ({report.SINGLE_PAIR})"
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
    # the answer first, then the evidence it rests on
    head = [f"- **Answer: {answer}**"]
    if report.still_improving(ref):
        head.append(f"- Caveat, not a block: the baseline was {report.caveat_detail(ref)}; the answer is the one at "
                    "the profile's protocol, and a longer budget could change it.")
    if "control-frozen" in vs_ref:
        fr = vs_ref["control-frozen"][1]
        learn = {"hurts": "learning the maps matters", "equivalent": "learning the maps adds nothing measurable",
                 "improves": "the random maps beat the learned ones"}.get(fr.verdict, "whether learning matters is open")
        head.append(f"- Same structure, no learning: frozen random prompt − MSVP = {short_interval(fr)}; it "
                    f"{against_reference(fr)}, so {learn}.")
    first = (f"{title}: MSVP add/full ({_params(REFERENCE, dataset)}) changes test accuracy by "
             f"{judged_text(ref, margin_pp)} against the baseline, over {pairs}.")
    return Answer(dataset, backbone, verdict, "\n".join([first] + head + lines))


def answers(df: pd.DataFrame, fam: pd.DataFrame, profile: str | None = None) -> list[Answer]:
    """``cell_answer`` for every chapter cell (planned by the profile, or holding a control)."""
    cov = coverage(df, profile) if profile else None
    out = []
    for d, b in chapter_cells(df, profile):
        missing = (0, 0)
        if cov is not None and not cov.empty:
            c = cov[(cov.cell == cell_title(d, b)) & cov["seeds planned"].map(lambda x: isinstance(x, int))]
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


SCALE_COLORS = {"global": "#56B4E9", "global_mid": "#0072B2", "full": "#D55E00"}   # Okabe-Ito
FUSION_MARKERS = {"add": "o", "concat": "s", "gated": "D"}
CONTROL_STYLE = {"control-pad": ("^", "#009E73"), "control-fullres": ("v", "#CC79A7"), "control-frozen": ("X", "#222222")}


def style(variant: str) -> tuple[str, str]:
    """(marker, colour): colour = MSVP scale set (or control), marker = fusion (or control)."""
    if variant in CONTROL_STYLE:
        return CONTROL_STYLE[variant]
    _, fusion, scales = variant.split("-", 2)
    return FUSION_MARKERS[fusion], SCALE_COLORS[scales]


def dodge(t, min_gap: float) -> np.ndarray:
    """Spread 1-D positions ``t`` so that neighbours are at least ``min_gap`` apart, moving them as
    little as this simple rule allows: points closer than ``min_gap`` form a cluster, spaced evenly by
    ``min_gap`` around the cluster's mean; clusters that then overlap merge, until none do. The order
    of the points is kept (ties keep their input order)."""
    t = np.asarray(t, dtype=float)
    if len(t) == 0:
        return t.copy()
    order = np.argsort(t, kind="stable")
    clusters = [[float(x)] for x in t[order]]          # each: the original positions, in order

    def placed(c):
        mid = float(np.mean(c))
        return mid + min_gap * (np.arange(len(c)) - (len(c) - 1) / 2)

    changed = True
    while changed:
        changed = False
        for i in range(len(clusters) - 1):
            if placed(clusters[i + 1])[0] - placed(clusters[i])[-1] < min_gap - 1e-12:
                clusters[i:i + 2] = [clusters[i] + clusters[i + 1]]
                changed = True
                break
    out = np.empty_like(t)
    out[order] = np.concatenate([placed(c) for c in clusters])
    return out


LINTHRESH, LINSCALE = 1.0, 0.6   # symlog x axis: linear on [0, 1] (the frozen prompt's 0), log above
FONT = 10.0   # pt; the figure is drawn at the width the book shows it (about 680 px at 100 dpi)


def plot_gain_vs_params(gains: pd.DataFrame, df: pd.DataFrame | None = None, width_in: float = 6.6,
                        margin_pp: float = MARGIN_PP):
    """Accuracy gain over the baseline (pp, paired by seed, 95 % interval bars) against the trainable
    parameters each prompt adds, for every prompt variant with results: one panel per (data set,
    backbone) cell. The x axis is logarithmic above 1 parameter and linear below it, so that the
    frozen prompt's 0 has a place. Points closer than a marker's width are spread sideways
    (``dodge``); their parameter counts are in the table. Returns None when there is nothing to plot."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.scale import SymmetricalLogTransform

    if gains.empty:
        return None
    cells = list(dict.fromkeys(zip(gains.dataset, gains.backbone)))
    order = {c: i for i, c in enumerate(sorted(cells, key=cell_order))}
    cells.sort(key=order.get)
    ncols = 1 if len(cells) <= 3 else 2
    nrows = math.ceil(len(cells) / ncols)
    panel_h = 2.7 if ncols == 1 else 2.9
    tr = SymmetricalLogTransform(10, LINTHRESH, LINSCALE)
    xmax = max(10.0, float(gains.params.max()) * 2.0)
    t_lo, t_hi = float(tr.transform(np.array([0.0]))[0]), float(tr.transform(np.array([xmax]))[0])
    marker_pt = 7.5
    panel_w_in = width_in / ncols - 1.0                       # minus the y-axis label and ticks
    min_gap = 1.3 * (marker_pt / 72) / panel_w_in * (t_hi - t_lo + 0.3)   # 1.3 marker widths
    with plt.rc_context({"font.size": FONT, "axes.titlesize": FONT + 0.5, "axes.labelsize": FONT,
                         "xtick.labelsize": FONT, "ytick.labelsize": FONT, "legend.fontsize": FONT}):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width_in, panel_h * nrows + 1.8), squeeze=False,
                                 layout="constrained")
        seen, hollow = {}, False
        for ax, (dataset, backbone) in zip(axes.flat, cells):
            g = gains[(gains.dataset == dataset) & (gains.backbone == backbone)].reset_index(drop=True)
            t = tr.transform(g.params.to_numpy(float))
            xs = tr.inverted().transform(dodge(t, min_gap))
            ax.axhspan(-margin_pp, margin_pp, color="#dddddd", zorder=0, lw=0)
            ax.axhline(0, color="black", lw=0.8, zorder=1)
            for x, r in zip(xs, g.itertuples()):
                marker, color = style(r.treatment)
                has_ci = np.isfinite(r.lo_pp) and np.isfinite(r.hi_pp)
                if has_ci:
                    ax.errorbar(x, r.diff_pp, yerr=[[r.diff_pp - r.lo_pp], [r.hi_pp - r.diff_pp]], fmt="none",
                                ecolor=color, elinewidth=1.4, capsize=2.5, zorder=2)
                hollow |= not has_ci
                ax.plot(x, r.diff_pp, marker=marker, ms=marker_pt, color=color, mec=color if not has_ci else "white",
                        mew=1.3 if not has_ci else 0.6, mfc=color if has_ci else "none", ls="none", zorder=3)
                seen[r.treatment] = (marker, color)
            ax.set_xscale("symlog", linthresh=LINTHRESH, linscale=LINSCALE)
            ax.set_xlim(float(tr.inverted().transform(np.array([t_lo - 0.3]))[0]), xmax)
            ticks = [0] + [10 ** k for k in range(int(math.floor(math.log10(xmax))) + 1)]
            ax.set_xticks(ticks, [f"{k:,}" for k in ticks])
            ax.xaxis.set_minor_locator(plt.NullLocator())
            n = sorted({int(x) for x in g.n_train})
            seeds = sorted({int(x) for x in g.n_pairs})
            seed_txt = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}–{seeds[-1]}"
            copy = ""
            if df is not None:
                rows = df[df.dataset == dataset].dropna(subset=["data_variant"])
                if len(rows) and rows.data_variant.iloc[0] != "complete":
                    copy = rows.data_variant.iloc[0].replace("-", " ")
            images = f"{' or '.join(f'{x:,}' for x in n)} training images"
            pairs = f"{seed_txt} seed pair{'s' if seeds[-1] != 1 else ''}"
            head = f"{DATASETS[dataset].title} · {BACKBONE_TITLES.get(backbone, backbone)}"
            if ncols == 1:
                title = f"{head}\n{images}{f' ({copy})' if copy else ''}, {pairs}"
            else:   # narrow panels: one fact a line
                title = f"{head}\n{images}\n{f'{copy}, ' if copy else ''}{pairs}"
            ax.set_title(title, loc="left")
            ax.grid(axis="y", alpha=0.3)
        for ax in list(axes.flat)[len(cells):]:
            ax.set_visible(False)
        handles = [Line2D([], [], marker=m, color=c, ls="none", ms=marker_pt, label=short_label(v))
                   for v, (m, c) in sorted(seen.items(), key=lambda kv: PROMPT_VARIANTS.index(kv[0]))]
        handles.append(Patch(color="#dddddd", label=f"±{margin_pp:g} pp: equivalence"))
        if hollow:
            handles.append(Line2D([], [], marker="o", color="#555555", mfc="none", ls="none", ms=marker_pt,
                                  label="hollow: 1 seed pair"))
        fig.legend(handles=handles, loc="outside lower center", ncols=3 if width_in >= 6.5 else 2, frameon=False,
                   columnspacing=1.2, handletextpad=0.4)
        for ax in list(axes.flat)[:len(cells)]:
            ax.set_xlabel("trainable parameters added" + (" (log scale above 1)" if ncols == 1 else "\n(log scale above 1)"))
            ax.set_ylabel("gain vs baseline (pp)")
        fig.suptitle("Test-accuracy gain over the baseline against the prompt's parameter cost\n"
                     "(paired by seed; bars: 95 % seed × image interval, not Holm-adjusted)", fontsize=FONT + 1.5)
    viz.check_readable(fig)
    return fig


def short_label(variant: str) -> str:
    """Legend text: 'MSVP add · global+mid', 'pad prompt', ..."""
    if variant in SHORT and variant.startswith("control"):
        return SHORT[variant]
    v = VARIANTS[variant]
    return f"MSVP {v.fusion} · {v.prompt}"


def provenance(df: pd.DataFrame, profile: str) -> list[str]:
    """Short lines: profile, hardware and data copies of the runs loaded."""
    out = [f"profile: {profile} — {get_profile(profile).description}"]
    out.append(f"hardware: {report.hardware_label(df)}")
    labels = [report.training_label(df, d) for d in sorted(set(df.dataset))]  # images actually trained on
    out.append("data: " + ("; ".join(labels) or "no runs loaded"))
    return out
