"""OV -> Max-IP by the weight-equalising gadget (``ov-maxip``).

Every coordinate becomes two, ``f(x) = (1 - x, x)`` on the ``A`` side and
``g(y) = (1, 1 - y)`` on the ``B`` side, so ``<f(x), g(y)> = 1 - x y`` and
``<f(a), g(b)> = d - <a, b>``: a pair is orthogonal iff its inner product
reaches ``tau = d``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np
import sympy

from instances.answers import OrthogonalPair
from instances.errors import NotAWitnessError
from instances.maxip import InnerProductPair, MaxIPInstance
from instances.vectors import OVInstance
from reductions.core import ParameterMap, Reduced, Reduction
from reductions.problems import problem_symbols

__all__ = ["OVToMaxIP", "complement_gadget"]


def complement_gadget(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``f(a) = interleave(1 - a, a)`` and ``g(b) = interleave(1, 1 - b)``: ``<f(a), g(b)> = d - <a, b>``.

    >>> fa, gb = complement_gadget(np.array([[1, 0]]), np.array([[0, 1], [1, 1]]))
    >>> fa.tolist(), gb.tolist()
    ([[0, 1, 1, 0]], [[1, 1, 1, 0], [1, 0, 1, 0]])
    >>> (fa @ gb.T).tolist()  # d - <a, b>: 2 - 0 and 2 - 1
    [[2, 1]]
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    fa = np.stack([1 - a, a], axis=2).reshape(a.shape[0], 2 * a.shape[1])
    gb = np.stack([np.ones_like(b), 1 - b], axis=2).reshape(b.shape[0], 2 * b.shape[1])
    return fa, gb


@attrs.frozen
class OVToMaxIP(Reduction):
    """OV(n_a, n_b, d) -> binary Max-IP(n_a, n_b, 2d, tau = d).

    Notes
    -----
    **Construction.** Coordinatewise ``f(x) = (1 - x, x)``, ``g(y) = (1, 1 - y)``
    (:func:`complement_gadget`). ``f`` equalises the weights: ``|f(a)| = d`` for
    every ``a``, which is what a plain complement ``<a, 1 - b> = |a| - <a, b>``
    lacks (its maximum would favour heavy ``a``).

    **Correctness.** ``<f(x), g(y)> = (1 - x) + x (1 - y) = 1 - x y`` for bits
    ``x, y``; summing, ``<f(a), g(b)> = d - <a, b> <= d`` with equality iff
    ``<a, b> = 0``. So some pair reaches ``tau = d`` iff some pair is
    orthogonal, and the same ``(i, j)`` is the witness both ways. Time and size
    ``O((n_a + n_b) d)``; ``W = 1``.

    References
    ----------
    The standard complement reduction from OV to (bichromatic) Max-IP, e.g.
    L. Chen, "On the Hardness of Approximate and Exact (Bichromatic) Maximum
    Inner Product", CCC 2018; Gupta, Huang, Saha, Xu, Ye (2025) start their
    attention lower bounds from Max-IP.

    Examples
    --------
    >>> from solvers.maxip import brute_force_maxip
    >>> reduced = OVToMaxIP().forward(OVInstance([[1, 0], [1, 1]], [[1, 1], [0, 1]]))
    >>> reduced.target
    MaxIPInstance(n_a=2, n_b=2, d=4, tau=2, W=1)
    >>> reduced.backward(brute_force_maxip(reduced.target))
    OrthogonalPair(i=0, j=1)
    >>> reduced.backward(InnerProductPair(1, 0))
    Traceback (most recent call last):
    ...
    instances.errors.NotAWitnessError: pair (1, 0) has inner product 0 < tau = 2: not a Max-IP witness
    """

    name: ClassVar[str] = "ov-maxip"
    source: ClassVar[str] = "ov"
    target: ClassVar[str] = "maxip"

    def _forward(self, instance: OVInstance) -> tuple[MaxIPInstance, Mapping[str, Any], Mapping[str, Any]]:
        fa, gb = complement_gadget(instance.a, instance.b)
        d = instance.dimension
        return MaxIPInstance(fa, gb, d), {}, {"tau": d}

    def backward(self, reduced: Reduced, answer: InnerProductPair | None) -> OrthogonalPair | None:
        """A pair reaching ``tau`` is an orthogonal pair (checked); ``None`` stays ``None``."""
        if answer is None:
            return None
        if not isinstance(answer, InnerProductPair):
            raise TypeError(f"'answer' must be an InnerProductPair or None (got {type(answer).__name__})")
        target: MaxIPInstance = reduced.target
        value = target.inner_product(answer)
        if value < target.threshold:
            raise NotAWitnessError(
                f"pair {(answer.i, answer.j)} has inner product {value} < tau = {target.threshold}: not a Max-IP witness"
            )
        return OrthogonalPair(answer.i, answer.j)

    def parameters(self) -> ParameterMap:
        s = problem_symbols("ov")
        d = s["d"]
        return ParameterMap(
            "ov", "maxip", {"n_a": s["n_a"], "n_b": s["n_b"], "d": 2 * d, "tau": d, "W": sympy.Integer(1)}
        )
