"""Statistics on known numbers, and the report card's verdict rules on hand-made inputs."""
import math

import numpy as np
import pandas as pd
import pytest
from _lib import sections, tables, words  # noqa: E402
from scipy import stats as sps

from msvp import accounting, stats, verdicts  # noqa: E402
from msvp.stats import Estimate, comparison_family, fmt_pct, fmt_pp, summarize, t_interval, verdict


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
    p = comparison_family(df, "msvp-add-full")
    assert len(p) == 1 and p.n_pairs[0] == 3
    assert p.diff_mean[0] == pytest.approx(0.01)
    assert p.verdict[0] == "improves" and p.wins[0] == 3


def test_paired_only_matches_common_seeds_and_cells():
    df = runs({("mnist", "cnn", "baseline"): [0.9, 0.9], ("mnist", "cnn", "msvp-add-full"): [0.8],
               ("cifar10", "cnn", "baseline"): [0.5]})
    p = comparison_family(df, "msvp-add-full")
    assert list(p.dataset) == ["mnist"] and p.n_pairs[0] == 1 and p.verdict[0] == "not enough pairs yet"


def test_summarize_mean_std():
    s = summarize(runs({("mnist", "cnn", "baseline"): [0.1, 0.2, 0.3]}))
    assert s["n"][0] == 3 and s["mean"][0] == pytest.approx(0.2) and s["std"][0] == pytest.approx(0.1)


def test_formatting():
    assert fmt_pct(0.9912, 0.0011) == "99.12 ± 0.11"
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
    # three cells at 1.0 ± 0.1 on 10 df, weighted 1/3 each: variance 3 · 0.01/9, Welch–Satterthwaite
    # df (0.01/3)² / (3 · (0.01/9)²/10) = 30, interval 1 ± t_{0.975, 30} · 0.0577 = [0.88, 1.12]
    half = sps.t.ppf(0.975, 30) * math.sqrt(0.01 / 3)
    v, text = verdicts.claim_accuracy(same)
    assert v == "supported" and f"+1.00 [+{1 - half:.2f}, +{1 + half:.2f}] pp (fixed effect, decides)" in text
    nothing = table(*(cell(d, "cnn", 0.0, 0.05) for d in ("mnist", "fashion_mnist", "cifar10")))
    assert verdicts.claim_accuracy(nothing)[0] == "not supported"  # pooled 0 ± 0.06: equivalent within ±0.5 pp
    assert verdicts.claim_accuracy(table(cell("mnist", "cnn", -1.0, 0.1)))[0] == "not supported"
    assert verdicts.claim_accuracy(pd.DataFrame())[0] == "not run here"


def test_one_hurting_cell_does_not_veto_the_claim_and_a_disagreement_is_named():
    # y = 1, 1, -0.2 (se 0.1): the mean over these cells is 0.6 ± 0.12, supported. Random effects:
    # tau² = (96 - 2)/200 = 0.47, pooled 0.6 with variance 0.16 on 2 df: 0.6 ± 4.303·0.4 = [-1.12, +2.32],
    # inconclusive: the text must say that the two readings disagree, and which one decides
    mixed = table(cell("mnist", "cnn", 1.0, 0.1), cell("fashion_mnist", "cnn", 1.0, 0.1),
                  cell("cifar10", "cnn", -0.2, 0.1, verdict="hurts"))
    v, text = verdicts.claim_accuracy(mixed)
    assert v == "supported" and "+0.60 [+0.48, +0.72] pp (fixed effect, decides)" in text
    assert "random effects +0.60 [−1.12, +2.32] pp" in text and "the two disagree" in text
    assert "*inconclusive*" in text and "not run here" in text


