"""Halfspace range sums over a point set: a kd-tree of centred moments, and brute force.

A *halfspace range-sum structure* holds points ``k_1..k_m`` in ``R^d`` with value
rows ``w_1..w_m`` (``c`` columns) and answers, for halfspaces
``H = {k : <u, k> >= t}``,

- the moments ``sum_{k_j in H} (k_j - z)^alpha w_j`` for every multi-index
  ``|alpha| <= g`` about a chosen centre ``z`` (:meth:`~KDTreeHalfspace.halfspace_moments`);
- the largest inner product ``max_j <q, k_j>`` (:meth:`~KDTreeHalfspace.max_inner_product`);
- exponential sums ``sum_j exp(<q, k_j> - s) w_j`` restricted, up to a stated
  per-point error ``delta``, to the window halfspace ``<q, k> >= s + log delta``
  (:meth:`~KDTreeHalfspace.exp_sums`), which is what any-temperature attention
  (:mod:`solvers.attention.anytemp.oracle`) asks for.

:class:`KDTreeHalfspace` answers them by descending only into cells whose bounding
box the halfspace cuts; every node stores ``sum (k - c)^alpha w`` about the centre
``c`` of its box (scaled by a power of two so that the coordinates lie in
``[-1, 1]``). :class:`BruteForceHalfspace` answers the same calls by looking at
every point, and is the reference the tests compare with.

Examples
--------
>>> import numpy as np
>>> from solvers.attention.anytemp.halfspace import BruteForceHalfspace, KDTreeHalfspace
>>> rng = np.random.default_rng(0)
>>> points, values = rng.uniform(-1, 1, (200, 2)), rng.uniform(0, 1, (200, 1))
>>> tree = KDTreeHalfspace.build(points, values, degree=2, leaf_size=8)
>>> brute = BruteForceHalfspace.build(points, values, degree=2)
>>> normals, offsets = np.array([[1.0, 0.5]]), np.array([0.25])
>>> bool(np.allclose(tree.halfspace_moments(normals, offsets), brute.halfspace_moments(normals, offsets)))
True
>>> bool(np.allclose(tree.max_inner_product(normals), brute.max_inner_product(normals), rtol=0, atol=1e-15))
True
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs
import numpy as np

from instances._validation import check_int, check_real, readonly
from solvers.attention.oracle import one_blas_thread

__all__ = [
    "HalfspaceSums",
    "KDTreeHalfspace",
    "BruteForceHalfspace",
    "ExpSumStats",
    "ChebyshevTable",
    "Monomials",
    "monomial_count",
    "taylor_log_error",
]

_U = 2.0**-53


def monomial_count(dimension: int, degree: int) -> int:
    """Number ``C(d + g, g)`` of monomials in ``d`` variables of degree at most ``g``.

    Examples
    --------
    >>> from solvers.attention.anytemp.halfspace import monomial_count
    >>> monomial_count(1, 16), monomial_count(2, 12), monomial_count(3, 10)
    (17, 91, 286)
    >>> monomial_count(0, 3)
    Traceback (most recent call last):
    ...
    ValueError: 'dimension' must be >= 1 (got 0)
    """
    dimension = check_int("dimension", dimension, minimum=1)
    degree = check_int("degree", degree, minimum=0)
    return math.comb(dimension + degree, degree)


def taylor_log_error(upper: np.ndarray | float, radius: np.ndarray | float, degree: int) -> np.ndarray:
    """Natural log of the Lagrange bound ``e^upper radius^(g+1) / (g+1)!``.

    This bounds ``|e^(a+t) - e^a sum_{j<=g} t^j / j!|`` for ``|t| <= radius`` and
    ``a + radius <= upper`` (``-inf`` when ``radius = 0``).

    Examples
    --------
    >>> from solvers.attention.anytemp.halfspace import taylor_log_error
    >>> float(taylor_log_error(0.0, 1.0, 3))  # log(1 / 4!)
    -3.178053830347945
    """
    upper = np.asarray(upper, dtype=np.float64)
    radius = np.asarray(radius, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return upper + (degree + 1) * np.log(radius) - math.lgamma(degree + 2)


@attrs.frozen(eq=False)
class Monomials:
    """The multi-indices ``alpha`` with ``|alpha| <= g`` in ``d`` variables, graded.

    Row ``i`` of ``exponents`` is ``alpha_i``; rows are sorted by degree, so the
    monomials of degree at most ``h`` are the first ``prefix[h]`` rows. Row
    ``i > 0`` is ``exponents[parent[i]] + e_(variable[i])``, so every monomial
    comes from an earlier one by one multiplication.

    Examples
    --------
    >>> from solvers.attention.anytemp.halfspace import Monomials
    >>> mono = Monomials.of(2, 2)
    >>> mono.exponents.tolist()
    [[0, 0], [1, 0], [0, 1], [2, 0], [1, 1], [0, 2]]
    >>> mono.prefix.tolist()
    [1, 3, 6]
    >>> mono.evaluate([[2.0, 3.0]]).tolist()  # 1, x, y, x^2, xy, y^2
    [[1.0], [2.0], [3.0], [4.0], [6.0], [9.0]]
    """

    dimension: int
    degree: int
    exponents: np.ndarray
    parent: np.ndarray
    variable: np.ndarray
    prefix: np.ndarray

    @classmethod
    def of(cls, dimension: int, degree: int) -> Monomials:
        """All monomials of degree ``<= degree`` in ``dimension`` variables."""
        dimension = check_int("dimension", dimension, minimum=1)
        degree = check_int("degree", degree, minimum=0)
        exponents: list[tuple[int, ...]] = [(0,) * dimension]
        parent, variable, last = [-1], [-1], [0]
        prefix = [1]
        start = 0
        for _ in range(degree):
            end = len(exponents)
            for index in range(start, end):
                for var in range(last[index], dimension):
                    alpha = list(exponents[index])
                    alpha[var] += 1
                    exponents.append(tuple(alpha))
                    parent.append(index)
                    variable.append(var)
                    last.append(var)
            start = end
            prefix.append(len(exponents))
        return cls(
            dimension,
            degree,
            readonly(np.array(exponents, dtype=np.int64).reshape(-1, dimension)),
            readonly(np.array(parent, dtype=np.int64)),
            readonly(np.array(variable, dtype=np.int64)),
            readonly(np.array(prefix, dtype=np.int64)),
        )

    @property
    def count(self) -> int:
        """Number of monomials ``r = C(d + g, g)``."""
        return int(self.exponents.shape[0])

    @cached_property
    def degrees(self) -> np.ndarray:
        """``|alpha|`` of every row."""
        return readonly(self.exponents.sum(axis=1))

    @cached_property
    def index(self) -> dict[tuple[int, ...], int]:
        """Row of each multi-index."""
        return {tuple(int(x) for x in alpha): i for i, alpha in enumerate(self.exponents)}

    def evaluate(self, points: Any, *, scaled: bool = False, count: int | None = None) -> np.ndarray:
        """Feature-major monomials ``x^alpha`` (or ``x^alpha / alpha!`` when ``scaled``), shape ``(r, N)``.

        ``count`` keeps only the first ``count`` monomials (a degree prefix).
        """
        x = np.asarray(points, dtype=np.float64)
        r = self.count if count is None else count
        out = np.empty((r, x.shape[0]))
        out[0] = 1.0
        xt = np.ascontiguousarray(x.T)
        for i in range(1, r):
            var = self.variable[i]
            np.multiply(out[self.parent[i]], xt[var], out=out[i])
            if scaled:
                out[i] /= self.exponents[i, var]
        return out

    @cached_property
    def dense_index(self) -> np.ndarray:
        """Flat position of each multi-index in a dense ``(g+1)^d`` grid (row-major)."""
        return readonly(np.ravel_multi_index(tuple(self.exponents.T), (self.degree + 1,) * self.dimension))

    @cached_property
    def _binomials(self) -> np.ndarray:
        """``C(a, b)`` for ``0 <= b <= a <= g`` (zero above the diagonal)."""
        g = self.degree
        return readonly(np.array([[math.comb(a, b) for b in range(g + 1)] for a in range(g + 1)], dtype=np.float64))

    def translate(self, moments: np.ndarray, shift: np.ndarray) -> np.ndarray:
        """Re-centre moments: from ``sum (k - c)^alpha w`` to ``sum (k - c + shift)^alpha w``.

        ``moments`` has shape ``(N, r, c)`` and ``shift`` ``(N, d)`` (one per row):
        with ``shift = c - z`` the result is the moments about ``z``. One coordinate
        at a time, ``M'_alpha = sum_(b <= alpha_l) C(alpha_l, b) shift_l^(alpha_l - b)
        M_(alpha with alpha_l = b)``: a batched product with a ``(g+1) x (g+1)``
        triangular matrix along that axis of the moments laid out densely. Entries
        of total degree above ``g`` in the dense grid start at zero and are never
        read: each output only draws on indices below it.
        """
        moments = np.asarray(moments, dtype=np.float64)
        shift = np.asarray(shift, dtype=np.float64)
        count, c = moments.shape[0], moments.shape[2]
        g1, d = self.degree + 1, self.dimension
        if count == 0 or self.degree == 0:
            return np.array(moments, copy=True)
        dense = np.zeros((count, g1**d, c))
        dense[:, self.dense_index, :] = moments
        powers = np.arange(g1)
        gap = powers[:, None] - powers[None, :]  # a - b
        lower = gap >= 0
        for var in range(d):
            with np.errstate(invalid="ignore", divide="ignore"):
                matrix = np.where(lower, self._binomials * shift[:, var, None, None] ** np.maximum(gap, 0), 0.0)
            # axis ``var`` of each node's (g+1)^d grid, with the axes before it as a batch
            grid = dense.reshape(count, g1**var, g1, -1)
            dense = (matrix[:, None] @ grid).reshape(count, g1**d, c)
        return dense[:, self.dense_index, :]


@attrs.frozen
class ExpSumStats:
    """What one :meth:`KDTreeHalfspace.exp_sums` call did (counts of query-node pairs).

    Examples
    --------
    >>> from solvers.attention.anytemp.halfspace import ExpSumStats
    >>> ExpSumStats(visited=10, dropped=4, expanded=3, exact_leaves=2, exact_points=40, max_degree=5).visited
    10
    """

    visited: int = 0
    dropped: int = 0
    expanded: int = 0
    exact_leaves: int = 0
    exact_points: int = 0
    max_degree: int = -1

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict."""
        return attrs.asdict(self)


