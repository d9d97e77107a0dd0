"""bench/train.py --quick runs end to end and writes both CSV files with the documented columns."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

# starts training processes of its own: one such test at a time (make test runs pytest-xdist)
PROCESSES = pytest.mark.xdist_group("processes")

REPO = Path(__file__).resolve().parents[1]
ENV_COLUMNS = {"hardware", "device", "torch", "threads", "load_1m_start", "load_5m_start", "load_15m_start",
               "repeats", "quick"}


@PROCESSES
@pytest.mark.timeout(600)
def test_train_bench_quick_writes_tagged_csvs(tmp_path, data_root, mirror_dir):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MSVP_DATA_MIRROR": str(mirror_dir)}
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "train.py"), "--quick", "--threads", "1",
                           "--data-root", str(data_root), "--out", str(tmp_path)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for text in ("load ", "HEADLINE", "like for like", "MSVP OVERHEAD"):
        assert text in proc.stdout

    tag = f"pt{torch.__version__.split('+')[0].replace('.', '')}-cpu-quick"
    tp = pd.read_csv(tmp_path / f"train-throughput-{tag}.csv")
    assert ENV_COLUMNS | {"pipeline", "precision", "memory_format", "images_per_s", "images_per_s_runs",
                          "ratio_vs_official_fp32", "headline_ratio", "workers", "engine_default"} <= set(tp.columns)
    assert list(tp.pipeline) == ["ours-fp32", "ours-bf16", "official-fp32", "official-bf16"]
    assert (tp.images_per_s > 0).all() and (tp.repeats == 3).all() and (tp.threads == 1).all()
    assert tp.engine_default.sum() == 1
    assert tp.loc[tp.pipeline == "official-fp32", "ratio_vs_official_fp32"].item() == 1.0
    assert all(len(runs.split(";")) == 3 for runs in tp.images_per_s_runs)

    ov = pd.read_csv(tmp_path / f"msvp-overhead-{tag}.csv")
    assert ENV_COLUMNS | {"backbone", "input", "batch", "step_baseline_ms", "step_msvp_ms", "step_overhead_pct",
                          "step_overhead_q1_pct", "step_overhead_q3_pct", "step_met", "infer_baseline_ms",
                          "infer_msvp_ms", "infer_overhead_pct", "infer_met"} <= set(ov.columns)
    assert list(ov.backbone) == ["cnn", "resnet18", "vit"]
    assert (ov.step_overhead_q1_pct <= ov.step_overhead_pct).all()
    assert (ov.step_overhead_pct <= ov.step_overhead_q3_pct).all()


@PROCESSES
@pytest.mark.timeout(300)
def test_threads_bench_times_three_settings_with_a_real_neighbour(tmp_path, mirror_dir):
    """bench/threads.py on the cheapest cell: three settings, a pair time for the two that make pairs,
    and the speed-up column relative to 1 thread alone."""
    env = {**os.environ, "MSVP_DATA_MIRROR": str(mirror_dir)}
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "threads.py"), "--backbones", "cnn", "--inputs",
                           "mnist", "--rounds", "1", "--out", str(tmp_path)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    t = pd.read_csv(next(tmp_path.glob("threads-*-cpu.csv")))
    assert list(t.setting) == ["1-alone", "1-beside", "2-alone"] and (t.images_per_s > 0).all()
    assert t.pair_min.isna().tolist() == [True, False, False]
    assert t.loc[t.setting == "1-alone", "speedup_vs_1_alone"].item() == 1.0
