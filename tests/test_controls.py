"""The matched-parameter controls chapter (book/_lib: controls and its control_* modules) on hand-made result frames.

Every frame has the columns of ``msvp.results.load`` and per-image ``correct`` arrays. With N test
images and the baseline of seed s right on the first 1800 + 10·s of them, a variant right on
``k`` more images than the baseline in every seed has a per-seed difference of exactly 100·k/N pp,
so the means below are derived by hand; identical arrays give a difference of exactly zero with
zero variance (equivalent within any margin).
"""

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from _lib import control_answers, control_arms, control_family, control_prompts, effect_figures, names, words  # noqa: E402
from _lib.view import View  # noqa: E402

from msvp import stats  # noqa: E402
from msvp.experiments import get_profile  # noqa: E402
from msvp.results import load  # noqa: E402
from msvp.stats import PAIRED_COLUMNS  # noqa: E402

N = 2000
SEEDS = (0, 1, 2)
FLAT = [0.80, 0.90, 0.90, 0.90]        # validation curve that passes the gate (rise 0 pp)
RISING = [0.50, 0.70, 0.80, 0.90]      # still rising: +20 pp over the last two epochs (0.90 - 0.70)


@pytest.fixture(scope="module")
def columns(tmp_path_factory):
    return list(load("smoke", tmp_path_factory.mktemp("empty")).columns)


def correct(n_right: int) -> np.ndarray:
    c = np.zeros(N, dtype=bool)
    c[:n_right] = True
    return c


def frame(columns, arms: dict, dataset="fashion_mnist", backbone="cnn", curve=FLAT, n_train=54000) -> pd.DataFrame:
    """``arms``: variant -> extra images right per seed, relative to the baseline (a list per seed,
    or one int for all seeds). The baseline of seed s is right on the first 1800 + 10·s images."""
    rows = []
    for variant, extra in {"baseline": 0, **arms}.items():
        extra = list(extra) if isinstance(extra, (list, tuple)) else [extra] * len(SEEDS)
        for seed, k in zip(SEEDS, extra):
            c = correct(1800 + 10 * seed + k)
            row = dict.fromkeys(columns)
            row.update(dataset=dataset, backbone=backbone, variant=variant, seed=seed, status="done",
                       test_acc=float(c.mean()), correct=c, val_acc_curve=list(curve), n_train=n_train, n_test=N,
                       params_prompt=control_arms.VARIANTS[variant].params(*control_prompts.DATASETS[dataset].shape),
                       fingerprint="f", device_class="cpu", threads=1, precision="bf16", epochs=len(curve),
                       data_variant="complete", data_n_train=60000, data_n_test=10000, hardware="test",
                       torch="test", path=f"{dataset}/{backbone}/{variant}/seed{seed}.json")
            rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def row(fam, treatment, control="baseline"):
    r = control_family.find(fam, "fashion_mnist", "cnn", treatment, control)
    assert r is not None, (treatment, control)
    return r


# ---------------------------------------------------------------------------------------------
# the family of comparisons and its verdicts

