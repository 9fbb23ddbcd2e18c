"""Integer matrix multiplication -> AAttC in dimension ``d + 1`` (``matmul-aattc``).

The product is put in the scores: queries are the rows of ``A``, keys the
columns of ``B``, both divided by a power of two ``w >= W`` so that every entry
is at most 1, beside one dummy key at 0; the values are the identity. The output
row of query ``i`` is then the softmax row itself, and
``P_ij = S (log T_ij - log T_i,dummy)`` with ``S = w^2 (d + 1)``: one
attention call, bounded entries, dimension ``d + 1``. An attention algorithm
much faster than ``T_MUL(n, d, n)`` at ``d = poly(n)`` would multiply integer
matrices that fast, which is the shape of Gupta, Huang, Saha, Xu and Ye's
(2025) Theorem 1.5.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np
import sympy

from instances._validation import check_int
from instances.attention import AttentionInstance, AttentionOutput
from instances.errors import NotAWitnessError, OracleContradiction, OracleRefusal, SolverBudgetExceeded
from instances.matmul import MatMulInstance, MatrixProduct
from reductions.core import ParameterMap, Reduced, Reduction
from reductions.problems import problem_symbols

__all__ = ["MatMulToAttention", "ProductReadout", "product_readout", "DEFAULT_MAX_BYTES"]

_U = 2.0**-53  # float64 unit roundoff
DEFAULT_MAX_BYTES = 2**30
"""Default limit on the attention instance ``matmul-aattc`` builds (``Q``, ``K`` and ``V`` in float64)."""


@attrs.frozen
class ProductReadout:
    """Exact read-back of ``P = A B`` from attention outputs, with the margin that makes it exact.

    Attributes
    ----------
    rows, columns : int
        ``n_a`` and ``n_b``; the output has ``n_b + 1`` columns, the last one the dummy's.
    scale : int
        ``S = w^2 (d + 1)``: ``P_ij = S (log T_ij - log T_i,dummy)``.
    product_bound : int
        ``d W^2``, a bound on ``|P_ij|``.
    smallest_output : float
        ``t = e^-1 / (1 + n_b e)``, a lower bound on every output entry.
    tolerated_log_error : float
        ``lambda*``: a per-entry error of ``log T`` below it reads every ``P_ij`` exactly
        (see :func:`product_readout`).

    Examples
    --------
    >>> r = product_readout(2, 3, dimension=4, entry_bound=3)
    >>> r.scale, r.product_bound
    (80, 36)
    >>> f"{r.tolerated_rel_error:.3g}", f"{r.tolerated_abs_error:.3g}"
    ('0.00312', '0.000125')
    >>> r.check(AttentionOutput(values=np.full((2, 4), 0.25), abs_error=1e-3, oracle="x"))
    Traceback (most recent call last):
    ...
    instances.errors.OracleRefusal: oracle 'x' guarantees absolute error 0.001 and relative error inf; reading the product exactly needs absolute error below 0.000125 or relative error below 0.00312 (outputs are >= 0.0402, products up to 36 are read as 80 (log T_ij - log T_i,dummy))
    """

    rows: int
    columns: int
    scale: int
    product_bound: int
    smallest_output: float
    tolerated_log_error: float

    @property
    def tolerated_rel_error(self) -> float:
        """Largest relative error (exclusive) that still reads exactly: ``1 - e^-lambda*``."""
        return -math.expm1(-self.tolerated_log_error)

    @property
    def tolerated_abs_error(self) -> float:
        """Largest absolute error (exclusive) that still reads exactly: ``t (1 - e^-lambda*)``."""
        return self.smallest_output * self.tolerated_rel_error

    def log_error(self, answer: AttentionOutput) -> float:
        """The per-entry error of ``log T`` that ``answer``'s stated guarantee implies (``inf`` if none).

        A relative error ``rho < 1`` bounds it by ``-log1p(-rho)``; an absolute
        error ``eps < t`` by ``-log1p(-eps / t)`` (every entry is ``>= t``).
        """
        bounds = [math.inf]
        if answer.rel_error < 1:
            bounds.append(-math.log1p(-answer.rel_error))
        if answer.abs_error < self.smallest_output:
            bounds.append(-math.log1p(-answer.abs_error / self.smallest_output))
        return min(bounds)

    def check(self, answer: AttentionOutput) -> None:
        """Raise :class:`OracleRefusal` unless the stated error keeps every read product within 1/2."""
        if self.log_error(answer) < self.tolerated_log_error:
            return
        raise OracleRefusal(
            f"oracle {answer.oracle!r} guarantees absolute error {answer.abs_error:.3g} and relative error "
            f"{answer.rel_error:.3g}; reading the product exactly needs absolute error below "
            f"{self.tolerated_abs_error:.3g} or relative error below {self.tolerated_rel_error:.3g} "
            f"(outputs are >= {self.smallest_output:.3g}, products up to {self.product_bound} are read as "
            f"{self.scale} (log T_ij - log T_i,dummy))"
        )

    def read(self, answer: AttentionOutput) -> np.ndarray:
        """Check the guarantee, then ``round(S (log T_ij - log T_i,dummy))`` as an ``int64`` array.

        Raises :class:`NotAWitnessError` for an output of the wrong shape or rows,
        :class:`OracleRefusal` for a guarantee too loose, and
        :class:`OracleContradiction` for an entry the guarantee rules out
        (not positive, or a product beyond ``d W^2``).
        """
        if not isinstance(answer, AttentionOutput):
            raise TypeError(f"'answer' must be an AttentionOutput (got {type(answer).__name__})")
        if answer.rows is not None and not np.array_equal(answer.rows, np.arange(self.rows)):
            raise NotAWitnessError(
                f"the answer covers rows {answer.rows.tolist()}; the read-back needs rows 0..{self.rows - 1}"
            )
        if answer.shape != (self.rows, self.columns + 1):
            raise NotAWitnessError(
                f"the attention output has shape {answer.shape}; the read-back needs ({self.rows}, {self.columns + 1})"
            )
        self.check(answer)
        who = answer.oracle or "the attention oracle"
        if answer.log_values is not None:
            logs = np.asarray(answer.log_values, dtype=np.float64)
        else:
            assert answer.values is not None
            values = np.asarray(answer.values, dtype=np.float64)
            if values.size and values.min() <= 0:
                position = tuple(int(x) for x in np.argwhere(values <= 0)[0])
                raise OracleContradiction(
                    f"{who!r} gave output entry {position} = {float(values[position])!r}; with its stated error "
                    f"every entry is > 0 (the exact ones are >= {self.smallest_output:.3g}): the answer is wrong"
                )
            logs = np.log(values)
        if logs.size and not np.isfinite(logs).all():
            position = tuple(int(x) for x in np.argwhere(~np.isfinite(logs))[0])
            raise OracleContradiction(
                f"{who!r} gave output entry {position} log value {float(logs[position])!r}; every exact entry is "
                f">= {self.smallest_output:.3g}: the answer is wrong"
            )
        read = np.rint((logs[:, : self.columns] - logs[:, self.columns :]) * float(self.scale))
        if read.size and np.abs(read).max() > self.product_bound:
            position = tuple(int(x) for x in np.argwhere(np.abs(read) > self.product_bound)[0])
            raise OracleContradiction(
                f"{who!r} gave outputs that read product entry {position} as {int(read[position])}, beyond "
                f"d W^2 = {self.product_bound}: the answer is wrong"
            )
        return read.astype(np.int64)


def product_readout(rows: int, columns: int, *, dimension: int, entry_bound: int) -> ProductReadout:
    """The read-back of an ``n_a x d`` times ``d x n_b`` product with entries at most ``W``.

    Notes
    -----
    With ``w = 2^ceil(log2 W)``, ``S = w^2 (d + 1)`` and ``P_max = d W^2 < S``,
    every score ``P_ij / S`` lies in ``(-1, 1)``, so every output entry is at
    least ``t = e^-1 / (1 + n_b e)`` and ``|log T| <= Lambda = 2 + log(1 + n_b e)``.
    Reading ``P~ = fl(fl(x_ij - x_i,dummy) S)`` from logarithms ``x`` each
    within ``lambda`` of the exact ones (and, when they are computed from
    values, rounded within ``4 u Lambda``) errs by at most
    ``S (2 lambda + 12 u Lambda) + 2 u (P_max + 1)``. Below 1/2 the rounding is
    exact, so::

        lambda* = (1/2 - 2 u (P_max + 1) - 12 u Lambda S) / (2 S)

    Raises :class:`~instances.errors.InvalidInstanceError` when
    ``lambda* <= 0``: float64 cannot hold the read-back of products that large,
    whatever the oracle (``S`` near ``2^46`` and beyond).

    >>> product_readout(1, 1, dimension=1, entry_bound=1).scale
    2
    >>> product_readout(1, 1, dimension=2**10, entry_bound=2**20)
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: matmul-aattc reads products of size d W^2 = 1125899906842624 as S = 1126999418470400 (log T_ij - log T_i,dummy); float64 cannot do that exactly (needs S below about 2^46)
    """
    from instances.errors import InvalidInstanceError

    rows = check_int("rows", rows, minimum=0)
    columns = check_int("columns", columns, minimum=0)
    dimension = check_int("dimension", dimension, minimum=0)
    entry_bound = check_int("entry_bound", entry_bound, minimum=1)
    power = 1 << (entry_bound - 1).bit_length()  # w = 2^ceil(log2 W)
    scale = power * power * (dimension + 1)
    product_bound = dimension * entry_bound**2
    smallest = math.exp(-1.0) / (1.0 + columns * math.e) * (1 - 4 * _U)
    log_range = 2.0 + math.log1p(columns * math.e)
    slack = 0.5 - 2 * _U * (product_bound + 1) - 12 * _U * log_range * scale
    if slack <= 0:
        raise InvalidInstanceError(
            f"matmul-aattc reads products of size d W^2 = {product_bound} as S = {scale} "
            "(log T_ij - log T_i,dummy); float64 cannot do that exactly (needs S below about 2^46)"
        )
    return ProductReadout(rows, columns, scale, product_bound, smallest, slack / (2 * scale))


def _max_bytes(value: Any) -> int:
    return check_int("max_bytes", value, minimum=0)


@attrs.frozen
class MatMulToAttention(Reduction):
    """Integer matrix multiplication -> AAttC: ``P_ij = S (log T_ij - log T_i,dummy)``.

    A reconstruction from the statement of Gupta et al.'s Theorem 1.5, not
    from its proof (see References).

    Parameters
    ----------
    max_bytes : int
        Refuse (:class:`~instances.errors.SolverBudgetExceeded`) to build an
        attention instance whose ``Q``, ``K`` and ``V`` would take more bytes
        (predicted with Python integers before anything is allocated; 1 GiB by default).

    Notes
    -----
    **Construction.** ``D = d + 1`` columns, ``w = 2^ceil(log2 W)``; for row
    ``a_i`` of ``A`` and column ``b_j`` of ``B``::

        q_i = [a_i / w, 0]        k_j = [b_j / w, 0]  (j < n_b)        k_dummy = 0
        V   = identity of size n_b + 1

    Dividing integers by a power of two is exact, so the stored instance *is*
    the intended one: its scores are ``<q_i, k_j> / D = P_ij / S`` with
    ``S = w^2 (d + 1)``, the dummy's score is 0, and every entry is at most 1
    (``B = 1``). The zero column makes ``D >= 1`` when ``d = 0``.

    **Correctness.** With ``V = I`` the output is the softmax matrix:
    ``T_ij = e^(P_ij / S) / Z_i`` and ``T_i,dummy = 1 / Z_i``, so
    ``P_ij = S (log T_ij - log T_i,dummy)`` exactly. Since ``|P_ij| <= d W^2 < S``,
    every score is in ``(-1, 1)`` and every entry is at least
    ``t = e^-1 / (1 + n_b e)``: an absolute error ``eps`` is a relative error
    ``eps / t``. :func:`product_readout` gives the per-entry log error
    ``lambda*`` below which the rounded read-back is exact; ``backward`` checks
    the oracle's stated ``abs_error`` / ``rel_error`` against it and refuses
    otherwise (:class:`~instances.errors.OracleRefusal`). The margin is ``1/2``
    around each integer, so the oracle needs relative precision about
    ``1 / (4 S) = 1 / (4 w^2 (d + 1))``: ``1/poly(n)`` for ``W, d = poly(n)``,
    the precision AAttC grants.

    **Sizes.** ``n = n_a``, ``n_keys = n_b + 1``, ``d = d + 1``, ``B = 1``; ``V``
    has ``n_b + 1`` columns. One attention call reads the whole product. The
    standard algorithm spends ``T_MUL(n_a, d + 1, n_b + 1)`` on the scores and
    ``n_a (n_b + 1)^2`` on ``V = I``; for ``d >= n`` (``d = poly(n)``) the
    first term is the larger, and an attention algorithm in
    ``T_MUL(n, d, n)^(1 - eps)`` would multiply ``n x d`` by ``d x n`` integer
    matrices as fast, plus ``O(n^2 + n d)`` for building and reading.

    References
    ----------
    H. Gupta, B. Huang, B. Saha, Y. Xu, C. Ye, "Subquadratic Algorithms and
    Hardness for Attention with Any Temperature", 2025, Theorem 1.5 (attention
    at ``d = poly(n)`` needs ``T_MUL(n, d, n)^(1 - o(1))`` time). Only the
    statement is followed; the construction, the error analysis and the
    identity value matrix are this project's reconstruction.

    Examples
    --------
    >>> from solvers.attention.exact import ExactAttention
    >>> inst = MatMulInstance([[1, -2], [0, 3]], [[4, 0, -1], [1, 1, 2]])
    >>> reduced = MatMulToAttention().forward(inst)
    >>> reduced.target.parameters()
    {'n': 2, 'n_keys': 4, 'd': 3, 'B': 1.0}
    >>> reduced.backward(ExactAttention()(reduced.target, log_space=True)).entries.tolist()
    [[2, -2, -5], [3, 3, 6]]
    """

    name: ClassVar[str] = "matmul-aattc"
    source: ClassVar[str] = "matmul"
    target: ClassVar[str] = "aattc"

    max_bytes: int = attrs.field(default=DEFAULT_MAX_BYTES, converter=_max_bytes)

    def predicted_bytes(self, instance: MatMulInstance) -> int:
        """Bytes of the attention instance's ``Q``, ``K`` and ``V`` (float64), as a Python int.

        >>> MatMulToAttention().predicted_bytes(MatMulInstance([[1, 2]], [[1], [2]]))
        104
        """
        (n_a, n_b), columns = instance.shape, instance.dimension + 1
        return 8 * (n_a * columns + (n_b + 1) * columns + (n_b + 1) ** 2)

    def _forward(self, instance: MatMulInstance) -> tuple[AttentionInstance, Mapping[str, Any], Mapping[str, Any]]:
        (n_a, n_b), d = instance.shape, instance.dimension
        readout = product_readout(n_a, n_b, dimension=d, entry_bound=instance.entry_bound)
        needed = self.predicted_bytes(instance)
        if needed > self.max_bytes:
            raise SolverBudgetExceeded(
                f"matmul-aattc would build an attention instance of {needed} bytes "
                f"(n = {n_a}, n_keys = {n_b + 1}, d = {d + 1}, V of {n_b + 1}^2 entries); the limit is {self.max_bytes}"
            )
        power = float(1 << (instance.entry_bound - 1).bit_length())
        query = np.zeros((n_a, d + 1))
        query[:, :d] = instance.a / power
        key = np.zeros((n_b + 1, d + 1))
        key[:n_b, :d] = instance.b.T / power
        value = np.eye(n_b + 1)
        target = AttentionInstance(query, key, value, 1.0)
        info = {
            "scale": readout.scale,
            "tolerated_rel_error": readout.tolerated_rel_error,
            "tolerated_abs_error": readout.tolerated_abs_error,
        }
        return target, {"readout": readout}, info

    def backward(self, reduced: Reduced, answer: AttentionOutput) -> MatrixProduct:
        """The product read from the output, exact once the stated error is checked against the margin."""
        readout: ProductReadout = reduced.decoding["readout"]
        return MatrixProduct(readout.read(answer))

    def parameters(self) -> ParameterMap:
        s = problem_symbols("matmul")
        return ParameterMap(
            "matmul", "aattc", {"n": s["n_a"], "n_keys": s["n_b"] + 1, "d": s["d"] + 1, "B": sympy.Integer(1)}
        )
