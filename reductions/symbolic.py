"""Printing a chain's composed parameter map and the fine-grained implication it carries."""

from __future__ import annotations

import sympy

from reductions.core import Chain

__all__ = ["describe_chain"]


def describe_chain(chain: Chain) -> str:
    """The chain's composed parameter map, one line per target parameter.

    >>> from reductions.registry import path
    >>> print(describe_chain(path("sat", "ov")))
      n_a = 2**ceiling(v/2)
      n_b = 2**(v - ceiling(v/2))
      d = m
    """
    mapping = chain.parameters()
    lines = [f"  {name} = {sympy.sstr(expr)}" for name, expr in mapping.outputs.items()]
    if mapping.free:
        lines.append(f"  (chosen per instance: {', '.join(mapping.free)})")
    return "\n".join(lines)