def test_family_any_bias(columns):
    # MSVP and the pad prompt: 40 more images right (+2.00 pp); full-res and frozen: as the baseline;
    # global-only: +40, -40, +20 images (+2, -2, +1 pp: mean +0.33 pp, too noisy to call)
    df = frame(columns, {"msvp-add-full": 40, "control-pad": 40, "control-fullres": 0, "control-frozen": 0,
                         "msvp-add-global": [40, -40, 20]})
    fam = control_family.control_family(df)
    assert list(fam.columns) == PAIRED_COLUMNS
    assert len(fam) == 9                                  # MSVP − base, 4 arms − base, 4 arms − MSVP
    assert (fam.holm_m == 1).all()                        # a family per comparison: here each ran in one cell
    assert (fam.interval == "seed × image").all()
    assert row(fam, "msvp-add-full").diff_pp == pytest.approx(2.0)
    assert row(fam, "msvp-add-full").verdict == "improves"
    assert row(fam, "control-pad").diff_pp == pytest.approx(2.0)
    assert row(fam, "control-pad").verdict == "improves"
    pad_ref = row(fam, "control-pad", "msvp-add-full")
    assert pad_ref.diff_pp == 0 and pad_ref.lo_pp == 0 and pad_ref.hi_pp == 0
    assert pad_ref.verdict == "equivalent"
    assert row(fam, "control-fullres").verdict == "equivalent"
    assert row(fam, "control-fullres", "msvp-add-full").diff_pp == pytest.approx(-2.0)
    assert row(fam, "control-fullres", "msvp-add-full").verdict == "hurts"
    assert row(fam, "msvp-add-global").diff_pp == pytest.approx(1 / 3)
    assert row(fam, "msvp-add-global").verdict == "inconclusive"
    assert row(fam, "msvp-add-global", "msvp-add-full").diff_pp == pytest.approx(-5 / 3)
    # order: MSVP first, then each arm against the baseline before the same arm against MSVP
    assert list(zip(fam.treatment, fam.control))[:3] == [("msvp-add-full", "baseline"), ("control-pad", "baseline"),
                                                         ("control-pad", "msvp-add-full")]

    a = control_answers.cell_answer(df, fam, "fashion_mnist", "cnn")
    assert a.verdict == control_answers.ANY_BIAS
    assert "pad prompt improves on the baseline and does as well as MSVP" in a.text
    assert "The pad prompt's gain is +2.00 [" in a.text and "vs MSVP's +2.00 [" in a.text
    assert "pad prompt − MSVP = +0.00 [+0.00, +0.00] pp: it matches MSVP within ±0.5 pp" in a.text
    assert "54,000 training images" in a.text
    assert "frozen random prompt − MSVP = −2.00 [" in a.text
    # the answer comes first, right under the cell's line, before the evidence it rests on
    assert a.text.splitlines()[1].startswith("- **Answer: no") and a.text.index("Answer") < a.text.index("gain is")
    assert "it falls short of MSVP, so learning the maps matters" in a.text


def test_structure_matters_when_every_unstructured_prompt_falls_short(columns):
    df = frame(columns, {"msvp-add-full": 40, "control-pad": 0, "control-fullres": 0, "msvp-add-global": 0})
    fam = control_family.control_family(df)
    assert len(fam) == 7 and (fam.holm_m == 1).all()
    for arm in ("control-pad", "control-fullres", "msvp-add-global"):
        assert row(fam, arm, "msvp-add-full").verdict == "hurts"
        assert row(fam, arm).verdict == "equivalent"
    assert control_answers.cell_answer(df, fam, "fashion_mnist", "cnn").verdict == control_answers.STRUCTURE_MATTERS


def test_no_gain_to_explain_when_msvp_is_equivalent(columns):
    df = frame(columns, {"msvp-add-full": 0, "control-pad": 40})
    fam = control_family.control_family(df)
    assert row(fam, "msvp-add-full").verdict == "equivalent"
    assert row(fam, "control-pad", "msvp-add-full").verdict == "improves"
    a = control_answers.cell_answer(df, fam, "fashion_mnist", "cnn")
    assert a.verdict == control_answers.NO_GAIN and "no gain above the margin for its structure to explain" in a.text


def test_inconclusive_when_the_unstructured_prompt_is_noisy(columns):
    df = frame(columns, {"msvp-add-full": 40, "msvp-add-global": [40, -40, 20]})
    fam = control_family.control_family(df)
    assert row(fam, "msvp-add-full").verdict == "improves"
    assert row(fam, "msvp-add-global", "msvp-add-full").verdict == "inconclusive"
    assert control_answers.cell_answer(df, fam, "fashion_mnist", "cnn").verdict == control_answers.INCONCLUSIVE


