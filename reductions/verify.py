"""Random testing of reductions (in the spirit of Karp, PLDI 2022).

For each trial: generate a source instance, run the contract checks of
:mod:`reductions.testing` on it, and keep the smallest instance that fails,
with the seed and trial number that reproduce it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from instances._validation import check_int
from instances.display import escape, html_block, key_value_table, shorten
from reductions.core import Reduction
from reductions.problems import get_problem
from reductions.testing import CONTRACT_CHECKS

__all__ = ["Counterexample", "VerificationReport", "verify_reduction", "trial_instance"]


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

    @property
    def passed(self) -> bool:
        """Whether every trial passed."""
        return self.failures == 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "name": self.name,
            "passed": self.passed,
            "trials": self.trials,
            "failures": self.failures,
            "seconds": round(self.seconds, 4),
            "smallest_counterexample": None if self.smallest is None else self.smallest.as_dict(),
        }

    def summary(self) -> str:
        """One line for humans."""
        status = "ok" if self.passed else f"FAILED {self.failures}/{self.trials}"
        line = f"{self.name}: {status} ({self.trials} trials, {self.seconds:.2f} s)"
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


def trial_instance(reduction: Reduction, seed: int, trial: int, size: int) -> Any:
    """The source instance used by trial ``trial`` of a run with ``seed``."""
    generate = getattr(reduction, "random_source", None) or get_problem(reduction.source).random_instance
    return generate(np.random.default_rng([seed, trial]), size)


def verify_reduction(
    reduction: Reduction,
    *,
    trials: int = 100,
    seed: int = 0,
    max_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerificationReport:
    """Random-test ``reduction`` on ``trials`` instances of growing size.

    Sizes cycle through ``1..max_size`` (the reduction's ``verify_max_size``
    or 8 by default). Every exception counts as a failure; the smallest failing
    instance is reported with its seed and trial. ``progress``, when given, is
    called after each trial with the number of trials done (the command line
    uses it for its progress line).

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
    start = time.perf_counter()
    failures = 0
    smallest: Counterexample | None = None
    for trial in range(trials):
        size = 1 + trial % max_size
        instance = trial_instance(reduction, seed, trial, size)
        failure = _first_failure(reduction, instance)
        if progress is not None:
            progress(trial + 1)
        if failure is None:
            continue
        failures += 1
        weight = sum(float(v) for v in instance.parameters().values())
        if smallest is None or weight < sum(float(v) for v in smallest.instance.parameters().values()):
            smallest = Counterexample(seed, trial, size, failure[0], failure[1], instance)
    return VerificationReport(reduction.name, trials, failures, time.perf_counter() - start, smallest)


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
