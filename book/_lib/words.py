"""The book's wording: numbers, verdicts, data and hardware labels, and Markdown tables, so that a
reader meets one phrase for one thing on every page."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from msvp.data import provenance_label
from msvp.datasets import DATASETS
from msvp.stats import LEVEL, MARGIN_PP, MIN_PAIRS_EQUIVALENT, NOT_ENOUGH_PAIRS, signed
from msvp.stats import signed as pp  # '+0.12', '−0.05'
from msvp.verdicts import still_improving

from .names import BACKBONE_ORDER, backbone_title, rank


def fmt_mcnemar(ps) -> str:
    return ", ".join(f"{x:.2g}" for x in ps) if len(ps) else "–"


def caveat_detail(row, full: bool = True) -> str:
    """'still improving (val. acc. +1.49 pp over its last 2 epochs; last learning rate 2.4e-05, 2.4 %
    of the first)': the baseline's measured validation rise over its last two epochs and the learning
    rate of its schedule's last epoch, so a reader can tell an annealing rise (learning rate near 0)
    from an unfinished run; ``full`` adds the share of the first learning rate. Empty when the
    baseline converged or was not checked."""
    if not still_improving(row):
        return ""
    rise = float(getattr(row, "val_rise_pp", np.nan))
    if not np.isfinite(rise):
        return "too short to show convergence (fewer than 3 epochs)"
    first, last = float(getattr(row, "lr_first", np.nan)), float(getattr(row, "lr_last", np.nan))
    share = f", {100 * last / first:.1f} % of the first" if full and np.isfinite(first) and first > 0 else ""
    lr = f"; last learning rate {last:.1e}{share}" if np.isfinite(last) else ""
    return f"still improving (val. acc. {signed(rise)} pp over its last 2 epochs{lr})"


def caveat_text(row) -> str:
    """The convergence caveat printed beside a verdict, never instead of it (``caveat_detail``)."""
    detail = caveat_detail(row, full=False)
    return f"caveat: baseline {detail}" if detail else ""


def verdict_label(row, margin_pp: float = MARGIN_PP) -> str:
    """The one wording of a cell's verdict, used by every table and sentence of the book (report card,
    experiment chapters, controls), so that a reader meets the same phrase everywhere. It names what the
    verdict rests on: the margin and TOST p for 'equivalent', and, beside any verdict, the caveat of a
    baseline still improving at the end of its schedule (``caveat_text``). Fewer than 2 pairs: 'not
    enough pairs yet'."""
    if row.n_pairs < 2:
        return NOT_ENOUGH_PAIRS
    text = str(row.verdict)
    if row.verdict == "equivalent":
        # the Holm-adjusted TOST p decided it: shown, since the 95 % interval beside it may reach past ±m
        p_tost = float(getattr(row, "p_tost_holm", np.nan))
        # TOST reads a 90 % interval; where the 95 % one printed beside it reaches past ±m, say so
        wider = "" if _interval_within(row, margin_pp) else " by TOST, which reads a 90 % interval"
        p_text = f", Holm TOST p = {p_tost:.2g}" if np.isfinite(p_tost) else ""
        text = f"equivalent (within ±{margin_pp:g} pp{wider}{p_text})"
    elif row.verdict == "inconclusive" and row.n_pairs < MIN_PAIRS_EQUIVALENT and _tost_alone(row):
        # TOST alone would pass, but 2 pairs are too few to call an effect absent (stats.MIN_PAIRS_EQUIVALENT)
        text = (f"inconclusive (TOST alone puts it within ±{margin_pp:g} pp, but equivalence needs "
                f"{MIN_PAIRS_EQUIVALENT} pairs; this cell has {int(row.n_pairs)})")
    elif row.verdict == "inconclusive" and _interval_within(row, margin_pp):
        # the interval sits in the band, yet TOST after Holm's correction over the family does not pass
        text = (f"inconclusive (its 95 % interval lies within ±{margin_pp:g} pp, but not by enough for TOST "
                f"after the Holm correction: p = {float(getattr(row, 'p_tost_holm', np.nan)):.2g})")
    elif row.verdict == "inconclusive" and _interval_excludes_zero(row):
        # the interval beside it is not corrected for the family; the verdict is, so say why they differ
        text = (f"inconclusive (the unadjusted 95 % interval excludes 0, but the difference does not survive "
                f"the Holm correction: p = {float(row.p_holm):.2g})")
    elif row.verdict in ("improves", "hurts") and _interval_within(row, margin_pp):
        # significant yet inside the band the book calls too small to matter: a reader must see both
        text = f"{row.verdict}, by less than the margin (its 95 % interval lies within ±{margin_pp:g} pp)"
    caveat = caveat_text(row)
    return f"{text}; {caveat}" if caveat else text


