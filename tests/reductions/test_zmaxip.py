"""Z-Max-IP, Chen-style ov-zmaxip (Chinese remainders, one instance per admissible value), zmaxip-aattc
and the chain sat-aattc-lowdim, against brute force and PySAT."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from instances import CNF
from instances.errors import InvalidInstanceError, OracleContradiction, OracleRefusal, SolverBudgetExceeded
from instances.maxip import InnerProductPair
from instances.vectors import OVInstance
from instances.zmaxip import ZMaxIPInstance, random_zmaxip
from reductions.catalog.chains import lowdim_attention_chain
from reductions.catalog.ov_zmaxip import OVToZMaxIP
from reductions.catalog.zmaxip_aattc import ZMaxIPToAttention
from reductions.family import answer_members
from reductions.registry import get_reduction
from reductions.symbolic import iterated_log, log_star
from reductions.testing import assert_parameters_match
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


GROUPS = [None, (2,), (3,), (2, 2), (4, 2)]  # None: the plan with the fewest members (the bottom level here)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 12), st.integers(1, 4), st.sampled_from(GROUPS), st.data())
def test_packing_keeps_orthogonality_in_the_admissible_set(
    d: int, blocks: int, groups: tuple[int, ...] | None, data: st.DataObject
) -> None:
    reduction = OVToZMaxIP(blocks=blocks, groups=groups)
    x = data.draw(st.lists(st.integers(0, 1), min_size=d, max_size=d))
    y = data.draw(st.lists(st.integers(0, 1), min_size=d, max_size=d))
    sizes = reduction._sizes(d, 1, 1)
    level = sizes.level
    assert all(sympy.isprime(q) for q in level.moduli) and math.prod(level.moduli) == sizes.modulus
    assert (
        all(q > sizes.blocks for q in level.moduli)
        if level.child is None
        else all(q >= level.child.bound for q in level.moduli)
    )
    (packed_x,), (packed_y,) = reduction.pack(np.array([x]), sizes), reduction.pack(np.array([y]), sizes)
    assert all(0 <= v <= sizes.largest for v in packed_x + packed_y)
    s = sum(u * w for u, w in zip(packed_x, packed_y, strict=True))
    assert 0 <= s < level.bound
    assert level.admissible(s) == (sum(u * w for u, w in zip(x, y, strict=True)) == 0)


@pytest.mark.parametrize(
    ("blocks", "bits", "groups"), [(1, 2, (2,)), (2, 2, (2,)), (1, 4, (2,)), (1, 3, (2,)), (2, 3, ())]
)
def test_admissible_values_are_exactly_the_enumerated_ones(blocks: int, bits: int, groups: tuple[int, ...]) -> None:
    # value(0 .. count - 1) lists each admissible value once, and nothing else below the bound is admissible
    level = OVToZMaxIP(blocks=blocks, groups=groups).plan(blocks * bits)
    values = [level.value(i) for i in range(level.count)]
    assert len(set(values)) == level.count and max(values) <= level.largest_value < level.bound
    assert set(values) == {s for s in range(level.bound) if level.admissible(s)}


@pytest.mark.parametrize("blocks", [1, 2, 8, 32])
def test_the_default_plan_never_has_more_members_than_chens_rule(blocks: int) -> None:
    from reductions.catalog.ov_zmaxip import _always_recursive, _fewest_members, packing_level

    for bits in (*range(1, 40), 64, 100, 300):
        chosen, chen = _fewest_members(blocks, bits), _always_recursive(blocks, bits)
        assert chosen.count <= chen.count and chosen.count <= packing_level(blocks, bits, 1).count
        assert chen.groups[-1] == 1 and (bits < 4 or chen.child is not None)


def test_a_child_level_must_pack_for_the_same_number_of_blocks() -> None:
    # a level for l = 1 inside one for l = 3 would call sums of up to 3 products admissible wrongly
    from reductions.catalog.ov_zmaxip import packing_level

    with pytest.raises(ValueError, match="needs a child level for the same l"):
        packing_level(3, 4, 2, packing_level(1, 2, 1))
    with pytest.raises(ValueError, match="has no child level"):
        packing_level(1, 2, 1, packing_level(1, 2, 1))


def test_the_recursion_pays_only_past_a_few_thousand_bits_a_block() -> None:
    # exact sizes (no vectors built): the recursive level has the smaller modulus from b = 2^11 bits a block,
    # and the fewer members only from about b = 2^17 (checked in the slow test below)
    flat = OVToZMaxIP(blocks=32, groups=()).plan(32 * 2**11)
    recursive = OVToZMaxIP(blocks=32, groups=(11,)).plan(32 * 2**11)
    assert flat.groups == (1,) and recursive.groups == (11, 1)
    assert recursive.modulus < flat.modulus and recursive.count > flat.count
    assert OVToZMaxIP(blocks=32).plan(32 * 2**11) == flat  # the default keeps the fewer members


def test_sizes_take_little_memory() -> None:
    # 100 moduli above 901,770,870 (the bound of a 6-bit level): a sieve of that window alone (sieving
    # from 0 took 860 MB); and a default plan at d = 10^5
    import tracemalloc

    tracemalloc.start()
    try:
        level = OVToZMaxIP(blocks=1, groups=(6,)).plan(600)
        reason, sizes = OVToZMaxIP().predict_members(2, 2, 10**5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert level.child is not None and level.child.bound == 901_770_870 and len(level.moduli) == 100
    assert min(level.moduli) > level.child.bound and all(sympy.isprime(q) for q in level.moduli)
    assert reason is not None and "above max_members" in reason and sizes["ell"] == 128
    assert peak < 64 * 2**20


@pytest.mark.slow
def test_the_default_plan_recurses_where_that_has_fewer_members() -> None:
    plan = OVToZMaxIP(blocks=32).plan(32 * 2**17)  # about 30 s of exact big-int sizes
    flat = OVToZMaxIP(blocks=32, groups=()).plan(32 * 2**17)
    assert plan.groups == (17, 1) and plan.count < flat.count and plan.modulus < flat.modulus


@settings(max_examples=80, deadline=None)
@given(ov_instances(max_rows=4, max_dimension=7), st.sampled_from([None, 1, 2, 3]), st.sampled_from([None, (2,), (4,)]))
def test_family_agrees_with_brute_force_ov(ov: OVInstance, blocks: int | None, groups: tuple[int, ...] | None) -> None:
    reduction = OVToZMaxIP(blocks=blocks, groups=groups)
    assume(reduction.sizes(ov).members <= 300)  # blocks = 1 at d = 6 packs 6 primes: 30,029 members
    family = reduction.forward(ov)
    assert family.count == reduction.sizes(ov).members
    answers = [brute_force_zmaxip(member) for member in family.targets]
    pair = family.backward(answers)
    reference = brute_force_ov(ov)
    assert (pair is None) == (reference is None)
    if pair is not None:
        assert ov.is_orthogonal_pair(pair)


@settings(max_examples=40, deadline=None)
@given(
    ov_instances(min_rows_a=1, max_rows=3, max_dimension=6),
    st.sampled_from([None, 1, 2]),
    st.sampled_from([None, (2,), (2, 2)]),
)
def test_member_t_has_exactly_the_pairs_whose_packed_product_is_its_value(
    ov: OVInstance, blocks: int | None, groups: tuple[int, ...] | None
) -> None:
    # recursive plans have up to millions of members: a few are built, and the pairs of each are compared
    # with the admissible value it stands for
    reduction = OVToZMaxIP(blocks=blocks, groups=groups, max_members=10**12)
    sizes = reduction.sizes(ov)
    xs, ys = reduction.pack(ov.a, sizes), reduction.pack(ov.b, sizes)
    for t in {0, 1 % sizes.members, sizes.members // 2, sizes.members - 1}:
        member = reduction.member(ov, t)
        products = member.products()
        value = sizes.level.value(t)
        for i, x in enumerate(xs):
            for j, y in enumerate(ys):
                s = sum(u * w for u, w in zip(x, y, strict=True))
                assert int(products[i, j]) == -((s - value) ** 2)
                assert (int(products[i, j]) >= 0) <= (ov.a[i] @ ov.b[j] == 0)


def test_wrong_member_answers_are_caught() -> None:
    ov = OVInstance([[1, 1]], [[1, 0]])
    family = OVToZMaxIP().forward(ov)
    answers: list[InnerProductPair | None] = [None] * family.count
    answers[0] = InnerProductPair(0, 0)
    with pytest.raises(OracleContradiction, match="not orthogonal"):
        family.backward(answers)


def test_sizes_are_refused_with_the_numbers_before_building() -> None:
    ov = OVInstance(np.ones((2, 40), dtype=np.uint8), np.zeros((2, 40), dtype=np.uint8))
    with pytest.raises(
        SolverBudgetExceeded, match="Q = 1,517 .2 primes.: 48,481 members of dimension 561.*max_members = 4,096"
    ):
        OVToZMaxIP().forward(ov)
    with pytest.raises(
        SolverBudgetExceeded, match="Q = 95,041,567 .5 primes, recursive groups of 2 bits.: 297,004,893,750 members"
    ):
        OVToZMaxIP(blocks=1, groups=(2,)).forward(OVInstance(np.ones((1, 10), dtype=np.uint8), np.ones((1, 10))))
    for bad in ((1,), (0, 2), [2.0], 2, (True,)):
        with pytest.raises(ValueError, match="'groups' must be a tuple of ints >= 2"):
            OVToZMaxIP(groups=bad)
    with pytest.raises(SolverBudgetExceeded, match="D W\\^2 = .* is above"):
        OVToZMaxIP(max_product=2**53).forward(
            OVInstance(np.ones((1, 9), dtype=np.uint8), np.ones((1, 9), dtype=np.uint8))
        )
    for bad in (0, True, 2.0, np.bool_(True), np.int64(0)):
        with pytest.raises(ValueError, match="'blocks' must be a positive int"):
            OVToZMaxIP(blocks=bad)
    for integral in (np.int64(2), np.uint8(2), 2):  # numpy integers are integers
        reduction = OVToZMaxIP(blocks=integral)
        assert reduction.blocks == 2 and type(reduction.blocks) is int and reduction == OVToZMaxIP(blocks=2)


def test_reductions_pass_their_contracts() -> None:
    for reduction in (
        OVToZMaxIP(),
        OVToZMaxIP(blocks=2),
        OVToZMaxIP(blocks=4, groups=(2,)),  # one recursive channel at d <= 8: 27 to 85 members
        ZMaxIPToAttention(),
        get_reduction("sat-aattc-lowdim"),
    ):
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
@example(2)
@example(4)
@example(16)
@example(65536)
def test_iterated_log_matches_repeated_log2(x: int) -> None:
    # log2 is exact on the powers of two, the tower values 2, 4, 16, 65536 included
    assert iterated_log(x) == _float_log_star(x)
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
    # l = min(d, 2^(2 log* d - 3)): 2 at d = 4, 8 for d = 5 .. 16 (capped at d = 6), then 32 capped at d
    assert seen == {6, 28, 45, 190, 231, 276, 325}


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
    with pytest.raises(SolverBudgetExceeded, match="R = about 10\\^15$"):
        ZMaxIPToAttention().forward(ZMaxIPInstance([[2**26, 1]], [[2**26, 1]], 0, bound=2**26))
    ZMaxIPToAttention().forward(ZMaxIPInstance([[2**26 - 1, 1]], [[2**26 - 1, 1]], 0))  # R just below 2^52
    with pytest.raises(SolverBudgetExceeded, match="W = about 10\\^301$"):
        ZMaxIPToAttention().forward(ZMaxIPInstance([[2**1000]], [[1]], 0))


def _exact_logits(reduced: Any) -> list[list[Fraction]]:
    """The target's logits ``<q_i, k_j>/D`` in exact rational arithmetic on its stored float64 entries."""
    query, key = reduced.target.query, reduced.target.key
    columns = query.shape[1]
    return [
        [
            sum((Fraction(float(x)) * Fraction(float(y)) for x, y in zip(q, k, strict=True)), Fraction(0)) / columns
            for k in key
        ]
        for q in query
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2**25, 2**26 - 1),
    st.integers(-3, 3),
    st.integers(1, 3),
    st.sampled_from([0, 1, 2**60, -(2**60), 10**400, -(10**400)]),
)
def test_zmaxip_aattc_logits_are_exact_at_the_float64_boundary(w: int, shift: int, d: int, far: int) -> None:
    # R = d W^2 just below 2^52, tau at the largest product (+-3), or far outside every product: the stored
    # entries give logits of the right sign with half gap >= beta/2, checked in exact arithmetic
    w = min(w, math.isqrt((2**52 - 1) // d))
    a = [[w] * d, [w - 1] + [-w] * (d - 1)]
    b = [[w] * d, [-w] * d]
    best = d * w * w
    threshold = far if far not in (0, 1) else best + shift + far
    instance = ZMaxIPInstance(a, b, threshold, bound=w)
    reduced = ZMaxIPToAttention().forward(instance)
    half_gap = Fraction(reduced.info["beta"]) / 2
    products = _python_products(instance)
    for i, row in enumerate(_exact_logits(reduced)):
        assert row[-1] == 0  # the dummy key
        for j, logit in enumerate(row[:-1]):
            assert (logit >= half_gap) if products[i][j] >= threshold else (logit <= -half_gap)
    try:
        pair = reduced.backward(ExactAttention()(reduced.target, log_space=True))
    except OracleRefusal:  # the float64 oracle's own rounding is too coarse here; it says so
        return
    assert (pair is None) == (brute_force_zmaxip(instance) is None)


def test_zmaxip_aattc_takes_entries_whose_d_w_squared_passes_2_to_the_53() -> None:
    # W = 2^40 in two columns (d W^2 = 2^81) but R = 2^41: exact entries, exact products in backward
    for threshold in (2**40, 2**40 + 1, 2**41):
        instance = ZMaxIPInstance([[2**40, 0], [0, 1]], [[1, 2**40], [1, 1]], threshold)
        reduced = ZMaxIPToAttention().forward(instance)
        try:
            pair = reduced.backward(ExactAttention()(reduced.target, log_space=True))
        except OracleRefusal:
            continue
        assert pair == brute_force_zmaxip(instance)


def test_zmaxip_aattc_decides_far_thresholds() -> None:
    # thresholds beyond every product are clamped before encoding: no overflow, no refusal
    for threshold, expected in (
        (10**400, None),
        (2**60, None),
        (-(2**60), InnerProductPair(0, 0)),
        (-(10**400), InnerProductPair(0, 0)),
    ):
        instance = ZMaxIPInstance([[3, -1]], [[5, 2]], threshold)
        reduced = ZMaxIPToAttention().forward(instance)
        assert reduced.backward(ExactAttention()(reduced.target, log_space=True)) == expected
        assert brute_force_zmaxip(instance) == expected


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
        ("sat/quinn.cnf", 10),  # 18 clauses: l = d = 18, one member of dimension 190, no packing
    ],
)
def test_cli_solves_shared_files(name: str, status: int, capsys: pytest.CaptureFixture[str]) -> None:
    from reductions.app.cli import main

    assert main(["solve", str(DATA / name), "--chain", "sat-aattc-lowdim"]) == status
    out = capsys.readouterr().out
    assert ("s SATISFIABLE" if status == 10 else "s UNSATISFIABLE") in out


