"""Random testing of reductions (in the spirit of Karp, PLDI 2022).

For each trial: generate a source instance, run the contract checks of
:mod:`reductions.testing` on it, and keep the smallest instance that fails,
with the seed and trial number that reproduce it.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from instances._validation import check_int
from instances.display import escape, html_block, key_value_table, shorten
from reductions.core import Reduction
from reductions.problems import get_problem
from reductions.testing import CONTRACT_CHECKS

if TYPE_CHECKING:
    from reductions.parallel import Engine

__all__ = [
    "Counterexample",
    "VerificationReport",
    "VerificationInterrupted",
    "verify_reduction",
    "trial_instance",
]


@attrs.frozen
class Counterexample:
    """A failing trial: reproduce it with ``trial_instance(reduction, seed, trial, size)``."""

    seed: int
    trial: int
    size: int
    check: str
    message: str
    instance: Any = attrs.field(eq=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form; the instance as DIMACS text or nested lists."""
        return {
            "seed": self.seed,
            "trial": self.trial,
            "size": self.size,
            "check": self.check,
            "message": self.message,
            "instance": _instance_data(self.instance),
        }

    def _repr_html_(self) -> str:
        """Notebook display: how to reproduce the failure, the failing check, and the instance.

        >>> from instances import CNF
        >>> html = Counterexample(3, 7, 2, "backward", "wrong answer", CNF(1, [[1]]))._repr_html_()
        >>> "<th>seed</th><td>3</td>" in html, "<td>1 0</td>" in html
        (True, True)
        """
        facts = {
            "seed": self.seed,
            "trial": self.trial,
            "size": self.size,
            "check": self.check,
            "message": self.message,
        }
        render = getattr(self.instance, "_repr_html_", None)
        instance = render() if callable(render) else f"<p>{escape(shorten(repr(self.instance)))}</p>"
        return html_block(f"Counterexample: {self.check}", key_value_table(facts), instance)


def _instance_data(instance: Any) -> Any:
    if hasattr(instance, "to_dimacs"):
        return instance.to_dimacs()
    if hasattr(instance, "a") and hasattr(instance, "b"):
        data = {"a": instance.a.tolist(), "b": instance.b.tolist()}
        if hasattr(instance, "threshold"):
            data.update(threshold=str(instance.threshold), epsilon=str(instance.epsilon))
        return data
    return repr(instance)


@attrs.frozen
class VerificationReport:
    """Outcome of :func:`verify_reduction`."""

    name: str
    trials: int
    failures: int
    seconds: float
    smallest: Counterexample | None
    lost: tuple[range, ...] = ()
    """Chunks of trials whose worker died twice (never run to the end), in trial order."""

    @property
    def passed(self) -> bool:
        """Whether every trial ran and passed."""
        return self.failures == 0 and not self.lost

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "name": self.name,
            "passed": self.passed,
            "trials": self.trials,
            "failures": self.failures,
            "seconds": round(self.seconds, 4),
            "smallest_counterexample": None if self.smallest is None else self.smallest.as_dict(),
        } | ({"lost_trials": [[chunk.start, chunk.stop - 1] for chunk in self.lost]} if self.lost else {})

    def summary(self) -> str:
        """One line for humans."""
        status = "ok" if self.failures == 0 else f"FAILED {self.failures}/{self.trials}"
        if self.lost:  # not ok: those trials were never checked
            lost = sum(len(chunk) for chunk in self.lost)
            status = f"INCOMPLETE, {lost} trials LOST" if self.failures == 0 else f"{status}, {lost} trials LOST"
        line = f"{self.name}: {status} ({self.trials} trials, {self.seconds:.2f} s)"
        if self.lost:
            spans = ", ".join(f"{chunk.start}-{chunk.stop - 1}" for chunk in self.lost)
            line += f"\n  lost (their worker died twice): trials {spans}"
        if self.smallest is not None:
            c = self.smallest
            line += (
                f"\n  smallest counterexample: seed {c.seed}, trial {c.trial}, size {c.size}: [{c.check}] {c.message}"
            )
        return line

    def _repr_html_(self) -> str:
        """Notebook display: trials, failures and seconds, then the smallest counterexample if any.

        >>> from reductions.catalog.sat_ov import SatToOV
        >>> html = verify_reduction(SatToOV(), trials=5, seed=1)._repr_html_()
        >>> "<th>trials</th><td>5</td>" in html, "<th>failures</th><td>0</td>" in html
        (True, True)
        """
        status = "passed" if self.passed else f"FAILED {self.failures:,} of {self.trials:,} trials"
        facts = {"trials": self.trials, "failures": self.failures, "seconds": f"{self.seconds:.3f}"}
        smallest = (
            "<p>smallest counterexample (reproduce with trial_instance(reduction, seed, trial, size)):</p>"
            + self.smallest._repr_html_()
            if self.smallest is not None
            else ""
        )
        return html_block(f"Verification of {self.name}: {status}", key_value_table(facts), smallest)