def test_equivalent_to_msvp_without_a_gain_over_the_baseline_is_not_enough(columns):
    # MSVP +0.30 pp (6 images): improves (tight interval), but a pad prompt at +0.10 pp is within
    # ±0.5 pp of both MSVP and the baseline: it cannot show that 'any input bias does as well'
    df = frame(columns, {"msvp-add-full": 6, "control-pad": 2})
    fam = control_family.control_family(df)
    assert row(fam, "control-pad", "msvp-add-full").verdict == "equivalent"
    assert row(fam, "control-pad").verdict != "improves"
    assert control_answers.cell_answer(df, fam, "fashion_mnist", "cnn").verdict != control_answers.ANY_BIAS


def test_the_caveat_comes_from_the_baseline_and_blocks_nothing(columns):
    df = frame(columns, {"msvp-add-full": 40, "control-pad": 40}, curve=RISING)
    # give MSVP a flat curve: the rows against MSVP must still carry the baseline's caveat
    df.loc[df.variant == "msvp-add-full", "val_acc_curve"] = pd.Series([list(FLAT)] * 3, index=df.index[df.variant == "msvp-add-full"])
    fam = control_family.control_family(df)
    assert fam.val_rise_pp.tolist() == pytest.approx([20.0] * len(fam))
    assert fam.p_holm.notna().all()                      # every row is tested, none is gated
    assert row(fam, "msvp-add-full").verdict == "improves" and row(fam, "control-pad").verdict == "improves"
    assert row(fam, "control-pad", "msvp-add-full").verdict == "equivalent"
    assert all("caveat: baseline still improving (val. acc. +20.00 pp" in words.verdict_label(r)
               for r in fam.itertuples())
    a = control_answers.cell_answer(df, fam, "fashion_mnist", "cnn")
    assert a.verdict == control_answers.ANY_BIAS and "- Caveat: the baseline was still improving" in a.text


def test_one_seed_gives_no_interval_and_no_verdict(columns):
    df = frame(columns, {"msvp-add-full": 40, "control-pad": 40})
    df = df[df.seed == 0]
    fam = control_family.control_family(df)
    assert (fam.n_pairs == 1).all() and fam.lo_pp.isna().all() and (fam.verdict == "not enough pairs yet").all()
    shown = control_family.format_family(fam)
    assert not shown.isna().any().any()
    assert set(shown.interval) == {"no interval with 1 pair"} and set(shown["p (Holm)"]) == {"–"}
    assert set(shown.verdict) == {stats.NOT_ENOUGH_PAIRS} == {"not enough pairs yet"}
    assert f"{len(fam)} with fewer than 2 seed pairs are shown but not tested" in control_family.family_markdown(fam)
    assert "n = 1, no interval" in shown["Δ test accuracy [95 % interval]"].iloc[0]
    a = control_answers.cell_answer(df, fam, "fashion_mnist", "cnn")
    assert a.verdict == control_answers.NOT_ENOUGH == "not enough pairs yet" and "**Answer: not enough pairs yet" in a.text


def test_cells_are_never_pooled_and_cells_without_controls_stay_out(columns):
    a = frame(columns, {"msvp-add-full": 40, "control-pad": 40})
    b = frame(columns, {"msvp-add-full": 0, "control-pad": 0}, dataset="cifar10")
    c = frame(columns, {"msvp-add-full": 40}, dataset="mnist")          # no control: not in the family
    fam = control_family.control_family(pd.concat([a, b, c], ignore_index=True))
    assert set(fam.dataset) == {"fashion_mnist", "cifar10"}
    # MSVP − baseline is corrected over the 3 cells where it ran (MNIST too, which has no control), the
    # pad prompt's comparisons over their 2 cells: the same families as on every other page
    assert len(fam) == 6 and fam.holm_m.tolist() == [3, 2, 2, 3, 2, 2]
    assert list(fam.dataset[:3]) == ["fashion_mnist"] * 3              # cells in the book's order


