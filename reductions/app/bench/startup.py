"""``reductions bench startup``: how fast the command line starts, against ``import numpy``.

Each command runs as a fresh ``python -m reductions ...`` process, the way a
user runs it; the reference is a process that only imports numpy, measured in
the same run and interleaved with the others (one round runs every command
once), so a busy machine slows all of them alike and the ratios stay
meaningful. Times are the best of ``repeat`` rounds.

The targets (issue 10): ``--help`` within 2.5 times the numpy process,
``inspect uf20-01.cnf`` within 3 times, ``solve uf20-01.cnf`` within 1.5 s of
wall time. Each entry also lists which heavy modules (sympy, networkx,
matplotlib) the command imported, from a separate untimed run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["bench_startup", "STARTUP_COMMANDS", "HEAVY_MODULES"]

HEAVY_MODULES = ("sympy", "networkx", "matplotlib")
"""Modules the quick commands must not import."""

_ROOT = Path(__file__).resolve().parents[3]
_SAMPLE = _ROOT / "instances" / "data" / "uf20-01.cnf"

STARTUP_COMMANDS: dict[str, dict[str, Any]] = {
    "help": {"argv": ["--help"], "max_ratio": 2.5},
    "version": {"argv": ["--version"], "max_ratio": None},
    "inspect": {"argv": ["inspect", str(_SAMPLE)], "max_ratio": 3.0},
    "solve": {"argv": ["solve", str(_SAMPLE), "--quiet"], "max_seconds": 1.5},
}
"""The commands timed: their arguments and targets (a ratio to ``import numpy`` or seconds)."""

_MODULE_PROBE = """
import runpy, sys
sys.argv = ["reductions", *sys.argv[1:]]
try:
    runpy.run_module("reductions", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(%r))
sys.stderr.write("HEAVY:" + ",".join(heavy) + "\\n")
"""


def _environment() -> dict[str, str]:
    """The environment of the child processes: this checkout first on the path."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), environment.get("PYTHONPATH")]))
    return environment


def _run(argv: Sequence[str], environment: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, *argv], cwd=_ROOT, env=environment, capture_output=True, timeout=600, check=False
    )
    return time.perf_counter() - start, completed.returncode


def _heavy_modules(argv: Sequence[str], environment: dict[str, str]) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-c", _MODULE_PROBE % (HEAVY_MODULES,), *argv],
        cwd=_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    for line in completed.stderr.splitlines():
        if line.startswith("HEAVY:"):
            return [name for name in line[len("HEAVY:") :].split(",") if name]
    raise RuntimeError(f"the module probe of {' '.join(argv)} failed: {completed.stderr.strip()[-300:]}")


def bench_startup(*, repeat: int = 5, which: Sequence[str] | None = None) -> dict[str, Any]:
    """Start-up time of ``reductions`` commands as fresh processes, beside ``python -c "import numpy"``.

    Parameters
    ----------
    repeat : int
        Rounds; each command's time is its best round.
    which : sequence of str, optional
        Names from :data:`STARTUP_COMMANDS` (default: all of them).

    Returns
    -------
    dict
        ``benchmark``, ``machine`` and ``results``: the reference
        (``import numpy``) first, then per command its seconds, ratio to the
        reference, target, whether the target is met, exit status and the
        heavy modules it imported.

    Examples
    --------
    >>> result = bench_startup(repeat=1, which=["version"])
    >>> [entry["command"] for entry in result["results"]]
    ['python -c "import numpy"', 'reductions --version']
    >>> result["results"][1]["heavy_modules"], result["results"][1]["exit_status"]
    ([], 0)
    """
    from reductions.app.bench.timing import benchmark_report

    names = list(STARTUP_COMMANDS) if which is None else list(which)
    unknown = [name for name in names if name not in STARTUP_COMMANDS]
    if unknown:
        raise ValueError(f"unknown start-up command(s) {unknown}; choose from {', '.join(STARTUP_COMMANDS)}")
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"'repeat' must be a positive int (got {repeat!r})")
    environment = _environment()
    runs: dict[str, list[str]] = {"numpy": ["-c", "import numpy"]}
    runs.update({name: ["-m", "reductions", *STARTUP_COMMANDS[name]["argv"]] for name in names})
    best = dict.fromkeys(runs, float("inf"))
    status: dict[str, int] = {}
    for _ in range(repeat):
        for name, argv in runs.items():
            seconds, status[name] = _run(argv, environment)
            best[name] = min(best[name], seconds)
    reference = best["numpy"]
    results: list[dict[str, Any]] = [{"command": 'python -c "import numpy"', "seconds": reference, "ratio": 1.0}]
    for name in names:
        spec = STARTUP_COMMANDS[name]
        entry: dict[str, Any] = {
            "command": "reductions " + " ".join(_relative(arg) for arg in spec["argv"]),
            "seconds": best[name],
            "ratio": best[name] / reference,
            "exit_status": status[name],
            "heavy_modules": _heavy_modules(spec["argv"], environment),
        }
        if spec.get("max_ratio") is not None:
            entry.update(target=f"ratio <= {spec['max_ratio']}", meets_target=entry["ratio"] <= spec["max_ratio"])
        elif spec.get("max_seconds") is not None:
            entry.update(
                target=f"seconds <= {spec['max_seconds']}", meets_target=entry["seconds"] <= spec["max_seconds"]
            )
        results.append(entry)
    return benchmark_report("startup", results, parameters={"repeat": repeat})


def _relative(argument: str) -> str:
    path = Path(argument)
    return str(path.relative_to(_ROOT)) if path.is_absolute() and path.is_relative_to(_ROOT) else argument