def _name_key(name: str) -> int:
    """A stable 64-bit number for a reduction's name (Python's ``hash`` of a string changes per process)."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")


def trial_instance(reduction: Reduction, seed: int, trial: int, size: int) -> Any:
    """The source instance used by trial ``trial`` of a run with ``seed``.

    Its random stream depends on the seed, the reduction's name and the trial
    only, so a trial is the same whichever process or chunk runs it.

    >>> from reductions.catalog.sat_ov import SatToOV
    >>> trial_instance(SatToOV(), 0, 5, 3) == trial_instance(SatToOV(), 0, 5, 3)
    True
    """
    generate = getattr(reduction, "random_source", None) or get_problem(reduction.source).random_instance
    entropy = [seed, _name_key(reduction.name), trial]
    return generate(np.random.default_rng(np.random.SeedSequence(entropy)), size)


@attrs.frozen
class _Tally:
    """Failures and the smallest counterexample of some trials (what a chunk sends back)."""

    done: int = 0
    failures: int = 0
    smallest: Counterexample | None = None
    weight: float = math.inf

    def add(self, other: _Tally) -> _Tally:
        """Both tallies together: the smaller counterexample, the earlier trial on a tie."""
        mine = (self.weight, self.smallest.trial if self.smallest is not None else -1)
        theirs = (other.weight, other.smallest.trial if other.smallest is not None else -1)
        keep = self if self.smallest is not None and (other.smallest is None or mine <= theirs) else other
        return _Tally(self.done + other.done, self.failures + other.failures, keep.smallest, keep.weight)


class _PartialRun(KeyboardInterrupt):
    """Ctrl-C inside :func:`_run_trials`, with the tally of the trials that finished."""

    def __init__(self, tally: _Tally) -> None:
        super().__init__()
        self.tally = tally


def _run_trials(
    reduction: Reduction,
    seed: int,
    trials: range,
    max_size: int,
    progress: Callable[[int], None] | None = None,
    done_before: int = 0,
) -> _Tally:
    """Run the given trials in this process (a chunk, or the whole run when serial)."""
    done = failures = 0
    smallest: Counterexample | None = None
    weight = math.inf
    try:
        for trial in trials:
            size = 1 + trial % max_size
            instance = trial_instance(reduction, seed, trial, size)
            failure = _first_failure(reduction, instance)
            if failure is not None:
                failures += 1
                this_weight = sum(float(v) for v in instance.parameters().values())
                if smallest is None or this_weight < weight:
                    smallest, weight = Counterexample(seed, trial, size, failure[0], failure[1], instance), this_weight
            done += 1
            if progress is not None:
                progress(done_before + done)
    except KeyboardInterrupt as interrupt:
        raise _PartialRun(_Tally(done, failures, smallest, weight)) from interrupt
    return _Tally(done, failures, smallest, weight)


def _chunk_trials(trials: range, chunk_size: int) -> list[range]:
    return [
        range(start, min(start + chunk_size, trials.stop)) for start in range(trials.start, trials.stop, chunk_size)
    ]


def _chunk_size(trials: int, workers: int) -> int:
    """About 32 chunks per worker, at most 250 trials each: frequent progress, and little time left at the
    end where one worker still runs its last chunk while the others wait."""
    return max(1, min(250, -(-trials // (32 * workers))))


class VerificationInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`verify_reduction`; ``report`` holds the trials that finished."""

    def __init__(self, report: VerificationReport) -> None:
        super().__init__(report.summary())
        self.report = report


