"""One rule set for the whole book: a comparison gets one verdict on every page that shows it.

The pages read their rows from different helpers (the report card and chapters 3-5 from
``verdicts.paired_table`` / ``sections.paired_rows``, the ablations from ``verdicts.ablation_family``, the
controls from ``control_family.control_family``); each must take a comparison's Holm family from
``stats.comparison_family`` over all of the profile's runs. The runs below are made so that the
family matters: MSVP add/full − baseline on Fashion-MNIST has a raw p of about 0.007, which survives
Holm over the 3 cells of its comparison (× 3) but not a family of every ablation variant (× 4) or of
every control comparison (× 18)."""
import math

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

from _lib import control_family, names, sections, words  # noqa: E402

from msvp import verdicts  # noqa: E402
from msvp.stats import NOT_ENOUGH_PAIRS  # noqa: E402

BASE_ACC = {"mnist": 0.99, "fashion_mnist": 0.92, "cifar10": 0.83}
# per-seed gains (pp) over the baseline of the same seed; a variant absent here ties with the baseline
GAINS = {("fashion_mnist", "msvp-add-full"): (0.30, 0.35, 0.40), ("mnist", "msvp-add-full"): (0.1, -0.1, 0.05),
         ("cifar10", "msvp-add-full"): (0.3, -0.4, 0.2), ("fashion_mnist", "control-pad"): (0.2, 0.1, 0.5),
         ("cifar10", "control-pad"): (-0.3, 0.2, 0.4), ("fashion_mnist", "msvp-add-global"): (0.2, 0.25, 0.3),
         ("cifar10", "msvp-concat-full"): (-0.5, -0.3, -0.6), ("fashion_mnist", "msvp-gated-full"): (0.4, 0.2, 0.1)}
ABLATION = ("msvp-add-global", "msvp-add-global_mid", "msvp-gated-full")
CONTROLS = ("control-pad", "control-fullres", "control-frozen", "msvp-add-global")


def run(dataset, variant, seed, acc):
    rising = dataset == "cifar10" and variant == "baseline"   # a caveat, which must not change a verdict
    return {"dataset": dataset, "backbone": "cnn", "variant": variant, "seed": seed, "test_acc": acc,
            "test_acc_best_val": acc, "n_test": 10000, "path": f"{dataset}/cnn/{variant}/seed{seed}.json",
            "fingerprint": "f", "device_class": "cpu", "threads": 1, "precision": "fp32", "correct": None,
            "val_acc_curve": [0.5, 0.6, 0.7, 0.8] if rising else [0.5, 0.9, 0.9, 0.9], "lr_curve": [1e-3] * 4,
            "n_train": 1000, "params_prompt": 81}


def profile_runs() -> pd.DataFrame:
    """Main cells (baseline, add/full, concat/full) on three data sets, the ablation on Fashion-MNIST,
    the controls on Fashion-MNIST and CIFAR-10, three seeds each; MNIST's concat/full has one seed."""
    arms = {d: ["baseline", "msvp-add-full", "msvp-concat-full"] for d in BASE_ACC}
    arms["fashion_mnist"] += list(ABLATION) + list(CONTROLS[:3])
    arms["cifar10"] += list(CONTROLS)
    rows = []
    for d, variants in arms.items():
        for v in dict.fromkeys(variants):
            for seed in range(1 if (d, v) == ("mnist", "msvp-concat-full") else 3):
                gain = GAINS.get((d, v), (0.0, 0.01, -0.01) if v != "baseline" else (0, 0, 0))[seed]
                rows.append(run(d, v, seed, BASE_ACC[d] + 0.002 * seed + gain / 100))
    return pd.DataFrame(rows)


def pages(df: pd.DataFrame) -> dict:
    """Every page's rows, by the helper the page calls."""
    return {"report card": verdicts.paired_table(df),
            "chapters 3-5, landing page": sections.paired_rows(df),
            "chapter 4 alone": sections.paired_rows(df, datasets=["fashion_mnist"]),
            "scale ablation": verdicts.ablation_family(df, names.SCALE_VARIANTS),
            "fusion ablation": verdicts.ablation_family(df, names.FUSION_VARIANTS),
            "controls": control_family.control_family(df)}


@pytest.mark.timeout(120)
def test_a_comparison_cannot_get_two_verdicts():
    df = profile_runs()
    said: dict = {}
    for page, p in pages(df).items():
        assert len(p), page
        for r in p.itertuples():
            key = (r.dataset, r.backbone, r.treatment, r.control)
            said.setdefault(key, {}).setdefault(words.verdict_label(r), []).append(page)
    twice = {k: v for k, v in said.items() if len(v) > 1}
    assert not twice, twice
    # the comparison the test is built around, shown on all six pages, reads 'improves' on each
    fm = said[("fashion_mnist", "cnn", "msvp-add-full", "baseline")]
    (label, where), = fm.items()
    assert label.startswith("improves") and len(where) == 6
    cifar = said[("cifar10", "cnn", "msvp-add-full", "baseline")]
    assert all("caveat: baseline still improving" in v for v in cifar)


def test_fewer_than_two_pairs_read_the_same_everywhere():
    df = profile_runs()
    rows = pd.concat([p for p in pages(df).values() if len(p)], ignore_index=True)
    single = rows[rows.n_pairs < 2]
    assert len(single) and set(single.verdict) == {NOT_ENOUGH_PAIRS}
    assert {words.verdict_label(r) for r in single.itertuples()} == {"not enough pairs yet"}
    assert all(math.isnan(x) for x in single.p_holm)
