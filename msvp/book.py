"""Small helpers the chapters share, so that notebooks stay a sequence of one-line calls."""
from __future__ import annotations

from pathlib import Path

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
    from .data import load_dataset, stratified_prefix

    cfg = record["config"]
    data = load_dataset(cfg["dataset"], data_root)
    if data.provenance["variant"] != record["data"]["variant"]:
        raise ValueError(f"the run used the {record['data']['variant']!r} copy of {cfg['dataset']}, "
                         f"but {data_root} holds {data.provenance['variant']!r}")
    idx = stratified_prefix(data.y_test, cfg["test_subset"])[record["explanations"]["test_positions"]]
    return data.x_test[idx].numpy()


def results_path_label(results_dir) -> str:
    """How a page names its results folder (relative, machine-independent)."""
    p = Path(results_dir)
    return p.name if p.is_absolute() else str(p)
