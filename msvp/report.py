"""Tables and verdicts for the book, computed from the results store only."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .data import provenance_label
from .datasets import DATASETS
from .experiments import VARIANTS
from .prompting import SCALE_SETS
from .stats import (  # noqa: F401 (re-exported)
    CONVERGENCE_TOL_PP,
    LEVEL,
    MARGIN_PP,
    NOT_ENOUGH_PAIRS,
    POWER,
    Estimate,
    add_verdicts,
    combine,
    comparison_family,
    contrast_verdict,
    fixed_effect,
    fmt_ci,
    fmt_pct,
    fmt_pp,
    paired,
    paired_family,
    pooled_effect,
    rank_weights,
    row_estimate,
    signed,
    summarize,
)

# Kept for callers; the harder-data claim no longer uses it: it ranks data sets by measured baseline error.
HARDNESS_ORDER = ("mnist", "fashion_mnist", "cifar10")
VERDICTS = ("improves", "equivalent", "inconclusive", "hurts", NOT_ENOUGH_PAIRS)
MAIN = "msvp-add-full"


def dataset_label(df: pd.DataFrame, dataset: str) -> str:
    """Data-set title with the variant and image counts that produced the rows (e.g. the offline CIFAR-10 copy)."""
    rows = df[df.dataset == dataset]
    if rows.empty:
        return DATASETS[dataset].title
    labels = {provenance_label({"dataset": dataset, "variant": r.data_variant, "n_train": int(r.data_n_train),
                                "n_test": int(r.data_n_test)}) for r in rows.itertuples()}
    return "; ".join(sorted(labels))


def data_title(df: pd.DataFrame, dataset: str) -> str:
    """'CIFAR-10 (offline copy)' where the runs trained on a data copy that is not the complete set,
    else the plain title: a short label for sentences that name several data sets."""
    variants = set(df.loc[df.dataset == dataset, "data_variant"].dropna()) if "data_variant" in df else set()
    odd = sorted(v for v in variants if v != "complete")
    return DATASETS[dataset].title + (f" ({odd[0].replace('-', ' ')})" if odd else "")


def accuracy_table(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Per backbone and variant: seeds, last-epoch and best-validation test accuracy (mean ± std, %)."""
    d = df[df.dataset == dataset]
    last = summarize(d, "test_acc")
    best = summarize(d, "test_acc_best_val").set_index(["backbone", "variant"])
    rows = []
    for r in last.itertuples():
        b = best.loc[(r.backbone, r.variant)]
        cell = d[(d.backbone == r.backbone) & (d.variant == r.variant)]
        rows.append({"backbone": r.backbone, "variant": r.variant, "seeds": int(r.n),
                     "test acc, last epoch (%)": fmt_pct(r.mean, r.std),
                     "test acc, best-val checkpoint (%)": fmt_pct(b["mean"], b["std"]),
                     "prompt params": int(cell.params_prompt.iloc[0]),
                     "train / test images": f"{int(cell.n_train.iloc[0]):,} / {int(cell.n_test.iloc[0]):,}",
                     "epochs": int(cell.epochs.iloc[0])})
    return pd.DataFrame(rows)


def paired_table(df: pd.DataFrame, treatments=(MAIN,), datasets=None, **kw) -> pd.DataFrame:
    """Paired statistics and verdicts for every cell × treatment of ``df`` (all of the profile's runs).
    Holm's correction runs over each treatment's cells (``stats.comparison_family``, the book's one
    definition of a family) before ``datasets`` picks the rows to show, so a chapter shows the report
    card's verdicts."""
    p = paired_family(df, treatments, **kw)
    if datasets is not None and not p.empty:
        p = p[p.dataset.isin(datasets)].reset_index(drop=True)
    return p


def fmt_mcnemar(ps) -> str:
    return ", ".join(f"{x:.2g}" for x in ps) if len(ps) else "–"


SINGLE_PAIR = NOT_ENOUGH_PAIRS  # the one wording for a cell with fewer than 2 seed pairs, on every page


def still_improving(row) -> bool:
    """True when the cell's baseline failed the convergence check (False), not when it passed or was
    not checked (True, None, NaN)."""
    return getattr(row, "converged", None) in (False,)  # numpy's False is not `False`; `in` compares by ==


