"""``reductions bench verify``: ``verify NAME --trials N`` with one worker and with several, side by side.

The same verification runs once per worker count, one after the other in
this process: ``--workers 1`` in the process itself, more on a local Dask
cluster started (and stopped) within the timed run, so the cluster's start
counts against it. The summary gives the speed-up over one worker, whether
every run gave the same report (apart from its seconds), and the load
average before and after, since other work on the machine takes cores away.

Examples
--------
>>> from reductions.app.bench.verify import bench_verify
>>> report = bench_verify("sat-ov", trials=20, workers=[1])
>>> report["benchmark"], report["results"][0]["workers"], report["summary"]["same_report"]
('verify', 1, True)
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from instances._validation import check_int
from reductions.app.bench.timing import DEFAULT_MAX_SECONDS, benchmark_report, check_seconds

__all__ = ["bench_verify"]

_PROBE_TRIALS = 50


def _load() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def bench_verify(
    name: str = "sat-aattc",
    *,
    trials: int = 20_000,
    seed: int = 0,
    workers: Sequence[int] = (1, 2),
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> dict[str, Any]:
    """Time ``verify NAME --trials N --seed S --workers K`` for each ``K`` in ``workers``.

    The run is refused before it starts when the time predicted from the
    first trials (every worker count at one core's speed) is above ``max_seconds``.

    >>> bench_verify("sat-ov", trials=10**9)
    Traceback (most recent call last):
    ...
    reductions.app.bench.timing.BenchmarkTooLarge: bench verify: sat-ov, 1000000000 trials with --workers 1, 2 needs about ... s, above the limit of 1800 s (--max-seconds)
    """
    trials = check_int("trials", trials, minimum=1)
    counts = [check_int("workers", count, minimum=1) for count in workers] or [1, 2]
    from reductions.parallel import Engine
    from reductions.registry import get_reduction
    from reductions.verify import verify_reduction

    reduction = get_reduction(name)
    probe = verify_reduction(reduction, trials=min(trials, _PROBE_TRIALS), seed=seed)
    per_trial = probe.seconds / probe.trials
    check_seconds(
        f"bench verify: {name}, {trials} trials with --workers {', '.join(map(str, counts))}",
        per_trial * trials * sum(1 / count for count in counts),
        max_seconds,
    )
    load_before = _load()
    results: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []
    for count in counts:
        started = time.perf_counter()
        with Engine(workers=count) as engine:
            report = verify_reduction(reduction, trials=trials, seed=seed, engine=engine)
        seconds = time.perf_counter() - started
        data = report.as_dict()
        data.pop("seconds")
        reports.append(data)
        results.append(
            {
                "workers": count,
                "ran_on": engine.describe(),
                "seconds": seconds,
                "trials_per_second": trials / seconds if seconds > 0 else None,
                "passed": report.passed,
                "failures": report.failures,
            }
        )
    base = results[0]["seconds"]
    for result in results:
        result["speedup"] = base / result["seconds"] if result["seconds"] > 0 else None
    return benchmark_report(
        "verify",
        results,
        parameters={"reduction": name, "trials": trials, "seed": seed, "workers": counts},
        summary={
            "speedup": results[-1]["speedup"],
            "same_report": all(data == reports[0] for data in reports),
            "load_average_before": load_before,
            "load_average_after": _load(),
            "predicted_seconds_per_trial": per_trial,
        },
    )