def test_claim_accuracy_keeps_cells_whose_baseline_is_still_improving():
    # the convergence check is a caveat, not a gate: the CIFAR-10 cell enters the pooled gain
    t = table(cell("mnist", "cnn", 1.0, 0.1), cell("cifar10", "cnn", -3.0, 0.1, conv=False))
    v, text = verdicts.claim_accuracy(t)
    assert v == "not supported" and "mean gain over the 2 cells with ≥ 2 pairs −1.00" in text
    still = table(cell("cifar10", "cnn", 1.0, 0.1, conv=False))
    v, text = verdicts.claim_accuracy(still)
    assert v == "supported" and "the one cell of 1 with ≥ 2 pairs" in text


def test_claims_with_single_pairs_read_not_enough_pairs_yet():
    single = [dict(cell(d, "cnn", 0.1, math.nan), n_pairs=1, var_t=math.nan) for d in ("mnist", "cifar10")]
    v, text = verdicts.claim_accuracy(table(*single))
    assert v == "not enough pairs yet" and "all 2 cells have a single paired seed" in text
    assert verdicts.claim_harder_data(table(*single))[0] == "not enough pairs yet"
    # one cell with two pairs is enough for the rules to apply; the single-pair cell is counted apart
    two = table(dict(single[0], verdict="not enough pairs yet"), cell("cifar10", "cnn", 1.0, 0.1))
    v, text = verdicts.claim_accuracy(two)
    assert v == "supported" and "cells: inconclusive: 1, not enough pairs yet: 1" in text


def test_claim_harder_data_is_a_contrast_ranked_by_measured_error():
    up = table(cell("mnist", "cnn", 0.1, 0.05, err=1.0), cell("cifar10", "cnn", 2.0, 0.1, err=30.0))
    v, text = verdicts.claim_harder_data(up)
    assert v == "supported" and "harder − easier (CIFAR-10 − MNIST) +1.90" in text
    # the same gains, but the measured errors say MNIST is the harder one here: the contrast flips
    swapped = table(cell("mnist", "cnn", 0.1, 0.05, err=30.0), cell("cifar10", "cnn", 2.0, 0.1, err=1.0))
    assert verdicts.claim_harder_data(swapped)[0] == "not supported"
    # the case: point estimates in the claimed order, every interval includes 0
    noisy = table(cell("mnist", "cnn", 0.1, 1.0, err=1.0), cell("cifar10", "cnn", 0.5, 1.0, err=30.0))
    assert verdicts.claim_harder_data(noisy)[0] == "inconclusive"
    # gains that are the same within ±0.5 pp: 0.05 ± 1.725·0.0707 (90 %, 20 df) inside the margin
    flat = table(cell("mnist", "cnn", 0.2, 0.05, err=1.0), cell("cifar10", "cnn", 0.25, 0.05, err=30.0))
    assert verdicts.claim_harder_data(flat)[0] == "not supported"
    assert verdicts.claim_harder_data(table(cell("mnist", "cnn", 1.0, 0.1)))[0] == "not run here"


def test_claim_harder_data_needs_its_hardest_set():
    """A contrast among the easier sets cannot carry 'largest gains on harder data' when the hardest one
    has a single pair: inconclusive, and the text names what was left out. A hardest set whose
    baseline is still improving is judged (the caveat blocks nothing)."""
    flat = [cell("mnist", "cnn", 0.2, 0.05, err=1.0), cell("fashion_mnist", "cnn", 0.25, 0.05, err=8.0)]
    assert verdicts.claim_harder_data(table(*flat))[0] == "not supported"      # equivalent, as above
    single = table(*flat, dict(cell("cifar10", "cnn", 3.0, 0.1, err=30.0), n_pairs=1, var_t=math.nan))
    v, text = verdicts.claim_harder_data(single)
    assert v == "inconclusive" and "CIFAR-10 (baseline error 30.00 %), which has a single pair" in text
    rising = table(*flat, cell("cifar10", "cnn", 3.0, 0.1, err=30.0, conv=False))
    v, text = verdicts.claim_harder_data(rising)
    assert v == "supported" and "harder − easier (CIFAR-10 − MNIST; Fashion-MNIST, in the middle, not counted) +2.80" in text


