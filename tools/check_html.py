#!/usr/bin/env python
"""Check the built book (_build/html) for what a reader would hit as broken.

1. every page of ``_toc.yml`` was built (``book/03_mnist`` -> ``book/03_mnist.html``);
2. no internal link points to a missing file or a missing ``#anchor``;
3. no page loads a remote script, except those listed in ALLOWED_REMOTE_SCRIPTS, each only on
   the pages that need it (MathJax only on pages that contain math);
4. no page loads a remote stylesheet (the theme ships all of its CSS in ``_static/``);
5. every ``<img src>`` is a file that exists (or an inline ``data:`` image, or an allowed badge);
6. the links that come from _config.yml agree with it: on every page of the toc the repository
   and issues buttons point to ``repository.url``; every notebook page has a Colab button for its
   own notebook in that repository at ``repository.branch``, the notebook exists, and its setup
   cell clones that same repository and branch (tools/colab_cell.py); no Colab link points
   elsewhere; the footer names ``msvp.__version__`` (tools/book_footer.py);
7. nothing a reader needs scrolls sideways at a 1280 px window: no line of a code block or of a
   text output is longer than MAX_CODE_CHARS characters (code blocks marked ``msvp-wrap`` wrap
   instead, see _static/msvp.css);
8. no notebook machinery on the page: no ``NBVAL_`` comment, no ``NaN``/``nan``/``None`` table
   cell, no stray object repr (``<... at 0x...>``), no reference to a design document readers
   don't have;
9. every page of the toc has a non-empty "On this page" list: its sections are Markdown headings
   of the page's own (a heading printed by a code cell renders as a rubric, which the list and the
   search index leave out).

Prints one line per problem and exits 1 if there is any. Usage::

    python tools/check_html.py [_build/html]
"""
from __future__ import annotations

import re
import sys
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from execute_notebooks import notebook_chapters, toc_files  # noqa: E402

# Remote scripts a page may load, and the condition under which it may. MathJax: MyST-NB /
# Sphinx add the CDN script to pages with math only (it will not render offline; the page
# still reads). Nothing else may come from the network.
ALLOWED_REMOTE_SCRIPTS = {
    "mathjax": (re.compile(r"^https://cdn\.jsdelivr\.net/npm/mathjax@3/es5/tex-(mml-)?(chtml|svg)\.js$"),
                lambda page: page.has_math),
}
# Remote images that may appear (none are needed; the launch buttons are theme icons).
ALLOWED_REMOTE_IMAGES = (
    re.compile(r"^https://colab\.research\.google\.com/assets/colab-badge\.svg$"),
)
# sphinx-book-theme / pydata-sphinx-theme write these placeholders; they are not links to pages
IGNORED_HREFS = {"#", ""}

MAX_CODE_CHARS = 73
"""Characters of a code or text-output line that fit without sideways scrolling at a 1280 px window:
sphinx-book-theme 1.3 gives a code box 672 px beside the page's table of contents, and 654 px inside
a collapsed "Show code" block; less 16 px of padding on each side, that leaves 622 px of 14 px
DejaVu Sans Mono at 8.43 px a character = 73 characters (measured in headless Chromium, 2026-11-30,
with each box's clientWidth and padding read by script)."""
WRAP_CLASS = "msvp-wrap"
MISSING_CELL = re.compile(r"^(NaN|nan|None|NaT|<NA>)$")
STRAY_REPR = re.compile(r"<[\w.]+ (object )?at 0x[0-9a-fA-F]+>|<torch\._C\.Generator")
MACHINERY = re.compile(r"NBVAL_|design\s*§")


