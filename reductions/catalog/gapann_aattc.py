"""Gap-ANN -> AAttC: Alman–Song Lemma 4.7, with both of its branches.

*Small radius*: enumerate each query's Hamming ball of radius ``< t`` and look
the points up in a hash set of ``B`` (no attention at all). *Otherwise* the
tau-balancing block construction: for equal-weight vectors (every weight
``D/2``, see :class:`~reductions.catalog.half_ones.HalfOnesPadding`) and ``d~ = 2D``::

    Q = sqrt(beta) [a_i, 1_D]  (real queries)     sqrt(beta) [0_D, 1_D]  (padding queries)
    K = sqrt(beta) [b_j, 0_D]  (real keys)        sqrt(beta) [0_D, w]    (n_k balancing keys)
    V = one column: 1 on real keys, 0 on balancing keys

so that real scores are ``(beta/4)(1 - dist(a_i, b_j)/D)`` and balancing
scores ``log tau = beta |w| / d~``. The share of row ``i``'s mass on real keys,
``u_i = (D^-1 A v)_i``, is at least ``L`` when query ``i`` has a close point
and at most ``U`` when every point is far; the decision is
``u_i >= theta``, compared in log space.

Choices (fields of the reduction):

* ``mode="certified"`` (default) takes the smallest ``beta`` with
  ``L/U >= kappa``, where the margin ``kappa`` absorbs the oracle's relative
  error; ``mode="paper"`` takes the paper's ``beta = C_b^2 ln n`` with
  ``C_b^2 = 40 C / (C_0 eps)`` and threshold ``2 t~``.
* ``balance="paper"`` (default) uses ``w = 1_D`` (``log tau = beta/2``);
  ``balance="tight"`` uses ``|w| = D/2`` (``log tau = beta/4``, the largest
  real score), which keeps ``u_i`` a factor ``e^{beta/4}`` larger.
* ``branch="auto"`` (default) picks the cheaper branch by predicted cost.

Errata handled (see ``math.md``): the balancing value is the actual
``exp(beta |w| / d~)``, not the paper's ``exp(beta)``; ``V`` has one
non-zero *column*, and only that column is materialised.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, ClassVar

import attrs
import numpy as np
import sympy

from instances.answers import NeighborDecisions
from instances.attention import AttentionInstance, AttentionOutput
from instances.cnf import CNF
from instances.errors import InvalidInstanceError, NotAWitnessError, OracleRefusal
from instances.vectors import GapANNInstance
from reductions.catalog.half_ones import HalfOnesPadding
from reductions.catalog.sat_ov import SatToOV
from reductions.core import Chain, ParameterMap, Reduced, Reduction
from reductions.pipeline import (
    EXPS_PER_SECOND,
    FLOPS_PER_SECOND,
    MAX_SIZE_EXPONENT,
    OVERHEAD_BYTES,
    ChainPrediction,
    beyond_any_machine,
    chain_peak_bytes,
    hamming_ball_log2,
    hamming_ball_points,
    int_log2,
    work_seconds,
)
from reductions.problems import get_problem, problem_symbols
from solvers.ann import DEFAULT_BALL_BUDGET, hamming_ball_cost, hamming_ball_gap_ann

__all__ = ["GapANNToAttention", "BlockParameters", "block_parameters", "block_beta", "block_distances"]

_LOG_SMALLEST_NORMAL = math.log(np.finfo(np.float64).tiny)


def _largest_below(value: Fraction, parity: int) -> int:
    """Largest integer ``< value`` with the given parity."""
    k = math.ceil(value) - 1
    return k if k % 2 == parity else k - 1


def _smallest_at_least(value: Fraction, parity: int) -> int:
    """Smallest integer ``>= value`` with the given parity."""
    k = math.ceil(value)
    return k if k % 2 == parity else k + 1


@attrs.frozen
class BlockParameters:
    """The numbers of one block construction, all logarithms natural.

    ``close_distance`` is the largest distance that counts as close and
    ``far_distance`` the smallest that counts as far (both with the parity of
    ``D``: equal-weight vectors have distances ``D - 2<a, b>``).
    """

    dimension: int
    num_queries: int
    num_points: int
    num_balancing: int
    close_distance: int
    far_distance: int
    beta: float
    log_tau: float
    log_lower: float
    log_upper: float
    log_threshold: float

    @property
    def size(self) -> int:
        """``N``: rows of Q and of K."""
        return self.num_points + self.num_balancing

    @property
    def log_margin(self) -> float:
        """``log(L / U)``."""
        return self.log_lower - self.log_upper


def block_distances(dimension: int, threshold: Fraction, epsilon: Fraction) -> tuple[int, int]:
    """``(close, far)``: the largest distance below ``t`` and the smallest at least ``(1 + eps) t``, both with the
    parity of ``D`` (equal-weight vectors have distances ``D - 2<a, b>``); ``far`` is at most ``D + 2``.

    >>> block_distances(12, Fraction(5), Fraction(1, 5))  # t = 5, (1 + eps) t = 6
    (4, 6)
    """
    parity = dimension % 2
    far_distance = (1 + Fraction(epsilon)) * Fraction(threshold)
    return _largest_below(Fraction(threshold), parity), min(_smallest_at_least(far_distance, parity), dimension + 2)


def block_beta(
    dimension: int,
    num_queries: int,
    num_points: int,
    threshold: Fraction,
    epsilon: Fraction,
    *,
    mode: str = "certified",
    margin: float = 4.0,
) -> float:
    """``beta = B^2`` of the block construction, from the sizes alone (no vectors needed).

    Certified: the smallest ``beta >= 1`` with ``L/U >= margin``, that is
    ``4 D ln(margin n_b N / n_k) / (far - close)``; paper: ``40 D ln n / (t eps)``.
    Python ints are welcome for the counts (``ln`` of a huge count is exact enough).

    >>> round(block_beta(12, 4, 4, Fraction(5), Fraction(1, 5)), 3)  # 4 * 12 * ln(4 * 4 * 8 / 4) / (6 - 4)
    83.178
    >>> round(block_beta(12, 4, 4, Fraction(5), Fraction(1, 5), mode="paper"), 3)  # 40 * 12 * ln 4 / 1
    665.421
    """
    n_k = max(num_points, num_queries - num_points, 1)
    if mode == "certified":
        close, far = block_distances(dimension, threshold, epsilon)
        need = math.log(margin) + math.log(max(num_points, 1)) + math.log(num_points + n_k) - math.log(n_k)
        return max(4 * dimension * need / (far - close), 1.0)  # beta >= 1 keeps V (entries 1) within B = sqrt(beta)
    if mode == "paper":
        log_n = math.log(max(num_queries, num_points, 2))
        # C = D / ln n, C_0 = t / ln n, so C_b^2 ln n = 40 C ln n / (C_0 eps) = 40 D ln n / (t eps).
        return 40 * dimension * log_n / float(Fraction(threshold) * Fraction(epsilon))
    raise ValueError(f"'mode' must be 'certified' or 'paper' (got {mode!r})")


def block_parameters(
    instance: GapANNInstance, *, mode: str = "certified", balance: str = "paper", margin: float = 4.0
) -> BlockParameters:
    """Choose ``beta``, ``tau`` and the threshold for ``instance``.

    ``margin`` is the ``kappa`` that certified mode guarantees for ``L/U``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[1, 0, 1, 0], [0, 1, 1, 0]]); b = np.array([[1, 0, 0, 1]])
    >>> p = block_parameters(GapANNInstance(a, b, 2, 1))
    >>> p.close_distance, p.far_distance, bool(p.log_margin >= np.log(4.0) - 1e-9)
    (0, 4, True)
    """
    D = instance.dimension
    n_a, n_b = instance.a.shape[0], instance.b.shape[0]
    n_k = max(n_b, n_a - n_b, 1)
    N = n_b + n_k
    close, far = block_distances(D, instance.threshold, instance.epsilon)
    log_nb = math.log(max(n_b, 1))
    beta = block_beta(D, n_a, n_b, instance.threshold, instance.epsilon, mode=mode, margin=margin)
    if balance == "paper":
        log_tau = beta / 2
    elif balance == "tight":
        log_tau = beta / 4
    else:
        raise ValueError(f"'balance' must be 'paper' or 'tight' (got {balance!r})")
    log_lower = (beta / 4) * (1 - close / D) - math.log(N) - log_tau
    log_upper = log_nb + (beta / 4) * (1 - far / D) - math.log(n_k) - log_tau
    if mode == "certified":
        log_threshold = (log_lower + log_upper) / 2
    else:
        # The paper's t~0 = 2 t~ with t~ = exp(beta (1 - t/D) / 4) / (3 N tau).
        log_threshold = math.log(2 / 3) + (beta / 4) * (1 - float(instance.threshold) / D) - math.log(N) - log_tau
    if far > D:  # no distance reaches the far side: no query can be in case 2
        log_upper = -math.inf
    return BlockParameters(D, n_a, n_b, n_k, close, far, beta, log_tau, log_lower, log_upper, log_threshold)


def _check_branch(value: str) -> str:
    if value not in ("auto", "attention", "hamming-ball"):
        raise ValueError(f"'branch' must be 'auto', 'attention' or 'hamming-ball' (got {value!r})")
    return value


def _check_choice(name: str, allowed: tuple[str, ...]) -> Any:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"'{name}' must be one of {', '.join(map(repr, allowed))} (got {value!r})")
        return value

    return check


@attrs.frozen
class GapANNToAttention(Reduction):
    """Gap-ANN (equal weights) -> AAttC, Alman–Song Lemma 4.7.

    Parameters
    ----------
    mode : {"certified", "paper"}
        How ``beta`` and the threshold are chosen (see the module docstring).
    balance : {"paper", "tight"}
        The balancing keys' ``w``: ``1_D`` or ``D/2`` ones.
    branch : {"auto", "attention", "hamming-ball"}
        Lemma 4.7's case 1 (Hamming ball), case 2 (attention), or the cheaper.
    oracle_rel_error : float
        Relative error per output entry the certified margin must absorb.
    ball_budget : int
        Largest Hamming-ball search the reduction will run.

    Notes
    -----
    Sizes: ``N = max(n_a, 2 n_b)`` queries and keys, ``d~ = 2D``, ``B = sqrt(beta)``.
    The backward map reads ``u_i`` in log space and checks the oracle's stated
    error against the margin before trusting it; it raises
    :class:`OracleRefusal` when the guarantee is too weak to decide.

    References
    ----------
    J. Alman, Z. Song, "Fast Attention Requires Bounded Entries", NeurIPS 2023, Lemma 4.7.

    Examples
    --------
    >>> from reductions.catalog.half_ones import HalfOnesPadding
    >>> g = HalfOnesPadding().forward(GapANNInstance([[1, 0], [0, 1]], [[1, 0]], 1, 1)).target
    >>> reduced = GapANNToAttention(branch="attention").forward(g)
    >>> reduced.info["branch"], reduced.target.parameters()["n"], reduced.target.parameters()["d"]
    ('attention', 2, 8)
    >>> from solvers.attention.exact import ExactAttention
    >>> reduced.backward(ExactAttention()(reduced.target, log_space=True)).close
    (True, False)
    >>> GapANNToAttention().forward(GapANNInstance([[1, 0]], [[1, 1]], 1, 1))
    Traceback (most recent call last):
    ...
    instances.errors.InvalidInstanceError: Gap-ANN -> AAttC needs every vector of weight D/2 = 1.0; pad with HalfOnesPadding first
    """

    name: ClassVar[str] = "gapann-aattc"
    source: ClassVar[str] = "gapann"
    target: ClassVar[str] = "aattc"
    verify_max_size: ClassVar[int] = 5
    prepare: ClassVar[tuple[str, ...]] = ("half-ones",)
    """Registered steps a path must apply first (equal weights)."""

    mode: str = attrs.field(
        default="certified", validator=lambda _i, _a, v: _check_choice("mode", ("certified", "paper"))(v)
    )
    balance: str = attrs.field(
        default="paper", validator=lambda _i, _a, v: _check_choice("balance", ("paper", "tight"))(v)
    )
    branch: str = attrs.field(default="auto", validator=lambda _i, _a, v: _check_branch(v))
    oracle_rel_error: float = attrs.field(default=1e-6)
    ball_budget: int = attrs.field(default=DEFAULT_BALL_BUDGET)

    @oracle_rel_error.validator
    def _check_rel_error(self, _attribute: Any, value: float) -> None:
        if not (isinstance(value, (int, float)) and 0 <= value < 0.5):
            raise ValueError(f"'oracle_rel_error' must be in [0, 0.5) (got {value!r})")

    @property
    def margin(self) -> float:
        """The ``kappa`` certified mode guarantees for ``L/U``: ``4 ((1+rho)/(1-rho))^2``."""
        rho = self.oracle_rel_error
        return 4 * ((1 + rho) / (1 - rho)) ** 2

    def random_source(self, rng: np.random.Generator, size: int) -> GapANNInstance:
        """Random equal-weight Gap-ANN instances (half-ones padded), for testing."""
        raw = get_problem("gapann").random_instance(rng, size)
        return HalfOnesPadding().forward(raw).target

    def attention_cost(self, instance: GapANNInstance) -> int:
        """Score entries times dimension of the block construction: ``N^2 (d~ + 1)``."""
        n_a, n_b = instance.a.shape[0], instance.b.shape[0]
        size = max(n_a, 2 * n_b, 1)
        return size * size * (2 * instance.dimension + 1)

    def chosen_branch(self, instance: GapANNInstance) -> str:
        """The branch ``forward`` takes on ``instance``."""
        if self.branch == "attention" and instance.dimension == 0:
            raise InvalidInstanceError(
                "dimension 0 leaves attention nothing to compare (every query is trivially close); "
                "use branch='auto' or 'hamming-ball'"
            )
        if self.branch != "auto":
            return self.branch
        if instance.dimension == 0 or instance.b.shape[0] == 0:
            return "hamming-ball"  # degenerate: the ball has one point, or there is nothing to find
        return "hamming-ball" if hamming_ball_cost(instance) <= self.attention_cost(instance) else "attention"

    def predict_chain(self, formula: CNF, chain: Chain) -> ChainPrediction | None:
        """Sizes, memory and time of split and list, the gadget, half-ones and this step on ``formula``.

        None for another chain, or one that ends in a step with other options
        (its parameter map then predicts it). The branch is the one
        :meth:`chosen_branch` takes, on the sizes alone.

        >>> from instances import CNF
        >>> from reductions.catalog.chains import attention_chain
        >>> prediction = GapANNToAttention().predict_chain(CNF(20, [[1, 2, 3]] * 91), attention_chain())
        >>> prediction.size, prediction.attention_dimension, prediction.branch
        (2048, 1092, 'attention')
        >>> from reductions.catalog.ov_gapann import OVToGapANN
        >>> longer = Chain.of(SatToOV(), OVToGapANN(), HalfOnesPadding(), HalfOnesPadding(), GapANNToAttention())
        >>> GapANNToAttention().predict_chain(CNF(20, [[1, 2, 3]] * 91), longer) is None
        True
        """
        split = chain.parts[0]
        if len(chain.parts) != 4 or chain.parts[-1] != self or not isinstance(split, SatToOV):
            return None
        v, m = formula.num_vars, formula.num_clauses
        first = split.first_half_size(v)
        second = max(v - first, 0)
        if max(first, second + 1) > MAX_SIZE_EXPONENT:
            raise beyond_any_machine(formula, f"attention with N = 2^{max(first, second + 1)}")
        n_a, n_b = 2**first, 2**second
        D = 6 * m
        # N = n_b + max(n_b, n_a - n_b, 1): real keys plus balancing keys (block_parameters)
        size = n_b + max(n_b, n_a - n_b, 1)
        records = 10 * m * (n_a + n_b)  # uint8 OV, gadget and padded vectors, kept for the backward map
        # After the gadget and padding, orthogonal pairs sit at distance 2m < t = 2m + 2.
        radius = min(2 * m + 1, D)
        attention_work = max(n_a, 2 * n_b, 1) ** 2 * (2 * D + 1)
        ball_log2 = hamming_ball_log2(first, D, radius)
        exact_ball = radius <= 64 or ball_log2 <= 4096  # a few thousand big-int steps at most
        ball_points = hamming_ball_points(n_a, D, radius) if exact_ball else None
        if ball_points is not None:
            ball_log2 = int_log2(max(ball_points, 1))
            ball_cheaper = ball_points <= attention_work
        else:
            ball_cheaper = ball_log2 <= int_log2(attention_work)
        if m == 0 or self.branch == "hamming-ball" or (self.branch == "auto" and ball_cheaper):
            vector_bytes = (n_a + n_b) * max(m, 1) * 12 + OVERHEAD_BYTES
            seconds = work_seconds(ball_points * max(D, 1), FLOPS_PER_SECOND) if ball_points is not None else math.inf
            return ChainPrediction(
                n_a, n_b, m, size, 2 * D, "hamming-ball", ball_points, vector_bytes, seconds, size, ball_log2
            )
        bytes_needed = chain_peak_bytes(size, size, 2 * D, 1, records)
        seconds = work_seconds(size * size * (2 * 2 * D), FLOPS_PER_SECOND) + work_seconds(size * size, EXPS_PER_SECOND)
        return ChainPrediction(
            n_a, n_b, m, size, 2 * D, "attention", ball_points, bytes_needed, seconds, size, ball_log2
        )

    def needs_oracle(self, reduced: Reduced) -> bool:
        """Whether ``backward`` needs an attention output (not on the Hamming-ball branch)."""
        return "decisions" not in reduced.decoding

    def _forward(self, instance: GapANNInstance) -> tuple[Any, Mapping[str, Any], Mapping[str, Any]]:
        if not instance.has_equal_weights():
            raise InvalidInstanceError(
                f"Gap-ANN -> AAttC needs every vector of weight D/2 = {instance.dimension / 2}; "
                "pad with HalfOnesPadding first"
            )
        branch = self.chosen_branch(instance)
        if branch == "hamming-ball":
            decisions = hamming_ball_gap_ann(instance, budget=self.ball_budget)
            trivial = AttentionInstance(np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1)), 1.0)
            info: dict[str, Any] = {
                "branch": "hamming-ball",
                "ball_points": hamming_ball_cost(instance),
                "beta": None,
                "hamming_ball": 1,
            }
            return trivial, {"decisions": decisions}, info
        p = block_parameters(instance, mode=self.mode, balance=self.balance, margin=self.margin)
        D, n_a, n_b, N = p.dimension, p.num_queries, p.num_points, p.size
        root = math.sqrt(p.beta)
        # Built and scaled in place, then handed over read-only: the instance keeps
        # these arrays instead of copying them (Q and K are the chain's largest).
        query = np.zeros((N, 2 * D))
        query[:n_a, :D] = instance.a
        query[:, D:] = 1.0
        query *= root
        key = np.zeros((N, 2 * D))
        key[:n_b, :D] = instance.b
        key[n_b:, D : D + (D if self.balance == "paper" else D // 2)] = 1.0
        key *= root
        value = np.zeros((N, 1))
        value[:n_b] = 1.0
        for array in (query, key, value):
            array.flags.writeable = False
        target = AttentionInstance(query, key, value, root)
        info = {
            "branch": "attention",
            "mode": self.mode,
            "balance": self.balance,
            "beta": p.beta,
            "hamming_ball": 0,
            "log_tau": p.log_tau,
            "log_threshold": p.log_threshold,
            "log_margin": p.log_margin,
            "close_distance": p.close_distance,
            "far_distance": p.far_distance,
        }
        if self.mode == "paper":
            log_n = math.log(max(n_a, n_b, 2))
            c_b_squared = p.beta / log_n
            c_a = 2 + c_b_squared * (1 + float(instance.threshold) / D)
            info["log_eps_a"] = -c_a * log_n
        return target, {"block": p}, info

    def backward(self, reduced: Reduced, answer: AttentionOutput | None) -> NeighborDecisions:
        """Per real query: close iff ``u_i >= theta``, read in log space."""
        if "decisions" in reduced.decoding:
            return reduced.decoding["decisions"]
        if not isinstance(answer, AttentionOutput):
            raise TypeError(f"'answer' must be an AttentionOutput (got {type(answer).__name__})")
        p: BlockParameters = reduced.decoding["block"]
        log_u = _log_first_column(answer, p)
        _check_guarantee(answer, p)
        close = log_u[: p.num_queries] >= p.log_threshold
        return NeighborDecisions(tuple(bool(c) for c in close), decided_by=answer.oracle)

    def parameters(self) -> ParameterMap:
        s = problem_symbols("gapann")
        n_a, n_b, d, t, eps = s["n_a"], s["n_b"], s["d"], s["t"], s["eps"]
        size = sympy.Max(n_a, 2 * n_b)
        if self.mode == "paper":
            beta = 40 * d * sympy.log(sympy.Max(n_a, n_b, 2)) / (t * eps)
            free: tuple[str, ...] = ()
        else:
            beta = sympy.Symbol("beta", positive=True)
            free = ("beta",)
        attention = {"n": size, "n_keys": size, "d": 2 * d, "B": sympy.sqrt(beta)}
        if self.branch == "attention":
            return ParameterMap("gapann", "aattc", attention, free)
        if self.branch == "hamming-ball":
            return ParameterMap("gapann", "aattc", {k: sympy.Integer(1) for k in attention})
        ball = sympy.Symbol("hamming_ball", positive=True)
        outputs = {k: sympy.Piecewise((sympy.Integer(1), sympy.Eq(ball, 1)), (v, True)) for k, v in attention.items()}
        return ParameterMap("gapann", "aattc", outputs, free + ("hamming_ball",))


def _log_first_column(answer: AttentionOutput, p: BlockParameters) -> np.ndarray:
    rows = answer.log_values if answer.log_values is not None else None
    if rows is not None:
        column = np.asarray(rows)[:, 0]
    else:
        if answer.values is None:
            raise NotAWitnessError("the attention output holds neither values nor log-values")
        if p.log_threshold < _LOG_SMALLEST_NORMAL:
            raise OracleRefusal(
                f"the decision threshold e^{p.log_threshold:.1f} is below float64's range (e^{_LOG_SMALLEST_NORMAL:.0f}); "
                f"oracle {answer.oracle!r} must return its output in log space"
            )
        values = np.asarray(answer.values)[:, 0]
        with np.errstate(divide="ignore"):
            column = np.where(values > 0, np.log(np.maximum(values, np.finfo(float).tiny)), -np.inf)
    if column.shape[0] < p.num_queries:
        raise NotAWitnessError(f"the attention output has {column.shape[0]} rows, the instance {p.size}")
    return column


def _log_difference(larger: float, smaller: float) -> float:
    """``log(e^larger - e^smaller)`` for ``larger > smaller`` (``smaller`` may be ``-inf``)."""
    return larger + math.log1p(-math.exp(smaller - larger))


def _check_guarantee(answer: AttentionOutput, p: BlockParameters) -> None:
    """Raise unless the oracle's stated error cannot move ``L`` below or ``U`` above ``theta``.

    Each side may be covered by the relative or by the absolute bound (the
    oracle promises both at once).
    """
    rho, eps = float(answer.rel_error), float(answer.abs_error)
    log_eps = math.log(eps) if eps > 0 else -math.inf
    lower_safe = p.log_lower > p.log_threshold and (
        (rho < 1 and p.log_lower + math.log1p(-rho) >= p.log_threshold)
        or log_eps <= _log_difference(p.log_lower, p.log_threshold)
    )
    upper_safe = p.log_upper == -math.inf or (
        p.log_upper < p.log_threshold
        and (
            (rho < math.inf and p.log_upper + math.log1p(rho) < p.log_threshold)
            or log_eps < _log_difference(p.log_threshold, p.log_upper)
        )
    )
    if lower_safe and upper_safe:
        return
    needed_rho = min(-math.expm1(p.log_threshold - p.log_lower), math.expm1(p.log_threshold - p.log_upper))
    raise OracleRefusal(
        f"oracle {answer.oracle!r} guarantees relative error {rho:.3g} and absolute error {eps:.3g}; "
        f"deciding this instance needs relative error below {needed_rho:.3g} "
        f"or absolute error below e^{min(p.log_lower, p.log_threshold):.1f}"
    )
