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
    repeat: int = 1,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> dict[str, Any]:
    """Time ``verify NAME --trials N --seed S --workers K`` for each ``K`` in ``workers``, best of ``repeat``.

    With ``repeat`` above 1 the worker counts take turns (in reverse order
    every other round), so that a burst of other work on the machine does not
    fall on one of them only. The run is refused before it starts when the
    time predicted from the first trials (every worker count at one core's
    speed) is above ``max_seconds``.

    >>> bench_verify("sat-ov", trials=10**9)
    Traceback (most recent call last):
    ...
    reductions.app.bench.timing.BenchmarkTooLarge: bench verify: sat-ov, 1000000000 trials with --workers 1, 2 needs about ... s, above the limit of 1800 s (--max-seconds)
    """
    trials = check_int("trials", trials, minimum=1)
    repeat = check_int("repeat", repeat, minimum=1)
    counts = [check_int("workers", count, minimum=1) for count in workers] or [1, 2]
    from reductions.parallel import Engine
    from reductions.registry import get_reduction
    from reductions.verify import verify_reduction

    reduction = get_reduction(name)
    probe = verify_reduction(reduction, trials=min(trials, _PROBE_TRIALS), seed=seed)
    per_trial = probe.seconds / probe.trials
    check_seconds(
        f"bench verify: {name}, {trials} trials with --workers {', '.join(map(str, counts))}"
        + (f", {repeat} times" if repeat > 1 else ""),
        per_trial * trials * sum(1 / count for count in counts) * repeat,
        max_seconds,
    )
    load_before = _load()
    best: dict[int, float] = {}
    rounds: dict[int, list[float]] = {count: [] for count in counts}
    reports: list[dict[str, Any]] = []
    outcome: dict[int, tuple[str, bool, int]] = {}
    for round_ in range(repeat):
        for count in counts if round_ % 2 == 0 else counts[::-1]:
            started = time.perf_counter()
            with Engine(workers=count) as engine:
                report = verify_reduction(reduction, trials=trials, seed=seed, engine=engine)
            seconds = time.perf_counter() - started
            rounds[count].append(seconds)
            best[count] = min(best.get(count, seconds), seconds)
            data = report.as_dict()
            data.pop("seconds")
            reports.append(data)
            outcome[count] = (engine.describe(), report.passed, report.failures)
    results: list[dict[str, Any]] = [
        {
            "workers": count,
            "ran_on": outcome[count][0],
            "seconds": best[count],
            "rounds_seconds": rounds[count],
            "trials_per_second": trials / best[count] if best[count] > 0 else None,
            "passed": outcome[count][1],
            "failures": outcome[count][2],
        }
        for count in counts
    ]
    base = results[0]["seconds"]
    for result in results:
        result["speedup"] = base / result["seconds"] if result["seconds"] > 0 else None
    return benchmark_report(
        "verify",
        results,
        parameters={"reduction": name, "trials": trials, "seed": seed, "workers": counts, "repeat": repeat},
        summary={
            "speedup": results[-1]["speedup"],
            "same_report": all(data == reports[0] for data in reports),
            "load_average_before": load_before,
            "load_average_after": _load(),
            "predicted_seconds_per_trial": per_trial,
        },
    )
