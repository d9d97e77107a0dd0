"""Each statistical rule of the report card on inputs whose answer is worked out by hand (or by an
independent scipy routine), in the order of msvp/stats.py."""
import math

import numpy as np
import pandas as pd
import pytest
from _lib import words
from scipy import stats as sps

from msvp.stats import (
    Estimate,
    MixedPairError,
    add_verdicts,
    cell_verdict,
    check_pair,
    combine,
    comparison_family,
    contrast_verdict,
    converged,
    holm,
    mcnemar_p,
    pooled_effect,
    rank_weights,
    seed_image_estimate,
    t_estimate,
)

# t quantiles with 1 and 2 degrees of freedom, and the normal one, from tables
T975_1, T975_2, T95_2, Z975 = 12.7062047, 4.3026527, 2.9199856, 1.9599640


def t2_sf(t):
    """Survival function of Student's t with 2 df, closed form: 1/2 − t / (2 √(2 + t²))."""
    return 0.5 - t / (2 * math.sqrt(2 + t * t))


# --- pairing ----------------------------------------------------------------------------------------

def run(variant, seed, acc, **kw):
    row = {"dataset": "mnist", "backbone": "cnn", "variant": variant, "seed": seed, "test_acc": acc,
           "test_acc_best_val": acc, "n_test": 4, "path": f"mnist/cnn/{variant}/seed{seed}.json",
           "fingerprint": "f1", "device_class": "cpu", "threads": 2, "precision": "fp32",
           "correct": None, "val_acc_curve": [0.9, 0.95, 0.95]}
    row.update(kw)
    return row


@pytest.mark.parametrize("field,other", [("fingerprint", "f2"), ("device_class", "cuda"), ("threads", 16),
                                         ("precision", "bf16")])
def test_mixed_pair_is_refused_with_both_paths_and_the_field(field, other):
    df = pd.DataFrame([run("baseline", 0, 0.9), run("msvp-add-full", 0, 0.91, **{field: other}),
                       run("baseline", 1, 0.9), run("msvp-add-full", 1, 0.91)])
    with pytest.raises(MixedPairError) as e:
        comparison_family(df, "msvp-add-full")
    msg = str(e.value)
    assert "\n" not in msg and field in msg
    assert "mnist/cnn/msvp-add-full/seed0.json" in msg and "mnist/cnn/baseline/seed0.json" in msg


def test_missing_field_pairs_only_with_missing():
    check_pair({"fingerprint": None}, {"fingerprint": float("nan")})  # two old records: fine
    with pytest.raises(MixedPairError):
        check_pair({"fingerprint": None, "path": "a"}, {"fingerprint": "f1", "path": "b"})
    check_pair({"path": "a"}, {"fingerprint": "f1", "path": "b"})  # a column absent from one side: not checked


# --- one cell's estimate ----------------------------------------------------------------------------

def test_t_estimate_agrees_with_scipy_paired_t_test():
    t, b = np.array([91.0, 95.0, 80.5, 88.0]), np.array([90.0, 94.5, 80.0, 86.0])
    e = t_estimate(t - b)
    res = sps.ttest_rel(t, b)
    ci = res.confidence_interval(0.95)
    assert e.interval(0.95) == pytest.approx((ci.low, ci.high))
    assert e.p_value() == pytest.approx(res.pvalue, rel=1e-8)


def test_p_value_and_tost_by_hand():
    # d = 0.1, 0.2, 0.3 pp: mean 0.2, s = 0.1, se = 0.1/√3, 2 df
    e = t_estimate([0.1, 0.2, 0.3])
    se = 0.1 / math.sqrt(3)
    assert e.p_value() == pytest.approx(2 * t2_sf(0.2 / se), rel=1e-8)  # 0.0742
    assert e.p_tost(0.5) == pytest.approx(t2_sf((0.5 - 0.2) / se), rel=1e-8)  # 0.0175: the nearer bound decides
    lo_p = sps.ttest_1samp([0.1, 0.2, 0.3], -0.5, alternative="greater").pvalue
    hi_p = sps.ttest_1samp([0.1, 0.2, 0.3], 0.5, alternative="less").pvalue
    assert e.p_tost(0.5) == pytest.approx(max(lo_p, hi_p), rel=1e-8)  # = scipy's two one-sided tests
    assert t_estimate([0.6, 0.7, 0.8]).p_tost(0.5) == 0.5  # estimate outside the margin: never equivalent


