"""``reductions bench solve``: end-to-end time per stage of solving random 3-SAT through attention.

Each formula is also decided by PySAT (``agrees_with_pysat``). Before the first
formula the cost of the whole run is predicted from the pipeline's own
prediction, and after it from the measured time; a run predicted above
``max_seconds`` is refused in one line. On a terminal, progress goes to stderr.

Examples
--------
>>> from reductions.app.bench.solve import bench_solve
>>> report = bench_solve(num_vars=4, num_clauses=6, formulas=1)
>>> report["benchmark"], [stage["name"] for stage in report["results"][0]["stages"]][:2]
('solve', ['sat-ov', 'ov-gapann'])
>>> report["summary"]["agreeing"]
1
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from instances._validation import check_int, check_real
from reductions.app.bench.timing import DEFAULT_MAX_BYTES, DEFAULT_MAX_SECONDS, benchmark_report, check_seconds

__all__ = ["bench_solve"]


def _refuse_time(formulas: int, each: float, max_seconds: float, how: str) -> None:
    check_seconds(f"bench solve: {formulas} formulas at about {each:.3g} s each ({how})", formulas * each, max_seconds)


def bench_solve(
    *,
    num_vars: int = 20,
    num_clauses: int = 91,
    formulas: int = 3,
    seed: int = 0,
    oracle: str = "exact",
    mode: str = "certified",
    balance: str = "paper",
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    max_seconds: float = DEFAULT_MAX_SECONDS,
    progress: bool | None = None,
    stream: TextIO | None = None,
) -> dict[str, Any]:
    """Solve ``formulas`` random 3-SAT formulas through attention and time every stage.

    The default size is SATLIB's uf20-91 (20 variables, 91 clauses).
    ``progress=None`` shows progress on ``stream`` (default stderr) only when it
    is a terminal.

    >>> bench_solve(formulas=0)
    Traceback (most recent call last):
    ...
    ValueError: 'formulas' must be >= 1 (got 0)
    >>> bench_solve(num_vars=4, num_clauses=6, formulas=10**9)
    Traceback (most recent call last):
    ...
    reductions.app.bench.timing.BenchmarkTooLarge: bench solve: 1000000000 formulas at about ... s each (predicted) needs about ... s, above the limit of 1800 s (--max-seconds)
    """
    num_vars = check_int("num_vars", num_vars, minimum=1)
    num_clauses = check_int("num_clauses", num_clauses, minimum=1)
    formulas = check_int("formulas", formulas, minimum=1)
    max_seconds = check_real("max_seconds", max_seconds, minimum=0, strict_minimum=True)
    from instances.generators import random_ksat
    from reductions.pipeline import DEFAULT_MAX_BYTES as PIPELINE_MAX_BYTES
    from reductions.pipeline import predict_chain, solve_via_attention
    from solvers.sat import solve_sat

    stream = sys.stderr if stream is None else stream
    show = stream.isatty() if progress is None else bool(progress)
    first = random_ksat(num_vars, num_clauses, k=3, seed=seed)
    prediction = predict_chain(first)
    # The pipeline's model counts the attention call only; a formula also pays for setup and PySAT.
    predicted_each = (prediction.seconds if prediction is not None else 0.0) + 1e-3
    _refuse_time(formulas, predicted_each, max_seconds, "predicted")
    if show:
        print(
            f"bench solve: {formulas} formulas of {num_vars} variables and {num_clauses} clauses, "
            f"predicted about {formulas * predicted_each:.3g} s",
            file=stream,
            flush=True,
        )
    limit = PIPELINE_MAX_BYTES if max_bytes is None else max_bytes
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    for index in range(formulas):
        formula = first if index == 0 else random_ksat(num_vars, num_clauses, k=3, seed=seed + index)
        solved = solve_via_attention(
            formula,
            oracle=oracle,
            mode=mode,
            balance=balance,
            branch="attention",
            progress=False,
            max_bytes=limit,
            max_seconds=max_seconds,  # the bench's limit (checked above against the same prediction)
        )
        reference = "SAT" if solve_sat(formula) is not None else "UNSAT"
        results.append(
            {
                "seed": seed + index,
                "status": solved.status,
                "reference": reference,
                "agrees_with_pysat": solved.status == reference,
                "seconds": solved.seconds,
                "stages": [{"name": s.name, "seconds": s.seconds, "sizes": dict(s.sizes)} for s in solved.stages],
            }
        )
        elapsed = time.perf_counter() - started
        if index == 0 and formulas > 1:
            _refuse_time(formulas, elapsed, max_seconds, "measured on the first")
        if show:
            left = elapsed / (index + 1) * (formulas - index - 1)
            end = "\n" if index + 1 == formulas else ""
            print(
                f"\rbench solve: {index + 1}/{formulas} formulas, {elapsed:.3g} s, about {left:.3g} s left",
                end=end,
                file=stream,
                flush=True,
            )
    total = time.perf_counter() - started
    return benchmark_report(
        "solve",
        results,
        parameters={
            "variables": num_vars,
            "clauses": num_clauses,
            "k": 3,
            "formulas": formulas,
            "seed": seed,
            "oracle": oracle,
            "mode": mode,
            "balance": balance,
        },
        summary={
            "formulas": formulas,
            "agreeing": sum(r["agrees_with_pysat"] for r in results),
            "satisfiable": sum(r["status"] == "SAT" for r in results),
            "total_seconds": total,
            "mean_seconds": sum(r["seconds"] for r in results) / formulas,
            "predicted_seconds_per_formula": predicted_each,
        },
    )