def test_claim_harder_data_three_sets_compares_hardest_with_easiest():
    # weights -1, 0, +1 by error: the middle set's gain does not enter
    three = table(cell("fashion_mnist", "cnn", 9.0, 0.1, err=8.0), cell("mnist", "cnn", 0.1, 0.1, err=1.0),
                  cell("cifar10", "cnn", 1.1, 0.1, err=30.0))
    v, text = verdicts.claim_harder_data(three)
    assert v == "supported" and "harder − easier (CIFAR-10 − MNIST; Fashion-MNIST, in the middle, not counted) +1.00" in text


def test_claim_transformers_is_a_contrast():
    assert verdicts.claim_transformers(table(cell("mnist", "cnn", 0.1, 0.1)))[0] == "not run here"
    both = table(cell("mnist", "cnn", 0.1, 0.05), cell("mnist", "vit", 1.0, 0.05))
    v, text = verdicts.claim_transformers(both)
    assert v == "supported" and "ViT − others +0.90" in text
    noisy = table(cell("mnist", "cnn", 0.1, 0.05), cell("mnist", "vit", 1.0, 1.0))
    assert verdicts.claim_transformers(noisy)[0] == "inconclusive"
    smaller = table(cell("mnist", "cnn", 1.0, 0.05), cell("mnist", "vit", 0.1, 0.05))
    assert verdicts.claim_transformers(smaller)[0] == "not supported"
    # ViT minus the mean of the other two backbones: 1.0 - (0.2 + 0.4)/2 = 0.7
    three = table(cell("cifar10", "cnn", 0.2, 0.05), cell("cifar10", "resnet18", 0.4, 0.05),
                  cell("cifar10", "vit", 1.0, 0.05))
    assert "ViT − others +0.70" in verdicts.claim_transformers(three)[1]


def test_claim_transformers_in_training_reads_as_progress():
    """A profile that plans ViT cells but has no ViT pairs yet is training them, not skipping them."""
    cnn_only = table(cell("mnist", "cnn", 0.1, 0.1))
    plan = {("mnist", "vit", "msvp-add-full"): 3, ("cifar10", "vit", "msvp-add-full"): 3,
            ("mnist", "cnn", "msvp-add-full"): 5}
    v, text = verdicts.claim_transformers(cnn_only, plan=plan)
    assert v == stats.NOT_ENOUGH_PAIRS and "ViT-Tiny cells: 0 of 6 planned pairs done" in text
    assert verdicts.claim_transformers(cnn_only, plan={("mnist", "cnn", "msvp-add-full"): 5})[0] == "not run here"


def test_added_flops_by_hand():
    # 1×28×28, full scales (K = 3), add: upsampling 7·3·784 + mean 3·784 + add 784 = 19,600
    assert accounting.msvp_added_flops(1, 28, 28, "full", "add") == {
        "bilinear upsampling": 16464, "mean of maps": 2352, "add to image": 784}
    # 3×32×32 concat: upsampling 7·3·3072 = 64,512; 1×1 conv 12 -> 3 channels: 2·12·3·1024 = 73,728
    assert sum(accounting.msvp_added_flops(3, 32, 32, "full", "concat").values()) == 64512 + 73728
    # gated: + mean 9216, gate conv 2·9·1024 + 3072, sigmoid 4·3072, product 3072, add 3072
    assert sum(accounting.msvp_added_flops(3, 32, 32, "full", "gated").values()) == 64512 + 9216 + 21504 + 12288 + 3072 + 3072
    # the maps are shared by the images of a batch; the add is not
    assert accounting.msvp_added_flops(1, 28, 28, "global", "add", batch=4) == {
        "bilinear upsampling": 7 * 784 / 4, "mean of maps": 784 / 4, "add to image": 784}