def caveat_detail(row, full: bool = True) -> str:
    """'still improving (val. acc. +1.49 pp over its last 2 epochs; last learning rate 2.4e-05, 2.4 %
    of the first)': the baseline's measured validation rise over its last two epochs and the learning
    rate of its schedule's last epoch, so a reader can tell an annealing rise (learning rate near 0)
    from an unfinished run; ``full`` adds the share of the first learning rate. Empty when the
    baseline converged or was not checked."""
    if not still_improving(row):
        return ""
    rise = float(getattr(row, "val_rise_pp", np.nan))
    if not np.isfinite(rise):
        return "too short to show convergence (fewer than 3 epochs)"
    first, last = float(getattr(row, "lr_first", np.nan)), float(getattr(row, "lr_last", np.nan))
    share = f", {100 * last / first:.1f} % of the first" if full and np.isfinite(first) and first > 0 else ""
    lr = f"; last learning rate {last:.1e}{share}" if np.isfinite(last) else ""
    return f"still improving (val. acc. {signed(rise)} pp over its last 2 epochs{lr})"


def caveat_text(row) -> str:
    """The convergence caveat printed beside a verdict, never instead of it (``caveat_detail``)."""
    detail = caveat_detail(row, full=False)
    return f"caveat: baseline {detail}" if detail else ""


def verdict_label(row, margin_pp: float = MARGIN_PP) -> str:
    """The one wording of a cell's verdict, used by every table and sentence of the book (report card,
    experiment chapters, controls), so that a reader meets the same phrase everywhere. It names what the
    verdict rests on: the margin and TOST p for 'equivalent', and, beside any verdict, the caveat of a
    baseline still improving at the end of its schedule (``caveat_text``). Fewer than 2 pairs: 'not
    enough pairs yet'."""
    if row.n_pairs < 2:
        return SINGLE_PAIR
    text = str(row.verdict)
    if row.verdict == "equivalent":
        # the Holm-adjusted TOST p decided it: shown, since the 95 % interval beside it may reach past ±m
        p_tost = float(getattr(row, "p_tost_holm", np.nan))
        text = f"equivalent (within ±{margin_pp:g} pp" + (f", TOST p = {p_tost:.2g})" if np.isfinite(p_tost) else ")")
    caveat = caveat_text(row)
    return f"{text}; {caveat}" if caveat else text


FORMAT_COLUMNS = ["dataset", "backbone", "MSVP variant", "pairs", "Δ test acc, t-interval (seeds)",
                  "Δ, seed × image interval", "McNemar p per seed", "p (Holm)", "seeds won", "verdict"]


def format_paired(p: pd.DataFrame) -> pd.DataFrame:
    """A paired table for reading: both intervals (95 %), McNemar per seed, Holm-adjusted p, verdict."""
    if p.empty:
        return pd.DataFrame(columns=FORMAT_COLUMNS)
    return pd.DataFrame(dict(zip(FORMAT_COLUMNS, [
        [DATASETS[d].title for d in p.dataset], list(p.backbone), list(p.treatment), list(p.n_pairs),
        [fmt_pp(r.diff_pp, r.t_lo_pp, r.t_hi_pp) for r in p.itertuples()],
        [fmt_pp(r.diff_pp, r.lo_pp, r.hi_pp) if r.interval == "seed × image" else r.interval for r in p.itertuples()],
        [fmt_mcnemar(x) for x in p.mcnemar_p], [f"{x:.3g}" if np.isfinite(x) else "–" for x in p.p_holm],
        [f"{w}/{n}" for w, n in zip(p.wins, p.n_pairs)], [verdict_label(r) for r in p.itertuples()]])))


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
    counts = p.verdict.where(~single, SINGLE_PAIR).value_counts().to_dict()
    return ", ".join(f"{v}: {counts[v]}" for v in (*VERDICTS, SINGLE_PAIR) if v in counts)


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


CLAIM_MEANING = {
    "supported": f"the {LEVEL:.0%} interval of the mean gain over the cells lies above 0",
    "not supported": f"the {LEVEL:.0%} interval of the mean gain over the cells lies below 0, or that gain "
                     f"is shown equivalent to 0 within ±{MARGIN_PP:g} pp",
    "inconclusive": f"the {LEVEL:.0%} interval of the mean gain over the cells straddles 0 and the gain is "
                    f"not shown within ±{MARGIN_PP:g} pp of 0",
}
"""What a verdict of the accuracy claim means (the rule of ``contrast_verdict`` applied to
``fixed_effect``), for the front page."""

NOT_YET = NOT_ENOUGH_PAIRS
"""A claim whose every cell has a single paired seed: no interval exists, so no rule can apply yet."""


def unjudged_verdict(p: pd.DataFrame) -> str:
    """The verdict of a claim that no cell can carry: every cell has fewer than 2 pairs."""
    return NOT_YET if len(p) and (p.n_pairs < 2).all() else "inconclusive"


