"""``reductions solve`` over many files: each file solved on its own, in this process or on a Dask cluster.

Every file gets the lines ``solve`` prints for one file, after a ``c file
NAME`` line (or one JSON object per line), in the order the files were named;
a file beyond the limits is refused (``s UNKNOWN``) and the batch goes on. The
batch ends with a summary: files solved, refused, failed, agreeing with
PySAT (``--check``), and the time spent in every stage.

Examples
--------
>>> from reductions.app.batch import SolveSettings, solve_file
>>> from reductions.pipeline import default_chain
>>> settings = SolveSettings(default_chain(), "exact", 2**30, 60.0, check=True)
>>> record = solve_file("tests/data/cnf/sat/quinn.cnf", settings)
>>> record["status"], record["pysat"], record["agrees"]
('SAT', 'SAT', True)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from instances.errors import FrameworkError, SolverBudgetExceeded
from instances.formatting import format_bytes, plural

if TYPE_CHECKING:
    from instances.cnf import CNF
    from reductions.core import Chain
    from reductions.parallel import Engine
    from reductions.pipeline import SolveResult

__all__ = [
    "SolveSettings",
    "attempt",
    "pysat_check",
    "assignment_lines",
    "cnf_files",
    "solve_file",
    "solve_files",
    "summarize",
    "record_lines",
    "summary_lines",
]


@attrs.frozen
class SolveSettings:
    """What every file of a batch is solved with: the chain, the oracle, the limits, and whether to check."""

    chain: Chain
    oracle: str
    max_bytes: int
    max_seconds: float
    check: bool = False
    progress: bool | None = False
    """Progress lines on stderr: ``None`` lets the pipeline decide (one file on a terminal), ``False`` never."""


def attempt(formula: CNF, settings: SolveSettings) -> tuple[SolveResult | None, str | None]:
    """``solve_via_attention`` within the settings' limits: ``(result, None)``, or ``(None, reason)`` when
    it is refused (by a prediction, or by running out of memory); other errors propagate.

    >>> from instances import CNF
    >>> from reductions.pipeline import default_chain
    >>> settings = SolveSettings(default_chain(), "exact", 2**30, 60.0)
    >>> attempt(CNF(2, [[1], [-2]]), settings)[0].status
    'SAT'
    >>> attempt(CNF(2, [[1], [-2]]), attrs.evolve(settings, max_bytes=1))[1]
    '2 variables and 2 clauses need attention with N = 4 and d = 24: about 8.09 MiB and ... s, above the limit of 1 B'
    """
    from reductions.pipeline import solve_via_attention

    try:
        result = solve_via_attention(
            formula,
            chain=settings.chain,
            oracle=settings.oracle,
            max_bytes=settings.max_bytes,
            max_seconds=settings.max_seconds,
            progress=settings.progress,
        )
    except SolverBudgetExceeded as refusal:
        return None, str(refusal)
    except MemoryError:
        return None, f"out of memory (limit {format_bytes(settings.max_bytes)} not enough)"
    return result, None


def pysat_check(formula: CNF, status: str) -> dict[str, Any]:
    """PySAT's answer on ``formula`` and whether ``status`` agrees with it.

    >>> from instances import CNF
    >>> pysat_check(CNF(1, [[1], [-1]]), "SAT")
    {'pysat': 'UNSAT', 'agrees': False}
    """
    from solvers.sat import solve_sat

    pysat = "SAT" if solve_sat(formula) is not None else "UNSAT"
    return {"pysat": pysat, "agrees": pysat == status}


def assignment_lines(literals: Sequence[int]) -> list[str]:
    """``s SATISFIABLE`` and the ``v`` lines of an assignment, ten literals a line, ``0`` at the end.

    >>> assignment_lines([1, -2])
    ['s SATISFIABLE', 'v 1 -2 0']
    """
    values = [str(literal) for literal in literals] + ["0"]
    return ["s SATISFIABLE"] + ["v " + " ".join(values[i : i + 10]) for i in range(0, len(values), 10)]


def cnf_files(paths: Sequence[str]) -> list[str]:
    """The files named, with every directory replaced by the ``*.cnf`` files below it (sorted).

    A missing path or a directory without ``.cnf`` files is an error before anything runs.

    >>> cnf_files(["tests/data/cnf/unsat"])
    ['tests/data/cnf/unsat/hole1.cnf', 'tests/data/cnf/unsat/hole5.cnf', 'tests/data/cnf/unsat/waerden_3_3_9.cnf']
    """
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):  # .cnf in any case (SATLIB has .CNF files); regular files only, no pipes
            found = sorted(str(f) for f in Path(path).rglob("*") if f.suffix.lower() == ".cnf" and f.is_file())
            if not found:
                raise ValueError(f"{path}: a directory without .cnf files")
            files.extend(found)
        elif os.path.isfile(path):
            files.append(path)
        elif os.path.exists(path):
            raise ValueError(f"{path}: not a regular file (a batch reads files, not pipes or devices)")
        else:
            raise ValueError(f"{path}: no such file or directory")
    return files


def solve_file(path: str, settings: SolveSettings) -> dict[str, Any]:
    """Read and solve one file; a JSON-ready record, whatever happens (errors and refusals included).

    ``status`` is ``SAT``, ``UNSAT``, ``UNKNOWN`` (refused, with ``reason``) or
    ``ERROR`` (an unreadable file, with ``reason``). With ``settings.check``,
    ``pysat`` holds PySAT's answer and ``agrees`` whether they match.
    """
    from instances.dimacs import read_dimacs

    record: dict[str, Any] = {"file": path, "status": "ERROR", "reason": None, "warnings": []}
    started = time.perf_counter()
    try:
        parsed = read_dimacs(path)
    except (FrameworkError, ValueError, OSError) as err:
        return record | {"reason": str(err), "read_seconds": time.perf_counter() - started}
    record.update(warnings=list(parsed.warnings), read_seconds=time.perf_counter() - started)
    try:
        result, refusal = attempt(parsed.formula, settings)
    except (FrameworkError, ValueError) as err:
        return record | {"reason": f"{type(err).__name__}: {err}"}
    if result is None:
        return record | {"status": "UNKNOWN", "reason": refusal}
    record.update(result.as_dict())
    record["reason"] = None
    if settings.check:
        started = time.perf_counter()
        record.update(pysat_check(parsed.formula, result.status), check_seconds=time.perf_counter() - started)
    return record


def solve_files(
    files: Sequence[str],
    settings: SolveSettings,
    engine: Engine,
    on_record: Callable[[dict[str, Any]], None],
) -> list[dict[str, Any]]:
    """Solve every file with ``engine``; ``on_record`` gets the records in the files' order, as they come.

    A file whose worker died twice gets an ``ERROR`` record saying so; the others stand.

    >>> from reductions.parallel import Engine
    >>> from reductions.pipeline import default_chain
    >>> settings = SolveSettings(default_chain(), "exact", 2**30, 60.0)
    >>> files = cnf_files(["tests/data/cnf/unsat"])
    >>> [r["status"] for r in solve_files(files, settings, Engine(workers=1), lambda record: None)]
    ['UNSAT', 'UNKNOWN', 'UNSAT']

    (``hole5.cnf`` needs about 2.1 GiB, above the 1 GiB given: refused, and the batch goes on.)
    """
    records: dict[int, dict[str, Any]] = {}
    shown = 0

    def arrived(index: int, record: dict[str, Any]) -> None:
        nonlocal shown
        records[index] = record
        while shown in records:  # in the files' order, whatever order they finish in
            on_record(records[shown])
            shown += 1

    failures = engine.map(solve_file, [(file, settings) for file in files], arrived, "file {}".format)
    for failure in failures:
        arrived(failure.index, {"file": files[failure.index], "status": "ERROR", "reason": failure.reason})
    return [records[index] for index in range(len(files))]


def summarize(records: Sequence[dict[str, Any]], seconds: float, where: str) -> dict[str, Any]:
    """The batch in numbers: counts by outcome, the refused and failed files, seconds per stage.

    >>> summarize([{"file": "a.cnf", "status": "UNKNOWN", "reason": "too big"}], 1.0, "serial")["refused"]
    [{'file': 'a.cnf', 'reason': 'too big'}]
    """
    stages: dict[str, float] = {"read": 0.0}
    for record in records:
        stages["read"] += record.get("read_seconds", 0.0)
        for stage in record.get("stages", []):
            stages[stage["name"]] = stages.get(stage["name"], 0.0) + stage["seconds"]
    checked = [record for record in records if "agrees" in record]
    if checked:
        stages["pysat check"] = sum(record["check_seconds"] for record in checked)
    solved = [record for record in records if record["status"] in ("SAT", "UNSAT")]
    return {
        "files": len(records),
        "solved": len(solved),
        "satisfiable": sum(record["status"] == "SAT" for record in solved),
        "unsatisfiable": sum(record["status"] == "UNSAT" for record in solved),
        "checked": len(checked),
        "agreed": sum(record["agrees"] for record in checked),
        "disagreed": [record["file"] for record in checked if not record["agrees"]],
        "refused": [{"file": r["file"], "reason": r["reason"]} for r in records if r["status"] == "UNKNOWN"],
        "errors": [{"file": r["file"], "reason": r["reason"]} for r in records if r["status"] == "ERROR"],
        "seconds": seconds,
        "stage_seconds": stages,
        "ran_on": where,
    }


def record_lines(record: dict[str, Any], *, trace: bool = False) -> list[str]:
    """The SAT-competition lines of one file, after ``c file NAME``.

    >>> record_lines({"file": "a.cnf", "status": "UNKNOWN", "reason": "too big", "warnings": []})
    ['c file a.cnf', 'c refused: too big', 's UNKNOWN']
    """
    lines = [f"c file {record['file']}"]
    lines += [f"c warning: {warning}" for warning in record.get("warnings", [])]
    if trace and record.get("stages"):
        lines += [f"c {stage['name']}: {stage['seconds']:.4f} s" for stage in record["stages"]]
    if record["status"] == "ERROR":
        return [*lines, f"c error: {record['reason']}", "s UNKNOWN"]
    if record["status"] == "UNKNOWN":
        return [*lines, f"c refused: {record['reason']}", "s UNKNOWN"]
    if "agrees" in record:
        verdict = "agrees" if record["agrees"] else "DISAGREES"
        lines.append(f"c check: PySAT says {record['pysat']}: {verdict}")
    if record["status"] == "UNSAT":
        return [*lines, "s UNSATISFIABLE"]
    return lines + assignment_lines(record["assignment"])


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The summary table as ``c`` lines (SAT-competition readers skip them).

    >>> lines = summary_lines(summarize([], 0.5, "serial (one process)"))
    >>> lines[0]
    'c summary: 0 files in 0.50 s, serial (one process)'
    """
    s = summary
    lines = [
        f"c summary: {plural(s['files'], 'file')} in {s['seconds']:.2f} s, {s['ran_on']}",
        f"c   solved    {s['solved']:>5}  ({s['satisfiable']} SAT, {s['unsatisfiable']} UNSAT)",
    ]
    if s["checked"]:
        disagreed = f"; DISAGREED: {', '.join(s['disagreed'])}" if s["disagreed"] else ""
        lines.append(f"c   agreed    {s['agreed']:>5}  with PySAT, of {s['checked']} checked{disagreed}")
    lines.append(f"c   refused   {len(s['refused']):>5}")
    lines += [f"c     {item['file']}: {item['reason']}" for item in s["refused"]]
    lines.append(f"c   errors    {len(s['errors']):>5}")
    lines += [f"c     {item['file']}: {item['reason']}" for item in s["errors"]]
    lines.append("c   stage                         seconds")
    lines += [f"c     {name:<28} {seconds:8.3f}" for name, seconds in s["stage_seconds"].items()]
    return lines
