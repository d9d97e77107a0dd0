"""The sentences of the experiment chapters (3-5) on hand-made records: what they claim about seeds,
prompts and saliency maps must follow from the numbers they are given."""
from __future__ import annotations

import numpy as np
import pandas as pd
from _lib import experiment


def confusion_recs(shares_base, shares_msvp):
    """Records of two classes whose 0 → 1 confusion is the given count (per 100 images) per seed."""
    def rec(variant, seed, c01):
        return {"variant": variant, "config": {"seed": seed}, "confusion": [[100 - c01, c01], [0, 100]]}
    return ([rec("baseline", s, c) for s, c in enumerate(shares_base)]
            + [rec("msvp-add-full", s, c) for s, c in enumerate(shares_msvp)])


def test_a_seed_that_does_not_move_is_not_moving_the_same_way():
    """MNIST 5 → 3: per-seed differences 0, +1, 0, 0, 0. Four unchanged seeds are not four seeds moving
    'the same way', and the 1-in-16 chance of five seeds agreeing did not happen."""
    s = experiment.confusion_shift(confusion_recs([2, 2, 2, 2, 2], [2, 3, 2, 2, 2]), ["a", "b"], top=1)
    assert "every seed moves the same way" not in s and "one time in 16" not in s
    assert "In a → b only 1 of the 5 seeds moves (the other 4 are unchanged), which is no evidence of a shift" in s


def test_every_seed_moving_one_way_gets_its_chance():
    s = experiment.confusion_shift(confusion_recs([2, 2, 2], [1, 1, 0]), ["a", "b"], top=1, who="CNN")
    assert s.startswith("**CNN: does MSVP move them?**")
    assert "In a → b every seed moves the same way, which with no effect at all happens by chance one time in 4" in s


def test_how_seeds_move():
    assert experiment.seeds_moved(np.array([-0.1, 0.0, 0.2])) == ("noise", 2)
    assert experiment.seeds_moved(np.array([0.1, 0.2, 0.3])) == ("all", 3)
    assert experiment.seeds_moved(np.array([0.0, 0.2, 0.3])) == ("some", 2)
    assert experiment.seeds_moved(np.zeros(3)) == ("some", 0)


def chapter_over(runs: pd.DataFrame):
    chapter = experiment.ExperimentChapter.__new__(experiment.ExperimentChapter)
    chapter.df = runs
    return chapter


def test_one_earlier_best_epoch_is_said_in_the_singular_once():
    """Fashion-MNIST: one run's best epoch was 9, and it read 'In the other 1 ... by −0.29 to −0.29 pp'."""
    runs = pd.DataFrame({"variant": ["baseline", "msvp-add-full"], "best_epoch": [9, 10], "epochs": [10, 10],
                         "test_acc": [0.9251, 0.93], "test_acc_best_val": [0.9222, 0.93]})
    s = chapter_over(runs)._checkpoint_sentence()
    assert "In the other run its best epoch came earlier (epoch 9), and its test accuracy differs from the " \
           "last epoch's by −0.29 pp." in s
    assert "to −0.29" not in s


def test_curve_sentence_names_the_backbone_and_says_one_seed():
    hist = [{"val_acc": a} for a in (0.5, 0.55, 0.6)]
    recs = [{"variant": v, "history": hist} for v in ("baseline", "msvp-add-full")]
    s = chapter_over(pd.DataFrame())._curve_sentence(recs, "vit")
    assert s.startswith("ViT-Tiny, final clean validation accuracy (one seed): baseline 60.00 %"), s
    assert "mean over" not in s
    s = chapter_over(pd.DataFrame())._curve_sentence(recs + recs, "cnn")
    assert s.startswith("CNN, final clean validation accuracy (mean over the 2 seeds):"), s


def test_the_added_image_is_the_mean_of_the_maps_not_the_largest_map():
    """A global map of +0.3 and a mid map of −0.3 cancel: the image added to every input is 0 where the
    local map is 0, though each of the two maps alone is 15 % of MNIST's span of 2."""
    ds = experiment.DATASETS["mnist"]
    lo, hi = experiment._input_bounds("mnist")
    rec = {"config": {"dataset": "mnist", "prompt": "full"},
           "prompts": {"global": np.full((1, 1, 1), 0.3).tolist(), "mid": np.full((1, 4, 4), -0.3).tolist(),
                       "local": np.zeros((1, 8, 8)).tolist()}}
    assert experiment.added_image(rec).shape == ds.shape
    one, added = experiment.prompt_shares(rec)
    assert np.isclose(one, 100 * 0.3 / (hi - lo)) and np.isclose(added, 0, atol=1e-6)


def test_agreement_reading_compares_backbones_and_says_what_it_cannot():
    """One method: the backbones are ranked; two methods: never ranked, each read on its own."""
    s = experiment.agreement_reading({"CNN": (0.9, "Grad-CAM"), "ResNet-18": (0.7, "Grad-CAM")})
    assert s.startswith("The ResNet-18 maps agree less (r = 0.70) than the CNN maps (r = 0.90)")
    assert "seed 0 alone" in s and "not on one scale" not in s
    two = experiment.agreement_reading({"CNN": (0.91, "Grad-CAM"), "ViT-Tiny": (0.64, "attention rollout")})
    assert "not on one scale" in two and "agree less" not in two
    assert "ViT-Tiny (attention rollout): MSVP against its baseline r = 0.64, with no second baseline" in two
    assert experiment.agreement_reading({"CNN": (0.91, "Grad-CAM")}) == ""


def test_agreement_reading_measures_against_two_baseline_seeds():
    # the yardstick: how alike two prompt-free runs' maps are; MSVP's maps are judged against it
    agree = {"CNN": (0.91, "Grad-CAM", 0.90), "ViT-Tiny": (0.64, "attention rollout", 0.47)}
    s = experiment.agreement_reading(agree)
    assert "two baselines (seeds 0 and 1) r = 0.47, so the prompt moves the maps no more than a change of seed" in s
    assert "CNN (Grad-CAM): MSVP against its baseline r = 0.91, two baselines (seeds 0 and 1) r = 0.90" in s
    moved = experiment.agreement_reading({"CNN": (0.9, "Grad-CAM"), "ResNet-18": (0.64, "Grad-CAM", 0.80)})
    assert "agree at r = 0.80" in moved and "moves the maps more than a change of seed" in moved


def _explained(variant, seed, maps, positions=(0, 1)):
    return {"variant": variant, "config": {"seed": seed},
            "explanations": {"maps": maps, "test_positions": list(positions)}}


def test_baseline_reference_correlates_two_baseline_seeds_on_the_same_images():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(2, 4, 4)).tolist()
    same = [_explained("baseline", 0, m), _explained("baseline", 1, m), _explained("msvp-add-full", 1, m)]
    assert np.isclose(experiment.baseline_reference(same), 1.0)
    flipped = [_explained("baseline", 0, m), _explained("baseline", 1, (-np.asarray(m)).tolist())]
    assert np.isclose(experiment.baseline_reference(flipped), -1.0)
    assert experiment.baseline_reference(same[:1] + same[2:]) is None           # no second baseline seed
    other = [_explained("baseline", 0, m), _explained("baseline", 1, m, positions=(5, 6))]
    assert experiment.baseline_reference(other) is None                          # other images explained
    assert "r = 1.00" in experiment.reference_words(1.0) and experiment.reference_words(None) == ""