def test_added_flops_agree_with_the_flop_counter_where_it_looks():
    # PyTorch's counter sees convolutions only: it finds exactly our concat conv, and nothing of 'add'
    from msvp import build_model
    from msvp.accounting import forward_flops
    base = forward_flops(build_model("cnn", "cifar10", seed=0), (3, 32, 32))
    concat = forward_flops(build_model("cnn", "cifar10", prompt="full", fusion="concat", seed=0), (3, 32, 32))
    add = forward_flops(build_model("cnn", "cifar10", prompt="full", fusion="add", seed=0), (3, 32, 32))
    assert concat - base == accounting.msvp_added_flops(3, 32, 32, "full", "concat")["1×1 conv (concat)"]
    assert add == base


def test_claim_compute_counts_what_the_counter_misses():
    compute = pd.DataFrame([
        {"backbone": "cnn", "input": "1x28x28", "variant": "baseline", "flops": 3_920_000, "flops_overhead_pct": 0.0,
         "latency_ratio": 1.0},
        {"backbone": "cnn", "input": "1x28x28", "variant": "msvp-add-full", "flops": 3_920_000,
         "flops_overhead_pct": 0.0, "latency_ratio": 1.02}])
    v, text = verdicts.claim_compute(compute)
    assert v == "supported" and "19,600 FLOPs" in text and "0.500 %" in text  # 19,600 / 3,920,000
    compute["flops"] = 1_960_000  # now the same ops are exactly 1 %: not below the threshold
    assert verdicts.claim_compute(compute)[0] == "not supported"


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
    p = verdicts.paired_table(runs_with_images({("mnist", "cnn"): 8, ("cifar10", "cnn"): 0}))
    mn = p[p.dataset == "mnist"].iloc[0]
    # gains of 8, 9, 10 images of 400: +2.0, +2.25, +2.5 pp
    assert mn.interval == "seed × image" and mn.diff_pp == pytest.approx(2.25) and mn.diff_mean == pytest.approx(0.0225)
    assert mn.mcnemar_p == pytest.approx((2 * 0.5 ** 8, 2 * 0.5 ** 9, 2 * 0.5 ** 10))  # k wins, 0 losses
    assert bool(mn.converged) and mn.verdict == "improves"
    cf = p[p.dataset == "cifar10"].iloc[0]  # identical models: exactly 0, equivalent
    assert cf.diff_pp == 0 and cf.mcnemar_p == (1.0, 1.0, 1.0) and cf.verdict == "equivalent"
    shown = sections.paired_for_reading(p, with_dataset=True)
    assert shown["MSVP ahead"].tolist() == ["3 of 3 seeds", "0 of 3 seeds"]


def test_old_records_fall_back_to_the_t_interval():
    df = runs_with_images({("mnist", "cnn"): 8})
    df["correct"] = None
    p = verdicts.paired_table(df)
    assert p.interval[0].startswith("t only") and p.mcnemar_p[0] == ()
    assert sections.paired_for_reading(p)["Δ (pp), seed × image CI"][0] == "no per-image records"


def test_best_val_metric_uses_the_t_interval():
    # the per-image records belong to the last-epoch model: they cannot back up another checkpoint
    p = comparison_family(runs_with_images({("mnist", "cnn"): 8}), "msvp-add-full", metric="test_acc_best_val")
    assert p.interval[0].startswith("t only")


def test_chapter_subset_keeps_the_claims_family():
    p = verdicts.paired_table(runs_with_images({("mnist", "cnn"): 8, ("cifar10", "cnn"): 8}), datasets=["mnist"])
    assert len(p) == 1 and p.holm_m[0] == 2 and "Holm over 2" in verdicts.claim_accuracy(p)[1]


