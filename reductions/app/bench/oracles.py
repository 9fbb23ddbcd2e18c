"""``reductions bench oracles``: the polynomial-method oracles against exact attention.

:func:`bench_oracles` times exact attention, the polynomial method
(:class:`~solvers.attention.polynomial.oracle.PolynomialAttention`) and the Taylor
method (:class:`~solvers.attention.polynomial.taylor.TaylorAttention`) on one random
instance, in one process, side by side, and reports each oracle's time, its
largest observed error against exact attention and its stated bound, and for
the polynomial oracles the degree, rank and route. :func:`sweep_oracles` runs
it over a grid, fits the time exponent in ``n`` and finds where the polynomial
method overtakes exact attention; :func:`find_crossover` narrows that point
down by bisection.

Timing conventions:

- every time is the best of ``repeats`` calls after one warm-up call (the
  warm-up builds and caches the polynomial; ``first_call_seconds`` reports it);
- at large ``n`` exact attention is timed on ``sample_rows`` query rows
  against all keys and scaled linearly: ``fixed + (measured - fixed)(n - 1) /
  (rows - 1)`` with ``fixed`` the time of a one-row call (its per-call
  preparation, not scaled);
- the polynomial oracle's ``products_seconds`` is the time of the two dense
  products it cannot avoid, ``U2^T [V, 1]`` and ``U1 M``, at the same shapes,
  block size and number of threads, on feature blocks that are already in
  memory.

Examples
--------
>>> import json
>>> from reductions.app.bench.oracles import bench_oracles
>>> report = bench_oracles(2**10, 4, 1.0, 1e-6, repeats=1)
>>> [r["oracle"] for r in report["results"]]
['exact', 'polynomial', 'taylor']
>>> poly = report["results"][1]
>>> poly["degree"], poly["rank"], poly["max_abs_error"] <= poly["abs_error_bound"]
(7, 330, True)
>>> len(json.dumps(report)) > 0
True
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from instances._validation import check_int, check_real
from instances.attention import AttentionInstance, random_attention
from instances.errors import OracleRefusal
from reductions.app.bench.exact import exact_min_seconds, exact_peak_bytes, exp_pass_seconds
from reductions.app.bench.timing import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_SECONDS,
    benchmark_report,
    best_time,
    check_memory,
    check_seconds,
    fit_exponent,
)
from solvers.attention.exact import ExactAttention
from solvers.attention.polynomial.features import default_workers, feature_block, run_blocks
from solvers.attention.polynomial.oracle import PolynomialAttention
from solvers.attention.polynomial.taylor import TaylorAttention

__all__ = [
    "BENCH_ORACLES",
    "bench_oracles",
    "oracles_peak_bytes",
    "sweep_oracles",
    "find_crossover",
    "products_seconds",
]

BENCH_ORACLES: dict[str, Any] = {
    "exact": lambda eps: ExactAttention(),
    "polynomial": lambda eps: PolynomialAttention(eps=eps),
    "taylor": lambda eps: TaylorAttention(eps=eps),
    "anytemp": lambda eps: _any_temperature(eps),
}
"""Oracles :func:`bench_oracles` knows by name, each built from the requested ``eps``."""


def _any_temperature(eps: float) -> Any:
    from solvers.attention.anytemp.oracle import AnyTemperatureAttention

    return AnyTemperatureAttention(eps=eps)


def oracles_peak_bytes(n: int, d: int, rows: int | None = None, *, value_columns: int | None = None) -> int:
    """Predicted peak bytes of :func:`bench_oracles` at these sizes, before the polynomial
    oracles' own feature blocks (each oracle plans and refuses those itself): exact attention's
    measurement (:func:`~reductions.app.bench.exact.exact_peak_bytes`), the reference values on
    the checked rows, and two full ``n x dv`` answers of an approximate oracle. Python ints.

    >>> oracles_peak_bytes(2**14, 4) < 2**28
    True
    >>> oracles_peak_bytes(10**9, 4) > 100 * 2**30
    True
    """
    dv = d if value_columns is None else value_columns
    checked = n if rows is None else min(rows, n)
    return exact_peak_bytes(n, d, rows, value_columns=dv) + 8 * checked * dv + 2 * 8 * n * (dv + 1)


def products_seconds(
    n: int,
    m: int,
    rank: int,
    value_columns: int,
    *,
    block: int | None = None,
    workers: int = 1,
    repeats: int = 3,
) -> float:
    """Seconds of the two products Algorithm 1 cannot avoid, ``U2^T [V, 1]`` and ``U1 M``, blockwise.

    Both run over ``(rank x block)`` feature blocks that are already in memory
    (one random block per worker, reused), with BLAS held to one thread per
    worker as in the oracle: ``m / block`` products ``F [V_block, 1]``
    accumulated into ``M``, then ``n / block`` products ``F^T M``, the blocks
    shared among ``workers`` threads.

    Examples
    --------
    >>> from reductions.app.bench.oracles import products_seconds
    >>> products_seconds(1024, 1024, 330, 4, repeats=1) > 0
    True
    """
    n = check_int("n", n, minimum=1)
    m = check_int("m", m, minimum=1)
    rank = check_int("rank", rank, minimum=1)
    width = check_int("value_columns", value_columns, minimum=1) + 1
    workers = check_int("workers", workers, minimum=1)
    block = block or feature_block(rank, max(n, m))
    rng = np.random.default_rng(0)
    features = [rng.uniform(-1, 1, (rank, block)) for _ in range(workers)]
    values = rng.uniform(-1, 1, (block, width))
    moments = [np.zeros((rank, width)) for _ in range(workers)]
    outputs = [np.empty((block, width)) for _ in range(workers)]
    key_blocks = [min(block, m - s) for s in range(0, m, block)]
    query_blocks = [min(block, n - s) for s in range(0, n, block)]

    def key_work(worker: int, index: int) -> None:
        size = key_blocks[index]
        moments[worker] += features[worker][:, :size] @ values[:size]

    def query_work(worker: int, index: int) -> None:
        size = query_blocks[index]
        np.matmul(features[worker][:, :size].T, moments[0], out=outputs[worker][:size])

    def run() -> None:
        run_blocks(len(key_blocks), workers, key_work)
        run_blocks(len(query_blocks), workers, query_work)

    return best_time(run, repeats)


def _exact_result(
    instance: AttentionInstance, rows: np.ndarray | None, repeats: int
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Time exact attention (sampled when ``rows`` is given); return the record, the check rows and their values."""
    oracle = ExactAttention()
    n = instance.n
    oracle(instance, rows=rows[:1] if rows is not None else None)  # warm-up (prepared copies, caches)
    measured = best_time(lambda: oracle(instance, rows=rows), repeats)
    if rows is None:
        seconds, fixed = measured, 0.0
        check = np.arange(n)
        reference = oracle(instance)
    else:
        fixed = best_time(lambda: oracle(instance, rows=rows[:1]), repeats)
        per_row = max(measured - fixed, 0.0) / max(rows.shape[0] - 1, 1)
        seconds = fixed + per_row * (n - 1)
        check = rows
        reference = oracle(instance, rows=rows)
    guarantee = oracle.guarantee(instance)
    assert reference.values is not None
    # The floor exact attention cannot beat: one numpy.exp pass over the same n*m scores
    # (for a sample, over the sampled rows' scores, scaled like the oracle's time).
    timed_rows = n if rows is None else int(rows.shape[0])
    exp_seconds = min(exp_pass_seconds(timed_rows * instance.m) for _ in range(repeats)) * n / timed_rows
    record = {
        "oracle": "exact",
        "seconds": seconds,
        "exp_pass_seconds": exp_seconds,
        "ratio_to_exp_pass": seconds / exp_seconds if exp_seconds > 0 else None,
        "measured_seconds": measured,
        "fixed_seconds": fixed,
        "sampled": rows is not None,
        "rows_timed": n if rows is None else int(rows.shape[0]),
        "max_abs_error": 0.0,
        "abs_error_bound": guarantee.abs_error,
        "degree": None,
        "rank": None,
        "route": "exact",
    }
    return record, check, reference.values


