"""``reductions bench anytemp``: any-temperature attention against exact attention.

Each function builds random instances (entries uniform in ``[-B, B]``), times
:class:`~solvers.attention.anytemp.oracle.AnyTemperatureAttention` and
:class:`~solvers.attention.exact.ExactAttention` in the same process, and
reports both with their ratio. At large ``n`` exact attention is timed on a
sample of query rows against all keys and scaled linearly in the rows (its cost
is linear in the rows): ``seconds = fixed + (sampled - fixed) (n - 1) / (rows - 1)``
with ``fixed`` the time of a one-row call. The error is measured against exact
attention on ``error_rows`` sampled rows. The oracle's Chebyshev table, computed
once per process and cached, is built before the clock starts.

Every result entry has ``oracle``, ``seconds``, ``max_abs_error``, ``n``, ``d``
and ``B`` (the keys of ``reductions bench oracles``), plus the exact time, the
speedup and the any-temperature oracle's stated bound. Fitted time exponents
are reported only from ``n = 2^15`` up (:data:`MIN_N_FOR_EXPONENT`): below it
the oracle's fixed costs dominate and the slope says nothing about the
asymptotic ``2 - 1/d`` (a quick run fits 0.4 where theory says 1.5), so the
fields are ``None`` and ``exponent_note`` says why.

Examples
--------
>>> import json
>>> from reductions.app.bench.anytemp import bench_anytemp_case
>>> r = bench_anytemp_case(512, 1, 100.0, repeats=1)
>>> r["oracle"], r["n"], r["d"], r["B"]
('anytemp', 512, 1, 100.0)
>>> r["max_abs_error"] <= r["abs_error_bound"]
True
>>> len(json.dumps(r)) > 0
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from instances._validation import check_int, check_real
from instances.attention import AttentionInstance, random_attention
from reductions.app.bench.timing import benchmark_report, best_time, fit_exponent
from solvers.attention.anytemp.halfspace import ChebyshevTable
from solvers.attention.anytemp.oracle import AnyTemperatureAttention
from solvers.attention.exact import ExactAttention

__all__ = [
    "MIN_N_FOR_EXPONENT",
    "bench_anytemp",
    "bench_anytemp_case",
    "bench_anytemp_d1",
    "bench_anytemp_scaling",
    "bench_anytemp_temperature",
    "exact_seconds",
]

MIN_N_FOR_EXPONENT = 2**15
"""Smallest largest-``n`` of a scaling run whose fitted exponents are reported."""


def exact_seconds(
    instance: AttentionInstance, *, sample_rows: int | None = 1024, repeats: int = 1, seed: int = 0
) -> dict[str, Any]:
    """Seconds of :class:`ExactAttention` on ``instance`` (sampled and scaled when ``n > sample_rows``).

    Returns a dict with ``seconds``, ``sampled`` and ``rows_timed``.

    Examples
    --------
    >>> from instances.attention import random_attention
    >>> from reductions.app.bench.anytemp import exact_seconds
    >>> r = exact_seconds(random_attention(300, 2, 1.0, seed=0), sample_rows=64)
    >>> r["sampled"], r["rows_timed"], r["seconds"] > 0
    (True, 64, True)
    """
    oracle = ExactAttention()
    n = instance.n
    if sample_rows is None or sample_rows >= n:
        seconds = best_time(lambda: oracle(instance), repeats)
        return {"seconds": seconds, "sampled": False, "rows_timed": n}
    sample_rows = check_int("sample_rows", sample_rows, minimum=2)
    rows = oracle.sample_rows(instance, sample_rows, seed=seed)
    measured = best_time(lambda: oracle(instance, rows=rows), repeats)
    fixed = best_time(lambda: oracle(instance, rows=rows[:1]), repeats)
    per_row = max(measured - fixed, 0.0) / (sample_rows - 1)
    return {"seconds": fixed + per_row * (n - 1), "sampled": True, "rows_timed": sample_rows}


def bench_anytemp_case(
    n: int,
    d: int,
    bound: float,
    *,
    seed: int = 0,
    repeats: int = 1,
    sample_rows: int | None = 1024,
    error_rows: int = 64,
    oracle: AnyTemperatureAttention | None = None,
) -> dict[str, Any]:
    """Time the any-temperature oracle and exact attention on one random instance.

    Parameters
    ----------
    n : int
        Queries and keys.
    d : int
        Head dimension (``V`` has ``d`` columns too).
    bound : float
        Entry bound ``B``.
    seed : int
        Seed of the instance and the row samples.
    repeats : int
        Timings per oracle; the minimum is reported.
    sample_rows : int, optional
        Exact attention is timed on this many rows when ``n`` is larger.
    error_rows : int
        Rows on which the error against exact attention is measured.
    oracle : AnyTemperatureAttention, optional
        The oracle (default ``AnyTemperatureAttention()``).

    Returns
    -------
    dict
        ``oracle``, ``n``, ``d``, ``B``, ``seconds``, ``exact_seconds``,
        ``exact_sampled``, ``speedup`` (exact / anytemp), ``max_abs_error``,
        ``abs_error_bound``, ``error_rows`` and ``value_norm``.

    Examples
    --------
    >>> from reductions.app.bench.anytemp import bench_anytemp_case
    >>> r = bench_anytemp_case(400, 2, 10.0, sample_rows=100, error_rows=8)
    >>> r["exact_sampled"], r["error_rows"]
    (True, 8)
    """
    n = check_int("n", n, minimum=1)
    d = check_int("d", d, minimum=1)
    bound = check_real("bound", bound, minimum=0)
    repeats = check_int("repeats", repeats, minimum=1)
    error_rows = check_int("error_rows", error_rows, minimum=1)
    oracle = AnyTemperatureAttention() if oracle is None else oracle
    instance = random_attention(n, d, bound, seed=seed)
    # the Chebyshev table is computed once per process (mpmath, ~0.1-0.5 s) and cached: not timed
    ChebyshevTable.of(oracle.max_radius, oracle.degree_for(d))
    last: list[Any] = []

    def call() -> None:
        last[:] = [oracle(instance)]

    seconds = best_time(call, repeats)
    answer = last[0]
    exact = exact_seconds(instance, sample_rows=sample_rows, repeats=repeats, seed=seed)
    check = ExactAttention().sample_rows(instance, min(error_rows, n), seed=seed + 1)
    reference = ExactAttention()(instance, rows=check)
    assert answer.values is not None and reference.values is not None
    error = float(np.max(np.abs(answer.values[check] - reference.values)))
    return {
        "oracle": oracle.name,
        "n": n,
        "d": d,
        "B": bound,
        "seconds": seconds,
        "exact_seconds": exact["seconds"],
        "exact_sampled": exact["sampled"],
        "speedup": exact["seconds"] / seconds if seconds > 0 else None,
        "max_abs_error": error,
        "abs_error_bound": answer.abs_error,
        "error_rows": int(check.shape[0]),
        "value_norm": instance.value_norm,
    }


def _speedup_crossover(results: list[dict[str, Any]]) -> float | None:
    """The ``n`` where the speedup crosses 1 (log-log interpolation), or ``None``."""
    usable = [r for r in results if r["speedup"]]
    for before, after in zip(usable, usable[1:], strict=False):
        s0, s1 = before["speedup"], after["speedup"]
        if s0 < 1 <= s1:
            t = math.log(s0) / (math.log(s0) - math.log(s1))
            return float(math.exp(math.log(before["n"]) + t * (math.log(after["n"]) - math.log(before["n"]))))
    if usable and usable[0]["speedup"] >= 1:
        return float(usable[0]["n"])
    return None


def bench_anytemp_d1(
    n: int = 2**16, bound: float = 100.0, *, repeats: int = 3, sample_rows: int | None = 2048, seed: int = 0
) -> dict[str, Any]:
    """``d = 1`` at ``n = 2^16``, ``B = 100``: the target is a speedup of at least 20 over exact.

    Examples
    --------
    >>> from reductions.app.bench.anytemp import bench_anytemp_d1
    >>> r = bench_anytemp_d1(2**10, repeats=1, sample_rows=128)
    >>> r["benchmark"], r["summary"]["target_speedup"], r["results"][0]["n"]
    ('anytemp-d1', 20.0, 1024)
    """
    result = bench_anytemp_case(n, 1, bound, seed=seed, repeats=repeats, sample_rows=sample_rows)
    return benchmark_report(
        "anytemp-d1",
        [result],
        parameters={"n": n, "d": 1, "B": bound, "repeats": repeats, "sample_rows": sample_rows, "seed": seed},
        summary={
            "speedup": result["speedup"],
            "target_speedup": 20.0,
            "meets_target": result["speedup"] is not None and result["speedup"] >= 20.0,
        },
    )


def bench_anytemp_scaling(
    d: int,
    n_values: Sequence[int] = (2**10, 2**11, 2**12, 2**13, 2**14),
    bound: float = 10.0,
    *,
    repeats: int = 1,
    sample_rows: int | None = 1024,
    seed: int = 0,
) -> dict[str, Any]:
    """Time against ``n`` at fixed ``d`` and ``B``: fitted exponents and the crossover ``n``.

    In ``summary``: ``exponent`` is fitted on all points, ``tail_exponent`` on
    the last three (the asymptotic regime), ``exact_exponent`` on exact
    attention's times; all three are ``None``, with ``exponent_note`` saying
    why, when the largest ``n`` is below :data:`MIN_N_FOR_EXPONENT`.
    ``crossover_n`` is where the any-temperature oracle overtakes exact
    attention (``None`` when it does not in the range).

    Examples
    --------
    >>> from reductions.app.bench.anytemp import bench_anytemp_scaling
    >>> r = bench_anytemp_scaling(2, (256, 512), bound=3.0, sample_rows=None)
    >>> sorted(r["summary"])
    ['B', 'crossover_n', 'd', 'exact_exponent', 'exponent', 'exponent_note', 'n_range', 'tail_exponent', 'theory_exponent']
    >>> r["summary"]["exponent"] is None, r["summary"]["exponent_note"][:24]
    (True, 'largest n is 512 < 2^15:')
    """
    d = check_int("d", d, minimum=1)
    results = [bench_anytemp_case(n, d, bound, seed=seed, repeats=repeats, sample_rows=sample_rows) for n in n_values]
    ns = [r["n"] for r in results]
    tail = results[-3:] if len(results) >= 3 else results
    theory = 2 - 1 / d
    exponents: dict[str, Any] = {
        "exponent": fit_exponent(ns, [r["seconds"] for r in results]),
        "tail_exponent": fit_exponent([r["n"] for r in tail], [r["seconds"] for r in tail]),
        "exact_exponent": fit_exponent(ns, [r["exact_seconds"] for r in results]),
    }
    summary: dict[str, Any] = {"d": d, "B": bound, "n_range": [min(ns), max(ns)], "theory_exponent": theory}
    if max(ns) < MIN_N_FOR_EXPONENT:
        summary.update(dict.fromkeys(exponents))
        summary["exponent_note"] = (
            f"largest n is {max(ns)} < 2^15: fixed costs dominate at these sizes, so a fitted slope "
            f"(here {exponents['exponent']:.2g} against a theory of {theory:.3g}) says nothing about the "
            "asymptotic exponent; run with --full for the fit"
            if exponents["exponent"] is not None
            else f"largest n is {max(ns)} < 2^15: too small for a meaningful fit"
        )
    else:
        summary.update(exponents)
    summary["crossover_n"] = _speedup_crossover(results)
    return benchmark_report(
        "anytemp-scaling",
        results,
        parameters={"d": d, "B": bound, "n": ns, "repeats": repeats, "sample_rows": sample_rows, "seed": seed},
        summary=summary,
    )


def bench_anytemp_temperature(
    n: int = 2**14,
    d: int = 1,
    bounds: Sequence[float] = (1.0, 10.0, 100.0, 1e3, 1e4),
    *,
    repeats: int = 1,
    sample_rows: int | None = 1024,
    seed: int = 0,
) -> dict[str, Any]:
    """Time against ``B`` at fixed ``n`` and ``d``; ``spread`` is the largest time over the smallest.

    Examples
    --------
    >>> from reductions.app.bench.anytemp import bench_anytemp_temperature
    >>> r = bench_anytemp_temperature(256, 1, (1.0, 1e4), sample_rows=None)
    >>> [x["B"] for x in r["results"]], r["summary"]["spread"] >= 1
    ([1.0, 10000.0], True)
    """
    from solvers.attention.polynomial.approximation import predict_chebyshev_degree
    from solvers.attention.polynomial.features import log10_binomial

    results = [bench_anytemp_case(n, d, float(b), seed=seed, repeats=repeats, sample_rows=sample_rows) for b in bounds]
    for result in results:
        # What the polynomial method would need at this B: scores span [-B^2, B^2].
        degree = predict_chebyshev_degree(result["B"] ** 2, 1e-6)
        result["polynomial_degree"] = degree
        result["polynomial_log10_rank"] = log10_binomial(d + degree, degree)
    times = [r["seconds"] for r in results]
    return benchmark_report(
        "anytemp-temperature",
        results,
        parameters={"n": n, "d": d, "B": [float(b) for b in bounds], "repeats": repeats, "sample_rows": sample_rows},
        summary={
            "d": d,
            "n": n,
            "B": [r["B"] for r in results],
            "seconds": times,
            "spread": max(times) / min(times) if min(times) > 0 else None,
            "polynomial_degree": [r["polynomial_degree"] for r in results],
        },
    )


def bench_anytemp(*, quick: bool = True, seed: int = 0, repeats: int | None = None) -> dict[str, Any]:
    """All three benchmarks in one report: every measurement in ``results`` (tagged with its ``part``,
    ``d1``, ``scaling`` or ``temperature``) and their headline numbers in ``summary``.

    ``quick`` uses sizes that run in seconds (too small for fitted exponents:
    the summary says so); the full run (``quick=False``, a few minutes on two
    cores, best of ``repeats = 2``): ``d = 1``, ``n = 2^16``, ``B = 100``;
    scaling in ``n`` for ``d = 2, 3`` at ``B = 10`` (the hardest temperature:
    the window holds a large share of the keys while nodes are too wide for
    low-degree polynomials) from ``2^11`` to ``2^17`` and at ``B = 100`` up to
    ``2^16``; ``B`` in ``1, 3, 10, 30, 100, 10^3, 10^4`` at ``n = 2^14`` for
    ``d = 1, 2, 3``, with the polynomial method's predicted degree.

    Examples
    --------
    >>> from reductions.app.bench.anytemp import bench_anytemp
    >>> sorted(bench_anytemp(quick=True, seed=0)["summary"])  # doctest: +SKIP
    ['d1', 'largest_error_over_bound', 'scaling', 'temperature']
    """
    if quick:
        runs = 1 if repeats is None else check_int("repeats", repeats, minimum=1)
        d1 = bench_anytemp_d1(2**12, repeats=runs, seed=seed)
        scaling = [bench_anytemp_scaling(d, (2**9, 2**10, 2**11), repeats=runs, seed=seed) for d in (2, 3)]
        temperature = [bench_anytemp_temperature(2**11, d, repeats=runs, seed=seed) for d in (1, 2)]
    else:
        runs = 2 if repeats is None else check_int("repeats", repeats, minimum=1)
        bounds = (1.0, 3.0, 10.0, 30.0, 100.0, 1e3, 1e4)
        d1 = bench_anytemp_d1(repeats=max(runs, 3), seed=seed)
        scaling = [
            bench_anytemp_scaling(d, tuple(2**k for k in range(11, 18)), 10.0, repeats=runs, seed=seed) for d in (2, 3)
        ] + [
            bench_anytemp_scaling(d, tuple(2**k for k in range(11, 17)), 100.0, repeats=runs, seed=seed) for d in (2, 3)
        ]
        temperature = [bench_anytemp_temperature(2**14, d, bounds, repeats=runs, seed=seed) for d in (1, 2, 3)]
    parts = [("d1", d1), *(("scaling", s) for s in scaling), *(("temperature", s) for s in temperature)]
    results = [{"part": name, **entry} for name, part in parts for entry in part["results"]]
    worst = max((r["max_abs_error"] / r["abs_error_bound"] if r["abs_error_bound"] > 0 else 0.0) for r in results)
    summary = {
        "d1": {"n": d1["results"][0]["n"], "B": d1["results"][0]["B"], **d1["summary"]},
        "scaling": [{**s["summary"], "speedup_at_largest_n": s["results"][-1]["speedup"]} for s in scaling],
        "temperature": [s["summary"] for s in temperature],
        "largest_error_over_bound": worst,
    }
    return benchmark_report(
        "anytemp", results, parameters={"quick": quick, "seed": seed, "repeats": runs}, summary=summary
    )
