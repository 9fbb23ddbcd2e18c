"""The polynomial method (Alman & Song 2023, Algorithm 1) as an attention oracle.

:class:`PolynomialAttention` replaces ``A = exp(Q K^T / d)`` by ``P(Q K^T / d)``
for a polynomial ``P`` with relative error ``eps`` on every score, so that
``Att ~ diag(P(M) 1)^-1 P(M) V`` can be computed through symmetric tensor
features in time ``O((n + m) r (d + dv))`` with ``r = C(d + g, g)``, without
ever forming the ``n x m`` matrix.

Before it runs it *plans*: it bounds the scores, predicts the degree ``g``, the
rank ``r``, time and memory of each way it could compute ``P(M)``, checks that
float64 rounding fits in the error budget, and refuses with those numbers when
nothing fits the machine. In the hardness chain, where scores reach thousands,
the refusal *is* the lower bound at work.

Examples
--------
>>> import numpy as np
>>> from instances.attention import random_attention
>>> from solvers.attention.exact import ExactAttention
>>> from solvers.attention.polynomial.oracle import PolynomialAttention
>>> inst = random_attention(2000, 4, 1.0, seed=0)
>>> oracle = PolynomialAttention(eps=1e-6)
>>> plan = oracle.plan(inst)
>>> plan.route, plan.degree, plan.rank
('features', 7, 330)
>>> out = oracle(inst)
>>> bool(np.max(np.abs(out.values - ExactAttention()(inst).values)) <= out.abs_error)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
import mpmath
import numpy as np

from instances._validation import check_int, check_real
from instances.attention import AttentionInstance, AttentionOutput
from instances.errors import OracleRefusal
from solvers.attention.oracle import Cost, Guarantee, format_bytes, query_rows
from solvers.attention.polynomial.approximation import (
    MAX_SEARCH_RADIUS,
    ExpApproximation,
    exp_approximation,
    paper_degree,
    predict_chebyshev_degree,
    working_precision,
)
from solvers.attention.polynomial.features import (
    default_workers,
    feature_attention_sums,
    feature_block,
    log10_binomial,
    run_blocks,
)

__all__ = ["PolynomialAttention", "PolynomialPlan", "score_interval", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_SECONDS"]

DEFAULT_MAX_BYTES: int = 4 * 2**30
"""Default memory limit of the polynomial oracles (4 GiB; the project machine has 24 GiB)."""

DEFAULT_MAX_SECONDS: float = 120.0
"""Default time limit of the polynomial oracles."""

_U = 2.0**-53
_TINY = float(np.finfo(np.float64).tiny)
_LN2 = math.log(2.0)

# Cost model, measured on the project's 2-core machine (float64, nanoseconds).
_NS_FEATURE = 0.9  # one materialised monomial (degree < g) of one token
_NS_PRODUCT = 0.09  # one monomial x one output column x one token, both products
_NS_BLOCK_CALL = 1500.0  # numpy call overhead per (degree, variable) and block
_NS_FIXED = 100_000.0  # planning and setup of a call
_TWO_WORKER_SPEEDUP = 1.6
_NS_DENSE_SCORE = 1.0  # score product, shift and clip, per score
_NS_DENSE_STEP = 0.3  # one Horner step per score
_NS_DENSE_COLUMN = 0.05  # one value column per score
_US_MP_BASE = 1.2  # one mpmath multiply-add, microseconds, plus
_US_MP_PER_BIT = 0.002  # per bit of precision

_FLOAT64_ROUTES = ("features", "dense")
_Route = tuple[str, float, int, str, float, float]  # name, seconds, bytes, why rejected, rounding, eps_A
_ROUTES = ("auto", "features", "dense", "mpmath")


def _gamma(k: float, u: float = _U) -> float:
    """Higham's ``gamma_k = k u / (1 - k u)``."""
    ku = k * u
    return ku / (1 - ku) if ku < 1 else math.inf


def _mp_seconds(operations: float, bits: int) -> float:
    return operations * (_US_MP_BASE + _US_MP_PER_BIT * bits) * 1e-6


def score_interval(instance: AttentionInstance, *, interval: str = "data") -> tuple[float, float, float]:
    """``(lower, upper, X)``: every score ``<q_i, k_j>/d`` lies in ``[lower, upper]`` and
    ``sum_l |q_il| |k_jl| / d <= X``.

    ``interval="paper"`` gives ``[-B^2, B^2]`` (Lemma 3.3). ``"data"`` intersects
    it with ``[-R, R]`` for the data-aware ``R = min(max_i sum_l |q_il| max_j |k_jl|,
    max ||q|| max ||k||) / d`` and with a per-coordinate box bound
    ``sum_l min/max {q_l k_l : q_l, k_l in their column ranges} / d``; all cost
    ``O((n + m) d)``.

    Examples
    --------
    >>> from instances.attention import AttentionInstance
    >>> from solvers.attention.polynomial.oracle import score_interval
    >>> inst = AttentionInstance([[1.0, 2.0], [0.5, 0.0]], [[1.0, 1.0], [0.0, 2.0]], [[1.0], [1.0]], 2.0)
    >>> lower, upper, bound = score_interval(inst)  # scores 1.5, 2.0, 0.25, 0.0
    >>> lower, round(upper, 6), round(bound, 6)  # upper: the Cauchy-Schwarz bound sqrt(5) * sqrt(4) / 2
    (0.0, 2.236068, 2.236068)
    >>> score_interval(inst, interval="paper")
    (-4.0, 4.0, 4.0)
    """
    if interval not in ("data", "paper"):
        raise ValueError(f"'interval' must be 'data' or 'paper' (got {interval!r})")
    paper = instance.bound * instance.bound
    if interval == "paper":
        return (-paper, paper, paper)
    if instance.n == 0:
        return (0.0, 0.0, 0.0)
    d = instance.d
    q, k = instance.query, instance.key
    bound = min(paper, instance.score_bound)
    if not math.isfinite(bound):  # products beyond float64: no finite interval (the oracles refuse)
        return (-math.inf, math.inf, math.inf)
    with np.errstate(over="ignore", invalid="ignore"):  # near float64's limit a partial sum may overflow: inf
        norms = float(np.sqrt(np.max(np.einsum("ij,ij->i", q, q))) * np.sqrt(np.max(np.einsum("ij,ij->i", k, k)))) / d
        bound = min(bound, norms)
        qmin, qmax = _column_range(q)
        kmin, kmax = _column_range(k)
        corners = np.stack([qmin * kmin, qmin * kmax, qmax * kmin, qmax * kmax])
        # the box sums are rounded: widen by a few units of rounding
        slack = 4 * (d + 2) * _U * float(np.sum(np.max(np.abs(corners), axis=0))) / d
        box_lower = float(np.sum(corners.min(axis=0))) / d - slack
        box_upper = float(np.sum(corners.max(axis=0))) / d + slack
    lower = max(-bound, box_lower) if not math.isnan(box_lower) else -bound
    upper = min(bound, box_upper) if not math.isnan(box_upper) else bound
    if (qmin.min() >= 0 and kmin.min() >= 0) or (qmax.max() <= 0 and kmax.max() <= 0):
        lower = max(lower, 0.0)  # every product is >= 0
    if (qmin.min() >= 0 and kmax.max() <= 0) or (qmax.max() <= 0 and kmin.min() >= 0):
        upper = min(upper, 0.0)  # every product is <= 0
    # rounding of the bounds themselves
    bound *= 1 + 4 * (d + 2) * _U
    lower = max(lower, -bound)
    upper = min(upper, bound)
    if lower > upper:  # cannot happen for exact bounds; guard against rounding
        lower, upper = min(lower, upper), max(lower, upper)
    return (lower, upper, bound)