def bench_oracles(
    n: int,
    d: int,
    bound: float,
    eps: float,
    oracles: Sequence[str] = ("exact", "polynomial", "taylor"),
    *,
    sample_rows: int | None = None,
    seed: int = 0,
    repeats: int = 3,
    value_columns: int | None = None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
) -> dict[str, Any]:
    """Time the named oracles on one random instance and check their errors against exact attention.

    Parameters
    ----------
    n : int
        Queries and keys (``n = m``).
    d : int
        Dimension of queries and keys.
    bound : float
        Entries uniform in ``[-B, B]``.
    eps : float
        Entrywise relative error asked of the polynomial oracles.
    oracles : sequence of str
        Names from :data:`BENCH_ORACLES`; exact attention is always
        run (it is the reference) and reported first.
    sample_rows : int, optional
        When ``n`` exceeds it, exact attention is timed on this many random
        query rows and scaled; errors are then checked on those rows.
    seed : int
        Seed of the instance and the row sample.
    repeats : int
        Timings per oracle; the best is reported (after one warm-up call).
    value_columns : int, optional
        Columns of ``V`` (default ``d``).
    max_bytes : int or None
        Refuse sizes predicted (:func:`oracles_peak_bytes`) above this, before
        the instance is built.
    max_seconds : float or None
        Refuse when exact attention alone (the reference, timed ``repeats``
        times, warmed up and computed once more for the errors) has a floor
        (:func:`~reductions.app.bench.exact.exact_min_seconds`) above this.

    Returns
    -------
    dict
        :func:`~reductions.app.bench.timing.benchmark_report`'s shape:
        ``parameters`` (``n``, ``m``, ``d``, ``B``, ``eps``, ``seed``, ...) and
        ``results``, one entry per oracle
        with ``oracle``, ``seconds``, ``max_abs_error`` (against exact attention
        on the checked rows), ``abs_error_bound`` (the oracle's guarantee),
        ``within_guarantee``, ``degree``, ``rank``, ``route``, and for the
        polynomial oracles also ``paper_rank`` (Lemma 3.2's count) and
        ``log10_paper_rank``, ``paper_degree``,
        ``approximation_error``, ``rounding_error``, ``first_call_seconds``,
        ``predicted_seconds``, ``speedup_vs_exact``, and, on the feature route,
        ``products_seconds`` and ``ratio_to_products``. A refused oracle has
        ``seconds = None`` and the message under ``refused``.

    Raises
    ------
    ValueError
        An unknown oracle name (the message lists the valid ones).

    Examples
    --------
    >>> from reductions.app.bench.oracles import bench_oracles
    >>> r = bench_oracles(2**12, 4, 1.0, 1e-6, ["polynomial"], sample_rows=128, repeats=1)["results"]
    >>> [x["oracle"] for x in r], r[0]["sampled"], r[1]["route"]
    (['exact', 'polynomial'], True, 'features')
    >>> bench_oracles(64, 2, 1.0, 1e-6, ["fast"])
    Traceback (most recent call last):
    ...
    ValueError: unknown oracle 'fast'; valid names: anytemp, exact, polynomial, taylor
    >>> bench_oracles(10**9, 4, 1.0, 1e-6)
    Traceback (most recent call last):
    ...
    reductions.app.bench.timing.BenchmarkTooLarge: bench oracles: n = 1000000000, d = 4 needs about 767 GiB, above the limit of 4 GiB (--max-memory)
    """
    for name in oracles:
        if name not in BENCH_ORACLES:
            raise ValueError(f"unknown oracle {name!r}; valid names: {', '.join(sorted(BENCH_ORACLES))}")
    n = check_int("n", n, minimum=1)
    d = check_int("d", d, minimum=1)
    bound = check_real("bound", bound, minimum=0)
    eps = check_real("eps", eps, minimum=0, strict_minimum=True)
    repeats = check_int("repeats", repeats, minimum=1)
    if sample_rows is not None:
        sample_rows = check_int("sample_rows", sample_rows, minimum=2)
    if value_columns is not None:
        value_columns = check_int("value_columns", value_columns, minimum=1)
    timed_rows = sample_rows if sample_rows is not None and sample_rows < n else None
    check_memory(
        f"bench oracles: n = {n}, d = {d}", oracles_peak_bytes(n, d, timed_rows, value_columns=value_columns), max_bytes
    )
    check_seconds(
        f"bench oracles: exact attention at n = {n} (at the least)",
        exact_min_seconds(n, timed_rows, repeats + 1),
        max_seconds,
    )
    instance = random_attention(n, d, bound, value_columns=value_columns, seed=seed)
    rows = None
    if sample_rows is not None and sample_rows < n:
        rows = ExactAttention().sample_rows(instance, sample_rows, seed=seed)
    exact_record, check, reference = _exact_result(instance, rows, repeats)
    exact_abs = exact_record["abs_error_bound"]
    results: list[dict[str, Any]] = [exact_record]
    for name in oracles:
        if name == "exact":
            continue
        oracle = BENCH_ORACLES[name](eps)
        # Polynomial-method oracles expose their plan (degree, rank, route); others do not.
        plan = oracle.plan(instance) if hasattr(oracle, "plan") else None
        record: dict[str, Any] = {"oracle": name, "degree": None, "rank": None, "sampled": False, "rows_timed": n}
        if plan is not None:
            record.update(
                {
                    "degree": plan.degree,
                    "rank": plan.rank if plan.log10_rank < 15 else None,
                    "log10_rank": plan.log10_rank,
                    "log10_paper_rank": plan.log10_paper_rank,
                    "paper_rank": plan.paper_rank if plan.log10_paper_rank < 15 else None,
                    "paper_degree": plan.paper_degree,
                    "interval": [plan.lower, plan.upper],
                    "route": plan.route,
                    "predicted_seconds": plan.seconds,
                    "approximation_error": plan.approximation_error,
                    "rounding_error": plan.rounding_error,
                    "abs_error_bound": plan.abs_error,
                }
            )
            if plan.route == "refuse":
                record.update(seconds=None, max_abs_error=None, within_guarantee=None, refused=plan.refusal)
                results.append(record)
                continue
        start = time.perf_counter()
        try:
            output = oracle(instance)
        except OracleRefusal as refusal:
            record.update(seconds=None, max_abs_error=None, within_guarantee=None, refused=str(refusal))
            results.append(record)
            continue
        first = time.perf_counter() - start
        seconds = best_time(functools.partial(oracle, instance), repeats)
        assert output.values is not None
        error = float(np.max(np.abs(output.values[check] - reference))) if check.size else 0.0
        record.update(
            seconds=seconds,
            first_call_seconds=first,
            max_abs_error=error,
            within_guarantee=bool(error <= output.abs_error + exact_abs),
            speedup_vs_exact=exact_record["seconds"] / seconds if seconds > 0 else None,
        )
        record.setdefault("abs_error_bound", output.abs_error)
        if plan is not None and plan.route == "features":
            workers = default_workers(n) if oracle.workers == "auto" else int(oracle.workers)
            products = products_seconds(n, n, plan.rank, instance.value_columns, workers=workers, repeats=repeats)
            record.update(products_seconds=products, ratio_to_products=seconds / products if products > 0 else None)
        results.append(record)
    return benchmark_report(
        "oracles",
        results,
        parameters={
            "n": n,
            "m": n,
            "d": d,
            "B": bound,
            "eps": eps,
            "seed": seed,
            "value_columns": instance.value_columns,
            "oracles": ["exact", *(name for name in oracles if name != "exact")],
            "sample_rows": sample_rows,
            "repeats": repeats,
        },
    )


