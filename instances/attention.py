"""Attention instances (AAttC / EAttC) and the attention output with its error bound.

An instance holds a query matrix ``Q`` (``n x d``), a key matrix ``K``
(``m x d``) and a value matrix ``V`` (``m x dv``) with every entry bounded by
``B`` in absolute value. The attention it asks for is (Alman & Song 2023,
Def. 1.1-1.2)::

    A = exp(Q K^T / d),   D = diag(A 1),   T = D^-1 A V

so ``d`` (the columns of ``Q``) is the temperature. ``n`` and ``m`` may
differ: the reductions build rectangular instances.

Examples
--------
>>> from instances.attention import AttentionInstance, random_attention
>>> inst = random_attention(4, 2, 1.0, num_keys=3, seed=7)
>>> inst.parameters()
{'n': 4, 'n_keys': 3, 'd': 2, 'B': 1.0}
>>> inst == random_attention(4, 2, 1.0, num_keys=3, seed=7)
True
"""

from __future__ import annotations

import math
import numbers
from functools import cached_property
from typing import Any, ClassVar

import attrs
import numpy as np

from instances._validation import Seed, as_generator, check_int, check_real, readonly, real_matrix
from instances.display import html_block, key_value_table, matrix_preview
from instances.errors import InvalidInstanceError

__all__ = ["AttentionInstance", "AttentionOutput", "random_attention"]


_ARRAY_EQ = attrs.cmp_using(eq=np.array_equal)


