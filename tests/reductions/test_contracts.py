"""Every registered reduction passes every contract check on its examples."""

import pytest

from reductions.registry import get_reduction, reduction_names
from reductions.testing import CONTRACT_CHECKS, contract_instances
from reductions.verify import verify_reduction

CASES = [(name, check) for name in reduction_names() for check in CONTRACT_CHECKS]


@pytest.mark.parametrize("name, check", CASES, ids=[f"{n}-{c}" for n, c in CASES])
def test_registered_reduction_passes_contract_check(name, check):
    reduction = get_reduction(name)
    for instance in contract_instances(reduction, count=10):
        CONTRACT_CHECKS[check](reduction, instance)


def test_verify_reports_the_smallest_counterexample_with_its_seed():
    from typing import ClassVar

    import attrs

    from reductions.catalog.sat_ov import SatToOV

    @attrs.frozen
    class BrokenSatToOV(SatToOV):
        """Drops the last clause: wrong whenever that clause matters."""

        name: ClassVar[str] = "broken-sat-ov"

        def _forward(self, instance):
            from instances import CNF

            return super()._forward(CNF(instance.num_vars, instance.clauses[:-1]))

        def backward(self, reduced, answer):
            if answer is None:
                return None
            from instances import Assignment

            i, j = answer.i, answer.j
            first = reduced.decoding["first_half"]
            values = [bool(i >> k & 1) for k in range(first)]
            values += [bool(j >> k & 1) for k in range(reduced.source.num_vars - first)]
            return Assignment(values)

    report = verify_reduction(BrokenSatToOV(), trials=60, seed=3)
    assert not report.passed
    smallest = report.smallest
    assert smallest is not None and smallest.seed == 3
    assert smallest.check in {"answer", "witnesses", "parameters"}
    # the reported trial reproduces a failing instance of the same size
    from reductions.verify import trial_instance

    assert trial_instance(BrokenSatToOV(), 3, smallest.trial, smallest.size) == smallest.instance
    assert "p cnf" in report.as_dict()["smallest_counterexample"]["instance"]


def test_verify_passes_sat_ov_quickly():
    report = verify_reduction(get_reduction("sat-ov"), trials=200, seed=0)
    assert report.passed, report.summary()