@runtime_checkable
class HalfspaceSums(Protocol):
    """What :mod:`solvers.attention.anytemp.oracle` needs of a halfspace range-sum structure."""

    @property
    def dimension(self) -> int:
        """``d``, the dimension of the points."""
        ...

    @property
    def size(self) -> int:
        """``m``, the number of points."""
        ...

    @property
    def degree(self) -> int:
        """Largest moment degree ``g`` stored."""
        ...

    def halfspace_moments(self, normals: Any, offsets: Any, centers: Any = None) -> np.ndarray:
        """``sum_{<u_i, k> >= t_i} (k - z_i)^alpha w`` for each halfspace, shape ``(h, r, c)``."""
        ...

    def max_inner_product(self, queries: Any) -> np.ndarray:
        """``max_j <q_i, k_j>`` for each query."""
        ...

    def exp_sums(
        self,
        queries: Any,
        shifts: Any,
        log_tolerance: float | np.ndarray,
        *,
        max_radius: float = ...,
        max_upper: float = ...,
        margin: float = ...,
    ) -> tuple[np.ndarray, ExpSumStats]:
        """``sum_j exp(<q_i, k_j> - s_i) w_j`` within ``exp(log_tolerance)`` per point."""
        ...


def _points_and_values(points: Any, values: Any) -> tuple[np.ndarray, np.ndarray]:
    k = np.asarray(points, dtype=np.float64)
    w = np.asarray(values, dtype=np.float64)
    if k.ndim != 2 or k.shape[1] < 1:
        raise ValueError(f"'points' must be a 2-dimensional array with at least one column (got shape {k.shape})")
    if k.shape[0] < 1:
        raise ValueError(f"'points' must hold at least one point (got shape {k.shape})")
    if w.ndim == 1:
        w = w[:, None]
    if w.ndim != 2 or w.shape[0] != k.shape[0] or w.shape[1] < 1:
        raise ValueError(f"'values' must have shape ({k.shape[0]}, c) with c >= 1 (got shape {w.shape})")
    for name, array in (("points", k), ("values", w)):
        bad = ~np.isfinite(array)
        if bad.any():
            position = tuple(int(x) for x in np.argwhere(bad)[0])
            raise ValueError(f"'{name}' entry {position} is {float(array[position])!r}; entries must be finite")
    return k, w


def _queries(name: str, queries: Any, dimension: int) -> np.ndarray:
    q = np.asarray(queries, dtype=np.float64)
    if q.ndim != 2 or q.shape[1] != dimension:
        raise ValueError(f"'{name}' must have shape (h, {dimension}) (got shape {q.shape})")
    bad = ~np.isfinite(q)
    if bad.any():
        position = tuple(int(x) for x in np.argwhere(bad)[0])
        raise ValueError(f"'{name}' entry {position} is {float(q[position])!r}; entries must be finite")
    return q


def _vector(name: str, value: Any, length: int) -> np.ndarray:
    v = np.asarray(value, dtype=np.float64)
    if v.shape != (length,):
        raise ValueError(f"'{name}' must have shape ({length},) (got shape {v.shape})")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"'{name}' entry {int(np.flatnonzero(~np.isfinite(v))[0])} is not finite")
    return v


def _check_tolerance(log_tolerance: float) -> float:
    return check_real("log_tolerance", log_tolerance, maximum=0.0)


def _tolerances(log_tolerance: Any, count: int) -> np.ndarray:
    """One log tolerance per query (a number applies to all), each finite and ``<= 0``."""
    if np.ndim(log_tolerance) == 0:
        return np.full(count, _check_tolerance(log_tolerance))
    values = _vector("log_tolerance", log_tolerance, count)
    if np.any(values > 0):
        i = int(np.flatnonzero(values > 0)[0])
        raise ValueError(f"'log_tolerance' entry {i} is {float(values[i])!r}; tolerances must be <= 0 (log of <= 1)")
    return values


