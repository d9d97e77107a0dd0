"""Simulation: does the interval that decides the headline (``stats.fixed_effect``: the mean gain of
the cells, each weighted equally) cover the true mean gain of the cells at its nominal 95 %, with 2
and with 3 cells?

Each simulated experiment has 2 or 3 cells with their own true gains (drawn once per experiment:
the cells disagree, as real data sets do). A cell's estimate is the mean of S per-seed differences
(normal, with the cell's seed SD) plus a shared test-image error of known variance, as
``seed_image_estimate`` reports it: a seed part on S − 1 degrees of freedom and an image part known
precisely. The seed SDs and image variances are those of the book's CNN cells (MNIST, Fashion-MNIST,
CIFAR-10; add/full at 5 pairs, concat/full at 3 pairs), so the check speaks for the settings the
report card meets. The target is the mean of the cells' true gains: the claim is about the cells run.

4,000 experiments per setting: a 95 % interval's coverage then has binomial SD √(0.95·0.05/4000) ≈
0.0034; we accept within 3 SD (0.940-0.960). One setting is known to sit just above that band:
Welch–Satterthwaite degrees of freedom, computed from 3 noisy seed variances per cell, come out low,
so with 2 cells of 3 pairs and similar seed SDs (concat/full on Fashion-MNIST and CIFAR-10) the
interval covers about 96.3 % (100,000 simulated experiments): conservative, never too narrow. That
setting is checked against the lower bound and a 2-point ceiling instead, and says so.
"""
import numpy as np
import pytest

from msvp.stats import Estimate, fixed_effect

R, LEVEL = 4000, 0.95
BAND = 3 * np.sqrt(LEVEL * (1 - LEVEL) / R)
# per cell: seed SD of the paired differences (pp) and the image part's variance (pp²), measured on
# the book's cells; add/full at 5 pairs, concat/full at 3 pairs
ADD = {"mnist": (0.067, 7.3e-5), "fashion_mnist": (0.131, 3.7e-5), "cifar10": (0.267, 6.8e-4)}
CONCAT = {"mnist": (0.059, 5.8e-5), "fashion_mnist": (0.264, 1e-6), "cifar10": (0.171, 7.0e-4)}


def simulate(cells: dict, pairs: int, rng, spread_pp: float = 0.5):
    """Cell estimates for R experiments at once (each field an array of R), and each experiment's
    target, the mean of its cells' true gains."""
    estimates, truths = [], []
    for sd, var_z in cells.values():
        truth = rng.normal(0.2, spread_pp, R)
        seeds = rng.normal(0.0, sd, (R, pairs))
        mean = truth + seeds.mean(1) + rng.normal(0.0, np.sqrt(var_z), R)
        estimates.append(Estimate(mean, seeds.var(1, ddof=1) / pairs, np.full(R, pairs - 1.0), np.full(R, var_z)))
        truths.append(truth)
    return estimates, np.mean(truths, axis=0)


def coverage(reading: dict, pairs: int, names) -> float:
    rng = np.random.default_rng(len(names) * 10 + pairs)
    estimates, target = simulate({n: reading[n] for n in names}, pairs, rng)
    lo, hi = fixed_effect(estimates).interval(LEVEL)
    return float(np.mean((lo <= target) & (target <= hi)))


@pytest.mark.timeout(20)
@pytest.mark.parametrize("reading,pairs,names", [
    (ADD, 5, ("mnist", "fashion_mnist", "cifar10")), (ADD, 5, ("fashion_mnist", "cifar10")),
    (CONCAT, 3, ("mnist", "fashion_mnist", "cifar10")),
], ids=["add-3-cells", "add-2-cells", "concat-3-cells"])
def test_the_deciding_interval_covers_the_mean_gain_of_the_cells(reading, pairs, names):
    c = coverage(reading, pairs, names)
    assert abs(c - LEVEL) <= BAND, c


@pytest.mark.timeout(20)
def test_with_two_cells_of_three_pairs_the_interval_is_conservative_not_narrow():
    c = coverage(CONCAT, 3, ("fashion_mnist", "cifar10"))
    assert LEVEL - BAND <= c <= LEVEL + 0.02, c


def test_fixed_effect_is_the_equal_weight_mean_of_one_experiment():
    # the vectorised path and the one-experiment path agree: 1.0 and 3.0 with seed variances 0.04, 0.09
    # on 2 and 4 df, weights 1/2: mean 2.0, variance 0.0325, df 0.0325² / (0.01²/2 + 0.0225²/4)
    one = fixed_effect([Estimate(1.0, 0.04, 2), Estimate(3.0, 0.09, 4)])
    assert one.mean == pytest.approx(2.0) and one.var_t == pytest.approx(0.0325)
    assert one.df == pytest.approx(0.0325 ** 2 / (0.01 ** 2 / 2 + 0.0225 ** 2 / 4))
    many = fixed_effect([Estimate(np.array([1.0, 0.0]), np.array([0.04, 0.04]), np.array([2.0, 2.0])),
                         Estimate(np.array([3.0, 0.0]), np.array([0.09, 0.09]), np.array([4.0, 4.0]))])
    assert many.mean[0] == pytest.approx(one.mean) and many.df[0] == pytest.approx(one.df)
    assert np.isnan(fixed_effect([Estimate(np.nan, np.nan, np.nan)]).mean)


# a ViT-Tiny cell of 2 pairs beside the three CNN cells of 5 (the CPU headline while the ViT trains):
# seed SD 0.3 pp and image variance 6.6e-3 pp², both about the CIFAR-10 ViT cell's own from its 2 pairs
VIT = (0.3, 6.6e-3)


def mixed_coverage(vit_pairs: int, rule) -> float:
    """Coverage of the fixed effect over the 3 CNN cells (5 pairs) and one ViT cell (``vit_pairs``),
    with the degrees of freedom that ``rule`` gives it from the fixed effect and the cells."""
    rng = np.random.default_rng(100 + vit_pairs)
    cnn, cnn_truth = simulate(ADD, 5, rng)
    vit, vit_truth = simulate({"vit": VIT}, vit_pairs, rng)
    cells = cnn + vit
    est = rule(fixed_effect(cells), cells)
    lo, hi = est.interval(LEVEL)
    target = (3 * cnn_truth + vit_truth) / 4
    return float(np.mean((lo <= target) & (target <= hi)))


def welch(est, cells):
    return est


def smallest_df(est, cells):
    return Estimate(est.mean, est.var_t, min(float(np.min(c.df)) for c in cells), est.var_z)


@pytest.mark.timeout(20)
def test_with_unequal_pair_counts_welch_undercovers_and_the_smallest_df_does_not():
    """Why ``verdicts.cautious_check`` exists: Welch–Satterthwaite degrees of freedom, computed from a
    2-pair cell's single-df variance, come out too high exactly when that variance is underestimated."""
    assert mixed_coverage(2, welch) < LEVEL - BAND            # measured 0.933 (0.90 at a seed SD of 0.45 pp)
    assert mixed_coverage(2, smallest_df) >= LEVEL - BAND     # conservative (about 0.99)
    assert mixed_coverage(3, smallest_df) >= LEVEL - BAND
