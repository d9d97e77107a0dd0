"""Matched-parameter controls (beyond the paper): is MSVP's gain due to its multi-scale structure,
or would any small input bias do?

The arms compared, all paired by seed with the baseline (same backbone initialisation, batch order
and augmentation stream):

- MSVP add/full, the reference: 1×1 + 4×4 + 8×8 maps, upsampled, averaged and added (81 / 243
  trainable parameters at 1×28×28 / 3×32×32);
- the pad prompt: a learned frame of width 1 added at the image border (108 / 372);
- the full-resolution prompt: one learned C×H×W map added to the image (784 / 3,072);
- the global-only prompt: MSVP's coarsest map alone, one constant per channel (1 / 3);
- the frozen random prompt: MSVP add/full kept at its random initial values (0 trainable).

The chapter makes, in every cell that ran a control, each arm − baseline, each arm − MSVP
add/full, and MSVP add/full − baseline. Each comparison is corrected in its own Holm family over
every cell of the profile where it ran (``msvp.stats.comparison_family``, the book's one rule), so
MSVP add/full − baseline reads here as on the report card; verdicts follow the per-cell rules of
:mod:`msvp.stats`, with the cell's convergence caveat (from its baseline) printed beside them.
Everything here reads result records (``view.View``); nothing trains. The page is ``ControlsChapter``;
its parts live in ``control_arms`` (which runs), ``control_prompts`` (cost and expressiveness),
``control_family`` (the comparisons) and ``control_answers`` (the answer per cell).
"""

from __future__ import annotations

import functools

import pandas as pd

from msvp.results import skipped_line

from .chapter import Page, figure, key_results, md, table
from .control_answers import Answer, answers, answers_markdown, chance_note
from .control_arms import accuracy_table, coverage, coverage_table, needed_line, plan_line, provenance
from .control_family import control_family, family_markdown, gain_table
from .control_prompts import format_params, fullres_table, param_table
from .effect_figures import plot_gain_vs_params
from .names import cell_name


class ControlsChapter(Page):
    """Chapter 12: the matched-parameter controls, from the profile's runs."""

    @functools.cached_property
    def family(self) -> pd.DataFrame:
        return control_family(self.df)

    @functools.cached_property
    def answers(self) -> list[Answer]:
        return answers(self.df, self.family, self.profile)

    def setting(self) -> None:
        lines = [needed_line(self.profile, self.results_dir, self.states), *provenance(self.df, self.profile),
                 skipped_line(self.df)]
        md("\n\n".join(line for line in lines if line))

    def params(self) -> None:
        """What each prompt costs: the registry's formula against built models."""
        table(format_params(param_table()))

    def fullres(self) -> None:
        """Each additive prompt folded into a full-resolution prompt: the same logits?"""
        table(fullres_table())

    def runs(self) -> None:
        md(plan_line(self.profile))
        cov = coverage(self.df, self.profile)
        if not cov.empty:
            table(coverage_table(cov))

    def accuracy(self) -> None:
        table(accuracy_table(self.df, self.profile))

    def comparisons(self) -> None:
        md(family_markdown(self.family))

    def gains(self) -> None:
        fig = plot_gain_vs_params(gain_table(self.df), self.df)
        if fig is None:
            md("No prompt variant has paired results yet: nothing to plot.")
        else:
            figure(fig)

    def answer(self) -> None:
        md(answers_markdown(self.answers, self.profile))

    def in_short(self) -> None:
        """The answer before the method: each cell's answer in one line, with any control singled out."""
        if not self.answers:
            md("**In short.** No cell has control results yet, so the question has no answer yet.")
            return
        md("**In short.** " + " ".join(
            f"On {cell_name(a.dataset, a.backbone)}: {a.verdict}"
            + "".join(f"; but {n}" for n in a.notable) + "." for a in self.answers)
           + (" " + chance_note(self.family) if any(a.notable for a in self.answers) else "")
           + " The rule and the evidence follow in *The answer, data set by data set*, below.")

    def key_results(self) -> None:
        """The answer per cell."""
        key_results([f"{cell_name(a.dataset, a.backbone)}: {a.verdict}."
                     + "".join(f" Worth noting: {n}." for n in a.notable) for a in self.answers]
                    or ["No cell has control results yet, so the question has no answer yet."])
