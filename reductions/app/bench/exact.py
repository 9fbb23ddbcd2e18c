"""``reductions bench exact``: the exact attention oracle against one ``numpy.exp`` pass over the same scores.

Every result is measured in one process, side by side with a baseline, and
reported as ratios (absolute seconds on a shared 2-core machine vary by tens of
percent from run to run; ratios much less). The baseline for exact attention is
one ``numpy.exp`` pass over the same number of scores, in cache-sized chunks
shaped like the oracle's tile (``exp`` of a fixed chunk into a second buffer,
repeated): the cheapest way numpy can exponentiate that many numbers, so the
ratio is a strict one.

At large ``n`` the oracle is timed on a sample of query rows against all keys
and scaled linearly in the number of rows (the cost is linear in the rows); the
per-call cost that does not grow with the rows (preparing ``K`` and ``V``,
``O(m (d + dv))``) is timed on one row and counted once, not scaled.

Several exact oracles (:data:`EXACT_ORACLES`: float64 and float32) share one
``results`` list; each entry names its ``oracle`` and gives ``seconds`` and
``max_abs_error`` (against mpmath where affordable, else ``None``). Sizes whose
predicted memory (:func:`exact_peak_bytes`) is above the limit are refused
before the instance is built.

Examples
--------
>>> import json
>>> from reductions.app.bench.exact import bench_exact
>>> report = bench_exact(n_values=(2**8,), d_values=(2,), repeats=1)
>>> report["benchmark"]
'exact'
>>> sorted(report["results"][0])  # doctest: +NORMALIZE_WHITESPACE
['abs_error_bound', 'd', 'error_rows', 'exp_pass_seconds', 'fixed_seconds', 'kernel', 'm', 'max_abs_error',
 'measured_seconds', 'n', 'oracle', 'ratio_to_exp_pass', 'rows_timed', 'sampled', 'score_entries_per_second',
 'seconds', 'value_columns', 'workers']
>>> report["results"][0]["max_abs_error"] <= report["results"][0]["abs_error_bound"]
True
>>> len(json.dumps(report)) > 0
True
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from instances._validation import check_int
from instances.attention import AttentionInstance, random_attention
from reductions.app.bench.timing import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_SECONDS,
    benchmark_report,
    best_time,
    check_memory,
    check_seconds,
)
from solvers.attention.exact import ExactAttention, warm_up
from solvers.attention.reference import mpmath_attention

__all__ = [
    "ALL_EXACT",
    "EXACT_ORACLES",
    "bench_exact",
    "exact_peak_bytes",
    "exact_min_seconds",
    "exp_pass_seconds",
    "reference_error",
]

EXACT_ORACLES: dict[str, Any] = {
    "exact": lambda: ExactAttention(),
    "exact-float32": lambda: ExactAttention(dtype="float32"),
    "exact-numpy": lambda: ExactAttention(kernel="numpy"),
    "exact-float32-numpy": lambda: ExactAttention(dtype="float32", kernel="numpy"),
}
"""The oracles ``bench exact --oracle`` knows by name, each a factory: ``exact`` and
``exact-float32`` run the fused kernel where numba is installed (each result's ``kernel``
says which ran), the ``-numpy`` ones always the numpy tile kernel."""

ALL_EXACT = ("exact", "exact-float32", "exact-numpy", "exact-float32-numpy")
"""What ``bench exact`` times by default: both precisions, both kernels."""

_EXP_TILE = (256, 2048)


def exact_peak_bytes(
    n: int, d: int, rows: int | None = None, *, value_columns: int | None = None, oracles: Sequence[str] = ("exact",)
) -> int:
    """Predicted peak bytes of one exact-attention measurement: the instance, the oracle's
    prepared copies, tiles and results (for ``rows`` query rows, all when ``None``; for whichever of
    the ``oracles``, names from :data:`EXACT_ORACLES`, needs most), and the ``exp`` baseline's two
    tiles. Python ints, so any size can be asked.

    >>> exact_peak_bytes(2**14, 4) < 2**28
    True
    >>> exact_peak_bytes(10**9, 4, rows=1) > 10 * 2**30
    True
    """
    dv = d if value_columns is None else value_columns
    r = n if rows is None else min(rows, n)
    instance = 8 * (n * d + n * d + n * dv) * 2  # Q, K, V and a generator temporary per array
    # copies, tiles or scratch and results, for whichever of the ``oracles`` timed needs most
    oracle = max(EXACT_ORACLES[name]().peak_bytes(r, n, d, dv) for name in oracles)
    previous = 8 * r * (2 * dv + 3)  # the answer of the repeat before, still held
    baseline = 2 * 8 * _EXP_TILE[0] * _EXP_TILE[1]
    return instance + oracle + previous + baseline + 2**20


def exact_min_seconds(n: int, rows: int | None, calls: int) -> float:
    """A floor on the seconds of ``calls`` exact-attention calls and as many ``exp`` passes over
    ``rows x n`` scores (all ``n`` rows when ``None``): half a nanosecond per score for each,
    faster than any machine this runs on, so a refusal on this floor is never premature.

    >>> exact_min_seconds(2**14, None, 3) < 1
    True
    >>> exact_min_seconds(10**6, None, 3) > 1800
    True
    """
    r = n if rows is None else min(rows, n)
    return calls * r * n * 1e-9


def exp_pass_seconds(score_entries: int, tile: tuple[int, int] = (256, 2048), *, seed: int = 0) -> float:
    """Seconds of one ``numpy.exp`` pass over ``score_entries`` float64 scores.

    Done as ``exp`` of a fixed ``tile``-shaped chunk (scores in ``[-5, 0]``) into a
    second buffer, repeated ``score_entries / tile size`` times (the remainder as a
    smaller chunk).

    >>> from reductions.app.bench.exact import exp_pass_seconds
    >>> exp_pass_seconds(2**16) > 0
    True
    """
    score_entries = check_int("score_entries", score_entries, minimum=0)
    rows, columns = tile
    source = np.random.default_rng(seed).uniform(-5.0, 0.0, size=rows * columns)
    target = np.empty_like(source)
    full, rest = divmod(score_entries, source.size)
    start = time.perf_counter()
    for _ in range(full):
        np.exp(source, out=target)
    if rest:
        np.exp(source[:rest], out=target[:rest])
    return time.perf_counter() - start


def reference_error(
    oracle: Any, instance: AttentionInstance, rows: np.ndarray, *, max_scores: int = 2**16
) -> float | None:
    """Largest ``|oracle - mpmath|`` over the query ``rows``, or ``None`` when the
    reference would exceed ``max_scores`` score entries.

    >>> from instances.attention import random_attention
    >>> from solvers.attention.exact import ExactAttention, warm_up
    >>> from reductions.app.bench.exact import reference_error
    >>> reference_error(ExactAttention(), random_attention(32, 2, 1.0, seed=0), np.array([0, 5])) < 1e-14
    True
    """
    if rows.shape[0] * instance.m > max_scores:
        return None
    sub = AttentionInstance(instance.query[rows], instance.key, instance.value, instance.bound)
    reference = mpmath_attention(sub, max_scores=max_scores)
    answer = oracle(instance, rows=rows)
    values = answer.values if answer.values is not None else np.exp(answer.log_values)
    assert reference.values is not None
    return float(np.max(np.abs(values - reference.values)))


def bench_exact(
    n_values: Sequence[int] = (2**14,),
    d_values: Sequence[int] = (4, 8),
    oracles: Sequence[str] = ("exact",),
    *,
    sample_rows: int | None = None,
    seed: int = 0,
    repeats: int = 3,
    error_rows: int = 2,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
) -> dict[str, Any]:
    """Time exact attention against a ``numpy.exp`` pass over the same scores.

    For each oracle and each ``(n, d)`` a random instance with ``n`` queries and
    keys, ``d`` columns in ``Q``, ``K`` and ``V`` and entries in ``[-1, 1]`` is
    built; the oracle and the ``exp`` pass are timed alternately, best of
    ``repeats``. Every size is checked against ``max_bytes`` before the first
    instance is built.

    Parameters
    ----------
    n_values, d_values : sequences of int
        The sizes.
    oracles : sequence of str
        Names from :data:`EXACT_ORACLES`.
    sample_rows : int, optional
        When ``n`` exceeds it, time only this many random query rows against all
        keys and scale the seconds (``sampled`` is then true).
    seed : int
        Seed of the instances and the row sample.
    repeats : int
        Timings per measurement; the minimum is reported.
    error_rows : int
        Query rows checked against the mpmath reference (when affordable).
    max_bytes : int or None
        Refuse sizes predicted (:func:`exact_peak_bytes`) above this.
    max_seconds : float or None
        Refuse a run whose floor (:func:`exact_min_seconds`) is above this.

    Returns
    -------
    dict
        :func:`~reductions.app.bench.timing.benchmark_report`'s shape; each
        result has ``oracle``, ``n``, ``m``, ``d``, ``seconds`` (for all ``n``
        rows; when sampled ``fixed + (measured - fixed) (n - 1) / (rows - 1)``
        with ``fixed_seconds`` the time of a one-row call), ``measured_seconds``,
        ``exp_pass_seconds`` (scaled by ``n / rows``), ``ratio_to_exp_pass``,
        ``score_entries_per_second`` (``n m / seconds``), ``sampled``,
        ``rows_timed``, ``workers``, ``kernel`` (``fused`` or ``numpy``), ``max_abs_error`` (against mpmath on
        ``error_rows`` rows, ``None`` when too large) and ``abs_error_bound``.

    Examples
    --------
    >>> from reductions.app.bench.exact import bench_exact
    >>> r = bench_exact(n_values=(2**9,), d_values=(4,), sample_rows=64, repeats=1)["results"][0]
    >>> r["sampled"], r["rows_timed"], r["n"]
    (True, 64, 512)
    >>> [r["oracle"] for r in bench_exact((2**7,), (2,), ["exact", "exact-float32"], repeats=1)["results"]]
    ['exact', 'exact-float32']
    >>> bench_exact(oracles=["fast"])
    Traceback (most recent call last):
    ...
    ValueError: unknown oracle 'fast'; valid names: exact, exact-float32, exact-float32-numpy, exact-numpy
    >>> bench_exact((10**9,), (4,), sample_rows=1)
    Traceback (most recent call last):
    ...
    reductions.app.bench.timing.BenchmarkTooLarge: bench exact: n = 1000000000, d = 4 needs about 380 GiB, above the limit of 4 GiB (--max-memory)
    >>> bench_exact((10**6,), (4,))
    Traceback (most recent call last):
    ...
    reductions.app.bench.timing.BenchmarkTooLarge: bench exact: 3 timed calls with n up to 1000000 (at the least) needs about 3e+03 s, above the limit of 1800 s (--max-seconds)
    """
    for name in oracles:
        if name not in EXACT_ORACLES:
            raise ValueError(f"unknown oracle {name!r}; valid names: {', '.join(sorted(EXACT_ORACLES))}")
    repeats = check_int("repeats", repeats, minimum=1)
    error_rows = check_int("error_rows", error_rows, minimum=0)
    if sample_rows is not None:
        sample_rows = check_int("sample_rows", sample_rows, minimum=1)
    sizes = [(check_int("n", n, minimum=1), check_int("d", d, minimum=1)) for n in n_values for d in d_values]
    for n, d in sizes:
        check_memory(f"bench exact: n = {n}, d = {d}", exact_peak_bytes(n, d, sample_rows, oracles=oracles), max_bytes)
    floor = sum(exact_min_seconds(n, sample_rows, repeats) for n, _ in sizes) * len(oracles)
    largest = max(n for n, _ in sizes)
    what = f"bench exact: {len(sizes) * len(oracles) * repeats} timed calls with n up to {largest} (at the least)"
    check_seconds(what, floor, max_seconds)
    warm_up()  # numba's one-time load of the fused kernel is not part of any timing
    results = []
    for name in oracles:
        oracle: ExactAttention = EXACT_ORACLES[name]()
        for n, d in sizes:
            results.append(_measure(oracle, name, n, d, sample_rows, seed, repeats, error_rows))
    return benchmark_report(
        "exact",
        results,
        parameters={
            "n": list(n_values),
            "d": list(d_values),
            "oracles": list(oracles),
            "sample_rows": sample_rows,
            "seed": seed,
            "repeats": repeats,
            "error_rows": error_rows,
            "baseline": "one numpy.exp pass over the same number of float64 scores, in tile-shaped chunks",
        },
    )


def _measure(
    oracle: ExactAttention,
    name: str,
    n: int,
    d: int,
    sample_rows: int | None,
    seed: int,
    repeats: int,
    error_rows: int,
) -> dict[str, Any]:
    """One ``(oracle, n, d)`` entry of :func:`bench_exact`."""
    instance = random_attention(n, d, 1.0, seed=seed)
    rows = None
    if sample_rows is not None and sample_rows < n:
        rows = oracle.sample_rows(instance, sample_rows, seed=seed)
    timed = n if rows is None else rows.shape[0]
    tile = (min(oracle.query_block, timed), min(oracle.key_block, instance.m))
    one_row = rows[:1] if rows is not None else None
    oracle_times, one_row_times, exp_times = [], [], []
    for _ in range(repeats):  # alternate the oracle and its baseline, so both see the same machine
        oracle_times.append(best_time(lambda: oracle(instance, rows=rows), 1))
        if rows is not None:  # the per-call cost that does not grow with the rows
            one_row_times.append(best_time(lambda: oracle(instance, rows=one_row), 1))
        exp_times.append(exp_pass_seconds(timed * instance.m, tile, seed=seed))
    measured, exp_measured = min(oracle_times), min(exp_times)
    fixed = min(one_row_times) if rows is not None else 0.0
    if rows is None:
        seconds = measured
    else:
        per_row = max(measured - fixed, 0.0) / max(timed - 1, 1)
        seconds = fixed + per_row * (n - 1)
    exp_seconds = exp_measured * n / timed
    check = oracle.sample_rows(instance, min(error_rows, n), seed=seed + 1)
    error = reference_error(oracle, instance, check) if error_rows else None
    return {
        "oracle": name,
        "kernel": oracle.kernel_for(d),
        "n": n,
        "m": instance.m,
        "d": d,
        "value_columns": instance.value_columns,
        "sampled": rows is not None,
        "rows_timed": int(timed),
        "workers": oracle.worker_count(timed, instance.m),
        "seconds": seconds,
        "measured_seconds": measured,
        "fixed_seconds": fixed,
        "exp_pass_seconds": exp_seconds,
        "ratio_to_exp_pass": seconds / exp_seconds if exp_seconds > 0 else None,
        "score_entries_per_second": n * instance.m / seconds if seconds > 0 else None,
        "max_abs_error": error,
        "error_rows": int(check.shape[0]) if error is not None else 0,
        "abs_error_bound": oracle.guarantee(instance).abs_error,
    }