def _column_range(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column minima and maxima (through a transposed copy: reducing a narrow C-ordered matrix over
    its rows is an order of magnitude slower in numpy)."""
    columns = np.ascontiguousarray(matrix.T)
    return columns.min(axis=1), columns.max(axis=1)


def _quantise(lower: float, upper: float) -> tuple[float, float]:
    """Widen ``[lower, upper]`` to a grid of ``2^-5`` of its largest magnitude (so that the cached
    polynomial serves nearby instances)."""
    scale = max(abs(lower), abs(upper))
    if scale == 0:
        return (0.0, 0.0)
    if not math.isfinite(scale) or scale > MAX_SEARCH_RADIUS:
        return (lower, upper)  # beyond any degree search: the plan refuses
    step = 2.0 ** (math.floor(math.log2(scale)) - 5)
    return (math.floor(lower / step) * step, math.ceil(upper / step) * step)


@attrs.frozen
class PolynomialPlan:
    """What a polynomial oracle will do on one instance, and why; known before it runs.

    Attributes
    ----------
    oracle : str
        The oracle's name.
    method : str
        ``"chebyshev"`` or ``"taylor"``.
    route : str
        ``"features"`` (Algorithm 1 in float64), ``"dense"`` (``P`` evaluated on
        every score in float64), ``"mpmath"`` (dense, in arbitrary precision) or
        ``"refuse"``.
    lower, upper : float
        The score interval ``P`` is built for.
    score_bound : float
        ``X``, the bound on ``sum_l |q_l k_l| / d`` (the data-aware ``R``).
    paper_score_bound : float
        ``B^2`` (Lemma 3.3).
    dimension : int
        ``d``.
    degree : int
        ``g`` (predicted from the tail bound when the polynomial was not built).
    built : bool
        Whether the polynomial was built (and ``degree`` verified).
    rank : int
        ``r = C(d + g, g)``, the feature count (exact, possibly huge).
    log10_rank, log10_paper_rank : float
        ``log10 r`` and ``log10 C(2(g + d), 2g)`` (Lemma 3.2's count).
    paper_degree : float
        The paper's ``max{log(1/eps)/log(log(1/eps)/h), h}`` at the radius used.
    eps : float
        The entrywise relative error asked for.
    approximation_error, rounding_error, entry_error : float
        ``eps_P`` (the polynomial), ``delta`` (working-precision rounding) and
        ``eps_A = eps_P + (1 + eps_P) delta``, the entrywise relative error on
        ``A`` Lemmas 3.5-3.6 start from (``inf`` when refused).
    abs_error, rel_error : float
        The guarantee on the output (see :class:`PolynomialAttention`).
    seconds, peak_bytes : float, int
        Predicted time and peak extra memory of the chosen route.
    precision : int
        Bits of the arithmetic (53 for float64 routes).
    routes : tuple of (str, float, int, str)
        Every route considered: name, predicted seconds, bytes, and why it was
        rejected (``""`` when feasible).
    refusal : str
        The refusal message (``""`` when the plan runs).
    """

    oracle: str
    method: str
    route: str
    lower: float
    upper: float
    score_bound: float
    paper_score_bound: float
    dimension: int
    degree: int
    built: bool
    rank: int = attrs.field(repr=False)
    log10_rank: float
    log10_paper_rank: float
    paper_degree: float
    eps: float
    approximation_error: float
    rounding_error: float
    entry_error: float
    abs_error: float
    rel_error: float
    seconds: float
    peak_bytes: int
    precision: int
    routes: tuple[tuple[str, float, int, str], ...] = attrs.field(repr=False)
    refusal: str = attrs.field(repr=False)

    @property
    def paper_rank(self) -> int:
        """Lemma 3.2's ``C(2(g + d), 2g)`` (exact; may be huge).

        >>> from instances.attention import random_attention
        >>> from solvers.attention.polynomial.oracle import PolynomialAttention
        >>> PolynomialAttention().plan(random_attention(4096, 4, 1.0, seed=0)).paper_rank
        319770
        """
        return math.comb(2 * (self.degree + self.dimension), 2 * self.degree)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict of the plan (huge ranks as ``log10``).

        >>> from instances.attention import random_attention
        >>> from solvers.attention.polynomial.oracle import PolynomialAttention
        >>> s = PolynomialAttention().plan(random_attention(64, 2, 1.0, seed=0)).summary()
        >>> s["route"], s["degree"], s["rank"]
        ('dense', 7, 36)
        """
        rank: int | None = self.rank if self.log10_rank < 15 else None
        return {
            "oracle": self.oracle,
            "method": self.method,
            "route": self.route,
            "interval": [self.lower, self.upper],
            "score_bound": self.score_bound,
            "paper_score_bound": self.paper_score_bound,
            "dimension": self.dimension,
            "degree": self.degree,
            "built": self.built,
            "rank": rank,
            "log10_rank": self.log10_rank,
            "log10_paper_rank": self.log10_paper_rank,
            "paper_degree": self.paper_degree,
            "eps": self.eps,
            "approximation_error": self.approximation_error,
            "rounding_error": self.rounding_error,
            "entry_error": self.entry_error,
            "abs_error": self.abs_error,
            "rel_error": self.rel_error,
            "seconds": self.seconds,
            "peak_bytes": self.peak_bytes,
            "precision": self.precision,
            "routes": [{"route": r, "seconds": s, "peak_bytes": b, "rejected": why} for r, s, b, why in self.routes],
            "refusal": self.refusal,
        }


def _optional_bytes(value: Any) -> int | None:
    return None if value is None else check_int("max_bytes", value, minimum=0)


def _optional_seconds(value: Any) -> float | None:
    return None if value is None else check_real("max_seconds", value, minimum=0)


def _eps(value: Any) -> float:
    value = check_real("eps", value, minimum=0, strict_minimum=True)
    if not value < 0.5:
        raise ValueError(f"'eps' must be < 0.5 (got {value!r})")
    return value


def _optional_block(value: Any) -> int | None:
    return None if value is None else check_int("block", value, minimum=1)


def _optional_degree(value: Any) -> int | None:
    return None if value is None else check_int("degree", value, minimum=0)


def _route(value: Any) -> str:
    if value not in _ROUTES:
        raise ValueError(f"'route' must be one of {', '.join(_ROUTES)} (got {value!r})")
    return str(value)


def _interval(value: Any) -> str:
    if value not in ("data", "paper"):
        raise ValueError(f"'interval' must be 'data' or 'paper' (got {value!r})")
    return str(value)


def _workers(value: Any) -> int | str:
    if isinstance(value, str) and value == "auto":
        return "auto"
    return check_int("workers", value, minimum=1)


@attrs.frozen
class _PolynomialOracle:
    """Shared machinery of the polynomial and Taylor oracles (see :class:`PolynomialAttention`)."""

    _method: ClassVar[str] = "chebyshev"
    _name: ClassVar[str] = "polynomial"

    eps: float = attrs.field(default=1e-6, converter=_eps)
    degree: int | None = attrs.field(default=None, converter=_optional_degree)
    route: str = attrs.field(default="auto", converter=_route)
    interval: str = attrs.field(default="data", converter=_interval)
    block: int | None = attrs.field(default=None, converter=_optional_block)
    workers: int | str = attrs.field(default="auto", converter=_workers)
    max_bytes: int | None = attrs.field(default=DEFAULT_MAX_BYTES, converter=_optional_bytes)
    max_seconds: float | None = attrs.field(default=DEFAULT_MAX_SECONDS, converter=_optional_seconds)

    # -- the protocol -------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The oracle's name, stored in every answer."""
        return self._name

    def guarantee(self, instance: AttentionInstance) -> Guarantee:
        """The error promised on ``instance`` (``inf`` when the oracle would refuse it)."""
        plan = self.plan(instance)
        return Guarantee(abs_error=plan.abs_error, rel_error=plan.rel_error, description=self._describe(plan))

    def cost(self, instance: AttentionInstance, *, rows: Sequence[int] | np.ndarray | None = None) -> Cost:
        """Predicted seconds and peak extra bytes of the route the plan picks (when it refuses: of the
        cheapest route that would meet the error budget but for the limits)."""
        plan = self.plan(instance, rows=rows)
        return Cost(seconds=plan.seconds, peak_bytes=plan.peak_bytes)

    def check(self, instance: AttentionInstance, *, log_space: bool = False) -> PolynomialPlan:
        """The plan, or :class:`OracleRefusal` with its numbers when the oracle would refuse."""
        plan = self.plan(instance, log_space=log_space)
        if plan.route == "refuse":
            raise OracleRefusal(plan.refusal)
        return plan

    def __call__(
        self,
        instance: AttentionInstance,
        *,
        log_space: bool = False,
        rows: Sequence[int] | np.ndarray | None = None,
    ) -> AttentionOutput:
        """Attention of ``instance`` within :meth:`guarantee`, or :class:`OracleRefusal`.

        Parameters
        ----------
        instance : AttentionInstance
        log_space : bool
            Return ``log_values`` (needs ``V >= 0``).
        rows : sequence of int, optional
            Answer only these query rows (in this order).

        Returns
        -------
        AttentionOutput
        """
        if not isinstance(instance, AttentionInstance):
            raise TypeError(f"'instance' must be an AttentionInstance (got {type(instance).__name__})")
        if not isinstance(log_space, bool):
            raise TypeError(f"'log_space' must be a bool (got {log_space!r})")
        if log_space and not instance.nonnegative_values:
            position = tuple(int(x) for x in np.argwhere(instance.value < 0)[0])
            raise ValueError(
                f"'log_space=True' needs V >= 0; 'V' entry {position} is {float(instance.value[position])!r}"
            )
        index = query_rows(instance, rows)
        plan = self.plan(instance, rows=index, log_space=log_space)
        if plan.route == "refuse":
            raise OracleRefusal(plan.refusal)
        query = instance.query if index is None else instance.query[index]
        if query.shape[0] == 0:
            empty = np.zeros((0, instance.value_columns))
            return AttentionOutput(
                values=None if log_space else empty,
                log_values=empty if log_space else None,
                abs_error=plan.abs_error,
                rel_error=plan.rel_error,
                oracle=self.name,
                rows=index,
            )
        approximation = self._approximation(plan.lower, plan.upper, plan.degree)
        if plan.route == "mpmath":
            values, log_values = _mpmath_route(instance, query, approximation, log_space)
        else:
            values, log_values = self._float64_route(plan, instance, query, approximation, log_space)
        return AttentionOutput(
            values=values,
            log_values=log_values,
            abs_error=plan.abs_error,
            rel_error=plan.rel_error,
            oracle=self.name,
            rows=index,
        )

    # -- planning -------------------------------------------------------------------------
    def _interval(self, instance: AttentionInstance) -> tuple[float, float, float]:
        lower, upper, bound = score_interval(instance, interval=self.interval)
        return (*_quantise(lower, upper), bound)

    def _predict_degree(self, lower: float, upper: float, target: float) -> int:
        return predict_chebyshev_degree((upper - lower) / 2, target)

    def _approximation(self, lower: float, upper: float, degree: int | None) -> ExpApproximation:
        return exp_approximation(lower, upper, self.eps, method=self._method, degree=degree)  # type: ignore[arg-type]

    def _degree_refusal(self, degree: int) -> str:
        return ""

    def plan(
        self,
        instance: AttentionInstance,
        *,
        rows: Sequence[int] | np.ndarray | None = None,
        log_space: bool = False,
    ) -> PolynomialPlan:
        """Predict degree, rank, route, time, memory and error on ``instance`` (see :class:`PolynomialPlan`).

        The polynomial is built (mpmath, cached) only when some route is
        affordable at the predicted degree, so refusing a huge instance costs a
        few Bessel evaluations.

        Examples
        --------
        >>> from instances.attention import random_attention
        >>> from solvers.attention.polynomial.oracle import PolynomialAttention
        >>> plan = PolynomialAttention(eps=1e-6).plan(random_attention(2**12, 4, 1.0, seed=0))
        >>> plan.route, plan.degree, plan.rank, round(plan.log10_paper_rank, 2)
        ('features', 7, 330, 5.5)
        >>> plan.entry_error <= 1e-6, plan.abs_error <= 2.1e-6 * 1.0
        (True, True)
        """
        if not isinstance(instance, AttentionInstance):
            raise TypeError(f"'instance' must be an AttentionInstance (got {type(instance).__name__})")
        n = instance.n if rows is None else len(rows)
        m, d = instance.m, instance.d
        lower, upper, bound = self._interval(instance)
        radius = (upper - lower) / 2
        if not (math.isfinite(radius) and math.isfinite(bound)) or radius > MAX_SEARCH_RADIUS:
            return self._beyond_float_plan(instance, lower, upper, bound)
        workers = self._worker_count(max(n, m))
        degree = self.degree if self.degree is not None else self._predict_degree(lower, upper, self.eps)
        reason = self._degree_refusal(degree)
        # First pass at the predicted degree, without building anything.
        evaluation = self._evaluate(instance, n, lower, upper, bound, degree, None, workers, reason)
        approximation: ExpApproximation | None = None
        if not reason and self._choose(evaluation) is not None:
            approximation = self._approximation(lower, upper, self.degree)
            evaluation = self._evaluate(
                instance, n, lower, upper, bound, approximation.degree, approximation, workers, reason
            )
            for _ in range(3 if self.degree is None else 0):
                chosen = self._choose(evaluation)
                if chosen is not None and chosen[0] in _FLOAT64_ROUTES:
                    break
                # a float64 route that misses the budget only because the polynomial uses most of it:
                # a slightly more accurate polynomial leaves room for the rounding
                close = [
                    r
                    for r in evaluation
                    if r[0] in _FLOAT64_ROUTES
                    and r[3].startswith("float64 rounding")
                    and r[4] < 0.8 * self.eps
                    and self.route in ("auto", r[0])
                ]
                if not close:
                    break
                bumped = self._approximation(lower, upper, approximation.degree + self._degree_step)
                trial = self._evaluate(instance, n, lower, upper, bound, bumped.degree, bumped, workers, reason)
                if self._choose(trial) is None:
                    break
                approximation, evaluation = bumped, trial
        degree = approximation.degree if approximation is not None else degree
        eps_p = approximation.rel_error if approximation is not None else self.eps
        chosen = self._choose(evaluation)
        log10_rank = log10_binomial(d + degree, degree)
        common: dict[str, Any] = dict(
            oracle=self.name,
            method=self._method,
            lower=lower,
            upper=upper,
            score_bound=bound,
            paper_score_bound=instance.bound * instance.bound,
            dimension=d,
            degree=degree,
            built=approximation is not None,
            rank=math.comb(d + degree, degree) if log10_rank < 4000 else 0,
            log10_rank=log10_rank,
            log10_paper_rank=log10_binomial(2 * (degree + d), 2 * degree),
            paper_degree=paper_degree(radius, min(self.eps, 0.5)),
            eps=self.eps,
            approximation_error=eps_p,
            routes=tuple((name, seconds, peak, why) for name, seconds, peak, why, _, _ in evaluation),
        )
        if chosen is None:
            # the cost of a refusal: the cheapest route that only the limits rule out
            possible = [r for r in evaluation if "above 'max_" in r[3]] or evaluation
            cheapest = min(possible, key=lambda r: r[1])
            return PolynomialPlan(
                route="refuse",
                rounding_error=math.inf,
                entry_error=math.inf,
                abs_error=math.inf,
                rel_error=math.inf,
                seconds=cheapest[1],
                peak_bytes=cheapest[2],
                precision=53,
                refusal=self._refusal_message(instance, n, lower, upper, bound, degree, evaluation, reason),
                **common,
            )
        name, seconds, peak, _, delta, entry = chosen
        abs_error, rel_error = self._output_error(instance, entry, radius, m)
        bits = approximation.precision + 16 if approximation is not None else 53
        return PolynomialPlan(
            route=name,
            rounding_error=delta,
            entry_error=entry,
            abs_error=abs_error,
            rel_error=rel_error,
            seconds=seconds,
            peak_bytes=peak,
            precision=bits if name == "mpmath" else 53,
            refusal="",
            **common,
        )

    _degree_step: ClassVar[int] = 1
    _degree_per_radius: ClassVar[tuple[int, int]] = (22, 10)  # g / h for large h (Chebyshev tail bound: 2.2)

    def _beyond_float_plan(
        self, instance: AttentionInstance, lower: float, upper: float, bound: float
    ) -> PolynomialPlan:
        """A refusal, before any search or allocation, for scores whose interval is huge or beyond float64."""
        d = instance.d
        with np.errstate(divide="ignore"):
            largest = [float(np.max(np.abs(a))) if a.size else 0.0 for a in (instance.query, instance.key)]
        if all(x > 0 for x in largest):
            log10_scores = math.log10(largest[0]) + math.log10(largest[1])  # |<q, k>| / d <= max|q| max|k|
        else:
            log10_scores = -math.inf
        if math.isfinite(upper - lower):
            radius_text = f"scores in [{lower:.4g}, {upper:.4g}] (radius h = {(upper - lower) / 2:.4g})"
            log10_radius = math.log10(max((upper - lower) / 2, 1.0))
        else:
            radius_text = f"scores up to 10^{log10_scores:.1f} in absolute value (beyond float64)"
            log10_radius = log10_scores
        # the degree, about c h for these radii, as an int (h itself may not fit in float64 here)
        exponent = math.floor(log10_radius)
        whole = int(10 ** (log10_radius - exponent + 3)) * 10**exponent // 1000
        numerator, denominator = self._degree_per_radius
        degree = max(1, whole * numerator // denominator)
        log10_degree = math.log10(degree)
        log10_rank = d * log10_degree - math.lgamma(d + 1) / math.log(10)
        log10_paper_rank = 2 * d * (log10_degree + math.log10(2)) - math.lgamma(2 * d + 1) / math.log(10)
        refusal = (
            f"{self.name} oracle refuses: {radius_text} need degree g ~ {numerator / denominator:.3g} h ~ "
            f"10^{log10_degree:.1f} for relative error {self.eps:.2g} and rank r = C({d}+g, g) ~ 10^{log10_rank:,.0f} "
            f"— beyond any machine, as the lower bound predicts for B = ω(√log n): here B = {instance.bound:.3g}"
        )
        return PolynomialPlan(
            oracle=self.name,
            method=self._method,
            route="refuse",
            lower=lower,
            upper=upper,
            score_bound=bound,
            paper_score_bound=instance.bound * instance.bound,
            dimension=d,
            degree=degree,
            built=False,
            rank=0,
            log10_rank=log10_rank,
            log10_paper_rank=log10_paper_rank,
            paper_degree=math.inf if not math.isfinite(upper - lower) else max(10.0**log10_radius, 1.0),
            eps=self.eps,
            approximation_error=self.eps,
            rounding_error=math.inf,
            entry_error=math.inf,
            abs_error=math.inf,
            rel_error=math.inf,
            seconds=math.inf,
            peak_bytes=0,
            precision=53,
            routes=(),
            refusal=refusal,
        )

    def _choose(self, evaluation: list[_Route]) -> _Route | None:
        feasible = [r for r in evaluation if not r[3] and (self.route == "auto" or r[0] == self.route)]
        return min(feasible, key=lambda r: r[1]) if feasible else None

    def _evaluate(
        self,
        instance: AttentionInstance,
        n: int,
        lower: float,
        upper: float,
        bound: float,
        degree: int,
        approximation: ExpApproximation | None,
        workers: int,
        reason: str,
    ) -> list[_Route]:
        """Every route at this degree: ``(name, seconds, bytes, why rejected, rounding, eps_A)``."""
        m, d, dv = instance.m, instance.d, instance.value_columns
        radius = (upper - lower) / 2
        center = (lower + upper) / 2
        log10_rank = log10_binomial(d + degree, degree)
        bits = working_precision(degree, radius, min(self.eps, 0.5)) + 16
        build = 0.0
        if approximation is None and not (degree <= 12 and radius <= 16):
            grid = min(400_000, 30 * (degree + 1) * (degree + radius + 1))
            build = _mp_seconds(0.4 * degree * degree + 4 * degree + grid, bits)
        # features
        if log10_rank < 15:
            rank = math.comb(d + degree, degree)
            block = self.block or feature_block(rank, max(n, m, 1))
            blocks = math.ceil(max(n, 1) / block) + math.ceil(m / block)
            low = math.comb(d + degree - 1, degree - 1) if degree > 0 else 1  # materialised monomials
            ns = (n + m) * (low * _NS_FEATURE + rank * _NS_PRODUCT * (dv + 1))
            ns += blocks * (degree + 2) * d * _NS_BLOCK_CALL
            if workers > 1:
                ns /= _TWO_WORKER_SPEEDUP
            scratch = workers * rank * (block + dv + 1) + rank * (dv + 3)
            features = ((ns + _NS_FIXED) * 1e-9 + build, 8 * (scratch + (n + m) * (2 * d + 2 * dv + 3)))
        else:
            rank, block = 0, 1
            features = (math.inf, 2**62)
        # dense, float64 and mpmath
        query_block, key_block = 256, 2048
        dense_ns = n * m * (_NS_DENSE_SCORE + _NS_DENSE_STEP * degree + _NS_DENSE_COLUMN * (dv + 1)) + _NS_FIXED
        dense_speedup = _TWO_WORKER_SPEEDUP if (workers > 1 and n > query_block) else 1.0
        dense = (
            dense_ns * 1e-9 / dense_speedup + build,
            8
            * (
                2 * workers * min(max(n, 1), query_block) * min(m, key_block)
                + (n + m) * (d + dv + 1)
                + 2 * n * (dv + 1)
            ),
        )
        mp = (
            _mp_seconds(n * m * (degree + d + 2 * dv + 6) + n * (dv + 2) * 40, bits) + build,
            100 * (m * (d + dv) + n * d) + (bits // 8 + 100) * (m + degree + 1) * 2,
        )
        # rounding
        if approximation is not None:
            eps_p = approximation.rel_error
            kappa_x = approximation.condition_number(bound)
            log2_kappa_t = approximation.log2_t_condition_number()
            kappa_t = approximation.t_condition_number()
            lipschitz = approximation.log_derivative_bound()
        else:
            # before building: optimistic (a route rejected here is rejected for sure)
            eps_p = 0.0
            log2_kappa_t = 2 * radius / _LN2 - 1  # P(b) / P(a) ~ e^(2h)
            kappa_x = kappa_t = math.exp(min(700.0, 2 * radius)) / 2
            lipschitz = radius
        key_block = min(m, key_block)
        delta_features = _gamma(4 * degree + block + math.ceil(m / block) + rank + 6) * kappa_x
        if radius > 0:
            delta_t = _gamma(d + 4) * (bound + abs(center)) / radius + 2 * _U
            delta_entry = _gamma(2 * degree + 2) * kappa_t + math.expm1(min(lipschitz * delta_t, 700.0))
        else:
            delta_entry = 2 * _U
        delta_dense = (1 + delta_entry) * (1 + _gamma(key_block + math.ceil(m / key_block) + 2)) - 1
        # 2^-bits and kappa_t both may lie beyond float64: combine their logarithms
        delta_mp = 4 * (2 * degree + d + m + 16) * _pow2(log2_kappa_t - bits) + _U
        if radius > 0:
            delta_mp += 4 * lipschitz * (bound + abs(center)) / radius * _pow2(-bits)
        result = []
        for name, (seconds, peak), delta in (
            ("features", features, delta_features),
            ("dense", dense, delta_dense),
            ("mpmath", mp, delta_mp),
        ):
            entry = eps_p + (1 + eps_p) * delta
            conditioning = kappa_x if name == "features" else kappa_t
            if reason:
                why = reason
            elif name == "features" and log10_rank >= 15:
                log10_seconds = log10_rank + math.log10(max(n + m, 1) * _NS_FEATURE) - 9
                why = f"~10^{log10_seconds:,.0f} s for rank ~ 10^{log10_rank:,.0f}"
            elif name in _FLOAT64_ROUTES and not entry <= self.eps and self.degree is None:
                why = _cancellation(conditioning, radius, delta, "eps")
            elif not entry < 0.5:
                why = _cancellation(conditioning, radius, delta, "0.5")
            else:
                limits = []
                if self.max_seconds is not None and seconds > self.max_seconds:
                    limits.append(f"above 'max_seconds' = {self.max_seconds:.3g} s")
                if self.max_bytes is not None and peak > self.max_bytes:
                    limits.append(f"{format_bytes(peak)} above 'max_bytes' = {format_bytes(self.max_bytes)}")
                why = " and ".join(limits)
            result.append((name, seconds, int(peak), why, delta, entry))
        return result

    def _output_error(self, instance: AttentionInstance, entry: float, radius: float, m: int) -> tuple[float, float]:
        """Lemmas 3.5-3.6 with rounding: absolute and relative error of the output."""
        if not entry < 1:
            return (math.inf, math.inf)
        norm = instance.value_norm
        abs_error = norm * (2 * entry + _U * (1 + entry)) / (1 - entry) + (_TINY if norm > 0 else 0.0)
        if not instance.nonnegative_values:
            return (abs_error, math.inf)
        rel = (1 + entry) / (1 - entry) * (1 + _U) - 1
        # the log form: logs of values down to e^-(2h + log m + |log v|) rounded, and the final sums
        smallest = float(np.min(instance.value, where=instance.value > 0, initial=math.inf))
        log_v = max(abs(math.log(smallest)), abs(math.log(norm))) if math.isfinite(smallest) else 0.0
        log_range = 2 * radius + math.log(max(m, 1)) + log_v + 760.0
        lam = 6 * _U * log_range
        rel = math.expm1(math.log1p(rel) + lam)
        return (max(abs_error, rel * norm + (_TINY if norm > 0 else 0.0)), rel)

    def _worker_count(self, rows: int) -> int:
        if self.workers == "auto":
            return default_workers(rows)
        return int(self.workers)

    def _refusal_message(
        self,
        instance: AttentionInstance,
        n: int,
        lower: float,
        upper: float,
        bound: float,
        degree: int,
        evaluation: list[_Route],
        reason: str,
    ) -> str:
        d, m = instance.d, instance.m
        if reason:
            return f"{self.name} oracle refuses: {reason}"
        log10_rank = log10_binomial(d + degree, degree)
        rank_text = f"{math.comb(d + degree, degree):,}" if log10_rank < 12 else f"10^{log10_rank:,.0f}"
        radius = (upper - lower) / 2
        labels = {"features": "features", "dense": "dense float64", "mpmath": "dense mpmath"}
        parts = []
        for name, seconds, peak, why, _, _ in evaluation:
            if self.route not in ("auto", name):
                continue
            if math.isinf(seconds):
                parts.append(f"{labels[name]}: {why}")
            else:
                parts.append(f"{labels[name]} {_seconds(seconds)}, {format_bytes(peak)}: {why or 'feasible'}")
        line = (
            f"{self.name} oracle refuses: scores in [{lower:.4g}, {upper:.4g}] (R = {bound:.4g}) need degree "
            f"g = {degree:,} for relative error {self.eps:.2g} and rank r = C({d}+g, g) = {rank_text} "
            f"({'; '.join(parts)})"
        )
        log_n = math.log(max(n, m, 2))
        if log10_rank >= 12 or radius > 4 * log_n:
            where = "any" if log10_rank >= 12 else "this"
            line += (
                f" — beyond {where} machine, as the lower bound predicts for B = ω(√log n): "
                f"here B = {instance.bound:.3g} against √ln n = {math.sqrt(log_n):.2g}"
            )
        return line

    def _describe(self, plan: PolynomialPlan) -> str:
        if plan.route == "refuse":
            return plan.refusal
        route = {
            "features": "symmetric tensor features in float64",
            "dense": "dense evaluation in float64",
            "mpmath": f"dense evaluation in mpmath ({plan.precision} bits)",
        }[plan.route]
        text = (
            f"{plan.method} polynomial of degree {plan.degree} on [{plan.lower:.4g}, {plan.upper:.4g}], "
            f"rank {plan.rank:,} (Lemma 3.2 counts 10^{plan.log10_paper_rank:.1f}), {route}: "
            f"entrywise relative error {plan.approximation_error:.2e} (polynomial) "
            f"+ {plan.rounding_error:.1e} (rounding); "
            f"absolute error {plan.abs_error:.2e}"
        )
        if math.isfinite(plan.rel_error):
            text += f", relative error {plan.rel_error:.2e}"
        return text

    # -- the float64 routes ---------------------------------------------------------------
    def _float64_route(
        self,
        plan: PolynomialPlan,
        instance: AttentionInstance,
        query: np.ndarray,
        approximation: ExpApproximation,
        log_space: bool,
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        value = instance.value
        low, high = _column_range(value)
        norms = np.maximum(high, -low)
        exponents = np.array([math.frexp(float(x))[1] if x > 0 else 0 for x in norms])
        scaled = np.ldexp(value, -exponents[None, :]) if exponents.any() else value
        workers = self._worker_count(max(query.shape[0], instance.m))
        if plan.route == "features":
            sums = feature_attention_sums(
                query, instance.key, scaled, approximation.float_power_coefficients(), block=self.block, workers=workers
            )
        else:
            sums = _dense_sums(query, instance.key, scaled, approximation, workers)
        dv = value.shape[1]
        numerator, normaliser = sums[:, :dv], sums[:, dv]
        if not np.all(normaliser > 0) or not np.all(np.isfinite(sums)):
            raise OracleRefusal(
                f"{self.name} oracle: a normaliser came out non-positive or non-finite, which its rounding bound "
                f"{plan.rounding_error:.2g} excludes; please report this instance"
            )
        if instance.nonnegative_values:
            zero_columns = norms == 0
            bad = (numerator <= 0) & ~zero_columns[None, :]
            if bad.any() or (numerator < 0).any():
                raise OracleRefusal(
                    f"{self.name} oracle: a numerator underflowed or came out negative for V >= 0, which its "
                    f"rounding bound {plan.rounding_error:.2g} excludes; use route='mpmath'"
                )
        if log_space:
            with np.errstate(divide="ignore"):
                logs = np.log(numerator) - np.log(normaliser)[:, None] + exponents[None, :] * _LN2
            return None, logs
        result = numerator / normaliser[:, None]
        return (np.ldexp(result, exponents[None, :]) if exponents.any() else result), None


def _cancellation(conditioning: float, radius: float, delta: float, budget: str) -> str:
    factor = f"{conditioning:.2g}" if conditioning < 1e300 else f"~e^{2 * radius:,.0f}"
    if delta < 1:
        return f"float64 rounding {delta:.2g} > {budget}: its monomial form cancels a factor {factor} (~e^(2h))"
    return f"float64 cannot: its monomial form cancels a factor {factor} (~e^(2h))"


def _pow2(exponent: float) -> float:
    """``2^exponent``: ``inf`` above float64, 0 below it."""
    return math.inf if exponent >= 1024 else math.ldexp(1.0, math.ceil(exponent)) if exponent > -1075 else 0.0


def _seconds(seconds: float) -> str:
    if seconds >= 1e6:
        return f"~10^{math.log10(seconds):.0f} s"
    return f"{seconds:.3g} s"


def _dense_sums(
    query: np.ndarray, key: np.ndarray, scaled_value: np.ndarray, approximation: ExpApproximation, workers: int
) -> np.ndarray:
    """``sum_j P(x_ij) e^-c [v_j, 1]`` with ``P`` evaluated by Horner's rule in ``t = (x - c)/h`` on every score."""
    n, d = query.shape
    m, dv = scaled_value.shape
    h, c = approximation.radius, approximation.center
    coefficients = [float(b) for b in approximation.coefficients]
    alpha = 1.0 / (d * h) if h > 0 else 0.0
    beta = c / h if h > 0 else 0.0
    scaled_query = query * alpha
    key_t = np.ascontiguousarray(key.T)
    extended = np.empty((m, dv + 1))
    extended[:, :dv] = scaled_value
    extended[:, dv] = 1.0
    query_block, key_block = 256, 2048
    blocks = [(s, min(n, s + query_block)) for s in range(0, n, query_block)]
    result = np.zeros((n, dv + 1))
    workers = max(1, min(workers, len(blocks)))
    shape = (min(query_block, n), min(key_block, m))
    tiles = [(np.empty(shape), np.empty(shape)) for _ in range(workers)]

    def work(worker: int, index: int) -> None:
        s0, s1 = blocks[index]
        t_buffer, p_buffer = tiles[worker]
        acc = np.zeros((s1 - s0, dv + 1))
        for k0 in range(0, m, key_block):
            k1 = min(m, k0 + key_block)
            t = t_buffer[: s1 - s0, : k1 - k0]
            p = p_buffer[: s1 - s0, : k1 - k0]
            np.matmul(scaled_query[s0:s1], key_t[:, k0:k1], out=t)
            t -= beta
            np.clip(t, -1.0, 1.0, out=t)
            p.fill(coefficients[-1])
            for coefficient in reversed(coefficients[:-1]):
                p *= t
                p += coefficient
            acc += p @ extended[k0:k1]
        result[s0:s1] = acc

    run_blocks(len(blocks), workers, work)
    return result


def _mpmath_route(
    instance: AttentionInstance, query: np.ndarray, approximation: ExpApproximation, log_space: bool
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Dense evaluation of ``P`` on every score in mpmath at the polynomial's precision."""
    n = query.shape[0]
    d, dv = instance.d, instance.value_columns
    values = np.zeros((n, dv))
    log_values = np.zeros((n, dv)) if log_space else None
    with mpmath.workprec(approximation.precision + 16):
        c, h = mpmath.mpf(approximation.center), mpmath.mpf(approximation.radius)
        coefficients = approximation.coefficients
        keys = [[mpmath.mpf(float(x)) for x in row] for row in instance.key]
        columns = [[mpmath.mpf(float(x)) for x in instance.value[:, j]] for j in range(dv)]
        for i in range(n):
            q = [mpmath.mpf(float(x)) for x in query[i]]
            weights = []
            for key in keys:
                x = mpmath.fdot(q, key) / d
                t = (x - c) / h if h > 0 else mpmath.mpf(0)
                t = min(max(t, mpmath.mpf(-1)), mpmath.mpf(1))
                value = mpmath.mpf(0)
                for b in reversed(coefficients):
                    value = value * t + b
                weights.append(value)
            normaliser = mpmath.fsum(weights)
            for j in range(dv):
                numerator = mpmath.fdot(weights, columns[j])
                values[i, j] = float(numerator / normaliser)
                if log_values is not None:
                    if numerator == 0:
                        log_values[i, j] = -math.inf
                    else:
                        log_values[i, j] = float(mpmath.log(numerator) - mpmath.log(normaliser))
    return (None, log_values) if log_space else (values, None)


@attrs.frozen
class PolynomialAttention(_PolynomialOracle):
    """Approximate attention by the polynomial method (Algorithm 1 of Alman & Song 2023).

    Parameters
    ----------
    eps : float
        Entrywise relative error ``eps_A`` allowed on ``A = exp(Q K^T / d)``
        (Lemma 3.5's ``eps_A``), polynomial *and* rounding together; ``< 0.5``.
    degree : int, optional
        Use this degree instead of the smallest verified one (the guarantee
        then follows from what it achieves).
    route : {"auto", "features", "dense", "mpmath"}
        How to compute ``P(M)``: ``"features"`` (Algorithm 1, float64),
        ``"dense"`` (``P`` on every score, float64), ``"mpmath"`` (dense in
        arbitrary precision), or the cheapest feasible one.
    interval : {"data", "paper"}
        Build ``P`` on the data-aware score interval (:func:`score_interval`)
        or on the paper's ``[-B^2, B^2]``.
    block : int, optional
        Tokens per feature block (default: a ~4 MiB scratch).
    workers : int or "auto"
        Threads over blocks.
    max_bytes, max_seconds : int, float or None
        Refuse when the prediction exceeds these (default 4 GiB and 120 s).

    Raises
    ------
    OracleRefusal
        When no route fits the limits within the error budget; the message
        gives the degree, rank, and each route's predicted time and memory.

    Notes
    -----
    **Polynomial.** The truncated Chebyshev series of ``e^x`` on the score
    interval ``[a, b]`` (centre ``c``, radius ``h``), of the smallest degree
    verified to have relative error ``eps_P <= eps`` (see
    :func:`~solvers.attention.polynomial.approximation.exp_approximation`). The factor
    ``e^c`` is dropped: it cancels in ``D^-1 A``.

    **Routes and rounding** (``u = 2^-53``, ``gamma_k = ku/(1-ku)``).

    - *features*: ``P(x) e^-c = sum_j gamma_j x^j`` in float64 through
      :func:`~solvers.attention.polynomial.features.feature_attention_sums`. Every output
      sum is within ``gamma_K sum_j sum_alpha |phi_alpha psi_alpha| |v_j|`` of
      its exact value with ``K = 4g + block + m/block + r + 6``, and
      ``sum_alpha |phi_alpha(q) psi_alpha(k)| <= sum_j |gamma_j| X^j``
      (``X`` the score bound): relative to ``P >= (1 - eps_P) e^(a - c)`` the
      rounding is ``delta = gamma_K kappa_x`` with
      ``kappa_x = sum_j |gamma_j| X^j / ((1 - eps_P) e^-h)``, about ``e^(2h)``:
      the cancellation of the monomial form (``e^(2B^2)`` on ``[-B^2, B^2]``).
    - *dense*: ``t = (x - c)/h`` from one product (error ``Delta_t =
      gamma_(d+4)(X + |c|)/h + 2u``), clipped to ``[-1, 1]``, Horner in ``t``
      (``gamma_(2g+2) kappa_t``, ``kappa_t = sum |b_k| / ((1 - eps_P) e^-h)``);
      the error in ``t`` moves ``P`` by at most ``expm1(L Delta_t)`` with ``L``
      bounding ``|P'/P|`` (:meth:`~solvers.attention.polynomial.approximation.ExpApproximation.log_derivative_bound`);
      the sums over ``m`` keys add ``gamma_(kb + m/kb + 2)``.
    - *mpmath*: the same dense evaluation in ``p`` bits, ``p`` covering
      ``e^(2h)`` and the degree (:func:`~solvers.attention.polynomial.approximation.working_precision`);
      rounding ``4 (2g + d + m + 16) 2^-p kappa_t + 4 L (X + |c|)/h 2^-p + u`` (the last
      ``u``: rounding the answers to float64).

    A float64 route is used only when ``eps_P + (1 + eps_P) delta <= eps``. In
    all routes the sums then satisfy ``|N_hat - N| <= eps_A sum_j A_ij |v_j|``
    and ``|D_hat - D| <= eps_A D`` with ``eps_A = eps_P + (1 + eps_P) delta``.

    **Guarantee** (Lemmas 3.5-3.6). When ``A_hat = P(M)`` is exact and
    positive, Lemma 3.6 gives ``||T - Att||_inf <= 2 eps_A ||V||_inf``; with
    rounding that is not entrywise the same argument gives
    ``||T - Att||_inf <= ||V||_inf (2 eps_A + u (1 + eps_A)) / (1 - eps_A)``
    (the division rounded). For ``V >= 0`` every entry has relative error at
    most ``rho = (1 + eps_A)/(1 - eps_A) (1 + u) - 1``, widened by the rounding
    of the logarithms, ``6u (2h + log m + max |log v| + 760)``, so that it
    covers ``log_values`` too.

    **Cost.** Features: ``(n + m) r`` monomials and ``2 (n + m) r (dv + 1)``
    flops, memory ``O(r (block + dv))`` per worker. Dense: ``n m (d + 2g + dv)``.
    mpmath: ``n m (g + d + dv)`` multiply-adds in ``p`` bits, plus building
    ``P`` (``O(g^2)`` in ``p`` bits). The plan picks the cheapest route that
    meets the error budget within ``max_seconds`` and ``max_bytes``.

    References
    ----------
    J. Alman, Z. Song, "Fast Attention Requires Bounded Entries", NeurIPS 2023,
    Algorithm 1, Lemmas 3.2-3.6, Corollary 2.2.

    Examples
    --------
    >>> import numpy as np
    >>> from instances.attention import random_attention
    >>> from solvers.attention.exact import ExactAttention
    >>> from solvers.attention.polynomial.oracle import PolynomialAttention
    >>> inst = random_attention(300, 3, 1.0, nonnegative_values=True, seed=1)
    >>> out = PolynomialAttention(eps=1e-8, route="features")(inst, log_space=True)
    >>> exact = ExactAttention()(inst, log_space=True)
    >>> bool(np.all(np.abs(out.log_values - exact.log_values) <= out.rel_error + exact.rel_error))
    True

    At ``B = 4`` float64 cannot carry the monomial form (it cancels ``e^(2h)``),
    so a small instance is evaluated densely in mpmath:

    >>> PolynomialAttention(eps=1e-6).plan(random_attention(8, 2, 4.0, seed=0)).route
    'mpmath'

    In the hardness chain the scores reach thousands and the oracle refuses,
    with the numbers:

    >>> cold = random_attention(512, 8, 30.0, nonnegative_values=True, seed=0)
    >>> PolynomialAttention()(cold, log_space=True)
    Traceback (most recent call last):
    ...
    instances.errors.OracleRefusal: polynomial oracle refuses: ... — beyond any machine, as the lower bound predicts ...
    """

    _method: ClassVar[str] = "chebyshev"
    _name: ClassVar[str] = "polynomial"
