"""What every benchmark behind ``reductions bench`` shares: one timer, one machine record, one JSON shape.

Times are best-of-``repeat`` wall-clock seconds measured in this process, so
ratios between entries of one run are meaningful even on a noisy machine.
Every benchmark returns :func:`benchmark_report`'s shape::

    {"benchmark": NAME, "machine": machine_info(), "parameters": {...},
     "summary": {...},            # where a benchmark has headline numbers
     "results": [{...}, ...]}     # one entry per measurement

with numbers as JSON numbers (non-finite ones as ``null``). Sizes are checked
with :func:`check_memory` before anything is allocated.

Examples
--------
>>> import json
>>> from reductions.app.bench.timing import benchmark_report, best_time
>>> report = benchmark_report("demo", [{"seconds": best_time(lambda: sum(range(100)), repeat=2)}])
>>> list(report), report["results"][0]["seconds"] >= 0
(['benchmark', 'machine', 'results'], True)
>>> json.loads(json.dumps(report)) == report
True
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from instances.errors import SolverBudgetExceeded
from instances.formatting import format_bytes

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_SECONDS",
    "BenchmarkTooLarge",
    "best_time",
    "fit_exponent",
    "machine_info",
    "benchmark_report",
    "json_ready",
    "check_memory",
    "check_seconds",
]

DEFAULT_MAX_BYTES = 4 * 2**30
"""Largest memory a benchmark plans to use unless told otherwise (``--max-memory``)."""

DEFAULT_MAX_SECONDS = 1800.0
"""Longest predicted run a benchmark starts unless told otherwise (``--max-seconds``)."""


class BenchmarkTooLarge(SolverBudgetExceeded):
    """A benchmark refused its sizes before allocating; the message gives the prediction and the limit."""


def best_time(function: Callable[[], Any], repeat: int = 3) -> float:
    """Best wall-clock seconds of ``repeat`` calls of ``function``.

    >>> best_time(lambda: sum(range(10)), repeat=2) >= 0
    True
    """
    best = math.inf
    for _ in range(max(int(repeat), 1)):
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
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on: CPU model and cores, Python, numpy and its BLAS (via threadpoolctl).

    ``cores`` counts the CPUs this process may run on; ``blas`` lists each BLAS
    library with its version, architecture and thread count (empty without
    threadpoolctl).

    >>> from reductions.app.bench.timing import machine_info
    >>> sorted(machine_info())
    ['architecture', 'blas', 'cores', 'cpu', 'cpus_online', 'numpy', 'python']
    """
    import numpy as np

    blas: list[dict[str, Any]] = []
    try:
        from threadpoolctl import threadpool_info

        blas = [
            {
                "library": info.get("internal_api"),
                "version": info.get("version"),
                "architecture": info.get("architecture"),
                "threads": info.get("num_threads"),
            }
            for info in threadpool_info()
            if info.get("user_api") == "blas"
        ]
    except ImportError:  # pragma: no cover - threadpoolctl is installed with the test extra
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores": cores,
        "cpus_online": os.cpu_count(),
        "architecture": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
    }


