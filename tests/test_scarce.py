"""The scarce-data profile: which images a subset run trains on (issue 25). The real label arrays
of the offline mirror are not needed: the split code sees only labels, so a synthetic label vector
with the real sizes and class balance tests the same code path."""
from __future__ import annotations

from collections import Counter

import pandas as pd
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


# ---- the chapter's wording (book/_lib/scarce.py) on hand-made tables shaped like its inputs -------

def full_gain(dataset="cifar10", n_pairs=5, converged=False, full_split=True, n_train=44_923) -> dict:
    """A row of ``learning_curve.gains``: the full split, 'equivalent', its baseline still improving."""
    return {"dataset": dataset, "n_train": n_train, "full_split": full_split, "n_pairs": n_pairs, "diff_pp": -0.03,
            "lo_pp": -0.36, "hi_pp": 0.31, "verdict": "equivalent", "p_holm": 0.9, "p_tost_holm": 0.0086,
            "converged": converged, "val_rise_pp": 1.49, "lr_first": 1e-3, "lr_last": 2.4e-5}


def run_rows(variant="offline-copy", subset=None, n=1) -> pd.DataFrame:
    """Finished CIFAR-10 runs as ``results.load`` gives them: the full split has no train_subset."""
    return pd.DataFrame([{"dataset": "cifar10", "n_train": subset or 44_923, "train_subset": subset,
                          "data_variant": variant, "data_n_train": 49_914 if variant != "complete" else 50_000}] * n)


def test_answer_says_no_subset_run_has_finished_until_one_has():
    from _lib.scarce import answer_line

    gains = pd.DataFrame([full_gain()])
    none_yet = answer_line(gains, run_rows(), "cifar10")
    assert "no subset run has finished yet" in none_yet and "fewer than 2" not in none_yet
    one_pair = pd.DataFrame([full_gain(), full_gain(n_pairs=1, full_split=False, n_train=450)])
    some = answer_line(one_pair, pd.concat([run_rows(), run_rows(subset=450, n=2)]), "cifar10")
    assert "fewer than 2 paired seeds" in some and "no subset run" not in some


def test_answer_carries_the_caveat_the_table_shows():
    from _lib.scarce import answer_line
    from _lib.words import caveat_text, verdict_label

    row = next(pd.DataFrame([full_gain()]).itertuples())
    line = answer_line(pd.DataFrame([full_gain()]), run_rows(), "cifar10")
    assert caveat_text(row) and caveat_text(row) in verdict_label(row) and caveat_text(row) in line
    converged = answer_line(pd.DataFrame([full_gain(converged=True)]), run_rows(), "cifar10")
    assert "caveat" not in converged


def test_sizes_say_the_shares_are_of_the_official_split_when_the_copy_is_incomplete():
    from _lib.scarce import sizes_md

    text = sizes_md("scarce", run_rows())
    assert "450 images (1 % of the official split's 45,000)" in text
    assert "holds 49,914 of the 50,000 official training images, so its full split here has 44,923 images" in text
    assert "holds" not in sizes_md("scarce", run_rows(variant="complete"))
