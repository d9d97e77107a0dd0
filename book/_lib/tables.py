"""Tables and paragraphs of evidence for readers: the margin, power, pooling, convergence caveats,
backbone contrasts, ablation cells and the report card, all computed from paired rows."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from msvp.datasets import DATASETS
from msvp.experiments import VARIANTS
from msvp.stats import MARGIN_PP, NOT_ENOUGH_PAIRS, POWER, combine, contrast_verdict, fmt_pct, fmt_pp, row_estimate, summarize
from msvp.verdicts import (
    LONG_PROFILE,
    LONG_REFERENCE,
    ablation_family,
    claim_accuracy,
    claim_compute,
    claim_harder_data,
    claim_params,
    claim_transformers,
    fmt_estimate,
    judged,
    long_budget,
    pairs_status,
    planned_pairs,
    pooled_readings,
    progress,
    seeds_text,
    still_improving,
)

from .names import (
    BACKBONE_TITLES,
    MAIN,
    backbone_title,
    cell_name,
    label,
)
from .sections import acc_text
from .words import (
    caveat_detail,
    data_title,
    delta_text,
    hardware_label,
    plural_images,
    verdict_label,
)


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
        # power is 50 % where a true gain equals the test's critical distance, the interval's half-width
        if margin_pp >= (float(r.hi_pp) - float(r.lo_pp)) / 2:
            return ("power at the margin lies between 50 and 80 %: a gain as large as the margin would more often "
                    "be detected than missed, but *inconclusive* would not be surprising")
        return ("a gain as large as the margin would likely be missed (power below 50 %): *inconclusive* is "
                "expected even if one exists")
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
        rows.append([cell_name(*key), f"{k} of {n}" if n else k, f"{r.detectable_pp:.2f}" if ok else "–",
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
        by_detail.setdefault(caveat_detail(r), []).append(cell_name(r.dataset, r.backbone))
    text = "; ".join(f"{', '.join(cells)}: the baseline was {detail}" for detail, cells in by_detail.items())
    return (f"**Caveat, not a block.** {text}. Their verdicts are those of the profile's protocol and carry "
            f"this caveat. Would they change with a longer budget? {long_line[:1].upper()}{long_line[1:]}.")


def long_budget_table(results_dir, protocol_df: pd.DataFrame, page_profile: str) -> tuple[pd.DataFrame, str]:
    """The long-budget check for readers: per comparison and cell, the paired gain at the protocol
    (the book's verdict) and after the long budget, and one line that says whether the verdicts change
    ('long-budget check: not run yet' until its runs exist). It extends one profile's protocol
    (``LONG_REFERENCE``); a page of another profile only says so."""
    from msvp.experiments import get_profile
    from msvp.results import load

    if page_profile != LONG_REFERENCE:
        return pd.DataFrame(), f"long-budget check: it extends the `{LONG_REFERENCE}` profile, not `{page_profile}`"
    done, planned = load(LONG_PROFILE, results_dir), len(get_profile(LONG_PROFILE).configs())
    if done.empty:
        return pd.DataFrame(), f"long-budget check: not run yet (0 of {planned} runs)"
    rows = long_budget(done, protocol_df)
    runs = f"{len(done)} of {planned} runs"
    if rows.empty or not (rows.budget == "long").any():
        return pd.DataFrame(), f"long-budget check: {runs} finished, no complete pair yet"
    out = pd.DataFrame({
        "comparison": [f"{cell_name(r.dataset, r.backbone)} · {label(r.treatment)}" for r in rows.itertuples()],
        "budget": [f"{r.budget} ({r.epochs} epochs)" for r in rows.itertuples()],
        "MSVP − baseline (pp), 95 % CI": [delta_text(r, pairs=True) for r in rows.itertuples()],
        "verdict": [verdict_label(r) for r in rows.itertuples()]})
    cells = set(zip(rows.dataset, rows.backbone))
    compared = protocol_df[[(d, b) in cells for d, b in zip(protocol_df.dataset, protocol_df.backbone)]] \
        if len(protocol_df) else protocol_df
    out.attrs["hardware"] = {"long": hardware_label(done), "protocol": hardware_label(compared)}
    return out, f"long-budget check ({runs}): " + "; ".join(_budget_changes(rows, planned_pairs(LONG_PROFILE)))


def _budget_changes(rows: pd.DataFrame, plan: dict) -> list[str]:
    """'MSVP add, full on CIFAR-10 · CNN: equivalent at 10 epochs, still equivalent at 30'. Verdicts
    are compared only where both budgets have one (2 pairs or more); ``plan``: the long pairs planned."""
    out = []
    for (t, d, b), g in rows.groupby(["treatment", "dataset", "backbone"], sort=False):
        at = {r.budget: r for r in g.itertuples()}
        if "long" not in at:
            continue
        lng = at["long"]
        what = f"{label(t)} on {cell_name(d, b)}"
        if lng.n_pairs < 2:
            out.append(f"{what}: no verdict at {lng.epochs} epochs yet, {pairs_status(int(lng.n_pairs), plan.get((d, b, t)))}")
            continue
        if "protocol" not in at or at["protocol"].n_pairs < 2:
            out.append(f"{what}: {_short(lng)} at {lng.epochs} epochs (no verdict at the protocol yet)")
            continue
        prot = at["protocol"]
        same = _short(prot) == _short(lng)
        out.append(f"{what}: {_short(prot)} at {prot.epochs} epochs, {'still ' if same else ''}{_short(lng)} at "
                   f"{lng.epochs} ({'the verdict stands' if same else 'the verdict changes'})")
    return out


def _short(r) -> str:
    return NOT_ENOUGH_PAIRS if r.n_pairs < 2 else str(r.verdict)


def _row(p: pd.DataFrame, dataset: str, backbone: str):
    r = p[(p.dataset == dataset) & (p.backbone == backbone)] if len(p) else p
    return r.iloc[0] if len(r) else None


def _progress(p: pd.DataFrame, plan: dict, dataset: str, backbones, treatment: str) -> str:
    """'not enough pairs yet (ViT-Tiny: 1 of 3 planned pairs done)' for the cells of a contrast that lack pairs."""
    short = []
    for b in backbones:
        r = _row(p, dataset, b)
        k, n = (int(r.n_pairs) if r is not None else 0), plan.get((dataset, b, treatment))
        if k < 2:
            more = progress(k, n) or f"{k} pairs"
            short.append(f"{backbone_title(b)}: {more}")
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


PARAMS_CLAIM = "adds < 0.02 % parameters"
COMPUTE_CLAIM = "negligible compute overhead (< 1 % FLOPs, counted analytically)"


def bound_figure(claim: str, measured: str) -> str:
    """The number a bound claim is judged by, for the plain-words list: 'largest overhead 0.0201 %'."""
    if claim == PARAMS_CLAIM and measured.startswith("largest overhead"):
        # an exact count, not an estimate: say by how many parameters it misses where it does
        m = re.search(r"\(([^():]*): (\d[\d,]*) against ([\d.,]+) allowed", measured)
        miss = f"; an exact count: {m.group(2)} parameters on the {m.group(1)}, where {m.group(3)} are allowed" if m else ""
        return measured.split(" (")[0] + miss
    if claim == COMPUTE_CLAIM and (m := re.search(r"= ([\d.]+ %) of the backbone", measured)):
        return f"MSVP adds at most {m.group(1)} of the backbone's FLOPs"
    return ""


def harder_data_backbone(paired_df: pd.DataFrame) -> str:
    """The backbone that judges 'largest gains on harder data': the CNN where it has paired runs on
    2 or more data sets (as the paper's main table), else the convolutional backbone with the most
    (the GPU runs have ResNet-18 only); the ViT has a claim of its own."""
    if paired_df.empty:
        return "cnn"
    sets = {b: paired_df[paired_df.backbone == b].dataset.nunique() for b in ("cnn", "resnet18")}
    return "cnn" if sets["cnn"] >= 2 or sets["cnn"] >= sets["resnet18"] else "resnet18"


def report_card(paired_df: pd.DataFrame, params: pd.DataFrame, compute: pd.DataFrame,
                plan: dict | None = None) -> pd.DataFrame:
    """Each claim of the abstract: verdict, what was measured, seeds per cell, link to the evidence
    (``plan``: the profile's ``planned_pairs``, so that cells in training read as such)."""
    ranked = harder_data_backbone(paired_df)
    by = paired_df[paired_df.backbone == ranked] if not paired_df.empty else paired_df
    vit = paired_df[paired_df.backbone == "vit"] if not paired_df.empty else paired_df
    claims = [
        ("MSVP improves accuracy (add fusion, full scales; mean gain over the data set × backbone cells "
         "with ≥ 2 seed pairs)",
         claim_accuracy(paired_df), seeds_text(paired_df),
         "[ch. 3](03_mnist.ipynb), [4](04_fashion_mnist.ipynb), [5](05_cifar10.ipynb), [8](08_backbones.ipynb)"),
        (PARAMS_CLAIM, claim_params(params), "–", "[ch. 9](09_accounting.ipynb)"),
        (COMPUTE_CLAIM, claim_compute(compute), "–", "[ch. 9](09_accounting.ipynb)"),
        (f"largest gains on harder data ({BACKBONE_TITLES[ranked]}; data sets ranked by measured baseline error)",
         claim_harder_data(paired_df, ranked), seeds_text(by), "[ch. 8](08_backbones.ipynb)"),
        # the claim is a contrast (ViT gain − the other backbones' gain): count the seeds of both sides
        ("largest gains on transformers (ViT vs the other backbones)", claim_transformers(paired_df, plan=plan),
         seeds_text(paired_df[paired_df.dataset.isin(set(vit.dataset))] if len(vit) else vit),
         "[ch. 8](08_backbones.ipynb)"),
    ]
    return pd.DataFrame([{"claim": c, "verdict": v, "measured": m, "seeds per cell": s, "evidence": e}
                         for c, (v, m), s, e in claims])


def _paired_baseline_note(base: pd.DataFrame, fam: pd.DataFrame, dataset: str, backbone: str) -> str:
    """'; 92.51 ± 0.16 on seeds 0, 1, 2 (the pairs of the 3-seed variants)': the baseline over the
    seeds a variant was paired on, where those are fewer than the baseline's, so that each row's
    accuracy minus this one gives its Δ (the baseline has 5 seeds, most ablation variants 3)."""
    if fam.empty or base.empty:
        return ""
    rows = fam[(fam.dataset == dataset) & (fam.backbone == backbone)]
    every = set(base.seed.astype(int))
    notes = []
    for seeds in sorted({tuple(sorted(int(x) for x in r.seeds)) for r in rows.itertuples()} - {tuple(sorted(every))}):
        notes.append(f"{acc_text(base, dataset, backbone, 'baseline', seeds)} on seeds {', '.join(map(str, seeds))} "
                     f"(the pairs of the {len(seeds)}-seed variants)")
    return "; " + "; ".join(notes) if notes else ""


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
            row["test acc (%)"] += _paired_baseline_note(d[d.variant == v], fam, dataset, backbone)
            row["Δ vs baseline, pp [95 % CI]"], row["verdict"] = "reference", "–"
        else:
            p = fam[(fam.dataset == dataset) & (fam.backbone == backbone) & (fam.treatment == v)] if len(fam) else fam
            row["Δ vs baseline, pp [95 % CI]"] = (fmt_pp(p.diff_pp.iloc[0], p.lo_pp.iloc[0], p.hi_pp.iloc[0])
                                                  if len(p) else "no paired seeds")
            row["verdict"] = verdict_label(p.iloc[0]) if len(p) else "–"
        rows.append(row)
    return pd.DataFrame(rows)