def _tost_alone(row, alpha: float = 1 - LEVEL) -> bool:
    """Whether the cell's own TOST p, before any Holm correction, is below alpha."""
    return float(getattr(row, "p_tost", np.nan)) < alpha


def _interval_within(row, margin_pp: float) -> bool:
    lo, hi = (float(getattr(row, k, np.nan)) for k in ("lo_pp", "hi_pp"))
    return np.isfinite(lo) and np.isfinite(hi) and -margin_pp < lo and hi < margin_pp


def _interval_excludes_zero(row) -> bool:
    lo, hi, p = (float(getattr(row, k, np.nan)) for k in ("lo_pp", "hi_pp", "p_holm"))
    return np.isfinite(p) and np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0)


def cell_text(v) -> str:
    """A table cell for readers: no NaN or None (a dash), thousands separators on integers, no '|'."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame, bold: str | None = None) -> str:
    """A DataFrame as a Markdown table (cells may hold Markdown links); ``bold`` column in bold.
    Missing values show as a dash, integers with thousands separators, booleans as yes/no."""
    lines = ["| " + " | ".join(cell_text(c) for c in df.columns) + " |", "|" + "---|" * len(df.columns)]
    for row in df.itertuples(index=False):
        cells = [f"**{cell_text(v)}**" if c == bold and cell_text(v) != "–" else cell_text(v)
                 for c, v in zip(df.columns, row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def span(values) -> str:
    v = sorted({int(x) for x in values if x is not None and not pd.isna(x)})
    if not v:
        return "?"
    return f"{v[0]:,}" if len(v) == 1 else f"{v[0]:,}–{v[-1]:,}"


def param_word(n: int) -> str:
    return f"{n:,} parameter{'s' if n != 1 else ''}"


def plural_images(n: float) -> str:
    return f"{n:,.0f} image{'' if round(n) == 1 else 's'}"


def data_title(df: pd.DataFrame, dataset: str) -> str:
    """'CIFAR-10 (offline copy)' where the runs trained on a data copy that is not the complete set,
    else the plain title: a short label for sentences that name several data sets."""
    variants = set(df.loc[df.dataset == dataset, "data_variant"].dropna()) if "data_variant" in df else set()
    odd = sorted(v for v in variants if v != "complete")
    return DATASETS[dataset].title + (f" ({odd[0].replace('-', ' ')})" if odd else "")


def dataset_label(df: pd.DataFrame, dataset: str) -> str:
    """Data-set title with the variant and image counts that produced the rows (e.g. the offline CIFAR-10 copy)."""
    rows = df[df.dataset == dataset]
    if rows.empty:
        return DATASETS[dataset].title
    labels = {provenance_label({"dataset": dataset, "variant": r.data_variant, "n_train": int(r.data_n_train),
                                "n_test": int(r.data_n_test)}) for r in rows.itertuples()}
    return "; ".join(sorted(labels))


def training_label(df: pd.DataFrame, dataset: str) -> str:
    """What the runs of ``dataset`` trained, validated and tested on, and which copy of the data:
    e.g. 'MNIST (complete copy): 54,000 training, 6,000 validation and 10,000 test images'."""
    rows = df[df.dataset == dataset]
    title = DATASETS[dataset].title
    if rows.empty:
        return title
    copies = []
    for (variant, n_tr, n_te), _ in rows.groupby(["data_variant", "data_n_train", "data_n_test"], dropna=False):
        if variant == "complete":
            copies.append("complete copy")
        else:
            spec = DATASETS[dataset]
            copies.append(f"{str(variant).replace('-', ' ')}: {int(n_tr):,} of {sum(spec.train_counts):,} training and "
                          f"{int(n_te):,} of {sum(spec.test_counts):,} test images in the file")
    return (f"{title} ({'; '.join(copies)}): {span(rows.n_train)} training, {span(rows.n_val)} validation "
            f"and {span(rows.n_test)} test images")


def hardware_label(df: pd.DataFrame) -> str:
    """The machines, threads, precision and torch behind ``df``, e.g. 'AMD EPYC CPU, 1 thread per run,
    bf16 autocast; torch 2.14.1'. One thread count per run, whatever the machine's own core count. Where
    one machine ran several precisions, each names its backbones: '..., 1 thread per run: fp32 (CNN),
    bf16 autocast (ViT-Tiny)'."""
    if df.empty or "hardware" not in df:
        return "–"
    parts = []
    cols = ["hardware", "device_class", "threads"]
    for (hw, dev, threads), g in df.groupby([df[c].astype(str) for c in cols]):
        name = hw.split(" (")[0]
        if dev == "cpu":
            t = int(float(threads)) if threads not in ("None", "nan") else None
            name += " CPU" + (f", {t} thread{'s' if t != 1 else ''} per run" if t else "")
        parts.append(name + _precisions(g))
    torch_versions = ", ".join(sorted({str(t).split("+")[0] for t in df.torch.dropna()}))
    return "; ".join(parts) + (f"; torch {torch_versions}" if torch_versions else "")


