"""Exact attention: tiled, online (running-max) log-sum-exp softmax in float64 or float32.

:class:`ExactAttention` computes ``T = D^-1 A V`` with ``A = exp(Q K^T / d)`` to
working precision at any temperature: scores of magnitude ``10^4`` and more are
fine, because every score is shifted by a running row maximum before it is
exponentiated. For ``V >= 0`` it can return ``log T``, exact for entries far below
float64's range (``e^-1650``), which is how the hardness chain reads its answer.

Examples
--------
>>> import numpy as np
>>> from instances.attention import AttentionInstance
>>> from solvers.attention.exact import ExactAttention
>>> inst = AttentionInstance([[0.0, 0.0], [2.0, 0.0]], [[1.0, 0.0], [-1.0, 0.0]], [[1.0], [0.0]], 2.0)
>>> out = ExactAttention()(inst)
>>> np.round(out.values[:, 0], 6)  # row 2: e^1 / (e^1 + e^-1)
array([0.5     , 0.880797])
>>> out.oracle, out.rel_error < 1e-11
('exact', True)
"""

from __future__ import annotations

import math
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any, Literal

import attrs
import numpy as np

from instances._validation import as_generator, check_int
from instances.attention import AttentionInstance, AttentionOutput
from instances.errors import OracleRefusal
from solvers.attention.oracle import DEFAULT_MAX_BYTES, Cost, Guarantee, check_budget, one_blas_thread, query_rows

__all__ = ["ExactAttention", "ERROR_CONSTANTS", "FUSED_ENV", "fused_available", "warm_up"]

_U64 = 2.0**-53
_TINY64 = float(np.finfo(np.float64).tiny)

ERROR_CONSTANTS: dict[str, dict[str, float]] = {
    "float64": {"unit_roundoff": 2.0**-53, "exp_error": 4.0, "tiny": _TINY64, "theta": 64.0},
    "float32": {"unit_roundoff": 2.0**-24, "exp_error": 8.0, "tiny": float(np.finfo(np.float32).tiny), "theta": 32.0},
}
"""Per working precision: unit roundoff ``u``; error of the weights' exponential (``exp2``,
and ``exp`` where used) in units of ``u`` (numpy's SIMD ``exp`` is within 1 ulp = 2u in
float64 and 2.6 ulp in float32, its ``exp2`` measured within 0.6 and 0.9 ulp; the tests
check both claims on a sample; the fused kernel's own ``exp2``, :data:`solvers.attention._fused.EXP2_ERROR`,
is certified within 2.3u in both precisions, so one constant serves both kernels); smallest
normal; ``theta``, the largest exponent (in nats) a weight may reach before its row is rescaled."""

_LOG_ERROR = 4.0  # numpy float64 log: within 2 ulps = 4u
_LOG2E = 1.0 / math.log(2.0)  # scores are exponentiated in base 2: e^x = 2^(x log2 e)
_LN2 = math.log(2.0)
_LOG_RANGE = 1500.0  # bound, in nats, on |log| of the float64 intermediates of the log form

# Cost model (measured on the project's 2-core machine, float64, in nanoseconds per score
# entry on one core: score product + exp + value product), and the two-worker speedup.
_NS_PER_SCORE = {"float64": 1.0, "float32": 0.6}
_NS_PER_COLUMN = {"float64": 0.04, "float32": 0.025}
_TWO_WORKER_SPEEDUP = 1.7
_PROBE_KEYS = 32  # keys that set a row's first shift
_FUSED_MAX_WIDTH = 129  # columns of [Q/d, shift] (d <= 128) up to which the fused kernel runs
_GATHER_BYTES = 2**22  # slices copied at a time where a whole-matrix temporary would raise the peak


