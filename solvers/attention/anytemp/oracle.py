"""Attention at any temperature for constant ``d``: window near the row maximum, polynomials, halfspace sums.

:class:`AnyTemperatureAttention` answers AAttC instances whose entries may be
large (``B`` in the hundreds or thousands: temperature far below 1), in time
that grows with ``B`` only through the shape of the key set, not through a
polynomial degree. It is meant for small head dimension ``d`` (1, 2, 3).

**What follows the paper.** Gupta, Huang, Saha, Xu and Ye (2025) give, for
every constant ``d``, an ``O~(n^(2 - 1/d) polylog B)`` algorithm for attention
with arbitrary entries. The ideas used here are the ones their abstract and the
``n^(2 - 1/d)`` bound point to: (1) after shifting each row by its maximum
logit ``M_q``, only keys with logit in the *window* ``[M_q - w, M_q]``,
``w ~ log(n/eps)``, matter, and the window is a halfspace in key space; (2) on
the window, ``e^x`` is replaced by a polynomial, whose expansion in monomials
of the key coordinates turns the window sums into halfspace range sums of
``k^alpha v``; (3) a halfspace range-sum structure answers each query in
sublinear time, for ``n^(2 - 1/d)`` in all.

**What is reconstructed here** (not taken from the paper; its full text was
not at hand): the data structure is a kd-tree whose nodes store *centred*
moments (:class:`~solvers.attention.anytemp.halfspace.KDTreeHalfspace`) rather than a
partition tree; the polynomial is chosen *per query and node*: a truncated
Chebyshev series of ``e^t`` on the node's logit range ``[-rho, rho]`` about its
centre, of the least degree meeting a per-key tolerance, instead of one
polynomial on the whole window (one polynomial of degree ``~ w`` on the window
would need ``C(d + w, d)`` monomials per node, far more for ``d >= 2``); nodes
whose keys all lie below the window are dropped, leaves that the window's
bounds cut are summed exactly; the row maximum comes from sorting (``d = 1``)
or branch and bound in the same tree (``d >= 2``, first bound from extreme
keys, which lie on the convex hull); the error bound below and its constants.
The kd-tree's crossing number gives ``m^(1/2)`` cells per hyperplane for
``d = 2`` but only ``m^0.86`` for ``d = 3`` (partition trees reach
``m^(2/3)``), so the worst-case exponent here is ``1.5`` for ``d = 2`` and
about ``1.86`` for ``d = 3``; for fixed ``B`` and growing ``n`` the nodes a query
accepts hold more and more keys and the cost per query approaches ``log n``.

**Measured** (``reductions bench oracles --anytemp --full``: random instances,
exact attention timed on sampled rows and scaled, best of 2, the project's
2-core machine): at ``d = 1``, ``n = 2^16``, ``B = 100`` about 0.15 s against
14 s for exact attention (85-107x over runs). At ``B = 100`` the time grows
about linearly in ``n`` for ``d = 2, 3`` (fitted exponents 0.94 and 1.02 over
``2^11 .. 2^16``; 49x and 25x faster than exact at ``2^16``). The hard
temperatures are moderate, ``B`` about 3 to 10: the window then holds a large
share of the keys while nodes are too wide for low-degree polynomials, so many
keys are summed exactly in leaves (``d = 2``) or through degree-12 polynomials
(``d = 3``). At ``B = 10`` the fitted exponents over ``2^11 .. 2^17`` were 1.27
(``d = 2``) and 1.42 (``d = 3``, last three points 1.69, the kd-tree's weaker
crossing number showing), against the theory's 1.5 and 1.67; exact attention
is overtaken near ``n = 11,800`` and ``37,000``. Against ``B`` from 1 to
``10^4`` at ``n = 2^14`` the time stays within a factor 2.0, 3.3 and 2.2
(``d = 1, 2, 3``), highest at ``B = 3``-``10`` and back to the ``B = 1`` level
from ``B = 30`` on.

**Interface.** The instance asks for ``exp(Q K^T / d)`` (Alman-Song's ``1/d``);
the halfspace structure works with plain inner products, so queries are
converted as ``q -> q / d`` at the interface.

Examples
--------
>>> import numpy as np
>>> from instances.attention import random_attention
>>> from solvers.attention.anytemp.oracle import AnyTemperatureAttention
>>> from solvers.attention.exact import ExactAttention
>>> inst = random_attention(300, 2, 30.0, seed=0)  # scores up to 900: far beyond the polynomial method
>>> out = AnyTemperatureAttention()(inst)
>>> error = float(np.max(np.abs(out.values - ExactAttention()(inst).values)))
>>> error <= out.abs_error <= 1e-6 * inst.value_norm
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import attrs
import numpy as np

from instances._validation import check_int
from instances.attention import AttentionInstance, AttentionOutput
from instances.errors import OracleRefusal
from solvers.attention.anytemp.halfspace import (
    BruteForceHalfspace,
    ChebyshevTable,
    ExpSumStats,
    KDTreeHalfspace,
    monomial_count,
)
from solvers.attention.exact import ExactAttention
from solvers.attention.oracle import DEFAULT_MAX_BYTES, Cost, Guarantee, check_budget, query_rows

__all__ = ["AnyTemperatureAttention", "DEFAULT_DEGREE", "DEFAULT_LEAF_SIZE"]

_U = 2.0**-53

DEFAULT_DEGREE: dict[int, int] = {1: 14, 2: 12, 3: 12}
"""Largest polynomial degree per node by dimension (monomials ``C(d+g, g)`` = 15, 91, 455)."""

DEFAULT_LEAF_SIZE: dict[int, int] = {1: 32, 2: 128, 3: 128}
"""Leaf size of the kd-tree by dimension."""

# Cost model (seconds), measured on the project's 2-core machine; rough by nature, because
# the work per query depends on the shape of the key set seen from the query.
_NS_PER_VISIT = 250.0
_NS_PER_EXACT_POINT = 4.0
_NS_PER_MOMENT = 3.0


def _gamma(k: float) -> float:
    ku = k * _U
    return ku / (1 - ku) if ku < 1 else math.inf


def _positive_real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"'{name}' must be a real number (got {value!r})")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"'{name}' must be a finite number > 0 (got {value!r})")
    return float(value)


def _optional_seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"'max_seconds' must be a number >= 0 or None (got {value!r})")
    return float(value)


@attrs.frozen
class AnyTemperatureAttention:
    """Attention with additive error ``~ eps ||V||_inf`` for any entry size, small ``d``.

    Parameters
    ----------
    eps : float
        Target additive error relative to ``||V||_inf`` (default ``1e-6``); the
        guarantee is ``eps / 2`` for the window and the polynomials plus the
        float64 rounding bound of the Notes.
    degree : int, optional
        Largest polynomial degree per node (default by ``d``: 14, 12, 12).
    leaf_size : int, optional
        kd-tree leaf size (default by ``d``: 32, 128, 128).
    max_radius : float
        Largest logit half-range ``rho`` of a node that a polynomial may cover.
    max_dimension : int
        Refuse ``d`` above this (default 3): the structure stops paying off.
    structure : {"kdtree", "bruteforce"}
        The halfspace structure; ``"bruteforce"`` sums every key exactly (for tests).
    query_block : int
        Queries processed together (four times as many for ``d = 1``); memory is
        about ``query_block * (r + 6 v) * 8`` bytes for ``v`` node visits per query.
    log_rel_error : float
        Relative error promised by ``log_space=True`` (see ``__call__``).
    max_bytes, max_seconds : optional
        Refuse when the predicted peak memory or time exceeds them.

    Raises
    ------
    OracleRefusal
        ``d > max_dimension``, scores so large that the query features or the
        rounding bound break down, or predicted time or memory above the limits.

    Notes
    -----
    **Algorithm.** With ``q~ = q / d``: the row maximum ``M = max_j <q~, k_j>``
    (``d = 1``: ``q~ max k`` or ``q~ min k``; else branch and bound in the tree);
    then ``S = sum_j e^(<q~, k_j> - M) [v_j, 1]`` from
    :meth:`~solvers.attention.anytemp.halfspace.KDTreeHalfspace.exp_sums` with per-key
    tolerance ``delta = eps / (4 m)`` (window ``w = log(4m/eps)``), raised on each
    row by ``b >= 1``, a certified lower bound on the row's normaliser ``Z e^-eta``
    from the exact sum over the leaf that holds the row maximum (``d >= 2``; rows
    whose weight is spread over many keys get wider windows and nodes); the answer is
    ``S_v / S_1``. ``V`` is first scaled by a power of two to ``||V'|| <= 1``.

    **Error bound.** Let ``u = 2^-53``, ``R`` the score bound
    (:attr:`~instances.attention.AttentionInstance.score_bound`), ``L`` the leaf
    size, ``D`` the tree depth, ``r = C(d+g, g)``. Logits and node centres'
    logits are computed with absolute error at most ``eta = (2d + 6) u (2R + 1)``
    (the tree adds ``eta`` to every logit bound). Per key, the window and the
    polynomials are off by at most ``delta`` (relative to the row maximum's
    weight, 1), so ``E = m delta = eps / 4`` in total (with ``b``: ``m delta b <=
    (eps / 4) Z e^-eta``, the same bound relative to ``Z``). Rounding is relative to
    each key's weight ``w_j``: exact leaves ``zeta_L = e^eta (1 + 2u) - 1 +
    gamma_(L+1)``; polynomial nodes ``zeta_P = gamma_K min(A, m A') e^eta +
    (e^eta - 1) e^eta (1 + delta)`` with ``K = L + D (d (g+1) + 1) + 2g + r + 4``,
    ``S_h(rho0) = sum_j |p_j| rho0^j`` the monomial form's amplification and,
    over the Chebyshev table's radii and degrees, ``A = max S_h(rho0) e^rho0``
    (relative to the smallest weight in the node) or ``A' = max S_h(rho0)
    e^(1 - rho0 / 2^(1/4))`` (absolute: a node is accepted only when its largest
    logit ``a + rho <= 1``, so each key's error is at most ``gamma_K A'``, and
    ``m`` of them against the normaliser ``Z >= 1``); accumulating the node
    pieces adds ``gamma_(nodes)``. With ``zeta`` the larger of the two
    plus that, the normaliser ``Z >= e^-eta`` (the maximum key's weight) gives
    ``|T_hat - T| <= ||V||_inf (2 (E e^eta + zeta) / (1 - E e^eta - zeta) + u)``.

    **Log space** (``V >= 0``): an entry is returned as ``log T_hat`` when
    ``T_hat >= A (1 + 1/rho)`` (``A`` the absolute bound, ``rho`` =
    ``log_rel_error``), which gives relative error ``<= rho``; rows with a smaller
    entry are recomputed by :class:`~solvers.attention.exact.ExactAttention` in
    log space (exact for entries far below float64's range). The promised
    relative error is the larger of ``rho`` and the exact oracle's.

    **Cost.** Building the tree ``O(m log m + m r c + nodes r g d c)``; each
    query visits the nodes its window cuts (see the module docstring).

    References
    ----------
    S. Gupta, Z. Huang, B. Saha, Z. Xu, Y. Ye, "Subquadratic algorithms and
    hardness for attention with any temperature", arXiv 2025.

    Examples
    --------
    >>> import numpy as np
    >>> from instances.attention import AttentionInstance, random_attention
    >>> from solvers.attention.anytemp.oracle import AnyTemperatureAttention
    >>> oracle = AnyTemperatureAttention(eps=1e-8)
    >>> inst = random_attention(200, 1, 100.0, seed=3)
    >>> g = oracle.guarantee(inst)
    >>> g.abs_error <= 1e-8 * inst.value_norm, g.rel_error
    (True, inf)

    Log space for ``V >= 0``, with an entry near ``e^-4000``:

    >>> cold = AttentionInstance([[200.0]], [[-20.0], [0.0]], [[1.0], [0.0]], 200.0)
    >>> round(float(AnyTemperatureAttention()(cold, log_space=True).log_values[0, 0]), 9)
    -4000.0

    Refusals carry the numbers:

    >>> AnyTemperatureAttention()(random_attention(4, 5, 1.0, seed=0))
    Traceback (most recent call last):
    ...
    instances.errors.OracleRefusal: oracle 'anytemp' refuses d = 5: above 'max_dimension' = 3 ...
    """

    eps: float = attrs.field(default=1e-6, converter=lambda v: _positive_real("eps", v))
    degree: int | None = attrs.field(
        default=None, converter=lambda v: None if v is None else check_int("degree", v, minimum=0)
    )
    leaf_size: int | None = attrs.field(
        default=None, converter=lambda v: None if v is None else check_int("leaf_size", v, minimum=1)
    )
    max_radius: float = attrs.field(default=4.0, converter=lambda v: _positive_real("max_radius", v))
    max_dimension: int = attrs.field(default=3, converter=lambda v: check_int("max_dimension", v, minimum=1))
    structure: Literal["kdtree", "bruteforce"] = attrs.field(
        default="kdtree", validator=attrs.validators.in_(("kdtree", "bruteforce"))
    )
    query_block: int = attrs.field(default=2**14, converter=lambda v: check_int("query_block", v, minimum=1))
    log_rel_error: float = attrs.field(default=1e-3, converter=lambda v: _positive_real("log_rel_error", v))
    max_bytes: int | None = attrs.field(
        default=DEFAULT_MAX_BYTES, converter=lambda v: None if v is None else check_int("max_bytes", v, minimum=0)
    )
    max_seconds: float | None = attrs.field(default=None, converter=_optional_seconds)

    def __attrs_post_init__(self) -> None:
        if self.eps >= 1:
            raise ValueError(f"'eps' must be < 1 (got {self.eps!r})")
        if self.log_rel_error >= 1:
            raise ValueError(f"'log_rel_error' must be < 1 (got {self.log_rel_error!r})")

    # -- the protocol ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        """``"anytemp"``."""
        return "anytemp"

    def degree_for(self, d: int) -> int:
        """The polynomial degree cap used in dimension ``d``.

        >>> from solvers.attention.anytemp.oracle import AnyTemperatureAttention
        >>> AnyTemperatureAttention().degree_for(2), AnyTemperatureAttention(degree=5).degree_for(2)
        (12, 5)
        """
        return self.degree if self.degree is not None else DEFAULT_DEGREE.get(d, 6)

    def leaf_size_for(self, d: int) -> int:
        """The kd-tree leaf size used in dimension ``d``.

        >>> from solvers.attention.anytemp.oracle import AnyTemperatureAttention
        >>> AnyTemperatureAttention().leaf_size_for(3)
        128
        """
        return self.leaf_size if self.leaf_size is not None else DEFAULT_LEAF_SIZE.get(d, 64)

    def guarantee(self, instance: AttentionInstance) -> Guarantee:
        """The additive error promised on ``instance`` (see the class Notes).

        Examples
        --------
        >>> from instances.attention import random_attention
        >>> from solvers.attention.anytemp.oracle import AnyTemperatureAttention
        >>> inst = random_attention(1000, 2, 10.0, seed=0)
        >>> g = AnyTemperatureAttention().guarantee(inst)
        >>> 4e-7 < g.abs_error / inst.value_norm < 1e-6
        True
        """
        terms = self._error_terms(instance)
        description = (
            f"window w = {terms['window']:.3g} and polynomials of degree <= {terms['degree']} "
            f"(per-key tolerance {terms['delta']:.2e}), float64 rounding {terms['zeta']:.2e} "
            f"at score bound R = {terms['R']:.3g}: absolute error {terms['abs_error']:.2e}"
        )
        return Guarantee(abs_error=terms["abs_error"], rel_error=math.inf, description=description)

    def cost(self, instance: AttentionInstance, *, rows: Sequence[int] | np.ndarray | None = None) -> Cost:
        """Predicted seconds and peak extra bytes (a rough model; see the module docstring).

        The work per query is modelled as ``(m / L)^(1 - 1/d) log2(m)`` node visits
        and ``L (m / L)^(1 - 1/d)`` exact keys, the kd-tree's crossing number.

        Examples
        --------
        >>> from instances.attention import random_attention
        >>> from solvers.attention.anytemp.oracle import AnyTemperatureAttention
        >>> c = AnyTemperatureAttention().cost(random_attention(2**12, 1, 100.0, seed=0))
        >>> 0 < c.seconds < 5, 0 < c.peak_bytes < 2**28
        (True, True)
        """
        n = instance.n if rows is None else len(rows)
        m, d, dv = instance.m, instance.d, instance.value_columns
        c = dv + 1
        g, leaf = self.degree_for(d), self.leaf_size_for(d)
        r = monomial_count(d, g)
        if self.structure == "bruteforce":
            seconds = 1e-4 + n * m * (d + c + 4) * 1e-9
            return Cost(seconds=seconds, peak_bytes=8 * (n * m + (n + m) * (d + c)))
        nodes = 2 * max(1, math.ceil(m / leaf))
        depth = max(1, math.ceil(math.log2(max(m / leaf, 1)))) + 1
        cells = (m / leaf) ** (1 - 1 / d) if m > leaf else 1.0
        visits = min(nodes, 4 * cells + 2 * depth)
        build = 1e-9 * (200 * m + _NS_PER_MOMENT * (m * r * c + nodes * r * (g + 1) * d * c))
        per_query = 1e-9 * (_NS_PER_VISIT * visits + _NS_PER_EXACT_POINT * leaf * min(cells, nodes) * (d + c))
        seconds = 2e-3 + build + n * per_query
        block = min(max(n, 1), self._block(d))
        peak = 8 * (
            3 * nodes * r * c  # moments and their transposed copy
            + m * (2 * d + 2 * c)  # permuted, scaled copies
            + block * r  # query features
            + block * visits * 6  # traversal pairs kept for the evaluation
            + n * (c + 2)  # sums and shifts
        )
        return Cost(seconds=seconds, peak_bytes=peak)

    def __call__(
        self,
        instance: AttentionInstance,
        *,
        log_space: bool = False,
        rows: Sequence[int] | np.ndarray | None = None,
    ) -> AttentionOutput:
        """Attention of ``instance`` within :meth:`guarantee` (or of the query ``rows`` given).

        Parameters
        ----------
        instance : AttentionInstance
        log_space : bool
            Return ``log_values`` with relative error ``log_rel_error`` (needs ``V >= 0``).
        rows : sequence of int, optional
            Answer only these query rows, in this order.

        Returns
        -------
        AttentionOutput

        Raises
        ------
        OracleRefusal
            See the class.
        ValueError
            ``log_space=True`` with a negative value, or a row out of range.

        Examples
        --------
        >>> from instances.attention import AttentionInstance
        >>> from solvers.attention.anytemp.oracle import AnyTemperatureAttention
        >>> AnyTemperatureAttention()(AttentionInstance([[1.0]], [[1.0]], [[-1.0]], 1.0), log_space=True)
        Traceback (most recent call last):
        ...
        ValueError: 'log_space=True' needs V >= 0; 'V' entry (0, 0) is -1.0
        """
        if not isinstance(instance, AttentionInstance):
            raise TypeError(f"'instance' must be an AttentionInstance (got {type(instance).__name__})")
        if not isinstance(log_space, bool):
            raise TypeError(f"'log_space' must be a bool (got {log_space!r})")
        row_index = query_rows(instance, rows)
        if log_space and not instance.nonnegative_values:
            position = tuple(int(x) for x in np.argwhere(instance.value < 0)[0])
            raise ValueError(
                f"'log_space=True' needs V >= 0; 'V' entry {position} is {float(instance.value[position])!r}"
            )
        self.check(instance, rows=row_index)
        terms = self._error_terms(instance)
        values, _ = self._compute(instance, row_index)
        abs_error = terms["abs_error"]
        if not log_space:
            return AttentionOutput(
                values=values, abs_error=abs_error, rel_error=math.inf, oracle=self.name, rows=row_index
            )
        return self._log_output(instance, row_index, values, abs_error)

    def check(self, instance: AttentionInstance, *, rows: Sequence[int] | np.ndarray | None = None) -> None:
        """Raise :class:`OracleRefusal` (with the numbers) for what this oracle will not do.

        Examples
        --------
        >>> from instances.attention import random_attention
        >>> from solvers.attention.anytemp.oracle import AnyTemperatureAttention
        >>> AnyTemperatureAttention(max_seconds=1e-9).check(random_attention(64, 2, 1.0, seed=0))
        Traceback (most recent call last):
        ...
        instances.errors.OracleRefusal: oracle 'anytemp' refuses n = 64 rows, m = 64 keys, d = 2: predicted ... s exceeds 'max_seconds' = 1e-09 s
        """
        d = instance.d
        g = self.degree_for(d)
        if d > self.max_dimension:
            raise OracleRefusal(
                f"oracle {self.name!r} refuses d = {d}: above 'max_dimension' = {self.max_dimension} "
                f"(a hyperplane cuts about m^(1 - 1/d) = {instance.m ** (1 - 1 / d):.3g} of the m = {instance.m} "
                f"kd-tree cells, and each node needs r = C(d + g, g) = {monomial_count(d, g)} monomials)"
            )
        biggest = float(np.max(np.abs(instance.query))) / d if instance.n else 0.0
        key_scale = float(np.max(np.abs(instance.key)))
        # in logarithms: the product itself may lie beyond float64
        log_magnitude = (
            math.log(biggest) + max(math.log(2) + math.log(key_scale), 0.0)
            if biggest > 0 and key_scale > 0
            else (math.log(biggest) if biggest > 0 else -math.inf)
        )
        if g * log_magnitude > 600:
            raise OracleRefusal(
                f"oracle {self.name!r} refuses: query features q^alpha of degree {g} reach "
                f"(10^{log_magnitude / math.log(10):.1f})^{g} = 10^{g * log_magnitude / math.log(10):,.0f}, beyond float64"
            )
        terms = self._error_terms(instance)
        norm = instance.value_norm
        if norm > 0 and not terms["abs_error"] < norm:
            raise OracleRefusal(
                f"oracle {self.name!r} refuses: at score bound R = {terms['R']:.3g} float64 rounding "
                f"({terms['zeta']:.3g} per key weight) leaves no accuracy (bound {terms['abs_error']:.3g} "
                f">= ||V|| = {norm:.3g})"
            )
        r = instance.n if rows is None else len(rows)
        check_budget(
            self.name,
            self.cost(instance, rows=rows),
            max_seconds=self.max_seconds,
            max_bytes=self.max_bytes,
            what=f"n = {r} rows, m = {instance.m} keys, d = {d}",
        )

    # -- internals ------------------------------------------------------------------------
    def _error_terms(self, instance: AttentionInstance) -> dict[str, Any]:
        m, d = instance.m, instance.d
        g, leaf = self.degree_for(d), self.leaf_size_for(d)
        R = instance.score_bound
        delta = self.eps / (4 * m)
        eta = (2 * d + 6) * _U * (2 * R + 1)
        if self.structure == "bruteforce":
            E = 0.0
            zeta = math.expm1(eta) * (1 + 2 * _U) + 2 * _U + _gamma(m + 1) if eta < 700 else math.inf
        else:
            r = monomial_count(d, g)
            depth = max(1, math.ceil(math.log2(max(m / leaf, 1)))) + 2
            nodes = 2 * max(1, math.ceil(m / leaf)) + 1
            K = leaf + depth * (d * (g + 1) + 1) + 2 * g + r + 4
            table = ChebyshevTable.of(self.max_radius, g)
            # the monomial form's rounding, per key: relative to the key's own weight (up to
            # S_h(rho0) e^rho0) or absolute (e^a S_h(rho0) with a + rho <= max_upper, rho >= rho0 / 2^(1/4))
            relative = float(np.max(table.abs_sum * np.exp(table.radii)[:, None]))
            shrink = 2.0 ** (-1 / ChebyshevTable.steps_per_halving)
            absolute = float(np.max(table.abs_sum * np.exp(table.radii[-1] - shrink * table.radii)[:, None])) * math.e
            if eta < 700:
                grow = math.exp(eta)
                zeta_leaf = math.expm1(eta) * (1 + 2 * _U) + 2 * _U + _gamma(leaf + 1)
                zeta_poly = _gamma(K) * min(relative, m * absolute) * grow + math.expm1(eta) * grow * (1 + delta)
                zeta = max(zeta_leaf, zeta_poly) + _gamma(nodes)
            else:
                zeta = math.inf
            E = m * delta
        total = E * math.exp(min(eta, 700)) + zeta
        factor = 2 * total / (1 - total) + _U if total < 1 else math.inf
        norm = instance.value_norm
        abs_error = factor * norm if norm > 0 else 0.0
        return {
            "R": R,
            "delta": delta,
            "window": -math.log(delta),
            "degree": g,
            "eta": eta,
            "zeta": zeta,
            "abs_error": abs_error,
        }

    def _compute(self, instance: AttentionInstance, row_index: np.ndarray | None) -> tuple[np.ndarray, ExpSumStats]:
        d = instance.d
        query = instance.query if row_index is None else instance.query[row_index]
        n, dv = query.shape[0], instance.value_columns
        if n == 0:
            return np.zeros((0, dv)), ExpSumStats()
        norm = instance.value_norm
        exponent = math.frexp(norm)[1] if norm > 0 else 0
        weights = np.ones((instance.m, dv + 1))
        weights[:, :dv] = np.ldexp(instance.value, -exponent)
        scaled_query = query / d  # the 1/d temperature of exp(Q K^T / d), moved onto the queries
        g, leaf = self.degree_for(d), self.leaf_size_for(d)
        structure: KDTreeHalfspace | BruteForceHalfspace
        if self.structure == "bruteforce":
            structure = BruteForceHalfspace.build(instance.key, weights, degree=0)
        else:
            structure = KDTreeHalfspace.build(instance.key, weights, degree=g, leaf_size=leaf)
        terms = self._error_terms(instance)
        log_delta = math.log(terms["delta"])
        sums = np.empty((n, dv + 1))
        stats: list[ExpSumStats] = []
        block = self._block(d)
        for start in range(0, n, block):
            part = scaled_query[start : start + block]
            shifts, tolerance = self._row_max_and_tolerance(structure, part, log_delta, terms["eta"])
            sums[start : start + block], stat = structure.exp_sums(
                part, shifts, tolerance, max_radius=self.max_radius, margin=terms["eta"]
            )
            stats.append(stat)
        values = np.ldexp(sums[:, :dv] / sums[:, dv : dv + 1], exponent)
        total = ExpSumStats(
            **{
                field: sum(getattr(s, field) for s in stats)
                for field in ("visited", "dropped", "expanded", "exact_leaves", "exact_points")
            },
            max_degree=max(s.max_degree for s in stats),
        )
        return values, total

    def _block(self, d: int) -> int:
        """Queries per traversal: ``query_block`` (four times that for ``d = 1``, whose pairs are few)."""
        return self.query_block * (4 if d == 1 else 1)

    @staticmethod
    def _row_max_and_tolerance(
        structure: KDTreeHalfspace | BruteForceHalfspace, query: np.ndarray, log_delta: float, eta: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row maxima ``s = max_j <q, k_j>`` (as the structure computes logits) and per-row log tolerances.

        The tolerance is ``delta b`` with ``b = max(1, z e^(-2 eta) (1 - 2u)(1 - gamma_L))``, ``z``
        the exact sum over the leaf that holds the maximum: ``b <= Z e^-eta`` for the row's true
        normaliser ``Z``, so ``m delta b <= (eps / 4) Z e^-eta`` and the Notes' bound holds as for
        ``b = 1``, with wider windows and nodes on rows whose weight is spread over many keys.
        """
        if isinstance(structure, KDTreeHalfspace) and structure.dimension == 1:
            points = structure.scaled_points[:, 0]
            qs = query[:, 0] * structure.scale
            return np.where(qs >= 0, qs * points.max(), qs * points.min()), np.full(query.shape[0], log_delta)
        if not isinstance(structure, KDTreeHalfspace):
            return structure.max_inner_product(query), np.full(query.shape[0], log_delta)
        shifts, leaves = structure.max_inner_product(query, with_leaf=True)
        z = structure.leaf_exp_sums(query, shifts, leaves)
        widest_leaf = int(structure.leaf_widths.max())
        shrink = math.exp(-2 * eta) * (1 - 10 * _U) * (1 - _gamma(widest_leaf + 2))
        boost = np.maximum(np.log(np.maximum(z * shrink, 1e-300)), 0.0)
        # b <= z <= m, so delta b <= eps / 4 < 1: the tolerance stays a log of something below 1
        return shifts, np.minimum(log_delta + boost, 0.0)

    def _log_output(
        self, instance: AttentionInstance, row_index: np.ndarray | None, values: np.ndarray, abs_error: float
    ) -> AttentionOutput:
        rho = self.log_rel_error
        trusted = values >= abs_error * (1 + 1 / rho)
        redo = np.flatnonzero(~trusted.all(axis=1))
        log_values = np.empty_like(values)
        with np.errstate(divide="ignore"):
            log_values[:] = np.log(np.where(trusted, values, 1.0))
        rel_error = rho
        if redo.size:
            original = redo if row_index is None else row_index[redo]
            exact = ExactAttention(max_bytes=self.max_bytes)(instance, log_space=True, rows=original)
            assert exact.log_values is not None
            log_values[redo] = exact.log_values
            rel_error = max(rho, exact.rel_error)
            abs_error = max(abs_error, exact.abs_error)
        return AttentionOutput(
            log_values=log_values, abs_error=abs_error, rel_error=rel_error, oracle=self.name, rows=row_index
        )
