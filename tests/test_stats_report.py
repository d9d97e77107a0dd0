"""Statistics on known numbers, and the report card's verdict rules on hand-made inputs."""
import math

import numpy as np
import pandas as pd
import pytest

from msvp import report
from msvp.stats import Estimate, fmt_ci, fmt_pct, fmt_pp, paired, summarize, t_interval, verdict


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
    assert fmt_ci(0.0012, -0.0005, 0.0029) == "+0.12 [−0.05, +0.29] pp"
    assert fmt_pp(0.12, -0.05, 0.29) == "+0.12 [−0.05, +0.29] pp"   # a typographic minus, as in the tables


def cell(dataset, backbone, mean, se, err=10.0, conv=True, treatment="msvp-add-full", verdict="inconclusive"):
    """One row of a paired table: a difference (pp) with standard error ``se`` on 10 df."""
    lo, hi = Estimate(mean, se ** 2, 10).interval()
    return {"dataset": dataset, "backbone": backbone, "treatment": treatment, "n_pairs": 3, "diff_pp": mean,
            "var_t": se ** 2, "df": 10.0, "var_z": 0.0, "lo_pp": lo, "hi_pp": hi, "baseline_err_pp": err,
            "converged": conv, "verdict": verdict}


def table(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def test_claim_accuracy_uses_the_pooled_gain():
    same = table(*(cell(d, "cnn", 1.0, 0.1) for d in ("mnist", "fashion_mnist", "cifar10")))
    # three cells at 1.0 ± 0.1: tau² = 0, pooled variance 0.01/3, interval 1 ± 4.303·0.0577 = [0.75, 1.25]
    v, text = report.claim_accuracy(same)
    assert v == "supported" and "+1.00 [+0.75, +1.25] pp" in text
    nothing = table(*(cell(d, "cnn", 0.0, 0.05) for d in ("mnist", "fashion_mnist", "cifar10")))
    assert report.claim_accuracy(nothing)[0] == "not supported"  # pooled 0 ± 0.08: equivalent within ±0.5 pp
    assert report.claim_accuracy(table(cell("mnist", "cnn", -1.0, 0.1)))[0] == "not supported"
    assert report.claim_accuracy(pd.DataFrame())[0] == "not run here"


def test_one_hurting_cell_does_not_veto_the_claim():
    # y = 1, 1, -0.2 (se 0.1): tau² = (96 - 2)/200 = 0.47, pooled 0.6 with variance 0.16 on 2 df:
    # 0.6 ± 4.303·0.4 = [-1.12, +2.32] -> inconclusive (the old rule said "not supported")
    mixed = table(cell("mnist", "cnn", 1.0, 0.1), cell("fashion_mnist", "cnn", 1.0, 0.1),
                  cell("cifar10", "cnn", -0.2, 0.1, verdict="hurts"))
    v, text = report.claim_accuracy(mixed)
    assert v == "inconclusive" and "+0.60 [−1.12, +2.32] pp" in text


def test_claim_accuracy_leaves_out_unconverged_cells():
    t = table(cell("mnist", "cnn", 1.0, 0.1), cell("cifar10", "cnn", -3.0, 0.1, conv=False,
                                                   verdict="not converged at this budget"))
    v, text = report.claim_accuracy(t)
    assert v == "supported" and "the one cell of 2 whose baseline converged" in text and "SD" not in text
    gated = table(cell("cifar10", "cnn", 1.0, 0.1, conv=False))
    assert report.claim_accuracy(gated)[0] == "not converged at this budget"


def test_claims_with_single_pairs_are_not_judged_yet():
    single = [dict(cell(d, "cnn", 0.1, math.nan), n_pairs=1, var_t=math.nan) for d in ("mnist", "cifar10")]
    v, text = report.claim_accuracy(table(*single))
    assert v == "not judged yet" and "all 2 cells have a single paired seed" in text
    assert report.claim_harder_data(table(*single))[0] == "not judged yet"
    # one cell with two pairs is enough for the rules to apply; the single-pair cell is counted apart
    two = table(single[0], cell("cifar10", "cnn", 1.0, 0.1))
    v, text = report.claim_accuracy(two)
    assert v != "not judged yet" and "cells: inconclusive: 1, no verdict yet (1 pair): 1" in text


def test_claim_harder_data_is_a_contrast_ranked_by_measured_error():
    up = table(cell("mnist", "cnn", 0.1, 0.05, err=1.0), cell("cifar10", "cnn", 2.0, 0.1, err=30.0))
    v, text = report.claim_harder_data(up)
    assert v == "supported" and "harder − easier +1.90" in text
    # the same gains, but the measured errors say MNIST is the harder one here: the contrast flips
    swapped = table(cell("mnist", "cnn", 0.1, 0.05, err=30.0), cell("cifar10", "cnn", 2.0, 0.1, err=1.0))
    assert report.claim_harder_data(swapped)[0] == "not supported"
    # the case: point estimates in the claimed order, every interval includes 0
    noisy = table(cell("mnist", "cnn", 0.1, 1.0, err=1.0), cell("cifar10", "cnn", 0.5, 1.0, err=30.0))
    assert report.claim_harder_data(noisy)[0] == "inconclusive"
    # gains that are the same within ±0.5 pp: 0.05 ± 1.725·0.0707 (90 %, 20 df) inside the margin
    flat = table(cell("mnist", "cnn", 0.2, 0.05, err=1.0), cell("cifar10", "cnn", 0.25, 0.05, err=30.0))
    assert report.claim_harder_data(flat)[0] == "not supported"
    assert report.claim_harder_data(table(cell("mnist", "cnn", 1.0, 0.1)))[0] == "not run here"


def test_claim_harder_data_needs_its_hardest_set():
    """A contrast among the easier sets cannot carry 'largest gains on harder data' when the hardest one
    failed the convergence gate: inconclusive, and the text names what was left out."""
    flat = [cell("mnist", "cnn", 0.2, 0.05, err=1.0), cell("fashion_mnist", "cnn", 0.25, 0.05, err=8.0)]
    assert report.claim_harder_data(table(*flat))[0] == "not supported"      # equivalent, as above
    gated = table(*flat, cell("cifar10", "cnn", 3.0, 0.1, err=30.0, conv=False))
    v, text = report.claim_harder_data(gated)
    assert v == "inconclusive" and "CIFAR-10 (baseline error 30.0 %)" in text and "not judged" in text
    # a hardest set with a single pair is named too (it has no interval to enter the contrast)
    single = table(*flat, dict(cell("cifar10", "cnn", 3.0, 0.1, err=30.0), n_pairs=1, var_t=math.nan))
    v, text = report.claim_harder_data(single)
    assert v == "inconclusive" and "CIFAR-10 (baseline error 30.0 %), which has a single pair" in text
    # a gated cell that is not the hardest leaves the contrast to the rest
    easy_gated = table(cell("mnist", "cnn", 0.0, 0.05, err=1.0, conv=False), *flat[1:],
                       cell("cifar10", "cnn", 0.2, 0.05, err=30.0))
    assert report.claim_harder_data(easy_gated)[0] == "not supported"


def test_claim_harder_data_three_sets_compares_hardest_with_easiest():
    # weights -1, 0, +1 by error: the middle set's gain does not enter
    three = table(cell("fashion_mnist", "cnn", 9.0, 0.1, err=8.0), cell("mnist", "cnn", 0.1, 0.1, err=1.0),
                  cell("cifar10", "cnn", 1.1, 0.1, err=30.0))
    v, text = report.claim_harder_data(three)
    assert v == "supported" and "harder − easier +1.00" in text


def test_claim_transformers_is_a_contrast():
    assert report.claim_transformers(table(cell("mnist", "cnn", 0.1, 0.1)))[0] == "not run here"
    both = table(cell("mnist", "cnn", 0.1, 0.05), cell("mnist", "vit", 1.0, 0.05))
    v, text = report.claim_transformers(both)
    assert v == "supported" and "ViT − others +0.90" in text
    noisy = table(cell("mnist", "cnn", 0.1, 0.05), cell("mnist", "vit", 1.0, 1.0))
    assert report.claim_transformers(noisy)[0] == "inconclusive"
    smaller = table(cell("mnist", "cnn", 1.0, 0.05), cell("mnist", "vit", 0.1, 0.05))
    assert report.claim_transformers(smaller)[0] == "not supported"
    # ViT minus the mean of the other two backbones: 1.0 - (0.2 + 0.4)/2 = 0.7
    three = table(cell("cifar10", "cnn", 0.2, 0.05), cell("cifar10", "resnet18", 0.4, 0.05),
                  cell("cifar10", "vit", 1.0, 0.05))
    assert "ViT − others +0.70" in report.claim_transformers(three)[1]


def test_added_flops_by_hand():
    # 1×28×28, full scales (K = 3), add: upsampling 7·3·784 + mean 3·784 + add 784 = 19,600
    assert report.msvp_added_flops(1, 28, 28, "full", "add") == {
        "bilinear upsampling": 16464, "mean of maps": 2352, "add to image": 784}
    # 3×32×32 concat: upsampling 7·3·3072 = 64,512; 1×1 conv 12 -> 3 channels: 2·12·3·1024 = 73,728
    assert sum(report.msvp_added_flops(3, 32, 32, "full", "concat").values()) == 64512 + 73728
    # gated: + mean 9216, gate conv 2·9·1024 + 3072, sigmoid 4·3072, product 3072, add 3072
    assert sum(report.msvp_added_flops(3, 32, 32, "full", "gated").values()) == 64512 + 9216 + 21504 + 12288 + 3072 + 3072
    # the maps are shared by the images of a batch; the add is not
    assert report.msvp_added_flops(1, 28, 28, "global", "add", batch=4) == {
        "bilinear upsampling": 7 * 784 / 4, "mean of maps": 784 / 4, "add to image": 784}


def test_added_flops_agree_with_the_flop_counter_where_it_looks():
    # PyTorch's counter sees convolutions only: it finds exactly our concat conv, and nothing of 'add'
    from msvp import build_model
    from msvp.accounting import forward_flops
    base = forward_flops(build_model("cnn", "cifar10", seed=0), (3, 32, 32))
    concat = forward_flops(build_model("cnn", "cifar10", prompt="full", fusion="concat", seed=0), (3, 32, 32))
    add = forward_flops(build_model("cnn", "cifar10", prompt="full", fusion="add", seed=0), (3, 32, 32))
    assert concat - base == report.msvp_added_flops(3, 32, 32, "full", "concat")["1×1 conv (concat)"]
    assert add == base


def test_claim_compute_counts_what_the_counter_misses():
    compute = pd.DataFrame([
        {"backbone": "cnn", "input": "1x28x28", "variant": "baseline", "flops": 3_920_000, "flops_overhead_pct": 0.0,
         "latency_ratio": 1.0},
        {"backbone": "cnn", "input": "1x28x28", "variant": "msvp-add-full", "flops": 3_920_000,
         "flops_overhead_pct": 0.0, "latency_ratio": 1.02}])
    v, text = report.claim_compute(compute)
    assert v == "supported" and "19,600 FLOPs" in text and "0.500 %" in text  # 19,600 / 3,920,000
    compute["flops"] = 1_960_000  # now the same ops are exactly 1 %: not below the threshold
    assert report.claim_compute(compute)[0] == "not supported"


def runs_with_images(gains: dict, n=400, seeds=3, rng=0) -> pd.DataFrame:
    """Runs with per-image correctness: baseline correct on a random 80 %; at seed s the treatment also
    gets k + s images right that the baseline missed, k = ``gains[(dataset, backbone)]`` (none if k = 0)."""
    g = np.random.default_rng(rng)
    rows = []
    for (dataset, backbone), k in gains.items():
        for seed in range(seeds):
            base = g.uniform(size=n) < 0.8
            treat = base.copy()
            treat[np.flatnonzero(~base)[g.permutation((~base).sum())[:k + seed if k else 0]]] = True
            for variant, c in (("baseline", base), ("msvp-add-full", treat)):
                rows.append({"dataset": dataset, "backbone": backbone, "variant": variant, "seed": seed,
                             "test_acc": c.mean(), "test_acc_best_val": c.mean(), "n_test": n,
                             "path": f"{dataset}/{backbone}/{variant}/seed{seed}.json", "fingerprint": "f",
                             "device_class": "cpu", "threads": 2, "precision": "fp32", "correct": c,
                             "val_acc_curve": [0.5, 0.8, 0.8, 0.8], "params_prompt": 81})
    return pd.DataFrame(rows)


def test_paired_with_per_image_records_end_to_end():
    p = report.paired_table(runs_with_images({("mnist", "cnn"): 8, ("cifar10", "cnn"): 0}))
    mn = p[p.dataset == "mnist"].iloc[0]
    # gains of 8, 9, 10 images of 400: +2.0, +2.25, +2.5 pp
    assert mn.interval == "seed × image" and mn.diff_pp == pytest.approx(2.25) and mn.diff_mean == pytest.approx(0.0225)
    assert mn.mcnemar_p == pytest.approx((2 * 0.5 ** 8, 2 * 0.5 ** 9, 2 * 0.5 ** 10))  # k wins, 0 losses
    assert bool(mn.converged) and mn.verdict == "improves"
    cf = p[p.dataset == "cifar10"].iloc[0]  # identical models: exactly 0, equivalent
    assert cf.diff_pp == 0 and cf.mcnemar_p == (1.0, 1.0, 1.0) and cf.verdict == "equivalent"
    shown = report.format_paired(p)
    assert list(shown.columns) == report.FORMAT_COLUMNS and shown["seeds won"].tolist() == ["3/3", "0/3"]


def test_old_records_fall_back_to_the_t_interval():
    df = runs_with_images({("mnist", "cnn"): 8})
    df["correct"] = None
    p = report.paired_table(df)
    assert p.interval[0].startswith("t only") and p.mcnemar_p[0] == ()
    assert report.format_paired(p)["Δ, seed × image interval"][0].startswith("t only")


def test_best_val_metric_uses_the_t_interval():
    # the per-image records belong to the last-epoch model: they cannot back up another checkpoint
    p = paired(runs_with_images({("mnist", "cnn"): 8}), "msvp-add-full", metric="test_acc_best_val")
    assert p.interval[0].startswith("t only")


def test_chapter_subset_keeps_the_claims_family():
    p = report.paired_table(runs_with_images({("mnist", "cnn"): 8, ("cifar10", "cnn"): 8}), datasets=["mnist"])
    assert len(p) == 1 and p.holm_m[0] == 2 and "Holm over 2" in report.claim_accuracy(p)[1]


def test_ablation_verdicts_are_corrected_over_the_whole_ablation():
    df = runs_with_images({("mnist", "cnn"): 8, ("cifar10", "cnn"): 8})
    other = df[df.variant == "msvp-add-full"].assign(variant="msvp-concat-full")
    df = pd.concat([df, other], ignore_index=True)
    variants = ["baseline", "msvp-add-full", "msvp-concat-full"]
    fam = report.ablation_family(df, variants)
    assert len(fam) == 4 and fam.p_holm.notna().all()  # 2 cells × 2 variants, one family
    t = report.ablation_table(df, "mnist", "cnn", variants, family=fam)
    assert t.variant.tolist() == variants and t.verdict.iloc[1] == "improves"


def test_claim_params_on_measured_table():
    from msvp.accounting import params_table
    table = params_table()
    v, text = report.claim_params(table)
    # 243 / 1,208,362 = 0.0201 % for the CNN on 3x32x32: just above the abstract's bound
    assert v == "not supported" and "cnn, 3x32x32" in text
    assert "cnn 3x32x32: 243 against 241.7 allowed" in text and "the other 5 stay below" in text   # 0.02 % of 1,208,362
    assert table.match.all()


def test_data_title_names_an_incomplete_copy():
    df = pd.DataFrame({"dataset": ["cifar10", "mnist"], "data_variant": ["offline-copy", "complete"]})
    assert report.data_title(df, "cifar10") == "CIFAR-10 (offline copy)"
    assert report.data_title(df, "mnist") == "MNIST"


def test_equivalence_note_prints_the_interval_that_decided():
    """With 2 degrees of freedom the 95 % interval (0 ± 0.65) is wider than ±0.5 pp, but the 90 %
    interval TOST reads (0 ± 0.44) is inside: the verdict is 'not supported' and the note says why."""
    est = Estimate(0.0, 0.15 ** 2, 2)
    lo95, hi95 = est.interval()
    assert hi95 > 0.5 and report.contrast_verdict(est) == "not supported"
    half = 2.9199856 * 0.15       # t_{0.95, 2} · se
    note = report.equivalence_note(est)
    assert f"[−{half:.2f}, +{half:.2f}] pp" in note and "within ±0.5 pp" in note
    assert report.equivalence_note(Estimate(1.0, 0.01, 10)) == ""      # supported: nothing to explain
    assert report.equivalence_note(Estimate(0.3, 1.0, 10)) == ""       # inconclusive
    assert report.equivalence_note(Estimate(-1.0, 0.01, 10)) == ""     # below zero, not equivalence


def test_gate_sensitivity_shows_what_the_gate_decides():
    """Waiving the gate gives the gated cell a verdict and the claims a second reading; the rule itself
    (claim_accuracy on the gated table) is unchanged."""
    flat = [cell("mnist", "cnn", 0.0, 0.05, err=1.0), cell("fashion_mnist", "cnn", 0.05, 0.05, err=8.0)]
    assert report.gate_sensitivity(table(*flat)) == ""                    # nothing gated, nothing to say
    gated = table(*flat, cell("cifar10", "cnn", 3.0, 0.1, err=30.0, conv=False,
                              verdict="not converged at this budget"))
    # the gated cell's own p-value decides once the gate is waived, after Holm over all 3 cells
    rows = gated.assign(val_rise_pp=1.0, p_value=[0.5, 0.5, 0.01], p_tost=0.5)
    text = report.gate_sensitivity(rows)
    assert "CIFAR-10 · CNN (add) +3.00" in text and "*improves*" in text and "harder data *supported*" in text
    assert "transformers *not run here*" in text
    holm3 = report.gate_sensitivity(rows.assign(p_value=[0.5, 0.5, 0.02]))   # 3 × 0.02 = 0.06 ≥ 0.05
    assert "*improves*" not in holm3 and "*inconclusive*" in holm3
    # another reading's gated cells are listed beside, judged in their own family
    concat = rows.assign(treatment="msvp-concat-full", diff_pp=-1.0, p_value=[0.5, 0.5, 0.001])
    both = report.gate_sensitivity(rows, others=[concat])
    assert "CIFAR-10 · CNN (concat) −1.00" in both and "*hurts*" in both
    assert report.claim_harder_data(gated)[0] == "inconclusive"           # the rule still gates it


def test_margin_context_prints_each_baselines_spread_and_error():
    df = pd.DataFrame({"dataset": ["mnist"] * 3 + ["cifar10"], "backbone": "cnn", "seed": [0, 1, 2, 0],
                       "variant": "baseline", "test_acc": [0.99, 0.992, 0.994, 0.8]})
    text = report.margin_context(df)
    # MNIST: SD of 99.0, 99.2, 99.4 is 0.20 pp; mean error 0.80 %; CIFAR-10 has one seed
    assert "MNIST · CNN seed SD 0.20 pp over 3 seeds, error 0.80 %" in text
    assert "CIFAR-10 · CNN one seed, error 20.00 %" in text
    assert text.index("MNIST") < text.index("CIFAR-10")
    assert "no baseline runs yet" in report.margin_context(df[df.variant == "none"])


def test_claim_meaning_matches_the_rule_that_decides():
    """The front page explains each verdict of the accuracy claim; the explanation must fit the rule."""
    cases = {"supported": Estimate(1.0, 0.01, 10), "not supported": Estimate(0.0, 0.01, 10),
             "inconclusive": Estimate(0.3, 1.0, 10)}
    for v, est in cases.items():
        assert report.contrast_verdict(est) == v
        lo, hi = est.interval()
        meaning = report.CLAIM_MEANING[v]
        assert ("lies above 0" in meaning) == (lo > 0)
        assert ("straddles 0" in meaning) == (lo < 0 < hi and v == "inconclusive")