def test_tost_is_the_90_percent_interval_inside_the_margin():
    e = t_estimate([0.1, 0.2, 0.3])
    lo, hi = e.interval(0.90)
    assert (lo, hi) == pytest.approx((0.2 - T95_2 * 0.1 / math.sqrt(3), 0.2 + T95_2 * 0.1 / math.sqrt(3)))
    assert -0.5 < lo and hi < 0.5 and e.p_tost(0.5) < 0.05
    assert not (-0.3 < lo and hi < 0.3) and e.p_tost(0.3) > 0.05


def test_zero_spread_t_interval_is_falsely_narrow():
    # quantised differences: three seeds that each gain exactly one image. The t-interval has zero
    # width (the "falsely narrow"), which is why the seed × image interval exists.
    e = t_estimate([0.01, 0.01, 0.01])
    assert e.interval() == pytest.approx((0.01, 0.01)) and e.p_value() == 0.0


def test_seed_image_estimate_by_hand():
    # 2 seeds × 4 images. Seed means 0, 0.5; image means 1, 0.5, 0, -0.5; grand mean 0.25.
    d = np.array([[1, 0, 0, -1], [1, 1, 0, 0]])
    e = seed_image_estimate(d, n_boot=200_000)
    # seed part: var(0, 0.5)/2 = 0.0625; residuals ±0.25 in all 8 cells: MS_res = 0.5/3, v_res = MS_res/8;
    # bootstrap variance of the mean of the 4 image means = population variance/4 = 0.3125/4 (± MC error)
    v_res, v_img = (0.5 / 3) / 8, 0.3125 / 4
    assert e.mean == pytest.approx(25.0)
    assert e.var_t == pytest.approx(0.0625 * 1e4) and e.df == 1
    assert e.var_z == pytest.approx((v_img - v_res) * 1e4, rel=0.02)
    half = math.sqrt(T975_1 ** 2 * 625 + Z975 ** 2 * (v_img - v_res) * 1e4)
    assert e.interval(0.95) == pytest.approx((25 - half, 25 + half), rel=0.002)


def test_seed_image_estimate_is_the_t_interval_when_images_share_nothing():
    # the seeds gain on different images (3, 5 and 4 of 100): no image helps in more than one seed.
    # Image means: 1/3 on 12 images, 0 elsewhere. Variance of the mean over images (plug-in)
    # 0.011733/100 = 1.17e-4 < seed × image residual MS_res/(S·N) = (7.98/198)/300 = 1.34e-4,
    # so the shared part is floored at 0 and the interval is the t-interval on 3, 5, 4 pp.
    d = np.zeros((3, 100), int)
    d[0, :3] = d[1, 3:8] = d[2, 8:12] = 1
    e = seed_image_estimate(d, n_boot=2000)
    ci = sps.ttest_1samp([3.0, 5.0, 4.0], 0).confidence_interval(0.95)
    assert e.mean == pytest.approx(4.0) and e.df == 2 and e.var_z == 0
    assert e.interval(0.95) == pytest.approx((ci.low, ci.high))


def test_seed_image_estimate_widens_when_the_same_images_flip():
    # the same 3-5 images gain in every seed: a test-set effect the t-interval cannot see
    d = np.zeros((3, 100), int)
    d[0, :3] = d[1, :5] = d[2, :4] = 1
    e, t = seed_image_estimate(d, n_boot=2000), t_estimate([3.0, 5.0, 4.0])
    assert e.var_t == pytest.approx(t.var_t) and e.var_z > t.var_t


def test_seed_image_estimate_does_not_collapse_on_identical_seeds():
    d = np.zeros((3, 100), int)
    d[:, :2] = 1  # each seed gains two images: zero spread
    e = seed_image_estimate(d, n_boot=2000)
    lo, hi = e.interval()
    assert lo < 2.0 < hi and hi - lo > 0.5  # the t-interval would be [2, 2]


def test_image_bootstrap_se_matches_the_formula():
    from msvp.stats import image_bootstrap_se
    x = np.r_[np.ones(30), np.zeros(60), -np.ones(10)]
    plug_in = x.std(ddof=0) / math.sqrt(len(x))  # the bootstrap SE of a mean, by hand: 0.0583
    assert image_bootstrap_se(x, n_boot=20_000) == pytest.approx(plug_in, rel=0.03)


