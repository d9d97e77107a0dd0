"""The scarce-data profile: which images a subset run trains on (issue 25). The real label arrays
of the offline mirror are not needed: the split code sees only labels, so a synthetic label vector
with the real sizes and class balance tests the same code path."""
from __future__ import annotations

from collections import Counter

import pytest
import torch

from msvp.experiments import OFFICIAL_TRAIN, get_profile, scarce_epochs
from msvp.results import result_path
from msvp.training import split_indices

SIZES = {"fashion_mnist": 60_000, "cifar10": 49_914}   # training images (the CIFAR-10 mirror lacks 86)


def labels(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 10, (n,), generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def scarce():
    return get_profile("scarce").configs()


@pytest.fixture(scope="module")
def indices(scarce):
    """(dataset, train_subset, seed, variant) -> (train, validation) index sets."""
    ys = {d: labels(n) for d, n in SIZES.items()}
    out = {}
    for c in scarce:
        tr, va, _ = split_indices(c, ys[c.dataset], torch.zeros(10_000, dtype=torch.long))
        out[c.dataset, c.train_subset, c.seed, c.variant] = (set(tr.tolist()), set(va.tolist()))
    return ys, out


def test_the_plan(scarce):
    sizes = {(c.dataset, c.train_subset) for c in scarce}
    assert sizes == {("fashion_mnist", 540), ("fashion_mnist", 5400), ("cifar10", 450), ("cifar10", 4500)}
    assert Counter((c.dataset, c.train_subset, c.variant) for c in scarce) == {
        (d, n, v): 5 for d, n in sizes for v in ("baseline", "msvp-add-full")}
    assert {(c.val_subset, c.test_subset, c.backbone) for c in scarce} == {(None, None, "cnn")}
    assert {c.epochs for c in scarce} == {100}
    assert len({result_path("r", "scarce", c) for c in scarce}) == len(scarce)


def test_the_epoch_rule():
    assert scarce_epochs(54_000, 540) == 100 and scarce_epochs(54_000, 5_400) == 100
    assert scarce_epochs(54_000, 27_000) == 20 and scarce_epochs(54_000, 54_000) == 10
    assert OFFICIAL_TRAIN == {"fashion_mnist": 54_000, "cifar10": 45_000}


def test_subsets_are_identical_across_seeds_and_variants(indices):
    _, idx = indices
    for (d, n, seed, variant), (tr, _) in idx.items():
        assert tr == idx[d, n, 0, "baseline"][0], (d, n, seed, variant)


def test_subsets_are_nested_and_disjoint_from_validation(indices):
    _, idx = indices
    for d, small, large in (("fashion_mnist", 540, 5400), ("cifar10", 450, 4500)):
        tr_small, va = idx[d, small, 0, "baseline"]
        tr_large, va_large = idx[d, large, 0, "baseline"]
        assert tr_small < tr_large
        assert va == va_large and not (tr_large & va)
        assert len(va) == SIZES[d] // 10      # the full protocol's validation set


def test_subsets_are_stratified(indices):
    ys, idx = indices
    for (d, n, *_), (tr, _) in idx.items():
        counts = torch.bincount(ys[d][sorted(tr)], minlength=10)
        assert counts.sum() == n and counts.max() - counts.min() <= 1, (d, n, counts.tolist())
