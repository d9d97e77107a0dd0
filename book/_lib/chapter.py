"""One way to write a chapter: a page object built from one ``View`` of the profile's results, whose
methods each show one section; the notebook calls them under its own Markdown headings (headings
printed by code would not enter the page's table of contents)."""
from __future__ import annotations

import matplotlib
import pandas as pd

from . import figures
from .view import View
from .words import markdown_table


def setup_plots() -> None:
    figures.style()
    matplotlib.rcParams["figure.max_open_warning"] = 0
    pd.set_option("display.width", 78)


def md(text: str) -> None:
    """Show Markdown (it wraps to the page; printed text would scroll sideways); nothing if empty."""
    from IPython.display import Markdown, display

    if text:
        display(Markdown(text))


def table(df: pd.DataFrame, bold: str | None = None) -> None:
    md(markdown_table(df, bold))


def figure(fig) -> None:
    """Show a figure once (the inline backend would show it again at the end of the cell)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)


def key_results(lines) -> None:
    """A chapter's closing summary: one bullet per computed line (empty lines are dropped)."""
    md("\n".join(f"- {line}" for line in lines if line))


class Page:
    """A chapter of the book over one profile's results: ``view`` (records, runs, states, read once),
    and ``df``/``states`` for short. It never trains: missing runs show as not run yet."""

    def __init__(self, profile: str, results_dir, data_root="../data"):
        setup_plots()
        self.profile, self.results_dir, self.data_root = profile, results_dir, data_root
        self.view = View(profile, results_dir)
        self.df, self.states = self.view.df, self.view.states