def test_mcnemar_exact_by_hand():
    t = np.array([1, 1, 1, 0, 1, 0], bool)
    b = np.array([0, 0, 0, 0, 1, 0], bool)
    assert mcnemar_p(t, b) == pytest.approx(2 * 0.5 ** 3)  # 3 wins, 0 losses: two-sided binomial p = 0.25
    assert mcnemar_p([1, 0], [0, 1]) == pytest.approx(1.0)
    assert mcnemar_p([1, 1], [1, 1]) == 1.0  # no discordant image


# --- convergence --------------------------------------------------------------------------------------

def test_convergence_gate_by_hand():
    ok, rise = converged([[0.5, 0.8, 0.9, 0.903], [0.5, 0.8, 0.9, 0.905]])  # mean ends .8, .9, .904
    assert ok is False and rise == pytest.approx(10.4)
    ok, rise = converged([[0.5, 0.95, 0.951, 0.953]])
    assert ok is True and rise == pytest.approx(0.3)
    ok, rise = converged([[0.5, 0.9, 0.95, 0.951], [0.5, 0.9, 0.95]])  # common epochs only: .5, .9, .95
    assert ok is False and rise == pytest.approx(45.0)
    assert converged([[0.9, 0.95]])[0] is False  # two epochs cannot show a plateau
    assert converged([None, []])[0] is None  # nothing recorded: gate not applied


# --- multiplicity and verdicts --------------------------------------------------------------------------

def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1 = 0.03, 0.06, 0.04 -> running max 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03, math.nan]) == pytest.approx([0.03, 0.06, 0.06, math.nan], nan_ok=True)
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([0.02]) == pytest.approx([0.02])


@pytest.mark.parametrize("p_holm,p_tost,mean,n_pairs,expected", [
    (0.01, 1.0, 0.8, 3, "improves"), (0.01, 1.0, -0.8, 3, "hurts"),
    (0.01, 0.01, 0.2, 3, "improves"),  # a real but small gain is still a gain
    (0.20, 0.01, 0.1, 3, "equivalent"), (0.20, 0.20, 0.1, 3, "inconclusive"),
    (math.nan, math.nan, 0.3, 3, "inconclusive"), (0.001, 1.0, 2.0, 1, "not enough pairs yet"),
    (0.20, 0.001, 0.1, 2, "inconclusive"),   # equivalence, a claim of absence, needs a third pair
    (0.01, 1.0, 0.8, 2, "improves")])
def test_cell_verdict(p_holm, p_tost, mean, n_pairs, expected):
    assert cell_verdict(p_holm, p_tost, mean, n_pairs) == expected


def test_holm_family_decides_the_verdicts():
    # raw p 0.01, 0.03, 0.04 -> Holm 0.03, 0.06, 0.06: only the first cell still improves
    p = pd.DataFrame({"p_value": [0.01, 0.04, 0.03], "p_tost": [1.0, 1.0, 0.01], "diff_pp": [1.0, 1.0, 0.1],
                      "n_pairs": [3, 3, 3], "converged": [True, True, True]})
    v = add_verdicts(p)
    assert list(v.verdict) == ["improves", "inconclusive", "equivalent"]
    # a cell with a single pair has no test: it leaves the family, the others are corrected over 2
    p["n_pairs"] = [3, 3, 1]
    v = add_verdicts(p)
    assert v.p_holm.tolist() == pytest.approx([0.02, 0.04, math.nan], nan_ok=True)
    assert list(v.verdict) == ["improves", "improves", "not enough pairs yet"] and (v.holm_m == 2).all()



