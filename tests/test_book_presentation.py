"""What the book shows, on hand-made inputs: figures a reader can read, tables without NaN or raw
names, labels that say what was trained, sentences that follow the verdict rules."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from _lib import (  # noqa: E402
    ablation,
    card,
    control_family,
    effect_figures,
    experiment,
    figures,
    front,
    names,
    protocol,
    reproduce,
    sections,
    tables,
    words,
)
from _lib.view import View  # noqa: E402

from msvp import stats, verdicts  # noqa: E402
from msvp.experiments import cost_key  # noqa: E402

figures.style()
ROOT_RESULTS = __import__("pathlib").Path(__file__).resolve().parents[1] / "results"


# ---- the figure check ------------------------------------------------------------------------------

def labelled(fig, ax):
    ax.set(xlabel="x (units)", ylabel="y (units)", title="t")
    return fig


def test_readable_figure_passes():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1])
    figures.check_readable(labelled(fig, ax))


@pytest.mark.parametrize("problem,spoil", [
    ("pt", lambda fig, ax: ax.set_title("t", fontsize=6)),
    ("wide", lambda fig, ax: fig.set_size_inches(9, 3)),
    ("no label", lambda fig, ax: ax.set_xlabel("")),
    ("overlaps", lambda fig, ax: ax.set_xticks(np.arange(40), [f"long label {i}" for i in range(40)])),
])
def test_unreadable_figures_are_refused(problem, spoil):
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 39], [0, 1])
    labelled(fig, ax)
    spoil(fig, ax)
    with pytest.raises(figures.FigureError, match=problem):
        figures.check_readable(fig)
    plt.close(fig)


def paired_rows():
    """A CNN cell with a narrow interval and a ViT cell with a wide one."""
    rows = []
    for backbone, half in (("cnn", 0.2), ("vit", 13.0)):
        for t in ("msvp-add-full", "msvp-concat-full"):
            rows.append({"dataset": "mnist", "backbone": backbone, "treatment": t, "n_pairs": 3, "diff_pp": 0.1,
                         "lo_pp": 0.1 - half, "hi_pp": 0.1 + half, "verdict": "inconclusive"})
    return pd.DataFrame(rows)


def test_forest_plot_gives_every_backbone_its_own_axis():
    fig = effect_figures.plot_paired(paired_rows(), "test")
    main = [ax for ax in fig.axes if ax.get_ylabel() == "data set · reading"]
    assert len(main) == 2
    cnn_width = np.diff(main[0].get_xlim())[0]
    assert cnn_width < 3, "the ViT's ±13 pp interval must not set the CNN's axis"
    plt.close(fig)


def test_overhead_markers_do_not_hide_each_other():
    from msvp.accounting import params_table

    fig = effect_figures.plot_overhead(params_table())
    offsets = [tuple(np.round(c.get_offsets()[:, 0], 3)) for c in fig.axes[0].collections]
    xs = [x for o in offsets for x in o]
    assert len(xs) == len(set(xs)) == 18          # 6 backbone × input pairs × 3 fusions, all apart
    plt.close(fig)


# ---- tables and labels -----------------------------------------------------------------------------

def test_markdown_table_has_no_nan_and_separates_thousands():
    text = words.markdown_table(pd.DataFrame({"params": [1207786, 81], "Δ": [math.nan, "+0.1"], "ok": [True, False]}))
    assert "NaN" not in text and "nan" not in text and "1,207,786" in text and "| – |" in text
    assert "yes" in text and "no" in text


def runs(n_train=54000, threads=1, hardware="AMD EPYC (1 thread)"):
    from tests.test_stats_report import runs_with_images

    df = runs_with_images({("mnist", "cnn"): 8})
    return df.assign(n_train=n_train, n_val=6000, data_variant="complete", data_n_train=60000, data_n_test=10000,
                     hardware=hardware, threads=threads, torch="2.14.1+cu130", wall_time_s=60.0, epochs=10,
                     best_epoch=10, params_backbone=1207786, test_acc_best_val=lambda d: d.test_acc)


def test_training_label_says_what_was_trained():
    label = words.training_label(runs(n_train=10000), "mnist")
    assert "10,000 training" in label and "60,000" not in label


def test_hardware_label_is_consistent():
    a = words.hardware_label(runs(hardware="AMD EPYC (1 threads)"))
    b = words.hardware_label(runs(hardware="AMD EPYC (1 thread)"))
    assert a == b and "1 thread per run" in a and "threads" not in a
    mixed = pd.concat([runs().assign(precision="fp32"), runs().assign(precision="bf16", backbone="vit")])
    assert words.hardware_label(mixed) == "AMD EPYC CPU, 1 thread per run: fp32 (CNN), bf16 autocast (ViT-Tiny); torch 2.14.1"
    assert words.hardware_label(runs().assign(precision="bf16")).endswith(", 1 thread per run, bf16 autocast; torch 2.14.1")
    # two machines in one frame with a repeated index: each keeps its own precision
    two = pd.concat([runs().assign(precision="fp32"), runs(hardware="Intel Xeon (1 thread)").assign(precision="bf16")])
    assert words.hardware_label(two) == ("AMD EPYC CPU, 1 thread per run, fp32; Intel Xeon CPU, 1 thread per run, bf16 "
                                         "autocast; torch 2.14.1")


def test_results_table_leaves_cells_without_runs_to_the_progress_lines(tmp_path):
    """Issue 27: no wall of dashes; a cell joins the table when its runs land, and until then the
    progress line of its backbone counts its runs and gives the command that trains them."""
    t = sections.results_table("cpu", runs().iloc[:0], links=False)
    assert t.empty and "NaN" not in words.markdown_table(t)
    progress = sections.progress_md("cpu", View("cpu", tmp_path).states)
    assert progress.count("\n") == 2 and "`python -m msvp grid --profile cpu --only backbone=vit` trains" in progress


def test_results_table_with_runs():
    t = sections.results_table("cpu", runs(), links=False)
    row = t[t["data set · backbone"] == "MNIST · CNN"].iloc[0]
    assert "±" in row["baseline (%)"] and "3 pairs" in row["MSVP − baseline (pp), 95 % CI"]
    assert row["verdict"].split(" (")[0] in ("improves", "equivalent", "inconclusive")
    concat = t.iloc[list(t.index).index(row.name) + 1]
    assert concat["MSVP fusion"] == "concat" and concat["MSVP (%)"] == "not run yet"


def row(**kw):
    base = dict(n_pairs=3, diff_pp=0.3, lo_pp=-0.1, hi_pp=0.7, t_lo_pp=0.0, t_hi_pp=0.6, wins=2, interval="seed × image",
                verdict="inconclusive", converged=True, val_rise_pp=0.1)
    return pd.Series({**base, **kw})


def test_effect_sentence_follows_the_rules():
    s = sections.effect_sentence(row(), "CNN, add")
    assert "+0.30 pp" in s and "inconclusive" in s and "2 of 3 seeds" in s
    # a baseline still improving: the verdict stands, with the caveat beside it
    rising = sections.effect_sentence(row(verdict="hurts", converged=False, val_rise_pp=1.2, lr_last=2.4e-5), "x")
    assert "Verdict: **hurts; caveat: baseline still improving (val. acc. +1.20 pp" in rising
    assert "last learning rate 2.4e-05" in rising
    single = sections.effect_sentence(row(n_pairs=1, lo_pp=math.nan, hi_pp=math.nan), "x")
    assert "not enough pairs yet" in single
    assert words.verdict_label(row(n_pairs=1)) == stats.NOT_ENOUGH_PAIRS == "not enough pairs yet"


def test_a_significant_change_inside_the_margin_says_so():
    small = words.verdict_label(row(verdict="improves", diff_pp=0.19, lo_pp=0.05, hi_pp=0.32))
    assert small == "improves, by less than the margin (its 95 % interval lies within ±0.5 pp)"
    assert words.verdict_label(row(verdict="hurts", diff_pp=-0.6, lo_pp=-0.9, hi_pp=-0.3)) == "hurts"
    assert words.verdict_label(row(verdict="improves", diff_pp=0.4, lo_pp=0.1, hi_pp=0.7)) == "improves"
    small_row = row(verdict="improves", diff_pp=0.19, lo_pp=0.05, hi_pp=0.32)
    assert words.plain_verdict(small_row).endswith("by less than the 0.5 pp fixed in advance as too small to matter")
    assert words.short_verdict(small_row) == "better, beyond noise, but too small to matter"
    assert words.short_verdict(row(verdict="improves", lo_pp=0.1, hi_pp=0.7)) == "better, beyond noise"


def test_config_table_covers_every_setting():
    import dataclasses

    from msvp.config import RunConfig

    t = protocol.config_table()
    assert len(t) == len(dataclasses.fields(RunConfig))
    assert set(t.columns) >= {"setting", "smoke", "cpu", "paper", "official", "why ours differs"}
    assert "?" not in set(t.official)
    # a setting that the profile's parts set differently is shown per part, not as the profile's default
    t = t.set_index("setting")
    assert t.loc["`precision`", "cpu"] == "per part: auto, bf16" and t.loc["`precision`", "paper"] == "auto"
    assert t.loc["`epochs`", "smoke"] == "1"


def test_settings_count_differs_only_where_a_profile_departs_from_the_official_value():
    # the data subsets have a reason (smoke, scarce) but are the official 'all' in cpu and paper
    cpu = protocol.differing_settings("cpu")
    assert "train_subset" not in cpu and "test_subset" not in cpu and {"precision", "threads"} <= set(cpu)
    assert {"train_subset", "val_subset", "test_subset"} <= set(protocol.differing_settings(*protocol.PROFILES))


def test_training_length_states_the_scarce_rule_and_what_it_gives():
    text = protocol.training_length()
    assert "min(100, 10 × full split ÷ subset size) epochs" in text
    # 1 %: 540 Fashion-MNIST images, 5 batches × 100 epochs = 500 of a full run's 422 × 10 steps
    assert "1 %: 100 epochs (the cap), 12 % of a full run's optimiser steps on Fashion-MNIST and 11 % on CIFAR-10" in text
    assert "10 %: 100 epochs, 102 % of a full run's optimiser steps on Fashion-MNIST" in text


def test_backbone_table_measures_parameters_and_inputs():
    t = protocol.backbone_table().set_index("backbone")
    assert t.loc["CNN", "params, 1×28×28"] == 1207786 and t.loc["ResNet-18", "params, 3×32×32"] == 11173962
    assert "16 tokens" in t.loc["ViT-Tiny", "28 px input"] and "64 tokens" in t.loc["ViT-Tiny", "32 px input"]


def test_pages_cope_with_no_results(tmp_path):
    """Issue 15: with no result files every chapter helper says so instead of raising."""
    from msvp.results import load

    empty = load("cpu", tmp_path)
    assert verdicts.ablation_family(empty, names.SCALE_VARIANTS).empty
    assert sections.paired_rows(empty).empty
    acc = ROOT_RESULTS / "accounting" / "cpu.json"
    if not acc.exists():
        pytest.skip("no committed accounting file")
    from msvp.accounting import load_accounting

    card = tables.report_card(verdicts.paired_table(empty), *load_accounting(acc)[:2])
    assert set(card.verdict) >= {"not run here"}
    assert "**Hardware.** No runs yet." in sections.status_md("cpu", empty, View("cpu", tmp_path).states)


def test_brief_setting_gives_the_protocol_sentence_only(tmp_path):
    """Pages about one part of a profile (the ablations) show its protocol, not its whole run plan."""
    from msvp.experiments import get_profile
    from msvp.results import load

    empty, states = load("cpu", tmp_path), View("cpu", tmp_path).states
    full, brief = (sections.status_md("cpu", empty, states, brief=b).split("\n\n")[0] for b in (False, True))
    first = get_profile("cpu").description.split(". ")[0]
    assert first in brief and "ablation" in full and "ablation" not in brief
    assert brief.endswith("Every setting is on the protocol page.") and len(brief) < len(full) / 2


def test_verify_table_reads_the_report(tmp_path):
    import json

    row = {"dataset": "mnist", "backbone": "cnn", "variant": "baseline", "seed": 0, "same_provenance": True,
           "bit_identical": True, "committed_acc_pct": 99.57, "fresh_acc_pct": 99.57, "diff_pp": 0.0,
           "outcome": "bit-identical", "seed_spread_pp": None, "committed_hardware": "cpu x", "fresh_hardware": "cpu x",
           "wall_time_s": 950.0}
    other = dict(row, seed=1, same_provenance=False, bit_identical=False, fresh_acc_pct=99.4, diff_pp=-0.17,
                 fresh_hardware="gpu y", outcome="compared with the seed spread")
    (tmp_path / "cpu.json").write_text(json.dumps({"profile": "cpu", "date": "2026-11-29", "rows": [row, other]}))
    table, when = reproduce.verify_table(tmp_path / "cpu.json")
    assert list(table["Δ (pp)"]) == ["+0.00", "−0.17"] and table["seed SD of the cell now (pp)"][0] == "–"
    assert ("2 runs re-trained on cpu x, gpu y; 1 of them had the committed run's training code, hardware, "
            "thread count and precision, and it came out bit-identical") in when
    # tmp_path holds no committed runs, so the report speaks of runs that are gone
    assert "2 of the re-trained runs are no longer the committed ones" in when
    assert table.outcome[0] == "bit-identical (the committed run has since been replaced: run `make verify` again)"
    assert reproduce.verify_table(tmp_path / "absent.json")[0].empty


def test_interim_note_counts_paired_seeds_against_the_plan():
    cells = pd.DataFrame({"dataset": ["mnist", "fashion_mnist"], "backbone": ["cnn", "cnn"], "n_pairs": [5, 2]})
    note = front.interim_note("cpu", cells)
    assert "Fashion-MNIST · CNN 2 of 5" in note and "MNIST · CNN 5" not in note
    assert "7 planned cells have no paired seed yet" in note    # CIFAR-10's CNN and the 6 ResNet-18 and ViT cells
    cnn = pd.DataFrame({"dataset": ["mnist", "fashion_mnist", "cifar10"], "backbone": ["cnn"] * 3, "n_pairs": [5] * 3})
    assert front.interim_note("cpu", cnn) == (" **Interim:** 6 planned cells have no paired seed yet; the verdict can "
                                             "change as the remaining runs finish.")
    cells = pd.DataFrame({"dataset": [d for d in names.DATASET_ORDER for _ in names.BACKBONE_ORDER],
                          "backbone": list(names.BACKBONE_ORDER) * 3, "n_pairs": [5, 3, 3] * 3})
    assert front.interim_note("cpu", cells) == ""


@pytest.mark.parametrize("variants", [names.SCALE_VARIANTS, names.FUSION_VARIANTS])
def test_ablation_chapter_plans_the_profiles_ablation_cells_only(tmp_path, variants):
    """concat/full is also a main variant: the fusion ablation must still list only the ablation part's
    cells (Fashion-MNIST · CNN on cpu), not every main cell."""
    from msvp.experiments import get_profile

    for profile in ("cpu", "paper"):
        ch = ablation.AblationChapter(profile, tmp_path, variants)
        assert ch.planned == list(get_profile(profile).ablation)
    assert ablation.AblationChapter("cpu", tmp_path, variants).planned == [("fashion_mnist", "cnn")]


def test_ablation_sentence_does_not_rank_variants_without_intervals(tmp_path, monkeypatch):
    """A single-pair variant with the largest mean gain must not read as the established best."""
    ch = ablation.AblationChapter("cpu", tmp_path, names.SCALE_VARIANTS)
    key = dict(dataset="fashion_mnist", backbone="cnn", val_rise_pp=0.1, verdict="inconclusive")
    fam = pd.DataFrame([dict(key, treatment="msvp-add-global", diff_pp=0.18, lo_pp=math.nan, hi_pp=math.nan, n_pairs=1),
                        dict(key, treatment="msvp-add-full", diff_pp=0.12, lo_pp=-0.29, hi_pp=0.52, n_pairs=3)])
    s = ch.sentence(fam, {"msvp-add-global": 1, "msvp-add-full": 81})
    assert "largest mean gain is MSVP add, global's" in s and "single pair and no interval" in s
    both = fam.assign(lo_pp=[-0.1, -0.29], hi_pp=[0.4, 0.52], n_pairs=3)
    assert "intervals of all variants overlap" in ch.sentence(both, {})
    apart = fam.assign(lo_pp=[0.6, -0.29], hi_pp=[0.9, 0.52], n_pairs=3)
    assert "not established" not in ch.sentence(apart, {})


def test_time_left_costs_each_run_as_grid_plan_does():
    """Chapter 11 agrees with `grid --plan`: a run left costs the median of finished runs alike in
    data set, backbone, precision, epochs and subset size; a cell with none yet costs the warm-up
    estimate `grid --plan` saved; one with neither the median of all finished runs."""
    from msvp.config import RunConfig

    def rec(wall, **kw):
        return {"status": "done", "wall_time_s": wall, "config": RunConfig(dataset=kw.pop("dataset", "mnist"),
                                                                          backbone="cnn", **kw).to_dict()}
    records = [rec(1000.0), rec(1000.0, seed=1), rec(4000.0, dataset="cifar10"),
               rec(50.0, dataset="cifar10", train_subset=450)]          # a scarce run: not alike
    todo = [RunConfig(dataset="cifar10", backbone="cnn", seed=s) for s in (3, 4)]
    saved = {cost_key(RunConfig(dataset="fashion_mnist", backbone="cnn")): {"min_per_run": 30.0}}
    # 2 × 4,000 s (CIFAR-10's median, not the subset run's) + 1,800 s (the saved warm-up estimate)
    left, how = reproduce.time_left(records, todo + [RunConfig(dataset="fashion_mnist", backbone="cnn")], saved, 1)
    assert left == 9800 and how == {"saved": 1, "guessed": 0, "unknown": 0}
    # two workers take them in order: 4,000 s and 4,000 s side by side, then 1,800 s
    assert reproduce.time_left(records, todo + [RunConfig(dataset="fashion_mnist", backbone="cnn")], saved, 2)[0] == 5800
    # no estimate saved: the median of every finished run (1,000 s of 50, 1,000, 1,000, 4,000)
    left, how = reproduce.time_left(records, [RunConfig(dataset="fashion_mnist", backbone="cnn")], {}, 1)
    assert left == 1000 and how == {"saved": 0, "guessed": 1, "unknown": 0}
    # nothing finished and nothing saved: unknown, not guessed; one unknown run makes the total unknown
    left, how = reproduce.time_left([], todo, {}, 2)
    assert math.isnan(left) and how == {"saved": 0, "guessed": 0, "unknown": 2}
    left, how = reproduce.time_left([], todo + [RunConfig(dataset="fashion_mnist", backbone="cnn")], saved, 2)
    assert math.isnan(left) and how == {"saved": 1, "guessed": 0, "unknown": 2}


def test_time_left_counts_a_two_thread_run_once_per_core_it_takes():
    """A 2-thread ResNet-18 run costs only its own thread count's finished runs, and on 2 workers (one
    per core, the cpu profile) it holds both cores: two such 1-hour runs take 2 h on 2 workers, as on
    1. In the paper profile (2 threads per worker) the same runs do not slow each other."""
    from msvp.config import RunConfig
    from msvp.experiments import core_shares

    def cfg(threads, seed=0):
        return RunConfig(dataset="cifar10", backbone="resnet18", precision="bf16", threads=threads, seed=seed)
    records = [{"status": "done", "wall_time_s": 3600.0, "config": cfg(2).to_dict()},
               {"status": "done", "wall_time_s": 9000.0, "config": cfg(1).to_dict()}]
    todo = [cfg(2, 1), cfg(2, 2)]
    assert core_shares("cpu", todo) == [2.0, 2.0] and core_shares("paper", todo) == [1.0, 1.0]
    assert reproduce.time_left(records, todo, {}, 1, core_shares("cpu", todo))[0] == 7200
    assert reproduce.time_left(records, todo, {}, 2, core_shares("cpu", todo))[0] == 7200
    assert reproduce.time_left(records, todo, {}, 2, core_shares("paper", todo))[0] == 3600
    ones = [cfg(1, 1), cfg(1, 2)]
    assert reproduce.time_left(records, ones, {}, 2, core_shares("cpu", ones))[0] == 9000


def test_chapter_11_table_reads_the_saved_estimates(tmp_path):
    """The wiring: a profile with no finished run but a saved `grid --plan` estimate gets a time left
    (and the note's count); without the file it shows '–' and counts its runs as unknown."""
    from msvp.estimates import save_estimates
    from msvp.experiments import COST_FIELDS, get_profile

    cells = {}
    for c in get_profile("long").configs():
        cells.setdefault(cost_key(c), {**{f: getattr(c, f) for f in COST_FIELDS}, "runs": 0, "min_per_run": 60.0,
                                       "source": "warm-up"})["runs"] += 1
    bare = reproduce.profile_runs_table(tmp_path, workers=1).set_index("profile")
    n = len(get_profile("long").configs())
    assert bare.loc["long", "time left"] == "–" and bare.attrs["unknown"]["long"] == n
    save_estimates(tmp_path, "long", list(cells.values()), "AMD EPYC (1 thread)")
    t = reproduce.profile_runs_table(tmp_path, workers=1)
    assert t.set_index("profile").loc["long", "time left"] == words.duration(n * 3600) + " on one worker"
    assert t.attrs["saved"] == {"long": n} and "long" not in t.attrs["unknown"]


def test_verify_table_shows_the_seed_spread_of_the_runs_committed_now(tmp_path, monkeypatch):
    """The report stored no spread (one seed when verify ran); three seeds are committed now."""
    import json

    row = {"dataset": "mnist", "backbone": "cnn", "variant": "baseline", "seed": 0, "same_provenance": True,
           "bit_identical": True, "committed_acc_pct": 99.5, "fresh_acc_pct": 99.5, "diff_pp": 0.0,
           "outcome": "bit-identical", "seed_spread_pp": None, "committed_hardware": "cpu x",
           "fresh_hardware": "cpu x", "wall_time_s": 950.0}
    (tmp_path / "verify").mkdir()
    (tmp_path / "verify" / "cpu.json").write_text(json.dumps({"profile": "cpu", "date": "2026-11-30", "rows": [row]}))
    recs = [{"status": "done", "variant": "baseline", "test_acc": acc,
             "config": {"dataset": "mnist", "backbone": "cnn", "seed": seed}}
            for seed, acc in enumerate((0.994, 0.995, 0.996))]
    monkeypatch.setattr(reproduce, "current_records", lambda profile, root: (recs, None))
    table, _ = reproduce.verify_table(tmp_path / "verify" / "cpu.json")
    assert table["seed SD of the cell now (pp)"][0] == "0.10"


def test_one_wording_of_a_verdict_across_the_book():
    """The report card, the experiment chapters and the controls chapter word a verdict alike: one helper."""
    # no page keeps a wording of its own beside words.verdict_label
    lib = ROOT_RESULTS.parent / "book" / "_lib"
    own = [p.name for p in lib.glob("*.py") if p.name != "words.py" and "def verdict_label" in p.read_text()]
    assert not own and "verdict_label" in (lib / "control_family.py").read_text()
    assert words.verdict_label(row(verdict="equivalent", hi_pp=0.4)) == "equivalent (within ±0.5 pp)"
    rising = words.verdict_label(row(verdict="inconclusive", converged=False, val_rise_pp=1.644))
    assert rising == "inconclusive; caveat: baseline still improving (val. acc. +1.64 pp over its last 2 epochs)"
    assert words.verdict_label(row(verdict="improves", n_pairs=1)) == stats.NOT_ENOUGH_PAIRS
    assert control_family.judged_text(row(verdict="equivalent", hi_pp=0.4), 0.5) == (
        "+0.30 [−0.10, +0.40] pp (equivalent — within ±0.5 pp)")
    # nested brackets read as clauses inside the sentence's bracket, the caveat after its semicolon
    assert control_family.judged_text(row(verdict="inconclusive", converged=False, val_rise_pp=1.49, lr_last=2.4e-5)) == (
        "+0.30 [−0.10, +0.70] pp (inconclusive; caveat: baseline still improving — val. acc. +1.49 pp over its last "
        "2 epochs, last learning rate 2.4e-05)")
    small = control_family.judged_text(row(verdict="improves", diff_pp=0.19, lo_pp=0.05, hi_pp=0.32))
    assert small.endswith("pp (improves, by less than the margin — its 95 % interval lies within ±0.5 pp)")


def test_checkpoint_sentence_counts_the_runs_of_its_table():
    """The chapter's table shows the main arms only; its sentence must not count ablation or control runs."""
    runs = pd.DataFrame({"variant": ["baseline", "msvp-add-full", "control-pad", "msvp-add-global"],
                         "best_epoch": [10, 10, 8, 9], "epochs": [10] * 4,
                         "test_acc": [0.9, 0.91, 0.9, 0.9], "test_acc_best_val": [0.9, 0.91, 0.89, 0.9]})
    chapter = experiment.ExperimentChapter.__new__(experiment.ExperimentChapter)
    chapter.df = runs
    s = chapter._checkpoint_sentence()
    assert "In 2 of the 2 runs of the table below" in s and "earlier" not in s


def test_equivalent_shows_the_test_that_decided_it():
    """Beside a 95 % interval that may reach past ±0.5 pp, 'equivalent' names the Holm-adjusted TOST p."""
    assert words.verdict_label(row(verdict="equivalent", p_tost_holm=0.0123, hi_pp=0.4)) == \
        "equivalent (within ±0.5 pp, Holm TOST p = 0.012)"
    # few pairs: the 95 % interval [−0.81, +0.84] pp reaches past ±0.5 beside 'equivalent'; the label says why
    assert words.verdict_label(row(verdict="equivalent", p_tost_holm=0.047, lo_pp=-0.81, hi_pp=0.84)) == \
        "equivalent (within ±0.5 pp by TOST, which reads a 90 % interval, Holm TOST p = 0.047)"


def test_inconclusive_with_an_interval_apart_from_zero_says_why():
    """CIFAR-10 concat/full: −0.45 [−0.87, −0.02] pp, Holm p 0.137. A bare 'inconclusive' beside an
    interval below 0 reads as a contradiction; the label names the correction that decided it."""
    apart = row(diff_pp=-0.45, lo_pp=-0.87, hi_pp=-0.02, p_holm=0.137)
    assert words.verdict_label(apart) == ("inconclusive (the unadjusted 95 % interval excludes 0, but the "
                                          "difference does not survive the Holm correction: p = 0.14)")
    assert words.plain_verdict(apart) == words.INCONCLUSIVE_BUT_APART.format(way="loss")
    assert words.plain_verdict(apart).startswith("the runs point to a loss, but not clearly enough")
    assert words.plain_verdict(row(lo_pp=0.05, hi_pp=0.5, p_holm=0.2)).startswith("the runs point to a gain")
    straddles = row(p_holm=0.4)          # [−0.1, +0.7]: the plain label
    assert words.verdict_label(straddles) == "inconclusive"
    assert words.plain_verdict(straddles) == words.PLAIN_VERDICTS["inconclusive"]


def test_equal_interval_columns_are_explained_only_where_they_agree():
    tiny = row(interval="seed × image", lo_pp=-0.3621, hi_pp=0.3041, t_lo_pp=-0.3582, t_hi_pp=0.3002)
    wide = row(interval="seed × image", lo_pp=-0.5, hi_pp=0.7, t_lo_pp=-0.3, t_hi_pp=0.5)
    # 0.004 pp apart, but +0.306 and +0.302 print as +0.31 and +0.30: not 'the same' in the table
    split = row(interval="seed × image", lo_pp=-0.362, hi_pp=0.306, t_lo_pp=-0.358, t_hi_pp=0.302)
    assert sections.shared_noise_md(pd.DataFrame([tiny])).startswith("In every row the two interval columns print")
    assert "0.004 pp wider" in sections.shared_noise_md(pd.DataFrame([tiny]))
    assert sections.shared_noise_md(pd.DataFrame([tiny, wide])).startswith("In 1 of the 2 rows")
    assert sections.shared_noise_md(pd.DataFrame([wide])) == ""
    assert sections.shared_noise_md(pd.DataFrame([split])) == ""
    same = row(interval="seed × image", lo_pp=-0.3621, hi_pp=0.3041, t_lo_pp=-0.36208, t_hi_pp=0.30408)
    assert "(the seed × image interval matches it to three decimals there)" in sections.shared_noise_md(pd.DataFrame([same]))


def test_front_page_names_the_runs_the_pooled_gain_rests_on():
    judged = pd.DataFrame({"dataset": ["fashion_mnist", "mnist"], "n_pairs": [5, 4]})
    assert front.pooled_basis(judged) == (" The pooled gain rests on 9 seed pairs (18 runs) of MSVP add/full and "
                                         "the baseline on MNIST and Fashion-MNIST.")
    assert front.pooled_basis(judged.iloc[:0]) == ""
    # two backbones: the reader is told how many of the pairs are the ViT's (CIFAR-10 has 3 CNN, 2 ViT)
    mixed = pd.DataFrame({"dataset": ["mnist", "cifar10", "cifar10"], "backbone": ["cnn", "cnn", "vit"],
                          "n_pairs": [5, 3, 2]})
    assert front.pooled_basis(mixed) == (" The pooled gain rests on 10 seed pairs: 8 pairs on CNN and 2 pairs on "
                                         "ViT-Tiny (20 runs) of MSVP add/full and the baseline on MNIST and CIFAR-10.")


def test_confusion_shift_compares_all_paired_seeds():
    """Baseline confuses class 0 → 1 in 20 % of class 0; MSVP lowers it on both seeds (10 and 15 %)."""
    def rec(variant, seed, c01):
        m = [[100 - c01, c01], [5, 95]]
        return {"variant": variant, "config": {"seed": seed}, "confusion": m}
    recs = [rec("baseline", 0, 20), rec("baseline", 1, 20), rec("msvp-add-full", 0, 10), rec("msvp-add-full", 1, 15),
            rec("msvp-add-full", 2, 0)]   # seed 2 has no baseline: left out
    s = experiment.confusion_shift(recs, ["a", "b"], top=1)
    assert "mean over the 2 seeds both arms ran" in s
    assert "a → b 20.0 % → 12.5 % (−7.50 pp; per seed −10.00 to −5.00)" in s
    assert "every seed moves the same way" in s and "one time in 2 for each" in s
    assert experiment.confusion_shift(recs[:1] + recs[2:3], ["a", "b"]) == ""   # one paired seed: nothing to say


def test_prompt_growth_names_the_map_that_moved_most():
    maps = {"global": np.array([[[0.2]]]), "local": np.full((1, 8, 8), 0.01)}
    s = experiment.prompt_growth(maps, 0.01)
    # the median largest |N(0, 1)| of one draw is 0.67, of 64 draws 2.6
    assert "global grew to 20.0× (a random start alone gives about 0.7×); local grew to 1.0× (a random start alone gives about 2.6×)" in s
    assert s.endswith("The global map moved most.")


def test_map_agreement_is_a_correlation():
    rng = np.random.default_rng(0)
    a = rng.random((3, 4, 4))
    same = {"baseline": {"explanations": {"maps": a.tolist()}}, "MSVP": {"explanations": {"maps": a.tolist()}}}
    assert "correlate at r = 1.00 on average over these 3 images" in experiment.map_agreement(same)
    flipped = {"baseline": same["baseline"], "MSVP": {"explanations": {"maps": (-a).tolist()}}}
    assert "r = −1.00" in experiment.map_agreement(flipped)


def test_ceiling_note_names_cells_whose_error_is_below_the_margin():
    df = pd.DataFrame({"dataset": ["mnist", "mnist", "fashion_mnist"], "backbone": ["cnn"] * 3,
                       "variant": ["baseline", "msvp-add-full", "baseline"], "test_acc": [0.9961, 0.99, 0.925]})
    judged = pd.DataFrame({"dataset": ["mnist", "fashion_mnist"], "backbone": ["cnn", "cnn"]})
    note = front.ceiling_note(df, judged)
    assert note.startswith(" On MNIST · CNN (test error 0.39 %) the baseline's test error is smaller than the ±0.5 pp "
                           "margin")
    assert "Fashion" not in note and "includes that cell" in note
    assert front.ceiling_note(df, judged[judged.dataset == "fashion_mnist"]) == ""


def test_landing_answer_gives_concat_its_own_sentence(monkeypatch):
    """The accuracy claim is judged on add; concat (the abstract's 1 × 1 convolution) gets one sentence
    of its own, per cell with ≥ 2 pairs, grouped by verdict; nothing where concat has no pairs."""
    rows = pd.DataFrame({"dataset": ["mnist", "fashion_mnist", "cifar10", "mnist"], "backbone": "cnn",
                         "treatment": ["msvp-concat-full"] * 3 + ["msvp-add-full"],
                         "n_pairs": [3, 3, 1, 5], "diff_pp": [0.06, 0.17, -0.45, 0.02],
                         "verdict": ["equivalent", "inconclusive", "not enough pairs yet", "equivalent"]})
    monkeypatch.setattr(front, "paired_rows", lambda df: rows)
    s = front.concat_sentence(pd.DataFrame())
    assert s == (" The abstract's own fusion, a 1 × 1 convolution (*concat*), is judged apart, over 3 pairs: "
                 "+0.06 pp on MNIST (too small to matter); +0.17 pp on Fashion-MNIST (undecided).")
    monkeypatch.setattr(front, "paired_rows", lambda df: rows.iloc[2:])
    assert front.concat_sentence(pd.DataFrame()) == ""
    monkeypatch.setattr(front, "paired_rows", lambda df: rows.assign(backbone=["cnn", "vit", "cnn", "cnn"]))
    assert "+0.17 pp on Fashion-MNIST · ViT-Tiny (undecided)" in front.concat_sentence(pd.DataFrame())


def test_paired_tables_have_seven_columns_to_fit_a_page():
    """The chapters' and the report card's paired tables: the verdict column must not scroll off at 1280 px."""
    p = pd.DataFrame([dict(row(), dataset="mnist", backbone="cnn", treatment="msvp-add-full", diff_pp=0.3,
                           mcnemar_p=[0.5, 0.2, 0.9], p_holm=0.4)])
    page, cards = sections.paired_for_reading(p), card.cells_table(p)
    assert len(page.columns) == len(cards.columns) == 7
    assert page.cell[0] == "CNN · add" and cards.cell[0] == "MNIST · CNN · add"
    assert page["MSVP ahead"][0] == "2 of 3 seeds" and page.verdict[0] == "inconclusive"


def test_the_book_layer_never_trains():
    """Pages read results; re-training is an explicit msvp.grid.run_grid call in a chapter's own cell.
    So no module of book/_lib imports the runner or the training code."""
    import ast

    trainers = {"msvp.grid", "msvp.engine", "msvp.training", "msvp.cluster", "msvp.plan"}
    found = []
    for path in sorted((ROOT_RESULTS.parent / "book" / "_lib").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):   # `from msvp import grid` names the module too
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            found += [f"{path.name}: {n}" for n in names if n in trainers or n.split(".")[:2] == ["msvp", "grid"]]
    assert not found, found


def _vit_cifar(accs: dict, wall: float = 18000.0) -> pd.DataFrame:
    rows = [{"dataset": "cifar10", "backbone": b, "variant": v, "seed": k, "test_acc": a, "epochs": 10,
             "wall_time_s": wall, "val_acc_curve": [0.40, 0.50, 0.55, 0.57]}
            for (b, v), values in accs.items() for k, a in enumerate(values)]
    return pd.DataFrame(rows)


def test_strongest_case_counts_its_runs_and_gives_no_verdict_without_pairs():
    from _lib.strongest_case import strongest_case_md
    df = _vit_cifar({("vit", "baseline"): [0.5677], ("cnn", "baseline"): [0.8371]})
    states = pd.DataFrame([{"dataset": "cifar10", "backbone": "vit", "variant": v, "seed": k,
                            "state": "done" if (v, k) == ("baseline", 0) else "missing"}
                           for v in ("baseline", "msvp-add-full", "msvp-concat-full") for k in range(3)])
    text = strongest_case_md("cpu", df, states)
    assert "1 of 9 planned runs is trained (baseline: seed 0; MSVP add, full: none; MSVP concat, full: none)" in text
    assert "56.77 %" in text and "26.9 pp below the CNN's 83.71 %" in text
    assert "still rose 7.00 pp over the last two epochs" in text   # 0.57 − 0.50: epochs 2 to 4 of the curve
    assert "**no verdict yet**" in text
    assert "The 8 runs left would take about 40.0 h on one worker (20.0 h on two" in text
    # a profile that does not plan the cell says so instead of counting (bf16 trains the CNN only)
    assert "does not train it" in strongest_case_md("bf16", df.iloc[:0], states.iloc[:0])
    assert "does not train it" not in strongest_case_md("smoke", df.iloc[:0], states)
    # a baseline that had levelled off is not called "still learning"; a ViT above the CNN is "above"
    flat = df.assign(val_acc_curve=[[0.5, 0.568, 0.569, 0.570]] * 2, test_acc=[0.86, 0.8371])
    text = strongest_case_md("cpu", flat, states)
    assert "still learning" not in text and "+0.20 pp over the last two epochs: it had levelled off" in text
    assert "2.3 pp above the CNN's 83.71 %" in text


def test_backbones_page_reads_its_numbers_without_repeating_them():
    from _lib import backbones

    runs = pd.DataFrame({"dataset": ["cifar10", "fashion_mnist"], "data_variant": ["offline-copy", "complete"]})
    one = pd.DataFrame({"dataset": ["cifar10"], "treatment": ["msvp-add-full"], "diff_pp": [-0.10], "n_pairs": [1],
                        "verdict": ["not enough pairs yet"]})
    assert backbones.reading_words(one, runs) == ("MSVP add − baseline −0.10 pp on CIFAR-10 (offline copy), from 1 pair: "
                                                  "not enough pairs yet")
    two = pd.DataFrame({"dataset": ["fashion_mnist", "cifar10"], "treatment": ["msvp-concat-full"] * 2,
                        "diff_pp": [0.17, -0.45], "n_pairs": [3, 3], "verdict": ["inconclusive"] * 2})
    assert backbones.reading_words(two, runs).startswith("MSVP concat − baseline from −0.45 pp on CIFAR-10 (offline "
                                                         "copy) to +0.17 pp on Fashion-MNIST over 2 data sets")
    assert backbones.reading_words(two, runs).endswith("over 2 data sets (both inconclusive)")
    both = pd.concat([two.assign(treatment="msvp-add-full"), one.assign(dataset="mnist")], ignore_index=True)
    assert backbones.reading_words(both, runs) == (
        "MSVP add − baseline from −0.45 pp on CIFAR-10 (offline copy) to +0.17 pp on Fashion-MNIST over 2 data sets "
        "(both inconclusive); −0.10 pp on MNIST from 1 pair (not enough pairs yet)")
    mixed = two.assign(verdict=["equivalent", "inconclusive"])
    assert backbones.reading_words(mixed, runs).endswith("(1 equivalent, 1 inconclusive)")
    bars = two.assign(backbone="cnn", lo_pp=[-0.03, -0.87], hi_pp=[0.37, -0.02], diff_std_pp=[0.1, 0.2])
    s = backbones.figure_words(pd.concat([bars, one.assign(backbone="vit", lo_pp=np.nan, hi_pp=np.nan,
                                                           diff_std_pp=np.nan)], ignore_index=True))
    assert "**CNN**: intervals that include 0: 1 of 2 (not CIFAR-10 · concat: " in s
    assert "wholly inside the grey ±0.5 pp band: 1 of 2" in s and "seed-to-seed SD is 0.10–0.20 pp" in s
    assert "**ViT-Tiny**: CIFAR-10 · add: a point without a bar" in s


def test_backbone_run_times_are_medians_per_data_set():
    """One backbone's runs on CIFAR-10 take hours, on Fashion-MNIST an hour: one median over both
    would describe neither."""
    from _lib import backbones

    runs = pd.DataFrame({"dataset": ["fashion_mnist", "cifar10", "cifar10", "fashion_mnist"],
                         "wall_time_s": [4300.0, 15500.0, 16900.0, 4400.0]})
    assert backbones.run_times(runs) == "72.5 min on Fashion-MNIST and 4.5 h on CIFAR-10"
    assert backbones.run_times(runs[runs.dataset == "cifar10"]) == "4.5 h"


def test_fusion_head_to_head_reads_every_cell_in_book_order():
    from _lib import ablation

    fam = pd.DataFrame({"dataset": ["cifar10", "mnist"], "backbone": ["cnn", "cnn"],
                        "treatment": ["msvp-concat-full"] * 2, "control": ["msvp-add-full"] * 2, "n_pairs": [3, 3],
                        "diff_pp": [-0.44, 0.04], "lo_pp": [-0.85, -0.05], "hi_pp": [-0.03, 0.13],
                        "p_holm": [0.13, 0.37], "verdict": ["inconclusive", "equivalent"]})
    s = ablation.versus_sentence(ablation.in_order(fam))
    assert s == ("Head to head, MSVP concat/full − MSVP add/full: +0.04 [−0.05, +0.13] pp on MNIST · CNN (3 pairs: too "
                 "small to matter); −0.44 [−0.85, −0.03] pp on CIFAR-10 · CNN (3 pairs: undecided — its interval "
                 "excludes 0, but not after Holm's correction).")
    src = (ROOT_RESULTS.parent / "book" / "07_fusion_ablation.py").read_text(encoding="utf-8")
    assert 'versus=("msvp-concat-full", "msvp-add-full")' in src and "ch.head_to_head()" in src


@pytest.mark.parametrize("name", ["06_scale_ablation", "07_fusion_ablation", "12_controls"])
def test_beyond_the_paper_chapters_answer_before_their_method(name):
    src = (ROOT_RESULTS.parent / "book" / f"{name}.py").read_text(encoding="utf-8")
    first_section = src.index("\n# ## ")
    assert "ch.in_short()" in src and src.index("ch.in_short()") < first_section, name


def test_verify_line_names_the_cells_it_has_not_re_trained():
    from _lib.reproduce import unverified_cells

    report = pd.DataFrame({"dataset": ["cifar10"], "backbone": ["cnn"]})
    rec = lambda d, b, status="done": {"status": status, "config": {"dataset": d, "backbone": b}}  # noqa: E731
    recs = [rec("cifar10", "cnn"), rec("cifar10", "vit"), rec("cifar10", "vit"), rec("mnist", "vit", "diverged")]
    assert unverified_cells(report, recs) == "; not re-trained yet: CIFAR-10 · ViT-Tiny (2 committed runs)"
    assert unverified_cells(report, recs[:1]) == ""


def test_ci_only_profiles_are_said_to_be_never_committed(tmp_path):
    """smoke and smoke-scarce train into build/results (make smoke) and are never committed: with none of
    their runs in the folder read, the page says so instead of 'not run yet' or 'not measured yet'."""
    import re
    from pathlib import Path

    assert reproduce.CI_ONLY == ("smoke", "smoke-scarce")
    # make smoke trains exactly these profiles (its grid lines), so the page's claim holds
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    smoke = makefile.split("\nsmoke:", 1)[1].split("\n\n", 1)[0]
    assert set(reproduce.CI_ONLY) == set(re.findall(r"grid --profile (\S+)", smoke))
    t = reproduce.profile_runs_table(tmp_path, workers=2)
    rows = t.set_index("profile")
    assert rows.loc["smoke", "hardware"] == "none committed: CI only" and rows.loc["cpu", "hardware"] == "not run yet"
    assert t.attrs["ci"] == ["smoke", "smoke-scarce"] and "smoke" not in t.attrs["unknown"]
    line = reproduce.profile_line(t.to_dict("records")[0])
    assert line == ("`smoke`: CI only — `make smoke` (part of `make test`) trains its 33 runs into build/results; "
                    "they are never committed.")
    assert reproduce.profile_line({"profile": "smoke", "done": 33, "planned runs": 33,
                                   "time left": "none left"}).endswith("33 planned runs done; all done.")


def test_a_profile_with_runs_left_is_never_called_all_done():
    assert reproduce.left_phrase({"done": 0, "planned runs": 33, "time left": "–"}).startswith(
        "; the time the rest needs is not measured yet")
    assert reproduce.left_phrase({"done": 21, "planned runs": 21, "time left": "none left"}) == "; all done"
    assert reproduce.left_phrase({"done": 30, "planned runs": 90, "time left": "1.7 h on 2 workers"}) == (
        "; the rest would take 1.7 h on 2 workers")


def test_the_gpu_profile_time_left_is_for_the_gpu_recipes_workers():
    """tools/gpu_paper.sh runs 6 workers on one GPU: the `paper` row is costed for them, whatever the
    page's CPU worker count."""
    assert reproduce.profile_workers("paper", 2) == 6 and reproduce.profile_workers("cpu", 2) == 2
    import re
    script = (ROOT_RESULTS.parent / "tools" / "gpu_paper.sh").read_text()
    assert re.search(r"JOBS=\$\{JOBS:-(\d+)\}", script).group(1) == str(reproduce.GPU_WORKERS)


def test_harder_data_is_judged_on_the_cnn_else_the_convolutional_backbone_with_runs():
    from _lib.tables import harder_data_backbone

    p = pd.DataFrame({"backbone": ["cnn", "cnn", "resnet18", "resnet18", "resnet18"],
                      "dataset": ["mnist", "cifar10", "mnist", "cifar10", "fashion_mnist"]})
    assert harder_data_backbone(p) == "cnn"                             # the paper's main table
    assert harder_data_backbone(p[p.backbone == "resnet18"]) == "resnet18"   # the GPU runs: no CNN yet
    assert harder_data_backbone(p.iloc[1:]) == "resnet18"               # one CNN data set cannot rank
    assert harder_data_backbone(p.iloc[:0]) == "cnn"


def test_ablation_baseline_row_also_gives_the_seeds_the_short_variants_paired_on():
    from _lib.tables import _paired_baseline_note

    base = pd.DataFrame({"dataset": "mnist", "backbone": "cnn", "variant": "baseline", "seed": [0, 1, 2, 3, 4],
                         "test_acc": [0.90, 0.92, 0.94, 0.80, 0.80]})
    fam = pd.DataFrame({"dataset": ["mnist"] * 2, "backbone": ["cnn"] * 2,
                        "seeds": [(0, 1, 2), (0, 1, 2, 3, 4)]})
    note = _paired_baseline_note(base, fam, "mnist", "cnn")
    assert note == "; 92.00 ± 2.00 on seeds 0, 1, 2 (the pairs of the 3-seed variants)"
    assert _paired_baseline_note(base, fam.iloc[1:], "mnist", "cnn") == ""     # every variant has all 5


def test_machine_label_reads_threads_from_older_hardware_strings():
    assert words.machine_label({"hardware": "AMD EPYC (2 threads)", "torch": "2.14.1+cu130"}) == \
        "AMD EPYC CPU, 2 threads; torch 2.14.1"


def test_time_per_run_is_a_median_per_backbone():
    """One median over 20-minute CNN runs and 4-hour ViT runs describes neither: one per backbone."""
    df = pd.DataFrame({"backbone": ["cnn", "cnn", "cnn", "vit"], "wall_time_s": [1200.0, 1300.0, 1250.0, 15500.0]})
    assert reproduce.per_backbone_median(df) == f"CNN {words.duration(1250.0)}; ViT-Tiny {words.duration(15500.0)}"
    assert reproduce.per_backbone_median(df.iloc[:0]) == "–"


def test_scarce_contrast_names_a_precision_that_differs_between_its_sides():
    """Chapter 13's contrast (gain on a subset minus gain on the full split) compares bf16 subset runs with
    fp32 full-split runs: the sentence says so; with one precision on both sides it says nothing."""
    from _lib import scarce

    runs = pd.DataFrame({"dataset": ["fashion_mnist"] * 3, "train_subset": [540, 5400, None],
                         "precision": ["bf16", "bf16", "fp32"], "device_class": ["cpu"] * 3, "threads": [1, 1, 1]})
    note = scarce.precision_note(runs, "fashion_mnist")
    assert note.startswith(" The subsets trained in bf16 autocast and the full split in fp32: each gain is paired")
    assert scarce.precision_note(runs.assign(precision="bf16"), "fashion_mnist") == ""
    assert scarce.precision_note(runs, "cifar10") == ""
    assert scarce.device_words(runs) == "CPU, 1 thread per run"
    assert scarce.device_words(runs.assign(threads=[1, 2, 2])) == "CPU, 1 and 2 threads per run"
