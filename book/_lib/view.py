"""One view of a profile's results for a page: the current records, the table of finished runs and the
state of every planned run, read from the results store in one pass. Nothing here trains."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from msvp.experiments import get_profile
from msvp.results import current_records, frame, result_path, results_root

STATE_COLUMNS = ["dataset", "backbone", "variant", "seed", "state"]


def states(profile: str, root, records: list[dict]) -> pd.DataFrame:
    """One row per planned run: done or diverged (a current record), stale (a file that does not count
    for the current code or config, or cannot be read) or missing, as ``grid --list`` says."""
    have = {Path(r["path"]): r["status"] for r in records}
    rows = []
    for c in get_profile(profile).configs():
        path = result_path(root, profile, c)
        state = have.get(path) or ("stale" if path.exists() else "missing")
        rows.append((c.dataset, c.backbone, c.variant, c.seed, state))
    return pd.DataFrame(rows, columns=STATE_COLUMNS)


@dataclass
class View:
    """``records`` (current, done or diverged), ``df`` (finished runs), ``states`` (every planned run)."""
    profile: str
    results_dir: object
    records: list = field(init=False)
    df: pd.DataFrame = field(init=False)
    states: pd.DataFrame = field(init=False)

    def __post_init__(self):
        root = results_root(self.results_dir)
        self.records, skipped = current_records(self.profile, root)
        self.df = frame(self.records, skipped)
        self.states = states(self.profile, root, self.records)

    def done(self, **match) -> list[dict]:
        """Finished records whose config matches every key=value given (variant matches the record)."""
        return [r for r in self.records if r["status"] == "done"
                and all({**r["config"], "variant": r["variant"]}.get(k) == v for k, v in match.items())]