# ---------------------------------------------------------------------------------------------
# nothing, or part, of the runs

def test_no_results(columns, tmp_path):
    df = load("cpu", tmp_path)
    fam = control_family.control_family(df)
    assert fam.empty and list(fam.columns) == PAIRED_COLUMNS
    items = control_answers.answers(df, fam, "cpu")
    assert [(a.dataset, a.backbone) for a in items] == list(control_arms.planned_cells("cpu"))
    assert all(a.verdict == control_answers.NOT_RUN and "not run yet" in a.text for a in items)
    cov = control_arms.coverage(df, "cpu")
    assert set(cov.note) == {"not run yet"} and (cov["seeds with results"] == 0).all()
    # an arm shows only where the profile plans it (the global-only prompt: where the ablation runs)
    planned = {(c.dataset, c.backbone, c.variant) for c in get_profile("cpu").configs()}
    for (d, b) in control_arms.planned_cells("cpu"):
        arms = {names.short(v) for v in control_arms.CHAPTER_VARIANTS if (d, b, v) in planned}
        assert set(cov.arm[cov.cell == names.cell_name(d, b)]) == arms
    assert control_family.gain_table(df).empty
    assert effect_figures.plot_gain_vs_params(control_family.gain_table(df), df) is None
    assert control_family.format_family(fam).empty
    assert "plans no control runs" not in control_answers.answers_markdown(items, "cpu")
    assert "no cell of the `paper` profile" in control_answers.answers_markdown(control_answers.answers(df, fam, "paper"), "paper").lower()


def test_partial_results_controls_without_msvp(columns):
    df = frame(columns, {"control-pad": 40})
    fam = control_family.control_family(df)
    assert list(fam.treatment) == ["control-pad"]
    a = control_answers.cell_answer(df, fam, "fashion_mnist", "cnn")
    assert a.verdict == control_answers.NOT_RUN and "MSVP add/full" in a.text


def test_partial_results_msvp_without_controls(columns):
    """Before any control finishes, the answer counts MSVP's pairs from the runs (the family is empty)."""
    df = frame(columns, {"msvp-add-full": 40})
    fam = control_family.control_family(df)
    assert fam.empty
    a = control_answers.cell_answer(df, fam, "fashion_mnist", "cnn")
    assert a.verdict == control_answers.NOT_RUN
    assert f"MSVP add/full has {len(SEEDS)} seed pairs with the baseline" in a.text
    assert "no control has a seed pair with the baseline yet" in a.text
    none = control_answers.cell_answer(df[df.variant == "baseline"], fam, "fashion_mnist", "cnn")
    assert "MSVP add/full has no seed pair" in none.text


def test_coverage_table_and_family_markdown(columns):
    df = frame(columns, {"msvp-add-full": 40, "control-pad": 40})
    df = df[~((df.variant == "control-pad") & (df.seed == 2))]
    cov = control_arms.coverage(df, "cpu")
    wide = control_arms.coverage_table(cov)
    col = "Fashion-MNIST · CNN: seeds done / planned"
    n_ctrl = len(get_profile("cpu").part("controls").seeds)
    assert wide.set_index("arm").loc["pad prompt", col] == f"2 / {n_ctrl}"
    assert wide.set_index("arm").loc["full-resolution prompt", col] == f"0 / {n_ctrl} (not run yet)"
    assert not wide.isna().any().any()
    md = control_family.family_markdown(control_family.control_family(df))
    assert md.startswith("Each comparison is Holm-corrected over every cell of the profile where it ran")
    assert "(over 1 cell)" in md
    assert "**Fashion-MNIST · CNN** (intervals: seed × image)" in md
    assert "| comparison | seed pairs | Δ test accuracy [95 % interval] | p (Holm) | verdict |" in md
    assert control_family.family_markdown(control_family.control_family(df.iloc[0:0])) == "No paired control runs yet: nothing to compare."