def _power_of_two_at_least(x: float) -> float:
    if x <= 0:
        return 1.0
    return math.ldexp(1.0, math.frexp(x)[1])


@attrs.frozen(eq=False)
class ChebyshevTable:
    """Truncated Chebyshev series of ``e^t`` on ``[-rho0, rho0]`` for a grid of radii, with error bounds.

    For ``rho0`` in the grid ``max_radius * 2^(-k/4)`` (``k = 0 .. 96``) and every
    degree ``h <= g``, ``P_h(t) = sum_(j<=h) p_j t^j`` is the Chebyshev series
    ``I_0(rho0) + 2 sum_(1<=i<=h) I_i(rho0) T_i(t / rho0)`` of ``e^t`` truncated at
    degree ``h`` (``I_i`` modified Bessel functions). Stored:

    - ``coefficients[k, h, j] = p_j j!`` (``j <= h``, zero above): the factor that
      multiplies ``q^alpha / alpha!`` for ``|alpha| = j``;
    - ``log_error[k, h]``: log of a rigorous bound on ``max |e^t - P_h(t)|`` over
      ``|t| <= rho0``: ``2 sum_(i>h) I_i(rho0) <= 2 I_(h+1)(rho0) / (1 - rho0 / (2(h+2)))``
      (each ``I_(i+1) <= I_i rho0 / (2(i+1))``, termwise from the series) and
      ``I_(h+1)(x) <= (x/2)^(h+1) / (h+1)! e^(x^2 / (4(h+2)))``;
    - ``abs_sum[k, h] = sum_j |p_j| rho0^j``, the rounding amplifier of the
      monomial form.

    Coefficients are computed in mpmath (30 digits) and rounded once.

    Examples
    --------
    >>> import math
    >>> from solvers.attention.anytemp.halfspace import ChebyshevTable
    >>> table = ChebyshevTable.of(4.0, 10)
    >>> float(table.radii[0]), int(table.grid_index([4.0])[0]), int(table.grid_index([3.9])[0])
    (4.0, 0, 0)
    >>> int(table.grid_index([2.0])[0])  # 4 * 2^(-4/4) = 2
    4
    >>> t, k, h = 0.7, 4, 10
    >>> p = sum(float(table.coefficients[k, h, j]) / math.factorial(j) * t**j for j in range(h + 1))
    >>> abs(p - math.exp(t)) <= math.exp(float(table.log_error[k, h]))
    True
    """

    max_radius: float
    degree: int
    radii: np.ndarray
    coefficients: np.ndarray
    log_error: np.ndarray
    abs_sum: np.ndarray

    steps_per_halving: ClassVar[int] = 4
    _cache: ClassVar[dict[tuple[float, int], ChebyshevTable]] = {}

    @classmethod
    def of(cls, max_radius: float, degree: int) -> ChebyshevTable:
        """The (cached) table for radii up to ``max_radius > 0`` and degrees up to ``degree``."""
        max_radius = check_real("max_radius", max_radius, minimum=0, strict_minimum=True)
        degree = check_int("degree", degree, minimum=0)
        key = (max_radius, degree)
        if key not in cls._cache:
            cls._cache[key] = cls._compute(max_radius, degree)
        return cls._cache[key]

    @classmethod
    def _compute(cls, max_radius: float, degree: int) -> ChebyshevTable:
        import mpmath

        steps = cls.steps_per_halving
        count = steps * 24 + 1  # down to max_radius * 2^-24
        radii = max_radius * 2.0 ** (-np.arange(count) / steps)
        g = degree
        coefficients = np.zeros((count, g + 1, g + 1))
        log_error = np.zeros((count, g + 1))
        abs_sum = np.zeros((count, g + 1))
        # monomial coefficients of T_i(x), exact integers
        cheb = [[1], [0, 1]]
        for _i in range(2, g + 1):
            prev, prev2 = cheb[-1], cheb[-2]
            nxt = [0] + [2 * c for c in prev]
            for j, c in enumerate(prev2):
                nxt[j] -= c
            cheb.append(nxt)
        with mpmath.workdps(30):
            for k, radius in enumerate(radii):
                rho = mpmath.mpf(float(radius))
                powers = [rho**j for j in range(g + 1)]
                poly = [mpmath.mpf(0)] * (g + 1)
                for h in range(g + 1):  # add the degree-h Chebyshev term to the degree-(h-1) series
                    weight = mpmath.besseli(h, rho) * (1 if h == 0 else 2)
                    for j, c in enumerate(cheb[h]):
                        if c:
                            poly[j] += weight * c / powers[j]
                    coefficients[k, h, : h + 1] = [float(poly[j] * mpmath.factorial(j)) for j in range(h + 1)]
                    abs_sum[k, h] = float(sum(abs(poly[j]) * powers[j] for j in range(h + 1)))
                    x = float(radius)
                    if x >= 2 * (h + 2):
                        log_error[k, h] = math.inf
                    else:
                        log_bessel = (h + 1) * math.log(x / 2) - math.lgamma(h + 2) + x * x / (4 * (h + 2))
                        log_error[k, h] = math.log(2.0) + log_bessel - math.log1p(-x / (2 * (h + 2)))
        # for fixed radius the bound decreases in h once finite, so "bound <= tol" is monotone in h
        return cls(
            max_radius,
            degree,
            readonly(radii),
            readonly(coefficients),
            readonly(log_error),
            readonly(abs_sum),
        )

    def grid_index(self, radius: Any) -> np.ndarray:
        """Index ``k`` of the smallest grid radius ``>= radius`` (radius in ``[0, max_radius]``)."""
        r = np.asarray(radius, dtype=np.float64)
        with np.errstate(divide="ignore"):
            k = np.floor(-self.steps_per_halving * np.log2(np.maximum(r, 1e-300) / self.max_radius) + 1e-9)
        k = np.clip(k, 0, self.radii.shape[0] - 1).astype(np.int64)
        # guard against rounding: step back while the grid radius is below the radius
        low = self.radii[k] < r
        k[low] -= 1
        return np.maximum(k, 0)


