"""Chapter 8: the backbones side by side, and what their runs cost."""
from __future__ import annotations

import pandas as pd

from msvp.stats import signed as pp  # '+0.12', '−0.05'

from .chapter import Page, key_results, md, table
from .names import (
    BACKBONE_ORDER,
    MAIN,
    backbone_title,
    cell_name,
    ordered,
)
from .sections import paired_rows, progress_md, results_table, show_diverged, show_paired_figure, status_md
from .words import (
    duration,
    hardware_label,
    join,
    plural,
)


class BackbonesChapter(Page):
    """Chapter 8: every (data set, backbone) cell of the profile with runs, side by side."""

    def results(self) -> None:
        """The results table with each cell's backbone size, the progress of the cells still training
        and the paired figure."""
        md(status_md(self.profile, self.df, self.states))
        md("**Trained so far, per backbone:**\n\n" + progress_md(self.profile, self.states))
        t = results_table(self.profile, self.df)
        params = {(d, b): f"{int(g.params_backbone.iloc[0]):,}"
                  for (d, b), g in self.df.groupby(["dataset", "backbone"])}
        # the count on the first row of each cell; its continuation row stays blank like the cell's name
        t.insert(1, "backbone params", [params[c] if name else "" for c, name in zip(t.attrs["cells"],
                                                                                     t["data set · backbone"])])
        if len(t):
            table(t)
        show_diverged(self.df)
        show_paired_figure(paired_rows(self.df), f"MSVP − baseline per backbone, profile {self.profile}")

    def costs(self) -> None:
        run_costs(self.df)

    def key_results(self) -> None:
        """Per backbone, the runs trained of those planned, MSVP add's paired differences over its data
        sets, and the mean time a run took."""
        df, states, p = self.df, self.states, paired_rows(self.df)
        lines = []
        for b in [x for x in BACKBONE_ORDER if x in set(states.backbone) | set(df.backbone)]:
            s, runs = states[states.backbone == b], df[df.backbone == b]
            line = f"{backbone_title(b)}: {int((s.state == 'done').sum())} of {len(s)} planned runs trained"
            main = p[(p.backbone == b) & (p.treatment == MAIN)]
            if len(main):
                line += (f"; MSVP add − baseline from {pp(main.diff_pp.min())} to {pp(main.diff_pp.max())} pp over "
                         f"{plural(len(main), 'data set')} ({join(sorted(set(main.verdict.astype(str))))})")
            if len(runs):
                line += f"; {duration(runs.wall_time_s.mean())} per run on {hardware_label(runs)}"
            lines.append(line + ".")
        key_results(lines)


def run_costs(df: pd.DataFrame) -> None:
    """Wall-clock time per run and in all, per (data set, backbone) cell, with the hardware."""
    if df.empty:
        md("No runs yet.")
        return
    cost = []
    for d, b in ordered({(d, b) for d, b in zip(df.dataset, df.backbone)}):
        g = df[(df.dataset == d) & (df.backbone == b)]
        cost.append({"data set · backbone": cell_name(d, b), "hardware": hardware_label(g),
                     "runs": len(g), "epochs": int(g.epochs.iloc[0]), "training images": int(g.n_train.iloc[0]),
                     "time per run (mean)": duration(g.wall_time_s.mean()),
                     "compute time, all runs": duration(g.wall_time_s.sum())})
    cost = pd.DataFrame(cost)
    if cost.hardware.nunique() == 1:
        md(f"All on {cost.hardware.iloc[0]}:")
        cost = cost.drop(columns="hardware")
    table(cost)
    md("Wall-clock time per run as recorded in each result file: training, validation after every epoch, "
       "the final test passes and the saliency examples.")
