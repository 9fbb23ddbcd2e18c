"""Keep the Markdown pages in docs/ in sync with the code.

The examples on the pages are executed by pytest itself (``--doctest-glob='*.md'``);
these tests check what doctests cannot: every page is reachable from the index, links
resolve, the reference pages render every public name (their entries are generated from the
docstrings by mkdocstrings, ``::: module`` directives), and the figures exist.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(DOCS.glob("*.md"))

# one page per package; each renders its modules with mkdocstrings
REFERENCE_PAGES = ("reference-instances.md", "reference-solvers.md", "reference-reductions.md")

_LINK = re.compile(r"\]\(([^)\s]+)\)")
PACKAGES = ("instances", "solvers", "reductions")
_DIRECTIVE = re.compile(r"^::: ([a-z_][\w.]*)\s*$", re.MULTILINE)
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def _text(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


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


def _public_modules() -> list[str]:
    """Every public module of the three packages (no ``_private`` part, no ``__main__``), imported."""
    names = []
    for package in PACKAGES:
        names.append(package)
        for info in pkgutil.walk_packages(importlib.import_module(package).__path__, f"{package}."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.append(info.name)
    return names


def _referenced_modules() -> dict[str, str]:
    """Module -> the reference page whose ``::: module`` directive renders it (mkdocstrings)."""
    found: dict[str, str] = {}
    for page in REFERENCE_PAGES:
        for module in _DIRECTIVE.findall(_text(page)):
            assert module not in found, f"{module} is rendered by both {found[module]} and {page}"
            found[module] = page
    return found


def test_reference_pages_render_real_modules():
    for module, page in _referenced_modules().items():
        assert importlib.util.find_spec(module) is not None, f"{page}: ::: {module} names no module"


def test_the_api_reference_covers_every_public_name():
    """Every name in the ``__all__`` of a public module is rendered from its docstring on a reference page.

    A name is covered when a module rendered by a ``::: module`` directive lists the same
    object in its ``__all__``: re-exports (``from instances import CNF``) are covered by
    the module that defines them. ``tests/test_site.py`` checks the built site's anchors.
    """
    pytest.importorskip("matplotlib")  # reductions.app.figures
    rendered = {name: importlib.import_module(name) for name in _referenced_modules()}
    homes: dict[str, list[object]] = {}
    for module in rendered.values():
        for name in module.__all__:
            homes.setdefault(name, []).append(getattr(module, name))
    missing, count = [], 0
    for module_name in _public_modules():
        module = importlib.import_module(module_name)
        public = getattr(module, "__all__", None)
        if public is None:
            assert not [
                n
                for n in vars(module)
                if not n.startswith("_")
                and callable(vars(module)[n])
                and getattr(vars(module)[n], "__module__", None) == module_name
            ], f"{module_name} defines public functions or classes but has no __all__"
            continue
        if any(
            vars(module).get(name) is not None and getattr(vars(module)[name], "__module__", None) == module_name
            for name in public
        ):
            assert module_name in rendered, (
                f"{module_name} defines public names but no reference page has ::: {module_name}"
            )
        for name in public:
            count += 1
            obj = getattr(module, name)
            if not any(candidate is obj for candidate in homes.get(name, [])):
                missing.append(f"{module_name}.{name}")
    assert count > 300
    assert not missing, f"public names no reference page renders: {missing}"


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
