"""Solving CNF-SAT *through attention*: the whole hardness chain end to end.

``solve_via_attention`` runs k-SAT -> OV -> Gap-ANN -> half-ones -> AAttC
forward, makes one oracle call, maps the oracle's output back through every
step, and checks the resulting assignment against the original formula. The
result carries a trace of every stage: sizes, choices (beta, threshold,
margin, branch) and seconds.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from instances.answers import Assignment
from instances.cnf import CNF
from instances.display import MAX_LITERALS, html_block, key_value_table, stage_table
from instances.errors import OracleContradiction, OracleRefusal
from instances.formatting import format_bytes, plural
from reductions.core import Chain, Stage
from reductions.family import ReducedFamily, answer_members, is_family
from reductions.problems import get_problem, problem_names
from reductions.registry import get_reduction

__all__ = [
    "MAX_SIZE_EXPONENT",
    "SolveResult",
    "ChainPrediction",
    "predict_chain",
    "solve_via_attention",
    "default_chain",
    "make_oracle",
    "oracle_names",
    "ORACLES",
    "DEFAULT_CHAIN",
    "FLOPS_PER_SECOND",
    "EXPS_PER_SECOND",
    "work_seconds",
    "int_log2",
    "hamming_ball_log2",
    "hamming_ball_points",
    "beyond_any_machine",
    "chain_peak_bytes",
    "OVERHEAD_BYTES",
    "BEYOND_SECONDS",
]

DEFAULT_CHAIN = "sat-aattc"
"""The registered chain :func:`solve_via_attention` runs unless given another."""

DEFAULT_MAX_BYTES = 8 * 2**30
"""Largest memory the pipeline plans to use (a third of this machine's 24 GiB)."""

DEFAULT_MAX_SECONDS = 600.0
"""Longest predicted run the pipeline starts."""

FLOPS_PER_SECOND = 2e10
"""Floating-point operations per second assumed by predictions (measured on a 2-core machine)."""

EXPS_PER_SECOND = 4e8
"""Exponentials per second assumed by predictions (measured on a 2-core machine)."""


def make_oracle(name: str, problem: str = "aattc", **options: Any) -> Any:
    """The oracle called ``name`` for ``problem``; an unknown name lists the valid ones.

    The oracles of a problem are those its registered description lists
    (:attr:`reductions.problems.Problem.oracles`).

    >>> make_oracle("exact").name
    'exact'
    >>> make_oracle("exact", "selfattn").name
    'exact-selfattn'
    >>> make_oracle("psychic")
    Traceback (most recent call last):
    ...
    ValueError: unknown oracle 'psychic' for aattc; choose one of: anytemp, exact, polynomial, taylor
    >>> make_oracle("exact", "ov")
    Traceback (most recent call last):
    ...
    ValueError: no oracle answers 'ov'; problems with oracles: aattc, selfattn
    """
    oracles = get_problem(problem).oracles
    if not oracles:
        with_oracles = [other for other in problem_names() if get_problem(other).oracles]
        raise ValueError(f"no oracle answers {problem!r}; problems with oracles: {', '.join(sorted(with_oracles))}")
    try:
        factory = oracles[name]
    except KeyError:
        raise ValueError(
            f"unknown oracle {name!r} for {problem}; choose one of: {', '.join(sorted(oracles))}"
        ) from None
    return factory(**options)


def oracle_names(problem: str = "aattc") -> list[str]:
    """Names of the oracles that answer ``problem``, sorted.

    >>> oracle_names()
    ['anytemp', 'exact', 'polynomial', 'taylor']
    """
    return sorted(get_problem(problem).oracles)


class _OraclesByProblem(Mapping[str, Mapping[str, Callable[..., Any]]]):
    """The registered problems' oracles, by problem then by name (a live view, never a copy)."""

    def __getitem__(self, problem: str) -> Mapping[str, Callable[..., Any]]:
        oracles = get_problem(problem).oracles if problem in problem_names() else None
        if not oracles:
            raise KeyError(problem)
        return oracles

    def __iter__(self) -> Iterator[str]:
        return iter([name for name in problem_names() if get_problem(name).oracles])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"ORACLES({ {problem: list(oracles) for problem, oracles in self.items()} })"


ORACLES: Mapping[str, Mapping[str, Callable[..., Any]]] = _OraclesByProblem()
"""Oracles by the problem they answer, then by command-line name: a view of the registered
problems' :attr:`~reductions.problems.Problem.oracles`, so a plug-in's problem shows up too.

>>> list(ORACLES), list(ORACLES["aattc"]), "ov" in ORACLES
(['aattc', 'selfattn'], ['exact', 'polynomial', 'taylor', 'anytemp'], False)
"""


def default_chain(*, mode: str = "certified", balance: str = "paper", branch: str = "auto") -> Chain:
    """The registered chain :data:`DEFAULT_CHAIN` with ``mode``, ``balance`` and ``branch`` set on its steps.

    Each option goes to the steps that have it as a field (Lemma 4.7's step);
    an option no step has is refused.

    >>> step = default_chain(mode="paper", branch="attention").parts[-1]
    >>> step.name, step.mode, step.balance, step.branch
    ('gapann-aattc', 'paper', 'paper', 'attention')
    >>> [part.name for part in default_chain().parts]
    ['sat-ov', 'ov-gapann', 'half-ones', 'gapann-aattc']
    """
    registered = get_reduction(DEFAULT_CHAIN)
    options = {"mode": mode, "balance": balance, "branch": branch}
    used: set[str] = set()
    parts = []
    for part in registered.steps:
        fields = attrs.fields_dict(type(part)) if attrs.has(type(part)) else {}
        chosen = {key: value for key, value in options.items() if key in fields}
        used |= set(chosen)
        parts.append(attrs.evolve(part, **chosen) if chosen else part)
    if unused := [key for key in options if key not in used]:
        raise ValueError(f"no step of {DEFAULT_CHAIN} has the option(s) {', '.join(unused)}")
    return Chain.of(*parts)


MAX_SIZE_EXPONENT = 2**16
"""Sizes are predicted exactly up to ``2^MAX_SIZE_EXPONENT``; beyond, the prediction is refused."""

OVERHEAD_BYTES = 8 * 2**20
"""Bytes a run holds besides its arrays (traces, index maps, small arrays)."""
# interpreter-side allocations of a run (traces, index maps, small arrays)
BEYOND_SECONDS = 1e15
"""Predicted times from here on (about 30 million years) are shown as beyond any machine."""


@attrs.frozen
class ChainPrediction:
    """Sizes, memory and time of a chain on a formula, predicted before anything is built.

    Every size is an exact Python int (no float overflow at any size).

    Attributes
    ----------
    num_a, num_b : int
        The two OV lists, ``2^|S1|`` and ``2^|S2|``.
    dimension : int
        The OV dimension, one coordinate per clause (``m``).
    size : int
        ``N``, the attention instance's queries (rows of ``Q``).
    attention_dimension : int
        ``d``, the columns of ``Q`` and ``K`` (``12 m`` on ``sat-aattc``).
    branch : str
        ``"attention"`` or ``"hamming-ball"`` (Lemma 4.7's small-radius case, no oracle call).
    ball_points : int or None
        Points the Hamming-ball search would visit; ``None`` when more than
        ``2^ball_points_log2`` (not computed exactly).
    bytes : int
        Predicted peak memory of the whole run (reductions, oracle, records).
    seconds : float
        Predicted wall-clock seconds; ``math.inf`` when beyond any machine.
    keys : int
        Keys of the attention instance (rows of ``K``); ``size`` when not known separately.
    ball_points_log2 : float
        ``log2`` of the Hamming-ball search's points (exact or a lower bound).

    Examples
    --------
    >>> from instances import CNF
    >>> p = predict_chain(CNF(4, [[1, 2]]))
    >>> p.branch, p.num_a, p.num_b, p.dimension, p.ball_points
    ('hamming-ball', 4, 4, 1, 168)
    >>> sorted(p.as_dict())[:4]
    ['attention_dimension', 'ball_points', 'ball_points_log2', 'branch']
    """

    num_a: int
    num_b: int
    dimension: int
    size: int
    attention_dimension: int
    branch: str
    ball_points: int | None
    bytes: int
    seconds: float
    keys: int = -1
    ball_points_log2: float = 0.0

    def __attrs_post_init__(self) -> None:
        if self.keys < 0:
            object.__setattr__(self, "keys", self.size)

    def fits(self, max_bytes: int, max_seconds: float) -> bool:
        """Whether the run stays within both limits.

        >>> from instances import CNF
        >>> predict_chain(CNF(2, [[1], [-2]])).fits(2**30, 60.0)
        True
        """
        return self.bytes <= max_bytes and self.seconds <= max_seconds

    def as_dict(self) -> dict[str, Any]:
        """JSON form: numbers as JSON numbers, ``None`` for a time beyond any machine.

        >>> from instances import CNF
        >>> predict_chain(CNF(2, [[1], [-2]]), default_chain(branch="attention")).as_dict()["size"]
        4
        """
        seconds = self.seconds if self.seconds < BEYOND_SECONDS else None
        return {
            "num_a": self.num_a,
            "num_b": self.num_b,
            "dimension": self.dimension,
            "size": self.size,
            "keys": self.keys,
            "attention_dimension": self.attention_dimension,
            "branch": self.branch,
            "ball_points": self.ball_points,
            "ball_points_log2": self.ball_points_log2,
            "bytes": self.bytes,
            "seconds": seconds,
        }

    def describe(self) -> str:
        """One line with the numbers.

        >>> from instances import CNF
        >>> print(predict_chain(CNF(2, [[1], [-2]]), default_chain(branch="attention")).describe())
        attention with N = 4 and d = 24: about ... MiB and ... s
        """
        if self.branch == "hamming-ball":
            if self.ball_points is None:
                points = f"more than 2^{math.floor(self.ball_points_log2)}"
            else:
                points = _count(self.ball_points)
            work = f"Hamming-ball search over {points} points"
        else:
            keys = "" if self.keys == self.size else f" ({_count(self.keys)} keys)"
            work = f"attention with N = {_count(self.size)} and d = {_count(self.attention_dimension)}{keys}"
        return f"{work}: about {format_bytes(self.bytes)} and {_human_seconds(self.seconds)}"


def _count(value: int) -> str:
    """An exact count, as ``2^k`` (or ``about 2^k``) when it has more than 15 digits."""
    if value < 10**15:
        return f"{value:,}"
    exponent = value.bit_length() - 1
    return f"2^{exponent}" if value == 1 << exponent else f"about 2^{exponent}"


def _human_seconds(seconds: float) -> str:
    if seconds >= BEYOND_SECONDS:
        return "a time beyond any machine"
    return f"{seconds:.3g} s"


def work_seconds(work: int, per_second: float) -> float:
    """``work / per_second`` without overflowing a float (inf beyond any machine).

    >>> work_seconds(10**6, 1e6), work_seconds(2**1000, 1e9)
    (1.0, inf)
    """
    if work.bit_length() > 900:
        return math.inf
    return min(work / per_second, math.inf)


def int_log2(value: int) -> float:
    """``log2`` of a positive int of any size.

    >>> int_log2(8), round(int_log2(2**5000 * 3), 3)
    (3.0, 5001.585)
    """
    if value.bit_length() < 1000:
        return math.log2(value)
    shift = value.bit_length() - 60
    return math.log2(value >> shift) + shift


def hamming_ball_log2(num_queries_log2: int, dimension: int, radius: int) -> float:
    """A lower bound on ``log2(2^q sum_{k <= r} C(D, k))`` from ``lgamma`` (no big ints).

    >>> hamming_ball_log2(3, 4, 4)
    7.0
    """
    if radius <= 0 or dimension <= 0:
        return float(num_queries_log2)
    middle = min(radius, dimension // 2) if radius < dimension else dimension
    if middle == dimension:  # the whole cube
        return num_queries_log2 + float(dimension)
    log_comb = math.lgamma(dimension + 1) - math.lgamma(middle + 1) - math.lgamma(dimension - middle + 1)
    return num_queries_log2 + log_comb / math.log(2) - 1e-9 * (1 + log_comb)


def hamming_ball_points(num_queries: int, dimension: int, radius: int) -> int:
    """``n_a sum_{k <= r} C(D, k)`` with one running binomial (as :func:`solvers.ann.hamming_ball_cost`).

    >>> hamming_ball_points(2, 4, 1)
    10
    """
    total, term = 0, 1
    for k in range(radius + 1):
        total += term
        term = term * (dimension - k) // (k + 1)
    return num_queries * total


def _formula_size(formula: CNF) -> str:
    """``"3 variables and 1 clause"``."""
    return f"{plural(formula.num_vars, 'variable')} and {plural(formula.num_clauses, 'clause')}"


def beyond_any_machine(formula: CNF, what: str) -> OracleRefusal:
    """The refusal for sizes past ``2^MAX_SIZE_EXPONENT``, naming the formula and what it would need.

    >>> from instances import CNF
    >>> print(beyond_any_machine(CNF(1, [[1]]), "N = 2^70000"))
    1 variable and 1 clause need N = 2^70000: beyond any machine (sizes are predicted up to 2^65536)
    """
    return OracleRefusal(
        f"{_formula_size(formula)} need {what}: beyond any machine (sizes are predicted up to 2^{MAX_SIZE_EXPONENT})"
    )


def chain_peak_bytes(n: int, keys: int, d: int, value_columns: int, records: int) -> int:
    """Peak bytes of a run ending in an attention instance ``n x d`` against ``keys x d``.

    The float64 ``Q``, ``K`` and ``V`` are held while the exact oracle adds its
    prepared copies and tiles (:meth:`ExactAttention.peak_bytes`); ``records`` are the
    earlier steps' instances, kept for the backward map. ``reductions bench memory``
    compares the total with tracemalloc's and the operating system's peak.

    >>> chain_peak_bytes(4, 4, 2, 1, 0) > OVERHEAD_BYTES
    True
    """
    from solvers.attention.exact import ExactAttention

    instance = 8 * (n * d + keys * d + keys * value_columns)
    arrays = instance + ExactAttention().peak_bytes(n, keys, d, value_columns) + records
    # 1/16 more for what the process holds beyond numpy's arrays (allocator slack, BLAS
    # buffers of the worker threads): measured RSS went up to 1.004x the arrays' sum
    return arrays + arrays // 16 + OVERHEAD_BYTES


def predict_chain(formula: CNF, chain: Chain | None = None) -> ChainPrediction | None:
    """Predict sizes, memory and time of ``chain`` (default :func:`default_chain`) on ``formula``.

    Nothing is built and every size is an exact Python int; sizes are compared
    by their bit lengths before any power of two is formed, so a formula
    with ``10^20`` variables is answered at once.

    Returns
    -------
    ChainPrediction or None
        ``None`` when the chain's sizes depend on a value chosen per instance
        that no formula-level rule predicts.

    Raises
    ------
    OracleRefusal
        When a size exceeds ``2^MAX_SIZE_EXPONENT``: one line with the numbers.

    The chain's last step may predict the whole chain itself (a method
    ``predict_chain(formula, chain)`` returning a :class:`ChainPrediction`, or
    None for a chain it does not know, as Lemma 4.7's step does for the
    default chain); otherwise the chain's composed parameter map gives the
    attention sizes (the target problem's ``attention_shape``).

    Examples
    --------
    >>> from instances import CNF
    >>> p = predict_chain(CNF(60, [[1, 2, 3]] * 250))
    >>> p.size, p.attention_dimension, p.branch
    (2147483648, 3000, 'attention')
    >>> p.bytes > 2**40
    True
    >>> predict_chain(CNF(99999999999999999999, [[1]]))
    Traceback (most recent call last):
    ...
    instances.errors.OracleRefusal: 99999999999999999999 variables and 1 clause need attention with N = 2^50000000000000000000: beyond any machine (sizes are predicted up to 2^65536)
    """
    chain = chain or default_chain()
    # The last step may know its whole chain better than the composed parameter map does.
    predict_exactly = getattr(chain.parts[-1], "predict_chain", None)
    if predict_exactly is not None and (prediction := predict_exactly(formula, chain)) is not None:
        return prediction
    return _predict_from_parameters(formula, chain)


def _predict_from_parameters(formula: CNF, chain: Chain) -> ChainPrediction | None:
    """Prediction for any chain ending in attention, from its declared sizes.

    Lemma 4.7's branch flag is taken on its attention side (the larger one);
    ``None`` when the sizes still depend on a symbol chosen per instance.
    """
    shape = get_problem(chain.target).attention_shape
    if shape is None:
        return None
    v, m = formula.num_vars, formula.num_clauses
    # every catalogued chain is at most exponential in v (2^v-ish sizes): bound v before sympy sees it
    if v > MAX_SIZE_EXPONENT:
        raise beyond_any_machine(formula, f"{chain.name} with sizes of about 2^{v // 2} or more")
    sizes = chain.parameters().evaluate(formula.parameters(), {"hamming_ball": 0})
    length, keys, dimension = (sizes.get(name) for name in shape)
    values = sizes.get("d_v", 1)
    if not all(isinstance(x, int) for x in (length, keys, dimension, values)):
        return None
    n, k, d, dv = int(length), int(keys), int(dimension), int(values)  # type: ignore[arg-type]
    if max(n.bit_length(), k.bit_length(), d.bit_length()) > MAX_SIZE_EXPONENT:
        raise beyond_any_machine(formula, f"{chain.name} with N = {_count(n)}")
    first_half_size = getattr(chain.parts[0], "first_half_size", None)  # split and list's split
    split = first_half_size(v) if first_half_size is not None else v
    n_a, n_b = 2**split, 2 ** max(v - split, 0)
    bytes_needed = chain_peak_bytes(n, k, d, dv, 2 * m * (n_a + n_b))
    seconds = work_seconds(n * k * 2 * d, FLOPS_PER_SECOND) + work_seconds(n * k, EXPS_PER_SECOND)
    return ChainPrediction(n_a, n_b, m, n, d, "attention", 0, bytes_needed, seconds, k, 0.0)


@attrs.frozen
class SolveResult:
    """The answer of :func:`solve_via_attention` with its trace.

    ``status`` is ``"SAT"`` or ``"UNSAT"``; ``assignment`` is a checked
    satisfying assignment when SAT.
    """

    status: str
    assignment: Assignment | None
    oracle: str
    stages: tuple[Stage, ...]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` form: ``status``, ``assignment``, ``oracle``, ``stages``, ``seconds``."""
        return {
            "status": self.status,
            "assignment": None if self.assignment is None else list(self.assignment.to_literals()),
            "oracle": self.oracle,
            "stages": [stage.as_dict() for stage in self.stages],
            "seconds": self.seconds,
        }

    def trace_table(self) -> str:
        """The stages as a readable table: one row per stage, choices last.

        >>> from instances import CNF
        >>> table = solve_via_attention(CNF(2, [[1], [-2]]), branch="attention").trace_table()
        >>> print(table.splitlines()[0])
        stage         target  seconds  sizes                             choices
        >>> [line.split()[0] for line in table.splitlines()[2:]]
        ['sat-ov', 'ov-gapann', 'half-ones', 'gapann-aattc', 'oracle:exact-float32', 'backward']
        """
        header = ("stage", "target", "seconds", "sizes", "choices")
        rows = [header]
        for stage in self.stages:
            sizes = ", ".join(f"{k}={_short(v)}" for k, v in stage.sizes.items())
            # hamming_ball only repeats 'branch' (it is the parameter map's branch flag)
            info = ", ".join(f"{k}={_short(v)}" for k, v in stage.info.items() if v is not None and k != "hamming_ball")
            rows.append((stage.name, stage.target, f"{stage.seconds:.3f}", sizes, info))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = []
        for index, row in enumerate(rows):
            lines.append(
                "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=False)) + "  " + row[4]
            )
            if index == 0:
                lines.append("-" * (sum(widths) + 2 * 4 + len("choices")))
        return "\n".join(line.rstrip() for line in lines)

    def _repr_html_(self) -> str:
        """Notebook display: the status, the oracle, the assignment's first literals and the stage table.

        >>> from instances import CNF
        >>> html = solve_via_attention(CNF(2, [[1], [-2]]), branch="attention")._repr_html_()
        >>> "<strong>SAT" in html, "<td>1 -2</td>" in html, "<td>gapann-aattc</td>" in html
        (True, True, True)
        """
        if self.assignment is None:
            assignment = "none"
        else:
            literals = self.assignment.to_literals()
            assignment = " ".join(str(literal) for literal in literals[:MAX_LITERALS])
            if len(literals) > MAX_LITERALS:
                assignment += f" ... ({len(literals) - MAX_LITERALS:,} more variables)"
        facts = {
            "status": self.status,
            "oracle": self.oracle,
            "seconds": f"{self.seconds:.3f}",
            "assignment": assignment,
        }
        return html_block(
            f"{self.status} through attention ({len(self.stages)} stages, {self.seconds:.3f} s)",
            key_value_table(facts),
            "<p>trace</p>",
            stage_table(self.stages, skip_info=("hamming_ball",)),
        )


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _progress(enabled: bool) -> Callable[[str], None]:
    start = time.perf_counter()

    def report(message: str) -> None:
        if enabled:
            print(f"[{time.perf_counter() - start:7.2f} s] {message}", file=sys.stderr, flush=True)

    return report


def solve_via_attention(
    formula: CNF,
    *,
    oracle: str | Any = "exact",
    mode: str = "certified",
    balance: str = "paper",
    branch: str = "auto",
    chain: Chain | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    progress: bool | None = None,
) -> SolveResult:
    """Decide ``formula`` with one call to an attention oracle.

    Parameters
    ----------
    formula : CNF
    oracle : str or oracle object
        A name from :data:`ORACLES` or an oracle instance.
    mode, balance, branch : str
        Options of the default chain's Lemma 4.7 step
        (:class:`~reductions.catalog.gapann_aattc.GapANNToAttention`), see :func:`default_chain`.
    chain : Chain or None
        Another registered path from ``sat`` to an attention problem (the
        options above are then ignored); the oracle is called on its final
        instance unless the last step says it needs none.
    max_bytes, max_seconds : int, float
        Refuse (before building anything) when the prediction exceeds these.
    progress : bool or None
        Report stages on stderr; by default only when stderr is a terminal.

    Returns
    -------
    SolveResult
        ``SAT`` with an assignment checked against ``formula``, or ``UNSAT``.

    Raises
    ------
    OracleRefusal
        The chain would not fit in memory or time, or the oracle's guarantee
        is too weak for the instance's margin.
    OracleContradiction
        The oracle's answer was checked and found wrong.

    Examples
    --------
    >>> from instances import CNF
    >>> result = solve_via_attention(CNF(3, [[1, 2], [-1, 3], [-2, -3]]), branch="attention")
    >>> result.status, CNF(3, [[1, 2], [-1, 3], [-2, -3]]).is_satisfied_by(result.assignment)
    ('SAT', True)
    >>> solve_via_attention(CNF(1, [[1], [-1]])).status
    'UNSAT'
    >>> solve_via_attention(CNF(60, [[1, 2, 3]] * 250))
    Traceback (most recent call last):
    ...
    instances.errors.OracleRefusal: 60 variables and 250 clauses need attention with N = 2,147,483,648 and d = 3,000: about ... TiB and ... s, above the limit of 8 GiB
    """
    start = time.perf_counter()
    on_terminal = sys.stderr.isatty() if progress is None else progress
    oracle_object = make_oracle(oracle) if isinstance(oracle, str) else oracle
    if chain is None:
        chain = default_chain(mode=mode, balance=balance, branch=branch)
    elif chain.source != "sat":
        raise ValueError(f"'chain' must start at 'sat' (got {chain.name}, from {chain.source!r})")
    oracle_object = make_oracle(oracle, chain.target) if isinstance(oracle, str) else oracle
    if is_family(chain):  # one oracle call per member instance
        predicted = predict_family(formula, chain, max_bytes)
        if predicted is not None and predicted[0] is not None:  # refused on the sizes alone, before building
            raise OracleRefusal(predicted[0])
        return _solve_through_family(formula, chain, oracle_object, start)
    prediction = predict_chain(formula, chain)
    if prediction is None:
        what = f"{_formula_size(formula)}: sizes not predictable before building"
    else:
        what = f"{_formula_size(formula)} need {prediction.describe()}"
        if prediction.bytes > max_bytes:
            raise OracleRefusal(f"{what}, above the limit of {format_bytes(max_bytes)}")
        if prediction.seconds > max_seconds:
            raise OracleRefusal(f"{what}, above the limit of {max_seconds:g} s")
    # Progress only where someone watches and the run is long enough to wonder.
    long_run = prediction is None or prediction.seconds > 2.0
    report = _progress(on_terminal and (progress is True or long_run))
    report(f"forward: {what}")
    reduced = chain.forward(formula)
    stages = list(reduced.stages())
    attention_record = reduced.parts[-1]
    output = None
    needs_oracle = getattr(attention_record.reduction, "needs_oracle", None)
    if needs_oracle is None or needs_oracle(attention_record):
        oracle_start = time.perf_counter()
        oracle_object, precision = _choose_precision(oracle_object, attention_record, by_name=oracle == "exact")
        report(f"oracle {oracle_object.name}: {attention_record.target!r}")
        output = oracle_object(attention_record.target, log_space=bool(attention_record.target.nonnegative_values))
        stages.append(
            Stage(
                name=f"oracle:{oracle_object.name}",
                source=chain.target,
                target="answer",
                sizes=attention_record.target.parameters(),
                info={"rel_error": output.rel_error, "abs_error": output.abs_error, **precision},
                seconds=time.perf_counter() - oracle_start,
            )
        )
    report("backward")
    backward_start = time.perf_counter()
    assignment = chain.backward(reduced, output)
    if assignment is not None and not formula.is_satisfied_by(assignment):
        raise OracleContradiction("the assignment read back does not satisfy the formula")
    stages.append(
        Stage(
            "backward",
            "answer",
            "sat",
            {},
            {"certificate": "checked" if assignment else "none"},
            time.perf_counter() - backward_start,
        )
    )
    status = "SAT" if assignment is not None else "UNSAT"
    used = (
        oracle_object.name
        if output is not None
        else f"{oracle_object.name} (not called: {attention_record.info.get('branch')} branch)"
    )
    return SolveResult(status, assignment, used, tuple(stages), time.perf_counter() - start)


def _choose_precision(oracle: Any, record: Any, *, by_name: bool) -> tuple[Any, dict[str, Any]]:
    """The exact oracle asked for by name runs in float32 where the bound it states in float32
    is inside the margin of the last step (its ``tolerates``), else in float64; the oracle
    stage's info records the decision (``precision``) and the float32 bound
    (``float32_rel_error``, ``float32_abs_error``). Any other oracle is used as given.

    >>> from reductions.catalog.chains import attention_chain
    >>> from instances.cnf import CNF
    >>> record = attention_chain(branch="attention").forward(CNF(3, [[1, 2], [-1, 3], [-2, -3]])).parts[-1]
    >>> chosen, info = _choose_precision(make_oracle("exact"), record, by_name=True)
    >>> chosen.name, info["precision"], info["float32_rel_error"] > 1e-7
    ('exact-float32', 'float32', True)
    """
    from solvers.attention.exact import ExactAttention

    tolerates = getattr(record.reduction, "tolerates", None)
    if not by_name or tolerates is None or not isinstance(oracle, ExactAttention) or oracle.dtype != "float64":
        return oracle, {}
    single = attrs.evolve(oracle, dtype="float32")
    try:
        single.check_range(record.target)
        guarantee = single.guarantee(record.target)
    except OracleRefusal as refusal:  # float32's range; float64 then answers or refuses itself
        return oracle, {"precision": "float64", "precision_reason": str(refusal)}
    fits = bool(tolerates(record, guarantee.rel_error, guarantee.abs_error))
    info = {
        "precision": "float32" if fits else "float64",
        "float32_rel_error": guarantee.rel_error,
        "float32_abs_error": guarantee.abs_error,
    }
    return (single if fits else oracle), info


def _solve_through_family(formula: CNF, chain: Any, oracle_object: Any, start: float) -> SolveResult:
    """Solve through a chain with a reduction to many instances: every member answered, all read back."""
    reduced = chain.forward(formula)
    assert isinstance(reduced, ReducedFamily)
    stages = list(reduced.stages())
    oracle_start = time.perf_counter()

    def answer(member: Any) -> Any:
        return oracle_object(member, log_space=bool(getattr(member, "nonnegative_values", False)))

    outputs = answer_members(reduced, answer)
    calls = sum(output is not None for output in outputs)
    stages.append(
        Stage(
            f"oracle:{oracle_object.name}",
            chain.target,
            "answer",
            {"members": reduced.count, "calls": calls},
            {},
            time.perf_counter() - oracle_start,
        )
    )
    assignment = chain.backward(reduced, outputs)
    if assignment is not None and not formula.is_satisfied_by(assignment):
        raise OracleContradiction("the assignment read back does not satisfy the formula")
    status = "SAT" if assignment is not None else "UNSAT"
    used = f"{oracle_object.name} ({calls} calls, {reduced.count} members)"
    return SolveResult(status, assignment, used, tuple(stages), time.perf_counter() - start)


def predict_family(formula: CNF, chain: Any, max_bytes: int | None = None) -> tuple[str | None, dict[str, Any]] | None:
    """What ``solve`` checks on a chain through a reduction to many instances, before building anything:
    the first step's OV vectors against ``max_bytes``, then the family step's own prediction on the OV
    sizes (``predict_members``). The first refusal met (or ``None``) and the predicted sizes; ``None``
    where neither applies (a chain that does not start with split and list).

    >>> from instances import CNF
    >>> from reductions.registry import get_reduction
    >>> reason, sizes = predict_family(CNF(50, [[1, 2, 3]] * 80), get_reduction("sat-aattc-lowdim"))
    >>> sizes["members"], reason.endswith("above max_members = 4,096")
    (2087329, True)
    >>> predict_family(CNF(30, [[1, 2, 3]] * 3), get_reduction("sat-aattc-lowdim"), 2**16)[0]
    "30 variables and 3 clauses need 196,608 bytes of OV vectors before sat-aattc-lowdim's family step, above the limit of 64 KiB"
    """
    first_half_size = getattr(chain.steps[0], "first_half_size", None)
    if first_half_size is None:
        return None
    v, m = formula.num_vars, formula.num_clauses
    if v > MAX_SIZE_EXPONENT:
        raise beyond_any_machine(formula, f"{chain.name} with 2^{v // 2} or more vectors")
    first = first_half_size(v)
    vector_bytes = (2**first + 2 ** max(v - first, 0)) * max(m, 1)
    if max_bytes is not None and vector_bytes > max_bytes:
        refusal = (
            f"{_formula_size(formula)} need {_count(vector_bytes)} bytes of OV vectors before {chain.name}'s "
            f"family step, above the limit of {format_bytes(max_bytes)}"
        )
        return refusal, {"ov_bytes": vector_bytes}
    predict = getattr(getattr(chain, "head", None), "predict_members", None)
    if predict is None or [step.name for step in chain.before] != ["sat-ov"]:
        return None
    sizes = chain.before[0].parameters().evaluate({"v": v, "m": m})
    return predict(sizes["n_a"], sizes["n_b"], sizes["d"])
