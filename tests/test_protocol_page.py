"""The protocol page (book/protocol.py, book/_lib/protocol.py, book/_lib/precision_check.py): measured
numbers are read from files the package wrote, the bf16 outcome says how much its intervals leave
open, and the recipe and deviation rows read as short, single-topic statements."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from _lib import precision_check, protocol

from msvp.config import RunConfig

PAGE = Path(__file__).resolve().parents[1] / "book" / "protocol.py"


def bench_csv(path: Path, fp32_s: float, bf16_s: float, date: str = "2026-12-03") -> Path:
    rows = [dict(backbone="vit", dataset="cifar10", setting=s, step_s=t, rounds=3, hardware="cpu x (1 thread)",
                 torch="2.0", threads=1, date=date)
            for s, t in (("fp32", fp32_s), ("bf16", bf16_s), ("fp32-compile", 99.0))]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_step_times_are_read_from_the_bench_output_and_name_it(tmp_path):
    bench_csv(tmp_path / "backbones-pt200-cpu.csv", 3.0, 1.5, date="2026-01-01")
    bench_csv(tmp_path / "backbones-pt100-cpu.csv", 5.0, 1.0, date="2026-06-01")   # the newest file speaks
    text = protocol.step_times_md(tmp_path)
    assert "ViT-Tiny 5.00× (CIFAR-10 input)" in text and "backbones-pt100-cpu.csv" in text
    assert "99" not in text                      # a compiled setting is not the bf16 the profile uses


def threads_csv(path: Path, minutes: dict) -> Path:
    """bench/threads.py's columns; ``minutes``: (backbone, dataset, setting) -> projected run minutes."""
    rows = [dict(backbone=b, dataset=d, setting=s, images_per_s=6000 / m, run_min=m,
                 pair_min={"1-beside": m, "2-alone": 2 * m}.get(s), rounds=3, hardware="AMD EPYC",
                 torch="2.14.1+cpu", cores=2, date="2026-12-05") for (b, d, s), m in minutes.items()]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_threads_section_reads_the_bench_and_flags_runs_that_outlast_a_stretch(tmp_path):
    """The table shows the pair times both ways beside the count the profile uses; the reading names
    the inputs whose run, on the chosen count, outlasts a working stretch (and only those)."""
    threads_csv(tmp_path / "threads-pt2141-cpu.csv", {
        ("resnet18", "cifar10", "1-alone"): 130, ("resnet18", "cifar10", "1-beside"): 154,
        ("resnet18", "cifar10", "2-alone"): 72, ("vit", "cifar10", "1-alone"): 191,
        ("vit", "cifar10", "1-beside"): 202, ("vit", "cifar10", "2-alone"): 128,
        ("vit", "mnist", "1-alone"): 57, ("vit", "mnist", "1-beside"): 60, ("vit", "mnist", "2-alone"): 41})
    shown, text = protocol.threads_md(tmp_path)
    resnet = shown.set_index("backbone · input").loc["ResNet-18 · CIFAR-10"]
    assert (resnet["a pair side by side (min)"], resnet["a pair one after the other (min)"]) == ("154", "144")
    assert resnet["threads per run (cpu profile)"] == 2
    assert "ResNet-18 runs on 2 threads: a pair takes 144 min one after the other (runs of up to 72 min)" in text
    assert "ViT-Tiny runs on 1 thread" in text and "its CIFAR-10 runs outlast a stretch" in text
    assert "MNIST runs outlast" not in text and "threads-pt2141-cpu.csv" in text
    assert protocol.threads_md(tmp_path / "none")[0] is None


def test_without_a_bench_output_the_page_points_to_the_script(tmp_path):
    text = protocol.step_times_md(tmp_path)
    assert "`bench/backbones.py`" in text and "×" not in text


def test_the_committed_bench_output_is_what_the_page_reads():
    text = protocol.step_times_md()
    assert "ResNet-18" in text and "ViT-Tiny" in text and "bench/results/backbones-" in text


def test_the_page_source_types_no_measured_step_time_ratio():
    source = PAGE.read_text(encoding="utf-8")
    assert not re.search(r"\d(?:\.\d+)?\s*[–-]\s*\d(?:\.\d+)?\s*times", source)
    assert "ch.step_times()" in source


def test_recipe_gives_dropout_its_own_bullet():
    c = RunConfig()
    bullets = {m.group(1): m.group(2) for m in re.finditer(r"- \*\*(\w+)\*\*:? ?(.*)", protocol.recipe_md())}
    assert "dropout" not in bullets["Prompts"]
    assert str(c.cnn_dropout) in bullets["Regularisation"] and f"{c.vit_dropout:g}" in bullets["Regularisation"]