def test_ablation_rows_come_from_each_comparisons_family():
    """The ablation runs on MNIST only; add/full also ran on CIFAR-10, so its family (and its verdict)
    is the one of the report card: Holm over both cells, not over the ablation's variants."""
    df = runs_with_images({("mnist", "cnn"): 8, ("cifar10", "cnn"): 8})
    other = df[(df.variant == "msvp-add-full") & (df.dataset == "mnist")].assign(variant="msvp-concat-full")
    df = pd.concat([df, other], ignore_index=True)
    variants = ["baseline", "msvp-add-full", "msvp-concat-full"]
    fam = verdicts.ablation_family(df, variants)
    assert list(zip(fam.dataset, fam.treatment, fam.holm_m)) == [("mnist", "msvp-add-full", 2),
                                                                 ("mnist", "msvp-concat-full", 1)]
    card = verdicts.paired_table(df).set_index("dataset").loc["mnist"]
    assert fam.p_holm[0] == card.p_holm and fam.verdict[0] == card.verdict
    t = tables.ablation_table(df, "mnist", "cnn", variants, family=fam)
    assert t.variant.tolist() == variants and t.verdict.iloc[1] == "improves"


def test_claim_params_on_measured_table():
    from msvp.accounting import params_table
    table = params_table()
    v, text = verdicts.claim_params(table)
    # 243 / 1,208,362 = 0.0201 % for the CNN on 3x32x32: just above the abstract's bound
    assert v == "not supported" and "CNN, 3 × 32 × 32" in text
    assert "CNN, 3 × 32 × 32: 243 against 241.7 allowed" in text and "the other 5 stay below" in text   # 0.02 % of 1,208,362
    assert table.match.all()


def test_data_title_names_an_incomplete_copy():
    df = pd.DataFrame({"dataset": ["cifar10", "mnist"], "data_variant": ["offline-copy", "complete"]})
    assert words.data_title(df, "cifar10") == "CIFAR-10 (offline copy)"
    assert words.data_title(df, "mnist") == "MNIST"


def test_equivalence_note_prints_the_interval_that_decided():
    """With 2 degrees of freedom the 95 % interval (0 ± 0.65) is wider than ±0.5 pp, but the 90 %
    interval TOST reads (0 ± 0.44) is inside: the verdict is 'not supported' and the note says why."""
    est = Estimate(0.0, 0.15 ** 2, 2)
    lo95, hi95 = est.interval()
    assert hi95 > 0.5 and stats.contrast_verdict(est) == "not supported"
    half = 2.9199856 * 0.15       # t_{0.95, 2} · se
    note = verdicts.equivalence_note(est)
    assert f"[−{half:.2f}, +{half:.2f}] pp" in note and "within ±0.5 pp" in note
    assert verdicts.equivalence_note(Estimate(1.0, 0.01, 10)) == ""      # supported: nothing to explain
    assert verdicts.equivalence_note(Estimate(0.3, 1.0, 10)) == ""       # inconclusive
    assert verdicts.equivalence_note(Estimate(-1.0, 0.01, 10)) == ""     # below zero, not equivalence


def test_caveat_md_names_each_rising_baseline_once_with_its_schedule():
    flat = cell("mnist", "cnn", 0.0, 0.05, err=1.0)
    assert "Every baseline had stopped improving" in tables.caveat_md(table(flat), "long-budget check: not run yet")
    rising = dict(cell("cifar10", "cnn", 0.1, 0.1, conv=False), val_rise_pp=1.494, lr_first=1e-3, lr_last=2.447e-5)
    both = table(flat, rising, dict(rising, treatment="msvp-concat-full"))
    text = tables.caveat_md(both, "long-budget check: not run yet")
    assert text.count("CIFAR-10 · CNN") == 1 and "+1.49 pp over its last 2 epochs" in text
    assert "last learning rate 2.4e-05, 2.4 % of the first" in text and "Long-budget check: not run yet." in text
    assert "MNIST" not in text


