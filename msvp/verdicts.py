"""The verdict rules: evidence (paired rows, parameter and compute measurements) -> a verdict and
the numbers it rests on. Each claim of the abstract has one rule here; the book words and shows them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .accounting import msvp_added_flops
from .datasets import DATASETS
from .experiments import BACKBONE_TITLES, get_profile
from .stats import (
    LEVEL,
    MARGIN_PP,
    NOT_ENOUGH_PAIRS,
    Estimate,
    combine,
    contrast_verdict,
    fixed_effect,
    fmt_pp,
    paired_family,
    pooled_effect,
    rank_weights,
    row_estimate,
    signed,
)

VERDICTS = ("improves", "equivalent", "inconclusive", "hurts", NOT_ENOUGH_PAIRS)


MAIN = "msvp-add-full"


def paired_table(df: pd.DataFrame, treatments=(MAIN,), datasets=None, **kw) -> pd.DataFrame:
    """Paired statistics and verdicts for every cell × treatment of ``df`` (all of the profile's runs).
    Holm's correction runs over each treatment's cells (``stats.comparison_family``, the book's one
    definition of a family) before ``datasets`` picks the rows to show, so a chapter shows the report
    card's verdicts."""
    p = paired_family(df, treatments, **kw)
    if datasets is not None and not p.empty:
        p = p[p.dataset.isin(datasets)].reset_index(drop=True)
    return p


LONG_PROFILE, LONG_REFERENCE = "long", "cpu"   # the long-budget runs, and the profile whose protocol they extend


def long_budget(long_df: pd.DataFrame, protocol_df: pd.DataFrame, treatments=(MAIN, "msvp-concat-full")
                ) -> pd.DataFrame:
    """Rule: the long-budget check. For every comparison and cell that the long runs pair, the row
    at the profile's protocol and the row after the long budget, each from its own profile's Holm
    family (``stats.comparison_family``), stacked with ``budget`` = "protocol" or "long" and the
    epochs each trained. The verdict at the protocol stands as the book's; the long row says whether
    more epochs would change it. The two families differ in size (every cell of the protocol's
    profile where the comparison ran, against the long profile's cells), so the long row's Holm
    correction is the milder one: a verdict that changes only by its p-value crossing 0.05 is weak
    evidence of a change."""
    rows = []
    for t in treatments:
        long_rows = paired_family(long_df, (t,))
        if long_rows.empty:
            continue
        cells = set(zip(long_rows.dataset, long_rows.backbone))
        prot = paired_family(protocol_df, (t,)) if len(protocol_df) else long_rows.iloc[:0]
        prot = prot[np.array([(d, b) in cells for d, b in zip(prot.dataset, prot.backbone)], dtype=bool)]
        for budget, frame, src in (("protocol", prot, protocol_df), ("long", long_rows, long_df)):
            if len(frame):          # an empty frame in the concat would turn the int columns into floats
                rows.append(frame.assign(budget=budget, epochs=[_epochs(src, r) for r in frame.itertuples()]))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def _epochs(df: pd.DataFrame, row) -> int:
    """The epochs the runs of ``row``'s cell trained (one value per profile and cell)."""
    return int(df[(df.dataset == row.dataset) & (df.backbone == row.backbone)].epochs.astype(int).max())


def still_improving(row) -> bool:
    """True when the cell's baseline failed the convergence check (False), not when it passed or was
    not checked (True, None, NaN)."""
    return getattr(row, "converged", None) in (False,)  # numpy's False is not `False`; `in` compares by ==


def judged(p: pd.DataFrame) -> pd.DataFrame:
    """Rows that can carry a claim: the cell has an interval (at least 2 pairs). A baseline still
    improving does not take a cell out: its caveat travels with the verdict."""
    if p.empty:
        return p
    se = np.sqrt(p.var_t.astype(float) + p.var_z.astype(float))
    return p[np.isfinite(se.to_numpy())]


def verdict_counts(p: pd.DataFrame) -> str:
    """'inconclusive: 1, not enough pairs yet: 2': a cell with a single pair has no interval, so it
    is counted apart from the cells whose interval left the question open."""
    single = p.n_pairs < 2 if "n_pairs" in p else pd.Series(False, index=p.index)
    counts = p.verdict.where(~single, NOT_ENOUGH_PAIRS).value_counts().to_dict()
    return ", ".join(f"{v}: {counts[v]}" for v in VERDICTS if v in counts)


def fmt_estimate(e: Estimate) -> str:
    lo, hi = e.interval()
    return fmt_pp(float(e.mean), float(lo), float(hi))


def equivalence_note(est: Estimate, margin_pp: float = MARGIN_PP) -> str:
    """Where ``contrast_verdict`` says 'not supported' because the contrast is equivalent to 0, the
    interval that decided it: TOST uses the 90 % interval, which with few degrees of freedom is much
    narrower than the 95 % one shown, so without this a reader sees a 95 % interval wider than ±m
    beside an 'equivalent' verdict and cannot check it. Empty otherwise."""
    lo95, hi95 = est.interval()
    if not np.isfinite(est.se) or lo95 > 0 or hi95 < 0 or contrast_verdict(est, margin_pp) != "not supported":
        return ""
    lo, hi = est.interval(2 * LEVEL - 1)
    return (f"; equivalent to 0: its {2 * LEVEL - 1:.0%} interval [{signed(float(lo))}, {signed(float(hi))}] pp "
            f"lies within ±{margin_pp:g} pp (TOST)")


def cautious_check(est: Estimate, parts, margin_pp: float = MARGIN_PP) -> tuple[str, str]:
    """Rule: where the cells behind a pooled gain or contrast have different numbers of pairs, its
    verdict must also hold on the smallest cell's degrees of freedom, else it is 'inconclusive'.
    Why: Welch–Satterthwaite degrees of freedom are computed from the cells' noisy seed variances, and
    when a 2-pair cell (1 df) with a larger seed SD sits beside 5-pair cells, they come out too high
    when that cell's variance is underestimated; in simulation the 95 % interval then covers only
    89-94 % (tests/test_stats_pooling.py), while the smallest df is conservative (Mickey & Brown).
    With equal pair counts the simulations put Welch–Satterthwaite at nominal, so no check is made.
    Returns the verdict and the sentence that reports the check ('' when none is made)."""
    verdict = contrast_verdict(est, margin_pp)
    dfs = {float(e.df) for e in parts}
    if len(dfs) < 2 or not np.isfinite(est.se):
        return verdict, ""
    low = min(dfs)
    cautious = Estimate(est.mean, est.var_t, low, est.var_z)
    other = contrast_verdict(cautious, margin_pp)
    said = f"on the smallest cell's {low:g} degree{'s' if low != 1 else ''} of freedom {fmt_estimate(cautious)}"
    if other == verdict:
        return verdict, f"; cells with different numbers of pairs: {said}, the same verdict"
    return "inconclusive", (f"; cells with different numbers of pairs: {said}, *{other}*, so the verdict "
                            f"*{verdict}* of the Welch–Satterthwaite interval does not stand: inconclusive")


def unjudged_verdict(p: pd.DataFrame) -> str:
    """The verdict of a claim that no cell can carry: every cell has fewer than 2 pairs."""
    return NOT_ENOUGH_PAIRS if len(p) and (p.n_pairs < 2).all() else "inconclusive"


def single_pair_detail(p: pd.DataFrame) -> str:
    return (f"all {len(p)} cells have a single paired seed so far; an interval, and so a verdict, needs "
            f"at least 2 pairs per cell")


def pooled_readings(cells: pd.DataFrame, margin_pp: float = MARGIN_PP) -> dict:
    """Both pooled readings of a family's cells (those with an interval): the fixed-effect mean,
    which decides a claim (``stats.fixed_effect``), and the random-effects mean beside it
    (``stats.pooled_effect``), each with its verdict by ``contrast_verdict``; the deciding one after
    ``cautious_check``, so that the claims and pooling tables give it one verdict."""
    est = [row_estimate(r) for r in cells.itertuples()]
    fixed, rand = fixed_effect(est), pooled_effect(est)
    fixed_verdict, check = cautious_check(fixed, est, margin_pp)
    return {"k": len(est), "fixed": fixed, "fixed_verdict": fixed_verdict, "check": check,
            "random": rand.estimate, "random_verdict": contrast_verdict(rand.estimate, margin_pp),
            "tau": float(np.sqrt(rand.tau2)) if np.isfinite(rand.tau2) else np.nan}


def disagreement(r: dict) -> str:
    """Honest wording when the two pooled readings disagree: the fixed effect decides for the cells
    that were run; the random-effects reading says whether that carries over to cells not run."""
    if r["k"] < 2 or r["fixed_verdict"] == r["random_verdict"]:
        return ""
    carry = {"supported": "would show a gain on a data set or backbone not run here",
             "not supported": "would show none on a data set or backbone not run here",
             "inconclusive": "cannot say whether a data set or backbone not run here would gain"}
    return (f"; the two disagree: the verdict holds for the {r['k']} cells run, while the random-effects "
            f"reading, *{r['random_verdict']}*, {carry[r['random_verdict']]}")


def claim_accuracy(p: pd.DataFrame, margin_pp: float = MARGIN_PP) -> tuple[str, str]:
    """'MSVP improves accuracy'. Rule: the headline is the fixed-effect mean gain over the cells with
    at least 2 pairs (``stats.fixed_effect``: each cell weighted equally), judged by
    ``contrast_verdict``: supported if its 95 % interval lies above 0; not supported if it lies below 0
    or the gain is equivalent to 0 within ±m; inconclusive otherwise. The random-effects mean is
    given beside it, and where the two disagree the text says so. The per-cell verdicts (Holm over
    the comparison's cells) are listed too; a cell that 'hurts' does not veto the claim on its own."""
    if p.empty:
        return "not run here", "no paired results"
    if unjudged_verdict(p) == NOT_ENOUGH_PAIRS:
        return NOT_ENOUGH_PAIRS, single_pair_detail(p)
    family = int(p.holm_m.iloc[0]) if "holm_m" in p else len(p)
    detail = f"cells: {verdict_counts(p)} (Holm over {family} tested cells)"
    cells = judged(p)
    if len(cells) == 1:
        one = fixed_effect([row_estimate(cells.iloc[0])])
        return (contrast_verdict(one, margin_pp), f"gain {fmt_estimate(one)}: the one cell of {len(p)} with ≥ 2 pairs"
                f"{equivalence_note(one, margin_pp)}; {detail}")
    r = pooled_readings(cells, margin_pp)
    among = "" if r["k"] == len(p) else f" (of {len(p)} with a pair)"
    text = (f"mean gain over the {r['k']} cells with ≥ 2 pairs{among} {fmt_estimate(r['fixed'])} (fixed effect, "
            f"decides){equivalence_note(r['fixed'], margin_pp)}{r['check']}; random effects {fmt_estimate(r['random'])} "
            f"(between-cell SD {r['tau']:.2f} pp){disagreement(r)}; {detail}")
    return r["fixed_verdict"], text


def setting(backbone: str, shape: str) -> str:
    """'cnn', '3x32x32' -> 'CNN, 3 × 32 × 32': the names a reader meets in the book."""
    return f"{BACKBONE_TITLES.get(backbone, backbone)}, {shape.replace('x', ' × ')}"


def counter_pct(pct: float) -> str:
    """'0 %' where the counter finds nothing at all, else 'at most 0.004 %'."""
    return "0 %" if pct == 0 else f"at most {pct:.3f} %"


def claim_params(params: pd.DataFrame, threshold_pct: float = 0.02) -> tuple[str, str]:
    """'< 0.02 % parameters' for the main setting (add fusion, full scales) on every backbone × input."""
    main = params[(params.fusion == "add") & (params.scales == "full")]
    over = main[main.overhead_pct >= threshold_pct]
    worst = main.loc[main.overhead_pct.idxmax()]
    text = (f"largest overhead {worst.overhead_pct:.4f} % ({setting(worst.backbone, worst['input'])}: "
            f"{worst.prompt_params} / {worst.backbone_params:,})")
    if over.empty:
        return "supported", text
    # by how much: the parameters the bound allows on each pair that breaks it
    by = ", ".join(f"{setting(r.backbone, r['input'])}: {r.prompt_params} against {threshold_pct / 100 * r.backbone_params:,.1f}"
                   f" allowed" for _, r in over.iterrows())
    return "not supported", text + (f"; {len(over)} of {len(main)} backbone × input pairs reach ≥ {threshold_pct} % "
                                    f"({by}); the other {len(main) - len(over)} stay below")


def claim_compute(compute: pd.DataFrame, flops_tol_pct: float = 1.0) -> tuple[str, str]:
    """'Negligible compute'. Rule: supported if, on every backbone × input, the FLOPs MSVP (add, full)
    adds, counted analytically (``msvp_added_flops``, one image per pass), stay below
    ``flops_tol_pct`` % of the backbone's convolution and matmul FLOPs as PyTorch's counter measures
    them. 1 % is below the run-to-run spread of forward latency (several %), so a smaller overhead
    cannot show in wall time. The FLOP counter alone skips interpolation and element-wise ops and
    reads ~0 % by construction; its figure is shown beside, as is the measured latency."""
    base = compute[compute.variant == "baseline"].set_index(["backbone", "input"]).flops
    add = compute[compute.variant == MAIN]
    if add.empty or base.empty:
        return "not run here", "no compute measurements"
    rows = []
    for r in add.itertuples():
        c, h, w = (int(x) for x in r.input.split("x"))
        added = sum(msvp_added_flops(c, h, w, "full", "add").values())
        rows.append((100 * added / base[(r.backbone, r.input)], added, r.backbone, r.input))
    pct, added, backbone, shape = max(rows)
    text = (f"MSVP (add fusion) adds at most {added:,.0f} FLOPs per image = {pct:.3f} % of the backbone's conv/matmul FLOPs "
            f"({setting(backbone, shape)}; counted: bilinear upsampling, mean of the maps, add); "
            f"PyTorch's FLOP counter, which skips these operations, finds {counter_pct(add.flops_overhead_pct.max())}")
    lat = add.latency_ratio.dropna()
    if not lat.empty:
        text += f"; forward latency ratio MSVP add/baseline {lat.min():.3f}–{lat.max():.3f} (CPU, median)"
    return ("supported" if pct < flops_tol_pct else "not supported"), text


def _fmt_cells(d: pd.DataFrame, label) -> str:
    return ", ".join(f"{label(r)} {fmt_pp(r.diff_pp, r.lo_pp, r.hi_pp)}" for r in d.itertuples())


def contrast_terms(weights, datasets) -> str:
    """'CIFAR-10 − MNIST; Fashion-MNIST, in the middle, not counted': what a contrast of gains adds and
    subtracts."""
    def term(w, d):
        return DATASETS[d].title if abs(w) == 1 else f"{abs(w):g} × {DATASETS[d].title}"
    ordered = sorted(zip(weights, datasets), key=lambda x: -x[0])
    s = " ".join(f"{'−' if w < 0 else '+'} {term(w, d)}" for w, d in ordered if w != 0).removeprefix("+ ")
    zero = [DATASETS[d].title for w, d in ordered if w == 0]
    return s + (f"; {', '.join(zero)}, in the middle, not counted" if zero else "")


def claim_harder_data(p: pd.DataFrame, backbone: str = "cnn", margin_pp: float = MARGIN_PP) -> tuple[str, str]:
    """'Largest gains on harder data'. Rule: on one backbone, the data sets are ranked by their
    measured baseline test error (not by a fixed list), and the claim is judged by one contrast, the
    gain on the harder data sets minus the gain on the easier ones (centred-rank weights: with three
    data sets, hardest minus easiest), with its own interval (``combine``), by ``contrast_verdict``."""
    d = p[(p.backbone == backbone) & (p.treatment == MAIN)] if not p.empty else p
    if d.empty or d.dataset.nunique() < 2:
        return "not run here", f"needs ≥ 2 data sets with paired {BACKBONE_TITLES.get(backbone, backbone)} results"
    ok = judged(d).sort_values("baseline_err_pp")
    if len(ok) < 2:
        v = unjudged_verdict(d)
        title = BACKBONE_TITLES.get(backbone, backbone)
        return v, single_pair_detail(d) if v == NOT_ENOUGH_PAIRS else f"fewer than 2 {title} cells with ≥ 2 pairs"
    weights = rank_weights(list(ok.dataset))
    parts = [row_estimate(r) for r in ok.itertuples()]
    est = combine(parts, weights)
    name = lambda r: f"{DATASETS[r.dataset].title} (baseline error {r.baseline_err_pp:.2f} %)"  # noqa: E731
    text = (f"{BACKBONE_TITLES.get(backbone, backbone)}, easiest first: {_fmt_cells(ok, name)}; harder − easier "
            f"({contrast_terms(weights, ok.dataset)}) {fmt_estimate(est)}")
    rest = d.drop(ok.index)
    harder = rest[rest.baseline_err_pp > ok.baseline_err_pp.max()]
    if not harder.empty:
        # the claim is about the hardest data; a contrast among the easier ones cannot carry it
        left = ", ".join(f"{name(r)}, which has a single pair" for r in harder.sort_values("baseline_err_pp").itertuples())
        return "inconclusive", (f"{text}; left out, harder than every cell judged: {left}; "
                                f"so the ordering is not judged")
    verdict, check = cautious_check(est, parts, margin_pp)
    return verdict, text + equivalence_note(est, margin_pp) + check


def transformer_weights(d: pd.DataFrame) -> np.ndarray:
    """Per data set with a ViT and another backbone: ViT gain minus the mean gain of the others;
    averaged over those data sets. Rows of ``d`` outside such data sets get weight 0."""
    groups = [g for _, g in d.groupby("dataset", sort=False) if "vit" in set(g.backbone) and g.backbone.nunique() > 1]
    w = pd.Series(0.0, index=d.index)
    for g in groups:
        others = (g.backbone != "vit").sum()
        w[g.index] = np.where(g.backbone == "vit", 1.0, -1.0 / others) / len(groups)
    return w.to_numpy()


def claim_transformers(p: pd.DataFrame, margin_pp: float = MARGIN_PP, plan: dict | None = None) -> tuple[str, str]:
    """'Largest gains on transformers'. Rule: one contrast, the ViT's gain minus the mean gain of the
    other backbones on the same data set, averaged over the data sets that have both, with its own
    interval (``combine``), judged by ``contrast_verdict``. ``plan`` (``planned_pairs``) tells a claim
    whose ViT cells are still training from one this profile never tests."""
    d = p[p.treatment == MAIN] if not p.empty else p
    if d.empty or not transformer_weights(d).any():
        planned = sum(n for (_, b, t), n in (plan or {}).items() if b == "vit" and t == MAIN)
        if planned:
            done = int(d[d.backbone == "vit"].n_pairs.sum()) if not d.empty else 0
            return NOT_ENOUGH_PAIRS, f"ViT-Tiny cells: {done} of {planned} planned pairs done"
        return "not run here", "needs paired ViT results and another backbone on the same data set"
    ok = judged(d)
    w = transformer_weights(ok) if not ok.empty else np.zeros(0)
    if not w.any():
        vit = d[d.backbone == "vit"]
        if vit.empty or (vit.n_pairs < 2).all():   # the ViT side is still training: say so, as every page does
            planned = sum(n for (_, b, t), n in (plan or {}).items() if b == "vit" and t == MAIN)
            of = f" of {planned} planned" if planned else ""
            return NOT_ENOUGH_PAIRS, f"ViT-Tiny cells: {int(vit.n_pairs.sum())}{of} pairs done, none with ≥ 2 pairs yet"
        return "inconclusive", "no data set where the ViT and another backbone both have ≥ 2 pairs"
    use = ok[w != 0]
    parts = [row_estimate(r) for r in use.itertuples()]
    est = combine(parts, w[w != 0])
    cells = _fmt_cells(use, lambda r: f"{DATASETS[r.dataset].title} · {BACKBONE_TITLES.get(r.backbone, r.backbone)}")
    verdict, check = cautious_check(est, parts, margin_pp)
    return verdict, f"{cells}; ViT − others {fmt_estimate(est)}{equivalence_note(est, margin_pp)}{check}"


def seeds_text(p: pd.DataFrame) -> str:
    if p.empty:
        return "–"
    n = p.n_pairs
    return str(int(n.min())) if n.min() == n.max() else f"{int(n.min())}–{int(n.max())}"


def ablation_cells(df: pd.DataFrame, variants: list[str]) -> list[tuple[str, str]]:
    """(dataset, backbone) cells that hold every MSVP variant of an ablation: never pooled across cells."""
    need = set(variants) - {"baseline"}
    return [cell for cell, g in df.groupby(["dataset", "backbone"]) if need <= set(g.variant)]


def ablation_family(df: pd.DataFrame, variants: list[str], **kw) -> pd.DataFrame:
    """Paired rows for every ablation cell × MSVP variant. Each variant − baseline is corrected in its
    own family over every cell of ``df`` where it ran (``stats.comparison_family``, the book's one
    rule), and only then are the ablation's cells picked, so a variant that is also a main reading
    (add/full, concat/full) gets the verdict it has in chapters 3-5 and on the report card."""
    cells = set(ablation_cells(df, variants))
    fam = paired_family(df, [v for v in variants if v != "baseline"], **kw)
    if fam.empty:
        return fam
    keep = np.array([(d, b) in cells for d, b in zip(fam.dataset, fam.backbone)], dtype=bool)  # [] would pick columns
    return fam[keep].reset_index(drop=True)


def progress(k: int, planned: int | None) -> str:
    """'1 of 3 planned pairs done' while the profile's planned pairs are running; 'the profile plans 1'
    once they are all in (more seeds would need another profile); '' when nothing is planned."""
    if not planned:
        return ""
    return f"{k} of {planned} planned pairs done" if k < planned else f"the profile plans {planned}"


def pairs_status(k: int, planned: int | None = None) -> str:
    """A cell with fewer than 2 seed pairs, in the book's one wording, with its training progress where
    the profile plans it: 'not enough pairs yet (1 of 3 planned pairs done)'."""
    more = progress(k, planned)
    return NOT_ENOUGH_PAIRS + (f" ({more})" if more else "")


def planned_pairs(profile: str, treatments=(MAIN, "msvp-concat-full"), control: str = "baseline") -> dict:
    """(dataset, backbone, treatment) → seed pairs the profile plans (seeds it runs for both arms)."""
    seeds: dict = {}
    for c in get_profile(profile).configs():
        seeds.setdefault((c.dataset, c.backbone, c.variant), set()).add(c.seed)
    return {(d, b, t): len(s & seeds.get((d, b, control), set()))
            for (d, b, t), s in seeds.items() if t in treatments and seeds.get((d, b, control))}
