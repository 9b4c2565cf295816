"""Sphinx configuration: the documentation site, Markdown pages read by MyST, built with warnings as errors
(``make docs``, Read the Docs)."""

from __future__ import annotations

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
_project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]

project = "intercom-identity"
author = "intercom-identity contributors"
copyright = "intercom-identity contributors"
release = version = _project["version"]

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# Links to headings of other pages (`page.md#a-heading`) resolve like on GitHub.
myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence", "deflist"]
# Code blocks of languages Pygments may not know (cron, Swift, Dart) are shown as text, not warned about.
highlight_language = "text"
suppress_warnings = ["misc.highlighting_failure"]

html_theme = "furo"
html_title = f"intercom-identity {release}"
