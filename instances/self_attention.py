"""Self-attention instances: one token sequence and three weight matrices.

A self-attention instance holds tokens ``X`` (``N x d_x``) and weights
``W_Q``, ``W_K`` (``d_x x d``) and ``W_V`` (``d_x x d_v``). With
``Q = X W_Q``, ``K = X W_K``, ``V = X W_V`` every token attends to every token
(softmax over all ``N``), under one of two score functions (Keles, Wijewardena,
Hegde 2023 study both)::

    dot:  s_ij =  <q_i, k_j> / d
    l2:   s_ij = -||q_i - k_j||^2 / d

and the output is ``T = softmax_rows(S) V`` (``N x d_v``), returned as an
:class:`~instances.attention.AttentionOutput`.

Examples
--------
>>> from instances.self_attention import SelfAttentionInstance
>>> inst = SelfAttentionInstance([[1.0, 0.0], [0.0, 1.0]], [[1.0], [0.0]], [[1.0], [0.0]], [[0.0], [1.0]], 1.0)
>>> inst.parameters()
{'N': 2, 'd_x': 2, 'd': 1, 'd_v': 1, 'B': 1.0}
>>> [m.tolist() for m in inst.projections()]
[[[1.0], [0.0]], [[1.0], [0.0]], [[0.0], [1.0]]]
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

import attrs
import numpy as np

from instances._validation import Seed, as_generator, check_int, check_real, real_matrix
from instances.errors import InvalidInstanceError

__all__ = ["SelfAttentionInstance", "SCORES", "random_self_attention"]

SCORES = ("dot", "l2")
"""The score functions: scaled dot product and negative scaled squared distance."""


_ARRAY_EQ = attrs.cmp_using(eq=np.array_equal)


def _check_score(_instance: Any, _attribute: Any, value: Any) -> None:
    if value not in SCORES:
        raise ValueError(f"'score' must be one of {', '.join(map(repr, SCORES))} (got {value!r})")


@attrs.frozen
class SelfAttentionInstance:
    """Self-attention ``softmax(S(X W_Q, X W_K)) X W_V`` with entries bounded by ``B``.

    Parameters
    ----------
    tokens : array_like, shape (N, d_x)
        The sequence ``X``; ``N >= 1``, ``d_x >= 1``.
    query_weights, key_weights : array_like, shape (d_x, d)
        ``W_Q`` and ``W_K``; ``d >= 1`` (the temperature of the scores).
    value_weights : array_like, shape (d_x, d_v)
        ``W_V``; ``d_v >= 1``.
    bound : float
        ``B >= 0`` with ``|entry| <= B`` for every entry of ``X``, ``W_Q``, ``W_K`` and ``W_V``.
    score : {"dot", "l2"}
        ``<q, k>/d`` or ``-||q - k||^2/d``.

    Raises
    ------
    InvalidInstanceError
        Mismatched shapes, a non-finite entry, or an entry above ``B``.

    Examples
    --------
    >>> SelfAttentionInstance([[1.0]], [[1.0]], [[1.0, 0.0]], [[1.0]], 1.0)
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'W_K' must have shape (1, 1) like 'W_Q' (got (1, 2))
    >>> SelfAttentionInstance([[1.0]], [[1.0]], [[1.0]], [[1.0]], 1.0, score="cosine")
    Traceback (most recent call last):
    ...
    ValueError: 'score' must be one of 'dot', 'l2' (got 'cosine')
    """

    problem: ClassVar[str] = "selfattn"

    tokens: np.ndarray = attrs.field(converter=lambda v: real_matrix("X", v), eq=_ARRAY_EQ, hash=False, repr=False)
    query_weights: np.ndarray = attrs.field(
        converter=lambda v: real_matrix("W_Q", v), eq=_ARRAY_EQ, hash=False, repr=False
    )
    key_weights: np.ndarray = attrs.field(
        converter=lambda v: real_matrix("W_K", v), eq=_ARRAY_EQ, hash=False, repr=False
    )
    value_weights: np.ndarray = attrs.field(
        converter=lambda v: real_matrix("W_V", v), eq=_ARRAY_EQ, hash=False, repr=False
    )
    bound: float = attrs.field(converter=lambda v: check_real("bound", v, minimum=0))
    score: str = attrs.field(default="dot", validator=_check_score)

    def __attrs_post_init__(self) -> None:
        N, d_x = self.tokens.shape
        if N < 1:
            raise InvalidInstanceError(f"'X' must have at least one token (got shape {self.tokens.shape})")
        if d_x < 1:
            raise InvalidInstanceError(f"'X' must have at least one column (got shape {self.tokens.shape})")
        rows, d = self.query_weights.shape
        if rows != d_x or d < 1:
            raise InvalidInstanceError(
                f"'W_Q' must have d_x = {d_x} rows and at least one column (got shape {self.query_weights.shape})"
            )
        if self.key_weights.shape != self.query_weights.shape:
            raise InvalidInstanceError(
                f"'W_K' must have shape {self.query_weights.shape} like 'W_Q' (got {self.key_weights.shape})"
            )
        if self.value_weights.shape[0] != d_x or self.value_weights.shape[1] < 1:
            raise InvalidInstanceError(
                f"'W_V' must have d_x = {d_x} rows and at least one column (got shape {self.value_weights.shape})"
            )
        for name, array in (
            ("X", self.tokens),
            ("W_Q", self.query_weights),
            ("W_K", self.key_weights),
            ("W_V", self.value_weights),
        ):
            real_matrix(name, array, bound=self.bound)

    @classmethod
    def from_arrays(
        cls,
        tokens: Any,
        query_weights: Any,
        key_weights: Any,
        value_weights: Any,
        *,
        score: str = "dot",
        bound: float | None = None,
    ) -> SelfAttentionInstance:
        """Build an instance; ``bound`` defaults to the largest absolute entry.

        >>> SelfAttentionInstance.from_arrays([[2.0]], [[1.0]], [[-3.0]], [[1.0]], score="l2").bound
        3.0
        """
        if bound is None:
            arrays = [
                real_matrix(n, a)
                for n, a in (("X", tokens), ("W_Q", query_weights), ("W_K", key_weights), ("W_V", value_weights))
            ]
            bound = max((float(np.max(np.abs(a))) for a in arrays if a.size), default=0.0)
            tokens, query_weights, key_weights, value_weights = arrays
        return cls(tokens, query_weights, key_weights, value_weights, bound, score)

    def __repr__(self) -> str:
        p = self.parameters()
        return (
            f"SelfAttentionInstance(N={p['N']}, d_x={p['d_x']}, d={p['d']}, d_v={p['d_v']}, "
            f"B={p['B']!r}, score={self.score!r})"
        )

    @property
    def num_tokens(self) -> int:
        """``N``, the sequence length (queries and keys alike)."""
        return int(self.tokens.shape[0])

    @property
    def d(self) -> int:
        """Head dimension: columns of ``W_Q`` and ``W_K``, the ``1/d`` of the scores."""
        return int(self.query_weights.shape[1])

    @property
    def value_columns(self) -> int:
        """``d_v``, columns of ``W_V`` and of the output."""
        return int(self.value_weights.shape[1])

    def projections(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(Q, K, V) = (X W_Q, X W_K, X W_V)`` in float64 (read-only copies).

        Exact when every entry is an integer and every row sum of ``|X||W|`` is
        below 2^53; otherwise rounded (``solvers.attention.self_attention`` bounds the effect).
        """
        result = []
        for weights in (self.query_weights, self.key_weights, self.value_weights):
            product = self.tokens @ weights
            product.flags.writeable = False
            result.append(product)
        return result[0], result[1], result[2]

    @cached_property
    def nonnegative_values(self) -> bool:
        """Whether the computed ``V = X W_V`` is ``>= 0`` entrywise (then outputs have a log form)."""
        return bool(np.all(self.tokens @ self.value_weights >= 0))

    def parameters(self) -> dict[str, Any]:
        """The parameters ``N``, ``d_x``, ``d``, ``d_v`` and ``B``.

        >>> random_self_attention(5, 3, 2, 1.0, seed=0).parameters()
        {'N': 5, 'd_x': 3, 'd': 2, 'd_v': 1, 'B': 1.0}
        """
        return {
            "N": self.num_tokens,
            "d_x": int(self.tokens.shape[1]),
            "d": self.d,
            "d_v": self.value_columns,
            "B": self.bound,
        }


