"""Z-Max-IP, Chen-style ov-zmaxip (Chinese remainders, one instance per admissible value), zmaxip-aattc
and the chain sat-aattc-lowdim, against brute force and PySAT."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from instances import CNF
from instances.errors import InvalidInstanceError, OracleContradiction, SolverBudgetExceeded
from instances.maxip import InnerProductPair
from instances.vectors import OVInstance
from instances.zmaxip import ZMaxIPInstance
from reductions.catalog.chains import lowdim_attention_chain
from reductions.catalog.ov_zmaxip import OVToZMaxIP
from reductions.catalog.zmaxip_aattc import ZMaxIPToAttention
from reductions.family import answer_members
from reductions.registry import get_reduction
from reductions.symbolic import iterated_log, log_star
from reductions.verify import verify_reduction
from solvers.attention.exact import ExactAttention
from solvers.ov import brute_force_ov
from solvers.sat import solve_sat
from solvers.zmaxip import brute_force_zmaxip, max_inner_product_z, zmaxip_pairs
from tests.strategies import ov_instances

DATA = Path(__file__).resolve().parents[1] / "data" / "cnf"

big_ints = st.integers(min_value=-(2**130), max_value=2**130)


@st.composite
def zmaxip_instances(draw: st.DrawFn, entries: st.SearchStrategy[int] = big_ints) -> ZMaxIPInstance:
    n_a, n_b, d = draw(st.integers(0, 4)), draw(st.integers(0, 4)), draw(st.integers(0, 4))
    a = np.empty((n_a, d), dtype=object)
    b = np.empty((n_b, d), dtype=object)
    for array in (a, b):
        for position in np.ndindex(array.shape):
            array[position] = draw(entries)
    return ZMaxIPInstance(a, b, draw(big_ints))


def _python_products(instance: ZMaxIPInstance) -> list[list[int]]:
    return [
        [sum(int(x) * int(y) for x, y in zip(u, w, strict=True)) for w in instance.b.tolist()]
        for u in instance.a.tolist()
    ]


# -- the problem and its solver ------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(zmaxip_instances())
def test_solver_is_exact_beyond_int64(instance: ZMaxIPInstance) -> None:
    products = _python_products(instance)
    expected = [
        InnerProductPair(i, j) for i, row in enumerate(products) for j, v in enumerate(row) if v >= instance.threshold
    ]
    assert zmaxip_pairs(instance) == expected
    assert brute_force_zmaxip(instance) == (expected[0] if expected else None)
    best = max_inner_product_z(instance)
    flat = [v for row in products for v in row]
    assert (best is None) == (not flat)
    if best is not None:
        assert best[0] == max(flat) and instance.inner_product(best[1]) == best[0]


@settings(max_examples=40, deadline=None)
@given(zmaxip_instances(st.integers(-(2**20), 2**20)))
def test_int64_and_python_int_paths_agree(instance: ZMaxIPInstance) -> None:
    assert instance.products().tolist() == _python_products(instance)


def test_bad_input_is_refused_in_one_line() -> None:
    with pytest.raises(InvalidInstanceError, match="'b' must hold integers: entry \\(0, 1\\) is 'x'"):
        ZMaxIPInstance([[1, 2]], [[1, "x"]], 0)
    with pytest.raises(InvalidInstanceError, match="same dimension"):
        ZMaxIPInstance([[1, 2]], [[1]], 0)
    with pytest.raises(InvalidInstanceError, match="above the stated bound W = 3"):
        ZMaxIPInstance([[1]], [[-4]], 0, bound=3)
    with pytest.raises(TypeError, match="'threshold' must be an int"):
        ZMaxIPInstance([[1]], [[1]], 0.5)  # type: ignore[arg-type]


# -- the Chinese-remainder packing ----------------------------------------------------------------


@settings(max_examples=120, deadline=None)
@given(st.integers(1, 12), st.integers(1, 4), st.data())
def test_packing_keeps_orthogonality_modulo_q(d: int, blocks: int, data: st.DataObject) -> None:
    reduction = OVToZMaxIP(blocks=blocks)
    x = data.draw(st.lists(st.integers(0, 1), min_size=d, max_size=d))
    y = data.draw(st.lists(st.integers(0, 1), min_size=d, max_size=d))
    sizes = reduction._sizes(d, 1, 1)
    assert all(q > sizes.blocks for q in sizes.primes) and math.prod(sizes.primes) == sizes.modulus
    (packed_x,), (packed_y,) = reduction.pack(np.array([x]), sizes), reduction.pack(np.array([y]), sizes)
    assert all(0 <= v <= sizes.largest for v in packed_x + packed_y)
    s = sum(u * w for u, w in zip(packed_x, packed_y, strict=True))
    assert (s % sizes.modulus == 0) == (sum(u * w for u, w in zip(x, y, strict=True)) == 0)
    assert s <= sizes.top * sizes.modulus + sizes.modulus - 1  # every value stays in [0, (T + 1) Q)


@settings(max_examples=60, deadline=None)
@given(ov_instances(max_rows=4, max_dimension=7), st.sampled_from([None, 1, 2, 3]))
def test_family_agrees_with_brute_force_ov(ov: OVInstance, blocks: int | None) -> None:
    reduction = OVToZMaxIP(blocks=blocks)
    assume(reduction.sizes(ov).members <= 300)  # blocks = 1 at d = 6 packs 6 primes: 30,029 members
    family = reduction.forward(ov)
    assert family.count == reduction.sizes(ov).members
    answers = [brute_force_zmaxip(member) for member in family.targets]
    pair = family.backward(answers)
    reference = brute_force_ov(ov)
    assert (pair is None) == (reference is None)
    if pair is not None:
        assert ov.is_orthogonal_pair(pair)


@settings(max_examples=30, deadline=None)
@given(ov_instances(min_rows_a=1, max_rows=3, max_dimension=6), st.sampled_from([None, 1, 2]))
def test_member_t_has_exactly_the_pairs_whose_packed_product_is_t_q(ov: OVInstance, blocks: int | None) -> None:
    reduction = OVToZMaxIP(blocks=blocks)
    sizes = reduction.sizes(ov)
    assume(sizes.members <= 300)
    xs, ys = reduction.pack(ov.a, sizes), reduction.pack(ov.b, sizes)
    for t in {0, sizes.members // 2, sizes.members - 1}:
        member = reduction.member(ov, t)
        products = member.products()
        for i, x in enumerate(xs):
            for j, y in enumerate(ys):
                s = sum(u * w for u, w in zip(x, y, strict=True))
                assert int(products[i, j]) == -((s - t * sizes.modulus) ** 2)


def test_wrong_member_answers_are_caught() -> None:
    ov = OVInstance([[1, 1]], [[1, 0]])
    family = OVToZMaxIP().forward(ov)
    answers: list[InnerProductPair | None] = [None] * family.count
    answers[0] = InnerProductPair(0, 0)
    with pytest.raises(OracleContradiction, match="not orthogonal"):
        family.backward(answers)


def test_sizes_are_refused_with_the_numbers_before_building() -> None:
    ov = OVInstance(np.ones((2, 18), dtype=np.uint8), np.zeros((2, 18), dtype=np.uint8))
    with pytest.raises(SolverBudgetExceeded, match="Q = 2431 .3 primes.: 19433 members of dimension 45.*max_members"):
        OVToZMaxIP().forward(ov)
    with pytest.raises(SolverBudgetExceeded, match="D W\\^2 = .* is above"):
        OVToZMaxIP(max_product=2**53).forward(
            OVInstance(np.ones((1, 9), dtype=np.uint8), np.ones((1, 9), dtype=np.uint8))
        )
    with pytest.raises(ValueError, match="'blocks' must be a positive int"):
        OVToZMaxIP(blocks=0)


def test_reductions_pass_their_contracts() -> None:
    for reduction in (OVToZMaxIP(), OVToZMaxIP(blocks=2), ZMaxIPToAttention(), get_reduction("sat-aattc-lowdim")):
        report = verify_reduction(reduction, trials=12, seed=7)
        assert report.passed, report.summary()


# -- the dimension: log* growth -----------------------------------------------------------------------


def _float_log_star(x: float) -> int:
    count = 0
    while x > 1:
        x = math.log2(x)
        count += 1
    return count


@given(st.integers(0, 10**7))
def test_iterated_log_matches_repeated_log2(x: int) -> None:
    # away from the tower values 2, 4, 16, 65536 the float iteration is exact enough
    assert iterated_log(x) == _float_log_star(x) or x in (2, 4, 16, 65536)
    assert log_star(sympy.Integer(x)) == iterated_log(x)


def test_symbolic_growth_printed_by_the_cli_matches_concrete_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    from reductions.app.cli import main

    assert main(["chain", "ov", "zmaxip", "--symbolic"]) == 0
    out = capsys.readouterr().out
    lines = {line.split(" = ", 1)[0].strip(): line.split(" = ", 1)[1] for line in out.splitlines() if " = " in line}
    d = sympy.Symbol("d", positive=True)
    ell_formula = sympy.sympify(lines["ell"], locals={"log_star": log_star, "d": d})
    dim_formula = sympy.sympify(lines["zmaxip's d"], locals={"log_star": log_star, "d": d})
    reduction = OVToZMaxIP()
    rng = np.random.default_rng(0)
    seen = set()
    for exponent in range(2, 13):  # n = 2^2 .. 2^12, OV in dimension d = 2 log2 n
        n, dimension = 2**exponent, 2 * exponent
        ov = OVInstance(rng.random((n, dimension)) < 0.5, rng.random((2, dimension)) < 0.5)
        member = reduction.member(ov, 0)
        sizes = reduction.sizes(ov)
        assert ell_formula.subs(d, dimension) == sizes.blocks
        assert dim_formula.subs(d, dimension) == member.dimension == (sizes.blocks + 1) * (sizes.blocks + 2) // 2
        assert member.parameters()["n_a"] == n
        seen.add(member.dimension)
    assert seen == {6, 15, 45}  # l = 2, 4, 8: the dimension grows with log* n, not with log n


# -- zmaxip-aattc and the chain -------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(zmaxip_instances(st.integers(-(2**20), 2**20)), st.integers(-1, 1))
def test_zmaxip_aattc_agrees_with_brute_force(drawn: ZMaxIPInstance, offset: int) -> None:
    if drawn.a.shape[0] == 0:
        return
    # the threshold near the largest inner product, so that both answers occur (a threshold far from every
    # product makes logits the float64 oracle refuses to separate, which the read-back reports)
    best = max_inner_product_z(drawn)
    instance = ZMaxIPInstance(drawn.a, drawn.b, (best[0] if best else 0) + offset)
    reduced = ZMaxIPToAttention().forward(instance)
    pair = reduced.backward(ExactAttention()(reduced.target, log_space=True))
    reference = brute_force_zmaxip(instance)
    assert (pair is None) == (reference is None)
    if pair is not None:
        assert instance.is_witness(pair)


def test_zmaxip_aattc_refuses_entries_float64_cannot_hold() -> None:
    with pytest.raises(SolverBudgetExceeded, match="d W\\^2 <= 2\\^53"):
        ZMaxIPToAttention().forward(ZMaxIPInstance([[2**27, 1]], [[1, 1]], 0))


def _random_formula(rng: np.random.Generator) -> CNF:
    num_vars = int(rng.integers(4, 9))
    clauses = []
    for _ in range(int(rng.integers(0, 9))):
        width = int(rng.integers(1, 4))
        variables = rng.choice(num_vars, size=width, replace=False) + 1
        clauses.append(tuple(int(v) for v in variables * np.where(rng.random(width) < 0.5, -1, 1)))
    return CNF(num_vars, clauses)


def test_chain_agrees_with_pysat_on_random_formulas_of_4_to_8_variables() -> None:
    chain = lowdim_attention_chain()
    statuses = set()
    for seed in range(24):
        formula = _random_formula(np.random.default_rng(seed))
        family = chain.forward(formula)
        answer = chain.backward(family, answer_members(family, lambda t: ExactAttention()(t, log_space=True)))
        reference = solve_sat(formula)
        assert (answer is None) == (reference is None), formula.to_dimacs()
        if answer is not None:
            assert formula.is_satisfied_by(answer)
        statuses.add(reference is None)
    assert statuses == {True, False}


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("parser_quirks/multiline.cnf", 10),
        ("parser_quirks/empty_clause.cnf", 20),
        ("parser_quirks/format_test_1.cnf", 10),
        ("parser_quirks/simple_v3_c2.header-overstates.cnf", 10),
        ("unsat/hole1.cnf", 20),
    ],
)
def test_cli_solves_shared_files(name: str, status: int, capsys: pytest.CaptureFixture[str]) -> None:
    from reductions.app.cli import main

    assert main(["solve", str(DATA / name), "--chain", "sat-aattc-lowdim"]) == status
    out = capsys.readouterr().out
    assert ("s SATISFIABLE" if status == 10 else "s UNSATISFIABLE") in out


def test_cli_refuses_larger_files_with_the_predicted_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    from reductions.app.cli import main

    main(["solve", str(DATA / "sat/quinn.cnf"), "--chain", "sat-aattc-lowdim"])
    captured = capsys.readouterr()
    assert "s UNKNOWN" in captured.out
    reason = [line for line in captured.err.splitlines() if "ov-zmaxip" in line]
    assert len(reason) == 1 and "19433 members of dimension 45" in reason[0]


def test_inspect_cost_predicts_the_family_before_building(capsys: pytest.CaptureFixture[str]) -> None:
    from reductions.app.cli import main

    assert main(["inspect", str(DATA / "parser_quirks/multiline.cnf"), "--cost", "--chain", "sat-aattc-lowdim"]) == 0
    assert "accepts: 6 variables and 2 clauses need 5 instances" in capsys.readouterr().out
    assert main(["inspect", str(DATA / "sat/quinn.cnf"), "--cost", "--chain", "sat-aattc-lowdim"]) == 0
    assert "refuses: 16 variables and 18 clauses: ov-zmaxip at d = 18" in capsys.readouterr().out
    # a family step without a prediction is reported, not a crash
    assert main(["inspect", str(DATA / "sat/quinn.cnf"), "--cost", "--chain", "sat-aattc-pcp"]) == 0
    assert "sizes not predictable before building" in capsys.readouterr().out


def test_chain_without_symbolic_names_the_family_route(capsys: pytest.CaptureFixture[str]) -> None:
    from reductions.app.cli import main

    assert main(["chain", "ov", "zmaxip"]) == 1
    assert "only through many instances: ov-zmaxip; add --symbolic" in capsys.readouterr().err