def single_pair_detail(p: pd.DataFrame) -> str:
    return (f"all {len(p)} cells have a single paired seed so far; an interval, and so a verdict, needs "
            f"at least 2 pairs per cell")


def pooled_readings(cells: pd.DataFrame, margin_pp: float = MARGIN_PP) -> dict:
    """Both pooled readings of a family's cells (those with an interval): the fixed-effect mean,
    which decides a claim (``stats.fixed_effect``), and the random-effects mean beside it
    (``stats.pooled_effect``), each with its verdict by ``contrast_verdict``."""
    est = [row_estimate(r) for r in cells.itertuples()]
    fixed, rand = fixed_effect(est), pooled_effect(est)
    return {"k": len(est), "fixed": fixed, "fixed_verdict": contrast_verdict(fixed, margin_pp),
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
    if unjudged_verdict(p) == NOT_YET:
        return NOT_YET, single_pair_detail(p)
    family = int(p.holm_m.iloc[0]) if "holm_m" in p else len(p)
    detail = f"cells: {verdict_counts(p)} (Holm over {family} tested cells)"
    cells = judged(p)
    if len(cells) == 1:
        one = fixed_effect([row_estimate(cells.iloc[0])])
        return (contrast_verdict(one, margin_pp), f"gain {fmt_estimate(one)}: the one cell of {len(p)} with ≥ 2 pairs"
                f"{equivalence_note(one, margin_pp)}; {detail}")
    r = pooled_readings(cells, margin_pp)
    text = (f"mean gain over the {r['k']} of {len(p)} cells with ≥ 2 pairs {fmt_estimate(r['fixed'])} (fixed effect, "
            f"decides){equivalence_note(r['fixed'], margin_pp)}; random effects {fmt_estimate(r['random'])} "
            f"(between-cell SD {r['tau']:.2f} pp){disagreement(r)}; {detail}")
    return r["fixed_verdict"], text


def claim_params(params: pd.DataFrame, threshold_pct: float = 0.02) -> tuple[str, str]:
    """'< 0.02 % parameters' for the main setting (add fusion, full scales) on every backbone × input."""
    main = params[(params.fusion == "add") & (params.scales == "full")]
    over = main[main.overhead_pct >= threshold_pct]
    worst = main.loc[main.overhead_pct.idxmax()]
    text = (f"largest overhead {worst.overhead_pct:.4f} % ({worst.backbone}, {worst['input']}: "
            f"{worst.prompt_params} / {worst.backbone_params:,})")
    if over.empty:
        return "supported", text
    # by how much: the parameters the bound allows on each pair that breaks it
    by = ", ".join(f"{r.backbone} {r['input']}: {r.prompt_params} against {threshold_pct / 100 * r.backbone_params:,.1f}"
                   f" allowed" for _, r in over.iterrows())
    return "not supported", text + (f"; {len(over)} of {len(main)} backbone × input pairs reach ≥ {threshold_pct} % "
                                    f"({by}); the other {len(main) - len(over)} stay below")


BILINEAR_FLOPS = 7
"""FLOPs per output value per prompt map for bilinear upsampling: 4 neighbours × weight (4 multiplies)
summed (3 adds). The interpolation weights depend only on the row or column and are not counted."""
SIGMOID_FLOPS = 4
"""FLOPs per value for a sigmoid: negate, exp, add 1, divide."""


def msvp_added_flops(channels: int, height: int, width: int, scales: str = "full", fusion: str = "add",
                     batch: int = 1) -> dict[str, float]:
    """FLOPs per image that MSVP adds in front of the backbone, by operation, counted analytically.

    Per-op costs (E = C·H·W values, K prompt maps): upsampling BILINEAR_FLOPS·K·E; mean of the K
    maps K·E ((K − 1) adds and one division per value); 'add' fusion one add per value;
    'concat' a 1×1 convolution C(K+1) → C, 2 FLOPs per multiply-accumulate (as PyTorch's FLOP
    counter counts convolutions): 2·C(K+1)·C·H·W; 'gated' the 1×1 gate convolution with bias
    (2·C²·H·W + E), the sigmoid (SIGMOID_FLOPS·E), the gate × mean product (E) and the add (E).
    The prompt maps, their mean and the gate do not depend on the image: they are computed once
    per forward pass and shared by the ``batch`` images in it (batch 1 = the worst case, as the
    FLOP counter measures it)."""
    k, e, hw = len(SCALE_SETS[scales]), channels * height * width, height * width
    shared = {"bilinear upsampling": BILINEAR_FLOPS * k * e}
    per_image = {}
    if fusion == "concat":
        per_image["1×1 conv (concat)"] = 2 * channels * (k + 1) * channels * hw
    else:
        shared["mean of maps"] = k * e
        if fusion == "gated":
            shared["1×1 gate conv + bias"] = 2 * channels * channels * hw + e
            shared["sigmoid"] = SIGMOID_FLOPS * e
            shared["gate × mean"] = e
        per_image["add to image"] = e
    return {**{op: f / batch for op, f in shared.items()}, **per_image}


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
            f"({backbone}, {shape}; counted: bilinear upsampling, mean of the maps, add); "
            f"PyTorch's FLOP counter does not count these operations and reports at most {add.flops_overhead_pct.max():.3f} %")
    lat = add.latency_ratio.dropna()
    if not lat.empty:
        text += f"; forward latency ratio MSVP add/baseline {lat.min():.3f}–{lat.max():.3f} (CPU, median)"
    return ("supported" if pct < flops_tol_pct else "not supported"), text