def test_margin_md_says_what_the_margin_means_on_each_data_set():
    df = pd.DataFrame({"dataset": ["mnist"] * 3 + ["cifar10"], "backbone": "cnn", "seed": [0, 1, 2, 0],
                       "variant": "baseline", "test_acc": [0.9960, 0.9962, 0.9966, 0.8], "n_test": [10000] * 3 + [9975]})
    text = tables.margin_md(df)
    # MNIST: mean error 0.3733 % of 10,000 images, below the margin; SD of 99.60, 99.62, 99.66 is 0.03 pp
    assert "MNIST · CNN**: the baseline errs on 0.37 % of the 10,000 test images (about 37 images)" in text
    assert "no gain can exceed 0.37 pp, less than the margin" in text and "seed SD 0.03 pp over 3 seeds" in text
    # CIFAR-10: one image of 9,975 is 0.010 pp, so ±0.5 pp is 50 images
    assert "one test image is 0.010 pp, so the margin is 50 images; one seed so far" in text
    assert text.index("MNIST") < text.index("CIFAR-10")
    assert "no baseline runs yet" in tables.margin_md(df[df.variant == "none"])


def test_claim_meaning_matches_the_rule_that_decides():
    """The front page explains each verdict of the accuracy claim; the explanation must fit the rule."""
    cases = {"supported": Estimate(1.0, 0.01, 10), "not supported": Estimate(0.0, 0.01, 10),
             "inconclusive": Estimate(0.3, 1.0, 10)}
    for v, est in cases.items():
        assert stats.contrast_verdict(est) == v
        lo, hi = est.interval()
        meaning = words.CLAIM_MEANING[v]
        assert ("lies above 0" in meaning) == (lo > 0)
        assert ("straddles 0" in meaning) == (lo < 0 < hi and v == "inconclusive")


# --- power, pooling, backbone contrasts: the report card's new tables -----------------------------------

def test_power_table_reads_each_cell_against_the_margin_and_its_room():
    rows = [dict(cell("mnist", "cnn", 0.0, 0.03, err=0.37), detectable_pp=0.11),
            dict(cell("fashion_mnist", "cnn", 0.1, 0.05, err=7.5), detectable_pp=0.22),
            dict(cell("cifar10", "cnn", 0.1, 0.3, err=16.0, treatment="msvp-concat-full"), detectable_pp=0.86),
            dict(cell("cifar10", "cnn", 0.1, 0.3, err=0.5), detectable_pp=0.9, treatment="msvp-gated-full"),
            # interval half-width 2.23 × 0.2 = 0.45 pp < margin < detectable gain: power between 50 and 80 %
            dict(cell("fashion_mnist", "cnn", 0.1, 0.2, err=7.5, treatment="msvp-concat-full"), detectable_pp=0.6)]
    plan = {("cifar10", "vit", "msvp-add-full"): 3}
    t = tables.power_table(table(*rows), plan).set_index("cell")["what it means"]
    assert "*equivalent* mainly says that MSVP does no harm" in t["MNIST · CNN · add"]
    assert t["Fashion-MNIST · CNN · add"].startswith("a gain as large as the margin would be detected")
    assert "would likely be missed (power below 50 %)" in t["CIFAR-10 · CNN · concat"]
    assert t["Fashion-MNIST · CNN · concat"].startswith("power at the margin lies between 50 and 80 %")
    assert t["CIFAR-10 · CNN · gated"].startswith("no possible gain is detectable")
    assert t["CIFAR-10 · ViT-Tiny · add"] == "not enough pairs yet (0 of 3 planned pairs done)"
    assert tables.power_table(pd.DataFrame(), plan)["pairs"].tolist() == ["0 of 3"]


def test_planned_pairs_count_the_seeds_both_arms_plan():
    plan = verdicts.planned_pairs("cpu")
    assert plan[("mnist", "cnn", "msvp-add-full")] == 5 and plan[("cifar10", "cnn", "msvp-concat-full")] == 3
    assert plan[("cifar10", "vit", "msvp-add-full")] == 3 and ("mnist", "vit", "msvp-concat-full") not in plan