class Page(HTMLParser):
    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.buttons: list[tuple[str, set[str]]] = []    # (href, classes) of every <a> with a class
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.images: list[str] = []
        self.has_math = False
        self.pres: list[tuple[str, bool]] = []        # (text, wraps) of every <pre>
        self.cells: list[str] = []                    # text of every table cell
        self.text: list[str] = []                     # visible text of the article
        self.toc_links: list[str] = []                # href of every entry of "On this page"
        self._stack: list[tuple[str, set[str]]] = []
        self._pre: list[str] | None = None
        self._cell: list[str] | None = None
        self._skip = 0
        self.feed(path.read_text(encoding="utf-8", errors="replace"))

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if tag == "pre" and self._pre is not None:
            wraps = any(WRAP_CLASS in cls for _, cls in self._stack)
            self.pres.append(("".join(self._pre), wraps))
            self._pre = None
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        while self._stack:
            t, _ = self._stack.pop()
            if t == tag:
                break

    def handle_data(self, data):
        if self._skip:
            return
        if self._pre is not None:
            self._pre.append(data)
        if self._cell is not None:
            self._cell.append(data)
        self.text.append(data)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in self.VOID:
            self._stack.append((tag, set((a.get("class") or "").split())))
        if tag == "pre":
            self._pre = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("script", "style"):
            self._skip += 1
        for key in ("id", "name") if tag == "a" else ("id",):
            if a.get(key):
                self.ids.add(a[key])
        cls = (a.get("class") or "").split()
        if "math" in cls or tag == "math":
            self.has_math = True
        if tag == "a" and a.get("href") is not None:
            self.links.append(a["href"])
            if any(t == "nav" and "page-toc" in c for t, c in self._stack):
                self.toc_links.append(a["href"])
            if cls:
                self.buttons.append((a["href"], set(cls)))
        elif tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        elif tag == "link" and "stylesheet" in (a.get("rel") or "").split() and a.get("href"):
            self.styles.append(a["href"])
        elif tag == "img" and a.get("src") is not None:
            self.images.append(a["src"])


def is_remote(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme and parts.scheme not in ("file",)) or url.startswith("//")


def check(html_dir: Path) -> list[str]:
    problems: list[str] = []
    if not html_dir.is_dir():
        return [f"{html_dir} does not exist: build the book first (make book)"]
    pages = {p: Page(p) for p in sorted(html_dir.rglob("*.html"))
             if "_static" not in p.relative_to(html_dir).parts}

    for entry in toc_files():
        want = html_dir / Path(entry).with_suffix(".html")
        if want not in pages:
            problems.append(f"missing page: {entry} (expected {want.relative_to(html_dir)})")

    remote_scripts = defaultdict(list)
    for path, page in pages.items():
        rel = path.relative_to(html_dir)
        for href in page.links:
            if href in IGNORED_HREFS or href.startswith(("mailto:", "javascript:", "tel:")):
                continue
            if is_remote(href):
                continue
            parts = urlsplit(href)
            target = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            if parts.path and not target.exists():
                shown = target.relative_to(html_dir.resolve()) if target.is_relative_to(html_dir.resolve()) else target
                problems.append(f"{rel}: broken link {href!r} (no file {shown})")
                continue
            if parts.path.endswith("/") or target.is_dir():
                target = target / "index.html"
                if not target.exists():
                    problems.append(f"{rel}: broken link {href!r} (no index.html in that folder)")
                    continue
            frag = unquote(parts.fragment)
            if frag and target.suffix == ".html":
                tpage = pages.get(target) or pages.get(Path(target))
                if tpage is None:
                    tpage = Page(target)
                if frag not in tpage.ids:
                    problems.append(f"{rel}: broken anchor {href!r} (no id {frag!r} in {target.name})")
        for src in page.scripts:
            if not is_remote(src):
                if not (path.parent / unquote(urlsplit(src).path)).exists():
                    problems.append(f"{rel}: script {src!r} does not exist")
                continue
            allowed = [name for name, (rx, when) in ALLOWED_REMOTE_SCRIPTS.items() if rx.match(src)]
            if not allowed:
                problems.append(f"{rel}: loads a remote script that is not allowed: {src}")
            elif not ALLOWED_REMOTE_SCRIPTS[allowed[0]][1](page):
                problems.append(f"{rel}: loads {allowed[0]} ({src}) but has no math on the page")
            else:
                remote_scripts[src].append(str(rel))
        for href in page.styles:
            if is_remote(href):
                problems.append(f"{rel}: loads a remote stylesheet: {href}")
            elif not (path.parent / unquote(urlsplit(href).path)).exists():
                problems.append(f"{rel}: stylesheet {href!r} does not exist")
        for src in page.images:
            if src.startswith("data:"):
                continue
            if is_remote(src):
                if not any(rx.match(src) for rx in ALLOWED_REMOTE_IMAGES):
                    problems.append(f"{rel}: remote image (not available offline): {src}")
                continue
            if not src or not (path.parent / unquote(urlsplit(src).path)).is_file():
                problems.append(f"{rel}: image {src!r} does not exist")

        problems += reader_problems(page, rel)

    problems += check_config_links(pages, html_dir)
    problems += page_toc_problems(pages, html_dir)
    print(f"checked {len(pages)} pages in {html_dir}")
    for src, where in sorted(remote_scripts.items()):
        print(f"  allowed remote script on {len(where)} page(s) with math: {src}")
    return problems