def test_two_pair_cells_leave_the_tost_family_and_say_why_they_are_not_equivalent():
    """With 2 pairs the 90 % interval TOST reads is half the 95 % one (1 df), so a 2-pair cell is never
    'equivalent'; it leaves the TOST family (the 3-pair cells are corrected among themselves) and its
    label says what it lacks."""
    p = pd.DataFrame({"p_value": [0.5, 0.6, 0.7], "p_tost": [0.02, 0.001, 0.03], "diff_pp": [0.1, 0.0, 0.1],
                      "n_pairs": [3, 2, 3], "lo_pp": [-0.2, -0.8, -0.3], "hi_pp": [0.4, 0.8, 0.45],
                      "converged": [True] * 3})
    v = add_verdicts(p)
    assert v.p_tost_holm.tolist() == pytest.approx([0.04, math.nan, 0.04], nan_ok=True)
    assert list(v.verdict) == ["equivalent", "inconclusive", "equivalent"]
    assert words.verdict_label(v.iloc[1]) == ("inconclusive (TOST alone puts it within ±0.5 pp, but equivalence "
                                              "needs 3 pairs; this cell has 2)")
    # 3 pairs, 95 % interval inside the band, yet Holm-corrected TOST fails: the label says so
    inside = v.iloc[0].copy()
    inside["verdict"], inside["p_tost_holm"] = "inconclusive", 0.06
    assert words.verdict_label(inside) == ("inconclusive (its 95 % interval lies within ±0.5 pp, but not by "
                                           "enough for TOST after the Holm correction: p = 0.06)")


def test_the_convergence_caveat_does_not_block_a_verdict():
    """A baseline still rising by 10 pp over its last two epochs (far past the 0.5 pp threshold): the
    cell keeps its test and its verdict, stays in the Holm family, and the row carries the caveat's
    numbers (the rise and the schedule's first and last learning rate)."""
    rising = [0.5, 0.6, 0.7, 0.8]
    lr = [1e-3, 5e-4, 1e-4, 2e-5]
    df = pd.DataFrame([run(v, s, a + (0.01 if v == "msvp-add-full" else 0) + 0.001 * s,
                           val_acc_curve=rising, lr_curve=lr)
                       for s, a in enumerate((0.90, 0.91, 0.92)) for v in ("baseline", "msvp-add-full")])
    row = comparison_family(df, "msvp-add-full").iloc[0]
    assert row.converged is False or row.converged == False  # noqa: E712 (numpy or Python bool)
    assert row.val_rise_pp == pytest.approx(20.0) and (row.lr_first, row.lr_last) == (1e-3, 2e-5)
    assert row.verdict == "improves" and row.holm_m == 1 and row.p_holm < 0.05
    label = words.verdict_label(row)
    assert label.startswith("improves; caveat: baseline still improving") and "+20.00 pp" in label
    assert "last learning rate 2.0e-05" in label
    # the same runs with a flat baseline: the same verdict, without the caveat
    flat = comparison_family(df.assign(val_acc_curve=[[0.5, 0.9, 0.9, 0.9]] * len(df)), "msvp-add-full").iloc[0]
    assert flat.verdict == row.verdict and words.verdict_label(flat) == "improves"


def test_last_learning_rate_of_the_schedule():
    from msvp.stats import last_lr
    assert last_lr([[1e-3, 5e-4, 2e-5], [1e-3, 5e-4, 2e-5]]) == (1e-3, 2e-5)
    assert all(math.isnan(x) for x in last_lr([None, [], [1e-3, math.nan]]))


# --- what a cell could detect ---------------------------------------------------------------------------

@pytest.mark.parametrize("df", [2, 4])
def test_detectable_gain_has_80_percent_power_for_the_paired_t_test(df):
    """Simulate paired experiments whose true gain is the detectable gain: the t-test finds it in
    80 % of them (4,000 experiments: binomial SD 0.6 %, 3 SD accepted)."""
    rng, n, sd, reps = np.random.default_rng(df), df + 1, 0.3, 4000
    delta = Estimate(0.0, sd ** 2 / n, df).detectable()
    d = rng.normal(delta, sd, size=(reps, n))
    p = sps.ttest_1samp(d, 0.0, axis=1).pvalue
    assert abs(np.mean(p < 0.05) - 0.8) <= 3 * math.sqrt(0.8 * 0.2 / reps)


def test_detectable_gain_by_hand():
    # with a known (normal) variance only, δ = (z_0.975 + z_0.8) · se = 2.8016 · se
    assert Estimate(0.0, 0.0, 4, 0.25).detectable() == pytest.approx(2.8016 * 0.5, rel=1e-4)
    # the t-test's δ/se exceeds that normal value, more so with fewer seeds
    assert Estimate(0.0, 1.0, 2).detectable() > Estimate(0.0, 1.0, 4).detectable() > 2.8016
    assert math.isnan(Estimate(0.5, math.nan, math.nan).detectable())


# --- contrasts and pooling -----------------------------------------------------------------------------

