"""Sphinx extension (listed under ``sphinx.local_extensions`` in _config.yml): the book's footer.

The footer names the package version, read from ``msvp/__init__.py`` (the one place that holds
it) when the book is built, and links the licence and the citation file of the repository that
_config.yml names. Nothing here is typed twice; tools/check_html.py checks the result.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSION_RE = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.M)


def package_version(root: Path = ROOT) -> str:
    """``msvp.__version__``, read from the source (the build needs no torch)."""
    m = VERSION_RE.search((root / "msvp" / "__init__.py").read_text())
    if not m:
        raise ValueError("msvp/__init__.py has no __version__ = '...' line")
    return m.group(1)


def footer_html(version: str, repo_url: str, branch: str) -> str:
    blob = f"{repo_url.rstrip('/')}/blob/{branch}"
    return (f'<p class="msvp-release">msvp {html.escape(version)} · '
            f'<a href="{html.escape(blob)}/LICENSE">MIT licence</a> · '
            f'<a href="{html.escape(blob)}/CITATION.cff">how to cite</a></p>')


def _config_inited(app, config) -> None:
    version = package_version()
    config.version = config.release = version
    opts = dict(config.html_theme_options or {})
    url, branch = opts.get("repository_url"), opts.get("repository_branch") or "main"
    if url:
        opts["extra_footer"] = footer_html(version, url, branch)
    else:
        opts["extra_footer"] = f'<p class="msvp-release">msvp {html.escape(version)}</p>'
    config.html_theme_options = opts


def setup(app):
    app.connect("config-inited", _config_inited)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