def _slice_rows(columns: int) -> int:
    """Rows of ``columns`` float64 entries that fit in one gathered slice."""
    return max(1, _GATHER_BYTES // (8 * max(columns, 1)))


def _abs_product(matrix: np.ndarray, vector: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """``|matrix[rows]| @ vector`` (all rows when ``rows`` is None) a slice of rows at a time (no
    temporary the size of ``matrix``); BLAS on one thread past 2^20 entries (a memory-bound product:
    a second thread gains little and, on a busy machine, waits for a core)."""
    count = matrix.shape[0] if rows is None else rows.shape[0]
    result = np.empty(count)
    step = _slice_rows(matrix.shape[1])
    with one_blas_thread() if count * matrix.shape[1] > 2**20 else nullcontext():
        for start in range(0, count, step):
            chunk = matrix[start : start + step] if rows is None else matrix[rows[start : start + step]]
            result[start : start + step] = np.abs(chunk) @ vector
    return result


_MERGE_MIN_OTHER = 256  # rows on the other side from which "auto" looks for duplicates (cost O(n d) vs O(n m d))
_MERGE_SHARE = 0.875  # "auto" merges when at most this share of the rows is distinct
_HASH_MULTIPLIERS = np.random.default_rng(0x5EED).integers(1, 2**63, size=4096, dtype=np.uint64) | np.uint64(1)


def _row_hashes(parts: Sequence[np.ndarray]) -> np.ndarray:
    """A uint64 hash of each row of the side-by-side float64 matrices ``parts`` (bit patterns,
    ``-0.0`` read as ``0.0``), a slice of rows at a time; equal rows get equal hashes."""
    n = parts[0].shape[0]
    hashes = np.zeros(n, dtype=np.uint64)
    offset = 0
    for part in parts:
        width = part.shape[1]
        step = _slice_rows(width)
        for c0 in range(0, width, _HASH_MULTIPLIERS.size):
            c1 = min(width, c0 + _HASH_MULTIPLIERS.size)
            weights = np.roll(_HASH_MULTIPLIERS, offset)[: c1 - c0]
            for start in range(0, n, step):
                chunk = part[start : start + step, c0:c1] + 0.0  # a private copy; -0.0 becomes 0.0
                bits = chunk.view(np.uint64)
                # splitmix64's mixing of each entry (a float's low bits are often all zero), then
                # a weighted sum modulo 2^64: the same for equal rows whatever the order
                bits ^= bits >> np.uint64(30)
                bits *= np.uint64(0xBF58476D1CE4E5B9)
                bits ^= bits >> np.uint64(27)
                bits *= weights
                hashes[start : start + step] += bits.sum(axis=1, dtype=np.uint64)
            offset += c1 - c0
    return hashes


def _distinct_rows(parts: Sequence[np.ndarray], share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(first, inverse, counts)`` of the distinct rows of ``parts`` side by side (``rows[first[inverse]]``
    equals ``rows``), or ``None`` when more than ``share`` of the rows are distinct. Rows are compared
    exactly (a hash, then every row against its group's first row; ``None`` on a hash collision)."""
    n = parts[0].shape[0]
    hashes = _row_hashes(parts)
    ordered = np.sort(hashes)
    if 1 + np.count_nonzero(ordered[1:] != ordered[:-1]) > share * n:
        return None  # too many distinct rows: a sort and a count (np.unique's index arrays cost 10x more)
    del ordered
    _, first, inverse, counts = np.unique(hashes, return_index=True, return_inverse=True, return_counts=True)
    del hashes
    for part in parts:
        step = _slice_rows(part.shape[1])
        for start in range(0, n, step):
            chunk = part[start : start + step]
            if not np.array_equal(chunk, part[first[inverse[start : start + step]]]):
                return None  # two different rows with one hash (probability ~n^2 2^-64): no merging
    return first.astype(np.int64), inverse.reshape(-1).astype(np.int64), counts.astype(np.int64)


def _gamma(k: float, u: float) -> float:
    """Higham's ``gamma_k = k u / (1 - k u)`` (inf when ``k u >= 1``)."""
    ku = k * u
    return ku / (1.0 - ku) if ku < 1.0 else math.inf


def _safe_expm1(x: float) -> float:
    return math.expm1(x) if x < 700.0 else math.inf


def _workers(value: Any) -> int | str:
    if value == "auto" and isinstance(value, str):
        return "auto"
    return check_int("workers", value, minimum=1)


def _optional_bytes(value: Any) -> int | None:
    return None if value is None else check_int("max_bytes", value, minimum=0)


def _optional_seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"'max_seconds' must be a number >= 0 or None (got {value!r})")
    return float(value)


FUSED_ENV = "REDUCTIONS_EXACT_KERNEL"
"""Environment variable: ``numpy`` makes every :class:`ExactAttention` use the numpy tile
kernel even where numba is installed (what the tests do to check the fallback)."""


_FUSED_LOAD_FAILED: list[bool] = []
"""Non-empty once loading the fused kernel has failed in this process (numpy runs instead)."""


def _fused_kernel() -> Any:
    """The fused kernel's module (numba, compiled on first use), or ``None`` without numba
    or when :data:`FUSED_ENV` is ``numpy``."""
    if os.environ.get(FUSED_ENV, "") == "numpy" or _FUSED_LOAD_FAILED:
        return None
    try:
        from solvers.attention import _fused
    except Exception:  # pragma: no cover - e.g. numba's cache locator refusing every directory
        _FUSED_LOAD_FAILED.append(True)  # once: not tried again at every call
        return None
    return _fused if _fused.FUSED_AVAILABLE else None


_FUSED_CHUNK = 512  # solvers.attention._fused.CHUNK, for the memory prediction without importing numba (tested equal)


def _rows_without(rows: np.ndarray, skip: int) -> np.ndarray:
    """A C-contiguous copy of ``rows`` without row ``skip``, in one allocation (``np.delete`` of a
    transposed array keeps its column-major layout, and making that contiguous copied it twice).

    >>> _rows_without(np.arange(6.0).reshape(2, 3).T, 1).tolist()
    [[0.0, 3.0], [2.0, 5.0]]
    """
    out = np.empty((rows.shape[0] - 1, rows.shape[1]), dtype=rows.dtype)
    out[:skip] = rows[:skip]
    out[skip:] = rows[skip + 1 :]
    return out


def _fused_expected() -> bool:
    """Whether a call runs the fused kernel, without importing numba (for the memory prediction): only
    once the kernel has loaded; before that the prediction counts the numpy kernel's larger tile.

    >>> _fused_expected() in (True, False)
    True
    """
    if os.environ.get(FUSED_ENV, "") == "numpy" or _FUSED_LOAD_FAILED:
        return False
    module = sys.modules.get("solvers.attention._fused")
    return bool(module is not None and module.FUSED_AVAILABLE)


def fused_available() -> bool:
    """Whether ``kernel="auto"`` runs the fused numba kernel here (numba installed, not
    switched off through :data:`FUSED_ENV`). Imports numba on the first call.

    >>> from solvers.attention.exact import fused_available
    >>> fused_available() in (True, False)
    True
    """
    return _fused_kernel() is not None


def warm_up() -> bool:
    """Load the fused kernel for both precisions now (numba compiles it on its first use, then
    reads it from its cache), so that a later call, timed or traced, does not pay for that.
    Returns :func:`fused_available`.

    >>> from solvers.attention.exact import warm_up
    >>> warm_up() in (True, False)
    True
    """
    if _fused_kernel() is None:
        return False
    tiny = AttentionInstance([[1.0]], [[1.0], [0.5]], [[1.0], [0.25]], 1.0)
    for dtype in ("float64", "float32"):
        ExactAttention(dtype=dtype, workers=1)(tiny, log_space=True)
    return True


@attrs.frozen
class ExactAttention:
    """Exact attention ``D^-1 exp(Q K^T / d) V`` by a tiled online log-sum-exp.

    Parameters
    ----------
    dtype : {"float64", "float32"}
        Working precision of the score and value products and of ``exp``
        (accumulation across key tiles and the final division are float64).
    query_block, key_block : int
        Tile of query rows times keys processed at once (default 256 x 2048,
        4 MiB in float64): memory beyond the inputs stays ``O(tile)`` per worker.
    workers : int or "auto"
        Threads over query tiles, BLAS held to one thread each (threadpoolctl;
        the limit is process-wide while the workers run). ``"auto"`` uses two
        when at least ``parallel_threshold`` score entries are asked for, two
        CPUs are there and threadpoolctl is installed.
    parallel_threshold : int
        Score entries (rows times keys) from which ``"auto"`` uses two workers.
    max_bytes : int or None
        Refuse when the predicted peak extra memory exceeds this (default a
        quarter of physical memory).
    max_seconds : float or None
        Refuse when the predicted time exceeds this (default: no limit).
    kernel : {"auto", "numpy"}
        ``"auto"`` runs the fused tile kernel (numba, the ``fast`` extra) where
        numba imports and :data:`FUSED_ENV` is not ``numpy``, else the numpy tile
        kernel; ``"numpy"`` always the numpy one. Both keep the same error bound.
    duplicates : {"auto", "merge", "keep"}
        Identical query rows, and identical key rows with identical value rows,
        are computed once (see Notes). ``"auto"`` looks for them when the other
        side has at least 256 rows (finding them costs ``O((n + m)(d + dv))``, the
        saving is ``O(n m d)`` per duplicate) and merges a side when at most 7/8 of
        its rows are distinct; ``"merge"`` merges any duplicates; ``"keep"`` never looks.

    Raises
    ------
    OracleRefusal
        On a call whose predicted time or memory exceeds the limits, or whose
        scores do not fit the working precision.
    ValueError
        ``log_space=True`` with a negative entry in ``V``.

    See Also
    --------
    solvers.attention.reference.mpmath_attention : arbitrary-precision reference.

    Notes
    -----
    **Algorithm.** ``Q/d``, a shift column and ``K^T`` with a row of ones make one
    product give ``s - m_i`` (score minus the row's running shift) for a tile, in
    base 2: the query side is scaled by ``log2 e`` and the shift kept in base-2 units,
    so the weights are ``exp2`` of the tile (numpy's ``exp2`` is 13% faster than
    ``exp`` in float64 and 40% in float32 here; shifts are returned in nats); a
    row's first shift is its largest score over a few probe keys (an actual score,
    so the normaliser ends at least 1). Each tile is exponentiated in place and
    multiplied by ``[V; 1]^T`` so that the numerator and the normaliser come from
    one product, accumulated in float64. A tile's row maxima are computed only
    while some row could exceed ``e^theta``
    (``R_i - m_i > theta`` with the data bound ``R_i``); a row whose tile maximum
    passes ``theta`` is rescaled (lazily, so rarely). The normaliser is then at
    least 1 and no weight exceeds ``e^theta``: no NaN, no inf, no zero division.
    ``V`` is first scaled by an exact power of two to ``||V||_inf < 1``.

    **Fused kernel.** With numba installed and ``d <= 128``, each block of query rows runs in one
    compiled call (:mod:`solvers.attention._fused`): for each chunk of keys and each
    row, the scores, their ``exp2`` (a degree-11 near-minimax polynomial, degree 7 in float32,
    certified within 2.3u) and the value sums, while the chunk is in cache, without
    the GIL, so the two workers run in parallel. The products, the shift and its
    rescales are the same operations as in the numpy kernel (sums in any order
    within the same bounds), so the bound below holds for both.

    **Duplicate rows.** Identical query rows have identical outputs: each distinct
    row is computed once and copied. Keys whose rows of ``K`` and of ``V`` are both
    identical share one weight ``w``: a group of ``c`` of them adds
    ``w [c v, c]`` (``c v`` rounded once in float64, ``c`` exact), one more rounding
    per term than adding them one by one. Rows are found by a hash of their bits and
    checked entry by entry, so merging is exact, never approximate.

    **Small entries** (``V >= 0``). An entry whose float64 numerator is so small
    that underflowed weights could matter (below ``m tiny (2 + e^theta) / u``)
    is recomputed with a per-column log-sum-exp over
    ``s_ik + log V_kj`` (keys with ``V_kj > 0``), so its logarithm is exact to
    working precision however small it is; ``-inf`` is reported only where the
    column of ``V`` is identically zero, i.e. where the true entry is exactly 0.
    In plain mode such entries are returned as ``exp(log T)``, 0 or subnormal
    below 2^-1022 (the relative guarantee then does not apply; the absolute one
    does): ask for ``log_space=True`` to read them.

    **Error bound.** With ``u`` the unit roundoff of ``dtype`` (2^-53 or 2^-24),
    ``u64 = 2^-53``, ``R`` the score bound (:attr:`AttentionInstance.score_bound`),
    ``L = max |log V_kj|`` over positive entries (0 for mixed-sign ``V``), ``t``
    key tiles of ``b`` keys, ``c_e`` the ``exp`` error in units of ``u`` and
    ``c_l = 4``:

    - every computed weight ``e^(s - m)`` is within a factor ``e^(+-eta)`` of the
      exact one, ``eta = u ((2d + 15)(R + L) + c_e) + u64 (t (4 + 2) + c_l L)``
      (the score product of ``d + 2`` terms of size ``<= 2(R + L)``, the shift
      subtraction and its telescoping rescales, casting to float32, scaling the
      query side by ``fl(log2 e)`` (two more roundings of each query term, at most
      ``2u R``, and one of the bias column, ``u L``), ``exp2``, and at most ``t``
      rescale factors; in base 2 an absolute error ``a`` in the exponent is a factor
      ``e^(a ln 2)``, so errors bounded in base-2 units by ``u`` times sizes
      ``log2 e (R + L)`` are the same bounds in nats);
    - each sum (numerator and normaliser) adds ``sigma = gamma_b(u) + gamma_(t+2)(u64)``
      (``b`` terms per tile, ``t`` tiles and the float64 product ``c v`` of merged keys);
    - weights lost to underflow change a numerator by at most
      ``omega = m tiny (2 + e^theta)`` (the normaliser is ``>= 1``);
    - the log form rounds logs and sums of size at most
      ``Lambda = 1500 + 2 theta + 2 log m + R + L`` nats, and converts two base-2
      shifts to nats (a product by ``fl(ln 2)``, at most ``2 u64 Lambda`` each):
      ``lambda = 12 u64 Lambda``.

    For ``V >= 0`` the relative error per entry is at most
    ``rho = expm1(2 eta + 2 sigma / (1 - sigma) + 2u + 2 u64 + lambda)``
    (entries recomputed in log form as well). For any ``V`` the absolute error is
    at most ``||V||_inf (2 e1 / (1 - e1) (1 + u64) + u64 + u) + 2^-1022`` with
    ``e1 = e^eta (1 + sigma) - 1 + omega`` (and at least ``rho ||V||_inf`` when
    ``V >= 0``). In float64 at ``R = 1`` this is about ``2e-12``; the bound is
    linear in ``R``, which is the conditioning of ``exp`` of a rounded score, not
    an artefact. See :meth:`guarantee`.

    **Cost.** ``O(n m (d + dv))`` time, dominated by one ``exp`` per score;
    memory ``O((n + m)(d + dv))`` for prepared copies plus one tile per worker.

    Examples
    --------
    >>> import numpy as np
    >>> from instances.attention import AttentionInstance, random_attention
    >>> from solvers.attention.exact import ExactAttention
    >>> oracle = ExactAttention(query_block=2, key_block=3)
    >>> inst = random_attention(5, 2, 1.0, num_keys=7, seed=0)
    >>> bool(np.allclose(oracle(inst).values, ExactAttention()(inst).values, rtol=0, atol=1e-14))
    True

    Scores of magnitude 4000 (temperature far below 1) and an output near
    ``e^-4000``, read in log space:

    >>> cold = AttentionInstance([[200.0]], [[20.0], [0.0]], [[1.0], [0.0]], 200.0)
    >>> float(ExactAttention()(cold, log_space=True).log_values[0, 0])  # log(e^4000 / (e^4000 + 1))
    0.0
    >>> cold = AttentionInstance([[200.0]], [[-20.0], [0.0]], [[1.0], [0.0]], 200.0)
    >>> round(float(ExactAttention()(cold, log_space=True).log_values[0, 0]), 9)  # to an ulp or two of 4000
    -4000.0

    Refusal when the predicted time exceeds the limit:

    >>> ExactAttention(max_seconds=1e-9)(inst)
    Traceback (most recent call last):
    ...
    instances.errors.OracleRefusal: oracle 'exact' refuses n = 5 rows, m = 7 keys: predicted ... s exceeds 'max_seconds' = 1e-09 s
    """

    dtype: Literal["float64", "float32"] = attrs.field(
        default="float64", validator=attrs.validators.in_(("float64", "float32"))
    )
    query_block: int = attrs.field(default=256, converter=lambda v: check_int("query_block", v, minimum=1))
    key_block: int = attrs.field(default=2048, converter=lambda v: check_int("key_block", v, minimum=1))
    workers: int | str = attrs.field(default="auto", converter=_workers)
    parallel_threshold: int = attrs.field(
        default=2**24, converter=lambda v: check_int("parallel_threshold", v, minimum=1)
    )
    max_bytes: int | None = attrs.field(default=DEFAULT_MAX_BYTES, converter=_optional_bytes)
    max_seconds: float | None = attrs.field(default=None, converter=_optional_seconds)
    kernel: Literal["auto", "numpy"] = attrs.field(default="auto", validator=attrs.validators.in_(("auto", "numpy")))
    duplicates: Literal["auto", "merge", "keep"] = attrs.field(
        default="auto", validator=attrs.validators.in_(("auto", "merge", "keep"))
    )

    # -- the protocol -------------------------------------------------------------------
    @property
    def name(self) -> str:
        """``"exact"`` in float64, ``"exact-float32"`` in float32."""
        return "exact" if self.dtype == "float64" else "exact-float32"

    def guarantee(self, instance: AttentionInstance) -> Guarantee:
        """The error promised on ``instance`` (see the class Notes for the derivation).

        Examples
        --------
        >>> from instances.attention import random_attention
        >>> from solvers.attention.exact import ExactAttention
        >>> g = ExactAttention().guarantee(random_attention(64, 4, 1.0, nonnegative_values=True, seed=0))
        >>> 0 < g.rel_error < 1e-11, 0 < g.abs_error < 1e-11
        (True, True)
        >>> ExactAttention().guarantee(random_attention(64, 4, 1.0, seed=0)).rel_error  # mixed-sign V
        inf
        """
        terms = self._error_terms(instance)
        rel = terms["rel_error"]
        description = (
            f"{self.dtype} tiled log-sum-exp over {terms['key_tiles']:.0f} key tile(s), "
            f"score bound R = {terms['R']:.3g}: "
            + (f"relative error {rel:.2e}, " if math.isfinite(rel) else "no relative bound (V has negative entries), ")
            + f"absolute error {terms['abs_error']:.2e}"
        )
        return Guarantee(abs_error=terms["abs_error"], rel_error=rel, description=description)

    def cost(
        self, instance: AttentionInstance, *, rows: Sequence[int] | np.ndarray | None = None, log_space: bool = False
    ) -> Cost:
        """Predicted wall-clock seconds and peak extra bytes (``rows`` as in ``__call__``).

        The time model is calibrated on a 2-core machine; ``log_space`` (and plain
        mode with ``V >= 0``) may recompute tiny entries column by column: the
        prediction counts that worst case only for ``log_space=True``.

        Examples
        --------
        >>> from instances.attention import random_attention
        >>> from solvers.attention.exact import ExactAttention
        >>> c = ExactAttention().cost(random_attention(2**10, 4, 1.0, seed=0))
        >>> 0 < c.seconds < 1, 0 < c.peak_bytes < 2**26
        (True, True)
        """
        r = instance.n if rows is None else len(rows)
        m, d, dv = instance.m, instance.d, instance.value_columns
        workers = self.worker_count(r, m)
        per_score = _NS_PER_SCORE[self.dtype] + _NS_PER_COLUMN[self.dtype] * (d + dv)
        passes = 1 + (dv if log_space else 0)
        speedup = _TWO_WORKER_SPEEDUP if workers > 1 else 1.0
        seconds = r * m * per_score * passes * 1e-9 / speedup + 1e-4 + 2e-6 * (m * (d + dv)) / 1e3
        return Cost(seconds=seconds, peak_bytes=self.peak_bytes(r, m, d, dv))

    def peak_bytes(self, rows: int, keys: int, dimension: int, value_columns: int) -> int:
        """Peak memory beyond the instance of a call on ``rows`` queries and ``keys`` keys, in bytes.

        Python ints throughout (no overflow at any size). The largest terms are the
        prepared copies ``[Q/d, shift]`` and ``[K, 1]`` (the log-form recomputation
        builds copies of at most that size after freeing them), for the fused kernel
        contiguous copies of ``K^T`` and ``[V; 1]^T``, then one tile, one
        block of query rows and a few gathered slices per worker, and the results; where
        duplicates are looked for, the groups found and the expanded output (the hashes
        and ``np.unique``'s arrays are freed before the prepared copies are made). Merging
        only shrinks the copies: the prediction counts them unmerged.
        ``tests/solvers/test_attention_exact.py`` checks it against tracemalloc.

        >>> from solvers.attention.exact import ExactAttention
        >>> ExactAttention(workers=1).peak_bytes(1024, 1024, 64, 1) > 2 * 1024 * 65 * 8
        True
        """
        r, m, d, dv = (int(x) for x in (rows, keys, dimension, value_columns))
        itemsize = np.dtype(self.dtype).itemsize
        workers = self.worker_count(r, m)
        qb, kb = min(self.query_block, max(r, 1)), min(self.key_block, m)
        prepared = itemsize * ((r + m) * (d + 2) + m * (dv + 1)) + 8 * m * dv
        if self.kernel != "numpy" and d + 1 <= _FUSED_MAX_WIDTH:  # the fused kernel's contiguous key side
            prepared += itemsize * m * (d + dv + 1)  # (counted whether or not numba is there: no import here)
        # the numpy kernel's score tile is qb x kb; the fused kernel's scratch is four rows of one chunk of keys
        # (counted only where the log-form recomputation, d + 2 columns, runs fused too)
        fused = self.kernel != "numpy" and d + 2 <= _FUSED_MAX_WIDTH and _fused_expected()
        scores = 4 * max(_FUSED_CHUNK, _PROBE_KEYS) if fused else qb * kb
        tiles = workers * (itemsize * (scores + qb * (dv + 1) + qb * (d + 2)) + 8 * qb * (dv + 1))
        slices = 2 * min(max(_GATHER_BYTES, 8 * (d + 2)), 8 * max(r, m) * (d + 2))
        results = 8 * r * (2 * dv + 5)
        # looking for duplicates: the groups kept and the expanded output stay; the hashes, np.unique's
        # arrays and two slices of rows come and go before the prepared copies are made
        looks = self.duplicates == "merge" or (self.duplicates == "auto" and max(r, m) >= _MERGE_MIN_OTHER)
        if looks and max(r, m) >= 2:
            width = d + dv + 1
            results += 8 * 3 * (r + m) + 8 * r * (dv + 1)
            finding = 8 * 5 * (r + m) + 2 * min(max(_GATHER_BYTES, 8 * width), 8 * max(r, m) * width)
            results += max(0, finding - (prepared + tiles + slices))
        objects = 2**16  # the output record, its guarantee and small index arrays
        return prepared + tiles + slices + results + objects

    def __call__(
        self,
        instance: AttentionInstance,
        *,
        log_space: bool = False,
        rows: Sequence[int] | np.ndarray | None = None,
    ) -> AttentionOutput:
        """Attention of ``instance`` (or of the query ``rows`` given, in that order).

        Parameters
        ----------
        instance : AttentionInstance
        log_space : bool
            Return ``log_values`` (natural log of each entry) instead of
            ``values``; needs ``V >= 0``.
        rows : sequence of int, optional
            Answer only these query rows (for sampling at large ``n``); the
            answer's ``rows`` records them.

        Returns
        -------
        AttentionOutput
            With this oracle's :meth:`guarantee` as ``abs_error`` / ``rel_error``.

        Raises
        ------
        OracleRefusal
            Predicted time or memory above the limits, or scores beyond the
            working precision's range.
        ValueError
            ``log_space=True`` with a negative value, or a row index out of range.

        Examples
        --------
        >>> from instances.attention import random_attention
        >>> from solvers.attention.exact import ExactAttention
        >>> inst = random_attention(6, 3, 1.0, nonnegative_values=True, seed=2)
        >>> out = ExactAttention()(inst, rows=[5, 0])
        >>> out.shape, out.rows.tolist()
        ((2, 3), [5, 0])
        >>> from instances.attention import AttentionInstance
        >>> ExactAttention()(AttentionInstance([[1.0]], [[1.0], [0.5]], [[1.0], [-0.25]], 1.0), log_space=True)
        Traceback (most recent call last):
        ...
        ValueError: 'log_space=True' needs V >= 0; 'V' entry (1, 0) is -0.25
        """
        if not isinstance(instance, AttentionInstance):
            raise TypeError(f"'instance' must be an AttentionInstance (got {type(instance).__name__})")
        if not isinstance(log_space, bool):
            raise TypeError(f"'log_space' must be a bool (got {log_space!r})")
        row_index = query_rows(instance, rows)
        nonnegative = instance.nonnegative_values
        if log_space and not nonnegative:
            position = tuple(int(x) for x in np.argwhere(instance.value < 0)[0])
            raise ValueError(
                f"'log_space=True' needs V >= 0; 'V' entry {position} is {float(instance.value[position])!r}"
            )
        r = instance.n if row_index is None else row_index.shape[0]
        self.check_range(instance, row_index)
        check_budget(
            self.name,
            self.cost(instance, rows=row_index, log_space=log_space),
            max_seconds=self.max_seconds,
            max_bytes=self.max_bytes,
            what=f"n = {r} rows, m = {instance.m} keys",
        )
        guarantee = self.guarantee(instance)
        log_values, values = self._compute(instance, row_index, want_log=log_space, nonnegative=nonnegative)
        return AttentionOutput(
            values=values,
            log_values=log_values,
            abs_error=guarantee.abs_error,
            rel_error=guarantee.rel_error,
            oracle=self.name,
            rows=row_index,
        )

    def sample_rows(self, instance: AttentionInstance, count: int, *, seed: Any = None) -> np.ndarray:
        """``count`` distinct query rows drawn at random, sorted (for timing or error estimates).

        >>> from instances.attention import random_attention
        >>> from solvers.attention.exact import ExactAttention
        >>> ExactAttention().sample_rows(random_attention(100, 2, 1.0, seed=0), 3, seed=1).shape
        (3,)
        """
        count = check_int("count", count, minimum=0, maximum=instance.n)
        return np.sort(as_generator(seed).choice(instance.n, size=count, replace=False)).astype(np.int64)

    # -- error bound ----------------------------------------------------------------------
    def _error_terms(self, instance: AttentionInstance) -> dict[str, float]:
        constants = ERROR_CONSTANTS[self.dtype]
        u, c_exp, tiny, theta = (constants[k] for k in ("unit_roundoff", "exp_error", "tiny", "theta"))
        m, d = instance.m, instance.d
        R = instance.score_bound
        nonnegative = instance.nonnegative_values
        L = instance.value_log_range if nonnegative else 0.0
        t = math.ceil(m / self.key_block)
        b = min(self.key_block, m)
        cast = u if self.dtype == "float32" else 0.0
        rescale = ERROR_CONSTANTS["float64"]["exp_error"] + 2  # exp and product of a rescale factor
        eta = u * ((2 * d + 15) * (R + L) + c_exp) + _U64 * (t * rescale + _LOG_ERROR * L)
        # Entries of Q/d (and of K cast to float32) that fall below the smallest normal number
        # round with an absolute error up to the smallest subnormal s, not a relative one: each
        # such feature moves a score by at most s |k_l| (s |q_l| / d on the key side), times
        # log2(e) < 2 for the base-2 scores.
        subnormal = float(np.finfo(self.dtype).smallest_subnormal)
        eta += 2 * (float(np.sum(instance.key_column_max * subnormal)) + subnormal * (instance.query_row_l1_max / d))
        sigma = _gamma(b, u) + _gamma(t + 2, _U64)  # t + 1 float64 roundings, and c v of merged keys
        omega = m * tiny * (2.0 + math.exp(theta))
        lam = 12 * _U64 * (_LOG_RANGE + 2 * theta + 2 * math.log(m) + R + L)
        if sigma < 1:
            rho = _safe_expm1(2 * eta + 2 * sigma / (1 - sigma) + 2 * u + 2 * _U64 + lam)
        else:
            rho = math.inf
        e1 = _safe_expm1(eta) * (1 + sigma) + sigma + omega if eta < 700 else math.inf
        abs_factor = 2 * e1 / (1 - e1) * (1 + _U64) + _U64 + cast if e1 < 1 else math.inf
        norm = instance.value_norm
        if nonnegative:
            abs_factor = max(abs_factor, rho)
        abs_error = abs_factor * norm + _TINY64 if norm > 0 else 0.0
        if math.isnan(abs_error):  # inf * 0 cannot happen (norm > 0), kept for safety
            abs_error = math.inf
        return {
            "R": R,
            "L": L,
            "key_tiles": float(t),
            "eta": eta,
            "sigma": sigma,
            "rel_error": rho if nonnegative else math.inf,
            "abs_error": abs_error,
        }

    # -- helpers --------------------------------------------------------------------------
    def kernel_for(self, dimension: int) -> str:
        """``"fused"`` or ``"numpy"``: the tile kernel a call with head dimension ``dimension`` runs.

        >>> from solvers.attention.exact import ExactAttention
        >>> ExactAttention(kernel="numpy").kernel_for(4), ExactAttention().kernel_for(1020)
        ('numpy', 'numpy')
        """
        wide = dimension + 1 > _FUSED_MAX_WIDTH  # the plain sweep: [Q/d, shift]
        return "numpy" if self.kernel == "numpy" or wide or _fused_kernel() is None else "fused"

    def worker_count(self, rows: int, m: int) -> int:
        """Threads a call on ``rows`` query rows and ``m`` keys uses.

        >>> from solvers.attention.exact import ExactAttention
        >>> ExactAttention(workers=1).worker_count(2**20, 2**20), ExactAttention().worker_count(16, 16)
        (1, 1)
        """
        if self.workers != "auto":
            return int(self.workers)
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        enough = rows * m >= self.parallel_threshold and rows > self.query_block
        return 2 if (enough and cpus >= 2) else 1

    def check_range(self, instance: AttentionInstance, row_index: np.ndarray | None = None) -> None:
        """Refuse (``OracleRefusal``) an instance whose scores, or whose entries in float32, do not
        fit the working precision: what a call would refuse before computing.

        >>> from instances.attention import AttentionInstance
        >>> from solvers.attention.exact import ExactAttention
        >>> big = AttentionInstance([[1e38, 1.0]], [[0.0, 1.0], [0.0, -1.0]], [[1.0], [0.0]], 1e38)
        >>> ExactAttention().check_range(big)  # float64 holds it
        >>> ExactAttention(dtype="float32").check_range(big)
        Traceback (most recent call last):
        ...
        instances.errors.OracleRefusal: oracle 'exact-float32' refuses: 'Q' entries up to 1e+38 do not fit float32
        """
        limit = float(np.finfo(self.dtype).max) / 64
        R = instance.score_bound
        if not R * (instance.d + 2) < limit:
            raise OracleRefusal(
                f"oracle {self.name!r} refuses: scores up to R = {R:.3g} would overflow {self.dtype} "
                f"(largest {float(np.finfo(self.dtype).max):.3g})"
            )
        if self.dtype == "float64":
            return  # finite float64 entries fit; only the scores could overflow
        query = instance.query if row_index is None else instance.query[row_index]
        for name, array in (("Q", query), ("K", instance.key_column_max[None, :])):
            big = float(np.max(np.abs(array))) if array.size else 0.0
            if not big < limit:
                raise OracleRefusal(
                    f"oracle {self.name!r} refuses: '{name}' entries up to {big:.3g} do not fit {self.dtype}"
                )

    # -- the computation ------------------------------------------------------------------
    def _compute(
        self, instance: AttentionInstance, row_index: np.ndarray | None, *, want_log: bool, nonnegative: bool
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        dtype = np.dtype(self.dtype)
        constants = ERROR_CONSTANTS[self.dtype]
        theta = constants["theta"]
        query = instance.query if row_index is None else instance.query[row_index]
        r, d = query.shape
        m, dv = instance.m, instance.value_columns
        if r == 0:
            empty = np.zeros((0, dv))
            return (empty, None) if want_log else (None, empty)

        # exact power-of-two scaling of V to ||V'|| < 1
        norm = instance.value_norm
        exponent = math.frexp(norm)[1] if norm > 0 else 0

        # identical query rows computed once; identical [K, V] rows merged into one key
        query_groups = self._merge_plan([query], m)
        key_groups = self._merge_plan([instance.key, instance.value], r)
        if key_groups is not None and dtype == np.float32 and int(key_groups[2].max()) > 2**24:
            key_groups = None  # counts above 2^24 are not exact in float32
        chosen_rows = None if query_groups is None else query_groups[0]
        chosen_keys = None if key_groups is None else key_groups[0]
        rq = r if chosen_rows is None else chosen_rows.shape[0]
        mk = m if chosen_keys is None else chosen_keys.shape[0]

        qa = np.empty((rq, d + 1), dtype=dtype)
        if chosen_rows is None:
            np.divide(query, d, out=qa[:, :d], casting="unsafe")
        else:
            step = _slice_rows(d)
            for start in range(0, rq, step):
                picked = chosen_rows[start : start + step]
                np.divide(query[picked], d, out=qa[start : start + picked.shape[0], :d], casting="unsafe")
        qa[:, d] = 0
        # key side, key-major: [K, 1] and [V', 1] (or [c V', c] per group of c merged keys);
        # the kernel reads their transposes
        keys = np.empty((mk, d + 1), dtype=dtype)
        keys[:, d] = 1
        values = np.empty((mk, dv + 1), dtype=dtype)
        if key_groups is None:
            keys[:, :d] = instance.key
            np.ldexp(instance.value, -exponent, out=values[:, :dv], casting="unsafe")
            values[:, dv] = 1
        else:
            first, _, counts = key_groups
            step = _slice_rows(d + dv)
            for start in range(0, mk, step):
                picked = first[start : start + step]
                stop = start + picked.shape[0]
                keys[start:stop, :d] = instance.key[picked]
                scaled = np.ldexp(instance.value[picked], -exponent) * counts[start:stop, None]  # one rounding
                values[start:stop, :dv] = scaled
            values[:, dv] = counts
        kt, vat = keys.T, values.T
        column_max = instance.key_column_max
        margin = 1 + 4 * (d + 3) * constants["unit_roundoff"]
        upper = _abs_product(query, column_max, chosen_rows) / d * margin + 1e-300

        workers = self.worker_count(rq, mk)
        acc, shift = self._sweep(qa, kt, vat, upper, theta, workers, d)
        del qa, keys, values, kt, vat  # the prepared copies: log columns below build their own
        numerator, normaliser = acc[:, :dv], acc[:, dv]

        def expand(rows: np.ndarray) -> np.ndarray:  # one output row per query row asked for
            return rows if query_groups is None else rows[query_groups[1]]

        if not nonnegative:
            values = np.ldexp(numerator / normaliser[:, None], exponent)
            return None, expand(values)

        threshold = m * constants["tiny"] * (2.0 + math.exp(theta)) / constants["unit_roundoff"]
        trusted = numerator >= threshold
        log_values = np.empty((rq, dv))
        with np.errstate(divide="ignore"):
            log_values[trusted] = (
                np.log(np.where(trusted, numerator, 1.0)) - np.log(normaliser)[:, None] + exponent * math.log(2)
            )[trusted]
        log_normaliser = shift + np.log(normaliser)
        for j in np.flatnonzero(~trusted.all(axis=0)):
            redo = np.flatnonzero(~trusted[:, j])
            source = redo if chosen_rows is None else chosen_rows[redo]
            log_column = self._log_column(instance, query, source, int(j), upper[redo], theta, workers)
            log_values[redo, j] = log_column - log_normaliser[redo]
        if want_log:
            return expand(log_values), None
        values = np.where(trusted, np.ldexp(numerator / normaliser[:, None], exponent), np.exp(log_values))
        return None, expand(values)

    def _merge_plan(self, parts: Sequence[np.ndarray], other: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The groups of identical rows of ``parts`` side by side to merge (``_distinct_rows``), or ``None``;
        ``other`` is the number of rows on the other side (what each merged row saves)."""
        n = parts[0].shape[0]
        if self.duplicates == "keep" or n < 2:
            return None
        if self.duplicates == "auto":
            return _distinct_rows(parts, _MERGE_SHARE) if other >= _MERGE_MIN_OTHER else None
        return _distinct_rows(parts, (n - 1) / n)

    def _log_column(
        self,
        instance: AttentionInstance,
        query: np.ndarray,
        redo: np.ndarray,
        j: int,
        upper: np.ndarray,
        theta: float,
        workers: int,
    ) -> np.ndarray:
        """``log sum_k exp(s_ik + log V_kj)`` for the rows ``redo`` of ``query`` (``-inf`` if column ``j`` is 0);
        ``upper`` bounds their scores, one entry per row of ``redo``."""
        dtype = np.dtype(self.dtype)
        keys = np.flatnonzero(instance.value[:, j] > 0)
        if keys.size == 0:
            return np.full(redo.shape[0], -np.inf)
        d = instance.d
        bias = np.log(instance.value[keys, j])
        qa = np.empty((redo.shape[0], d + 2), dtype=dtype)
        # gathered in slices: a fancy index of the whole selection would be one more copy
        step = _slice_rows(d)
        for start in range(0, redo.shape[0], step):
            rows = redo[start : start + step]
            np.divide(query[rows], d, out=qa[start : start + rows.shape[0], :d], casting="unsafe")
        qa[:, d] = 0
        qa[:, d + 1] = 1
        kt = np.empty((d + 2, keys.shape[0]), dtype=dtype)
        for start in range(0, keys.shape[0], step):
            chosen = keys[start : start + step]
            kt[:d, start : start + chosen.shape[0]] = instance.key[chosen].T
        kt[d] = 1
        kt[d + 1] = bias
        vat = np.ones((1, keys.shape[0]), dtype=dtype)
        upper_j = upper + float(bias.max()) * (1 + 4 * ERROR_CONSTANTS[self.dtype]["unit_roundoff"]) + 1e-300
        acc, shift = self._sweep(qa, kt, vat, upper_j, theta, workers, d)
        return shift + np.log(acc[:, 0])

    def _sweep(
        self,
        qa: np.ndarray,
        kt: np.ndarray,
        vat: np.ndarray,
        upper: np.ndarray,
        theta: float,
        workers: int,
        shift_column: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run the tile kernel over all query blocks; ``(acc, shift)`` in float64, shift in nats.

        ``qa`` and ``upper`` are in nats; the kernel works in base 2 (``qa`` scaled by
        ``log2 e``, shifts and ``theta`` in base-2 units).
        """
        r = qa.shape[0]
        c = vat.shape[0]
        # base 2: weights 2^(s log2 e - m2); the shift column is set by the kernel
        qa = np.multiply(qa, _LOG2E, out=qa)  # callers pass private copies: scaled in place
        upper = upper * (_LOG2E * (1 + 4 * _U64))
        theta = float(math.floor(theta * _LOG2E))  # 2^theta2 <= e^theta
        qb = min(self.query_block, r)
        kb = min(self.key_block, kt.shape[1])
        acc = np.empty((r, c))
        shift = np.empty(r)
        blocks = [(i, min(r, i + qb)) for i in range(0, r, qb)]
        workers = min(workers, len(blocks))

        # the fused kernel reads each chunk of keys once per query row: past ~128 features the
        # chunk leaves the cache and BLAS's blocked product is faster (4x at d = 1020)
        fused = _fused_kernel() if self.kernel != "numpy" and qa.shape[1] <= _FUSED_MAX_WIDTH else None
        if fused is not None:  # feature-major, contiguous rows; the kernel starts each score from -shift
            kt, vat = _rows_without(kt, shift_column), np.ascontiguousarray(vat)

        def work(queue: Iterator[tuple[int, int]], lock: threading.Lock) -> None:
            scores = np.empty(qb * kb if fused is None else 0, dtype=qa.dtype)
            product = np.empty(c * qb if fused is None else 0, dtype=qa.dtype)
            while True:
                with lock:
                    block = next(queue, None)
                if block is None:
                    return
                i0, i1 = block
                if fused is not None:
                    probe = min(kt.shape[1], _PROBE_KEYS)
                    block_q = np.delete(qa[i0:i1], shift_column, axis=1)  # a private copy
                    fused.fused_block(block_q, kt, vat, upper[i0:i1], theta, kb, probe, acc[i0:i1], shift[i0:i1])
                    continue
                acc[i0:i1], shift[i0:i1] = _tile_kernel(
                    qa[i0:i1].copy(), kt, vat, upper[i0:i1], theta, kb, shift_column, scores, product
                )

        lock = threading.Lock()
        queue = iter(blocks)
        if workers == 1:
            work(queue, lock)
            return acc, shift * _LN2
        with one_blas_thread(), ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(work, queue, lock) for _ in range(workers)]
            for future in futures:
                future.result()
        return acc, shift * _LN2


def _tile_kernel(
    qa: np.ndarray,
    kt: np.ndarray,
    vat: np.ndarray,
    upper: np.ndarray,
    theta: float,
    kb: int,
    shift_column: int,
    scores: np.ndarray,
    product: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One block of query rows against all keys: returns ``(sum_k 2^(s_k - m) [v_k; 1], m)``.

    Base 2 throughout: ``qa`` (private copy) holds ``log2 e Q/d`` with the shift column
    at ``shift_column`` (and possibly a bias column of ``log2 e`` after it); ``kt`` the
    matching ``[K^T; 1; bias]``; ``vat`` the value rows ``[V'^T; 1]``. ``upper`` bounds
    each row's base-2 scores and ``theta`` is in base-2 units.
    """
    rows, width = qa.shape[0], vat.shape[0]
    m = kt.shape[1]
    acc = np.zeros((rows, width))
    # initial shift: each row's largest score over a few probe keys (an actual score, so
    # the normaliser ends >= 1); no weight can pass e^theta while upper - shift <= theta
    probe = min(m, _PROBE_KEYS)
    qa[:, shift_column] = 0
    shift = np.max(qa @ kt[:, :probe], axis=1)
    qa[:, shift_column] = -shift
    need_max = bool(np.any(upper - shift > theta))
    out_t = product[: width * rows].reshape(width, rows)
    for k0 in range(0, m, kb):
        k1 = min(m, k0 + kb)
        tile = scores[: rows * (k1 - k0)].reshape(rows, k1 - k0)
        np.matmul(qa, kt[:, k0:k1], out=tile)
        if need_max:
            tile_max = tile.max(axis=1)
            over = np.flatnonzero(tile_max > theta)
            if over.size:
                new_shift = (shift[over] + tile_max[over]).astype(qa.dtype)
                delta = new_shift - shift[over]
                tile[over] -= delta[:, None]
                acc[over] *= np.exp2(-delta.astype(np.float64))[:, None]
                shift[over] = new_shift
                qa[over, shift_column] = -new_shift
                need_max = bool(np.any(upper - shift > theta))
        np.exp2(tile, out=tile)
        np.matmul(vat[:, k0:k1], tile.T, out=out_t)
        acc += out_t.T
    return acc, shift.astype(np.float64)