def _fmt_cells(d: pd.DataFrame, label) -> str:
    return ", ".join(f"{label(r)} {fmt_pp(r.diff_pp, r.lo_pp, r.hi_pp)}" for r in d.itertuples())


def claim_harder_data(p: pd.DataFrame, backbone: str = "cnn", margin_pp: float = MARGIN_PP) -> tuple[str, str]:
    """'Largest gains on harder data'. Rule: on one backbone, the data sets are ranked by their
    measured baseline test error (not by a fixed list), and the claim is judged by one contrast, the
    gain on the harder data sets minus the gain on the easier ones (centred-rank weights: with three
    data sets, hardest minus easiest), with its own interval (``combine``), by ``contrast_verdict``."""
    d = p[(p.backbone == backbone) & (p.treatment == MAIN)] if not p.empty else p
    if d.empty or d.dataset.nunique() < 2:
        return "not run here", f"needs ≥ 2 data sets with paired {backbone} results"
    ok = judged(d).sort_values("baseline_err_pp")
    if len(ok) < 2:
        v = unjudged_verdict(d)
        return v, single_pair_detail(d) if v == NOT_YET else f"fewer than 2 {backbone} cells with ≥ 2 pairs"
    est = combine([row_estimate(r) for r in ok.itertuples()], rank_weights(list(ok.dataset)))
    name = lambda r: f"{DATASETS[r.dataset].title} (baseline error {r.baseline_err_pp:.1f} %)"  # noqa: E731
    text = f"{backbone}, easiest first: {_fmt_cells(ok, name)}; harder − easier {fmt_estimate(est)}"
    rest = d.drop(ok.index)
    harder = rest[rest.baseline_err_pp > ok.baseline_err_pp.max()]
    if not harder.empty:
        # the claim is about the hardest data; a contrast among the easier ones cannot carry it
        left = ", ".join(f"{name(r)}, which has a single pair" for r in harder.sort_values("baseline_err_pp").itertuples())
        return "inconclusive", (f"{text}; left out, harder than every cell judged: {left}; "
                                f"so the ordering is not judged")
    return contrast_verdict(est, margin_pp), text + equivalence_note(est, margin_pp)


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
            return NOT_YET, f"ViT-Tiny cells in training: {done} of {planned} pairs"
        return "not run here", "needs paired ViT results and another backbone on the same data set"
    ok = judged(d)
    w = transformer_weights(ok) if not ok.empty else np.zeros(0)
    if not w.any():
        v = unjudged_verdict(d)
        return v, single_pair_detail(d) if v == NOT_YET else "no data set where the ViT and another backbone both have ≥ 2 pairs"
    use = ok[w != 0]
    est = combine([row_estimate(r) for r in use.itertuples()], w[w != 0])
    cells = _fmt_cells(use, lambda r: f"{DATASETS[r.dataset].title} · {r.backbone}")
    return contrast_verdict(est, margin_pp), f"{cells}; ViT − others {fmt_estimate(est)}{equivalence_note(est, margin_pp)}"


def seeds_text(p: pd.DataFrame) -> str:
    if p.empty:
        return "–"
    n = p.n_pairs
    return str(int(n.min())) if n.min() == n.max() else f"{int(n.min())}–{int(n.max())}"


SCALE_VARIANTS = ["baseline", "msvp-add-global", "msvp-add-global_mid", "msvp-add-full"]
FUSION_VARIANTS = ["baseline", "msvp-add-full", "msvp-concat-full", "msvp-gated-full"]


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


