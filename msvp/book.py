"""Small helpers the chapters share, so that notebooks stay a sequence of one-line calls."""
from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from .grid import get_profile, run_grid
from .results import load, load_records


def setup_plots() -> None:
    matplotlib.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "font.size": 9,
                                "axes.spines.top": False, "axes.spines.right": False})
    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 20)


def ensure_results(profile: str, results_dir, *, only: str | None = None, retrain: bool = False,
                   data_root="../data") -> pd.DataFrame:
    """Train the profile's missing runs when ``retrain``, else only report them; return all finished runs.

    Finished runs are never re-trained: their result files are the source of every number shown.
    """
    summary = run_grid(profile, only=only, results=results_dir, data_root=data_root, train=retrain,
                       progress=False, log=lambda *_: None)
    if summary["missing"]:
        print(f"{len(summary['missing'])} run(s) of profile {profile!r} are not in {results_dir}; this page shows "
              f"what exists. To run them: python -m msvp grid --profile {profile}" + (f" --only '{only}'" if only else ""))
    return load(profile, results_dir)


def not_run(profile: str, df: pd.DataFrame, dataset: str) -> list[str]:
    """Backbones the profile plans for ``dataset`` that have no results, and the paper profile's extra ones."""
    have = set(df[df.dataset == dataset].backbone)
    planned = {b for d, b in get_profile("paper").main if d == dataset}
    return sorted(planned - have)


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



# --- figures of the experiment chapters (3-5): one call per section -----------------------------
MAIN_PAIR = ("baseline", "msvp-add-full")


def _seed0_pair(profile, results_dir, dataset, backbone) -> dict:
    return {r["variant"]: r for r in records_for(profile, results_dir, dataset=dataset, backbone=backbone, seed=0)
            if r["variant"] in MAIN_PAIR}


def show_learning_curves(profile, results_dir, df: pd.DataFrame, dataset: str) -> None:
    from . import report, viz

    for backbone in sorted(df.backbone.unique()):
        recs = [r for r in records_for(profile, results_dir, dataset=dataset, backbone=backbone) if r["variant"] in MAIN_PAIR]
        viz.plot_learning_curves(recs, f"{report.dataset_label(df, dataset)} · {backbone}: learning curves")


def show_confusions(profile, results_dir, df: pd.DataFrame, dataset: str) -> None:
    from . import report, viz
    from .datasets import DATASETS

    for backbone in sorted(df.backbone.unique()):
        pair = _seed0_pair(profile, results_dir, dataset, backbone)
        if pair:
            viz.plot_confusions({viz.label(k): pair[k]["confusion"] for k in sorted(pair)}, DATASETS[dataset].classes,
                                f"{report.dataset_label(df, dataset)} · {backbone}: test confusion (seed 0, last epoch)")


def show_learned_prompts(profile, results_dir, df: pd.DataFrame, dataset: str) -> None:
    from . import viz
    from .datasets import DATASETS

    for backbone in sorted(df.backbone.unique()):
        rec = _seed0_pair(profile, results_dir, dataset, backbone).get("msvp-add-full")
        if rec:
            viz.plot_learned_prompts(rec, f"Learned prompt, {DATASETS[dataset].title} · {backbone} (seed 0, channel 0)")


def show_saliency(profile, results_dir, df: pd.DataFrame, dataset: str, data_root="../data") -> None:
    from . import viz
    from .datasets import DATASETS

    for backbone in sorted(df.backbone.unique()):
        pair = {viz.label(k): r for k, r in sorted(_seed0_pair(profile, results_dir, dataset, backbone).items())
                if "explanations" in r}
        if pair:
            first = next(iter(pair.values()))
            names = [DATASETS[dataset].classes[c] for c in first["explanations"]["labels"]]
            viz.plot_saliency(example_images(first, data_root), pair, names,
                              f"{DATASETS[dataset].title} · {backbone}: {first['explanations']['method']} "
                              "on one test image per class (seed 0)")


# --- ablation chapters (6-7) -----------------------------------------------------------------------
def show_ablation_tables(df: pd.DataFrame, variants: list[str]) -> None:
    from IPython.display import display

    from . import report

    for dataset, backbone in report.ablation_cells(df, variants):
        print(f"{report.dataset_label(df, dataset)} · {backbone}")
        display(report.ablation_table(df, dataset, backbone, variants))


def show_ablation_figures(df: pd.DataFrame, variants: list[str], title: str) -> None:
    from . import report, viz

    for dataset, backbone in report.ablation_cells(df, variants):
        d = df[(df.dataset == dataset) & (df.backbone == backbone)]
        params = d.groupby("variant").params_prompt.first().to_dict()
        viz.plot_ablation(report.summarize(d[d.variant.isin(variants)]), params, variants,
                          f"{title}: {report.dataset_label(df, dataset)} · {backbone}")


def print_provenance(profile: str, df: pd.DataFrame) -> None:
    """Which profile (and its deviation from the paper) and which hardware made the numbers below."""
    print("profile:", profile, "-", get_profile(profile).description)
    print("hardware:", ", ".join(sorted(set(df.hardware.dropna()))) or "-",
          "| torch", ", ".join(sorted(set(df.torch.dropna()))) or "-")


def print_setting(profile: str, df: pd.DataFrame, dataset: str) -> None:
    """Profile, data copy, hardware, and what was not run for one dataset."""
    from .report import dataset_label

    print_provenance(profile, df)
    print("data:", dataset_label(df, dataset))
    missing = not_run(profile, df, dataset)
    if missing:
        print(f"not run in this profile: {', '.join(missing)}; run them with: "
              f"python -m msvp grid --profile paper --only dataset={dataset}")
