"""The GPU section of the CPU pages (landing, chapters 8 and 10): the `paper` profile's runs, shown
apart from the CPU runs, never paired with them, and judged by the same rules."""
from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import pytest  # noqa: E402
from _lib import gpu_runs  # noqa: E402
from _lib.view import View  # noqa: E402

PAPER = Path(__file__).resolve().parents[1] / "results" / "paper"


@pytest.fixture
def said(monkeypatch):
    """What a section writes: its markdown and the tables it shows, in order."""
    out = []
    monkeypatch.setattr(gpu_runs, "md", lambda text: out.append(text))
    monkeypatch.setattr(gpu_runs, "table", lambda df, bold=None: out.append(df))
    monkeypatch.setattr(gpu_runs, "show_paired_figure", lambda p, title: out.append(title))
    return out


@pytest.fixture
def gpu_results(tmp_path):
    """The committed GPU runs of one cell (CIFAR-10 · ResNet-18: 3 seeds of each variant) and of one
    cell with a single pair (CIFAR-10 · ViT-Tiny), in a results folder of their own."""
    for backbone in ("resnet18", "vit"):
        src = PAPER / "cifar10" / backbone
        if not src.exists():
            pytest.skip("no committed GPU runs of CIFAR-10")
        shutil.copytree(src, tmp_path / "paper" / "cifar10" / backbone)
    # the card's parameter and compute claims read the committed accounting (else it is measured: minutes)
    shutil.copytree(PAPER.parent / "accounting", tmp_path / "accounting")
    return tmp_path


def test_no_gpu_runs_is_said_in_one_line(tmp_path, said):
    gpu_runs.GpuRuns(tmp_path).cells()
    assert len(said) == 1 and "No run of the `paper` profile has been committed yet" in said[0]


def test_gpu_runs_are_shown_judged_and_kept_apart(gpu_results, said):
    gpu_runs.GpuRuns(gpu_results).cells()
    intro, _, table, _, sentence = said
    assert "NVIDIA H200" in intro and "never paired" in intro
    assert "CIFAR-10 · ResNet-18" in table.iloc[0, 0]
    assert "CIFAR-10 · ResNet-18" in sentence and "over 3 pairs" in sentence
    assert "CIFAR-10 · ViT-Tiny has one pair so far: not enough pairs yet" in sentence
    assert View("cpu", gpu_results).df.empty, "a GPU run leaked into the CPU profile's view"


def test_the_landing_answer_names_the_gpu_cells_only_when_there_are_pairs(tmp_path, gpu_results):
    assert gpu_runs.gpu_answer(tmp_path / "empty") == ""
    answer = gpu_runs.gpu_answer(gpu_results)
    assert "**On one GPU**" in answer and "CIFAR-10 · ResNet-18" in answer and "over 3 pairs" in answer


def test_the_gpu_claims_leave_out_the_hardware_free_claims(gpu_results, said):
    gpu_runs.gpu_claims(gpu_results)
    assert "10_report_card.ipynb" not in said[0], "the report card links to itself"
    claims = " ".join(said[1].claim)
    assert "improves accuracy" in claims and "transformers" in claims
    assert "parameters" not in claims and "compute" not in claims


def test_a_cells_gpu_paragraph_gives_no_verdict_on_one_pair(gpu_results):
    text = gpu_runs.gpu_cell_md(gpu_results, "cifar10", "vit")
    assert "**The same cell on one GPU**" in text and "never paired with the CPU runs" in text
    assert "not enough pairs yet" in text and "Verdict" not in text
    assert gpu_runs.gpu_cell_md(gpu_results, "cifar10", "cnn") == ""