def ablation_table(df: pd.DataFrame, dataset: str, backbone: str, variants: list[str],
                   family: pd.DataFrame | None = None) -> pd.DataFrame:
    """One cell: per variant, seeds, test accuracy mean ± std, measured prompt parameters, paired Δ vs
    baseline (seed × image interval where per-image records exist) and the verdict, Holm-corrected
    within each variant's comparison (``ablation_family``; pass it as ``family`` to compute it once)."""
    fam = ablation_family(df, variants) if family is None else family
    d = df[(df.dataset == dataset) & (df.backbone == backbone) & df.variant.isin(variants)]
    s = summarize(d).set_index("variant")
    rows = []
    for v in variants:
        if v not in s.index:
            continue
        cell = d[d.variant == v]
        row = {"variant": v, "seeds": int(s.loc[v, "n"]), "test acc (%)": fmt_pct(s.loc[v, "mean"], s.loc[v, "std"]),
               "prompt params (measured)": f"{int(cell.params_prompt.iloc[0]):,}"}
        if v == "baseline":
            row["Δ vs baseline, pp [95 % CI]"], row["verdict"] = "reference", "–"
        else:
            p = fam[(fam.dataset == dataset) & (fam.backbone == backbone) & (fam.treatment == v)] if len(fam) else fam
            row["Δ vs baseline, pp [95 % CI]"] = (fmt_pp(p.diff_pp.iloc[0], p.lo_pp.iloc[0], p.hi_pp.iloc[0])
                                                  if len(p) else "no paired seeds")
            row["verdict"] = verdict_label(p.iloc[0]) if len(p) else "–"
        rows.append(row)
    return pd.DataFrame(rows)


def progress(k: int, planned: int | None) -> str:
    """'training: 1 of 3 pairs' while the profile's planned pairs are running; 'the profile plans 1'
    once they are all in (more seeds would need another profile); '' when nothing is planned."""
    if not planned:
        return ""
    return f"training: {k} of {planned} pairs" if k < planned else f"the profile plans {planned}"


def pairs_status(k: int, planned: int | None = None) -> str:
    """A cell with fewer than 2 seed pairs, in the book's one wording, with its training progress where
    the profile plans it: 'not enough pairs yet (training: 1 of 3 pairs)'."""
    more = progress(k, planned)
    return NOT_ENOUGH_PAIRS + (f" ({more})" if more else "")


def planned_pairs(profile: str, treatments=(MAIN, "msvp-concat-full"), control: str = "baseline") -> dict:
    """(dataset, backbone, treatment) → seed pairs the profile plans (seeds it runs for both arms)."""
    from .experiments import get_profile

    seeds: dict = {}
    for c in get_profile(profile).configs():
        seeds.setdefault((c.dataset, c.backbone, c.variant), set()).add(c.seed)
    return {(d, b, t): len(s & seeds.get((d, b, control), set()))
            for (d, b, t), s in seeds.items() if t in treatments and seeds.get((d, b, control))}


def cell_label(dataset: str, backbone: str, treatment: str | None = None) -> str:
    fusion = f" · {VARIANTS[treatment].fusion}" if treatment in VARIANTS else ""
    return f"{DATASETS[dataset].title} · {backbone_title(backbone)}{fusion}"


def margin_md(df: pd.DataFrame, margin_pp: float = MARGIN_PP) -> str:
    """What the ±m margin means on each data set, from the runs: per (data set, backbone) cell, the
    baseline's test error (the most any prompt could gain), one test image in pp, the margin in test
    images and the baseline's seed-to-seed SD."""
    base = df[df.variant == "baseline"] if not df.empty else df
    if base.empty:
        return f"The margin is ±{margin_pp:g} pp; no baseline runs yet to set it beside."
    parts = []
    groups = sorted(base.groupby(["dataset", "backbone"]), key=lambda kv: list(DATASETS).index(kv[0][0]))
    for (d, b), g in groups:
        g = g.drop_duplicates("seed")
        acc, n = g.test_acc.astype(float) * 100, int(g.n_test.iloc[0])
        err, image = 100 - acc.mean(), 100 / n
        sd = f"seed SD {acc.std(ddof=1):.2f} pp over {len(acc)} seeds" if len(acc) > 1 else "one seed so far"
        room = "less than" if err < margin_pp else "more than"
        parts.append(f"- **{data_title(df, d)} · {backbone_title(b)}**: the baseline errs on {err:.2f} % of the "
                     f"{n:,} test images (about {err / image:,.0f} images), so no gain can exceed {err:.2f} pp, "
                     f"{room} the margin; one test image is {image:.3f} pp, so the margin is "
                     f"{plural_images(margin_pp / image)}; {sd}.")
    return "\n".join(parts)


