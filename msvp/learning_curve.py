"""Beyond the paper: does MSVP help where data are scarce? The evidence for a learning curve.

The ``scarce`` profile trains the CNN on 1 % and 10 % of the official training split
(``experiments.scarce_parts``); the full-split point is the ``cpu`` profile's CNN column. Rules:

- **Accuracy per size**: mean and 95 % t-interval over seeds, per (data set, training images,
  variant).
- **More help where data are scarce?** The gain at the smallest size minus the gain at the full
  split, with the interval of ``stats.combine`` and the verdict of ``stats.contrast_verdict``
  ('supported' when it lies above 0). Both gains are measured on the same test images, whose shared
  part ``combine`` adds as if independent: the interval is conservative.
- **The gain per size**: MSVP add/full − baseline, paired by seed, with the report card's cell
  rules (``stats.cell_row``: seed × image interval, margin, verdict). Training on 1 % or 10 % of the
  data is a question of its own, so the scarce sizes form one Holm family (every (data set, size)
  cell of the scarce profile); the full-split rows keep the verdict the report card gives them
  (``stats.comparison_family`` over the whole ``cpu`` profile), so that one comparison has one
  verdict in the whole book.
"""
from __future__ import annotations

import pandas as pd

from .stats import Estimate, add_verdicts, cell_row, combine, comparison_family, contrast_verdict, row_estimate, t_interval

TREATMENT = "msvp-add-full"
CONTROL = "baseline"
CNN = "cnn"
CURVE_COLUMNS = ["dataset", "n_train", "variant", "runs", "acc_pct", "sd_pp", "lo_pct", "hi_pct", "full_split"]


def scarce_cells(scarce: pd.DataFrame) -> list[pd.DataFrame]:
    """The runs of each (data set, training-set size) of the scarce profile, smallest size first."""
    if scarce.empty:
        return []
    keyed = scarce.assign(_size=scarce.train_subset.astype(int))
    return [cell.drop(columns="_size") for _, cell in keyed.groupby(["dataset", "_size"], sort=True)]


def arms(runs: pd.DataFrame, datasets) -> pd.DataFrame:
    """The baseline and MSVP add/full runs of the data sets the curve covers."""
    if runs.empty:
        return runs
    return runs[runs.dataset.isin(list(datasets)) & runs.variant.isin([TREATMENT, CONTROL])]


def full_runs(full: pd.DataFrame, datasets) -> pd.DataFrame:
    """The full-split CNN runs of the data sets the curve covers (the cpu profile's column)."""
    return arms(full[full.backbone == CNN] if not full.empty else full, datasets)


def curve(scarce: pd.DataFrame, full: pd.DataFrame, datasets) -> pd.DataFrame:
    """Accuracy (%) per (data set, training images, variant) with its 95 % t-interval over seeds."""
    rows = []
    for part, is_full in ((arms(scarce, datasets), False), (full_runs(full, datasets), True)):
        if part.empty:
            continue
        for (dataset, n, variant), g in part.groupby(["dataset", "n_train", "variant"], sort=True):
            acc = 100 * g.test_acc.to_numpy(float)
            mean, lo, hi = t_interval(acc)
            rows.append({"dataset": dataset, "n_train": int(n), "variant": variant, "runs": len(acc),
                         "acc_pct": mean, "sd_pp": float(acc.std(ddof=1)) if len(acc) > 1 else float("nan"),
                         "lo_pct": lo, "hi_pct": hi, "full_split": is_full})
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def gains(scarce: pd.DataFrame, full: pd.DataFrame, datasets) -> pd.DataFrame:
    """MSVP add/full − baseline per (data set, training images), with interval and verdict: the scarce
    sizes as one Holm family, the full split as the report card's family gives it."""
    rows = []
    for cell in scarce_cells(arms(scarce, datasets)):
        row = cell_row(cell, TREATMENT, CONTROL)
        if row is not None:
            rows.append({**row, "n_train": int(cell.n_train.iloc[0]), "full_split": False})
    scarce_family = add_verdicts(pd.DataFrame(rows)) if rows else pd.DataFrame()
    full_family = comparison_family(full, TREATMENT, CONTROL) if not full.empty else pd.DataFrame()
    if not full_family.empty:
        full_family = full_family[(full_family.backbone == CNN) & full_family.dataset.isin(list(datasets))]
        n_train = full_runs(full, datasets).groupby("dataset").n_train.first()
        full_family = full_family.assign(n_train=full_family.dataset.map(n_train).astype(int), full_split=True)
    frames = [f for f in (scarce_family, full_family) if not f.empty]
    if not frames:
        return pd.DataFrame(columns=["dataset", "n_train", "full_split", "n_pairs", "diff_pp", "lo_pp", "hi_pp",
                                     "verdict"])
    return pd.concat(frames, ignore_index=True).sort_values(["dataset", "n_train"], ignore_index=True)


def scarcity_contrast(gains: pd.DataFrame, dataset: str) -> tuple[pd.Series, pd.Series, Estimate, str] | None:
    """(smallest-size row, full-split row, gain there − gain at the full split, verdict of 'MSVP helps
    more where data are scarce'); None until both rows have at least 2 pairs."""
    g = gains[(gains.dataset == dataset) & (gains.n_pairs >= 2)] if not gains.empty else gains
    small, full = g[~g.full_split.astype(bool)], g[g.full_split.astype(bool)]
    if small.empty or full.empty:
        return None
    s, f = small.sort_values("n_train").iloc[0], full.iloc[0]
    est = combine([row_estimate(s), row_estimate(f)], [1, -1])
    return s, f, est, contrast_verdict(est)
