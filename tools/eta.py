#!/usr/bin/env python
"""Print how many runs of a profile are missing and a rough time estimate, before training.

The estimate uses the wall time of runs of the same profile already in the results folder,
per (dataset, backbone) and on the same kind of device (cpu / cuda); runs with no such timing are
counted separately rather than guessed. Usage::

    python tools/eta.py PROFILE [--results DIR]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def fmt(seconds: float) -> str:
    m = round(seconds / 60)
    return f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{max(m, 1)} min"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("profile")
    ap.add_argument("--results", default=None, help="results root (default $MSVP_RESULTS or results/)")
    a = ap.parse_args(argv)

    import torch

    from msvp.grid import get_profile, run_grid
    from msvp.results import results_root

    device = "cuda" if torch.cuda.is_available() else "cpu"
    prof = get_profile(a.profile)
    s = run_grid(a.profile, results=a.results, train=False)
    missing = s["missing"]
    total = len(missing) + len(s["skipped"])

    timings = defaultdict(list)    # (dataset, backbone) -> wall seconds on this kind of device
    for f in (results_root(a.results) / a.profile).rglob("seed*.json"):
        try:
            rec = json.loads(f.read_text())
            if str(rec["environment"]["device"]).split(":")[0] == device and rec.get("wall_time_s"):
                timings[(rec["config"]["dataset"], rec["config"]["backbone"])].append(float(rec["wall_time_s"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue

    root = results_root(a.results) / a.profile
    eta, unknown = 0.0, 0
    for p in missing:
        dataset, backbone = Path(p).relative_to(root).parts[:2]
        t = timings.get((dataset, backbone))
        if t:
            eta += statistics.median(t)
        else:
            unknown += 1

    print(f"profile {a.profile} on {device}: {prof.description}")
    print(f"{total} runs in the grid, {len(s['skipped'])} done, {len(missing)} to train")
    if not missing:
        print("ETA: nothing to train")
    elif unknown == len(missing):
        print(f"ETA: unknown (no finished {a.profile} run on {device} to time yet)")
    else:
        extra = f", plus {unknown} run(s) with no timing yet" if unknown else ""
        print(f"ETA: about {fmt(eta)} from the median time of finished runs on {device}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