def plural_images(n: float) -> str:
    return f"{n:,.0f} image{'' if round(n) == 1 else 's'}"


def power_reading(r, margin_pp: float = MARGIN_PP) -> str:
    """What a cell's detectable gain (``Estimate.detectable``) lets a reader conclude, beside the margin
    and the room the baseline leaves (its test error)."""
    mde, err = float(r.detectable_pp), float(r.baseline_err_pp)
    if mde >= err:
        return f"no possible gain is detectable: the baseline leaves {err:.2f} pp to gain"
    if err < margin_pp:
        return ("no gain can reach the margin here, so *equivalent* mainly says that MSVP does no harm; "
                f"gains above {mde:.2f} pp would be detected")
    if mde > margin_pp:
        return ("a gain as large as the margin would likely be missed: *inconclusive* is expected even if "
                "one exists")
    return "a gain as large as the margin would be detected (≥ 80 % power)"


POWER_COLUMNS = ["cell", "pairs", f"detectable gain, {100 * POWER:.0f} % power (pp)", "margin (pp)",
                 "most it could gain (baseline error, pp)", "what it means"]


def power_table(p: pd.DataFrame, plan: dict | None = None, margin_pp: float = MARGIN_PP) -> pd.DataFrame:
    """Per cell and reading: the smallest gain its evidence could detect at 80 % power (before Holm,
    which can only raise it) beside the ±m margin and the baseline's error, and what that means
    (``power_reading``). Cells the profile plans (``planned_pairs``) but that have fewer than 2 pairs
    read 'not enough pairs yet' with their training progress."""
    plan = plan or {}
    rows = []
    have = {(r.dataset, r.backbone, r.treatment): r for r in p.itertuples()} if len(p) else {}
    for key in sorted(set(have) | set(plan), key=_cell_key):
        r, n = have.get(key), plan.get(key)
        k = int(r.n_pairs) if r is not None else 0
        ok = r is not None and k >= 2 and np.isfinite(r.detectable_pp)
        rows.append([cell_label(*key), f"{k} of {n}" if n else k, f"{r.detectable_pp:.2f}" if ok else "–",
                     f"±{margin_pp:g}", f"{r.baseline_err_pp:.2f}" if r is not None else "–",
                     power_reading(r, margin_pp) if ok else pairs_status(k, n)])
    return pd.DataFrame(rows, columns=POWER_COLUMNS)


def _cell_key(key) -> tuple:
    d, b, t = key
    order = lambda x, xs: xs.index(x) if x in xs else len(xs)  # noqa: E731
    return order(t, list(VARIANTS)), order(b, list(BACKBONE_TITLES)), order(d, list(DATASETS))


def pooling_table(families: dict, margin_pp: float = MARGIN_PP) -> pd.DataFrame:
    """Per reading (name → its family): the fixed-effect mean gain over the cells with ≥ 2 pairs, which
    decides the claim, and the random-effects mean beside it, each with its interval and verdict."""
    rows = []
    for name, p in families.items():
        cells = judged(p)
        if len(cells) < 2:
            why = pairs_status(len(cells)) if len(cells) == 0 else "one cell: nothing to pool"
            rows.append([name, len(cells), why, "–", "–", "–", "–"])
            continue
        r = pooled_readings(cells, margin_pp)
        rows.append([name, r["k"], fmt_estimate(r["fixed"]), r["fixed_verdict"], fmt_estimate(r["random"]),
                     r["random_verdict"], f"{r['tau']:.2f}"])
    return pd.DataFrame(rows, columns=["reading", "cells", "fixed effect (decides)", "its verdict",
                                       "random effects", "its verdict ", "between-cell SD (pp)"])


def caveat_md(p: pd.DataFrame, long_line: str) -> str:
    """The convergence caveats of the report card's cells, once per cell, with what the schedule's
    last learning rate was, and the long-budget outcome (``long_line``) for the cells it concerns."""
    rows = p[[still_improving(r) for r in p.itertuples()]] if len(p) else p
    if rows.empty:
        return f"Every baseline had stopped improving by the end of its schedule ({long_line})."
    by_detail: dict = {}
    for r in rows.drop_duplicates(["dataset", "backbone"]).itertuples():
        by_detail.setdefault(caveat_detail(r), []).append(cell_label(r.dataset, r.backbone))
    text = "; ".join(f"{', '.join(cells)}: the baseline was {detail}" for detail, cells in by_detail.items())
    return (f"**Caveat, not a block.** {text}. Their verdicts are those of the profile's protocol and carry "
            f"this caveat. Would they change with a longer budget? {long_line[:1].upper()}{long_line[1:]}.")