def test_coverage_counts_seeds(columns):
    df = frame(columns, {"msvp-add-full": 40, "control-pad": 40})
    df = df[~((df.variant == "control-pad") & (df.seed == 2))]
    df.attrs["diverged"] = [{"dataset": "fashion_mnist", "backbone": "cnn", "variant": "control-pad", "seed": 2}]
    cov = control_arms.coverage(df, "cpu").set_index(["cell", "arm"])
    assert cov.loc[("Fashion-MNIST · CNN", "pad prompt"), "seeds with results"] == 2
    assert cov.loc[("Fashion-MNIST · CNN", "pad prompt"), "seeds planned"] == len(get_profile("cpu").part("controls").seeds)
    assert cov.loc[("Fashion-MNIST · CNN", "pad prompt"), "note"] == "diverged: seed 2"
    base_seeds = {c.seed for c in get_profile("cpu").configs()
                  if (c.dataset, c.backbone, c.variant) == ("fashion_mnist", "cnn", "baseline")}
    assert cov.loc[("Fashion-MNIST · CNN", "baseline"), "seeds planned"] == len(base_seeds)
    assert cov.loc[("Fashion-MNIST · CNN", "full-resolution prompt"), "note"] == "not run yet"


def test_accuracy_table_shows_each_arm_as_an_accuracy(columns):
    a = frame(columns, {"msvp-add-full": 40, "control-pad": [20, 20, 40]})
    b = frame(columns, {"control-frozen": 0}, dataset="cifar10")
    t = control_arms.accuracy_table(pd.concat([a, b], ignore_index=True), "cpu").set_index("arm")
    # baseline right on 1800, 1810, 1820 of 2000 images: 90.50 ± 0.50 %; pad on 1820, 1830, 1860:
    # 91.0, 91.5, 93.0 %, mean 91.83, SD √((0.833² + 0.333² + 1.167²)/2) = 1.04
    fm, cf = "Fashion-MNIST · CNN: test accuracy (%)", "CIFAR-10 · CNN: test accuracy (%)"
    assert t.loc["baseline", fm] == "90.50 ± 0.50 (3 seeds)" and t.loc["pad prompt", fm] == "91.83 ± 1.04 (3 seeds)"
    assert t.loc["frozen random prompt", cf] == "90.50 ± 0.50 (3 seeds)" and t.loc["pad prompt", cf] == "–"
    assert "MSVP add/full" in t.index and not t.isna().any().any()


# ---------------------------------------------------------------------------------------------
# parameter cost

def test_param_table_matches_the_issue_and_the_built_models():
    t = control_prompts.param_table().set_index(["variant", "shape"])
    expected = {"msvp-add-full": (81, 243), "control-pad": (108, 372), "control-fullres": (784, 3072),
                "msvp-add-global": (1, 3), "control-frozen": (0, 0)}
    for v, (small, large) in expected.items():
        assert t.loc[(v, "1×28×28"), "formula"] == t.loc[(v, "1×28×28"), "measured"] == small
        assert t.loc[(v, "3×32×32"), "formula"] == t.loc[(v, "3×32×32"), "measured"] == large
    assert t.loc[("control-frozen", "1×28×28"), "fixed"] == 81 and t.loc[("control-frozen", "3×32×32"), "fixed"] == 243
    assert t.loc[("msvp-add-full", "1×28×28"), "backbone"] == 1_207_786
    shown = control_prompts.format_params(control_prompts.param_table())
    assert set(shown["formula = built model"]) == {"yes"}
    assert list(shown["trainable parameters, 1×28×28 / 3×32×32"]) == ["81 / 243", "108 / 372", "784 / 3,072",
                                                                      "1 / 3", "0 / 0"]
    assert list(shown["untrained values"]) == ["0 / 0"] * 4 + ["81 / 243"]
    assert shown["% of the CNN's"].iloc[0] == f"{100 * 81 / 1_207_786:.4f} / {100 * 243 / 1_208_362:.4f}"
    assert not shown.isna().any().any()


