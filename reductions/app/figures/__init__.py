"""Teaching figures: every reduction and oracle of the chain, drawn from the code that runs it.

Each figure is built by a public function returning a
:class:`matplotlib.figure.Figure` (install the ``demo`` extra:
``pip install -e '.[demo]'``), drawn on matplotlib's Agg canvas directly, so no
display is needed and pyplot's global state is never touched. One module per
theme: :mod:`~reductions.app.figures.registry` (the registry graph),
:mod:`~reductions.app.figures.vectors` (split and list, the OV gadget),
:mod:`~reductions.app.figures.attention` (attention blocks, the margin),
:mod:`~reductions.app.figures.polynomial` (the polynomial method, the phase
transition), :mod:`~reductions.app.figures.gap` (the entry bound each chain needs), :mod:`~reductions.app.figures.style` (what they share) and
:mod:`~reductions.app.figures.gallery` (:data:`DEMOS` and ``reductions demo``).
The figure functions are imported here on first use, so importing this package
is cheap.

Examples
--------
>>> from reductions.app.figures import DEMOS, gadget_figure
>>> gadget_figure([[1, 0]], [[0, 1]]).get_suptitle().startswith("OV → Gap-ANN")
True
"""

from __future__ import annotations

import importlib
from typing import Any

from reductions.app.figures.gallery import DEMOS, Demo, add_demo_command, run_demo_command, save_all, save_demo

__all__ = [
    "Demo",
    "DEMOS",
    "EXAMPLE_FORMULA",
    "registry_figure",
    "split_and_list_figure",
    "gadget_figure",
    "attention_blocks_figure",
    "margin_figure",
    "margin_curves",
    "polynomial_figure",
    "phase_transition_figure",
    "entry_bound_figure",
    "concrete_entry_bounds",
    "save_demo",
    "save_all",
    "add_demo_command",
    "run_demo_command",
]

_LAZY = {
    "EXAMPLE_FORMULA": "style",
    "registry_figure": "registry",
    "split_and_list_figure": "vectors",
    "gadget_figure": "vectors",
    "attention_blocks_figure": "attention",
    "margin_figure": "attention",
    "margin_curves": "attention",
    "polynomial_figure": "polynomial",
    "phase_transition_figure": "polynomial",
    "entry_bound_figure": "gap",
    "concrete_entry_bounds": "gap",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"reductions.app.figures.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'reductions.app.figures' has no attribute {name!r}")
