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
   elsewhere; the footer names ``msvp.__version__`` (tools/book_footer.py).

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
        self.feed(path.read_text(encoding="utf-8", errors="replace"))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if a.get(key):
                self.ids.add(a[key])
        cls = (a.get("class") or "").split()
        if "math" in cls or tag == "math":
            self.has_math = True
        if tag == "a" and a.get("href") is not None:
            self.links.append(a["href"])
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

    problems += check_config_links(pages, html_dir)
    print(f"checked {len(pages)} pages in {html_dir}")
    for src, where in sorted(remote_scripts.items()):
        print(f"  allowed remote script on {len(where)} page(s) with math: {src}")
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


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    html_dir = Path(argv[0] if argv else ROOT / "_build" / "html").resolve()
    problems = check(html_dir)
    if problems:
        print(f"\n{len(problems)} problem(s) in the built book:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    print("html check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
