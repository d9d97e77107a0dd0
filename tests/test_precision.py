"""The bf16 check's statistics and rule (msvp.precision), on synthetic run tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msvp import precision


def runs(shift_pp=0.0, gain_pp=0.0, seeds=5, msvp_seeds=3, datasets=precision.ORDER, sd_pp=0.1, seed=0,
         wall=100.0):
    rng = np.random.default_rng(seed)
    rows = []
    for d in datasets:
        for s in range(seeds):
            base = 90 + shift_pp + rng.normal(0, sd_pp)
            rows.append(dict(dataset=d, backbone="cnn", variant="baseline", seed=s, test_acc=base / 100,
                             wall_time_s=wall))
            if s < msvp_seeds and d != "mnist":
                rows.append(dict(dataset=d, backbone="cnn", variant="msvp-add-full", seed=s,
                                 test_acc=(base + gain_pp + rng.normal(0, sd_pp / 3)) / 100, wall_time_s=wall))
    return pd.DataFrame(rows)


def test_welch_interval_matches_scipy():
    a, b = [1.0, 2.0, 3.5, 2.2], [0.5, 1.1, 0.9]
    diff, lo, hi = precision.welch(a, b, 0.95)
    ci = __import__("scipy").stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert diff == pytest.approx(np.mean(a) - np.mean(b))
    assert (lo, hi) == pytest.approx((ci.low, ci.high))


def test_equal_arithmetic_passes_and_the_rule_picks_bf16():
    base, gain = precision.compare(runs(seed=1), runs(seed=2, wall=40.0))
    assert list(base.verdict) == ["equivalent"] * 3
    assert list(gain.verdict) == ["no difference found"] * 2
    assert base.speedup.tolist() == pytest.approx([2.5] * 3)
    assert precision.decide(base, gain)[0] == "bf16"


def test_a_shift_beyond_the_margin_fails_once_all_runs_are_in():
    base, gain = precision.compare(runs(seed=1), runs(shift_pp=1.0, seed=2))
    assert set(base.verdict) == {"not shown equivalent"}
    choice, why = precision.decide(base, gain)
    assert choice == "fp32" and "MNIST" in why


def test_a_changed_gain_fails():
    base, gain = precision.compare(runs(seed=1), runs(gain_pp=1.0, seed=2))
    assert set(gain.verdict) == {"differs"}
    assert precision.decide(base, gain)[0] == "fp32"


def test_incomplete_evidence_decides_nothing():
    """Two bf16 runs that look bad are not yet a failure: the planned five decide."""
    base, gain = precision.compare(runs(seed=1), runs(shift_pp=1.0, seeds=2, msvp_seeds=2, seed=2))
    choice, why = precision.decide(base, gain)
    assert choice is None and why.startswith("waiting")
    one = runs(seeds=1, msvp_seeds=1, seed=3)
    base, gain = precision.compare(runs(seed=1), one)
    assert set(base.verdict) == {"not enough runs yet"} and set(gain.verdict) == {"not enough pairs yet"}
    assert precision.decide(base, gain)[0] is None


def test_tost_p_is_small_only_inside_the_margin():
    a, b = [90.0, 90.1, 89.9, 90.05, 89.95], [90.02, 89.98, 90.1, 89.9, 90.0]
    assert precision.tost_p(a, b, 0.5) < 0.05
    assert precision.tost_p([x + 1 for x in a], b, 0.5) > 0.5