def test_pooling_table_shows_both_readings_and_which_decides():
    mixed = table(cell("mnist", "cnn", 1.0, 0.1), cell("fashion_mnist", "cnn", 1.0, 0.1),
                  cell("cifar10", "cnn", -0.2, 0.1))
    t = tables.pooling_table({"add": mixed, "concat": table(cell("mnist", "cnn", 1.0, 0.1))})
    add = t.iloc[0]
    assert add["fixed effect (decides)"] == "+0.60 [+0.48, +0.72] pp" and add["its verdict"] == "supported"
    assert add["random effects"] == "+0.60 [−1.12, +2.32] pp" and add["its verdict "] == "inconclusive"
    assert t.iloc[1]["fixed effect (decides)"] == "one cell: nothing to pool"


def contrast_cell(dataset, backbone, mean, se, n_pairs=3):
    return dict(cell(dataset, backbone, mean, se), n_pairs=n_pairs)


def test_backbone_contrast_per_data_set_and_pooled():
    """ViT gain − CNN gain: on MNIST 1.0 − 0.2 = 0.8 (variance 0.01 + 0.01 on 10 df each); on CIFAR-10
    0.6 − 0.2 = 0.4; pooled, each data set weighted 1/2: 0.6 with variance (0.02 + 0.02)/4 = 0.01 on
    Welch–Satterthwaite df 0.01² / (4 · 0.0025²/10) = 40. Fashion-MNIST has one ViT pair."""
    p = table(contrast_cell("mnist", "cnn", 0.2, 0.1), contrast_cell("mnist", "vit", 1.0, 0.1),
              contrast_cell("cifar10", "cnn", 0.2, 0.1), contrast_cell("cifar10", "vit", 0.6, 0.1),
              contrast_cell("fashion_mnist", "cnn", 0.2, 0.1), contrast_cell("fashion_mnist", "vit", 5.0, 0.1, 1))
    plan = {("fashion_mnist", "vit", "msvp-add-full"): 3}
    t = tables.backbone_contrast(p, "vit", plan=plan).set_index("data set")
    h_one, h_pool = sps.t.ppf(0.975, 20) * math.sqrt(0.02), sps.t.ppf(0.975, 40) * 0.1
    assert t.loc["MNIST", "difference of gains, pp [95 % CI]"] == fmt_pp(0.8, 0.8 - h_one, 0.8 + h_one)
    assert t.loc["MNIST", "verdict"] == "supported" and t.loc["CIFAR-10", "verdict"] == "supported"
    assert t.loc["Fashion-MNIST", "verdict"] == "not enough pairs yet (ViT-Tiny: 1 of 3 planned pairs done)"
    assert t.loc["pooled (2 data sets)", "difference of gains, pp [95 % CI]"] == fmt_pp(0.6, 0.6 - h_pool, 0.6 + h_pool)
    # a ResNet-18 that gains less than the CNN: the contrast is claimed > 0, so 'not supported'
    r = tables.backbone_contrast(table(contrast_cell("mnist", "cnn", 1.0, 0.1),
                                       contrast_cell("mnist", "resnet18", 0.0, 0.1)), "resnet18")
    assert r.verdict.tolist() == ["not supported", "not supported"]


def test_backbone_contrasts_with_nothing_trained_yet():
    p = table(contrast_cell("cifar10", "cnn", 0.2, 0.1))
    plan = {("cifar10", "vit", "msvp-add-full"): 3, ("cifar10", "resnet18", "msvp-add-full"): 3}
    t = tables.backbone_contrasts(p, plan)
    assert t.contrast.tolist() == ["ViT-Tiny gain − CNN gain"] * 2 + ["ResNet-18 gain − CNN gain"] * 2
    assert t.verdict.tolist() == ["not enough pairs yet (ViT-Tiny: 0 of 3 planned pairs done)", "not enough pairs yet",
                                  "not enough pairs yet (ResNet-18: 0 of 3 planned pairs done)", "not enough pairs yet"]