@attrs.frozen(eq=False)
class BruteForceHalfspace:
    """Every query looks at every point: ``O(m)`` per query, the reference for the tests.

    Parameters
    ----------
    points : ndarray, shape (m, d)
    values : ndarray, shape (m, c)
    degree : int
        Largest moment degree ``g`` answered by :meth:`halfspace_moments`.

    Examples
    --------
    >>> import numpy as np
    >>> from solvers.attention.anytemp.halfspace import BruteForceHalfspace
    >>> brute = BruteForceHalfspace.build([[0.0], [1.0], [2.0]], [[1.0], [1.0], [1.0]], degree=1)
    >>> brute.halfspace_moments([[1.0]], [0.5]).tolist()  # points 1 and 2: count 2, sum of k 3
    [[[2.0], [3.0]]]
    >>> sums, stats = brute.exp_sums([[1.0]], [2.0], -50.0)
    >>> round(float(sums[0, 0]), 12) == round(float(np.exp(-2) + np.exp(-1) + 1), 12)
    True
    """

    points: np.ndarray
    values: np.ndarray
    degree: int

    @classmethod
    def build(cls, points: Any, values: Any, *, degree: int = 2) -> BruteForceHalfspace:
        """Store the points and values (validated, read-only)."""
        k, w = _points_and_values(points, values)
        return cls(readonly(k), readonly(w), check_int("degree", degree, minimum=0))

    @property
    def dimension(self) -> int:
        """``d``."""
        return int(self.points.shape[1])

    @property
    def size(self) -> int:
        """``m``."""
        return int(self.points.shape[0])

    @cached_property
    def monomials(self) -> Monomials:
        """The multi-indices of the moments."""
        return Monomials.of(self.dimension, self.degree)

    def halfspace_moments(self, normals: Any, offsets: Any, centers: Any = None) -> np.ndarray:
        """Moments of the points in each halfspace ``<u_i, k> >= t_i`` about ``z_i`` (default 0)."""
        u = _queries("normals", normals, self.dimension)
        t = _vector("offsets", offsets, u.shape[0])
        z = np.zeros_like(u) if centers is None else _queries("centers", centers, self.dimension)
        out = np.empty((u.shape[0], self.monomials.count, self.values.shape[1]))
        for i in range(u.shape[0]):
            inside = self.points @ u[i] >= t[i]
            mono = self.monomials.evaluate(self.points[inside] - z[i])
            out[i] = mono @ self.values[inside]
        return out

    def max_inner_product(self, queries: Any) -> np.ndarray:
        """``max_j <q_i, k_j>``."""
        q = _queries("queries", queries, self.dimension)
        return np.max(q @ self.points.T, axis=1) if q.shape[0] else np.zeros(0)

    def exp_sums(
        self,
        queries: Any,
        shifts: Any,
        log_tolerance: float | np.ndarray,
        *,
        max_radius: float = 4.0,
        max_upper: float = 1.0,
        margin: float = 0.0,
    ) -> tuple[np.ndarray, ExpSumStats]:
        """``sum_j exp(<q_i, k_j> - s_i) w_j`` over all points, exactly (no window, no polynomial;
        the keyword options of the tree are accepted and ignored)."""
        q = _queries("queries", queries, self.dimension)
        s = _vector("shifts", shifts, q.shape[0])
        _tolerances(log_tolerance, q.shape[0])
        logits = q @ self.points.T - s[:, None]
        weights = np.exp(np.minimum(logits, 700.0))
        return weights @ self.values, ExpSumStats(
            visited=q.shape[0], exact_leaves=q.shape[0], exact_points=q.shape[0] * self.size
        )