def reader_problems(page: Page, rel) -> list[str]:
    """Checks 7 and 8 of the module docstring on one page."""
    problems = []
    for text, wraps in page.pres:
        long = [line for line in text.splitlines() if len(line.rstrip()) > MAX_CODE_CHARS]
        if long and not wraps:
            problems.append(f"{rel}: {len(long)} code/output line(s) over {MAX_CODE_CHARS} characters scroll "
                            f"sideways at 1280 px, e.g. {long[0].strip()[:70]!r}")
    for cell in page.cells:
        if MISSING_CELL.match(cell):
            problems.append(f"{rel}: a table cell reads {cell!r}")
    text = "".join(page.text)
    for m in sorted(set(STRAY_REPR.findall(text)) | set(MACHINERY.findall(text))):
        problems.append(f"{rel}: notebook machinery on the page: {m!r}")
    return problems


def page_toc_problems(pages: dict, html_dir: Path) -> list[str]:
    """Check 9 of the module docstring: every page of the toc lists its sections in "On this page"."""
    problems = []
    for entry in toc_files():
        path = html_dir / Path(entry).with_suffix(".html")
        page = pages.get(path)
        if page is not None and not page.toc_links:
            problems.append(f"{path.relative_to(html_dir)}: its \"On this page\" list is empty: give its sections "
                            f"Markdown headings in Markdown cells (a heading printed by code renders as a rubric)")
    return problems


def notebook_problems(nb, max_chars: int = MAX_CODE_CHARS) -> list[str]:
    """The reader checks on an executed notebook: markers, long text lines, NaN cells, stray reprs."""
    rich = ("text/html", "text/markdown", "image/png", "image/svg+xml", "image/jpeg", "text/latex")
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"cell {i}"
        if "NBVAL_" in cell.source:
            problems.append(f"{where}: NBVAL comment in the code (use the cell tags)")
        if {"remove-cell", "remove-output"} & set(cell.metadata.get("tags", [])):
            continue    # a reader never sees these outputs
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                problems.append(f"{where}: raised {out.get('ename')}")
                continue
            if kind == "stream":
                texts = [(out.get("text", ""), True)]       # (text, shown as plain text)
            else:
                data = out.get("data", {})
                texts = [(data[k], False) for k in ("text/markdown", "text/html") if k in data]
                if not any(k in data for k in rich):
                    texts.append((data.get("text/plain", ""), True))
            for t, plain in texts:
                t = "".join(t) if isinstance(t, list) else t
                long = [line for line in t.splitlines() if len(line) > max_chars]
                if plain and long:
                    problems.append(f"{where}: text output line of {len(long[0])} characters "
                                    f"(at most {max_chars}): {long[0][:60]!r}")
                if STRAY_REPR.search(t):
                    problems.append(f"{where}: stray object repr {STRAY_REPR.search(t).group(0)!r}")
                if re.search(r"(^|[|>\s])(NaN|nan)(\s|[|<]|$)", t, re.M):
                    problems.append(f"{where}: NaN in an output")
    return problems


