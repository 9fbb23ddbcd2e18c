"""``reductions bench reductions``: the forward time of k-SAT -> OV on a random 3-SAT formula.

Examples
--------
>>> from reductions.app.bench.reductions import bench_reductions
>>> report = bench_reductions(num_vars=8, num_clauses=20, repeat=1)
>>> report["benchmark"], report["results"][0]["reduction"], report["results"][0]["sizes"]
('reductions', 'sat-ov', {'n_a': 16, 'n_b': 16, 'd': 20})
"""

from __future__ import annotations

from typing import Any

from instances._validation import check_int
from reductions.app.bench.timing import DEFAULT_MAX_BYTES, benchmark_report, best_time, check_memory

__all__ = ["bench_reductions", "sat_ov_peak_bytes"]


def sat_ov_peak_bytes(num_vars: int, num_clauses: int) -> int:
    """Predicted peak bytes of one k-SAT -> OV forward map with a second one alive (as while timing).

    Per half of ``w`` variables, :func:`~reductions.catalog.sat_ov.clause_vectors`
    holds ``2^w`` rows of: int64 indices and two int64 ``(2^w, w)`` bit
    temporaries, a uint8 and a float32 copy of them, two float32 ``(2^w, m)``
    score temporaries, a bool and a uint8 result. Python ints throughout.

    >>> sat_ov_peak_bytes(30, 128) < 2**30
    True
    >>> sat_ov_peak_bytes(60, 100) > 2**40
    True
    """
    first = (num_vars + 1) // 2
    halves = (first, num_vars - first)
    working = max(2**w * (8 + 16 * w + w + 4 * w + 8 * num_clauses + 2 * num_clauses) for w in halves)
    outputs = sum(2**w * num_clauses for w in halves)  # uint8 OV vectors of both halves
    return 2 * outputs + working + 2**20


def bench_reductions(
    *,
    num_vars: int = 30,
    num_clauses: int = 128,
    repeat: int = 3,
    seed: int = 0,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> dict[str, Any]:
    """Forward time of k-SAT -> OV on a random 3-SAT formula, best of ``repeat``.

    The default (30 variables, 128 clauses) builds two sets of 32768 vectors.
    Sizes whose predicted memory (:func:`sat_ov_peak_bytes`) exceeds
    ``max_bytes`` are refused before anything is built.

    >>> bench_reductions(num_vars=60, num_clauses=100)
    Traceback (most recent call last):
    ...
    reductions.app.bench.timing.BenchmarkTooLarge: bench reductions: 60 variables, 100 clauses (2 x 2^30 vectors of dimension 100) needs about 1.99 TiB, above the limit of 4 GiB (--max-memory)
    """
    num_vars = check_int("num_vars", num_vars, minimum=1)
    num_clauses = check_int("num_clauses", num_clauses, minimum=1)
    repeat = check_int("repeat", repeat, minimum=1)
    first = (num_vars + 1) // 2
    vectors = f"2^{first} + 2^{num_vars - first}" if 2 * first != num_vars else f"2 x 2^{first}"
    check_memory(
        f"bench reductions: {num_vars} variables, {num_clauses} clauses ({vectors} vectors of dimension {num_clauses})",
        sat_ov_peak_bytes(num_vars, num_clauses),
        max_bytes,
    )
    from instances.generators import random_ksat
    from reductions.catalog.sat_ov import SatToOV

    formula = random_ksat(num_vars, num_clauses, k=3, seed=seed)
    reduction = SatToOV()
    seconds = best_time(lambda: reduction.forward(formula), repeat)
    sizes = reduction.forward(formula).target.parameters()
    return benchmark_report(
        "reductions",
        [
            {
                "reduction": reduction.name,
                "source": {"variables": num_vars, "clauses": num_clauses, "k": 3},
                "sizes": sizes,
                "seconds": seconds,
                "vectors_per_second": (sizes["n_a"] + sizes["n_b"]) / seconds if seconds > 0 else None,
            }
        ],
        parameters={"variables": num_vars, "clauses": num_clauses, "k": 3, "repeat": repeat, "seed": seed},
    )