def test_pairs_status_says_whether_more_pairs_are_coming():
    assert verdicts.pairs_status(1, 3) == "not enough pairs yet (1 of 3 planned pairs done)"
    assert verdicts.pairs_status(1, 1) == "not enough pairs yet (the profile plans 1)"
    assert verdicts.pairs_status(0) == "not enough pairs yet"


def test_long_budget_line_until_its_runs_exist(tmp_path):
    t, line = tables.long_budget_table(tmp_path, pd.DataFrame(), "cpu")
    assert t.empty and line == "long-budget check: not run yet (0 of 9 runs)"
    # it extends the cpu profile's protocol: a smoke page does not read it against its own runs
    assert "extends the `cpu` profile" in tables.long_budget_table(tmp_path, pd.DataFrame(), "smoke")[1]


def budget_runs(gain: float, epochs: int, seeds: int = 3) -> pd.DataFrame:
    """CIFAR-10 CNN runs whose MSVP add arm gains ``gain`` on every seed (a seed effect of ±2 pp)."""
    base = [0.80 + 0.02 * (-1) ** k for k in range(seeds)]
    df = runs({("cifar10", "cnn", "baseline"): base,
               ("cifar10", "cnn", "msvp-add-full"): [b + gain for b in base]})
    return df.assign(epochs=epochs)


def test_long_budget_sets_each_comparison_at_both_budgets():
    p = verdicts.long_budget(budget_runs(0.0, 30), budget_runs(0.01, 10, seeds=5), treatments=("msvp-add-full",))
    assert p.budget.tolist() == ["protocol", "long"] and p.epochs.tolist() == [10, 30]
    assert p.n_pairs.tolist() == [5, 3]
    assert p.verdict.tolist() == ["improves", "equivalent"]


def test_long_budget_table_says_whether_a_verdict_changes(tmp_path, monkeypatch):
    import msvp.results
    monkeypatch.setattr(msvp.results, "load", lambda profile, root=None: budget_runs(0.0, 30))
    t, line = tables.long_budget_table(tmp_path, budget_runs(0.01, 10, seeds=5), "cpu")
    assert t.budget.tolist() == ["protocol (10 epochs)", "long (30 epochs)"]
    assert line == ("long-budget check (6 of 9 runs): MSVP add, full on CIFAR-10 · CNN: improves at 10 epochs, "
                    "equivalent at 30 (the verdict changes)")
    t, line = tables.long_budget_table(tmp_path, budget_runs(0.0, 10, seeds=5), "cpu")
    assert line.endswith("equivalent at 10 epochs, still equivalent at 30 (the verdict stands)")
    # one long pair: no verdict at 30 epochs yet, and no claim that the verdict changed
    monkeypatch.setattr(msvp.results, "load", lambda profile, root=None: budget_runs(0.0, 30, seeds=1))
    line = tables.long_budget_table(tmp_path, budget_runs(0.01, 10, seeds=5), "cpu")[1]
    assert line.endswith("no verdict at 30 epochs yet, not enough pairs yet (1 of 3 planned pairs done)")
    # no protocol runs at all: the long rows still read, with integer epochs
    line = tables.long_budget_table(tmp_path, budget_runs(0.0, 10, seeds=5).iloc[:0], "cpu")[1]
    assert "30 epochs" in line and "30.0" not in line


def test_claim_transformers_waits_for_vit_pairs_as_every_page_does():
    """CNN cells judged, the ViT cell with one pair: 'not enough pairs yet', not 'inconclusive'."""
    one_vit = table(cell("cifar10", "cnn", 0.1, 0.05), {**cell("cifar10", "vit", -0.1, 0.05), "n_pairs": 1,
                                                                  "var_t": float("nan")})
    plan = {("cifar10", "vit", "msvp-add-full"): 3, ("mnist", "vit", "msvp-add-full"): 3}
    v, text = verdicts.claim_transformers(one_vit, plan=plan)
    assert v == stats.NOT_ENOUGH_PAIRS and text == "ViT-Tiny cells: 1 of 6 planned pairs done, none with ≥ 2 pairs yet"
