"""Exact attention merging identical query rows and identical key rows: against mpmath and unmerged."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from instances.attention import AttentionInstance, random_attention
from solvers.attention import ExactAttention, mpmath_attention
from solvers.attention import exact as exact_module
from solvers.attention.exact import _distinct_rows, warm_up
from tests.conftest import traced_peak
from tests.solvers.test_attention_exact import BOUNDS, TILES, assert_log_within_guarantee, assert_within_guarantee
from tests.strategies import attention_instances


@st.composite
def duplicated_instances(draw: st.DrawFn, nonnegative: bool | None = None) -> AttentionInstance:
    """A small instance whose query rows and [K, V] rows are drawn, with repeats, from a few
    distinct ones; sometimes keys repeat with different values (those must not merge)."""
    base = draw(attention_instances(tuple(BOUNDS), nonnegative, max_rows=4, max_dimension=5))
    n = draw(st.integers(0, 9))
    m = draw(st.integers(1, 12))
    pick_q = draw(st.lists(st.integers(0, max(base.n - 1, 0)), min_size=n, max_size=n))
    pick_k = draw(st.lists(st.integers(0, base.m - 1), min_size=m, max_size=m))
    query = base.query[pick_q] if base.n else np.zeros((n, base.d))
    key, value = base.key[pick_k], base.value[pick_k]
    if m > 1 and draw(st.booleans()):  # a repeated key with another value row
        key[-1] = key[0]
    if draw(st.booleans()):  # -0.0 and 0.0 are the same entry
        query = np.where(query == 0, -0.0, query)
    bound = max(base.bound, float(np.abs(query).max(initial=0.0)))
    return AttentionInstance(query, key, value, bound)


def merging() -> st.SearchStrategy[ExactAttention]:
    return st.builds(
        lambda dtype, tile, workers, kernel: ExactAttention(
            dtype=dtype, query_block=tile[0], key_block=tile[1], workers=workers, kernel=kernel, duplicates="merge"
        ),
        st.sampled_from(["float64", "float32"]),
        st.sampled_from(TILES),
        st.sampled_from([1, 2]),
        st.sampled_from(["auto", "numpy"]),
    )


@given(duplicated_instances(), merging())
def test_merged_matches_reference_within_guarantee(inst: AttentionInstance, oracle: ExactAttention) -> None:
    out = oracle(inst)
    assert (out.abs_error, out.rel_error) == (oracle.guarantee(inst).abs_error, oracle.guarantee(inst).rel_error)
    assert_within_guarantee(out, mpmath_attention(inst), inst)


@given(duplicated_instances(nonnegative=True), merging())
def test_merged_log_space_matches_reference(inst: AttentionInstance, oracle: ExactAttention) -> None:
    assert_log_within_guarantee(oracle(inst, log_space=True), mpmath_attention(inst))


@given(duplicated_instances(), merging())
def test_merged_matches_unmerged_within_both_bounds(inst: AttentionInstance, oracle: ExactAttention) -> None:
    import attrs

    merged, kept = oracle(inst), attrs.evolve(oracle, duplicates="keep")(inst)
    assert merged.values is not None and kept.values is not None
    assert np.all(np.abs(merged.values - kept.values) <= merged.abs_error + kept.abs_error)


def test_duplicate_query_rows_get_identical_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    # identical rows would get identical outputs unmerged too: the spy checks that 3 distinct rows were computed
    computed: list[int] = []
    original = exact_module._distinct_rows

    def spy(parts: list[np.ndarray], share: float) -> object:
        groups = original(parts, share)
        computed.append(parts[0].shape[0] if groups is None else groups[0].shape[0])
        return groups

    monkeypatch.setattr(exact_module, "_distinct_rows", spy)
    inst = random_attention(3, 4, 2.0, num_keys=300, nonnegative_values=True, seed=5)
    query = inst.query[[0, 1, 0, 2, 1, 0]]
    repeated = AttentionInstance(query, inst.key, inst.value, inst.bound)
    out = ExactAttention(duplicates="merge")(repeated, log_space=True)
    assert computed[0] == 3  # six query rows, three distinct
    assert out.log_values is not None
    np.testing.assert_array_equal(out.log_values[[0, 2, 5]], np.repeat(out.log_values[[0]], 3, axis=0))
    np.testing.assert_array_equal(out.log_values[[1, 4]], np.repeat(out.log_values[[1]], 2, axis=0))
    assert_log_within_guarantee(out, mpmath_attention(repeated))


@given(
    st.integers(1, 40),
    st.integers(1, 6),
    st.integers(1, 3),
    st.integers(0, 2**32 - 1),
)
def test_distinct_rows_against_numpy_unique(n: int, d: int, levels: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = rng.integers(-levels, levels + 1, size=(n, d)).astype(float)
    rows[rng.random((n, d)) < 0.2] = -0.0
    extra = rng.integers(0, 2, size=(n, 1)).astype(float)
    groups = _distinct_rows([rows, extra], 1.0)
    assert groups is not None
    first, inverse, counts = groups
    joined = np.hstack([rows, extra]) + 0.0
    expected = np.unique(joined, axis=0)
    assert first.shape[0] == expected.shape[0] == counts.shape[0]
    np.testing.assert_array_equal(joined[first[inverse]], joined)
    np.testing.assert_array_equal(np.bincount(inverse, minlength=first.shape[0]), counts)
    assert _distinct_rows([rows, extra], (expected.shape[0] - 0.5) / n) is None  # too many distinct


def test_hash_collision_means_no_merging(monkeypatch: pytest.MonkeyPatch) -> None:
    """Different rows with one hash are found by the entry-by-entry check: nothing is merged."""
    monkeypatch.setattr(exact_module, "_row_hashes", lambda parts: np.zeros(parts[0].shape[0], dtype=np.uint64))
    rows = np.array([[1.0, 2.0], [1.0, 2.0], [3.0, 4.0]])
    assert _distinct_rows([rows], 1.0) is None
    inst = AttentionInstance(rows, rows, np.array([[1.0], [1.0], [0.5]]), 4.0)
    out = ExactAttention(duplicates="merge")(inst)
    assert_within_guarantee(out, mpmath_attention(inst), inst)


def test_auto_merges_only_when_it_pays(monkeypatch: pytest.MonkeyPatch) -> None:
    """ "auto" looks at keys when there are >= 256 query rows and merges at most 7/8 distinct; "keep" never."""
    calls: list[int] = []
    original = exact_module._distinct_rows

    def spy(parts: list[np.ndarray], share: float) -> object:
        groups = original(parts, share)
        calls.append(-1 if groups is None else groups[0].shape[0])
        return groups

    monkeypatch.setattr(exact_module, "_distinct_rows", spy)
    base = random_attention(300, 3, 1.0, num_keys=8, nonnegative_values=True, seed=1)
    key = base.key[np.arange(300) % 8]
    inst = AttentionInstance(base.query, key, base.value[np.arange(300) % 8], base.bound)
    out = ExactAttention()(inst, log_space=True)
    assert calls == [-1, 8]  # 300 distinct queries (kept), 8 distinct keys out of 300 (merged)
    kept = ExactAttention(duplicates="keep")(inst, log_space=True)
    assert out.log_values is not None and kept.log_values is not None
    assert np.all(np.abs(out.log_values - kept.log_values) <= 2 * out.rel_error)
    calls.clear()
    ExactAttention()(random_attention(16, 3, 1.0, num_keys=300, seed=2))
    ExactAttention(duplicates="keep")(inst)
    assert calls == [-1]  # 300 keys: the 16 queries are looked at (none repeat); 16 queries: keys are not


@pytest.mark.parametrize("log_space", [False, True])
def test_predicted_peak_bytes_cover_the_traced_peak_with_duplicates(log_space: bool) -> None:
    """Both sides merged (the hashes, np.unique's arrays and the expanded output counted)."""
    base = random_attention(512, 64, 1.0, num_keys=512, nonnegative_values=True, seed=3)
    picks = np.arange(2048) % 512
    inst = AttentionInstance(base.query[picks], base.key[picks], base.value[picks], base.bound)
    assert inst.score_bound > 0 and inst.key_column_max.size == 64 and inst.nonnegative_values
    oracle = ExactAttention()
    predicted = oracle.cost(inst, log_space=log_space).peak_bytes
    warm_up()
    peak = traced_peak(lambda: oracle(inst, log_space=log_space))
    assert predicted >= peak


def test_duplicates_option_is_checked() -> None:
    with pytest.raises(ValueError, match="duplicates"):
        ExactAttention(duplicates="sometimes")  # type: ignore[arg-type]