def long_budget_line(results_dir, profile: str = "long") -> str:
    """Where the long-budget check's outcome goes: 'long-budget check: not run yet' until its runs exist."""
    from .experiments import get_profile
    from .results import load

    done = load(profile, results_dir)
    if done.empty:
        return "long-budget check: not run yet"
    return f"long-budget check: {len(done)} of {len(get_profile(profile).configs())} runs finished, not read yet"


def _row(p: pd.DataFrame, dataset: str, backbone: str):
    r = p[(p.dataset == dataset) & (p.backbone == backbone)] if len(p) else p
    return r.iloc[0] if len(r) else None


def _progress(p: pd.DataFrame, plan: dict, dataset: str, backbones, treatment: str) -> str:
    """'not enough pairs yet (ViT-Tiny: 1 of 3 pairs)' for the cells of a contrast that lack pairs."""
    short = []
    for b in backbones:
        r = _row(p, dataset, b)
        k, n = (int(r.n_pairs) if r is not None else 0), plan.get((dataset, b, treatment))
        if k < 2:
            more = progress(k, n) or f"{k} pairs"
            short.append(f"{backbone_title(b)}{' ' if more.startswith('training') else ': '}{more}")
    return f"{NOT_ENOUGH_PAIRS} ({'; '.join(short)})"


def backbone_contrast(p: pd.DataFrame, backbone: str, reference: str = "cnn", treatment: str = MAIN,
                      plan: dict | None = None, margin_pp: float = MARGIN_PP) -> pd.DataFrame:
    """The contrast the paper implies: ``backbone``'s gain minus ``reference``'s gain (MSVP − baseline,
    each), per data set where either ran or is planned, and pooled over the data sets where both
    have ≥ 2 pairs (each data set weighted equally), with its interval (``combine``) and verdict
    (``contrast_verdict``: the contrast is claimed to be > 0). A data set lacking pairs reads 'not
    enough pairs yet' with the training progress of the cells that lack them."""
    plan, d = plan or {}, p[p.treatment == treatment] if len(p) else p
    sets = {x for x, b in zip(d.dataset, d.backbone) if b in (backbone, reference)}
    sets |= {x for x, b, t in plan if t == treatment and b == backbone}
    name = f"{backbone_title(backbone)} gain − {backbone_title(reference)} gain"
    rows, both = [], []
    for ds in sorted(sets, key=list(DATASETS).index):
        rb, rr = _row(d, ds, backbone), _row(d, ds, reference)
        if rb is None or rr is None or min(rb.n_pairs, rr.n_pairs) < 2:
            rows.append([name, DATASETS[ds].title, "–", _progress(d, plan, ds, (backbone, reference), treatment)])
            continue
        est = combine([row_estimate(rb), row_estimate(rr)], [1.0, -1.0])
        both.append((rb, rr))
        rows.append([name, DATASETS[ds].title, fmt_estimate(est), contrast_verdict(est, margin_pp)])
    if both:
        est = combine([row_estimate(r) for pair in both for r in pair], [w / len(both) for _ in both for w in (1, -1)])
        rows.append([name, f"pooled ({len(both)} data set{'s' if len(both) > 1 else ''})", fmt_estimate(est),
                     contrast_verdict(est, margin_pp)])
    else:
        rows.append([name, "pooled", "–", NOT_ENOUGH_PAIRS])
    return pd.DataFrame(rows, columns=["contrast", "data set", "difference of gains, pp [95 % CI]", "verdict"])


def backbone_contrasts(p: pd.DataFrame, plan: dict | None = None, margin_pp: float = MARGIN_PP) -> pd.DataFrame:
    """ViT-Tiny gain − CNN gain and ResNet-18 gain − CNN gain (``backbone_contrast``), stacked."""
    return pd.concat([backbone_contrast(p, b, plan=plan, margin_pp=margin_pp) for b in ("vit", "resnet18")],
                     ignore_index=True)


