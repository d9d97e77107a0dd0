"""Which images train, validate and test: the fixed 90/10 split and class-balanced subsets.

These decide what a run sees, so they are part of the training fingerprint (data.py only reads and
verifies files; the file contents are pinned by their sha256 in each record's provenance).
"""
from __future__ import annotations

import numpy as np
import torch

SPLIT_SEED = 42          # fixed train/validation split, independent of the run seed
VAL_FRACTION = 0.1


def train_val_split(n: int, val_fraction: float = VAL_FRACTION, seed: int = SPLIT_SEED):
    """Fixed 90/10 split of the training set: (train indices, validation indices)."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = int(n * val_fraction)
    return perm[n_val:], perm[:n_val]


def stratified_prefix(labels: torch.Tensor, n: int | None, seed: int = SPLIT_SEED) -> torch.Tensor:
    """Positions of the first ``n`` items of a fixed class-interleaved permutation (all if None).

    Items are ranked within their class in a seeded random order and taken rank by rank, so any
    prefix is as class-balanced as the data allows, and a larger n extends a smaller one.
    """
    if n is None or n >= len(labels):
        return torch.arange(len(labels))
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed)).numpy()
    lab = labels.numpy()[perm]
    rank = np.zeros(len(lab), dtype=np.int64)
    for c in np.unique(lab):
        where = lab == c
        rank[where] = np.arange(where.sum())
    order = np.lexsort((np.arange(len(lab)), rank))
    return torch.from_numpy(np.sort(perm[order[:n]]))