# ---------------------------------------------------------------------------------------------
# the figure

def test_dodge_hand_values():
    assert effect_figures.dodge([0.0, 0.1, 5.0], 1.0) == pytest.approx([-0.45, 0.55, 5.0])
    assert effect_figures.dodge([1.0, 1.0, 1.0], 1.0) == pytest.approx([0.0, 1.0, 2.0])
    # 0 and 0.5 merge, then overlap 1.6 and merge again around the mean 0.7
    assert effect_figures.dodge([1.6, 0.0, 0.5], 1.0) == pytest.approx([1.7, -0.3, 0.7])
    assert effect_figures.dodge([3.0, 0.0], 1.0) == pytest.approx([3.0, 0.0])
    assert len(effect_figures.dodge([], 1.0)) == 0


def test_gain_table_and_figure(columns):
    arms = {v: 20 for v in control_arms.PROMPT_VARIANTS}
    df = pd.concat([frame(columns, arms), frame(columns, {"msvp-add-full": 10, "control-pad": 0}, dataset="cifar10",
                                                 n_train=44923)], ignore_index=True)
    g = control_family.gain_table(df)
    assert len(g) == len(control_arms.PROMPT_VARIANTS) + 2
    assert (g.params == g.params_formula).all()
    assert g[g.dataset == "fashion_mnist"].diff_pp.tolist() == pytest.approx([1.0] * len(control_arms.PROMPT_VARIANTS))
    fig = effect_figures.plot_gain_vs_params(g, df)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 2                                         # one panel per cell with data
    titles = [ax.get_title(loc="left") for ax in axes]
    assert "Fashion-MNIST · CNN\n54,000 training images, 3 seed pairs" in titles
    assert "CIFAR-10 · CNN\n44,923 training images, 3 seed pairs" in titles   # complete copy in this frame
    assert all(ax.get_xscale() == "symlog" for ax in axes)
    assert fig._suptitle.get_text()
    assert all("(pp)" in ax.get_ylabel() and "parameters" in ax.get_xlabel() for ax in axes)
    texts = [t for ax in axes for t in [ax.title, ax._left_title, ax.xaxis.label] + ax.get_xticklabels()
             + ax.get_yticklabels() if t.get_text()]
    texts += [t for leg in fig.legends for t in leg.get_texts()]
    assert min(t.get_fontsize() for t in texts) >= 9
    fig.canvas.draw()   # drawn at most 6.8 in wide, the book's text column: never shrunk below 9 pt
    assert fig.get_tightbbox(fig.canvas.get_renderer()).width <= 6.85
    # markers of one panel do not sit on top of each other
    from matplotlib.scale import SymmetricalLogTransform

    shapes = set(names.FUSION_MARKERS.values()) | {m for m, _ in names.CONTROL_STYLE.values()}
    xs = sorted(line.get_xdata()[0] for line in axes[0].lines if line.get_marker() in shapes)
    assert len(xs) == len(control_arms.PROMPT_VARIANTS)
    tr = SymmetricalLogTransform(10, effect_figures.LINTHRESH, effect_figures.LINSCALE)
    assert (np.diff(tr.transform(np.array(xs))) > 0.05).all()
    matplotlib.pyplot.close(fig)


# ---------------------------------------------------------------------------------------------
# function classes: every additive prompt is a full-resolution prompt

