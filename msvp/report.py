"""Tables and verdicts for the book, computed from the results store only."""
from __future__ import annotations

import pandas as pd

from .data import provenance_label
from .datasets import DATASETS
from .stats import fmt_ci, fmt_pct, paired, summarize

HARDNESS_ORDER = ("mnist", "fashion_mnist", "cifar10")  # by baseline error, easiest first


def dataset_label(df: pd.DataFrame, dataset: str) -> str:
    """Data-set title with the variant and image counts that produced the rows (e.g. the offline CIFAR-10 copy)."""
    rows = df[df.dataset == dataset]
    if rows.empty:
        return DATASETS[dataset].title
    labels = {provenance_label({"dataset": dataset, "variant": r.data_variant, "n_train": int(r.data_n_train),
                                "n_test": int(r.data_n_test)}) for r in rows.itertuples()}
    return "; ".join(sorted(labels))


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


def paired_table(df: pd.DataFrame, treatments=("msvp-add-full",), datasets=None) -> pd.DataFrame:
    frames = [paired(df, t) for t in treatments]
    p = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if datasets is not None and not p.empty:
        p = p[p.dataset.isin(datasets)].reset_index(drop=True)
    return p


def format_paired(p: pd.DataFrame) -> pd.DataFrame:
    if p.empty:
        return pd.DataFrame(columns=["dataset", "backbone", "MSVP variant", "pairs", "Δ test acc [95% CI]", "seeds won", "verdict"])
    return pd.DataFrame({
        "dataset": [DATASETS[d].title for d in p.dataset], "backbone": p.backbone, "MSVP variant": p.treatment,
        "pairs": p.n_pairs, "Δ test acc [95% CI]": [fmt_ci(r.diff_mean, r.ci_low, r.ci_high) for r in p.itertuples()],
        "seeds won": [f"{w}/{n}" for w, n in zip(p.wins, p.n_pairs)], "verdict": p.verdict})


def claim_accuracy(p: pd.DataFrame) -> tuple[str, str]:
    """'MSVP improves accuracy' over the cells that were run."""
    if p.empty:
        return "not run here", "no paired results"
    counts = p.verdict.value_counts().to_dict()
    detail = ", ".join(f"{v}: {counts.get(v, 0)}" for v in ("improves", "inconclusive", "hurts"))
    if counts.get("improves", 0) == len(p):
        return "supported", f"every cell improves ({detail})"
    if counts.get("hurts", 0) > 0:
        return "not supported", f"cells by verdict: {detail}"
    return "inconclusive", f"cells by verdict: {detail}"


def claim_params(params: pd.DataFrame, threshold_pct: float = 0.02) -> tuple[str, str]:
    """'< 0.02 % parameters' for the main setting (add fusion, full scales) on every backbone × input."""
    main = params[(params.fusion == "add") & (params.scales == "full")]
    over = main[main.overhead_pct >= threshold_pct]
    worst = main.loc[main.overhead_pct.idxmax()]
    text = (f"largest overhead {worst.overhead_pct:.4f} % ({worst.backbone}, {worst['input']}: "
            f"{worst.prompt_params} / {worst.backbone_params:,})")
    if over.empty:
        return "supported", text
    return "not supported", text + f"; {len(over)} of {len(main)} backbone × input pairs reach ≥ {threshold_pct} %"


def claim_compute(compute: pd.DataFrame, flops_tol_pct: float = 1.0) -> tuple[str, str]:
    """'Negligible compute': FLOPs overhead of add/full below 1 % on every pair, with measured latency."""
    add = compute[compute.variant == "msvp-add-full"]
    fl = add.flops_overhead_pct.max()
    lat = add.latency_ratio.dropna()
    text = f"FLOPs overhead at most {fl:.3f} % (conv/matmul FLOPs)"
    if not lat.empty:
        text += f"; forward latency ratio MSVP/baseline {lat.min():.3f}–{lat.max():.3f} (CPU, median)"
    return ("supported" if fl < flops_tol_pct else "not supported"), text


def claim_harder_data(p: pd.DataFrame, backbone: str = "cnn") -> tuple[str, str]:
    """'Largest gains on harder data': the hardest dataset run has the largest mean gain, and it is positive
    with an interval excluding 0."""
    d = p[(p.backbone == backbone) & (p.treatment == "msvp-add-full")]
    order = [x for x in HARDNESS_ORDER if x in set(d.dataset)]
    if len(order) < 2:
        return "not run here", f"needs ≥ 2 datasets with paired {backbone} results"
    d = d.set_index("dataset").loc[order]
    hardest = d.iloc[-1]
    gains = ", ".join(f"{DATASETS[k].title} {fmt_ci(r.diff_mean, r.ci_low, r.ci_high)}" for k, r in d.iterrows())
    if hardest.diff_mean == d.diff_mean.max() and hardest.verdict == "improves":
        return "supported", f"{backbone}: {gains}"
    if hardest.verdict == "hurts" or hardest.diff_mean < d.diff_mean.iloc[:-1].max():
        return "not supported", f"{backbone}: {gains}"
    return "inconclusive", f"{backbone}: {gains}"


