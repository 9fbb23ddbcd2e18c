"""Keep the Markdown pages in docs/ in sync with the code.

The examples on the pages are executed by pytest itself (``--doctest-glob='*.md'``);
these tests check what doctests cannot: every page is reachable from the index, links
resolve, the reference pages name every public object, and the figures exist.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(DOCS.glob("*.md"))

# package (whose __all__ is checked) -> its reference page
REFERENCE_PAGES = {
    "instances": "reference-instances.md",
    "solvers": "reference-solvers.md",
    "solvers.attention": "reference-solvers.md",
    "reductions": "reference-reductions.md",
}

_LINK = re.compile(r"\]\(([^)\s]+)\)")
_MODULE_HEADING = re.compile(r"^#{2,4} `([a-z_][\w.]*)`\s*$", re.MULTILINE)
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _text(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _in_code(name: str, text: str) -> bool:
    """Whether ``name`` occurs as a word inside some inline code span of ``text``."""
    word = re.compile(rf"(?<![\w]){re.escape(name)}(?![\w])")
    return any(word.search(span) for span in re.findall(r"`([^`\n]+)`", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def test_the_docs_have_the_pages_the_index_promises():
    names = {page.name for page in PAGES}
    assert {
        "index.md",
        "getting-started.md",
        "reductions.md",
        "your-own-reduction.md",
        "oracles.md",
        "fine-grained.md",
        "figures.md",
        "reference-instances.md",
        "reference-solvers.md",
        "reference-reductions.md",
    } <= names


@pytest.mark.parametrize("page", [p.name for p in PAGES if p.name != "index.md"])
def test_every_page_is_linked_from_the_index(page):
    targets = {link.split("#")[0] for link in _LINK.findall(_text("index.md"))}
    assert page in targets, f"docs/index.md does not link to {page}"


@pytest.mark.parametrize("page", [p.name for p in PAGES])
def test_every_page_has_one_title(page):
    titles = [line for line in _text(page).splitlines() if line.startswith("# ")]
    assert len(titles) == 1, titles


@pytest.mark.parametrize("page", [p.name for p in PAGES])
def test_relative_links_and_anchors_resolve(page):
    for link in _LINK.findall(_text(page)):
        if re.match(r"[a-z]+:", link):  # http:, https:, mailto:
            continue
        target, _, anchor = link.partition("#")
        path = (DOCS / page).parent / target if target else DOCS / page
        assert path.exists(), f"{page}: broken link {link!r}"
        if anchor and path.suffix == ".md":
            headings = [
                line.lstrip("#") for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")
            ]
            assert anchor in {_slug(h) for h in headings}, f"{page}: no heading for anchor {link!r}"


@pytest.mark.parametrize("page", [p.name for p in PAGES])
def test_example_blocks_end_with_a_blank_line(page):
    """A ``>>>`` block must end with an empty line, or the closing fence becomes expected output."""
    for language, body in _FENCE.findall(_text(page)):
        if ">>>" in body:
            assert language == "python", f"{page}: a block with examples is marked {language!r}"
            assert body.endswith("\n\n"), f"{page}: block ending {body[-60:]!r} needs a blank line before ```"


@pytest.mark.parametrize(("package", "page"), sorted(REFERENCE_PAGES.items()))
def test_reference_page_names_every_exported_name(package, page):
    module = importlib.import_module(package)
    text = _text(page)
    missing = [name for name in module.__all__ if not _in_code(name, text)]
    assert not missing, f"{page} does not mention {package}.{missing}"


@pytest.mark.parametrize("page", sorted(set(REFERENCE_PAGES.values())))
def test_documented_modules_are_complete(page):
    """Every module with a heading on a reference page has all of its ``__all__`` there."""
    text = _text(page)
    modules = _MODULE_HEADING.findall(text)
    assert modules, f"{page} documents no module"
    for name in modules:
        module = importlib.import_module(name)
        missing = [n for n in getattr(module, "__all__", []) if not _in_code(n, text)]
        assert not missing, f"{page} documents {name} but not {missing}"


def test_reference_pages_document_the_subpackages():
    for package, page in REFERENCE_PAGES.items():
        assert f"`{package}`" in _text(page)


def test_every_demo_has_its_figure_on_the_figures_page():
    pytest.importorskip("matplotlib")
    from reductions.app.figures import DEMOS

    text = _text("figures.md")
    for name in DEMOS:
        assert f"### `{name}`" in text, f"figures.md has no section for {name}"
        figure = DOCS / "figures" / f"{name}.png"
        assert figure.exists() and figure.stat().st_size > 10_000, (
            f"run: reductions demo all --out docs/figures ({name})"
        )
        assert f"(figures/{name}.png)" in text


def test_figures_folder_holds_only_current_demos():
    pytest.importorskip("matplotlib")
    from reductions.app.figures import DEMOS

    stale = sorted(p.name for p in (DOCS / "figures").glob("*.png") if p.stem not in DEMOS)
    assert not stale, f"figures no demo draws any more: {stale}"