def _time_pair(n: int, d: int, bound: float, eps: float, seed: int, repeats: int) -> tuple[float, float, int]:
    """``(exact seconds, polynomial seconds, rank)`` at ``n`` (full runs, best of ``repeats``)."""
    instance = random_attention(n, d, bound, seed=seed)
    exact, poly = ExactAttention(), PolynomialAttention(eps=eps)
    exact(instance)
    poly(instance)
    return (
        best_time(lambda: exact(instance), repeats),
        best_time(lambda: poly(instance), repeats),
        poly.plan(instance).rank,
    )


def find_crossover(
    d: int, bound: float, eps: float, *, low: int = 16, high: int = 2**14, seed: int = 0, repeats: int = 5
) -> dict[str, Any]:
    """The smallest ``n`` (to within bisection) at which the polynomial oracle is faster than exact.

    Scans ``n = low, 1.25 low, ...`` until the polynomial oracle wins at two
    consecutive sizes, then bisects between the last loss and the first win.

    Returns
    -------
    dict
        ``crossover_n`` (``None`` if no win up to ``high``), ``rank``,
        ``crossover_over_rank`` and the ``measurements`` (``n``, ``exact_seconds``,
        ``polynomial_seconds``).

    Examples
    --------
    >>> from reductions.app.bench.oracles import find_crossover
    >>> result = find_crossover(2, 0.5, 1e-3, low=64, high=512, repeats=1)
    >>> sorted(result)
    ['B', 'crossover_n', 'crossover_over_rank', 'd', 'eps', 'measurements', 'rank']
    """
    d = check_int("d", d, minimum=1)
    low = check_int("low", low, minimum=1)
    high = check_int("high", high, minimum=low)
    measurements: list[dict[str, Any]] = []

    def measure(n: int) -> bool:
        exact, poly, rank = _time_pair(n, d, bound, eps, seed, repeats)
        measurements.append({"n": n, "exact_seconds": exact, "polynomial_seconds": poly, "rank": rank})
        return poly < exact

    n, last_loss, first_win, wins = low, None, None, 0
    while n <= high:
        if measure(n):
            wins += 1
            first_win = n if first_win is None else first_win
            if wins == 2:
                break
        else:
            wins, first_win, last_loss = 0, None, n
        n = max(n + 1, int(n * 1.25))
    if first_win is not None and last_loss is not None:
        lo, hi = last_loss, first_win
        while hi - lo > max(1, lo // 32):
            middle = (lo + hi) // 2
            if measure(middle):
                hi = middle
            else:
                lo = middle
        first_win = hi
    rank = measurements[-1]["rank"] if measurements else None
    return {
        "d": d,
        "B": bound,
        "eps": eps,
        "rank": rank,
        "crossover_n": first_win,
        "crossover_over_rank": first_win / rank if (first_win and rank) else None,
        "measurements": sorted(measurements, key=lambda x: x["n"]),
    }


def sweep_oracles(
    n_values: Sequence[int],
    d_values: Sequence[int],
    bound_values: Sequence[float],
    eps: float,
    *,
    out_dir: str | Path | None = None,
    oracles: Sequence[str] = ("exact", "polynomial", "taylor"),
    sample_rows: int | None = 256,
    sample_above: int = 2**13,
    seed: int = 0,
    repeats: int = 3,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    max_seconds: float | None = DEFAULT_MAX_SECONDS,
) -> dict[str, Any]:
    """:func:`bench_oracles` over a grid, with fitted exponents and crossovers; JSON (and a PNG) on disk.

    Parameters
    ----------
    n_values, d_values, bound_values : sequences
        The grid (``n`` ascending is best for the crossover estimate).
    eps : float
    out_dir : path, optional
        Write ``bench_polynomial.json`` there, and ``bench_polynomial.png``
        (time against ``n``, log-log, one panel per ``(d, B)``) when matplotlib
        is importable.
    oracles : sequence of str
    sample_rows, sample_above : int
        Exact attention is sampled on ``sample_rows`` rows when ``n > sample_above``.
    seed, repeats : int
    max_bytes, max_seconds : int or None, float or None
        Refuse the grid when any of its sizes is predicted above ``max_bytes``,
        or exact attention's floor over the whole grid above ``max_seconds``.

    Returns
    -------
    dict
        :func:`~reductions.app.bench.timing.benchmark_report`'s shape: ``results``
        (every :func:`bench_oracles` result, flattened with ``n``, ``d``, ``B``),
        and in ``summary``: ``fits`` (per ``(d, B)`` and
        oracle: ``time_exponent`` over all ``n`` and over ``n >= 2^14``, the
        measured ``crossover_n`` -- the first ``n`` of the grid where the
        polynomial oracle beat exact attention, and a log-log interpolation
        between grid points -- and ``rank``), and the ``files`` written.

    Examples
    --------
    >>> import tempfile
    >>> from reductions.app.bench.oracles import sweep_oracles
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     report = sweep_oracles([256, 1024], [2], [1.0], 1e-6, out_dir=folder, repeats=1)
    ...     sorted(p.rsplit("/", 1)[-1] for p in report["summary"]["files"])[0]
    'bench_polynomial.json'
    >>> fit = report["summary"]["fits"][0]
    >>> fit["oracle"], fit["rank"]
    ('polynomial', 36)
    """
    eps = check_real("eps", eps, minimum=0, strict_minimum=True)
    for d in d_values:  # every size of the grid before the first is timed
        for n in n_values:
            n, d = check_int("n", n, minimum=1), check_int("d", d, minimum=1)
            rows = sample_rows if n > sample_above and sample_rows is not None and sample_rows < n else None
            check_memory(f"bench oracles --sweep: n = {n}, d = {d}", oracles_peak_bytes(n, d, rows), max_bytes)
    floor = (
        len(d_values)
        * len(bound_values)
        * sum(exact_min_seconds(n, sample_rows if n > sample_above else None, repeats + 1) for n in n_values)
    )
    check_seconds("bench oracles --sweep: exact attention over the grid (at least)", floor, max_seconds)
    runs: list[dict[str, Any]] = []
    for d in d_values:
        for bound in bound_values:
            for n in sorted(n_values):
                report = bench_oracles(
                    n,
                    d,
                    bound,
                    eps,
                    oracles,
                    sample_rows=sample_rows if n > sample_above else None,
                    seed=seed,
                    repeats=repeats,
                    max_bytes=max_bytes,
                    max_seconds=None,  # the grid's floor was checked above
                )
                for result in report["results"]:
                    runs.append({"n": n, "d": d, "B": bound, **result})
    fits = []
    for d in d_values:
        for bound in bound_values:
            exact = {r["n"]: r["seconds"] for r in runs if r["d"] == d and r["B"] == bound and r["oracle"] == "exact"}
            for name in oracles:
                if name == "exact":
                    continue
                mine = [r for r in runs if r["d"] == d and r["B"] == bound and r["oracle"] == name and r["seconds"]]
                ns = [r["n"] for r in mine]
                times = [r["seconds"] for r in mine]
                large = [(x, t) for x, t in zip(ns, times, strict=False) if x >= 2**14]
                crossover, interpolated = _grid_crossover(ns, times, exact)
                rank = mine[-1]["rank"] if mine else None
                fits.append(
                    {
                        "oracle": name,
                        "d": d,
                        "B": bound,
                        "rank": rank,
                        "degree": mine[-1]["degree"] if mine else None,
                        "time_exponent": fit_exponent(ns, times),
                        "time_exponent_from_2^14": fit_exponent([x for x, _ in large], [t for _, t in large]),
                        "exact_time_exponent": fit_exponent(list(exact), list(exact.values())),
                        "crossover_n": crossover,
                        "crossover_n_interpolated": interpolated,
                        "crossover_over_rank": interpolated / rank if (interpolated and rank) else None,
                    }
                )
    files: list[str] = []
    folder = Path(out_dir) if out_dir is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        files.append(str(folder / "bench_polynomial.json"))
        picture = _plot(runs, d_values, bound_values, folder / "bench_polynomial.png")
        if picture is not None:
            files.append(picture)
    report = benchmark_report(
        "oracles-sweep",
        runs,
        parameters={
            "n": sorted(n_values),
            "d": list(d_values),
            "B": list(bound_values),
            "eps": eps,
            "oracles": list(oracles),
            "sample_rows": sample_rows,
            "sample_above": sample_above,
            "seed": seed,
            "repeats": repeats,
        },
        summary={"fits": fits, "files": files},
    )
    if folder is not None:
        (folder / "bench_polynomial.json").write_text(json.dumps(report, indent=1))
    return report


def _grid_crossover(
    ns: Sequence[int], times: Sequence[float], exact: dict[int, float]
) -> tuple[int | None, float | None]:
    """First grid ``n`` where ``times`` beats ``exact``, and the log-log interpolated crossing before it."""
    previous = None
    for n, t in zip(ns, times, strict=False):
        e = exact.get(n)
        if e is None:
            continue
        if t < e:
            if previous is None:
                return n, float(n)
            n0, t0, e0 = previous
            # log(t/e) changes sign between n0 and n
            a, b = math.log(t0 / e0), math.log(t / e)
            fraction = a / (a - b) if a != b else 1.0
            return n, float(math.exp(math.log(n0) + fraction * (math.log(n) - math.log(n0))))
        previous = (n, t, e)
    return None, None


def _plot(runs: list[dict[str, Any]], d_values: Sequence[int], bound_values: Sequence[float], path: Path) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    panels = [(d, b) for d in d_values for b in bound_values]
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for axis, (d, bound) in zip(axes[0], panels, strict=False):
        for name in sorted({r["oracle"] for r in runs}):
            points = sorted(
                (r["n"], r["seconds"])
                for r in runs
                if r["d"] == d and r["B"] == bound and r["oracle"] == name and r["seconds"]
            )
            if points:
                xs, ys = zip(*points, strict=False)
                axis.loglog(xs, ys, marker="o", label=name)
        axis.set_title(f"d = {d}, B = {bound}")
        axis.set_xlabel("n")
        axis.set_ylabel("seconds")
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return str(path)
