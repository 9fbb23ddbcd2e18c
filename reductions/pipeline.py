"""Solving CNF-SAT *through attention*: the whole hardness chain end to end.

``solve_via_attention`` runs k-SAT -> OV -> Gap-ANN -> half-ones -> AAttC
forward, makes one oracle call, maps the oracle's output back through every
step, and checks the resulting assignment against the original formula. The
result carries a trace of every stage: sizes, choices (beta, threshold,
margin, branch) and seconds.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from instances.answers import Assignment
from instances.cnf import CNF
from instances.errors import OracleContradiction, OracleRefusal
from reductions.core import Chain, Stage
from reductions.problems import get_problem, problem_names
from reductions.registry import get_reduction

__all__ = [
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
    "human_bytes",
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


@attrs.frozen
class ChainPrediction:
    """Sizes, memory and time of the chain on a formula, before anything is built."""

    num_a: int
    num_b: int
    dimension: int
    size: int
    attention_dimension: int
    branch: str
    ball_points: int
    bytes: int
    seconds: float

    def describe(self) -> str:
        """One line with the numbers."""
        if self.branch == "hamming-ball":
            work = f"Hamming-ball search over {self.ball_points:.3g} points"
        else:
            work = f"attention with N = {self.size:,} and d = {self.attention_dimension:,}"
        return f"{work}: about {human_bytes(self.bytes)} and {self.seconds:.3g} s"


def human_bytes(count: float) -> str:
    """``count`` bytes in binary units, three significant digits.

    >>> human_bytes(3 * 2**30), human_bytes(512)
    ('3 GiB', '512 B')
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if count < 1024 or unit == "EiB":
            return f"{count:.3g} {unit}"
        count /= 1024
    return f"{count:.3g} EiB"


def predict_chain(formula: CNF, chain: Chain | None = None) -> ChainPrediction | None:
    """Predict sizes, memory and time of the chain on ``formula`` without building it.

    The chain's last step may predict the whole chain itself (a method
    ``predict_chain(formula, chain)`` returning a :class:`ChainPrediction`, or
    None for a chain it does not know, as Lemma 4.7's step does for the
    default chain); otherwise the chain's composed parameter map gives the
    attention sizes (the target problem's ``attention_shape``).

    Examples
    --------
    >>> from instances import CNF
    >>> p = predict_chain(CNF(60, [[1, 2, 3]] * 250))
    >>> p.size, p.branch
    (2147483648, 'attention')
    >>> p.bytes > 2**40
    True
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
    sizes = chain.parameters().evaluate(formula.parameters(), {"hamming_ball": 0})
    length, keys, dimension = (sizes.get(name) for name in shape)
    if not all(isinstance(x, int) for x in (length, keys, dimension)):
        return None
    n, m, d = int(length), int(keys), int(dimension)  # type: ignore[arg-type]
    bytes_needed = 8 * (n * d + 2 * m * d) + 64 * 2**20
    seconds = n * m * 2 * d / FLOPS_PER_SECOND + n * m / EXPS_PER_SECOND
    first_half_size = getattr(chain.parts[0], "first_half_size", None)  # split and list's split
    split = first_half_size(formula.num_vars) if first_half_size is not None else formula.num_vars
    return ChainPrediction(
        2**split, 2 ** (formula.num_vars - split), formula.num_clauses, n, d, "attention", 0, bytes_needed, seconds
    )


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
        ['sat-ov', 'ov-gapann', 'half-ones', 'gapann-aattc', 'oracle:exact', 'backward']
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
    instances.errors.OracleRefusal: 60 variables and 250 clauses need attention with N = 2,147,483,648 and d = 3,000: about 152 TiB and ... s, above the limit of 8 GiB
    """
    start = time.perf_counter()
    on_terminal = sys.stderr.isatty() if progress is None else progress
    oracle_object = make_oracle(oracle) if isinstance(oracle, str) else oracle
    if chain is None:
        chain = default_chain(mode=mode, balance=balance, branch=branch)
    elif chain.source != "sat":
        raise ValueError(f"'chain' must start at 'sat' (got {chain.name}, from {chain.source!r})")
    oracle_object = make_oracle(oracle, chain.target) if isinstance(oracle, str) else oracle
    prediction = predict_chain(formula, chain)
    if prediction is None:
        what = f"{formula.num_vars} variables and {formula.num_clauses} clauses: sizes not predictable before building"
    else:
        what = f"{formula.num_vars} variables and {formula.num_clauses} clauses need {prediction.describe()}"
        if prediction.bytes > max_bytes:
            raise OracleRefusal(f"{what}, above the limit of {human_bytes(max_bytes)}")
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
        report(f"oracle {oracle_object.name}: {attention_record.target!r}")
        oracle_start = time.perf_counter()
        output = oracle_object(attention_record.target, log_space=bool(attention_record.target.nonnegative_values))
        stages.append(
            Stage(
                name=f"oracle:{oracle_object.name}",
                source=chain.target,
                target="answer",
                sizes=attention_record.target.parameters(),
                info={"rel_error": output.rel_error, "abs_error": output.abs_error},
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