@attrs.frozen(eq=False)
class KDTreeHalfspace:
    """A kd-tree whose nodes store centred moments ``sum (k - c)^alpha w``, ``|alpha| <= g``.

    Build it with :meth:`build`. Points are scaled by a power of two ``S`` (exact)
    so that every coordinate lies in ``[-1, 1]``; boxes, centres and moments are
    kept in the scaled coordinates, and the query methods scale back.

    Parameters
    ----------
    points, values : ndarray
        As given to :meth:`build` (``m x d`` and ``m x c``).
    degree : int
        Largest moment degree ``g``.
    leaf_size : int
        Nodes with at most this many points are leaves.

    Notes
    -----
    **Construction** (``O(m log m)`` for the tree, ``O(m r c)`` for the leaf
    moments, ``O(nodes r g d c)`` for the rest): the widest side of each box is cut
    at the median; the leaves' moments are summed directly and every parent's
    are its children's, re-centred by the binomial formula one coordinate at a
    time. Re-centring from a child box to the enclosing parent box does not add
    cancellation: per point, the absolute values of all terms of the composed
    expansion sum to at most ``prod_l h_l^alpha_l`` (``h`` the parent's
    half-widths), as for moments computed directly.

    **Halfspace queries** descend from the root into cells the halfspace cuts: a
    cell entirely inside contributes its stored moments, one entirely outside
    nothing, a cut leaf its points one by one. A hyperplane cuts ``O(sqrt(m))``
    cells of a 2-d tree; in ``d`` dimensions the classic kd-tree bound is
    ``O(m^(log2(2^d - 2) / d))`` (``m^0.86`` for ``d = 3``), weaker than the
    ``m^(1 - 1/d)`` of partition trees.

    Examples
    --------
    >>> import numpy as np
    >>> from solvers.attention.anytemp.halfspace import KDTreeHalfspace
    >>> tree = KDTreeHalfspace.build(np.arange(10.0)[:, None], np.ones((10, 1)), degree=1, leaf_size=2)
    >>> tree.size, tree.dimension, tree.node_count, tree.scale
    (10, 1, 11, 16.0)
    >>> tree.halfspace_moments([[1.0]], [6.5]).tolist()  # k in {7, 8, 9}: count 3, sum 24
    [[[3.0], [24.0]]]
    >>> KDTreeHalfspace.build([[0.0, 1.0]], [[1.0]], degree=-1)
    Traceback (most recent call last):
    ...
    ValueError: 'degree' must be >= 0 (got -1)
    """

    points: np.ndarray
    values: np.ndarray
    degree: int
    leaf_size: int
    scale: float
    scaled_points: np.ndarray  # permuted, scaled
    scaled_values: np.ndarray  # permuted
    permutation: np.ndarray
    start: np.ndarray
    end: np.ndarray
    left: np.ndarray
    right: np.ndarray
    depth: np.ndarray
    low: np.ndarray
    high: np.ndarray
    center: np.ndarray
    half: np.ndarray
    moments: np.ndarray  # (nodes, r, c), about each node's centre, scaled coordinates

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def build(cls, points: Any, values: Any, *, degree: int = 8, leaf_size: int = 32) -> KDTreeHalfspace:
        """Build the tree and its moments.

        Parameters
        ----------
        points : array_like, shape (m, d)
        values : array_like, shape (m, c) or (m,)
        degree : int
            Largest moment degree ``g >= 0``.
        leaf_size : int
            Largest number of points in a leaf, ``>= 1``.
        """
        k, w = _points_and_values(points, values)
        degree = check_int("degree", degree, minimum=0)
        leaf_size = check_int("leaf_size", leaf_size, minimum=1)
        m, d = k.shape
        scale = _power_of_two_at_least(float(np.max(np.abs(k))))
        scaled = k / scale  # exact: a power of two
        perm = np.arange(m)
        starts, ends, lefts, rights, depths = [0], [m], [-1], [-1], [0]
        lows, highs = [scaled.min(axis=0)], [scaled.max(axis=0)]
        stack = [0]
        while stack:
            node = stack.pop()
            s, e = starts[node], ends[node]
            if e - s <= leaf_size:
                continue
            low, high = lows[node], highs[node]
            dim = int(np.argmax(high - low))
            if high[dim] == low[dim]:  # all points equal: a leaf, however many
                continue
            segment = perm[s:e]
            mid = (e - s) // 2
            order = np.argpartition(scaled[segment, dim], mid)
            perm[s:e] = segment[order]
            for child_start, child_end in ((s, s + mid), (s + mid, e)):
                child = len(starts)
                block = scaled[perm[child_start:child_end]]
                starts.append(child_start)
                ends.append(child_end)
                lefts.append(-1)
                rights.append(-1)
                depths.append(depths[node] + 1)
                lows.append(block.min(axis=0))
                highs.append(block.max(axis=0))
                if child_start == s:
                    lefts[node] = child
                else:
                    rights[node] = child
                stack.append(child)
        low_arr, high_arr = np.array(lows), np.array(highs)
        center = (low_arr + high_arr) / 2
        half = np.maximum(high_arr - center, center - low_arr) * (1 + 2 * _U)
        tree: dict[str, Any] = dict(
            points=readonly(k),
            values=readonly(w),
            degree=degree,
            leaf_size=leaf_size,
            scale=scale,
            scaled_points=readonly(scaled[perm]),
            scaled_values=readonly(w[perm]),
            permutation=readonly(perm),
            start=readonly(np.array(starts, dtype=np.int64)),
            end=readonly(np.array(ends, dtype=np.int64)),
            left=readonly(np.array(lefts, dtype=np.int64)),
            right=readonly(np.array(rights, dtype=np.int64)),
            depth=readonly(np.array(depths, dtype=np.int64)),
            low=readonly(low_arr),
            high=readonly(high_arr),
            center=readonly(center),
            half=readonly(half),
        )
        moments = cls._node_moments(tree, Monomials.of(d, degree))
        return cls(**tree, moments=readonly(moments))

    @staticmethod
    def _node_moments(tree: dict[str, Any], mono: Monomials) -> np.ndarray:
        left, right = tree["left"], tree["right"]
        start, end, center = tree["start"], tree["end"], tree["center"]
        points, values = tree["scaled_points"], tree["scaled_values"]
        nodes, c = left.shape[0], values.shape[1]
        moments = np.zeros((nodes, mono.count, c))
        leaves = np.flatnonzero(left < 0)
        leaves = leaves[np.argsort(start[leaves])]
        # leaves partition 0..m-1 in order: sum their moments in groups of whole leaves
        group_points = max(1, 2**21 // max(mono.count, 1))
        i = 0
        while i < leaves.shape[0]:
            j = i
            total = 0
            while j < leaves.shape[0] and (j == i or total + end[leaves[j]] - start[leaves[j]] <= group_points):
                total += end[leaves[j]] - start[leaves[j]]
                j += 1
            group = leaves[i:j]
            s0, s1 = start[group[0]], end[group[-1]]
            owner = np.repeat(group, end[group] - start[group])
            features = mono.evaluate(points[s0:s1] - center[owner])
            for leaf in group:
                lo, hi = start[leaf] - s0, end[leaf] - s0
                moments[leaf] = features[:, lo:hi] @ values[s0 + lo : s0 + hi]
            i = j
        depth = tree["depth"]
        internal = np.flatnonzero(left >= 0)
        for level in sorted(set(depth[internal].tolist()), reverse=True):
            at = internal[depth[internal] == level]
            for child in (left[at], right[at]):
                moments[at] += mono.translate(moments[child], center[child] - center[at])
        return moments

    # -- properties -----------------------------------------------------------------------
    @property
    def dimension(self) -> int:
        """``d``."""
        return int(self.points.shape[1])

    @property
    def size(self) -> int:
        """``m``."""
        return int(self.points.shape[0])

    @property
    def node_count(self) -> int:
        """Number of nodes (leaves included)."""
        return int(self.start.shape[0])

    @property
    def columns(self) -> int:
        """``c``, the columns of the values."""
        return int(self.values.shape[1])

    @cached_property
    def monomials(self) -> Monomials:
        """The multi-indices of the stored moments."""
        return Monomials.of(self.dimension, self.degree)

    @cached_property
    def moments_t(self) -> np.ndarray:
        """The moments with the value columns first, shape ``(nodes, c, r)`` (contiguous)."""
        return readonly(np.ascontiguousarray(self.moments.transpose(0, 2, 1)))

    @cached_property
    def scaled_values_t(self) -> np.ndarray:
        """The permuted values transposed, shape ``(c, m)`` (contiguous)."""
        return readonly(np.ascontiguousarray(self.scaled_values.T))

    @cached_property
    def _points_and_one(self) -> np.ndarray:
        """The permuted, scaled points with a column of ones, shape ``(m, d + 1)``."""
        return readonly(np.concatenate([self.scaled_points, np.ones((self.size, 1))], axis=1))

    @cached_property
    def leaf_widths(self) -> np.ndarray:
        """Number of points in each leaf (a leaf of equal points may exceed ``leaf_size``)."""
        leaves = np.flatnonzero(self.is_leaf)
        return readonly(self.end[leaves] - self.start[leaves])

    @cached_property
    def is_leaf(self) -> np.ndarray:
        """Whether each node is a leaf."""
        return readonly(self.left < 0)

    @cached_property
    def _padded_leaves(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Leaf points padded to a common size (padding repeats a leaf point with zero value)."""
        leaves = np.flatnonzero(self.is_leaf)
        sizes = self.end[leaves] - self.start[leaves]
        width = int(sizes.max())
        slot = np.arange(width)
        index = self.start[leaves][:, None] + np.minimum(slot[None, :], sizes[:, None] - 1)
        valid = slot[None, :] < sizes[:, None]
        row_of_node = np.full(self.node_count, -1, dtype=np.int64)
        row_of_node[leaves] = np.arange(leaves.shape[0])
        return row_of_node, self.scaled_points[index], valid

    # -- generic halfspace moments --------------------------------------------------------
    def halfspace_moments(self, normals: Any, offsets: Any, centers: Any = None) -> np.ndarray:
        """Moments ``sum_{<u_i, k> >= t_i} (k - z_i)^alpha w`` (``z_i = 0`` by default), shape ``(h, r, c)``.

        Descends only into cells whose box the hyperplane ``<u_i, k> = t_i`` cuts;
        a box entirely inside contributes its moments, re-centred at ``z_i``.

        Examples
        --------
        >>> import numpy as np
        >>> from solvers.attention.anytemp.halfspace import KDTreeHalfspace
        >>> tree = KDTreeHalfspace.build([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], np.ones(3), degree=1, leaf_size=1)
        >>> tree.halfspace_moments([[1.0, 1.0]], [0.5]).tolist()  # two points: count, sum x, sum y
        [[[2.0], [1.0], [1.0]]]
        """
        u = _queries("normals", normals, self.dimension)
        t = _vector("offsets", offsets, u.shape[0])
        z = np.zeros_like(u) if centers is None else _queries("centers", centers, self.dimension)
        mono = self.monomials
        h = u.shape[0]
        out = np.zeros((h, mono.count, self.columns))
        us, ts, zs = u * self.scale, t, z / self.scale
        query = np.arange(h)
        node = np.zeros(h, dtype=np.int64)
        inside_q: list[np.ndarray] = []
        inside_n: list[np.ndarray] = []
        while query.size:
            uq = us[query]
            mid = np.einsum("ij,ij->i", uq, self.center[node])
            spread = np.einsum("ij,ij->i", np.abs(uq), self.half[node])
            low, high = mid - spread, mid + spread
            full = low >= ts[query]
            cut = ~full & (high >= ts[query])
            inside_q.append(query[full])
            inside_n.append(node[full])
            leaf = cut & self.is_leaf[node]
            for i, leaf_node in zip(query[leaf], node[leaf], strict=False):
                block = slice(self.start[leaf_node], self.end[leaf_node])
                pts = self.scaled_points[block]
                keep = pts @ us[i] >= ts[i]
                features = mono.evaluate(pts[keep] - zs[i])
                out[i] += features @ self.scaled_values[block][keep]
            expand = cut & ~self.is_leaf[node]
            query = np.concatenate([query[expand], query[expand]])
            node = np.concatenate([self.left[node[expand]], self.right[node[expand]]])
        qs, ns = np.concatenate(inside_q), np.concatenate(inside_n)
        if qs.size:
            shifted = mono.translate(self.moments[ns], self.center[ns] - zs[qs])
            np.add.at(out, qs, shifted)
        return out * (self.scale ** mono.degrees.astype(np.float64))[None, :, None]

    # -- maximum inner product ------------------------------------------------------------
    def max_inner_product(self, queries: Any, *, with_leaf: bool = False) -> Any:
        """``max_j <q_i, k_j>`` by branch and bound (exact: the max of float64 dot products).

        With ``with_leaf=True`` returns ``(maxima, leaves)``: ``leaves[i]`` is a leaf
        node holding a key that attains the maximum, or ``-1`` where the maximum
        came from the first bound and no leaf matched it bit for bit.

        A first lower bound is the best of a few *extreme* points (those maximising
        ``<v, k>`` for fixed directions ``v``: axes, diagonals); a node is then
        visited only while the maximum of ``<q, k>`` over its box exceeds the bound,
        so only cells near the convex hull's supporting point are opened.

        Examples
        --------
        >>> import numpy as np
        >>> from solvers.attention.anytemp.halfspace import KDTreeHalfspace
        >>> rng = np.random.default_rng(1)
        >>> pts = rng.normal(size=(500, 3))
        >>> tree = KDTreeHalfspace.build(pts, np.ones(500), degree=0, leaf_size=8)
        >>> q = rng.normal(size=(20, 3))
        >>> bool(np.allclose(tree.max_inner_product(q), (q @ pts.T).max(axis=1), rtol=1e-15, atol=0))
        True
        """
        q = _queries("queries", queries, self.dimension)
        n = q.shape[0]
        if n == 0:
            return (np.zeros(0), np.zeros(0, dtype=np.int64)) if with_leaf else np.zeros(0)
        qs = q * self.scale
        candidates = self._extreme_points
        best = np.max(qs @ candidates.T, axis=1)
        best_leaf = np.full(n, -1, dtype=np.int64)
        row_of_node, padded, _ = self._padded_leaves
        _ = self.is_leaf
        workers = min(_leaf_workers(), n // _QUERIES_PER_THREAD)
        if workers > 1:
            # query blocks in threads, each refining only its own rows of ``best``
            bounds = np.linspace(0, n, workers + 1).astype(np.int64)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                jobs = [
                    pool.submit(self._max_search, qs[lo:hi], best[lo:hi], best_leaf[lo:hi], row_of_node, padded)
                    for lo, hi in zip(bounds[:-1], bounds[1:], strict=False)
                ]
                for job in jobs:
                    job.result()
        else:
            self._max_search(qs, best, best_leaf, row_of_node, padded)
        return (best, best_leaf) if with_leaf else best

    def _max_search(
        self, qs: np.ndarray, best: np.ndarray, best_leaf: np.ndarray, row_of_node: np.ndarray, padded: np.ndarray
    ) -> None:
        """Branch and bound for :meth:`max_inner_product`, raising ``best`` (and its leaf) in place."""
        n = qs.shape[0]
        query = np.arange(n)
        node = np.zeros(n, dtype=np.int64)
        while query.size:
            uq = qs[query]
            upper = np.einsum("ij,ij->i", uq, self.center[node]) + np.einsum("ij,ij->i", np.abs(uq), self.half[node])
            alive = upper * (1 + 8 * _U) + 1e-300 >= best[query]
            query, node = query[alive], node[alive]
            leaf = self.is_leaf[node]
            if leaf.any():
                lq, ln = query[leaf], node[leaf]
                rows = row_of_node[ln]
                scores = np.einsum("pd,pld->pl", qs[lq], padded[rows]).max(axis=1)
                np.maximum.at(best, lq, scores)
                hit = scores >= best[lq]  # this leaf holds the (new) maximum
                best_leaf[lq[hit]] = ln[hit]
            inner = ~leaf
            query = np.concatenate([query[inner], query[inner]])
            node = np.concatenate([self.left[node[inner]], self.right[node[inner]]])

    def leaf_exp_sums(self, queries: Any, shifts: Any, leaves: Any) -> np.ndarray:
        """``sum_(k in leaf_i) exp(<q_i, k> - s_i)`` for one leaf per query (0 where ``leaves[i] = -1``).

        With the leaf of :meth:`max_inner_product` and its maximum as the shift,
        this is a cheap lower bound on the whole row's sum (all terms are positive).

        Examples
        --------
        >>> import numpy as np
        >>> from solvers.attention.anytemp.halfspace import KDTreeHalfspace
        >>> tree = KDTreeHalfspace.build(np.arange(8.0)[:, None], np.ones(8), degree=0, leaf_size=2)
        >>> best, leaf = tree.max_inner_product([[1.0]], with_leaf=True)
        >>> float(best[0]), [float(x) for x in tree.points[tree.permutation[tree.start[leaf[0]]:tree.end[leaf[0]]]][:, 0]]
        (7.0, [6.0, 7.0])
        >>> round(float(tree.leaf_exp_sums([[1.0]], best, leaf)[0]), 6) == round(1 + float(np.exp(-1)), 6)
        True
        """
        q = _queries("queries", queries, self.dimension)
        s = _vector("shifts", shifts, q.shape[0])
        leaf = np.asarray(leaves, dtype=np.int64)
        if leaf.shape != (q.shape[0],):
            raise ValueError(f"'leaves' must have shape ({q.shape[0]},) (got shape {leaf.shape})")
        row_of_node = self._padded_leaves[0]
        out = np.zeros(q.shape[0])
        known = np.flatnonzero(leaf >= 0)
        if known.size and np.any(row_of_node[leaf[known]] < 0):
            raise ValueError("'leaves' must name leaf nodes (or -1)")
        if known.size == 0:
            return out
        # the exact leaf sums of exp_sums, with a single column of ones as the values
        sums = np.zeros((q.shape[0], 1))
        with one_blas_thread():  # the many small products here lose 3-5x to thread start-up
            self._leaf_sums(sums, q * self.scale, s, known, leaf[known], values_t=np.ones((1, self.size)))
        out[:] = sums[:, 0]
        return out

    @cached_property
    def _extreme_points(self) -> np.ndarray:
        d = self.dimension
        directions = [np.eye(d)[i] * sign for i in range(d) for sign in (1.0, -1.0)]
        rng = np.random.default_rng(12345)
        extra = rng.normal(size=(8 * d * d, d))
        directions.extend(extra / np.linalg.norm(extra, axis=1, keepdims=True))
        dirs = np.array(directions)
        best = np.unique(np.argmax(dirs @ self.scaled_points.T, axis=1))
        return self.scaled_points[best]

    # -- exponential window sums ----------------------------------------------------------
    def exp_sums(
        self,
        queries: Any,
        shifts: Any,
        log_tolerance: float | np.ndarray,
        *,
        max_radius: float = 4.0,
        max_upper: float = 1.0,
        margin: float = 0.0,
    ) -> tuple[np.ndarray, ExpSumStats]:
        """``sum_j exp(<q_i, k_j> - s_i) w_j`` with error at most ``delta = exp(log_tolerance)`` per point.

        ``log_tolerance`` is one number or one per query.

        For a query-node pair let ``a = <q, c> - s`` (``c`` the box centre) and
        ``rho = sum_l |q_l| h_l`` (``h`` the half-widths): every point of the node
        has ``t = <q, k - c>`` in ``[-rho, rho]`` and logit ``a + t``. The pair is

        - *dropped* when ``a + rho + margin <= log delta`` (each point's term is
          below ``delta``: the node lies outside the window halfspace
          ``<q, k> >= s + log delta``);
        - *accepted* when it is not a leaf, ``rho <= max_radius``, ``a + rho <=
          max_upper`` and some degree ``h <= g`` has ``e^(a + margin) E_h(rho0) <= delta``:
          ``e^t`` is replaced by the degree-``h`` truncated Chebyshev series ``P`` of
          ``e^t`` on ``[-rho0, rho0]`` (``rho0 >= rho`` from a fixed grid, see
          :class:`ChebyshevTable`, whose ``E_h`` bounds the error), so the node
          contributes ``e^a sum_alpha pi_|alpha| q^alpha / alpha! sum_k (k - c)^alpha w_k``
          from its stored moments;
        - evaluated exactly (``exp`` of every point's logit) when it is a leaf;
        - otherwise split into its two children.

        ``margin`` (``>= 0``) is added to every logit bound to cover rounding of
        ``a``. Every point's term is thus off by at most ``delta`` plus rounding
        (see :mod:`solvers.attention.anytemp.oracle` for the full bound).

        Returns
        -------
        sums : ndarray, shape (n, c)
        stats : ExpSumStats

        Examples
        --------
        >>> import numpy as np
        >>> from solvers.attention.anytemp.halfspace import BruteForceHalfspace, KDTreeHalfspace
        >>> rng = np.random.default_rng(3)
        >>> pts, vals = rng.uniform(-4, 4, (3000, 2)), rng.uniform(0, 1, (3000, 2))
        >>> q = rng.uniform(-4, 4, (50, 2))
        >>> tree = KDTreeHalfspace.build(pts, vals, degree=12, leaf_size=16)
        >>> shifts = tree.max_inner_product(q)
        >>> approx, stats = tree.exp_sums(q, shifts, np.log(1e-12))
        >>> exact, _ = BruteForceHalfspace.build(pts, vals).exp_sums(q, shifts, np.log(1e-12))
        >>> bool(np.max(np.abs(approx - exact)) <= 3000 * 1e-12)
        True
        """
        q = _queries("queries", queries, self.dimension)
        s = _vector("shifts", shifts, q.shape[0])
        log_delta = _tolerances(log_tolerance, q.shape[0])
        max_radius = check_real("max_radius", max_radius, minimum=0)
        max_upper = check_real("max_upper", max_upper)
        margin = check_real("margin", margin, minimum=0)
        n, c = q.shape[0], self.columns
        out = np.zeros((n, c))
        if n == 0:
            return out, ExpSumStats()
        table = ChebyshevTable.of(max_radius, self.degree)
        workers = min(_leaf_workers(), n // _QUERIES_PER_THREAD)
        with one_blas_thread():
            if workers <= 1:
                return self._exp_sums_part(q, s, log_delta, max_radius, max_upper, margin, table, True)
            # query blocks in threads (numpy releases the GIL in the array work); each thread
            # writes only its own rows, so the sums are the same as in one pass
            # cached before the threads
            _ = self.is_leaf, self.moments_t, self.scaled_values_t, self._points_and_one
            bounds = np.linspace(0, n, workers + 1).astype(np.int64)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                jobs = [
                    pool.submit(
                        self._exp_sums_part,
                        q[lo:hi],
                        s[lo:hi],
                        log_delta[lo:hi],
                        max_radius,
                        max_upper,
                        margin,
                        table,
                        False,
                    )
                    for lo, hi in zip(bounds[:-1], bounds[1:], strict=False)
                ]
                results = [job.result() for job in jobs]
        stats = [r[1] for r in results]
        total = ExpSumStats(
            **{
                field: sum(getattr(x, field) for x in stats)
                for field in ("visited", "dropped", "expanded", "exact_leaves", "exact_points")
            },
            max_degree=max(x.max_degree for x in stats),
        )
        return np.concatenate([r[0] for r in results]), total

    def _exp_sums_part(
        self,
        q: np.ndarray,
        s: np.ndarray,
        log_delta: np.ndarray,
        max_radius: float,
        max_upper: float,
        margin: float,
        table: ChebyshevTable,
        threads: bool,
    ) -> tuple[np.ndarray, ExpSumStats]:
        """:meth:`exp_sums` for one block of queries (``threads``: the leaf sums may use threads)."""
        n, c = q.shape[0], self.columns
        out = np.zeros((n, c))
        g = self.degree
        qs = q * self.scale
        counts = {"visited": 0, "dropped": 0, "expanded": 0, "exact_leaves": 0, "exact_points": 0}
        acc: list[tuple[np.ndarray, ...]] = []
        leaves: list[tuple[np.ndarray, np.ndarray]] = []
        query = np.arange(n)
        node = np.zeros(n, dtype=np.int64)
        slack = 1 + 4 * (self.dimension + 2) * _U
        while query.size:
            counts["visited"] += query.size
            uq = qs[query]
            a = np.einsum("ij,ij->i", uq, self.center[node]) - s[query]
            rho = np.einsum("ij,ij->i", np.abs(uq), self.half[node]) * slack
            keep = a + rho + margin > log_delta[query]
            counts["dropped"] += int(query.size - np.count_nonzero(keep))
            query, node, a, rho = query[keep], node[keep], a[keep], rho[keep]
            leaf = self.is_leaf[node]
            candidate = np.flatnonzero(~leaf & (rho <= max_radius) & (a + rho <= max_upper))
            accept = np.zeros(query.size, dtype=bool)
            if candidate.size:
                grid = table.grid_index(rho[candidate])
                allowed = (log_delta[query[candidate]] - margin) - a[candidate]
                good = table.log_error[grid, g] <= allowed
                chosen = candidate[good]
                accept[chosen] = True
                # the least degree that meets the tolerance (the bound is monotone in the degree)
                ok = table.log_error[grid[good]] <= allowed[good, None]
                acc.append((query[chosen], node[chosen], a[chosen], grid[good], np.argmax(ok, axis=1)))
            exact = leaf & ~accept
            leaves.append((query[exact], node[exact]))
            expand = ~leaf & ~accept
            counts["expanded"] += int(np.count_nonzero(expand))
            query = np.concatenate([query[expand], query[expand]])
            node = np.concatenate([self.left[node[expand]], self.right[node[expand]]])
        max_degree = -1
        if acc:
            queries, nodes, shifts, grids, degrees = (np.concatenate(column) for column in zip(*acc, strict=False))
            if queries.size:
                max_degree = int(degrees.max())
                self._accepted_sums(out, qs, queries, nodes, shifts, grids, degrees, table)
        ql = np.concatenate([pair[0] for pair in leaves])
        nl = np.concatenate([pair[1] for pair in leaves])
        if ql.size:
            counts["exact_leaves"] = int(ql.size)
            counts["exact_points"] = int(np.sum(self.end[nl] - self.start[nl]))
            self._leaf_sums(out, qs, s, ql, nl, threads=threads)
        return out, ExpSumStats(**counts, max_degree=max_degree)

    def _accepted_sums(
        self,
        out: np.ndarray,
        qs: np.ndarray,
        query: np.ndarray,
        node: np.ndarray,
        a: np.ndarray,
        grid: np.ndarray,
        degree: np.ndarray,
        table: ChebyshevTable,
    ) -> None:
        """Add ``e^a sum_alpha pi_|alpha| q^alpha/alpha! M_alpha(node)`` for every accepted pair."""
        mono = self.monomials
        order = np.argsort(node, kind="stable")
        query, node, a, grid, degree = query[order], node[order], a[order], grid[order], degree[order]
        bounds = np.flatnonzero(np.diff(node)) + 1
        starts = np.concatenate([[0], bounds])
        stops = np.concatenate([bounds, [node.size]])
        group_degree = np.maximum.reduceat(degree, starts)
        weights = np.exp(a)
        r_max = int(mono.prefix[int(degree.max())])
        features = np.ascontiguousarray(mono.evaluate(qs, scaled=True, count=r_max).T)  # (n, r): q^alpha / alpha!
        coefficients = table.coefficients[:, :, mono.degrees[:r_max]]  # (grid, g + 1, r)
        if node.size <= 8 * starts.size:
            # few pairs per node: one gather over all pairs, each at its own degree
            x = features[query] * coefficients[grid, degree] * weights[:, None]
            contribution = np.einsum("pr,prc->pc", x, self.moments[node, :r_max, :])
            for col in range(out.shape[1]):
                out[:, col] += np.bincount(query, weights=contribution[:, col], minlength=out.shape[0])
            return
        prefix = [0, *(int(x) for x in mono.prefix)]
        for lo, hi, h in zip(starts, stops, group_degree, strict=False):
            r = int(mono.prefix[h])
            members = query[lo:hi]
            x = features[members, :r]
            # per degree j: (c x r_j) @ (r_j x p), then scaled by e^a pi_j; the coefficients
            # never fill a (p x r) array. (c x r) @ (r x p) is several times faster in BLAS
            # than (p x r) @ (r x c) for small c.
            scale = table.coefficients[grid[lo:hi], h, : h + 1] * weights[lo:hi, None]  # (p, h + 1)
            moments = self.moments_t[node[lo]]
            block = np.zeros((moments.shape[0], hi - lo))
            for j in range(h + 1):
                block += (moments[:, prefix[j] : prefix[j + 1]] @ x[:, prefix[j] : prefix[j + 1]].T) * scale[:, j]
            out[members] += block.T

    def _leaf_sums(
        self,
        out: np.ndarray,
        qs: np.ndarray,
        s: np.ndarray,
        query: np.ndarray,
        node: np.ndarray,
        *,
        threads: bool = True,
        values_t: np.ndarray | None = None,
    ) -> None:
        """Exact ``sum exp(<q, k> - s) w`` over the points of each (query, leaf) pair.

        ``values_t`` (``c x m``, permuted like the points) replaces the stored values.

        With many points to sum, the leaves are split between two or more threads
        (numpy and BLAS release the GIL), each adding into its own copy of ``out``;
        the copies are added at the end.
        """
        order = np.argsort(node, kind="stable")
        query, node = query[order], node[order]
        bounds = np.flatnonzero(np.diff(node)) + 1
        starts = np.concatenate([[0], bounds])
        stops = np.concatenate([bounds, [node.size]])
        work = int(np.sum(self.end[node] - self.start[node]))
        workers = min(_leaf_workers(), starts.size) if threads and work >= _PARALLEL_LEAF_POINTS else 1
        if workers <= 1:
            self._leaf_range(out, qs, s, query, node, starts, stops, values_t)
            return
        # balance the threads by points: leaf groups cut at equal shares of the cumulative work
        group_work = np.add.reduceat(self.end[node] - self.start[node], starts)
        cumulative = np.cumsum(group_work)
        cuts = np.searchsorted(cumulative, cumulative[-1] * np.arange(1, workers) / workers)
        pieces = np.split(np.arange(starts.size), cuts)
        partial = [out] + [np.zeros_like(out) for _ in pieces[1:]]
        with ThreadPoolExecutor(max_workers=len(pieces)) as pool:
            jobs = [
                pool.submit(self._leaf_range, part, qs, s, query, node, starts[piece], stops[piece], values_t)
                for part, piece in zip(partial, pieces, strict=False)
            ]
            for job in jobs:
                job.result()
        for part in partial[1:]:
            out += part

    def _leaf_range(
        self,
        out: np.ndarray,
        qs: np.ndarray,
        s: np.ndarray,
        query: np.ndarray,
        node: np.ndarray,
        starts: np.ndarray,
        stops: np.ndarray,
        values_t: np.ndarray | None = None,
    ) -> None:
        values = self.scaled_values_t if values_t is None else values_t
        # the shift rides in the product: [q, -s] . [k, 1] (a dot product of length d + 1)
        shifted = np.concatenate([qs, -s[:, None]], axis=1)
        points = self._points_and_one
        for lo, hi in zip(starts, stops, strict=False):
            leaf = node[lo]
            block = slice(self.start[leaf], self.end[leaf])
            members = query[lo:hi]
            logits = shifted[members] @ points[block].T
            np.exp(logits, out=logits)
            out[members] += (values[:, block] @ logits.T).T


_QUERIES_PER_THREAD = 2048
"""exp_sums splits its queries between threads in blocks of at least this many."""

_PARALLEL_LEAF_POINTS = 2**21
"""Exact leaf sums over at least this many (query, point) pairs are split between threads."""


def _leaf_workers() -> int:
    """Threads for the exact leaf sums: the usable CPUs, at most 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))