def test_combine_by_hand():
    e = combine([Estimate(1.0, 0.04, 2, 0.01), Estimate(3.0, 0.09, 4, 0.04)], [-1, 1])
    assert e.mean == pytest.approx(2.0) and e.var_t == pytest.approx(0.13) and e.var_z == pytest.approx(0.05)
    assert e.df == pytest.approx(0.13 ** 2 / (0.04 ** 2 / 2 + 0.09 ** 2 / 4))  # Welch–Satterthwaite: 5.98


def test_rank_weights():
    assert rank_weights("ab") == pytest.approx([-1, 1])
    assert rank_weights("abc") == pytest.approx([-1, 0, 1])
    assert rank_weights("abcd") == pytest.approx([-0.75, -0.25, 0.25, 0.75])


@pytest.mark.parametrize("est,expected", [
    (Estimate(1.0, 0.01, 10), "supported"),  # interval about 1 ± 0.22
    (Estimate(-1.0, 0.01, 10), "not supported"),  # excludes 0 the wrong way
    (Estimate(0.05, 0.0025, 10), "not supported"),  # equivalent to 0: 90 % interval 0.05 ± 0.09 inside ±0.5
    (Estimate(0.3, 1.0, 10), "inconclusive"),  # all three remain possible
    (Estimate(math.nan, math.nan, math.nan), "inconclusive")])
def test_contrast_verdict(est, expected):
    assert contrast_verdict(est) == expected


def test_pooled_effect_dersimonian_laird_by_hand():
    # y = 1, 2, 4 with v = 1: fixed mean 7/3, Q = 14/3, tau² = (Q - 2)/(3 - 1) = 4/3; equal weights
    # 1/(1 + 4/3) = 3/7; mean 7/3; DL variance 1/(9/7) = 7/9; HK variance Σw(y-μ)²/(2Σw) = 7/9 too
    pool = pooled_effect([Estimate(y, 1.0, 1000) for y in (1.0, 2.0, 4.0)])
    assert pool.tau2 == pytest.approx(4 / 3) and pool.k == 3
    assert pool.estimate.mean == pytest.approx(7 / 3) and pool.estimate.var_t == pytest.approx(7 / 9)
    assert pool.estimate.interval() == pytest.approx((7 / 3 - T975_2 * math.sqrt(7 / 9), 7 / 3 + T975_2 * math.sqrt(7 / 9)))


def test_pooled_effect_never_narrower_than_dersimonian_laird():
    # y = 0, 0.1 with v = 1: Q = 0.005 < 1 so tau² = 0; DL variance 1/2; HK would give 0.0025
    pool = pooled_effect([Estimate(0.0, 1.0, 1000), Estimate(0.1, 1.0, 1000)])
    assert pool.tau2 == 0 and pool.estimate.var_t == pytest.approx(0.5) and pool.estimate.df == 1


def test_pooled_effect_one_cell_is_that_cell():
    e = Estimate(0.4, 0.01, 2, 0.002)
    assert pooled_effect([e, Estimate(math.nan, math.nan, math.nan)]).estimate == e


def test_cautious_check_keeps_a_verdict_only_if_the_smallest_df_agrees():
    from msvp import stats
    from msvp.verdicts import cautious_check
    # a 2-pair cell (1 df) beside a 5-pair cell (4 df); the pooled gain: +0.6 pp, seed variance 0.01
    parts = [stats.Estimate(0.5, 0.01, 1.0), stats.Estimate(0.7, 0.01, 4.0)]
    pooled = stats.Estimate(0.6, 0.005, 2.5)
    assert stats.contrast_verdict(pooled) == "supported"           # t(2.5) interval: +0.6 ± 0.21
    verdict, text = cautious_check(pooled, parts)
    assert verdict == "inconclusive" and "smallest cell's 1 degree of freedom" in text and "*inconclusive*" in text
    tight = stats.Estimate(0.6, 0.0004, 2.5)                       # ±0.25 even on 1 df: still supported
    verdict, text = cautious_check(tight, parts)
    assert verdict == "supported" and text.endswith("the same verdict")
    # equal pair counts: Welch–Satterthwaite is at nominal there (test_stats_pooling), no check
    same = [stats.Estimate(0.5, 0.01, 4.0), stats.Estimate(0.7, 0.01, 4.0)]
    assert cautious_check(pooled, same) == ("supported", "")
