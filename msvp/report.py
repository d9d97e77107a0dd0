"""Tables and verdicts for the book, computed from the results store only."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .data import provenance_label
from .datasets import DATASETS
from .experiments import VARIANTS
from .prompting import SCALE_SETS
from .stats import (  # noqa: F401 (re-exported)
    LEVEL,
    MARGIN_PP,
    Estimate,
    add_verdicts,
    combine,
    contrast_verdict,
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
VERDICTS = ("improves", "equivalent", "inconclusive", "hurts", "not converged at this budget")
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
    """Paired statistics and verdicts for every cell × treatment of ``df``. Holm's correction runs over
    all of them (the cells of one claim, or of one ablation) before ``datasets`` picks the rows to
    show, so a chapter shows the report card's verdicts."""
    p = paired_family(df, treatments, **kw)
    if datasets is not None and not p.empty:
        p = p[p.dataset.isin(datasets)].reset_index(drop=True)
    return p


def fmt_mcnemar(ps) -> str:
    return ", ".join(f"{x:.2g}" for x in ps) if len(ps) else "–"


SINGLE_PAIR = "no verdict yet (1 pair)"


def verdict_label(row, margin_pp: float = MARGIN_PP) -> str:
    """The one wording of a cell's verdict, used by every table and sentence of the book (report card,
    experiment chapters, controls), so that a reader meets the same phrase everywhere. It names what the
    verdict rests on: the margin for 'equivalent', the baseline's late rise for 'not converged', and
    the missing interval for a single seed pair."""
    if row.n_pairs < 2:
        return SINGLE_PAIR
    if row.verdict == "equivalent":
        # the Holm-adjusted TOST p decided it: shown, since the 95 % interval beside it may reach past ±m
        p_tost = float(getattr(row, "p_tost_holm", np.nan))
        return f"equivalent (within ±{margin_pp:g} pp" + (f", TOST p = {p_tost:.2g})" if np.isfinite(p_tost) else ")")
    if str(row.verdict).startswith("not converged") and np.isfinite(row.val_rise_pp):
        return (f"not converged at this budget: baseline val. acc. {signed(float(row.val_rise_pp))} pp "
                f"over its last 2 epochs")
    return str(row.verdict)


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
    """Rows that can carry a claim: the baseline passed (or was not checked by) the convergence gate,
    and the cell has an interval."""
    if p.empty:
        return p
    se = np.sqrt(p.var_t.astype(float) + p.var_z.astype(float))
    return p[~p.converged.eq(False).to_numpy() & np.isfinite(se.to_numpy())]