def report_card(paired_df: pd.DataFrame, params: pd.DataFrame, compute: pd.DataFrame,
                plan: dict | None = None) -> pd.DataFrame:
    """Each claim of the abstract: verdict, what was measured, seeds per cell, link to the evidence
    (``plan``: the profile's ``planned_pairs``, so that cells in training read as such)."""
    cnn = paired_df[paired_df.backbone == "cnn"] if not paired_df.empty else paired_df
    vit = paired_df[paired_df.backbone == "vit"] if not paired_df.empty else paired_df
    claims = [
        ("MSVP improves accuracy (add fusion, full scales; mean gain over the data set × backbone cells "
         "with ≥ 2 seed pairs)",
         claim_accuracy(paired_df), seeds_text(paired_df),
         "[ch. 3](03_mnist.ipynb), [4](04_fashion_mnist.ipynb), [5](05_cifar10.ipynb), [8](08_backbones.ipynb)"),
        ("adds < 0.02 % parameters", claim_params(params), "–", "[ch. 9](09_accounting.ipynb)"),
        ("negligible compute overhead (< 1 % FLOPs, counted analytically)", claim_compute(compute), "–",
         "[ch. 9](09_accounting.ipynb)"),
        ("largest gains on harder data (CNN; data sets ranked by measured baseline error)", claim_harder_data(paired_df),
         seeds_text(cnn), "[ch. 8](08_backbones.ipynb)"),
        ("largest gains on transformers (ViT vs the other backbones)", claim_transformers(paired_df, plan=plan),
         seeds_text(vit),
         "[ch. 8](08_backbones.ipynb)"),
    ]
    return pd.DataFrame([{"claim": c, "verdict": v, "measured": m, "seeds per cell": s, "evidence": e}
                         for c, (v, m), s, e in claims])


def _cell_text(v) -> str:
    """A table cell for readers: no NaN or None (a dash), thousands separators on integers, no '|'."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame, bold: str | None = None) -> str:
    """A DataFrame as a Markdown table (cells may hold Markdown links); ``bold`` column in bold.
    Missing values show as a dash, integers with thousands separators, booleans as yes/no."""
    lines = ["| " + " | ".join(_cell_text(c) for c in df.columns) + " |", "|" + "---|" * len(df.columns)]
    for row in df.itertuples(index=False):
        cells = [f"**{_cell_text(v)}**" if c == bold and _cell_text(v) != "–" else _cell_text(v)
                 for c, v in zip(df.columns, row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# presentation helpers: labels that say what was trained, on what

BACKBONE_TITLES = {"cnn": "CNN", "resnet18": "ResNet-18", "vit": "ViT-Tiny"}


def backbone_title(backbone: str) -> str:
    return BACKBONE_TITLES.get(backbone, backbone)


def _span(values) -> str:
    v = sorted({int(x) for x in values if x is not None and not pd.isna(x)})
    if not v:
        return "?"
    return f"{v[0]:,}" if len(v) == 1 else f"{v[0]:,}–{v[-1]:,}"


def training_label(df: pd.DataFrame, dataset: str) -> str:
    """What the runs of ``dataset`` trained, validated and tested on, and which copy of the data:
    e.g. 'MNIST (complete copy): 54,000 training, 6,000 validation and 10,000 test images'."""
    rows = df[df.dataset == dataset]
    title = DATASETS[dataset].title
    if rows.empty:
        return title
    copies = []
    for (variant, n_tr, n_te), _ in rows.groupby(["data_variant", "data_n_train", "data_n_test"], dropna=False):
        if variant == "complete":
            copies.append("complete copy")
        else:
            spec = DATASETS[dataset]
            copies.append(f"{str(variant).replace('-', ' ')}: {int(n_tr):,} of {sum(spec.train_counts):,} training and "
                          f"{int(n_te):,} of {sum(spec.test_counts):,} test images in the file")
    return (f"{title} ({'; '.join(copies)}): {_span(rows.n_train)} training, {_span(rows.n_val)} validation "
            f"and {_span(rows.n_test)} test images")


def hardware_label(df: pd.DataFrame) -> str:
    """The machines, threads, precision and torch behind ``df``, e.g. 'AMD EPYC CPU, 1 thread per run,
    bf16 autocast; torch 2.14.1'. One thread count per run, whatever the machine's own core count."""
    if df.empty or "hardware" not in df:
        return "–"
    parts = []
    cols = ["hardware", "device_class", "threads", "precision"]
    for (hw, dev, threads, prec), _ in df[cols].astype(str).groupby(cols):
        name = hw.split(" (")[0]
        if dev == "cpu":
            t = int(float(threads)) if threads not in ("None", "nan") else None
            name += " CPU" + (f", {t} thread{'s' if t != 1 else ''} per run" if t else "")
        precision = {"bf16": "bf16 autocast", "fp32": "fp32"}.get(prec, prec)
        parts.append(f"{name}, {precision}" if prec not in ("None", "nan") else name)
    torch_versions = ", ".join(sorted({str(t).split("+")[0] for t in df.torch.dropna()}))
    return "; ".join(parts) + (f"; torch {torch_versions}" if torch_versions else "")


def param_word(n: int) -> str:
    return f"{n:,} parameter{'s' if n != 1 else ''}"