PRECISION_WORDS = {"bf16": "bf16 autocast", "fp32": "fp32"}
"""A run's recorded arithmetic in the book's words."""


def _precisions(runs: pd.DataFrame) -> str:
    """', bf16 autocast' for one precision; ': fp32 (CNN), bf16 autocast (ViT-Tiny)' for several."""
    words = PRECISION_WORDS
    known = runs[runs.precision.astype(str).isin(words)] if "precision" in runs else runs.iloc[:0]
    nets = {p: sorted(set(g.backbone), key=lambda b: rank(BACKBONE_ORDER, b))
            for p, g in known.groupby(known.precision.astype(str))}
    if len(nets) <= 1:
        return "".join(f", {words[p]}" for p in nets)
    order = sorted(nets, key=lambda p: rank(BACKBONE_ORDER, nets[p][0]))    # the CNN's precision first
    return ": " + ", ".join(f"{words[p]} ({', '.join(backbone_title(b) for b in nets[p])})" for p in order)


CLAIM_MEANING = {
    "supported": f"the {LEVEL:.0%} interval of the mean gain over the cells lies above 0",
    "not supported": f"the {LEVEL:.0%} interval of the mean gain over the cells lies below 0, or that gain "
                     f"is shown equivalent to 0 within ±{MARGIN_PP:g} pp",
    "inconclusive": f"the {LEVEL:.0%} interval of the mean gain over the cells straddles 0 and the gain is "
                    f"not shown within ±{MARGIN_PP:g} pp of 0",
}
"""What a verdict of the accuracy claim means (the rule of ``contrast_verdict`` applied to
``fixed_effect``), for the front page."""


def pct(x: float, digits: int = 2) -> str:
    return f"{100 * x:.{digits}f} %"


