"""The gallery of teaching figures: :data:`DEMOS` by name, :func:`save_demo`, :func:`save_all`, ``reductions demo``.

Each entry names the function that draws it (``"module:function"`` inside
:mod:`reductions.app.figures`) and imports it only when the figure is drawn, so
building the command line imports neither matplotlib nor the catalogue. The
figures read the registry; the registry knows nothing of them.

============================  =========================================================
name                          what it shows
============================  =========================================================
``registry``                  problems and registered reductions as a graph
``split-and-list``            k-SAT -> OV: clause vectors of the two half-assignments
``gadget``                    OV -> Gap-ANN: the coordinate gadget and half-ones padding
``attention-blocks``          Gap-ANN -> AAttC: the score matrix, paper vs tight balancing
``margin``                    log L, log U and the threshold against beta (uf20-01)
``polynomial``                polynomials for e^x: error against degree, degree against R
``phase-transition``          rank and time of the polynomial method against B
``entry-bounds``              B each SAT chain needs against n: exact vs constant gap
============================  =========================================================

Examples
--------
>>> import io
>>> from reductions.app.figures import DEMOS
>>> list(DEMOS)  # doctest: +NORMALIZE_WHITESPACE
['registry', 'split-and-list', 'gadget', 'attention-blocks', 'margin', 'polynomial',
 'phase-transition', 'entry-bounds']
>>> print(DEMOS["gadget"].description)
OV -> Gap-ANN: the coordinate gadget and the half-ones padding on a tiny OV instance
>>> fig = DEMOS["gadget"]()
>>> fig.axes[2].get_title()
'<a, b>  (0 = orthogonal)'
>>> fig.savefig(io.BytesIO(), format="png")
>>> from reductions.app.figures import save_demo
>>> save_demo("cubism", ".")
Traceback (most recent call last):
...
ValueError: unknown demo 'cubism'; choose one of: registry, split-and-list, gadget, attention-blocks, margin, polynomial, phase-transition, entry-bounds
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # matplotlib is an optional dependency (the demo extra)
    from matplotlib.figure import Figure

__all__ = ["Demo", "DEMOS", "save_demo", "save_all", "add_demo_command", "run_demo_command"]


@dataclass(frozen=True)
class Demo:
    """A named teaching figure: ``demo()`` builds it.

    ``build`` is the drawing function, or its ``"module:function"`` path inside
    :mod:`reductions.app.figures`, imported on the first call.

    >>> from reductions.app.figures.gallery import Demo
    >>> entry = Demo("gadget", "the coordinate gadget", "vectors:gadget_figure")
    >>> entry.function.__name__
    'gadget_figure'
    """

    name: str
    description: str
    build: Callable[[], Figure] | str = field(repr=False)

    @property
    def function(self) -> Callable[[], Figure]:
        """The drawing function (imported now when ``build`` names it)."""
        if callable(self.build):
            return self.build
        module, _, function = self.build.partition(":")
        drawing: Callable[[], Figure] = getattr(importlib.import_module(f"reductions.app.figures.{module}"), function)
        return drawing

    def __call__(self) -> Figure:
        return self.function()


DEMOS: dict[str, Demo] = {
    demo.name: demo
    for demo in (
        Demo(
            "registry",
            "the registry graph: problems and the registered reductions between them",
            "registry:registry_figure",
        ),
        Demo(
            "split-and-list",
            "k-SAT -> OV: the clause vectors of the two halves and their inner products",
            "vectors:split_and_list_figure",
        ),
        Demo(
            "gadget",
            "OV -> Gap-ANN: the coordinate gadget and the half-ones padding on a tiny OV instance",
            "vectors:gadget_figure",
        ),
        Demo(
            "attention-blocks",
            "Gap-ANN -> AAttC: the block structure of the scores, paper vs tight balancing, and the decision threshold",
            "attention:attention_blocks_figure",
        ),
        Demo(
            "margin",
            "log L, log U and the decision threshold against beta for uf20-01, both balancing blocks",
            "attention:margin_figure",
        ),
        Demo(
            "polynomial",
            "polynomials for e^x on [-R, R]: relative error against degree, degree against R",
            "polynomial:polynomial_figure",
        ),
        Demo(
            "phase-transition",
            "degree, rank and time of the polynomial method against B, with sqrt(ln n) marked",
            "polynomial:phase_transition_figure",
        ),
        Demo(
            "entry-bounds",
            "B each SAT -> AAttC chain needs against n: exact gap, constant gap (Merlin-Arthur) and sqrt(ln n)",
            "gap:entry_bound_figure",
        ),
    )
}
"""The teaching figures by name, in reading order."""

_FORMATS = ("png", "pdf", "svg")


def _check_name(name: str) -> Demo:
    try:
        return DEMOS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown demo {name!r}; choose one of: {', '.join(DEMOS)}") from None


def save_demo(name: str, out_dir: str | Path, *, format: str = "png", dpi: int = 110) -> Path:
    """Draw the demo ``name`` and write it to ``out_dir/NAME.FORMAT`` (folders are created).

    Parameters
    ----------
    name : str
        A key of :data:`DEMOS`.
    out_dir : str or Path
    format : {"png", "pdf", "svg"}
    dpi : int
        Resolution of PNG files.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save_demo("gadget", folder)
    ...     path.name, path.stat().st_size > 10_000
    ('gadget.png', True)
    """
    demo = _check_name(name)
    if format not in _FORMATS:
        raise ValueError(f"'format' must be one of {', '.join(_FORMATS)} (got {format!r})")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{demo.name}.{format}"
    figure = demo()
    figure.savefig(path, dpi=dpi, format=format)
    return path


def save_all(out_dir: str | Path, *, format: str = "png", dpi: int = 110) -> list[Path]:
    """Write every demo into ``out_dir``; returns the files in :data:`DEMOS` order."""
    return [save_demo(name, out_dir, format=format, dpi=dpi) for name in DEMOS]


# -- command line ---------------------------------------------------------------------------


def add_demo_command(commands: Any) -> argparse.ArgumentParser:
    """Add ``demo`` to the ``reductions`` command's sub-parsers (``commands``, from ``add_subparsers``).

    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="reductions")
    >>> _ = add_demo_command(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["demo", "gadget", "--out", "figures"])
    >>> args.names, args.out, args.run is run_demo_command
    (['gadget'], 'figures', True)
    """
    listing = "\n".join(f"  {name:<18} {demo.description}" for name, demo in DEMOS.items())
    parser = commands.add_parser(
        "demo",
        help="draw the teaching figures (needs the demo extra: matplotlib)",
        description="Draw teaching figures as files. With no NAME, list them.",
        epilog=f"demos:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="demo names, or 'all'")
    parser.add_argument("--out", default="figures", help="folder to write into (default: ./figures)")
    parser.add_argument("--format", default="png", choices=_FORMATS, help="file format (default: png)")
    parser.add_argument("--dpi", type=int, default=110, help="resolution of PNG files (default: 110)")
    parser.set_defaults(run=run_demo_command)
    return parser


def run_demo_command(args: argparse.Namespace) -> int:
    """Run ``reductions demo``: list the demos (no NAME, or ``--list`` where the parser has it),
    or write the named ones and print each path.

    Unknown names raise ``ValueError`` before anything is drawn; without
    matplotlib the command prints one line on stderr and returns 1.
    """
    names = list(args.names)
    if not names or getattr(args, "list", False):
        for name, demo in DEMOS.items():
            print(f"{name:<18} {demo.description}")
        return 0
    if "all" in names:
        names = list(DEMOS)
    for name in names:
        _check_name(name)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("reductions: error: the demo command needs matplotlib: pip install 'reductions[demo]'", file=sys.stderr)
        return 1
    for name in dict.fromkeys(names):
        print(save_demo(name, args.out, format=args.format, dpi=args.dpi), flush=True)
    return 0
