"""Benchmarks of attention oracles: time, throughput and error, as JSON-ready dicts.

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

A later ``reductions bench oracles`` command adds oracles by appending to the
``results`` list: each entry names its ``oracle`` and gives ``seconds`` and
``max_abs_error`` (against an exact reference where one is computable, else ``None``).

Examples
--------
>>> import json
>>> from reductions.app.bench.exact import bench_exact_oracle
>>> report = bench_exact_oracle(n_values=(2**8,), d_values=(2,), repeats=1)
>>> sorted(report["results"][0])  # doctest: +NORMALIZE_WHITESPACE
['abs_error_bound', 'd', 'error_rows', 'exp_pass_seconds', 'fixed_seconds', 'm', 'max_abs_error',
 'measured_seconds', 'n', 'oracle', 'ratio_to_exp_pass', 'rows_timed', 'sampled', 'score_entries_per_second',
 'seconds', 'value_columns', 'workers']
>>> report["results"][0]["max_abs_error"] <= report["results"][0]["abs_error_bound"]
True
>>> len(json.dumps(report)) > 0
True
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from instances._validation import check_int
from instances.attention import AttentionInstance, random_attention
from solvers.attention.exact import ExactAttention
from solvers.attention.reference import mpmath_attention

__all__ = [
    "bench_exact_oracle",
    "bench_oracles",
    "bench_oracles_command",
    "BENCH_ORACLES",
    "time_oracle",
    "exp_pass_seconds",
    "reference_error",
    "machine_summary",
]

BENCH_ORACLES: dict[str, Any] = {
    "exact": lambda: ExactAttention(),
    "exact-float32": lambda: ExactAttention(dtype="float32"),
}
"""Oracles ``bench_oracles`` knows by name (later oracles add themselves here)."""


def machine_summary() -> dict[str, Any]:
    """What the numbers were measured on: CPUs, Python, numpy and its BLAS.

    >>> from reductions.app.bench.exact import machine_summary
    >>> sorted(machine_summary())
    ['blas', 'cpus', 'numpy', 'python']
    """
    blas: list[str] = []
    try:
        from threadpoolctl import threadpool_info

        blas = [
            f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, {i.get('num_threads')} threads)"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
    except ImportError:  # pragma: no cover - threadpoolctl is installed in development
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpus": cpus, "python": platform.python_version(), "numpy": np.__version__, "blas": blas}


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


def time_oracle(oracle: Any, instance: AttentionInstance, *, rows: np.ndarray | None = None) -> float:
    """Wall-clock seconds of one call ``oracle(instance[, rows=rows])``.

    >>> from instances.attention import random_attention
    >>> from solvers.attention.exact import ExactAttention
    >>> from reductions.app.bench.exact import time_oracle
    >>> time_oracle(ExactAttention(), random_attention(64, 2, 1.0, seed=0)) > 0
    True
    """
    start = time.perf_counter()
    if rows is None:
        oracle(instance)
    else:
        oracle(instance, rows=rows)
    return time.perf_counter() - start


def reference_error(
    oracle: Any, instance: AttentionInstance, rows: np.ndarray, *, max_scores: int = 2**16
) -> float | None:
    """Largest ``|oracle - mpmath|`` over the query ``rows``, or ``None`` when the
    reference would exceed ``max_scores`` score entries.

    >>> from instances.attention import random_attention
    >>> from solvers.attention.exact import ExactAttention
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


