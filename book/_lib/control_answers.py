"""The controls chapter's answer, cell by cell: is it MSVP's multi-scale structure, or would any
small learned input bias do? (the rule is ``cell_answer``'s)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from msvp.datasets import DATASETS
from msvp.experiments import VARIANTS
from msvp.stats import LEVEL, MARGIN_PP, NOT_ENOUGH_PAIRS
from msvp.verdicts import still_improving

from .control_arms import ARMS, BASE, REFERENCE, UNSTRUCTURED, chapter_cells, coverage
from .control_family import find, judged_text, short_interval
from .names import BACKBONE_TITLES, cell_name, short
from .words import caveat_detail, plural, short_verdict

NOT_RUN = "not run yet"


NOT_ENOUGH = NOT_ENOUGH_PAIRS


NO_GAIN = "no MSVP gain to explain"


ANY_BIAS = "no: an unstructured prompt does as well"


STRUCTURE_MATTERS = "yes: every unstructured prompt falls short"


INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Answer:
    dataset: str
    backbone: str
    verdict: str      # one of NOT_RUN, NOT_ENOUGH, NO_GAIN, ANY_BIAS, STRUCTURE_MATTERS, INCONCLUSIVE
    text: str         # Markdown
    notable: tuple[str, ...] = ()   # controls whose own change beyond noise the answer alone would hide


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
        itself = ("hurts" if ref.verdict == "hurts" else
                  f"is equivalent to the baseline (any difference lies within ±{MARGIN_PP:g} pp)")
        return NO_GAIN, (f"MSVP add/full itself {itself} here, so there is no gain above the margin for its "
                         "structure to explain.")
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
    notable = notable_controls(fam, dataset, backbone, ref, arms)
    if missing[0]:
        answer += f" ({missing[0]} of the {missing[1]} runs planned for this cell have no result yet.)"
    first = (f"{title}: MSVP add/full ({_params(REFERENCE, dataset)}) changes test accuracy by "
             f"{judged_text(ref, margin_pp)} against the baseline, over {pairs}.")
    # the answer first, then the evidence it rests on
    text = [first] + _answer_lines(answer, ref, vs_ref) + [f"- Worth noting: {n}." for n in notable] + lines
    return Answer(dataset, backbone, verdict, "\n".join(text), tuple(notable))


def notable_controls(fam: pd.DataFrame, dataset: str, backbone: str, ref, arms) -> list[str]:
    """Controls that change accuracy beyond noise (Holm) while MSVP add/full does not: the answer's rule
    does not look at them, yet a one-parameter prompt that moves accuracy where MSVP cannot is the
    most surprising number a reader could miss."""
    out = []
    for a in arms:
        r = find(fam, dataset, backbone, a)
        if r is None or r.n_pairs < 2 or r.verdict not in ("improves", "hurts") or ref.verdict == r.verdict:
            continue
        out.append(f"the {short(a)} alone changes test accuracy by {short_interval(r)} against the baseline "
                   f"({short_verdict(r)}; Holm-adjusted p = {float(r.p_holm):.2g}) with {_params(a, dataset)}, "
                   f"where MSVP add/full's own change is {ref.verdict}")
    return out


LEARNING = {"hurts": "learning the maps matters",
            "equivalent": f"learning the maps changed accuracy by less than the ±{MARGIN_PP:g} pp margin",
            "improves": "the random maps beat the learned ones"}


def _answer_lines(answer: str, ref, vs_ref: dict) -> list[str]:
    """The answer, the cell's convergence caveat, and what the frozen prompt says about learning."""
    head = [f"- **Answer: {answer}**"]
    if still_improving(ref):
        head.append(f"- Caveat: the baseline was {caveat_detail(ref)}; the answer stands at the profile's "
                    "protocol (the caveat blocks nothing), and a longer budget could change it.")
    if "control-frozen" in vs_ref:
        fr = vs_ref["control-frozen"][1]
        learn = LEARNING.get(fr.verdict, "whether learning matters is open")
        little = ("" if ref.verdict == "improves" else
                  " (this says little here: with no MSVP gain, there is no gain for learning to explain)")
        head.append(f"- Same structure, no learning: frozen random prompt − MSVP = {short_interval(fr)}; it "
                    f"{against_reference(fr)}, so {learn}{little}.")
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
        return (f"No cell of the `{profile}` profile runs the controls, and no control results were found: "
                "nothing to answer yet. The `cpu` profile runs them (CNN on Fashion-MNIST and CIFAR-10, "
                "3 paired seeds)." if profile else "No control results were found: nothing to answer yet.")
    return "\n\n".join(a.text for a in items)


def chance_note(fam: pd.DataFrame, level: float = LEVEL) -> str:
    """How likely the page's Holm families are to show a change by chance alone. Each comparison
    (treatment − control) is one family over the cells where it ran, corrected at 1 − ``level``
    (``msvp.stats.comparison_family``), never across families: so across k families the chance of at
    least one false change is at most k × (1 − level), and 1 − level^k if the families were independent."""
    tested = fam[fam.n_pairs >= 2] if not fam.empty else fam
    n = len(tested)
    k = len(set(zip(tested.treatment, tested.control))) if n else 0
    if not k:
        return ""
    alpha = 1 - level
    return (f"This page tests {plural(n, 'comparison')} in {plural(k, 'Holm family', 'Holm families')}, each "
            f"family corrected at {alpha:g}, so even with no real effect anywhere the chance that at least one of "
            f"them shows a change is at most {min(100, 100 * k * alpha):.0f} % (about {100 * (1 - level ** k):.0f} % "
            "if the families were independent): one such result is weak evidence on its own.")