def random_self_attention(
    num_tokens: int,
    token_dimension: int,
    head_dimension: int,
    bound: float,
    *,
    value_columns: int = 1,
    score: str = "dot",
    nonnegative_values: bool = False,
    seed: Seed = None,
) -> SelfAttentionInstance:
    """Random instance with entries uniform in ``[-B, B]`` (``X`` and ``W_V`` in ``[0, B]`` if asked).

    >>> random_self_attention(4, 3, 2, 0.5, score="l2", seed=7) == random_self_attention(4, 3, 2, 0.5, score="l2", seed=7)
    True
    >>> random_self_attention(4, 3, 2, 0.5, nonnegative_values=True, seed=7).nonnegative_values
    True
    """
    num_tokens = check_int("num_tokens", num_tokens, minimum=1)
    token_dimension = check_int("token_dimension", token_dimension, minimum=1)
    head_dimension = check_int("head_dimension", head_dimension, minimum=1)
    value_columns = check_int("value_columns", value_columns, minimum=1)
    bound = check_real("bound", bound, minimum=0)
    if score not in SCORES:
        raise ValueError(f"'score' must be one of {', '.join(map(repr, SCORES))} (got {score!r})")
    rng = as_generator(seed)
    low = 0.0 if nonnegative_values else -bound
    tokens = rng.uniform(low, bound, size=(num_tokens, token_dimension))
    query_weights = rng.uniform(-bound, bound, size=(token_dimension, head_dimension))
    key_weights = rng.uniform(-bound, bound, size=(token_dimension, head_dimension))
    value_weights = rng.uniform(low, bound, size=(token_dimension, value_columns))
    return SelfAttentionInstance(tokens, query_weights, key_weights, value_weights, bound, score)