def duration(seconds: float) -> str:
    """12 s, 3.4 min, 2.1 h."""
    if not np.isfinite(seconds):
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def join(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def capital(text: str) -> str:
    """'*adds < 0.02 %*' -> '*Adds < 0.02 %*': the first letter upper-case, whatever Markdown precedes it."""
    i = next((k for k, ch in enumerate(text) if ch.isalpha()), len(text))
    return text[:i] + text[i:i + 1].upper() + text[i + 1:]


def check_mark(ok: bool) -> str:
    return "✓ yes" if ok else "✗ NO"


def grid_command(profile: str, **only) -> str:
    spec = ",".join(f"{k}={v}" for k, v in only.items())
    if "|" in spec:
        spec = f"'{spec}'"   # the shell would read | as a pipe
    return f"python -m msvp grid --profile {profile}" + (f" --only {spec}" if spec else "")


def machine_label(env: dict) -> str:
    """'AMD EPYC CPU, 2 threads; torch 2.14.1' from a record's environment."""
    hardware = str(env.get("hardware", "?"))
    # older records name the threads only inside the hardware string: 'AMD EPYC (2 threads)'
    found = re.search(r"\((\d+) threads?\)", hardware)
    threads = env.get("threads") or (int(found.group(1)) if found else None)
    name = hardware.split(" (")[0]
    if env.get("device_class", "cpu") == "cpu":
        name += " CPU" + (f", {threads} thread{'s' if threads != 1 else ''}" if threads else "")
    return name + f"; torch {str(env.get('torch', '?')).split('+')[0]}"


def claim_md(claim: tuple[str, str]) -> str:
    verdict, detail = claim
    return f"**Verdict: {verdict}.** {detail[0].upper() + detail[1:] if detail else ''}."


def delta_text(r, pairs: bool = False) -> str:
    """'+0.12 [−0.05, +0.29]' (pp, the interval the verdict uses), with the number of pairs if asked."""
    n = f"{plural(int(r.n_pairs), 'pair')}" if pairs else ""
    if not np.isfinite(r.lo_pp):
        return f"{pp(r.diff_pp)} ({n + ', ' if n else ''}no interval)"
    return f"{pp(r.diff_pp)} [{pp(r.lo_pp)}, {pp(r.hi_pp)}]" + (f" ({n})" if n else "")


DATA_WORDS = {"mnist": "handwritten digits", "fashion_mnist": "photos of clothing", "cifar10": "small colour photos"}
"""What each data set shows, for the landing page's plain-words answer."""


PLAIN_VERDICTS = {
    "improves": "MSVP is better, beyond seed-to-seed noise",
    "hurts": "MSVP is worse, beyond seed-to-seed noise",
    "equivalent": f"any difference is shown to be smaller than {MARGIN_PP:g} pp, the size fixed in advance as too "
                  f"small to matter",
    "inconclusive": "the runs cannot tell yet whether MSVP helps or hurts",
}
"""A cell's verdict in words a student can read; the statistics behind it follow further down."""

INCONCLUSIVE_BUT_APART = ("the runs point to a {way}, but not clearly enough once the other comparisons of its family "
                          "are taken into account (Holm), so they cannot tell yet whether MSVP helps or hurts")
"""'Inconclusive' in plain words where the unadjusted interval excludes 0 but Holm's p does not pass."""

SHORT_VERDICTS = {"improves": "better, beyond noise", "hurts": "worse, beyond noise",
                  "equivalent": "too small to matter", "inconclusive": "undecided"}
"""A cell's verdict in two or three words, for a list of cells in one sentence."""


def short_verdict(r) -> str:
    """``SHORT_VERDICTS`` for one row, saying so where a change beyond noise is still inside the margin."""
    words = SHORT_VERDICTS.get(str(r.verdict), str(r.verdict))
    small = str(r.verdict) in ("improves", "hurts") and _interval_within(r, MARGIN_PP)
    if str(r.verdict) == "inconclusive" and _interval_excludes_zero(r):
        return f"{words} — its interval excludes 0, but not after Holm's correction"
    return f"{words}, but too small to matter" if small else words


PLAIN_CLAIMS = {
    "supported": "the evidence here backs it",
    "not supported": "the evidence here does not back it",
    "inconclusive": "the evidence here cannot decide it yet",
    NOT_ENOUGH_PAIRS: "too few runs to judge it yet",
    "not run here": "not tested yet: the runs it needs have not been trained here",
}
"""A claim's verdict (``msvp.verdicts``) in words a student can read."""


CAVEAT_WORDS = "the baseline was still improving when training stopped"


def plain_verdict(r, caveat: bool = True) -> str:
    """One cell's verdict in plain words, with the convergence caveat where the baseline still improved."""
    words = PLAIN_VERDICTS.get(str(r.verdict), "there are too few runs to tell yet")
    if str(r.verdict) == "inconclusive" and _interval_excludes_zero(r):
        words = INCONCLUSIVE_BUT_APART.format(way="loss" if float(r.hi_pp) < 0 else "gain")
    elif str(r.verdict) in ("improves", "hurts") and _interval_within(r, MARGIN_PP):
        words += f", but by less than the {MARGIN_PP:g} pp fixed in advance as too small to matter"
    return words + (f" ({CAVEAT_WORDS})" if caveat and still_improving(r) else "")


def cells_phrase(names: list[str], total: int, unit: str = "cell") -> str:
    """'on MNIST and CIFAR-10', 'in every cell', 'on all 3 data sets', 'in 4 of the 9 cells'."""
    if len(names) == total and total > 1:
        return "in every cell" if unit == "cell" else f"on all {total} {unit}s"
    return f"on {join(names)}" if len(names) <= 3 else f"in {len(names)} of the {total} {unit}s"
