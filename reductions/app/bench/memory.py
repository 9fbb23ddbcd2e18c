"""``reductions bench memory``: predicted against measured peak memory of the exact chain.

Each point solves a random 3-SAT formula through ``sat-aattc`` on the attention
branch with the exact oracle, in a fresh Python process, and reports

* ``predicted_bytes``: :func:`reductions.pipeline.predict_chain`'s ``bytes``, the
  number the pipeline compares with its memory limit;
* ``traced_peak_bytes``: the peak of :mod:`tracemalloc` during the run (numpy
  reports its arrays to it), i.e. what the run itself allocated;
* ``rss_peak_bytes`` and ``rss_baseline_bytes``: the process's peak resident
  size (``getrusage``) after the run and before it (the interpreter and the
  imported modules), so ``rss_peak_bytes - rss_baseline_bytes`` is the run's
  share measured by the operating system;
* ``ratio``: ``predicted_bytes / traced_peak_bytes``, the target being ``[1, 1.5]``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from instances._validation import check_int
from reductions.app.bench.timing import benchmark_report

__all__ = ["bench_memory", "measure_run", "default_clauses"]

_CLAUSE_RATIO = 4.26  # random 3-SAT near its threshold: both answers occur

_CHILD = """
import json, resource, sys, time, tracemalloc
from instances.generators import random_ksat
from reductions.catalog.chains import attention_chain
from reductions.pipeline import predict_chain, solve_via_attention
v, m, seed = (int(x) for x in sys.argv[1:4])
formula = random_ksat(v, m, 3, seed=seed)
prediction = predict_chain(formula, attention_chain(branch="attention"))
from solvers.attention.exact import warm_up
warm_up()  # the fused kernel's one-time load (numba) is not the run's memory
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
tracemalloc.start()
start = time.perf_counter()
result = solve_via_attention(formula, branch="attention", max_bytes=2**62, max_seconds=1e12, progress=False)
seconds = time.perf_counter() - start
traced = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(json.dumps({
    "num_vars": v, "num_clauses": m, "status": result.status,
    "size": prediction.size, "attention_dimension": prediction.attention_dimension,
    "predicted_bytes": prediction.bytes, "predicted_seconds": prediction.seconds,
    "traced_peak_bytes": traced,
    "rss_baseline_bytes": baseline,
    "rss_peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "seconds": seconds,
}))
"""


def default_clauses(num_vars: int) -> int:
    """Clauses of the benchmark's formula with ``num_vars`` variables: ``round(4.26 v)``.

    >>> default_clauses(20)
    85
    """
    return max(1, round(_CLAUSE_RATIO * num_vars))


def measure_run(num_vars: int, num_clauses: int, *, seed: int = 0, timeout: float = 1800.0) -> dict[str, Any]:
    """Predicted and measured peak memory of one run, in a fresh process (see the module docstring).

    >>> point = measure_run(6, 10)
    >>> point["predicted_bytes"] >= point["traced_peak_bytes"] > 0
    True
    """
    v = check_int("num_vars", num_vars, minimum=1)
    m = check_int("num_clauses", num_clauses, minimum=1)
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, str(v), str(m), str(int(seed))],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the measured run with v = {v}, m = {m} failed: {last}")
    point: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    point["ratio"] = point["predicted_bytes"] / max(point["traced_peak_bytes"], 1)
    point["rss_ratio"] = point["predicted_bytes"] / max(point["rss_peak_bytes"] - point["rss_baseline_bytes"], 1)
    return point


def bench_memory(
    num_vars: Sequence[int] = (20, 22, 24, 26, 28),
    *,
    clauses: Mapping[int, int] | None = None,
    seed: int = 0,
    max_bytes: int = 4 * 2**30,
) -> dict[str, Any]:
    """Predicted and measured peak memory of the exact chain at each number of variables.

    ``clauses`` gives the clause count per number of variables (default
    :func:`default_clauses`). Every point's prediction is compared with
    ``max_bytes`` before anything runs; a point above it is refused
    (``ValueError``, one line with the numbers). Returns the benchmarks' one
    shape: ``benchmark`` (``"memory"``), ``machine``, ``parameters``, ``summary``
    (``target`` ``[1.0, 1.5]``, ``within_target``) and ``results``, one per point
    as described in the module docstring.

    >>> report = bench_memory([6], clauses={6: 12})
    >>> report["benchmark"], len(report["results"]), report["results"][0]["num_clauses"]
    ('memory', 1, 12)
    >>> bench_memory([40], max_bytes=2**30)
    Traceback (most recent call last):
    ...
    ValueError: bench memory: 40 variables, 170 clauses are predicted to need ... above the limit of 1 GiB (--max-memory)
    """
    from instances.formatting import format_bytes
    from instances.generators import random_ksat
    from reductions.pipeline import default_chain, predict_chain

    points = [(check_int("num_vars", v, minimum=1), (clauses or {}).get(v, default_clauses(v))) for v in num_vars]
    chain = default_chain(branch="attention")
    for v, m in points:  # refuse before running anything
        prediction = predict_chain(random_ksat(v, m, 3, seed=seed), chain)
        if prediction is not None and prediction.bytes > max_bytes:
            raise ValueError(
                f"bench memory: {v} variables, {m} clauses are predicted to need {format_bytes(prediction.bytes)}, "
                f"above the limit of {format_bytes(max_bytes)} (--max-memory)"
            )
    results = [measure_run(v, m, seed=seed) for v, m in points]
    return benchmark_report(
        "memory",
        results,
        parameters={"chain": "sat-aattc (attention branch, certified mode), exact oracle", "seed": seed},
        summary={"target": [1.0, 1.5], "within_target": all(1.0 <= point["ratio"] <= 1.5 for point in results)},
    )