def test_precision_row_is_short_sentences(tmp_path):
    text = protocol.precision_words("cpu", pd.DataFrame(), tmp_path)
    sentences = [s for s in re.split(r"(?<=\.) ", text) if s]
    assert ";" not in text and len(sentences) >= 5
    assert max(len(s.split()) for s in sentences) <= 16, sentences
    assert "not decided yet" in text and "No `cpu` runs yet." in text


def gain_table(lo: float, hi: float) -> pd.DataFrame:
    return pd.DataFrame([dict(dataset="fashion_mnist", diff_pp=-0.15, lo=-0.66, hi=0.36),
                         dict(dataset="cifar10", diff_pp=(lo + hi) / 2, lo=lo, hi=hi)])


def test_the_outcome_says_how_large_a_shift_the_gain_intervals_allow():
    text = precision_check.shift_words(gain_table(-0.55, 1.11), (-0.45, "CIFAR-10 · CNN"))
    assert "up to 1.11 pp" in text and "CIFAR-10" in text and "larger than any MSVP effect" in text
    assert "−0.45 pp" in text
    narrow = precision_check.shift_words(gain_table(-0.2, 0.3), (-0.9, "CIFAR-10 · CNN"))
    assert "up to 0.66 pp" in narrow and "Fashion-MNIST" in narrow and "no larger than" in narrow
    assert precision_check.shift_words(pd.DataFrame(), None) == ""


def test_the_largest_msvp_effect_is_the_one_farthest_from_zero():
    base = {("mnist", s): 0.99 for s in range(3)} | {("cifar10", s): 0.80 for s in range(3)}
    treat = {("mnist", "msvp-add-full"): 0.002, ("cifar10", "msvp-add-full"): -0.001,
             ("cifar10", "msvp-concat-full"): -0.004, ("cifar10", "control-pad"): 0.05}
    rows = [dict(dataset=d, backbone="cnn", variant="baseline", seed=s, test_acc=a) for (d, s), a in base.items()]
    rows += [dict(dataset=d, backbone="cnn", variant=v, seed=s, test_acc=base[d, s] + g)
             for (d, v), g in treat.items() for s in range(3)]
    size, cell = precision_check.largest_msvp_gain(pd.DataFrame(rows))
    assert round(size, 6) == -0.4 and "CIFAR-10" in cell and "concat" in cell   # controls are no MSVP effect
    assert precision_check.largest_msvp_gain(pd.DataFrame(columns=["dataset", "backbone", "variant"])) is None


def test_a_slower_bf16_cnn_is_said_not_to_bear_on_the_choice():
    base = pd.DataFrame([dict(dataset="mnist", speedup=1.0), dict(dataset="fashion_mnist", speedup=0.86)])
    text = precision_check.speed_words(base, "1.6–2.4×")
    assert "Fashion-MNIST 0.86×" in text and "On Fashion-MNIST bf16 trained the CNN more slowly" in text
    assert "On MNIST" not in text and "and MNIST" not in text            # 1.00× is not slower
    assert "measured 1.6–2.4× as fast in bf16" in text and "CNN stays in fp32" in text
    assert "more slowly" not in precision_check.speed_words(base.assign(speedup=1.2))
    assert precision_check.speed_words(pd.DataFrame()) == ""


def test_the_bench_range_is_read_from_the_bench_output(tmp_path):
    bench_csv(tmp_path / "backbones-pt100-cpu.csv", 3.2, 2.0)
    assert protocol.bench_speedup_range(tmp_path) == "1.6×"
    assert protocol.bench_speedup_range(tmp_path / "none") == ""


def test_thread_row_follows_the_profile():
    """The deviations table's thread row is computed from the cpu profile's runs, so a backbone given
    another count there shows here without an edit."""
    from msvp.experiments import BACKBONE_THREADS

    text = protocol.cpu_threads()
    assert f"{BACKBONE_THREADS['resnet18']} (ResNet-18)" in text and "ViT-Tiny" in text and "CNN" in text


def test_parts_table_counts_each_run_once():
    """A baseline seed that two parts plan (bf16: main and baseline-more) counts once, so each profile's
    parts add up to its number of runs."""
    from msvp.experiments import PROFILES

    t = protocol.parts_table()
    for name, p in PROFILES.items():
        assert t[t.profile == name].runs.sum() == len(p.configs()), name
    bf16 = t[t.profile == "bf16"].set_index("part").runs
    assert bf16["baseline-more"] < 3 * 5            # seeds 0-2 on two data sets are main's