def _row_slices(matrix: np.ndarray, nbytes: int = 2**22) -> Any:
    """Consecutive slices of ``matrix``'s rows of about ``nbytes`` bytes each."""
    step = max(1, nbytes // (8 * max(matrix.shape[1], 1)))
    return (matrix[start : start + step] for start in range(0, matrix.shape[0], step))


@attrs.frozen
class AttentionInstance:
    """An attention instance ``(Q, K, V)`` with entries bounded by ``B``.

    Parameters
    ----------
    query : array_like, shape (n, d)
        The queries ``Q``; ``n >= 0``, ``d >= 1``.
    key : array_like, shape (m, d)
        The keys ``K``; ``m >= 1`` (a softmax over no keys is undefined).
    value : array_like, shape (m, dv)
        The values ``V``; ``dv >= 1``.
    bound : float
        ``B >= 0`` with ``|entry| <= B`` for every entry of ``Q``, ``K`` and ``V``.

    Raises
    ------
    InvalidInstanceError
        A non-finite entry, mismatched shapes, or an entry above ``B``; the
        message names the matrix and the position.

    See Also
    --------
    random_attention : bounded random instances.
    AttentionOutput : what an attention oracle returns.

    Notes
    -----
    The matrices are stored as read-only float64 arrays; equality compares
    them entrywise (``numpy.array_equal``) and they take no part in hashing.

    References
    ----------
    J. Alman, Z. Song, "Fast Attention Requires Bounded Entries", NeurIPS 2023,
    Definitions 1.1 and 1.2.

    Examples
    --------
    >>> from instances.attention import AttentionInstance
    >>> inst = AttentionInstance([[1.0, 0.0]], [[0.5, 0.5], [-1.0, 0.0]], [[1.0], [0.0]], 1.0)
    >>> (inst.n, inst.m, inst.d, inst.value_columns, inst.nonnegative_values)
    (1, 2, 2, 1, True)
    >>> AttentionInstance([[0.0, float("nan")]], [[0.0, 0.0]], [[1.0]], 1.0)
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'Q' entry (0, 1) is nan; entries must be finite
    >>> AttentionInstance([[0.0, 2.0]], [[0.0, 0.0]], [[1.0]], 1.0)
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'Q' entry (0, 1) is 2.0, above the bound B = 1.0 in absolute value
    """

    problem: ClassVar[str] = "aattc"

    query: np.ndarray = attrs.field(converter=lambda v: real_matrix("Q", v), eq=_ARRAY_EQ, hash=False, repr=False)
    key: np.ndarray = attrs.field(converter=lambda v: real_matrix("K", v), eq=_ARRAY_EQ, hash=False, repr=False)
    value: np.ndarray = attrs.field(converter=lambda v: real_matrix("V", v), eq=_ARRAY_EQ, hash=False, repr=False)
    bound: float = attrs.field(converter=lambda v: check_real("bound", v, minimum=0))

    def __attrs_post_init__(self) -> None:
        n, d = self.query.shape
        m, key_columns = self.key.shape
        value_rows, value_columns = self.value.shape
        if d < 1:
            raise InvalidInstanceError(f"'Q' must have at least one column (got shape {self.query.shape})")
        if key_columns != d:
            raise InvalidInstanceError(f"'K' must have d = {d} columns like 'Q' (got shape {self.key.shape})")
        if m < 1:
            raise InvalidInstanceError(f"'K' must have at least one row (got shape {self.key.shape})")
        if value_rows != m:
            raise InvalidInstanceError(f"'V' must have m = {m} rows like 'K' (got shape {self.value.shape})")
        if value_columns < 1:
            raise InvalidInstanceError(f"'V' must have at least one column (got shape {self.value.shape})")
        for name, array in (("Q", self.query), ("K", self.key), ("V", self.value)):
            real_matrix(name, array, bound=self.bound)

    @classmethod
    def from_arrays(cls, query: Any, key: Any, value: Any, bound: float | None = None) -> AttentionInstance:
        """Build an instance; ``bound`` defaults to the largest absolute entry.

        >>> AttentionInstance.from_arrays([[1.0, -3.0]], [[0.5, 0.0]], [[2.0]]).bound
        3.0
        """
        if bound is None:
            arrays = [real_matrix(name, a) for name, a in (("Q", query), ("K", key), ("V", value))]
            bound = max((float(np.max(np.abs(a))) for a in arrays if a.size), default=0.0)
            query, key, value = arrays
        return cls(query, key, value, bound)

    def __repr__(self) -> str:
        return (
            f"AttentionInstance(n={self.n}, m={self.m}, d={self.d}, value_columns={self.value_columns}, "
            f"bound={self.bound!r})"
        )

    @property
    def n(self) -> int:
        """Number of queries (rows of ``Q``)."""
        return int(self.query.shape[0])

    @property
    def m(self) -> int:
        """Number of keys (rows of ``K`` and ``V``)."""
        return int(self.key.shape[0])

    @property
    def d(self) -> int:
        """Dimension of queries and keys; the ``1/d`` temperature of ``exp(Q K^T / d)``."""
        return int(self.query.shape[1])

    @property
    def value_columns(self) -> int:
        """Columns ``dv`` of ``V`` (and of the output)."""
        return int(self.value.shape[1])

    @cached_property
    def nonnegative_values(self) -> bool:
        """Whether ``V >= 0`` entrywise (then the output has a relative error and a log form)."""
        return bool(np.all(self.value >= 0))

    @cached_property
    def value_norm(self) -> float:
        """``||V||_inf``, the largest absolute entry of ``V``."""
        return float(np.max(np.abs(self.value)))

    @cached_property
    def key_column_max(self) -> np.ndarray:
        """``max_j |K_jl|`` for each column ``l`` (read-only, length ``d``).

        >>> from instances.attention import AttentionInstance
        >>> AttentionInstance([[0.0, 0.0]], [[0.5, -1.0], [-0.75, 0.0]], [[1.0], [1.0]], 1.0).key_column_max
        array([0.75, 1.  ])
        """
        # the largest and the most negative entry of each column: no temporary the size of K
        return readonly(np.maximum(self.key.max(axis=0, initial=0.0), -self.key.min(axis=0, initial=0.0)))

    @cached_property
    def query_row_l1_max(self) -> float:
        """``max_i sum_l |Q_il|``, the largest 1-norm of a query row (0 without rows).

        >>> from instances.attention import AttentionInstance
        >>> AttentionInstance([[1.0, -2.0], [0.5, 0.0]], [[1.0, 1.0]], [[1.0]], 2.0).query_row_l1_max
        3.0
        """
        largest = 0.0
        with np.errstate(over="ignore"):  # a norm beyond float64 is inf
            for chunk in _row_slices(self.query):  # no temporary the size of Q
                largest = max(largest, float(np.max(np.abs(chunk).sum(axis=1), initial=0.0)))
        return largest

    @cached_property
    def score_bound(self) -> float:
        """Data-aware bound ``R`` on every score: ``|<q_i, k_j>| / d <= R <= B^2``.

        ``R = max_i sum_l |Q_il| max_j |K_jl| / d``, computed in ``O((n + m) d)``;
        ``inf`` when that overflows float64.

        >>> from instances.attention import AttentionInstance
        >>> AttentionInstance([[1.0, -2.0]], [[0.5, 1.0], [-1.0, 0.0]], [[1.0], [1.0]], 2.0).score_bound
        1.5
        """
        if self.n == 0:
            return 0.0
        column_max = self.key_column_max
        largest = 0.0
        with np.errstate(over="ignore", invalid="ignore"):  # scores beyond float64: R = inf
            for chunk in _row_slices(self.query):  # no temporary the size of Q, no BLAS threads
                largest = max(largest, float(np.max((np.abs(chunk) * column_max).sum(axis=1))))
        return largest / self.d

    @cached_property
    def value_log_range(self) -> float:
        """``max |log V_kj|`` over the positive entries of ``V`` (0 when there are none).

        >>> from instances.attention import AttentionInstance
        >>> round(AttentionInstance([[0.0]], [[0.0], [0.0]], [[1e-3], [0.0]], 1.0).value_log_range, 4)
        6.9078
        """
        positive = self.value[self.value > 0]
        return float(np.max(np.abs(np.log(positive)))) if positive.size else 0.0

    def parameters(self) -> dict[str, Any]:
        """The AAttC parameters: ``n`` queries, ``n_keys`` keys (:attr:`m`), ``d`` and ``B``.

        >>> from instances.attention import random_attention
        >>> random_attention(3, 2, 0.5, seed=0).parameters()
        {'n': 3, 'n_keys': 3, 'd': 2, 'B': 0.5}
        """
        return {"n": self.n, "n_keys": self.m, "d": self.d, "B": self.bound}

    def _repr_html_(self) -> str:
        """Notebook display: sizes, the entry bound ``B`` and the first rows and columns of ``Q``, ``K``, ``V``.

        >>> from instances.attention import random_attention
        >>> html = random_attention(20, 3, 1.0, seed=0)._repr_html_()
        >>> "<caption>Q (20 x 3)</caption>" in html, "... 12 more rows" in html
        (True, True)
        """
        facts = {**self.parameters(), "value columns": self.value_columns, "V >= 0": self.nonnegative_values}
        return html_block(
            f"Attention instance: n = {self.n:,}, n_keys = {self.m:,}, d = {self.d:,}, B = {self.bound:g}",
            key_value_table(facts),
            matrix_preview("Q", self.query),
            matrix_preview("K", self.key),
            matrix_preview("V", self.value),
        )


def _optional_matrix(name: str, value: Any, allow_negative_infinity: bool) -> np.ndarray | None:
    if value is None:
        return None
    return real_matrix(name, value, allow_negative_infinity=allow_negative_infinity)


def _error_bound(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"'{name}' must be a real number (got {value!r} of type {type(value).__name__})")
    as_float = float(value)
    if not as_float >= 0:
        raise ValueError(f"'{name}' must be >= 0 or inf (got {value!r})")
    return as_float


def _rows(value: Any) -> np.ndarray | None:
    if value is None:
        return None
    array = np.asarray(value)
    if array.ndim != 1 or not (array.size == 0 or np.issubdtype(array.dtype, np.integer)):
        raise InvalidInstanceError(f"'rows' must be a 1-dimensional array of query indices (got {value!r})")
    if array.size and array.min() < 0:
        raise InvalidInstanceError(f"'rows' must hold indices >= 0 (got {int(array.min())})")
    return readonly(array.astype(np.int64))


@attrs.frozen
class AttentionOutput:
    """An attention answer ``T ~ D^-1 A V`` with the error its oracle guarantees.

    Parameters
    ----------
    values : array_like, shape (r, dv), optional
        The output entries (float64, finite).
    log_values : array_like, shape (r, dv), optional
        Natural logarithms of the output entries, for ``V >= 0`` only; ``-inf``
        exactly where the true entry is 0. This form holds entries far below
        float64's range (``e^-1650``). At least one of ``values`` and
        ``log_values`` is given.
    abs_error : float
        Guaranteed ``|values - T| <= abs_error`` entrywise (``inf`` when not offered).
    rel_error : float
        Guaranteed ``|values - T| <= rel_error |T|`` for every entry with
        ``|T| >= 2^-1022`` (float64's smallest normal), and
        ``log T + log1p(-rel_error) <= log_values <= log T + log1p(rel_error)``
        for every entry (``inf`` when not offered, e.g. for mixed-sign ``V``).
    oracle : str
        Name of the oracle that produced the answer.
    rows : array_like of int, optional
        The query rows answered, in order, when only a subset was asked for;
        ``None`` means all rows ``0..n-1``.

    Raises
    ------
    InvalidInstanceError
        Neither form given, mismatched shapes, NaN or ``+inf`` entries.

    Examples
    --------
    >>> import numpy as np
    >>> from instances.attention import AttentionOutput
    >>> out = AttentionOutput(log_values=[[-1650.0, -np.inf]], rel_error=1e-12, abs_error=1e-12, oracle="exact")
    >>> out.shape
    (1, 2)
    >>> out.log_column(0)
    array([-1650.])
    >>> out.row(0)
    array([0., 0.])
    >>> AttentionOutput(values=[[np.nan]], oracle="exact")
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: 'values' entry (0, 0) is nan; entries must be finite
    """

    values: np.ndarray | None = attrs.field(
        default=None,
        converter=lambda v: _optional_matrix("values", v, False),
        eq=attrs.cmp_using(eq=np.array_equal),
        hash=False,
    )
    log_values: np.ndarray | None = attrs.field(
        default=None,
        converter=lambda v: _optional_matrix("log_values", v, True),
        eq=attrs.cmp_using(eq=np.array_equal),
        hash=False,
    )
    abs_error: float = attrs.field(default=math.inf, converter=lambda v: _error_bound("abs_error", v))
    rel_error: float = attrs.field(default=math.inf, converter=lambda v: _error_bound("rel_error", v))
    oracle: str = attrs.field(default="", validator=attrs.validators.instance_of(str))
    rows: np.ndarray | None = attrs.field(
        default=None, converter=_rows, eq=attrs.cmp_using(eq=np.array_equal), hash=False
    )

    def __attrs_post_init__(self) -> None:
        if self.values is None and self.log_values is None:
            raise InvalidInstanceError("an AttentionOutput needs 'values' or 'log_values'")
        if self.values is not None and self.log_values is not None and self.values.shape != self.log_values.shape:
            raise InvalidInstanceError(
                f"'values' has shape {self.values.shape} but 'log_values' has shape {self.log_values.shape}"
            )
        if self.rows is not None and self.rows.shape[0] != self.shape[0]:
            raise InvalidInstanceError(f"'rows' names {self.rows.shape[0]} queries for {self.shape[0]} output rows")

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, value columns)`` of the output."""
        array = self.values if self.values is not None else self.log_values
        assert array is not None
        return (int(array.shape[0]), int(array.shape[1]))

    def row(self, i: int) -> np.ndarray:
        """Output row ``i`` as float64 values (exponentiated from ``log_values`` if needed;
        entries below float64's range then read 0).

        >>> from instances.attention import AttentionOutput
        >>> AttentionOutput(values=[[0.25, 0.75]], oracle="x").row(0)
        array([0.25, 0.75])
        """
        i = check_int("i", i, minimum=-self.shape[0], maximum=self.shape[0] - 1)
        if self.values is not None:
            return self.values[i].copy()
        assert self.log_values is not None
        return np.exp(self.log_values[i])

    def log_column(self, j: int) -> np.ndarray:
        """Natural logarithms of output column ``j`` (``-inf`` for zero entries).

        Taken from ``log_values`` when present, else the log of ``values``
        (which needs nonnegative values, and loses the relative guarantee for
        entries below 2^-1022).

        >>> from instances.attention import AttentionOutput
        >>> AttentionOutput(values=[[1.0], [0.0]], oracle="x").log_column(0)
        array([  0., -inf])
        >>> AttentionOutput(values=[[-1.0]], oracle="x").log_column(0)
        Traceback (most recent call last):
        ...
        ValueError: 'values' column 0 has the negative entry -1.0 at row 0; it has no logarithm
        """
        j = check_int("j", j, minimum=-self.shape[1], maximum=self.shape[1] - 1)
        if self.log_values is not None:
            return self.log_values[:, j].copy()
        assert self.values is not None
        column = self.values[:, j]
        negative = np.flatnonzero(column < 0)
        if negative.size:
            row = int(negative[0])
            raise ValueError(
                f"'values' column {j} has the negative entry {float(column[row])!r} at row {row}; it has no logarithm"
            )
        with np.errstate(divide="ignore"):
            return np.log(column)


def random_attention(
    n: int,
    d: int,
    bound: float,
    *,
    num_keys: int | None = None,
    value_columns: int | None = None,
    nonnegative_values: bool = False,
    seed: Seed = None,
) -> AttentionInstance:
    """A random instance with entries uniform in ``[-B, B]`` (``V`` in ``[0, B]`` if asked).

    Parameters
    ----------
    n : int
        Number of queries, ``>= 0``.
    d : int
        Dimension of queries and keys, ``>= 1``.
    bound : float
        The entry bound ``B >= 0``.
    num_keys : int, optional
        Number of keys ``m >= 1``; defaults to ``n`` (or 1 when ``n = 0``).
    value_columns : int, optional
        Columns of ``V``; defaults to ``d``.
    nonnegative_values : bool
        Draw ``V`` from ``[0, B]`` instead of ``[-B, B]``.
    seed : int, numpy Generator or None
        Randomness; the same seed gives an equal instance.

    Returns
    -------
    AttentionInstance

    Examples
    --------
    >>> from instances.attention import random_attention
    >>> inst = random_attention(5, 3, 2.0, value_columns=1, nonnegative_values=True, seed=1)
    >>> inst.value.shape, bool(inst.value.min() >= 0), float(abs(inst.query).max()) <= 2.0
    ((5, 1), True, True)
    >>> random_attention(2, 0, 1.0)
    Traceback (most recent call last):
    ...
    ValueError: 'd' must be >= 1 (got 0)
    """
    n = check_int("n", n, minimum=0)
    d = check_int("d", d, minimum=1)
    bound = check_real("bound", bound, minimum=0)
    m = check_int("num_keys", num_keys, minimum=1) if num_keys is not None else max(n, 1)
    dv = check_int("value_columns", value_columns, minimum=1) if value_columns is not None else d
    if not isinstance(nonnegative_values, bool):
        raise TypeError(f"'nonnegative_values' must be a bool (got {nonnegative_values!r})")
    rng = as_generator(seed)
    query = rng.uniform(-bound, bound, size=(n, d))
    key = rng.uniform(-bound, bound, size=(m, d))
    value = rng.uniform(0.0 if nonnegative_values else -bound, bound, size=(m, dv))
    # uniform(-B, B) can land on B exactly only through rounding; clip to keep |entry| <= B.
    return AttentionInstance(
        np.clip(query, -bound, bound), np.clip(key, -bound, bound), np.clip(value, -bound, bound), bound
    )
