"""The book as a student meets it: the glossary and its links, the plain-words answer before the
statistics, progress lines for cells still training, and a non-empty "On this page" on every page."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from _lib import card, front, sections  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
GLOSSARY = BOOK / "glossary.md"
sys.path.insert(0, str(ROOT / "tools"))
import check_html  # noqa: E402

# glossary term -> how the prose names it (first use on a page must be a {term} link)
TERMS = {
    "paired seeds": r"paired seeds?|seed pairs?",
    "TOST": r"\bTOST\b",
    "equivalence margin": r"equivalence margin",
    "Holm": r"\bHolm\b",
    "seed × image interval": r"seed × image",
    "convergence caveat": r"convergence (?:caveat|gate)",
    "fingerprint": r"\bfingerprints?\b",
    "profile": r"\bprofiles?\b",
}
ROLE = re.compile(r"\{term\}`([^`]*)`")


def glossary_terms() -> set[str]:
    """The terms defined in book/glossary.md: the unindented lines inside its glossary directives."""
    terms = set()
    for block in re.findall(r"```\{glossary\}\n(.*?)```", GLOSSARY.read_text(), re.S):
        terms |= {line.strip() for line in block.splitlines() if line.strip() and not line.startswith(" ")}
    return terms


def role_target(text: str) -> str:
    m = re.match(r".*<(.+)>$", text)
    return (m.group(1) if m else text).strip()


def prose(path: Path) -> str:
    """The Markdown a reader sees on a page, in order: Markdown cells only, without fenced code."""
    import jupytext

    cells = jupytext.read(path, fmt="py:percent").cells
    text = "\n\n".join(c.source for c in cells if c.cell_type == "markdown")
    return re.sub(r"^( *)```.*?^\1```", "", text, flags=re.M | re.S)


def unlinked_first_uses(text: str, terms: dict = TERMS) -> list[str]:
    """Glossary terms whose first mention in ``text`` is not inside a {term} role (inline code, such as
    `PROFILE`, is not a mention)."""
    roles = [m.span() for m in ROLE.finditer(text)]
    code = [m.span() for m in re.finditer(r"(?<!\})`[^`\n]*`", text) if not any(a <= m.start() < b for a, b in roles)]
    out = []
    for term, pattern in terms.items():
        first = next((m for m in re.finditer(pattern, text) if not any(a <= m.start() < b for a, b in code)), None)
        if first and not any(a <= first.start() < b for a, b in roles):
            out.append(f"{term} ({text[max(0, first.start() - 30):first.end() + 10]!r})")
    return out


PAGES = [p for p in sorted(BOOK.glob("*.py"))]


# ---- the glossary ----------------------------------------------------------------------------------

def test_the_glossary_defines_every_term_the_issue_names():
    assert set(TERMS) <= glossary_terms(), set(TERMS) - glossary_terms()


def test_every_term_link_points_to_a_defined_term():
    sources = {p.name: p.read_text() for p in PAGES} | {p.name: p.read_text() for p in (ROOT / "book" / "_lib").glob("*.py")}
    defined = {t.lower() for t in glossary_terms()}
    missing = [(name, role_target(t)) for name, text in sources.items() for t in ROLE.findall(text)
               if role_target(t).lower() not in defined]
    assert not missing, missing


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_first_use_of_each_term_links_the_glossary(path):
    bad = unlinked_first_uses(prose(path))
    assert not bad, f"{path.name}: first use not linked to the glossary: {bad}"


# terms checked on the pages that introduce them (other pages name bf16 in passing, or a profile `bf16`)
PAGE_TERMS = {
    "protocol.py": {"bf16": r"\bbf16\b", "autocast": r"\bautocast\b", "channels_last": r"\bchannels_last\b",
                    "Welch interval": r"\bWelch\b"},
    "13_scarce.py": {"bf16": r"\bbf16\b", "autocast": r"\bautocast\b"},
    "03_mnist.py": {"percentage point": r"percentage points?|\bpp\b"},
}


@pytest.mark.parametrize("name", sorted(PAGE_TERMS))
def test_pages_link_the_terms_they_introduce(name):
    assert set(PAGE_TERMS[name]) <= glossary_terms()
    bad = unlinked_first_uses(prose(BOOK / name), PAGE_TERMS[name])
    assert not bad, f"{name}: first use not linked to the glossary: {bad}"


def test_the_link_check_finds_an_unlinked_term():
    bad = unlinked_first_uses("The `PROFILE` and the {term}`profile`; then TOST.")
    assert len(bad) == 1 and bad[0].startswith("TOST (")
    assert unlinked_first_uses("A {term}`TOST <TOST>` test, then TOST again.") == []


# ---- plain words first -----------------------------------------------------------------------------

def cells(**kw):
    base = dict(dataset=["mnist", "fashion_mnist", "cifar10"], backbone=["cnn"] * 3, diff_pp=[0.02, 0.13, -0.03],
                n_pairs=[5, 5, 5], verdict=["equivalent", "equivalent", "inconclusive"], converged=[True, True, False])
    return pd.DataFrame({**base, **kw})


def test_plain_answer_says_what_was_trained_changed_and_how_sure():
    s = front.plain_answer("cpu", None, cells(), "not supported")
    assert s.startswith("**In plain words.** For the abstract's claim that MSVP improves accuracy, **the evidence "
                        "here does not back it**. We trained a CNN to recognise MNIST (handwritten digits)")
    assert "5 times with and 5 times without" in s
    assert "+0.02 {term}`percentage points (pp) <percentage point>` on MNIST, +0.13 pp on Fashion-MNIST" in s
    assert "On MNIST and Fashion-MNIST any difference is shown to be smaller than 0.5 pp" in s
    assert "on CIFAR-10 the runs cannot tell yet whether MSVP helps or hurts (the baseline was still improving" in s
    for word in ("TOST", "Holm", "pooled", "random effects"):
        assert word not in s, "the statistics come after the plain words"


def test_plain_answer_gives_each_change_with_its_interval():
    s = front.plain_answer("cpu", None, cells(lo_pp=[-0.1, -0.03, -0.5], hi_pp=[0.14, 0.29, float("nan")]),
                           "not supported")
    assert "+0.02 {term}`percentage points (pp) <percentage point>` [−0.10, +0.14] on MNIST" in s
    assert "+0.13 pp [−0.03, +0.29] on Fashion-MNIST and −0.03 pp on CIFAR-10 (in brackets, each cell's 95% interval)" in s


def test_plain_answer_groups_cells_by_verdict_and_names_each_caveat():
    s = front.plain_answer("cpu", None, cells(verdict=["equivalent"] * 3), "not supported")
    assert ("On all 3 data sets any difference is shown to be smaller than 0.5 pp, the size fixed in advance as too "
            "small to matter (on CIFAR-10 the baseline was still improving when training stopped).") in s


def test_plain_answer_summarises_many_cells_and_copes_with_none():
    nine = cells(dataset=["mnist", "fashion_mnist", "cifar10"] * 3, backbone=["cnn"] * 3 + ["vit"] * 3 + ["resnet18"] * 3,
                 diff_pp=[0.1, -0.2, 0.3] * 3, n_pairs=[1] * 9, verdict=["not enough pairs yet"] * 9,
                 converged=[None] * 9)
    s = front.plain_answer("smoke", None, nine, "not enough pairs yet")
    assert "a CNN, a ResNet-18 and a ViT-Tiny" in s and "once with and once without" in s
    assert ("amounts from −0.20 {term}`percentage points (pp) <percentage point>` (Fashion-MNIST · CNN) "
            "to +0.30 pp (CIFAR-10 · CNN) across the 9 cells, each from one pair so far") in s
    assert "In every cell there are too few runs" in s
    assert "no answer yet" in front.plain_answer("cpu", None, nine.iloc[:0], "not run here")


def test_plain_answer_never_ends_its_range_on_a_one_pair_cell():
    """A one-pair value has no interval: it is named apart, not as an end of the range of the others."""
    five = cells(dataset=["mnist", "fashion_mnist", "cifar10", "fashion_mnist", "cifar10"],
                 backbone=["cnn"] * 3 + ["vit"] * 2, diff_pp=[0.02, 0.13, -0.03, -0.43, -0.37],
                 n_pairs=[5, 5, 5, 1, 3], verdict=["equivalent"] * 3 + ["not enough pairs yet", "inconclusive"],
                 converged=[True] * 5, lo_pp=[-0.1, -0.03, -0.3, float("nan"), -0.95],
                 hi_pp=[0.1, 0.29, 0.3, float("nan"), 0.22])
    s = front.plain_answer("cpu", None, five, "not supported")
    assert ("amounts from −0.37 {term}`percentage points (pp) <percentage point>` [−0.95, +0.22] (CIFAR-10 · "
            "ViT-Tiny) to +0.13 pp [−0.03, +0.29] (Fashion-MNIST · CNN) across the 4 cells with two or more pairs "
            "(in brackets, each cell's 95% interval); and by −0.43 pp on Fashion-MNIST · ViT-Tiny, from one pair "
            "so far.") in s


def test_report_card_gives_each_claim_in_plain_words():
    from _lib.tables import COMPUTE_CLAIM, PARAMS_CLAIM

    claims = pd.DataFrame({"claim": ["MSVP improves accuracy (add fusion, full scales)", PARAMS_CLAIM, COMPUTE_CLAIM,
                                     "largest gains on transformers (ViT)"],
                           "verdict": ["not supported", "not supported", "supported", "not run here"],
                           "measured": ["mean gain +0.04", "largest overhead 0.0201 % (CNN, 3 × 32 × 32: 243 / 1,207,786); "
                                        "1 of 6 backbone × input pairs reach ≥ 0.02 % (CNN, 3 × 32 × 32: 243 "
                                        "against 241.7 allowed)",
                                        "MSVP (add fusion) adds at most 76,800 FLOPs per image = 0.073 % of the "
                                        "backbone's conv/matmul FLOPs (CNN, 3 × 32 × 32)", "no paired results"]})
    s = card.plain_claims(claims)
    assert "- *MSVP improves accuracy*: the evidence here does not back it." in s
    # a bound says by how much it holds or fails; a claim that is not a bound gets no figure
    assert ("- *Adds < 0.02 % parameters*: the evidence here does not back it (largest overhead 0.0201 %; an exact "
            "count: 243 parameters on the CNN, 3 × 32 × 32, where 241.7 are allowed).") in s
    assert ("- *Negligible compute overhead*: the evidence here backs it (MSVP adds at most 0.073 % of the "
            "backbone's FLOPs).") in s
    assert "- *Largest gains on transformers*: not tested yet" in s and "no paired results" not in s


# ---- progress instead of a wall of dashes ----------------------------------------------------------

def states(counts: dict):
    rows = [{"dataset": "cifar10", "backbone": b, "variant": "baseline", "seed": i, "state": s}
            for (b, s), n in counts.items() for i in range(n)]
    return pd.DataFrame(rows)


def test_progress_line_per_backbone_with_the_command_that_trains_the_rest():
    s = sections.progress_md("cpu", states({("cnn", "done"): 4, ("vit", "missing"): 3, ("vit", "done"): 1}))
    lines = s.splitlines()
    assert lines[0] == "- **CNN**: 4 of 4 planned runs trained."
    assert lines[1] == ("- **ViT-Tiny**: 1 of 4 planned runs trained; `python -m msvp grid --profile cpu --only "
                        "backbone=vit` trains the other 3.")
    assert "ResNet-18" in lines[2] and "--profile paper" in lines[2]


def test_results_table_lists_only_cells_with_runs(monkeypatch):
    empty = pd.DataFrame(columns=["dataset", "backbone", "variant", "test_acc"])
    monkeypatch.setattr(sections, "paired_rows", lambda df: pd.DataFrame(columns=["dataset", "backbone", "treatment"]))
    t = sections.results_table("cpu", empty, links=False)
    assert t.empty and t.attrs["cells"] == []
    runs = pd.DataFrame({"dataset": ["mnist", "mnist"], "backbone": ["cnn", "cnn"],
                         "variant": ["baseline", "msvp-add-full"], "test_acc": [0.99, 0.991]})
    t = sections.results_table("cpu", runs, links=False)
    assert list(t["data set · backbone"]) == ["MNIST · CNN", ""] and t.attrs["cells"] == [("mnist", "cnn")] * 2
    assert set(t["MSVP − baseline (pp), 95 % CI"]) == {"no paired seeds"}
    # a cell still training says how many of the pairs its profile plans exist
    assert list(t.verdict) == ["not enough pairs yet (0 of 5 planned pairs done)",
                               "not enough pairs yet (0 of 3 planned pairs done)"]


# ---- "On this page" ----------------------------------------------------------------------------------

PAGE = """<html><body><div class="bd-sidebar-secondary"><nav id="pst-page-toc-nav" class="page-toc">{items}</nav>
</div><a href="#x">not in the list</a></body></html>"""
ENTRY = '<ul><li class="toc-h2"><a class="reference internal nav-link" href="#a">A</a></li></ul>'


def test_page_toc_check_fails_on_an_empty_list(tmp_path, monkeypatch):
    monkeypatch.setattr(check_html, "toc_files", lambda: ["book/a", "book/b"])
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "a.html").write_text(PAGE.format(items=ENTRY))
    (tmp_path / "book" / "b.html").write_text(PAGE.format(items=""))
    pages = {p: check_html.Page(p) for p in (tmp_path / "book").glob("*.html")}
    assert pages[tmp_path / "book" / "a.html"].toc_links == ["#a"]
    problems = check_html.page_toc_problems(pages, tmp_path)
    assert len(problems) == 1 and problems[0].startswith('book/b.html: its "On this page" list is empty')


BUILT = ROOT / "_build" / "html"


@pytest.mark.skipif(not (BUILT / "book").is_dir(), reason="no built book here (make book builds it, then checks "
                                                             "this in tools/check_html.py)")
def test_every_built_page_has_a_non_empty_page_toc():
    pages = {p: check_html.Page(p) for p in (BUILT / "book").glob("*.html")}
    assert not check_html.page_toc_problems(pages, BUILT)


def test_plain_answer_names_each_backbone_with_its_own_data_sets_and_runs():
    mixed = cells(dataset=["mnist", "fashion_mnist", "cifar10", "cifar10"], backbone=["cnn"] * 3 + ["vit"],
                  diff_pp=[0.02, 0.13, -0.03, -0.10], n_pairs=[5, 5, 5, 1], verdict=["equivalent"] * 3 + ["not enough pairs yet"],
                  converged=[True, True, False, False])
    s = front.plain_answer("cpu", None, mixed, "not supported")
    assert ("We trained a CNN to recognise MNIST (handwritten digits), Fashion-MNIST (photos of clothing) and CIFAR-10 "
            "(small colour photos), 5 times with and 5 times without MSVP's prompt, and a ViT-Tiny on CIFAR-10, once "
            "with and once without; each pair") in s
    assert "1–5 times" not in s and s.count("(small colour photos)") == 1


def test_several_claims_with_one_verdict_read_as_them():
    from _lib.card import _plural_it

    assert _plural_it("the evidence here does not back it", 1) == "the evidence here does not back it"
    assert _plural_it("the evidence here does not back it", 3) == "the evidence here does not back them"
    assert _plural_it("the evidence here cannot decide it yet", 2) == "the evidence here cannot decide them yet"