def bench_exact_oracle(
    n_values: Sequence[int] = (2**14,),
    d_values: Sequence[int] = (4, 8),
    *,
    sample_rows: int | None = None,
    seed: int = 0,
    repeats: int = 3,
    error_rows: int = 2,
    oracle: ExactAttention | None = None,
) -> dict[str, Any]:
    """Time exact attention against a ``numpy.exp`` pass over the same scores.

    For each ``(n, d)`` a random instance with ``n`` queries and keys, ``d``
    columns in ``Q``, ``K`` and ``V`` and entries in ``[-1, 1]`` is built; the
    oracle and the ``exp`` pass are timed alternately, best of ``repeats``.

    Parameters
    ----------
    n_values, d_values : sequences of int
        The sizes.
    sample_rows : int, optional
        When ``n`` exceeds it, time only this many random query rows against all
        keys and scale the seconds by ``n / sample_rows`` (``sampled`` is then true).
    seed : int
        Seed of the instances and the row sample.
    repeats : int
        Timings per measurement; the minimum is reported.
    error_rows : int
        Query rows checked against the mpmath reference (when affordable).
    oracle : ExactAttention, optional
        The oracle (default ``ExactAttention()``).

    Returns
    -------
    dict
        JSON-serialisable: ``benchmark``, ``machine``, ``baseline`` and
        ``results``, one entry per ``(n, d)`` with ``oracle``, ``seconds`` (for all
        ``n`` rows; when sampled ``fixed + (measured - fixed) (n - 1) / (rows - 1)``
        with ``fixed_seconds`` the time of a one-row call), ``measured_seconds``,
        ``exp_pass_seconds`` (scaled by ``n / rows``), ``ratio_to_exp_pass``,
        ``score_entries_per_second`` (``n m / seconds``),
        ``sampled``, ``rows_timed``, ``workers``, ``max_abs_error`` (against
        mpmath on ``error_rows`` rows, ``None`` when too large) and
        ``abs_error_bound`` (the oracle's guarantee).

    Examples
    --------
    >>> from reductions.app.bench.exact import bench_exact_oracle
    >>> r = bench_exact_oracle(n_values=(2**9,), d_values=(4,), sample_rows=64, repeats=1)["results"][0]
    >>> r["sampled"], r["rows_timed"], r["n"]
    (True, 64, 512)
    """
    repeats = check_int("repeats", repeats, minimum=1)
    error_rows = check_int("error_rows", error_rows, minimum=0)
    if sample_rows is not None:
        sample_rows = check_int("sample_rows", sample_rows, minimum=1)
    oracle = ExactAttention() if oracle is None else oracle
    results = []
    for n in n_values:
        n = check_int("n", n, minimum=1)
        for d in d_values:
            d = check_int("d", d, minimum=1)
            instance = random_attention(n, d, 1.0, seed=seed)
            rows = None
            if sample_rows is not None and sample_rows < n:
                rows = oracle.sample_rows(instance, sample_rows, seed=seed)
            timed = n if rows is None else rows.shape[0]
            tile = (min(oracle.query_block, timed), min(oracle.key_block, instance.m))
            oracle_times, one_row_times, exp_times = [], [], []
            for _ in range(repeats):
                oracle_times.append(time_oracle(oracle, instance, rows=rows))
                if rows is not None:  # the per-call cost that does not grow with the rows
                    one_row_times.append(time_oracle(oracle, instance, rows=rows[:1]))
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
            results.append(
                {
                    "oracle": oracle.name,
                    "n": n,
                    "m": instance.m,
                    "d": d,
                    "value_columns": instance.value_columns,
                    "sampled": rows is not None,
                    "rows_timed": timed,
                    "workers": oracle.worker_count(timed, instance.m),
                    "seconds": seconds,
                    "measured_seconds": measured,
                    "fixed_seconds": fixed,
                    "exp_pass_seconds": exp_seconds,
                    "ratio_to_exp_pass": seconds / exp_seconds if exp_seconds > 0 else math.inf,
                    "score_entries_per_second": n * instance.m / seconds if seconds > 0 else math.inf,
                    "max_abs_error": error,
                    "error_rows": int(check.shape[0]) if error is not None else 0,
                    "abs_error_bound": oracle.guarantee(instance).abs_error,
                }
            )
    return {
        "benchmark": "exact-attention",
        "machine": machine_summary(),
        "baseline": "one numpy.exp pass over the same number of float64 scores, in tile-shaped chunks",
        "results": results,
    }


def bench_oracles(
    oracles: Sequence[str] = ("exact",),
    n_values: Sequence[int] = (2**14,),
    d_values: Sequence[int] = (4, 8),
    *,
    sample_rows: int | None = None,
    seed: int = 0,
    repeats: int = 3,
) -> dict[str, Any]:
    """Benchmark the named oracles; one ``results`` list for all of them.

    Raises
    ------
    ValueError
        An unknown oracle name (the message lists the valid ones).

    Examples
    --------
    >>> from reductions.app.bench.exact import bench_oracles
    >>> report = bench_oracles(["exact", "exact-float32"], n_values=(2**7,), d_values=(2,), repeats=1)
    >>> [r["oracle"] for r in report["results"]]
    ['exact', 'exact-float32']
    >>> bench_oracles(["fast"])
    Traceback (most recent call last):
    ...
    ValueError: unknown oracle 'fast'; valid names: exact, exact-float32
    """
    for name in oracles:
        if name not in BENCH_ORACLES:
            raise ValueError(f"unknown oracle {name!r}; valid names: {', '.join(sorted(BENCH_ORACLES))}")
    report: dict[str, Any] = {}
    results: list[dict[str, Any]] = []
    for name in oracles:
        report = bench_exact_oracle(
            n_values, d_values, sample_rows=sample_rows, seed=seed, repeats=repeats, oracle=BENCH_ORACLES[name]()
        )
        results.extend(report["results"])
    report["benchmark"] = "oracles"
    report["results"] = results
    return report


def bench_oracles_command(args: Any) -> dict[str, Any]:
    """Run :func:`bench_oracles` from the ``bench oracles`` command's options.

    Reads the attributes ``oracle`` (comma-separated names), ``n`` and ``d``
    (lists or ``None``), ``sample_rows`` and ``repeat`` of ``args``; missing ones
    take the defaults.

    >>> from types import SimpleNamespace
    >>> from reductions.app.bench.exact import bench_oracles_command
    >>> args = SimpleNamespace(oracle="exact", n=[64], d=[2], sample_rows=None, repeat=1)
    >>> bench_oracles_command(args)["results"][0]["n"]
    64
    """
    names = [name.strip() for name in str(getattr(args, "oracle", None) or "exact").split(",") if name.strip()]
    return bench_oracles(
        names,
        tuple(getattr(args, "n", None) or (2**14,)),
        tuple(getattr(args, "d", None) or (4, 8)),
        sample_rows=getattr(args, "sample_rows", None),
        repeats=getattr(args, "repeat", None) or 3,
    )
