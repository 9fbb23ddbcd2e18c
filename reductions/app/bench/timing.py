"""Benchmarks behind ``reductions bench``: each returns a JSON-serialisable dict.

Times are best-of-``repeat`` wall-clock seconds measured in this process, so
ratios between entries of one run are meaningful even on a noisy machine.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["best_time", "fit_exponent", "bench_reductions", "bench_solve", "machine_info"]


def best_time(function: Callable[[], Any], repeat: int = 3) -> float:
    """Best wall-clock seconds of ``repeat`` calls of ``function``.

    >>> best_time(lambda: sum(range(10)), repeat=2) >= 0
    True
    """
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def fit_exponent(n_values: Sequence[float], seconds: Sequence[float | None]) -> float | None:
    """Least-squares slope of ``log seconds`` against ``log n``; ``None`` with fewer than two usable points.

    >>> round(fit_exponent([100, 200, 400], [1.0, 4.0, 16.0]), 6)
    2.0
    >>> fit_exponent([100], [1.0]) is None
    True
    """
    points = [
        (math.log(x), math.log(y)) for x, y in zip(n_values, seconds, strict=False) if x > 0 and y is not None and y > 0
    ]
    if len(points) < 2:
        return None
    xs, ys = np.array(points).T
    return float(np.polyfit(xs, ys, 1)[0])


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    import os

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }


def bench_reductions(*, num_vars: int = 30, num_clauses: int = 128, repeat: int = 3, seed: int = 0) -> dict[str, Any]:
    """Forward time of k-SAT -> OV on a random 3-SAT formula.

    The default (30 variables, 128 clauses) builds two sets of 32768 vectors.

    >>> result = bench_reductions(num_vars=8, num_clauses=20, repeat=1)
    >>> result["results"][0]["reduction"], result["results"][0]["sizes"]
    ('sat-ov', {'n_a': 16, 'n_b': 16, 'd': 20})
    """
    from instances.generators import random_ksat
    from reductions.catalog.sat_ov import SatToOV

    formula = random_ksat(num_vars, num_clauses, k=3, seed=seed)
    reduction = SatToOV()
    seconds = best_time(lambda: reduction.forward(formula), repeat)
    sizes = reduction.forward(formula).target.parameters()
    return {
        "benchmark": "reductions",
        "machine": machine_info(),
        "results": [
            {
                "reduction": reduction.name,
                "source": {"variables": num_vars, "clauses": num_clauses},
                "sizes": sizes,
                "seconds": seconds,
                "repeat": repeat,
            }
        ],
    }


def bench_solve(
    *,
    num_vars: int = 20,
    num_clauses: int = 91,
    formulas: int = 3,
    seed: int = 0,
    oracle: str = "exact",
    mode: str = "certified",
    balance: str = "paper",
) -> dict[str, Any]:
    """End-to-end time per stage of solving random 3-SAT through attention.

    The default size is SATLIB's uf20-91 (20 variables, 91 clauses).

    >>> result = bench_solve(num_vars=4, num_clauses=6, formulas=1)
    >>> [stage["name"] for stage in result["results"][0]["stages"]][:2]
    ['sat-ov', 'ov-gapann']
    """
    from instances.generators import random_ksat
    from reductions.pipeline import solve_via_attention
    from solvers.sat import solve_sat

    results = []
    for index in range(formulas):
        formula = random_ksat(num_vars, num_clauses, k=3, seed=seed + index)
        solved = solve_via_attention(
            formula, oracle=oracle, mode=mode, balance=balance, branch="attention", progress=False
        )
        reference = "SAT" if solve_sat(formula) is not None else "UNSAT"
        results.append(
            {
                "seed": seed + index,
                "status": solved.status,
                "agrees_with_pysat": solved.status == reference,
                "seconds": solved.seconds,
                "stages": [{"name": s.name, "seconds": s.seconds, "sizes": dict(s.sizes)} for s in solved.stages],
            }
        )
    return {
        "benchmark": "solve",
        "machine": machine_info(),
        "formula": {"variables": num_vars, "clauses": num_clauses, "k": 3},
        "oracle": oracle,
        "mode": mode,
        "balance": balance,
        "results": results,
    }
