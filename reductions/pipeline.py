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
from collections.abc import Callable
from typing import Any

import attrs

from instances.answers import Assignment
from instances.cnf import CNF
from instances.display import MAX_LITERALS, html_block, key_value_table, stage_table
from instances.errors import OracleContradiction, OracleRefusal
from reductions.catalog.chains import attention_chain
from reductions.catalog.gapann_aattc import GapANNToAttention
from reductions.catalog.sat_ov import SatToOV
from reductions.core import Chain, Stage

__all__ = [
    "SolveResult",
    "ChainPrediction",
    "predict_chain",
    "solve_via_attention",
    "attention_chain",
    "make_oracle",
    "ORACLES",
]

DEFAULT_MAX_BYTES = 8 * 2**30
"""Largest memory the pipeline plans to use (a third of this machine's 24 GiB)."""

DEFAULT_MAX_SECONDS = 600.0
"""Longest predicted run the pipeline starts."""

# Rates measured on a 2-core machine, used only for predictions shown to the user.
_FLOPS_PER_SECOND = 2e10
_EXPS_PER_SECOND = 4e8


def _exact_oracle(**options: Any) -> Any:
    from solvers.attention.exact import ExactAttention

    return ExactAttention(**options)


def _polynomial_oracle(**options: Any) -> Any:
    from solvers.attention.polynomial.oracle import PolynomialAttention

    return PolynomialAttention(**options)


def _taylor_oracle(**options: Any) -> Any:
    from solvers.attention.polynomial.taylor import TaylorAttention

    return TaylorAttention(**options)


def _anytemp_oracle(**options: Any) -> Any:
    from solvers.attention.anytemp.oracle import AnyTemperatureAttention

    return AnyTemperatureAttention(**options)


def _exact_self_attention(**options: Any) -> Any:
    from solvers.attention.self_attention import ExactSelfAttention

    return ExactSelfAttention(**options)


ORACLES: dict[str, dict[str, Callable[..., Any]]] = {
    "aattc": {
        "exact": _exact_oracle,
        "polynomial": _polynomial_oracle,
        "taylor": _taylor_oracle,
        "anytemp": _anytemp_oracle,
    },
    "selfattn": {"exact": _exact_self_attention},
}
"""Oracles by the problem they answer, then by command-line name."""


def make_oracle(name: str, problem: str = "aattc", **options: Any) -> Any:
    """The oracle called ``name`` for ``problem``; an unknown name lists the valid ones.

    >>> make_oracle("exact").name
    'exact'
    >>> make_oracle("exact", "selfattn").name
    'exact-selfattn'
    >>> make_oracle("psychic")
    Traceback (most recent call last):
    ...
    ValueError: unknown oracle 'psychic' for aattc; choose one of: anytemp, exact, polynomial, taylor
    """
    try:
        oracles = ORACLES[problem]
    except KeyError:
        raise ValueError(
            f"no oracle answers {problem!r}; problems with oracles: {', '.join(sorted(ORACLES))}"
        ) from None
    try:
        factory = oracles[name]
    except KeyError:
        raise ValueError(
            f"unknown oracle {name!r} for {problem}; choose one of: {', '.join(sorted(oracles))}"
        ) from None
    return factory(**options)


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
        return f"{work}: about {_human_bytes(self.bytes)} and {self.seconds:.3g} s"


def _human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if count < 1024 or unit == "EiB":
            return f"{count:.3g} {unit}"
        count /= 1024
    return f"{count:.3g} EiB"


def predict_chain(formula: CNF, chain: Chain | None = None) -> ChainPrediction | None:
    """Predict sizes, memory and time of the chain on ``formula`` without building it.

    Examples
    --------
    >>> from instances import CNF
    >>> p = predict_chain(CNF(60, [[1, 2, 3]] * 250))
    >>> p.size, p.branch
    (2147483648, 'attention')
    >>> p.bytes > 2**40
    True
    """
    chain = chain or attention_chain()
    final = chain.parts[-1]
    first_step = chain.parts[0]
    if not (isinstance(final, GapANNToAttention) and isinstance(first_step, SatToOV) and len(chain.parts) == 4):
        return _predict_from_parameters(formula, chain)
    split = first_step
    v, m = formula.num_vars, formula.num_clauses
    first = split.first_half_size(v)
    n_a, n_b = 2**first, 2 ** (v - first)
    D = 6 * m
    size = max(n_a, 2 * n_b)
    # After the gadget and padding, orthogonal pairs sit at distance 2m < t = 2m + 2.
    ball_points = n_a * sum(math.comb(D, k) for k in range(min(2 * m, D) + 1)) if m < 200 else math.inf
    attention_work = size * size * (2 * D + 1)
    if m == 0 or final.branch == "hamming-ball" or (final.branch == "auto" and ball_points <= attention_work):
        branch = "hamming-ball"
        vector_bytes = (n_a + n_b) * max(m, 1) * 12
        seconds = float(ball_points) * D / _FLOPS_PER_SECOND
        return ChainPrediction(n_a, n_b, D, size, 2 * D, branch, int(min(ball_points, 2**62)), vector_bytes, seconds)
    # The three N x 2D float64 inputs, their vector ancestors, plus the oracle's tiles.
    bytes_needed = 3 * size * 2 * D * 8 + (n_a + n_b) * D * 4 + 64 * 2**20
    seconds = size * size * (2 * 2 * D) / _FLOPS_PER_SECOND + size * size / _EXPS_PER_SECOND
    return ChainPrediction(n_a, n_b, D, size, 2 * D, "attention", int(min(ball_points, 2**62)), bytes_needed, seconds)


def _predict_from_parameters(formula: CNF, chain: Chain) -> ChainPrediction | None:
    """Prediction for any chain ending in attention, from its declared sizes.

    Lemma 4.7's branch flag is taken on its attention side (the larger one);
    ``None`` when the sizes still depend on a symbol chosen per instance.
    """
    sizes = chain.parameters().evaluate(formula.parameters(), {"hamming_ball": 0})
    # Attention targets name their sizes n, m, d; self-attention has N tokens.
    length = sizes.get("n", sizes.get("N"))
    keys, dimension = sizes.get("m", length), sizes.get("d")
    if not all(isinstance(x, int) for x in (length, keys, dimension)):
        return None
    n, m, d = int(length), int(keys), int(dimension)  # type: ignore[arg-type]
    bytes_needed = 8 * (n * d + 2 * m * d) + 64 * 2**20
    seconds = n * m * 2 * d / _FLOPS_PER_SECOND + n * m / _EXPS_PER_SECOND
    first = chain.parts[0]
    split = first.first_half_size(formula.num_vars) if isinstance(first, SatToOV) else formula.num_vars
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
        Options of :class:`~reductions.catalog.gapann_aattc.GapANNToAttention`.
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
        chain = attention_chain(mode=mode, balance=balance, branch=branch)
    elif chain.source != "sat":
        raise ValueError(f"'chain' must start at 'sat' (got {chain.name}, from {chain.source!r})")
    oracle_object = make_oracle(oracle, chain.target) if isinstance(oracle, str) else oracle
    prediction = predict_chain(formula, chain)
    if prediction is None:
        what = f"{formula.num_vars} variables and {formula.num_clauses} clauses: sizes not predictable before building"
    else:
        what = f"{formula.num_vars} variables and {formula.num_clauses} clauses need {prediction.describe()}"
        if prediction.bytes > max_bytes:
            raise OracleRefusal(f"{what}, above the limit of {_human_bytes(max_bytes)}")
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
