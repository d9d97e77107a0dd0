"""Statistics on known numbers, and the report card's verdict rules on hand-made inputs."""
import math

import pandas as pd
import pytest

from msvp import report
from msvp.stats import fmt_ci, fmt_pct, paired, summarize, t_interval, verdict


def test_t_interval_known_values():
    # mean 2, sd 1, n 3: half-width = t_{0.975, 2} / sqrt(3) = 4.302653 / 1.732051
    mean, lo, hi = t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert lo == pytest.approx(2 - 2.484138, abs=1e-5) and hi == pytest.approx(2 + 2.484138, abs=1e-5)


def test_t_interval_single_value_has_no_interval():
    mean, lo, hi = t_interval([0.5])
    assert mean == 0.5 and math.isnan(lo) and math.isnan(hi)


@pytest.mark.parametrize("lo,hi,expected", [(0.1, 0.3, "improves"), (-0.3, -0.1, "hurts"), (-0.1, 0.2, "inconclusive"),
                                            (math.nan, math.nan, "inconclusive"), (0.0, 0.2, "inconclusive")])
def test_verdict(lo, hi, expected):
    assert verdict(lo, hi) == expected


def runs(cell_values: dict) -> pd.DataFrame:
    rows = []
    for (dataset, backbone, variant), accs in cell_values.items():
        for seed, acc in enumerate(accs):
            rows.append({"dataset": dataset, "backbone": backbone, "variant": variant, "seed": seed, "test_acc": acc})
    return pd.DataFrame(rows)


def test_paired_uses_per_seed_differences():
    # the seeds differ a lot, the per-seed gain is a steady +0.01: a paired test must see it
    df = runs({("mnist", "cnn", "baseline"): [0.90, 0.95, 0.80],
               ("mnist", "cnn", "msvp-add-full"): [0.91, 0.96, 0.81]})
    p = paired(df, "msvp-add-full")
    assert len(p) == 1 and p.n_pairs[0] == 3
    assert p.diff_mean[0] == pytest.approx(0.01)
    assert p.verdict[0] == "improves" and p.wins[0] == 3


def test_paired_only_matches_common_seeds_and_cells():
    df = runs({("mnist", "cnn", "baseline"): [0.9, 0.9], ("mnist", "cnn", "msvp-add-full"): [0.8],
               ("cifar10", "cnn", "baseline"): [0.5]})
    p = paired(df, "msvp-add-full")
    assert list(p.dataset) == ["mnist"] and p.n_pairs[0] == 1 and p.verdict[0] == "inconclusive"


def test_summarize_mean_std():
    s = summarize(runs({("mnist", "cnn", "baseline"): [0.1, 0.2, 0.3]}))
    assert s["n"][0] == 3 and s["mean"][0] == pytest.approx(0.2) and s["std"][0] == pytest.approx(0.1)


def test_formatting():
    assert fmt_pct(0.9912, 0.0011) == "99.12 ± 0.11"
    assert fmt_ci(0.0012, -0.0005, 0.0029) == "+0.12 [-0.05, +0.29] pp"


def paired_frame(diffs: dict) -> pd.DataFrame:
    """(dataset, backbone) -> (mean, lo, hi) as a paired() result."""
    return pd.DataFrame([{"dataset": d, "backbone": b, "treatment": "msvp-add-full", "n_pairs": 3, "diff_mean": m,
                          "ci_low": lo, "ci_high": hi, "verdict": verdict(lo, hi), "wins": 3}
                         for (d, b), (m, lo, hi) in diffs.items()])


def test_claim_accuracy_rules():
    assert report.claim_accuracy(paired_frame({("mnist", "cnn"): (0.01, 0.005, 0.02)}))[0] == "supported"
    assert report.claim_accuracy(paired_frame({("mnist", "cnn"): (0.01, -0.01, 0.02)}))[0] == "inconclusive"
    assert report.claim_accuracy(paired_frame({("mnist", "cnn"): (-0.01, -0.02, -0.005)}))[0] == "not supported"
    mixed = paired_frame({("mnist", "cnn"): (0.01, 0.005, 0.02), ("cifar10", "cnn"): (0.0, -0.01, 0.01)})
    assert report.claim_accuracy(mixed)[0] == "inconclusive"
    assert report.claim_accuracy(pd.DataFrame())[0] == "not run here"


def test_claim_harder_data_rules():
    up = paired_frame({("mnist", "cnn"): (0.001, -0.001, 0.003), ("cifar10", "cnn"): (0.02, 0.01, 0.03)})
    assert report.claim_harder_data(up)[0] == "supported"
    down = paired_frame({("mnist", "cnn"): (0.01, 0.005, 0.02), ("cifar10", "cnn"): (0.002, -0.01, 0.012)})
    assert report.claim_harder_data(down)[0] == "not supported"
    assert report.claim_harder_data(paired_frame({("mnist", "cnn"): (0.01, 0.0, 0.02)}))[0] == "not run here"


def test_claim_transformers_needs_vit():
    assert report.claim_transformers(paired_frame({("mnist", "cnn"): (0.01, 0.0, 0.02)}))[0] == "not run here"
    both = paired_frame({("mnist", "cnn"): (0.001, 0.0, 0.002), ("mnist", "vit"): (0.01, 0.005, 0.02)})
    assert report.claim_transformers(both)[0] == "supported"
    noisy = paired_frame({("mnist", "cnn"): (0.001, 0.0, 0.002), ("mnist", "vit"): (0.01, -0.01, 0.03)})
    assert report.claim_transformers(noisy)[0] == "inconclusive"
    smaller = paired_frame({("mnist", "cnn"): (0.01, 0.005, 0.02), ("mnist", "vit"): (0.001, 0.0005, 0.002)})
    assert report.claim_transformers(smaller)[0] == "not supported"


def test_claim_params_on_measured_table():
    from msvp.accounting import params_table
    table = params_table()
    v, text = report.claim_params(table)
    # 243 / 1,208,362 = 0.0201 % for the CNN on 3x32x32: just above the abstract's bound
    assert v == "not supported" and "cnn, 3x32x32" in text
    assert table.match.all()
