"""The runs of the `paper` profile on a GPU, shown beside a CPU page: other hardware, never paired
with the CPU runs, judged by the same rules within their own profile."""
from __future__ import annotations

import pandas as pd

from msvp.experiments import MAIN_VARIANTS, get_profile
from msvp.stats import signed as pp  # '+0.12', '−0.05'

from .card import ReportCard
from .chapter import Page, md, table
from .names import BACKBONE_ORDER, MAIN, backbone_title, cell_name, label, ordered
from .sections import acc_text, effect_sentence, paired_rows, progress_md, results_table, show_paired_figure
from .words import duration, hardware_label, join, short_verdict

GPU_PROFILE = "paper"


class GpuRuns(Page):
    """The `paper` profile's finished runs, for a section of a page that shows another profile."""

    def __init__(self, results_dir, data_root="../data", profile: str = GPU_PROFILE):
        super().__init__(profile, results_dir, data_root)
        self.paired = paired_rows(self.df)

    @property
    def done(self) -> int:
        return int((self.states.state == "done").sum())

    def intro(self) -> str:
        """Where these runs come from, how many there are, and why they stand apart."""
        if not self.done:
            return (f"No run of the `{self.profile}` profile has been committed yet: `tools/gpu_paper.sh` trains "
                    f"them on one GPU ({get_profile(self.profile).description})")
        return (f"**On one GPU (`{self.profile}` profile).** {self.done} of the {len(self.states)} runs the profile "
                f"plans are finished, on {hardware_label(self.df)}, {per_run(self.df)}. They used other hardware, "
                f"another torch and another thread count than the CPU runs, so they are never paired with them: "
                f"each verdict below comes from the GPU runs alone, by the rules of the "
                f"[report card](10_report_card.ipynb)." + (
                    " Their bf16 arithmetic was checked against fp32 on the CPU's CNN only (the "
                    "[protocol](protocol.ipynb) page), not on a GPU." if (self.df.precision == "bf16").any() else ""))

    def cells(self, figure: bool = True, words: bool = True) -> None:
        """The intro, the progress per backbone, the results table and (optionally) the paired figure and
        the sentence that reads it (the landing page gives that sentence in its answer already)."""
        md(self.intro())
        if not self.done:
            return
        md("**Trained so far on the GPU, per backbone:**\n\n" + progress_md(self.profile, self.states))
        table(results_table(self.profile, self.df))
        if figure:
            show_paired_figure(self.paired, f"MSVP − baseline on one GPU, profile {self.profile}")
        if words:
            md(pairs_words(self.paired))


def per_run(df: pd.DataFrame) -> str:
    """'from 1.7 to 5.8 min per run with 12 runs sharing the GPU': the spread of wall times per backbone."""
    parts = []
    for b in [x for x in BACKBONE_ORDER if x in set(df.backbone)]:
        t = df[df.backbone == b].wall_time_s.astype(float)
        parts.append(f"{backbone_title(b)} {duration(t.min())}–{duration(t.max())}")
    return "wall time per run " + join(parts) + " (several runs shared the GPU at once)"


def pairs_words(p: pd.DataFrame, lead: str = "MSVP add/full − baseline on the GPU") -> str:
    """The GPU cells in one sentence each: pairs so far and, with ≥ 2 pairs, the verdict of add/full."""
    main = p[p.treatment == MAIN] if len(p) else p
    if main.empty:
        return "No baseline and MSVP run on the GPU share a seed yet."
    judged, waiting = [], []
    for d, b in ordered(set(zip(main.dataset, main.backbone))):
        r = main[(main.dataset == d) & (main.backbone == b)].iloc[0]
        if int(r.n_pairs) >= 2:
            judged.append(f"{cell_name(d, b)} {pp(r.diff_pp)} pp over {int(r.n_pairs)} pairs ({short_verdict(r)})")
        else:
            waiting.append(cell_name(d, b))
    out = f"{lead}: {join(judged)}." if judged else ""
    if waiting:
        out += (f" {join(waiting)} {'has' if len(waiting) == 1 else 'have'} one pair so far: not enough pairs yet "
                f"for a verdict.")
    return out.strip()


def gpu_claims(results_dir, data_root="../data") -> None:
    """The report card's accuracy claims judged on the GPU runs alone (the parameter and compute claims
    do not depend on the hardware: chapter 9 measures them once)."""
    runs = GpuRuns(results_dir, data_root)
    md(runs.intro().replace("the [report card](10_report_card.ipynb)", "this page, stated above"))
    if runs.done:
        card = ReportCard(runs.profile, results_dir, data_root).card
        table(card[~card.claim.str.contains("parameters|compute")].reset_index(drop=True), bold="verdict")


def gpu_answer(results_dir) -> str:
    """' **On one GPU** ...': the GPU cells in a sentence for the landing page's answer ('' without runs)."""
    runs = GpuRuns(results_dir)
    if not runs.done or runs.paired.empty:
        return ""
    return (f" **On one GPU** (the `{runs.profile}` profile, shown apart further down and never paired with the "
            f"CPU runs), " + pairs_words(runs.paired, "MSVP add/full − baseline was"))


def gpu_line(results_dir) -> str:
    """The GPU cells as one key-results line of a CPU page ('' without runs)."""
    runs = GpuRuns(results_dir)
    if not runs.done or runs.paired.empty:
        return ""
    return (f"On one GPU (`{runs.profile}` profile, never paired with the CPU runs), "
            + pairs_words(runs.paired, "MSVP add/full − baseline was"))


def gpu_cell_md(results_dir, dataset: str, backbone: str) -> str:
    """One cell's GPU runs in a paragraph, for a page that discusses the same cell on the CPU: its
    accuracies and its paired changes with their verdicts ('' where the GPU has no run of it)."""
    runs = GpuRuns(results_dir)
    df = runs.df
    cell = df[(df.dataset == dataset) & (df.backbone == backbone)] if len(df) else df
    if cell.empty:
        return ""
    accs = join([f"{label(v)} {acc_text(df, dataset, backbone, v)} %" for v in MAIN_VARIANTS
                 if (cell.variant == v).any()])
    p = runs.paired[(runs.paired.dataset == dataset) & (runs.paired.backbone == backbone)]
    effects = " ".join(effect_sentence(p.iloc[i], f"GPU · {label(p.iloc[i].treatment)}") for i in range(len(p)))
    return (f"**The same cell on one GPU** (`{runs.profile}` profile, {hardware_label(cell)}; other hardware and "
            f"random streams, so never paired with the CPU runs above): {accs} test accuracy. {effects}").strip()