def test_as_fullres_reproduces_additive_prompts_and_refuses_concat():
    import torch

    from msvp.prompting import MultiScalePrompt, PadPrompt

    x = torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(5))
    pad = PadPrompt(1, (28, 28))
    with torch.no_grad():
        pad.border.fill_(2.0)
    folded = control_prompts.as_fullres(pad, (1, 28, 28))
    assert torch.allclose(folded(x), pad(x), atol=1e-6)   # (x + 2) - x is 2 only up to rounding
    # hand value: the frame is 2 on the 108 border pixels, 0 inside
    m = folded.map.detach()
    assert float(m.sum()) == pytest.approx(2.0 * 108) and float(m[0, 0, 5, 5]) == 0
    assert control_prompts.as_fullres(MultiScalePrompt(1, fusion="concat"), (1, 28, 28)) is None
    t = control_prompts.fullres_table().set_index("prompt")
    assert t.loc["MSVP concat/full"].str.startswith("no").all()
    assert t.drop(index="MSVP concat/full").map(lambda s: s.startswith("yes")).all().all()


def test_the_chapter_trains_nothing_and_says_what_is_missing(tmp_path):
    view = View("cpu", tmp_path)
    assert view.df.empty and not any(tmp_path.iterdir())
    part = get_profile("cpu").part("controls")
    # the chapter's runs: every arm it compares (controls, MSVP add/full, global-only, baseline) in its cells
    n = sum(1 for c in get_profile("cpu").configs()
            if (c.dataset, c.backbone) in set(part.cells) and c.variant in control_arms.CHAPTER_VARIANTS)
    out = control_arms.needed_line("cpu", tmp_path, view.states)
    assert n > 0 and f"{n} of the {n} runs this chapter needs have no current result" in out
    assert "plans no control runs" in control_arms.needed_line("paper", tmp_path, View("paper", tmp_path).states)
    part = get_profile("cpu").part("controls")
    assert control_arms.plan_line("cpu") == (
        "The `cpu` profile runs the controls (pad prompt, full-resolution prompt, frozen random prompt) on "
        + ", ".join(names.cell_name(*c) for c in part.cells) + f", {len(part.seeds)} seeds each.")


def test_a_control_that_moves_accuracy_where_msvp_does_not_is_named(columns):
    # MSVP identical to the baseline (equivalent); the one-parameter global prompt right on 40 more images
    df = frame(columns, {"msvp-add-full": 0, "msvp-add-global": 40})
    fam = control_family.control_family(df)
    assert row(fam, "msvp-add-global").verdict == "improves"
    a = control_answers.cell_answer(df, fam, "fashion_mnist", "cnn")
    assert a.verdict == control_answers.NO_GAIN and len(a.notable) == 1
    assert a.notable[0].startswith("the global-only prompt alone changes test accuracy by +2.00")
    assert "with 1 trainable parameter, where MSVP add/full's own change is equivalent" in a.notable[0]
    assert "- Worth noting: the global-only prompt alone" in a.text
    # where MSVP itself improves too, nothing is singled out
    both = frame(columns, {"msvp-add-full": 40, "msvp-add-global": 40})
    assert control_answers.cell_answer(both, control_family.control_family(both), "fashion_mnist", "cnn").notable == ()


def test_the_chapter_gives_its_answer_first(columns, monkeypatch):
    from _lib import controls

    said = []
    monkeypatch.setattr(controls, "md", said.append)
    df = frame(columns, {"msvp-add-full": 0, "msvp-add-global": 40})
    ch = controls.ControlsChapter.__new__(controls.ControlsChapter)
    fam = control_family.control_family(df)
    ch.__dict__.update(profile=None, family=fam, answers=control_answers.answers(df, fam))
    ch.in_short()
    assert said[0].startswith("**In short.** On Fashion-MNIST · CNN: no MSVP gain to explain; but the global-only")
    assert ("This page tests 3 comparisons in 3 Holm families, each family corrected at 0.05, so even with no "
            "real effect" in said[0])
    assert "shows a change is at most 15 % (about 14 % if the families were independent)" in said[0]
    src = (names.__file__.rsplit("/", 2)[0] + "/12_controls.py")
    text = open(src, encoding="utf-8").read()
    assert text.index("ch.in_short()") < text.index("## The controls")