def check_config_links(pages: dict, html_dir: Path, root: Path = ROOT) -> list[str]:
    """Check 6 of the module docstring: the built buttons and footer against _config.yml."""
    import book_footer
    import colab_cell
    import nbformat
    import yaml

    cfg = yaml.safe_load((root / "_config.yml").read_text())
    url, branch = colab_cell.repository(root / "_config.yml")
    html_cfg, launch = cfg.get("html") or {}, cfg.get("launch_buttons") or {}
    colab = (launch.get("colab_url") or "").rstrip("/")
    book_path = (cfg.get("repository") or {}).get("path_to_book") or ""
    gh = re.match(r"^https://github\.com/([^/]+/[^/]+?)(\.git)?$", url)
    version = book_footer.package_version(root)
    notebooks = {s.relative_to(root).as_posix() for s in notebook_chapters()}
    problems = []
    for entry in toc_files():
        stem = Path(entry).with_suffix("").as_posix()
        path = html_dir / f"{stem}.html"
        page = pages.get(path)
        if page is None:
            continue        # reported as a missing page
        rel = path.relative_to(html_dir)
        if html_cfg.get("use_repository_button"):
            hrefs = {h for h, c in page.buttons if "btn-source-repository-button" in c}
            if hrefs != {url}:
                problems.append(f"{rel}: repository button {sorted(hrefs) or 'missing'}, _config.yml says {url}")
        if html_cfg.get("use_issues_button"):
            hrefs = {h for h, c in page.buttons if "btn-source-issues-button" in c}
            if not hrefs or any(not h.startswith(f"{url}/issues/new") for h in hrefs):
                problems.append(f"{rel}: issues button {sorted(hrefs) or 'missing'}, not {url}/issues/new")
        colab_links = {h for h in page.links if colab and h.startswith(colab + "/")}
        want = None
        if colab and gh and stem in notebooks:
            want = f"{colab}/github/{gh.group(1)}/blob/{branch}/{(book_path.strip('/') + '/') if book_path.strip('/') else ''}{stem}.ipynb"
            if want not in colab_links:
                problems.append(f"{rel}: no Colab button for {want}")
            nb_path = root / f"{stem}.ipynb"
            if not nb_path.exists():
                problems.append(f"{rel}: the Colab button opens {stem}.ipynb, which does not exist")
            else:
                cell = colab_cell.notebook_cell(nbformat.read(nb_path, as_version=4))
                if cell is None or cell.source != colab_cell.cell_source(url, branch):
                    problems.append(f"{rel}: the setup cell of {stem}.ipynb does not clone {url} @ {branch} "
                                    f"(python tools/colab_cell.py)")
        for h in sorted(colab_links - {want}):
            problems.append(f"{rel}: Colab link {h!r} is not this page's notebook in {url} @ {branch}")
        if f'<p class="msvp-release">msvp {version} ' not in path.read_text(encoding="utf-8", errors="replace"):
            problems.append(f"{rel}: the footer does not name msvp {version} (tools/book_footer.py)")
    return problems


def check_notebooks(nb_dir: Path) -> list[str]:
    """notebook_problems for every executed notebook in nb_dir (the smoke run's build/smoke)."""
    import nbformat

    paths = sorted(nb_dir.glob("*.ipynb"))
    if not paths:
        return [f"{nb_dir}: no executed notebooks here (run `make smoke` first)"]
    return [f"{p.name}: {problem}" for p in paths
            for problem in notebook_problems(nbformat.read(p, as_version=4))]


def report(problems: list[str], where: str, ok: str) -> int:
    """Print the problems (exit status 1) or the one-line pass message (0)."""
    if problems:
        print(f"\n{len(problems)} problem(s) in {where}:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    print(ok)
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--notebooks"]:
        # make smoke checks its own notebooks: the unit tests run before it and must not
        # depend on what an earlier smoke run left in build/
        nb_dir = Path(argv[1] if len(argv) > 1 else ROOT / "build" / "smoke").resolve()
        return report(check_notebooks(nb_dir), f"the notebooks of {nb_dir}",
                      f"notebook output check passed ({nb_dir})")
    html_dir = Path(argv[0] if argv else ROOT / "_build" / "html").resolve()
    return report(check(html_dir), "the built book", "html check passed")


if __name__ == "__main__":
    sys.exit(main())