def json_ready(value: Any) -> Any:
    """``value`` with numpy scalars and arrays as Python numbers and lists, tuples as lists, and
    non-finite floats as ``None`` (JSON has no infinity); anything else not JSON-ready raises ``TypeError``.

    A non-integral rational (a :class:`~fractions.Fraction` or a sympy
    ``Rational``) becomes its float, and inside a dict the exact value is kept
    beside it as a string under ``KEY_exact``.

    >>> import numpy as np
    >>> from fractions import Fraction
    >>> json_ready({"n": np.int64(3), "speedup": float("inf"), "sizes": (1, np.float32(0.5))})
    {'n': 3, 'speedup': None, 'sizes': [1, 0.5]}
    >>> json_ready({"t": Fraction(92), "eps": Fraction(1, 92)})
    {'t': 92, 'eps': 0.010869565217391304, 'eps_exact': '1/92'}
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    exact = _rational(value)
    if exact is not None:
        return int(exact) if exact.denominator == 1 else float(exact)
    if isinstance(value, Mapping):
        ready: dict[str, Any] = {}
        for key, item in value.items():
            ready[str(key)] = json_ready(item)
            exact = _rational(item)
            if exact is not None and exact.denominator != 1:
                ready[f"{key}_exact"] = str(exact)
        return ready
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return json_ready(tolist())
    raise TypeError(f"not JSON-ready: {value!r} ({type(value).__name__})")


def _rational(value: Any) -> Fraction | None:
    """``value`` as a Fraction when it is an exact rational that is not a Python int, else ``None``."""
    if isinstance(value, Fraction):
        return value
    if getattr(value, "is_Rational", False):  # sympy Integer and Rational, without importing sympy
        return Fraction(str(value))
    return None


def benchmark_report(
    benchmark: str,
    results: Sequence[Mapping[str, Any]],
    *,
    parameters: Mapping[str, Any] | None = None,
    summary: Mapping[str, Any] | None = None,
    machine: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The one JSON shape of every benchmark: ``benchmark``, ``machine``, ``parameters``, ``summary``, ``results``.

    ``parameters`` and ``summary`` are left out when not given; everything passes
    through :func:`json_ready`.

    >>> report = benchmark_report("x", [{"seconds": 0.5}], parameters={"n": 4}, machine={"cores": 2})
    >>> report
    {'benchmark': 'x', 'machine': {'cores': 2}, 'parameters': {'n': 4}, 'results': [{'seconds': 0.5}]}
    """
    report: dict[str, Any] = {"benchmark": benchmark, "machine": machine_info() if machine is None else dict(machine)}
    if parameters is not None:
        report["parameters"] = dict(parameters)
    if summary is not None:
        report["summary"] = dict(summary)
    report["results"] = [dict(result) for result in results]
    ready: dict[str, Any] = json_ready(report)
    return ready


def check_memory(what: str, predicted_bytes: int, max_bytes: int | None = DEFAULT_MAX_BYTES) -> int:
    """Refuse (:class:`BenchmarkTooLarge`, one line) when ``predicted_bytes`` exceeds ``max_bytes``.

    ``predicted_bytes`` is a Python int computed from the sizes before anything
    is allocated, so it cannot overflow; ``max_bytes=None`` means no limit.
    Returns the prediction.

    >>> check_memory("bench exact: n = 1024", 2**20)
    1048576
    >>> check_memory("bench exact: n = 1000000000", 96 * 10**9)
    Traceback (most recent call last):
    ...
    reductions.app.bench.timing.BenchmarkTooLarge: bench exact: n = 1000000000 needs about 89.4 GiB, above the limit of 4 GiB (--max-memory)
    """
    predicted_bytes = int(predicted_bytes)
    if max_bytes is not None and predicted_bytes > max_bytes:
        raise BenchmarkTooLarge(
            f"{what} needs about {format_bytes(predicted_bytes)}, above the limit of {format_bytes(max_bytes)} "
            "(--max-memory)"
        )
    return predicted_bytes


def check_seconds(what: str, predicted_seconds: float, max_seconds: float | None = DEFAULT_MAX_SECONDS) -> float:
    """Refuse (:class:`BenchmarkTooLarge`, one line) when ``predicted_seconds`` exceeds ``max_seconds``.

    ``what`` says what was predicted and how (a floor, a model, a measurement);
    ``max_seconds=None`` means no limit. Returns the prediction.

    >>> check_seconds("bench exact: n = 1024 (at least)", 0.01)
    0.01
    >>> check_seconds("bench exact: 3 x 10^12 scores (at least)", 3000.0)
    Traceback (most recent call last):
    ...
    reductions.app.bench.timing.BenchmarkTooLarge: bench exact: 3 x 10^12 scores (at least) needs about 3e+03 s, above the limit of 1800 s (--max-seconds)
    """
    if max_seconds is not None and predicted_seconds > max_seconds:
        raise BenchmarkTooLarge(
            f"{what} needs about {predicted_seconds:.3g} s, above the limit of {max_seconds:g} s (--max-seconds)"
        )
    return predicted_seconds