def verify_reduction(
    reduction: Reduction,
    *,
    trials: int = 100,
    seed: int = 0,
    max_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    engine: Engine | None = None,
    chunk_size: int | None = None,
) -> VerificationReport:
    """Random-test ``reduction`` on ``trials`` instances of growing size.

    Sizes cycle through ``1..max_size`` (the reduction's ``verify_max_size``
    or 8 by default). Every exception counts as a failure; the smallest failing
    instance is reported with its seed and trial. ``progress``, when given, is
    called with the number of trials done (after each trial in this process,
    after each chunk on a cluster; the command line uses it for its progress line).

    ``engine`` (a :class:`reductions.parallel.Engine`) spreads the trials, in
    chunks of ``chunk_size``, over worker processes; each trial's random
    stream comes from the seed, the reduction's name and the trial number, so
    the report (apart from its seconds) is the same for every engine and
    chunking. Without an engine, or with a serial one, the trials run here.
    A chunk lost twice (its worker died) is reported in ``lost`` and the
    report does not pass. Ctrl-C raises :class:`VerificationInterrupted`
    holding the report of the trials that finished.

    Examples
    --------
    >>> from reductions.catalog.sat_ov import SatToOV
    >>> report = verify_reduction(SatToOV(), trials=20, seed=1)
    >>> report.passed, report.trials
    (True, 20)
    >>> done = []
    >>> verify_reduction(SatToOV(), trials=3, progress=done.append).passed, done
    (True, [1, 2, 3])
    """
    trials = check_int("trials", trials, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    if max_size is None:
        max_size = getattr(reduction, "verify_max_size", 8)
    max_size = check_int("max_size", max_size, minimum=1)
    if chunk_size is not None:
        chunk_size = check_int("chunk_size", chunk_size, minimum=1)
    start = time.perf_counter()
    tally = _Tally()
    lost: list[range] = []

    def report() -> VerificationReport:
        return VerificationReport(
            reduction.name, tally.done, tally.failures, time.perf_counter() - start, tally.smallest, tuple(lost)
        )

    try:
        if engine is None or engine.serial:
            if engine is not None:
                engine.note_if_serial_by_necessity()
            tally = _run_trials(reduction, seed, range(trials), max_size, progress)
            return report()

        def run_here(trial: int) -> None:  # small work is not worth a cluster: the engine tries it here first
            nonlocal tally
            tally = tally.add(_run_trials(reduction, seed, range(trial, trial + 1), max_size))
            if progress is not None:
                progress(trial + 1)

        first = engine.run_here_first(trials, run_here)
        if first is None:
            return report()
        chunks = _chunk_trials(range(first, trials), chunk_size or _chunk_size(trials - first, engine.workers))

        def merge(_: int, chunk: _Tally) -> None:
            nonlocal tally
            tally = tally.add(chunk)
            if progress is not None:
                progress(tally.done)

        tasks = [(reduction, seed, chunk, max_size) for chunk in chunks]

        def describe(index: int) -> str:
            return f"{reduction.name}: trials {chunks[index].start}-{chunks[index].stop - 1}"

        failures = engine.map(_run_trials, tasks, merge, describe)
        lost.extend(chunks[failure.index] for failure in failures)
        return report()
    except KeyboardInterrupt as interrupt:
        if isinstance(interrupt, _PartialRun):
            tally = tally.add(interrupt.tally)
        raise VerificationInterrupted(report()) from interrupt


def _first_failure(reduction: Reduction, instance: Any) -> tuple[str, str] | None:
    try:
        reduced = reduction.forward(instance)
    except Exception as err:  # every failure is reported, whatever its type
        return "forward", f"{type(err).__name__}: {err}"
    for name, check in CONTRACT_CHECKS.items():
        try:
            check(reduction, instance, reduced)
        except Exception as err:
            return name, f"{type(err).__name__}: {err}"
    return None
