"""MkDocs hooks for the documentation site (``hooks:`` in mkdocs.yml).

- The site must work without a network: MathJax is copied into it from the
  ``django-static-mathjax`` distribution (the ``docs`` extra; its import name is
  ``mathjax``) instead of being loaded from a CDN.
- Short docstrings carry their examples without an ``Examples`` heading; in
  Markdown a ``>>>`` line would become a block quote and a printed list a link
  reference, so :class:`DoctestFences` puts every such example in a code block.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path
from typing import Any

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor
from mkdocs.plugins import event_priority

MATHJAX_FILE = "tex-svg.js"  # TeX input, SVG output: one file, fonts included
SITE_PATH = Path("javascripts") / "mathjax" / MATHJAX_FILE
_FENCE = re.compile(r"^\s*(```|~~~)")
_PROMPT = re.compile(r"^(\s*)>>> ")


def mathjax_source() -> Path:
    """The MathJax 3 bundle shipped by ``django-static-mathjax``, or a one-line error naming the extra."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("mkdocs: MathJax not found; install the docs extra: pip install -e '.[docs]'")
    source = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5" / MATHJAX_FILE
    if not source.is_file():
        raise SystemExit(f"mkdocs: {source} is missing; reinstall django-static-mathjax")
    return source


def fence_doctests(lines: list[str]) -> list[str]:
    """Wrap each run of ``>>>`` lines (with its output, up to a blank line) outside code fences in a ``pycon`` fence.

    >>> fence_doctests(["Text.", "", ">>> 1 + 1", "2", "", "More."])
    ['Text.', '', '```pycon', '>>> 1 + 1', '2', '```', '', 'More.']
    >>> fence_doctests(["```python", ">>> 1", "1", "```"])
    ['```python', '>>> 1', '1', '```']
    """
    out: list[str] = []
    fenced = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            fenced = not fenced
        prompt = None if fenced else _PROMPT.match(line)
        if prompt is None:
            out.append(line)
            i += 1
            continue
        indent = prompt.group(1)
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return out


class _DoctestPreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        return fence_doctests(lines)


class DoctestFences(Extension):
    """Python-Markdown extension running :func:`fence_doctests` before the fenced-code preprocessors."""

    def extendMarkdown(self, md: Markdown) -> None:  # Python-Markdown names it so
        md.preprocessors.register(_DoctestPreprocessor(md), "doctest_fences", 29)


@event_priority(100)  # before mkdocstrings copies the extensions for the docstrings
def on_config(config: Any, **_kwargs: Any) -> Any:
    config.markdown_extensions.append(DoctestFences())
    return config


def on_post_build(config: Any, **_kwargs: Any) -> None:
    target = Path(config["site_dir"]) / SITE_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(mathjax_source(), target)
