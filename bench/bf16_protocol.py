#!/usr/bin/env python
"""The bf16 check at the converged protocol (issue 23): the bf16 profile's CNN runs against the
committed fp32 runs of the cpu profile; the statistics and the rule are msvp.precision's.

    python bench/bf16_protocol.py              # reads results/, writes bench/results/bf16-protocol-*.csv
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from msvp import precision

REPO = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default=str(REPO / "results"))
    ap.add_argument("--out", default=str(REPO / "bench" / "results"))
    a = ap.parse_args(argv)
    fp32, bf16 = precision.runs(a.results)
    base, gain = precision.compare(fp32, bf16)
    choice, why = precision.decide(base, gain)
    pd.set_option("display.width", 160)
    print(f"baseline accuracy, bf16 - fp32 (pp, {precision.TOST_LEVEL:.0%} Welch interval; equivalent if "
          f"inside ±{precision.MARGIN_PP} pp):")
    print(base.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"MSVP add/full gain, bf16 - fp32 (pp, {precision.GAIN_LEVEL:.0%} Welch interval):")
    print(gain.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"decision: {choice or 'not yet'} ({why})")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    hw = sorted(set(bf16.hardware.dropna()))
    for name, table in (("baseline", base), ("gain", gain)):
        table.assign(decision=choice or "not yet", reason=why, hardware="; ".join(hw)).to_csv(
            out / f"bf16-protocol-{name}-cpu.csv", index=False)
    print(f"wrote {out}/bf16-protocol-{{baseline,gain}}-cpu.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
