"""Exact self-attention: build ``Q``, ``K``, ``V`` and run exact attention on them.

Both score functions become an ordinary attention instance (``exp(Q' K'^T / d')``)
that :class:`~solvers.attention.exact.ExactAttention` evaluates with its
row-max-shifted, tiled log-sum-exp and its stated error bound:

* ``dot``: ``Q' = X W_Q``, ``K' = X W_K`` (``d' = d``).
* ``l2``: ``-||q - k||^2 = -||q||^2 + 2<q, k> - ||k||^2``, and ``-||q_i||^2`` is the
  same for every key of row ``i``, so it cancels in the softmax. With
  ``d' = 2d`` columns, ``q' = [4q, 2, 0, ..., 0]`` and ``k' = [k, -||k||^2, 0, ..., 0]``
  give ``<q', k'>/d' = (2<q, k> - ||k||^2)/d``; the scalings are powers of two,
  so they add no rounding.

The guarantee adds to ExactAttention's the effect of rounding in the
projections ``X W`` (zero when every entry is an integer and the sums stay
below 2^53, as in the hardness reductions).

Examples
--------
>>> import numpy as np
>>> from instances.self_attention import SelfAttentionInstance
>>> from solvers.attention.self_attention import ExactSelfAttention
>>> inst = SelfAttentionInstance([[1.0, 0.0], [0.0, 1.0]], [[1.0], [0.0]], [[1.0], [0.0]], [[0.0], [1.0]], 1.0)
>>> out = ExactSelfAttention()(inst)
>>> np.round(out.values[:, 0], 6).tolist()  # row 0: e^0 / (e^1 + e^0); row 1: uniform
[0.268941, 0.5]
>>> l2 = SelfAttentionInstance([[1.0, 0.0], [0.0, 1.0]], [[1.0], [0.0]], [[1.0], [0.0]], [[0.0], [1.0]], 1.0, score="l2")
>>> np.round(ExactSelfAttention()(l2).values[:, 0], 6).tolist()  # row 0: e^-1 / (e^0 + e^-1)
[0.268941, 0.731059]
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from instances.attention import AttentionInstance, AttentionOutput
from instances.self_attention import SelfAttentionInstance
from solvers.attention.exact import ExactAttention
from solvers.attention.oracle import DEFAULT_MAX_BYTES, Cost, Guarantee

__all__ = ["ExactSelfAttention", "attention_form", "projection_error"]

_U64 = 2.0**-53
_EXACT_SUMS = 2.0**52  # float64 sums of integers below this (with margin) are exact


def _gamma(k: int) -> float:
    ku = k * _U64
    return ku / (1.0 - ku) if ku < 1.0 else math.inf


def _all_integers(*arrays: np.ndarray) -> bool:
    return all(bool(np.all(a == np.round(a))) for a in arrays)


def projection_error(tokens: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Entrywise bound on ``|fl(X W) - X W|``: zero when the product is exact, else
    ``gamma_(2 d_x + 2) |X| |W|`` (Higham's bound for any summation order, with
    the rounding of the bound itself absorbed).

    >>> import numpy as np
    >>> projection_error(np.array([[1.0, 2.0]]), np.array([[3.0], [4.0]])).tolist()
    [[0.0]]
    >>> bool(projection_error(np.array([[0.1, 0.2]]), np.array([[0.3], [0.4]]))[0, 0] > 0)
    True
    """
    magnitude = np.abs(tokens) @ np.abs(weights)
    if _all_integers(tokens, weights) and (magnitude.size == 0 or float(np.max(magnitude)) < _EXACT_SUMS):
        return np.zeros_like(magnitude)
    return _gamma(2 * tokens.shape[1] + 2) * magnitude


def attention_form(instance: SelfAttentionInstance) -> AttentionInstance:
    """The attention instance whose exact output is the self-attention output
    (of the computed projections): see the module docstring.

    >>> from instances.self_attention import random_self_attention
    >>> attention_form(random_self_attention(4, 3, 2, 1.0, score="l2", seed=0)).parameters()["d"]
    4
    """
    query, key, value = instance.projections()
    if instance.score == "dot":
        return AttentionInstance.from_arrays(query, key, value)
    N, d = key.shape
    wide_query = np.zeros((N, 2 * d))
    wide_key = np.zeros((N, 2 * d))
    wide_query[:, :d] = 4.0 * query
    wide_query[:, d] = 2.0
    wide_key[:, :d] = key
    wide_key[:, d] = -np.einsum("ij,ij->i", key, key)
    return AttentionInstance.from_arrays(wide_query, wide_key, value)


def _input_errors(instance: SelfAttentionInstance) -> tuple[float, float]:
    """``(abs, rel)`` error that rounding in ``X W`` (and ``||k||^2``) adds to the output."""
    query, key, value = instance.projections()
    error_q = projection_error(instance.tokens, instance.query_weights)
    error_k = projection_error(instance.tokens, instance.key_weights)
    error_v = projection_error(instance.tokens, instance.value_weights)
    d = instance.d
    key_max = np.max(np.abs(key), axis=0)
    key_error_max = np.max(error_k, axis=0)
    # |<q, k> - <q^, k^>| <= sum_l E_Q (|k^| + E_K) + |q^| E_K, maximised over keys per coordinate.
    dot = float(np.max(error_q @ (key_max + key_error_max) + np.abs(query) @ key_error_max))
    if instance.score == "dot":
        delta = dot / d
    else:
        norms = np.einsum("ij,ij->i", key, key)
        if _all_integers(key) and float(np.max(norms)) < _EXACT_SUMS:
            norm_rounding = 0.0
        else:
            norm_rounding = _gamma(d + 2) * float(np.max(norms))
        norm_error = float(np.max(np.sum(error_k * (2 * np.abs(key) + error_k), axis=1)))
        delta = (2 * dot + norm_rounding + norm_error) / d
    if not math.isfinite(delta):
        return math.inf, math.inf
    error_v_max = float(np.max(error_v))
    value_max = float(np.max(np.abs(value))) + error_v_max
    weight_change = math.expm1(2 * delta) if 2 * delta < 700 else math.inf
    abs_error = weight_change * value_max + error_v_max
    if not instance.nonnegative_values:
        return abs_error, math.inf
    if error_v_max == 0:
        nu = 0.0
    else:
        touched = error_v > 0
        margin = value[touched] - error_v[touched]
        nu = math.inf if np.any(margin <= 0) else float(np.max(error_v[touched] / margin))
    rel_error = (1 + weight_change) * (1 + nu) - 1 if math.isfinite(nu) else math.inf
    return abs_error, rel_error