def test_cli_refuses_larger_files_with_the_predicted_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    from reductions.app.cli import main

    main(["solve", str(DATA / "sat/uf20-01.cnf"), "--chain", "sat-aattc-lowdim"])
    captured = capsys.readouterr()
    assert "s UNKNOWN" in captured.out
    reason = [line for line in captured.err.splitlines() if "ov-zmaxip" in line]
    assert len(reason) == 1 and "Q = 65,231 (3 primes): 2,087,329 members of dimension 561" in reason[0]


def test_solve_refuses_a_family_before_building_the_vectors() -> None:
    # 50 variables: 2^25 OV vectors of 80 bits (2.7 GB) would be built before the family step refused
    import tracemalloc

    from reductions.pipeline import solve_via_attention

    tracemalloc.start()
    try:
        with pytest.raises(SolverBudgetExceeded, match="Q = 65,231 .3 primes.: 2,087,329 members"):
            solve_via_attention(CNF(50, [[1, 2, 3]] * 80), chain=get_reduction("sat-aattc-lowdim"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20


def test_inspect_cost_and_solve_refuse_a_family_chain_alike(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # both ask pipeline.predict_family: the OV vectors against --max-memory first, then the family step
    # (inspect used to ask only the family step and accepted what solve refused)
    from reductions.app.cli import main
    from reductions.pipeline import solve_via_attention

    formula = CNF(30, [[1, 2, 3]] * 3)
    dimacs = tmp_path / "f.cnf"
    dimacs.write_text(formula.to_dimacs())
    for name in ("sat-aattc-lowdim", "sat-aattc-pcp"):
        with pytest.raises(SolverBudgetExceeded) as refused:
            solve_via_attention(formula, chain=get_reduction(name), max_bytes=2**16)
        assert main(["inspect", str(dimacs), "--cost", "--chain", name, "--max-memory", "65536"]) == 0
        assert f"refuses: {refused.value}" in capsys.readouterr().out


def test_inspect_cost_predicts_the_family_before_building(capsys: pytest.CaptureFixture[str]) -> None:
    from reductions.app.cli import main

    assert main(["inspect", str(DATA / "parser_quirks/multiline.cnf"), "--cost", "--chain", "sat-aattc-lowdim"]) == 0
    assert "accepts: 6 variables and 2 clauses need 5 instances" in capsys.readouterr().out
    assert main(["inspect", str(DATA / "sat/quinn.cnf"), "--cost", "--chain", "sat-aattc-lowdim"]) == 0
    assert "accepts: 16 variables and 18 clauses need 1 instances" in capsys.readouterr().out
    assert main(["inspect", str(DATA / "sat/uf20-01.cnf"), "--cost", "--chain", "sat-aattc-lowdim"]) == 0
    assert "refuses: 20 variables and 91 clauses: ov-zmaxip at d = 91" in capsys.readouterr().out
    # the constant-gap family chain predicts its members too
    assert main(["inspect", str(DATA / "sat/quinn.cnf"), "--cost", "--chain", "sat-aattc-pcp"]) == 0
    assert "refuses: 16 variables and 18 clauses: ov-gapann-pcp at d = 18 makes p^(2T-2) = 59^34" in (
        capsys.readouterr().out
    )
    assert main(["inspect", str(DATA / "parser_quirks/multiline.cnf"), "--cost", "--chain", "sat-aattc-pcp"]) == 0
    out = capsys.readouterr().out
    members = get_reduction("sat-aattc-pcp").forward(
        CNF.from_dimacs((DATA / "parser_quirks/multiline.cnf").read_text())
    )
    assert f"accepts: 6 variables and 2 clauses need {members.count} instances" in out


def test_chain_without_symbolic_names_the_family_route(capsys: pytest.CaptureFixture[str]) -> None:
    from reductions.app.cli import main

    assert main(["chain", "ov", "zmaxip"]) == 1
    assert "only through many instances: ov-zmaxip; add --symbolic" in capsys.readouterr().err


def test_family_chains_state_their_seth_consequence(capsys: pytest.CaptureFixture[str]) -> None:
    from reductions.app.cli import main

    assert main(["chain", "sat", "aattc", "--symbolic"]) == 0
    out = capsys.readouterr().out
    blocks = out.split("\n\n")
    path = next(block for block in blocks if block.startswith("sat -> aattc: "))
    assert "against SETH for every q > 0" in path  # the single-instance path: one call of size n
    block = next(block for block in blocks if "through many instances: sat-aattc-pcp " in block)
    assert "against SETH" not in block and "no SETH consequence by itself" in block
    assert f"times {get_reduction('sat-aattc-pcp').family_size()} members" in block
    # Chen's recursion keeps the low-dimension family at 2^o(m) members: the consequence holds in the limit
    block = next(block for block in blocks if "through many instances: sat-aattc-lowdim " in block)
    assert "a SETH consequence in the limit" in block and "the members are 2^o(m)" in block
    assert f"times {get_reduction('sat-aattc-lowdim').family_size()} members" in block
    # but not with a fixed l, nor with the bottom level alone: 2^Theta(m log m / l) members
    from reductions.catalog.sat_ov import SatToOV
    from reductions.family import FamilyChain
    from reductions.symbolic import family_implication

    for fixed in (OVToZMaxIP(blocks=2, max_product=2**53), OVToZMaxIP(groups=(), max_product=2**53)):
        chain = FamilyChain.of(SatToOV(), fixed, ZMaxIPToAttention())
        assert family_implication(chain).startswith("no SETH consequence by itself")


def test_refusals_of_huge_sizes_are_written_compactly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # d = 4260 in l = 8 blocks: Q has 1650 digits and W 6600, past what Python writes in decimal; D W^2 is no float
    reason, sizes = OVToZMaxIP(blocks=8, max_product=2**53).predict_members(2**10, 2**10, 4260)
    assert reason is not None and "W = about 10^6599" in reason and "about 10^1650 members" in reason
    assert sizes["W"] == "about 10^6599"
    reason, _ = OVToZMaxIP(blocks=8, max_members=10**2000, max_entries=10**9000, max_product=2**53).predict_members(
        2, 2, 4260
    )
    assert reason is not None and reason.endswith(
        "D W^2 = about 10^13201 is above about 10^15 (float64-exact inner products)"
    )
    from reductions.app.cli import main

    rng = np.random.default_rng(1)
    clauses = [
        " ".join(
            str(int(v) * int(s))
            for v, s in zip(rng.choice(np.arange(1, 1001), 3, replace=False), rng.choice([-1, 1], 3), strict=True)
        )
        + " 0"
        for _ in range(4260)
    ]
    path = tmp_path / "big.cnf"
    path.write_text("p cnf 1000 4260\n" + "\n".join(clauses) + "\n")
    for extra in ([], ["--json"]):
        assert main(["inspect", str(path), "--cost", "--chain", "sat-aattc-lowdim", *extra]) == 0
        # the 2^500 OV vectors are refused first, as solve does, and the count stays compact
        out = capsys.readouterr().out
        assert "need about 2^513 bytes of OV vectors before sat-aattc-lowdim's family step" in out and len(out) < 2000


@settings(max_examples=20, deadline=None)
@given(ov_instances(max_rows=3, max_dimension=5))
def test_members_share_one_alice_matrix_as_max_entries_counts(ov: OVInstance) -> None:
    family = OVToZMaxIP().forward(ov)
    first = family.targets[0]
    assert all(np.shares_memory(member.a, first.a) for member in family.targets[1:]) or first.a.size == 0
    assert not first.a.flags.writeable
    sizes = OVToZMaxIP().sizes(ov)
    assert sizes.entries == first.a.size + sum(member.b.size for member in family.targets)


def test_a_writeable_matrix_is_still_copied() -> None:
    a = np.array([[1, 2]], dtype=object)
    instance = ZMaxIPInstance(a, [[3, 4]], 0)
    a[0, 0] = 99
    assert instance.a[0, 0] == 1 and not np.shares_memory(instance.a, a)
    frozen = np.array([[1, True]], dtype=object)
    frozen.flags.writeable = False
    assert type(ZMaxIPInstance(frozen, [[3, 4]], 0).a[0, 1]) is int  # a bool entry is not kept as it is


def test_random_entries_are_uniform() -> None:
    # bits = 1: the five integers -2..2, each 1/5; 4000 draws put each count within 5 standard deviations
    # of 800 (the former modulo-and-sign draw gave 0 about a third of the time)
    instance = random_zmaxip(1, 1, 2000, 0, bits=1, seed=3)
    values = [int(x) for x in (*instance.a.flat, *instance.b.flat)]
    counts = {v: values.count(v) for v in range(-2, 3)}
    assert sum(counts.values()) == 4000
    assert all(abs(count - 800) < 5 * math.sqrt(4000 * 0.2 * 0.8) for count in counts.values()), counts
    wide = random_zmaxip(3, 3, 3, 0, bits=200, seed=1)
    assert max(abs(int(x)) for x in (*wide.a.flat, *wide.b.flat)) <= 2**200


@pytest.mark.parametrize(
    "instance",
    [
        ZMaxIPInstance([[]], [[], []], -1),  # d = 0: the threshold clamps to 0
        ZMaxIPInstance([[3, -1]], [[5, 2]], 10**400),
        ZMaxIPInstance([[3, -1]], [[5, 2]], -(10**400)),
        ZMaxIPInstance([[3, -1]], [[5, 2]], 7),
    ],
)
def test_zmaxip_aattc_declared_bound_follows_the_clamped_threshold(instance: ZMaxIPInstance) -> None:
    reduction = ZMaxIPToAttention()
    reduced = reduction.forward(instance)
    assert_parameters_match(reduction, instance, reduced)
    largest = max(float(np.max(np.abs(reduced.target.query))), float(np.max(np.abs(reduced.target.key))))
    assert largest <= reduced.target.bound
