"""The scarce-data learning curve (msvp.learning_curve) on synthetic run tables shaped like
``results.load``: accuracy per size, the gain per size in its own Holm family, and the full-split
point with the report card's verdict."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msvp.learning_curve import curve, gains, scarcity_contrast
from msvp.stats import comparison_family

N_TEST = 2000


def run_row(dataset, backbone, variant, seed, acc, n_train, train_subset, rng):
    correct = rng.random(N_TEST) < acc
    return {"dataset": dataset, "backbone": backbone, "variant": variant, "seed": seed,
            "test_acc": correct.mean(), "correct": correct, "n_train": n_train, "train_subset": train_subset,
            "n_test": N_TEST, "fingerprint": "f", "device_class": "cpu", "threads": 1, "precision": "bf16",
            "val_acc_curve": [0.5, acc, acc], "lr_curve": [1e-3, 5e-4, 1e-6], "epochs": 3}


def table(cells, seeds, rng) -> pd.DataFrame:
    """cells: (dataset, backbone, n_train, train_subset, baseline acc, gain)."""
    rows = []
    for dataset, backbone, n_train, subset, base, gain in cells:
        for seed in seeds:
            rows.append(run_row(dataset, backbone, "baseline", seed, base, n_train, subset, rng))
            rows.append(run_row(dataset, backbone, "msvp-add-full", seed, base + gain, n_train, subset, rng))
    return pd.DataFrame(rows)


@pytest.fixture
def runs():
    rng = np.random.default_rng(0)
    scarce = table([("fashion_mnist", "cnn", 540, 540, 0.70, 0.10), ("fashion_mnist", "cnn", 5400, 5400, 0.85, 0.0)],
                   range(5), rng)
    full = table([("fashion_mnist", "cnn", 54000, None, 0.92, 0.0), ("fashion_mnist", "vit", 54000, None, 0.90, 0.0),
                  ("mnist", "cnn", 54000, None, 0.99, 0.0)], range(3), rng)
    return scarce, full


def test_curve_has_one_row_per_size_and_variant(runs):
    scarce, full = runs
    c = curve(scarce, full, ["fashion_mnist"])
    assert sorted(set(c.n_train)) == [540, 5400, 54000]
    assert len(c) == 6 and set(c.variant) == {"baseline", "msvp-add-full"}
    assert c.set_index(["n_train", "variant"]).runs.to_dict()[(540, "baseline")] == 5
    assert c[c.n_train == 54000].full_split.all() and not c[c.n_train < 54000].full_split.any()
    assert (c.lo_pct <= c.acc_pct).all() and (c.acc_pct <= c.hi_pct).all()
    # the ViT runs of the full split are not part of the CNN's curve
    assert c[c.n_train == 54000].runs.tolist() == [3, 3]


def test_gain_per_size_in_its_own_family_and_the_full_point_as_the_report_card_says(runs):
    scarce, full = runs
    g = gains(scarce, full, ["fashion_mnist"]).set_index("n_train")
    assert g.loc[540, "verdict"] == "improves"        # +10 pp over 5 pairs and 2,000 images
    assert g.loc[540, "lo_pp"] > 0 and abs(g.loc[540, "diff_pp"] - 10) < 3
    assert g.loc[540, "holm_m"] == 2 and g.loc[5400, "holm_m"] == 2    # the two scarce sizes
    card = comparison_family(full, "msvp-add-full")
    card_cnn = card[(card.dataset == "fashion_mnist") & (card.backbone == "cnn")].iloc[0]
    assert g.loc[54000, "verdict"] == card_cnn.verdict
    assert g.loc[54000, "holm_m"] == card_cnn.holm_m == 3             # the report card's family: 3 cells


def test_no_runs_yet_gives_empty_tables():
    empty = pd.DataFrame(columns=["dataset", "backbone", "variant", "seed", "test_acc", "n_train", "train_subset"])
    assert curve(empty, empty, ["cifar10"]).empty
    assert gains(empty, empty, ["cifar10"]).empty


def test_scarcity_contrast_compares_the_smallest_size_with_the_full_split(runs):
    scarce, full = runs
    g = gains(scarce, full, ["fashion_mnist"])
    small, at_full, est, verdict = scarcity_contrast(g, "fashion_mnist")
    assert small.n_train == 540 and at_full.n_train == 54000
    assert abs(est.mean - (small.diff_pp - at_full.diff_pp)) < 1e-9
    assert verdict == "supported"                     # +10 pp at 540 images, 0 at the full split
    assert scarcity_contrast(g, "cifar10") is None    # no runs there