def verdict_counts(p: pd.DataFrame) -> str:
    """'inconclusive: 1, no verdict yet (1 pair): 2': a cell with a single pair has no interval, so it
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
    "supported": f"the pooled gain's {LEVEL:.0%} interval lies above 0",
    "not supported": f"the pooled gain's {LEVEL:.0%} interval lies below 0, or the gain is shown equivalent "
                     f"to 0 within ±{MARGIN_PP:g} pp",
    "inconclusive": f"the pooled gain's {LEVEL:.0%} interval straddles 0 and the gain is not shown within "
                    f"±{MARGIN_PP:g} pp of 0",
}
"""What a verdict of the accuracy claim means (the rule of ``contrast_verdict``), for the front page."""

NOT_YET = "not judged yet"
"""A claim whose every cell has a single paired seed: no interval exists, so no rule can apply yet."""


def unjudged_verdict(p: pd.DataFrame) -> str:
    """The verdict of a claim that no cell can carry: every cell has one pair, or no baseline converged."""
    if len(p) and (p.n_pairs < 2).all():
        return NOT_YET
    return "not converged at this budget" if len(p) and p.converged.eq(False).all() else "inconclusive"


def single_pair_detail(p: pd.DataFrame) -> str:
    return (f"all {len(p)} cells have a single paired seed so far; an interval, and so a verdict, needs "
            f"at least 2 pairs per cell")


def claim_accuracy(p: pd.DataFrame, margin_pp: float = MARGIN_PP) -> tuple[str, str]:
    """'MSVP improves accuracy'. Rule: the headline is the random-effects pooled gain over the cells
    whose baseline converged (``pooled_effect``), judged by ``contrast_verdict``: supported if its
    95 % interval lies above 0; not supported if it lies below 0 or the gain is equivalent to 0
    within ±m; inconclusive otherwise. The per-cell verdicts (Holm-corrected across the cells) are
    listed beside it; a cell that 'hurts' no longer vetoes the claim on its own."""
    if p.empty:
        return "not run here", "no paired results"
    if unjudged_verdict(p) == NOT_YET:
        return NOT_YET, single_pair_detail(p)
    family = int(p.holm_m.iloc[0]) if "holm_m" in p else len(p)
    detail = f"cells: {verdict_counts(p)} (Holm over {family} tested cells)"
    cells = judged(p)
    if cells.empty:
        return unjudged_verdict(p), detail
    pool = pooled_effect([row_estimate(r) for r in cells.itertuples()])
    if pool.k == 1:
        how = f"the one cell of {len(p)} whose baseline converged and that has ≥ 2 pairs"
    else:
        weak = ", which 2 cells can barely estimate" if pool.k == 2 else ""
        how = (f"random effects over the {pool.k} of {len(p)} cells whose baseline converged and that have "
               f"≥ 2 pairs; between-cell SD {np.sqrt(pool.tau2):.2f} pp{weak}")
    text = (f"pooled gain {fmt_estimate(pool.estimate)}: {how}"
            f"{equivalence_note(pool.estimate, margin_pp)}; {detail}")
    return contrast_verdict(pool.estimate, margin_pp), text


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
        return v, single_pair_detail(d) if v == NOT_YET else f"fewer than 2 {backbone} cells whose baseline converged"
    est = combine([row_estimate(r) for r in ok.itertuples()], rank_weights(list(ok.dataset)))
    name = lambda r: f"{DATASETS[r.dataset].title} (baseline error {r.baseline_err_pp:.1f} %)"  # noqa: E731
    text = f"{backbone}, easiest first: {_fmt_cells(ok, name)}; harder − easier {fmt_estimate(est)}"
    rest = d.drop(ok.index)
    harder = rest[rest.baseline_err_pp > ok.baseline_err_pp.max()]
    if not harder.empty:
        # the claim is about the hardest data; a contrast among the easier ones cannot carry it
        # `in (False,)`: numpy's False is not `False`, and an unchecked cell (None, NaN) did not fail
        why = lambda r: "failed the convergence gate" if r.converged in (False,) else "has a single pair"  # noqa: E731
        left = ", ".join(f"{name(r)}, which {why(r)}" for r in harder.sort_values("baseline_err_pp").itertuples())
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


def claim_transformers(p: pd.DataFrame, margin_pp: float = MARGIN_PP) -> tuple[str, str]:
    """'Largest gains on transformers'. Rule: one contrast, the ViT's gain minus the mean gain of the
    other backbones on the same data set, averaged over the data sets that have both, with its own
    interval (``combine``), judged by ``contrast_verdict``."""
    d = p[p.treatment == MAIN] if not p.empty else p
    if d.empty or not transformer_weights(d).any():
        return "not run here", "needs paired ViT results and another backbone on the same data set"
    ok = judged(d)
    w = transformer_weights(ok) if not ok.empty else np.zeros(0)
    if not w.any():
        v = unjudged_verdict(d)
        return v, single_pair_detail(d) if v == NOT_YET else "no data set where the ViT and another backbone both converged"
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
    """Paired rows for every cell × MSVP variant of an ablation: one Holm family."""
    cells = set(ablation_cells(df, variants))
    keep = np.array([(d, b) in cells for d, b in zip(df.dataset, df.backbone)], dtype=bool)  # [] would pick columns
    return paired_family(df[keep], [v for v in variants if v != "baseline"], **kw)


def ablation_table(df: pd.DataFrame, dataset: str, backbone: str, variants: list[str],
                   family: pd.DataFrame | None = None) -> pd.DataFrame:
    """One cell: per variant, seeds, test accuracy mean ± std, measured prompt parameters, paired Δ vs
    baseline (seed × image interval where per-image records exist) and the verdict, Holm-corrected
    across the whole ablation (``ablation_family``; pass it as ``family`` to compute it once)."""
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


def margin_context(df: pd.DataFrame, margin_pp: float = MARGIN_PP) -> str:
    """The equivalence margin beside what it is compared with, per data set: the baseline's
    seed-to-seed standard deviation and its test error (pp), from the runs. A margin far above the
    spread means 'equivalent' is a coarse statement; one near the error means little room is left."""
    base = df[df.variant == "baseline"] if not df.empty else df
    if base.empty:
        return f"The margin is ±{margin_pp:g} pp; no baseline runs yet to set it beside."
    parts = []
    groups = sorted(base.groupby(["dataset", "backbone"]), key=lambda kv: list(DATASETS).index(kv[0][0]))
    for (d, b), g in groups:
        acc = g.drop_duplicates("seed").test_acc.astype(float) * 100
        sd = f"seed SD {acc.std(ddof=1):.2f} pp over {len(acc)} seeds" if len(acc) > 1 else "one seed"
        parts.append(f"{data_title(df, d)} · {backbone_title(b)} {sd}, error {100 - acc.mean():.2f} %")
    return (f"**The margin beside the measurements.** ±{margin_pp:g} pp against each baseline: "
            + "; ".join(parts) + ". Where the seed SD is much smaller than the margin, *equivalent* is a coarse "
            "statement (no effect as large as the margin); where the error is near it, there is little room for "
            "any gain at all.")


def _ungated_cells(p: pd.DataFrame, margin_pp: float) -> tuple[pd.DataFrame, list[str]]:
    """One reading's family with the gate waived (Holm over all its cells again), and a phrase for
    each cell the gate had stopped."""
    gated = p.converged.eq(False).to_numpy()
    q = add_verdicts(p.assign(converged=True))
    return q, [f"{DATASETS[r.dataset].title} · {backbone_title(r.backbone)} ({VARIANTS[r.treatment].fusion}) "
               f"{fmt_pp(r.diff_pp, r.lo_pp, r.hi_pp)}: *{verdict_label(r, margin_pp)}*" for r in q[gated].itertuples()]


def gate_sensitivity(p: pd.DataFrame, margin_pp: float = MARGIN_PP, others=()) -> str:
    """What the per-cell verdicts and the accuracy-gain claims would read if the convergence gate were
    waived: a sensitivity check for readers who think the late rise under a cosine schedule is
    annealing rather than under-training. The gate stays the rule; this only shows how much rests on
    it. ``p`` is the claims' family (add/full); ``others`` are further readings' families (concat),
    whose cells are listed too. Empty when no cell failed the gate."""
    if p.empty or not p.converged.eq(False).any():
        return ""
    q, cells = _ungated_cells(p, margin_pp)
    for o in others:
        if len(o) and o.converged.eq(False).any():
            cells += _ungated_cells(o, margin_pp)[1]
    claims = "; ".join(f"{name} *{f(q)[0]}*" for name, f in (("accuracy gain", claim_accuracy),
                                                            ("harder data", claim_harder_data),
                                                            ("transformers", claim_transformers)))
    return (f"**If the convergence gate were waived** (a sensitivity check, not the rule): {'; '.join(cells)}. "
            f"The claims would read: {claims}.")


def report_card(paired_df: pd.DataFrame, params: pd.DataFrame, compute: pd.DataFrame) -> pd.DataFrame:
    """Each claim of the abstract: verdict, what was measured, seeds per cell, link to the evidence."""
    cnn = paired_df[paired_df.backbone == "cnn"] if not paired_df.empty else paired_df
    vit = paired_df[paired_df.backbone == "vit"] if not paired_df.empty else paired_df
    claims = [
        ("MSVP improves accuracy (add fusion, full scales; pooled over the data set × backbone cells whose "
         "baseline converged)",
         claim_accuracy(paired_df), seeds_text(paired_df),
         "[ch. 3](03_mnist.ipynb), [4](04_fashion_mnist.ipynb), [5](05_cifar10.ipynb), [8](08_backbones.ipynb)"),
        ("adds < 0.02 % parameters", claim_params(params), "–", "[ch. 9](09_accounting.ipynb)"),
        ("negligible compute overhead (< 1 % FLOPs, counted analytically)", claim_compute(compute), "–",
         "[ch. 9](09_accounting.ipynb)"),
        ("largest gains on harder data (CNN; data sets ranked by measured baseline error)", claim_harder_data(paired_df),
         seeds_text(cnn), "[ch. 8](08_backbones.ipynb)"),
        ("largest gains on transformers (ViT vs the other backbones)", claim_transformers(paired_df), seeds_text(vit),
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