def claim_transformers(p: pd.DataFrame) -> tuple[str, str]:
    """'Largest gains on transformers': on each dataset with ViT and another backbone, the ViT has the
    largest mean gain and an interval excluding 0 (a win), or not the largest (a loss)."""
    d = p[p.treatment == "msvp-add-full"]
    cells = [cell.set_index("backbone") for _, cell in d.groupby("dataset")
             if "vit" in set(cell.backbone) and cell.backbone.nunique() > 1]
    if not cells:
        return "not run here", "needs paired ViT results and another backbone on the same dataset"
    largest = [c.diff_mean.idxmax() == "vit" for c in cells]
    wins = sum(big and c.loc["vit", "verdict"] == "improves" for big, c in zip(largest, cells))
    losses = sum(not big for big in largest)
    text = "; ".join(f"{DATASETS[c.dataset.iloc[0]].title}: " + ", ".join(
        f"{b} {fmt_ci(r.diff_mean, r.ci_low, r.ci_high)}" for b, r in c.iterrows()) for c in cells)
    verdict = "supported" if wins == len(cells) else ("not supported" if losses == len(cells) else "inconclusive")
    return verdict, text

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


def ablation_table(df: pd.DataFrame, dataset: str, backbone: str, variants: list[str]) -> pd.DataFrame:
    """One cell: per variant, seeds, test accuracy mean ± std, measured prompt parameters, paired Δ vs baseline."""
    d = df[(df.dataset == dataset) & (df.backbone == backbone) & df.variant.isin(variants)]
    s = summarize(d).set_index("variant")
    rows = []
    for v in variants:
        if v not in s.index:
            continue
        cell = d[d.variant == v]
        row = {"variant": v, "seeds": int(s.loc[v, "n"]), "test acc (%)": fmt_pct(s.loc[v, "mean"], s.loc[v, "std"]),
               "prompt params (measured)": int(cell.params_prompt.iloc[0])}
        if v != "baseline":
            p = paired(d, v)
            row["Δ vs baseline [95% CI]"] = fmt_ci(p.diff_mean[0], p.ci_low[0], p.ci_high[0]) if len(p) else "–"
            row["verdict"] = p.verdict[0] if len(p) else "–"
        rows.append(row)
    return pd.DataFrame(rows)


def report_card(paired_df: pd.DataFrame, params: pd.DataFrame, compute: pd.DataFrame) -> pd.DataFrame:
    """Each claim of the abstract: verdict, what was measured, seeds per cell, link to the evidence."""
    cnn, vit = paired_df[paired_df.backbone == "cnn"], paired_df[paired_df.backbone == "vit"]
    claims = [
        ("MSVP improves accuracy (add fusion, full scales; every data set × backbone run)", claim_accuracy(paired_df),
         seeds_text(paired_df), "[ch. 3](03_mnist.ipynb), [4](04_fashion_mnist.ipynb), [5](05_cifar10.ipynb), [8](08_backbones.ipynb)"),
        ("adds < 0.02 % parameters", claim_params(params), "–", "[ch. 9](09_accounting.ipynb)"),
        ("negligible compute overhead", claim_compute(compute), "–", "[ch. 9](09_accounting.ipynb)"),
        ("largest gains on harder data (CNN: MNIST → Fashion-MNIST → CIFAR-10)", claim_harder_data(paired_df),
         seeds_text(cnn), "[ch. 8](08_backbones.ipynb)"),
        ("largest gains on transformers (ViT)", claim_transformers(paired_df), seeds_text(vit), "[ch. 8](08_backbones.ipynb)"),
    ]
    return pd.DataFrame([{"claim": c, "verdict": v, "measured": m, "seeds per cell": s, "evidence": e}
                         for c, (v, m), s, e in claims])


def markdown_table(df: pd.DataFrame, bold: str | None = None) -> str:
    """A DataFrame as a Markdown table (cells may hold Markdown links); ``bold`` column in bold."""
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    for row in df.itertuples(index=False):
        cells = [f"**{v}**" if c == bold else str(v) for c, v in zip(df.columns, row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
