"""Chapter 10: the report card, each claim of the abstract with its verdict and evidence."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from msvp import stats
from msvp.stats import CONVERGENCE_TOL_PP, LEVEL, MARGIN_PP
from msvp.verdicts import (
    planned_pairs,
)

from .chapter import Page, key_results, md, table
from .costs import accounting
from .names import (
    CONCAT,
    MAIN,
)
from .sections import paired_for_reading, paired_rows, shared_noise_md, status_md
from .tables import backbone_contrasts, bound_figure, caveat_md, long_budget_table, margin_md, pooling_table, power_table, report_card
from .words import (
    PLAIN_CLAIMS,
    capital,
    join,
)

ROOT = Path(__file__).resolve().parents[2]   # the checkout: book/_lib/card.py


def plain_claims(card: pd.DataFrame) -> str:
    """Each claim of the report card with its verdict in plain words, before the table of evidence."""
    lines = []
    for r in card.itertuples():
        claim = str(r.claim).split(" (")[0]
        words = PLAIN_CLAIMS.get(str(r.verdict), f"its verdict so far is *{r.verdict}*")
        if figure := bound_figure(str(r.claim), str(getattr(r, "measured", ""))):   # a bound: by how much
            words += f" ({figure})"
        lines.append(f"- *{claim[:1].upper()}{claim[1:]}*: {words}.")
    return "**In plain words.** The claims of the abstract, one by one:\n\n" + "\n".join(lines)


def cells_table(p: pd.DataFrame) -> pd.DataFrame:
    """Every cell × reading of a paired table, for reading: both intervals, McNemar, Holm, verdict."""
    return paired_for_reading(p, with_dataset=True)


def show_cells(p: pd.DataFrame) -> None:
    if p.empty:
        md("No paired results yet.")
    else:
        table(cells_table(p))
        md(shared_noise_md(p))


def repo_url() -> tuple[str, str] | None:
    """The repository named in _config.yml (the one place that names it), if this is a checkout."""
    try:
        import yaml

        repo = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
        return repo["url"].rstrip("/"), repo.get("branch") or "main"
    except (OSError, KeyError, TypeError, ImportError):
        return None


def code_link(obj) -> str:
    """A Markdown link to the lines of a function on the repository (computed when the page runs)."""
    import inspect

    lines, start = inspect.getsourcelines(obj)
    path = Path(inspect.getsourcefile(obj)).resolve().relative_to(ROOT).as_posix()
    name = f"`{obj.__module__.split('.')[-1]}.{obj.__name__}`"
    repo = repo_url()
    if not repo:
        return f"{name} ({path}, line {start})"
    url, branch = repo
    return f"[{name}]({url}/blob/{branch}/{path}#L{start}-L{start + len(lines) - 1})"


def rules_table() -> pd.DataFrame:
    """Each statistical rule with the function that applies it (linked)."""
    return pd.DataFrame([
        ("pairing", "runs are paired only with the same training code, device class, threads, precision "
         "and test set", stats.check_pair),
        ("t-interval", "mean of the per-seed differences ± t quantile × standard error, seeds only", stats.t_estimate),
        ("seed × image interval", "adds the shared test-image noise (a bootstrap over test images) to the "
         "seed noise; the verdict's interval where per-image records exist", stats.seed_image_estimate),
        ("McNemar per seed", "exact test on the images exactly one model gets right; a diagnostic", stats.mcnemar_p),
        ("convergence caveat", f"baseline validation accuracy rose > {CONVERGENCE_TOL_PP:g} pp over its last two "
         "epochs: a caveat beside the verdict, with that rise and the last learning rate", stats.converged),
        ("Holm families", "one per comparison (treatment − control) over every cell where it ran, on every page",
         stats.comparison_family),
        ("Holm", "step-down correction within a family", stats.holm),
        ("detectable gain", f"smallest gain the cell's test finds with {100 * stats.POWER:.0f} % power (noncentral t)",
         stats.Estimate.detectable),
        ("verdict", f"improves/hurts if Holm p < {1 - LEVEL:.2f}; equivalent if Holm-corrected TOST within "
         f"±{MARGIN_PP:g} pp; else inconclusive", stats.cell_verdict),
        ("pooled gain", "fixed effect (cells weighted equally) decides; random effects shown beside",
         stats.fixed_effect),
        ("claims across cells", "a pooled effect or a contrast with its own interval", stats.contrast_verdict),
    ], columns=["rule", "in one line", "code"]).assign(code=lambda d: [code_link(f) for f in d.code])


class ReportCard(Page):
    """Chapter 10: the claims of the abstract with their verdicts, and the statistics behind them."""

    def __init__(self, profile: str, results_dir, data_root="../data"):
        super().__init__(profile, results_dir, data_root)
        self.paired = paired_rows(self.df)                     # both readings
        self.main = self.paired[self.paired.treatment == MAIN] if len(self.paired) else self.paired
        self.plan = planned_pairs(profile)
        params, compute, _ = accounting(results_dir, profile=profile)
        self.card = report_card(self.main, params, compute, plan=self.plan)

    def verdicts(self) -> None:
        md(plain_claims(self.card))      # the verdicts in plain words first, then the runs and the statistics
        md(status_md(self.profile, self.df, self.states))
        table(self.card, bold="verdict")
        md(caveat_md(self.paired, long_budget_table(self.results_dir, self.df, self.profile)[1]))

    def rules(self) -> None:
        table(rules_table())

    def margins(self) -> None:
        md(margin_md(self.df))

    def power(self) -> None:
        table(power_table(self.paired, self.plan))

    def pooling(self) -> None:
        readings = {"MSVP add/full − baseline": MAIN, "MSVP concat/full − baseline": CONCAT}
        table(pooling_table({r: self.paired[self.paired.treatment == t] for r, t in readings.items()}))

    def cells(self) -> None:
        show_cells(self.paired)

    def contrasts(self) -> None:
        table(backbone_contrasts(self.main, self.plan))

    def key_results(self) -> None:
        """How many claims the runs back, contradict or cannot decide yet."""
        groups: dict[str, list[str]] = {}
        for r in self.card.itertuples():
            groups.setdefault(PLAIN_CLAIMS.get(str(r.verdict), f"verdict *{r.verdict}*"), []).append(
                f"*{str(r.claim).split(' (')[0]}*")
        key_results([f"{capital(join(names))}: {_plural_it(words, len(names))}." for words, names in groups.items()]
                    + ["Every verdict is computed from the result files when the page runs; the rules above decide "
                       "it, and chapters 3–9 show the evidence."])


def _plural_it(words: str, n: int) -> str:
    """'the evidence here does not back it' for one claim, '... back them' for several."""
    return words if n == 1 else re.sub(r"\bit\b", "them", words)