@attrs.frozen
class ExactSelfAttention:
    """Exact self-attention (dot or ``l2`` scores) with a stated error bound.

    Parameters
    ----------
    max_bytes : int or None
        Memory limit passed to :class:`~solvers.attention.exact.ExactAttention`.
    max_seconds : float or None
        Time limit passed to :class:`~solvers.attention.exact.ExactAttention`.

    Notes
    -----
    **Error.** Let ``(rho_1, eps_1)`` be ExactAttention's guarantee on
    :func:`attention_form`. Rounding in ``X W`` moves every score by at most
    ``Delta`` (from :func:`projection_error`: ``max_i sum_l E_Q (|k| + E_K) + |q| E_K``
    over ``d``; for ``l2`` twice that plus the error of ``||k||^2``), so each
    softmax weight by a factor within ``e^(+-2 Delta)``, and ``V`` by ``E_V``.
    The stated error is ``abs = eps_1 + expm1(2 Delta) ||V|| + max E_V`` and
    ``rel = (1 + rho_1) e^(2 Delta) (1 + nu) - 1`` with ``nu = max E_V / (V - E_V)``
    (``inf`` when ``V`` is not safely positive where it is rounded). When the
    projections are exact (integer inputs, sums below 2^53) this is ExactAttention's
    guarantee unchanged.

    **Cost.** ``O(N d_x (d + d_v))`` for the projections, then ``O(N^2 (d' + d_v))``.

    References
    ----------
    F. D. Keles, P. M. Wijewardena, C. Hegde, "On the Computational Complexity
    of Self-Attention", ALT 2023 (the dot-product and ``l2`` self-attention they study).

    Examples
    --------
    >>> from instances.self_attention import random_self_attention
    >>> inst = random_self_attention(6, 3, 2, 1.0, nonnegative_values=True, seed=3)
    >>> oracle = ExactSelfAttention()
    >>> out = oracle(inst, log_space=True)
    >>> out.shape, out.oracle, out.rel_error == oracle.guarantee(inst).rel_error
    ((6, 1), 'exact-selfattn', True)
    >>> oracle(random_self_attention(3, 2, 2, 1.0, seed=0), log_space=True)
    Traceback (most recent call last):
    ...
    ValueError: 'log_space=True' needs V >= 0; 'V' entry ...
    """

    max_bytes: int | None = attrs.field(default=DEFAULT_MAX_BYTES)
    max_seconds: float | None = attrs.field(default=None)

    @property
    def name(self) -> str:
        """``"exact-selfattn"``."""
        return "exact-selfattn"

    def _attention_oracle(self) -> ExactAttention:
        return ExactAttention(max_bytes=self.max_bytes, max_seconds=self.max_seconds)

    def guarantee(self, instance: SelfAttentionInstance) -> Guarantee:
        """The error promised on ``instance`` (see Notes).

        >>> from instances.self_attention import random_self_attention
        >>> g = ExactSelfAttention().guarantee(random_self_attention(8, 3, 2, 1.0, nonnegative_values=True, seed=1))
        >>> 0 < g.rel_error < 1e-10, 0 < g.abs_error < 1e-10
        (True, True)
        """
        inner = self._attention_oracle().guarantee(attention_form(instance))
        abs_in, rel_in = _input_errors(instance)
        rel = (1 + inner.rel_error) * (1 + rel_in) - 1 if math.isfinite(inner.rel_error + rel_in) else math.inf
        return Guarantee(
            abs_error=inner.abs_error + abs_in,
            rel_error=rel,
            description=f"{instance.score} self-attention: projection rounding (abs {abs_in:.2e}) + {inner.description}",
        )

    def cost(self, instance: SelfAttentionInstance) -> Cost:
        """Predicted seconds and peak extra bytes: projections plus exact attention."""
        inner = self._attention_oracle().cost(attention_form(instance))
        N, d_x = instance.tokens.shape
        extra = 8 * N * (2 * (2 * instance.d + 1) + instance.value_columns)
        seconds = inner.seconds + N * d_x * (2 * instance.d + instance.value_columns) * 1e-9
        return Cost(seconds=seconds, peak_bytes=inner.peak_bytes + extra)

    def __call__(self, instance: SelfAttentionInstance, *, log_space: bool = False) -> AttentionOutput:
        """Self-attention of ``instance``: all ``N`` rows, ``d_v`` columns.

        Raises
        ------
        OracleRefusal
            ExactAttention's time, memory or range limits.
        ValueError
            ``log_space=True`` while ``V`` has a negative entry.
        """
        if not isinstance(instance, SelfAttentionInstance):
            raise TypeError(f"'instance' must be a SelfAttentionInstance (got {type(instance).__name__})")
        output = self._attention_oracle()(attention_form(instance), log_space=log_space)
        guarantee = self.guarantee(instance)
        return attrs.evolve(output, abs_error=guarantee.abs_error, rel_error=guarantee.rel_error, oracle=self.name)
