"""Symmetric tensor features: ``P(<q, k>/d) = <phi(q), psi(k)>`` for a polynomial ``P`` (Lemma 3.2).

For ``P(x) = sum_j gamma_j x^j`` the multinomial theorem gives

    P(<q, k>/d) = sum_alpha  gamma_|alpha| * mult(alpha) / d^|alpha| * q^alpha * k^alpha

over all exponent vectors ``alpha`` in ``d`` variables of total degree at most
``g``: ``r = C(d + g, g)`` of them (Lemma 3.2 counts ``C(2(g + d), 2g)``, the
monomials of ``P(<u, v>)`` in all ``2d`` variables; the symmetric count is far
smaller). So ``phi(q) = w * q^alpha`` and ``psi(k) = k^alpha`` with the weights
``w_alpha = gamma_|alpha| mult(alpha) / d^|alpha|`` on one side.

The monomials are built by a graded recursion, feature-major: the degree-``k``
monomials whose largest variable is ``l`` are ``x_l`` times the degree-``(k-1)``
monomials whose largest variable is at most ``l`` -- a contiguous prefix of the
previous degree's rows -- so each degree costs ``d`` vectorised products over a
``(rows x block)`` scratch, one multiplication per monomial and token. The
points of a block are copied straight into the degree-1 rows.

:func:`feature_attention_sums` runs Algorithm 1's products without forming
``U1`` or ``U2``: ``M = sum over key blocks of psi(K_block) [V_block, 1]``
(``r x (dv+1)``), the weights folded into ``M``, then ``M^T psi(Q_block)`` per
query block.

Examples
--------
>>> import numpy as np
>>> from solvers.attention.polynomial.features import feature_maps, feature_rank, paper_rank
>>> feature_rank(4, 7), paper_rank(4, 7)
(330, 319770)
>>> rng = np.random.default_rng(0)
>>> q, k = rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (5, 4))
>>> coefficients = [1.0, 1.0, 0.5, 1 / 6]  # P(x) = 1 + x + x^2/2 + x^3/6
>>> u1, u2 = feature_maps(q, k, coefficients)
>>> x = q @ k.T / 4
>>> bool(np.allclose(u1 @ u2.T, 1 + x + x**2 / 2 + x**3 / 6, rtol=1e-14, atol=0))
True
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from instances._validation import check_int
from solvers.attention.oracle import one_blas_thread

__all__ = [
    "feature_rank",
    "paper_rank",
    "log10_binomial",
    "monomial_exponents",
    "monomial_weights",
    "monomial_features",
    "feature_maps",
    "feature_attention_sums",
    "feature_block",
    "run_blocks",
    "default_workers",
]

_SCRATCH_BYTES = 4 * 2**20  # per-worker feature scratch that keeps the block in the L2/L3 caches


def feature_rank(d: int, degree: int) -> int:
    """``r = C(d + g, g)``: monomials of degree at most ``g`` in ``d`` variables.

    >>> from solvers.attention.polynomial.features import feature_rank
    >>> feature_rank(4, 7), feature_rank(1, 10)
    (330, 11)
    """
    d = check_int("d", d, minimum=1)
    degree = check_int("degree", degree, minimum=0)
    return math.comb(d + degree, degree)


def paper_rank(d: int, degree: int) -> int:
    """Lemma 3.2's count ``C(2(g + d), 2g)`` (all monomials of ``P(<u, v>)`` in ``2d`` variables).

    >>> from solvers.attention.polynomial.features import paper_rank
    >>> paper_rank(4, 7)
    319770
    """
    d = check_int("d", d, minimum=1)
    degree = check_int("degree", degree, minimum=0)
    return math.comb(2 * (degree + d), 2 * degree)


def log10_binomial(top: float, bottom: float) -> float:
    """``log10 C(top, bottom)`` via ``lgamma`` (for counts far beyond any integer worth printing).

    Stable when ``top`` is huge (beyond float64 for ints): with ``k = min(bottom, top - bottom)`` small
    against ``top``, the ``lgamma`` difference would cancel to nothing, so ``sum log((top - k + i) / i)``
    (or ``k log10(top)`` and a correction, for ``k`` large too) is used instead.

    >>> from solvers.attention.polynomial.features import log10_binomial
    >>> round(log10_binomial(1092 + 13500, 13500))
    1684
    >>> round(log10_binomial(10**300 + 4, 4), 3)  # C(n, 4) ~ n^4 / 24
    1198.62
    """
    if bottom < 0 or bottom > top:
        return -math.inf
    small = min(bottom, top - bottom)
    if small == 0:
        return 0.0
    if top < 2**50 and top < 2**20 * small:
        return (math.lgamma(top + 1) - math.lgamma(bottom + 1) - math.lgamma(top - bottom + 1)) / math.log(10)
    if small <= 10_000:
        base = top - small
        return math.fsum(math.log10(base + i) - math.log10(i) for i in range(1, int(small) + 1))
    # k << top: log C(n, k) = k log n - log k! + sum log(1 - j/n), the last about -k^2 / (2n)
    log_top = math.log10(top)
    return small * log_top - math.lgamma(small + 1) / math.log(10) - small * (small / top) / (2 * math.log(10))


@functools.lru_cache(maxsize=32)
def _structure(d: int, degree: int) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """``(starts, prefixes)``: degree ``k`` occupies rows ``starts[k]:starts[k+1]``; ``prefixes[k][l]`` is
    the number of degree-``(k-1)`` monomials whose largest variable is at most ``l``."""
    starts = [0, 1]
    prefixes: list[tuple[int, ...]] = [()]
    for k in range(1, degree + 1):
        prefix = tuple(math.comb(l + k - 1, k - 1) for l in range(d))
        prefixes.append(prefix)
        starts.append(starts[-1] + sum(prefix))
    return tuple(starts), tuple(prefixes)


@functools.lru_cache(maxsize=32)
def _exponents(d: int, degree: int) -> np.ndarray:
    starts, prefixes = _structure(d, degree)
    exponents = np.zeros((starts[-1], d), dtype=np.int64)
    for k in range(1, degree + 1):
        previous = starts[k - 1]
        row = starts[k]
        for l in range(d):
            p = prefixes[k][l]
            exponents[row : row + p] = exponents[previous : previous + p]
            exponents[row : row + p, l] += 1
            row += p
    exponents.flags.writeable = False
    return exponents


def monomial_exponents(d: int, degree: int) -> np.ndarray:
    """Exponent vectors of all monomials of degree ``<= g`` in the features' order, shape ``(r, d)``.

    Degree by degree; within a degree, by largest variable, each group being
    ``x_l`` times the previous degree's prefix.

    >>> from solvers.attention.polynomial.features import monomial_exponents
    >>> monomial_exponents(2, 2).tolist()
    [[0, 0], [1, 0], [0, 1], [2, 0], [1, 1], [0, 2]]
    """
    d = check_int("d", d, minimum=1)
    degree = check_int("degree", degree, minimum=0)
    return _exponents(d, degree)


@functools.lru_cache(maxsize=32)
def _weights(d: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    starts, prefixes = _structure(d, degree)
    exponents = _exponents(d, degree)
    weights = np.empty(starts[-1])
    weights[0] = 1.0
    degrees = np.zeros(starts[-1], dtype=np.int64)
    for k in range(1, degree + 1):
        previous = starts[k - 1]
        row = starts[k]
        for l in range(d):
            p = prefixes[k][l]
            # mult(alpha + e_l) / d^k = mult(alpha) / d^(k-1) * k / (d (alpha_l + 1))
            factor = k / (d * (exponents[previous : previous + p, l] + 1.0))
            np.multiply(weights[previous : previous + p], factor, out=weights[row : row + p])
            degrees[row : row + p] = k
            row += p
    weights.flags.writeable = False
    degrees.flags.writeable = False
    return weights, degrees


def monomial_weights(d: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """``(mult(alpha) / d^|alpha|, |alpha|)`` for every monomial, in the features' order.

    ``<q, k>^j / d^j = sum_{|alpha| = j} mult(alpha) / d^j q^alpha k^alpha``. The
    weights are computed by the same recursion as the monomials,
    ``w(alpha + e_l) = w(alpha) k / (d (alpha_l + 1))``: two roundings per
    degree, so relative error at most ``gamma_(2g)``.

    >>> from solvers.attention.polynomial.features import monomial_weights
    >>> w, k = monomial_weights(2, 2)
    >>> (w * 4).tolist(), k.tolist()  # multinomials 1; 1, 1; 1, 2, 1 over 2^k
    ([4.0, 2.0, 2.0, 1.0, 2.0, 1.0], [0, 1, 1, 2, 2, 2])
    """
    d = check_int("d", d, minimum=1)
    degree = check_int("degree", degree, minimum=0)
    return _weights(d, degree)


_FUSE_ROWS = 100  # top-degree groups at least this large are not materialised


def _top_groups(
    starts: tuple[int, ...], prefixes: tuple[tuple[int, ...], ...], degree: int
) -> tuple[int, list[tuple[int, int, int, int]]]:
    """``(first, groups)``: the top-degree groups ``l >= first`` are fused, each ``(l, source, target, p)``
    with rows ``target : target + p`` equal to ``x_l`` times rows ``source : source + p`` (a prefix of
    degree ``g - 1``); the smaller groups ``l < first`` are materialised as usual."""
    groups = []
    row = starts[degree]
    first = len(prefixes[degree])
    for l, p in enumerate(prefixes[degree]):
        if p >= _FUSE_ROWS:
            first = min(first, l)
            groups.append((l, starts[degree - 1], row, p))
        row += p
    return first, groups


_WIDE_FLOPS = 3.0  # the wide top-degree product may cost this many times the top degree's own products


def _wide_top(d: int, degree: int, width: int) -> bool:
    """Whether the whole top degree goes through one product of degree ``g - 1`` against ``d`` scaled
    copies of the values: ``d C(d+g-2, g-1)`` rows times ``width`` instead of ``C(d+g-1, g)``, that is
    ``d g / (d + g - 1)`` times the flops, paid back by a wider, faster product and ``C(d+g-1, g)`` monomials
    per token not built."""
    return degree >= 2 and d >= 2 and d * degree <= _WIDE_FLOPS * (d + degree - 1) and d * width <= 64


def _fill(
    points_t: np.ndarray, degree: int, out: np.ndarray, top_groups: int | None = None, *, in_place: bool = False
) -> None:
    """Monomials of the columns of ``points_t`` (``d x b``) into ``out`` (``r x b``); of the top degree
    only the groups ``l < top_groups`` (all by default). With ``in_place``, ``points_t`` is the view
    ``out[1 : d + 1]`` already holding the points (the degree-1 rows), which saves their copy."""
    d = points_t.shape[0]
    starts, prefixes = _structure(d, degree)
    out[0] = 1.0
    first = 1
    if in_place and degree >= 1:
        first = 2  # the points already are the degree-1 rows, ``out[1 : d + 1]``
    for k in range(first, degree + 1):
        previous = starts[k - 1]
        row = starts[k]
        groups = d if (k < degree or top_groups is None) else top_groups
        for l in range(groups):
            p = prefixes[k][l]
            np.multiply(out[previous : previous + p], points_t[l], out=out[row : row + p])
            row += p


def monomial_features(points: Any, degree: int, *, out: np.ndarray | None = None) -> np.ndarray:
    """All monomials of degree ``<= g`` of every point, feature-major: shape ``(r, n)``.

    Parameters
    ----------
    points : array_like, shape (n, d)
    degree : int
    out : ndarray, optional
        A C-contiguous float64 ``(r, n)`` array to fill.

    Returns
    -------
    ndarray, shape (r, n)
        Row ``a`` holds ``points^alpha_a`` (see :func:`monomial_exponents`).

    Examples
    --------
    >>> import numpy as np
    >>> from solvers.attention.polynomial.features import monomial_features
    >>> monomial_features(np.array([[2.0, 3.0]]), 2)[:, 0].tolist()
    [1.0, 2.0, 3.0, 4.0, 6.0, 9.0]
    """
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] < 1:
        raise ValueError(f"'points' must be an (n, d) matrix with d >= 1 (got shape {array.shape})")
    degree = check_int("degree", degree, minimum=0)
    n, d = array.shape
    r = feature_rank(d, degree)
    if out is None:
        out = np.empty((r, n))
    elif out.shape != (r, n) or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(f"'out' must be a C-contiguous float64 array of shape {(r, n)} (got {out.shape}, {out.dtype})")
    _fill(np.ascontiguousarray(array.T), degree, out)
    return out


def _feature_weights(d: int, coefficients: Sequence[float]) -> np.ndarray:
    degree = len(coefficients) - 1
    weights, degrees = _weights(d, degree)
    return weights * np.asarray(coefficients, dtype=np.float64)[degrees]


def feature_maps(query: Any, key: Any, coefficients: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """``U1, U2`` (``n x r``, ``m x r``) with ``U1 U2^T = P(Q K^T / d)`` entrywise (Lemma 3.2).

    ``P(x) = sum_j coefficients[j] x^j``; the weights go on the query side.
    This materialises both matrices: for teaching and tests. The oracle uses
    :func:`feature_attention_sums`, which never holds more than one block.

    Examples
    --------
    >>> import numpy as np
    >>> from solvers.attention.polynomial.features import feature_maps
    >>> u1, u2 = feature_maps([[1.0, 2.0]], [[3.0, -1.0]], [0.0, 0.0, 1.0])  # P(x) = x^2
    >>> u1.shape, float((u1 @ u2.T)[0, 0])  # (<q, k>/2)^2 = (1/2)^2
    ((1, 6), 0.25)
    """
    q = np.asarray(query, dtype=np.float64)
    k = np.asarray(key, dtype=np.float64)
    if q.ndim != 2 or k.ndim != 2 or q.shape[1] != k.shape[1] or q.shape[1] < 1:
        raise ValueError(f"'query' and 'key' must be matrices with the same d >= 1 columns (got {q.shape}, {k.shape})")
    if len(coefficients) < 1:
        raise ValueError("'coefficients' must hold at least the constant term")
    degree = len(coefficients) - 1
    d = q.shape[1]
    weights = _feature_weights(d, coefficients)
    u1 = monomial_features(q, degree).T * weights
    u2 = monomial_features(k, degree).T.copy()
    return u1, u2


def feature_block(rank: int, rows: int) -> int:
    """Columns of the per-worker ``(r x block)`` scratch: about 4 MiB, a power of two in [256, 8192].

    >>> from solvers.attention.polynomial.features import feature_block
    >>> feature_block(330, 2**20), feature_block(6435, 2**20), feature_block(330, 100)
    (2048, 256, 100)
    """
    rank = check_int("rank", rank, minimum=1)
    rows = check_int("rows", rows, minimum=0)
    target = _SCRATCH_BYTES / (8 * rank)
    block = 2 ** max(8, min(13, round(math.log2(max(target, 1.0)))))
    return max(1, min(block, rows))


def run_blocks(count: int, workers: int, work: Any) -> None:
    """Call ``work(worker_index, block_index)`` for every block, over ``workers`` threads, BLAS held
    to one thread (its own threads cost more than they save on these skinny products).

    Each block is done exactly once, by one worker; ``worker_index`` says which
    (so each worker can own a scratch buffer).

    >>> done = []
    >>> run_blocks(5, 2, lambda worker, index: done.append(index))
    >>> sorted(done)
    [0, 1, 2, 3, 4]
    """
    context = one_blas_thread()
    if workers <= 1 or count <= 1:
        with context:
            for index in range(count):
                work(0, index)
        return
    lock = threading.Lock()
    queue = iter(range(count))

    def loop(worker: int) -> None:
        while True:
            with lock:
                index = next(queue, None)
            if index is None:
                return
            work(worker, index)

    with context, ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(loop, w) for w in range(workers)]
        for future in futures:
            future.result()


def default_workers(rows: int) -> int:
    """Threads used by :func:`feature_attention_sums` when ``workers="auto"``: two from 8192 rows, if there are two CPUs.

    >>> default_workers(100)
    1
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 2 if (cpus >= 2 and rows >= 8192) else 1


def feature_attention_sums(
    query: Any,
    key: Any,
    values: Any,
    coefficients: Sequence[float],
    *,
    block: int | None = None,
    workers: int | str = "auto",
) -> np.ndarray:
    """``sum_j P(<q_i, k_j>/d) [v_j, 1]`` for every query, through the features: shape ``(n, dv + 1)``.

    Column ``dv`` is the normaliser ``w = U1 (U2^T 1)``; the others are ``U1 (U2^T V)``.

    Parameters
    ----------
    query : array_like, shape (n, d)
    key : array_like, shape (m, d)
    values : array_like, shape (m, dv)
    coefficients : sequence of float
        ``P(x) = sum_j coefficients[j] x^j`` in the score ``x = <q, k>/d``.
    block : int, optional
        Tokens per feature block (default :func:`feature_block`).
    workers : int or "auto"
        Threads over blocks (BLAS held to one thread each); ``"auto"`` uses two
        from 8192 tokens on when two CPUs are there.

    Returns
    -------
    ndarray, shape (n, dv + 1)

    Notes
    -----
    Time ``O((n + m) r (dv + 1))``: one multiplication per monomial and token
    for the features, ``2 (dv + 1)`` flops per monomial and token for the two
    products. The top degree (the largest, ``C(d + g - 1, g)`` of the ``r``
    monomials) is mostly not materialised: its monomials whose largest
    variable is ``l`` are ``x_l`` times a prefix of degree ``g - 1``, so the
    key side multiplies the prefix by ``x_l``-scaled values and the query side
    scales the prefix's product by ``x_l`` afterwards. When ``d g <= 3 (d + g - 1)``
    (and ``d (dv + 1) <= 64``) all ``d`` groups go through one wider product
    of degree ``g - 1`` against ``[x_0 [V, 1], ..., x_(d-1) [V, 1]]`` (keys) or
    against the groups' moments side by side, zero-padded (queries): more
    flops, but a faster product and no top-degree monomials built; otherwise
    every group of at least 100 rows gets its own product. Memory: one
    scratch of the materialised rows times ``block`` per worker, plus ``M``.
    The result is returned as the transpose of a C-contiguous ``(dv + 1, n)``
    array.

    Rounding: every term ``phi_a(q) psi_a(k) v`` is formed with relative error
    at most ``gamma_(4g + 2)`` (monomials, weights), the key sums within a block
    and across blocks add ``gamma_(block + m/block + 2)``, the final product
    ``gamma_r`` (the top-degree scaling replaces a monomial product, one
    rounding for one): each output is within ``gamma_K sum_j sum_a |phi_a psi_a| |v_j|``
    of its exact value, ``K = 4g + block + m/block + r + 4``.

    Examples
    --------
    >>> import numpy as np
    >>> from solvers.attention.polynomial.features import feature_attention_sums
    >>> rng = np.random.default_rng(1)
    >>> q, k, v = rng.uniform(-1, 1, (6, 3)), rng.uniform(-1, 1, (5, 3)), rng.uniform(0, 1, (5, 2))
    >>> coefficients = [1.0, 1.0, 0.5]
    >>> sums = feature_attention_sums(q, k, v, coefficients, block=2)
    >>> x = q @ k.T / 3
    >>> p = 1 + x + x**2 / 2
    >>> bool(np.allclose(sums, np.hstack([p @ v, p.sum(axis=1, keepdims=True)]), rtol=1e-14, atol=1e-15))
    True
    """
    q = np.asarray(query, dtype=np.float64)
    k = np.asarray(key, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if q.ndim != 2 or k.ndim != 2 or q.shape[1] != k.shape[1] or q.shape[1] < 1:
        raise ValueError(f"'query' and 'key' must be matrices with the same d >= 1 columns (got {q.shape}, {k.shape})")
    if v.ndim != 2 or v.shape[0] != k.shape[0]:
        raise ValueError(f"'values' must have one row per key (got shape {v.shape} for {k.shape[0]} keys)")
    if len(coefficients) < 1:
        raise ValueError("'coefficients' must hold at least the constant term")
    n, d = q.shape
    m, dv = k.shape[0], v.shape[1]
    degree = len(coefficients) - 1
    r = feature_rank(d, degree)
    width = dv + 1
    if block is None:
        block = feature_block(r, max(n, m, 1))
    block = check_int("block", block, minimum=1)
    if workers == "auto":
        count = default_workers(max(n, m))
    elif isinstance(workers, str):
        raise ValueError(f"'workers' must be an int >= 1 or 'auto' (got {workers!r})")
    else:
        count = check_int("workers", workers, minimum=1)
    weights = _feature_weights(d, coefficients)

    key_blocks = [(s, min(m, s + block)) for s in range(0, m, block)]
    query_blocks = [(s, min(n, s + block)) for s in range(0, n, block)]
    count = max(1, min(count, max(len(key_blocks), len(query_blocks))))
    starts, prefixes = _structure(d, degree)
    wide = _wide_top(d, degree, width)
    top: list[tuple[int, int, int, int]]
    if wide:
        # The whole top degree is never materialised: its group l is x_l times a prefix of degree g - 1,
        # so one product of degree g - 1 against [x_0 V, ..., x_(d-1) V] (keys) or one product against
        # the groups' moments side by side, scaled by x_l afterwards (queries), covers all d groups.
        first, top = 0, []
        low = starts[degree]
        previous = starts[degree - 1]
    else:
        # The large top-degree groups are not materialised: each is taken through its own x_l-scaled
        # product (keys) or scaled afterwards (queries).
        first, top = _top_groups(starts, prefixes, degree) if degree > 0 else (0, [])
        low = top[0][2] if top else r  # materialised rows: degrees < g and the small top groups
        previous = 0
    span = low - previous  # rows of degree g - 1 (wide only)
    fill_groups = first if (top or wide) else None
    scratch = [np.empty((low, block)) for _ in range(count)]
    points = [np.empty((d, block)) for _ in range(count)]
    partial = [np.zeros((width, low)) for _ in range(count)]  # transposed moments of the materialised rows
    partial_top = [np.zeros((r - low, width)) for _ in range(count)] if top else []
    partial_wide = [np.zeros((span, d * width)) for _ in range(count)] if wide else []
    values_t = [np.ones((width, block)) for _ in range(count)]  # [V, 1]^T of a block; row dv stays 1
    buffers = [np.empty((d * width if wide else width, block)) for _ in range(count)]

    def key_work(worker: int, index: int) -> None:
        s0, s1 = key_blocks[index]
        size = s1 - s0
        features = scratch[worker] if size == block else np.empty((low, size))
        block_points = features[1 : d + 1] if degree >= 1 else points[worker][:, :size]
        np.copyto(block_points, k[s0:s1].T)
        _fill(block_points, degree, features, fill_groups, in_place=degree >= 1)
        block_values = values_t[worker][:, :size]
        np.copyto(block_values[:dv], v[s0:s1].T)
        partial[worker] += np.matmul(block_values, features.T)
        if wide:
            # rows l * width ... of ``scaled``: x_l [V, 1]^T
            scaled = buffers[worker][:, :size]
            np.multiply(
                block_points[:, None, :], block_values[None], out=buffers[worker].reshape(d, width, block)[:, :, :size]
            )
            partial_wide[worker] += features[previous:] @ scaled.T
            return
        scaled = buffers[worker][:width, :size]
        for l, source, target, p in top:
            np.multiply(block_values, block_points[l], out=scaled)
            partial_top[worker][target - low : target - low + p] += features[source : source + p] @ scaled.T

    run_blocks(len(key_blocks), count, key_work)
    moments_t = partial[0]
    for extra in partial[1:]:
        moments_t += extra
    moments_t *= weights[:low]
    if top:
        moments_top = partial_top[0]
        for extra in partial_top[1:]:
            moments_top += extra
        moments_top *= weights[low:, None]
    if wide:
        gathered = partial_wide[0]
        for extra in partial_wide[1:]:
            gathered += extra
        # group l of the top degree: rows starts[g] + sum(prefixes[g][:l]) ..., the first prefixes[g][l]
        # rows of degree g - 1 against x_l V; zero elsewhere, so the query product covers all groups
        moments_wide = np.zeros((d * width, span))
        row = low
        for l, p in enumerate(prefixes[degree]):
            moments_wide[l * width : (l + 1) * width, :p] = gathered[:p, l * width : (l + 1) * width].T
            moments_wide[l * width : (l + 1) * width, :p] *= weights[row : row + p]
            row += p

    result_t = np.empty((width, n))
    parts = [np.empty((d * width if wide else width, block)) for _ in range(count)]

    def query_work(worker: int, index: int) -> None:
        s0, s1 = query_blocks[index]
        size = s1 - s0
        features = scratch[worker] if size == block else np.empty((low, size))
        block_points = features[1 : d + 1] if degree >= 1 else points[worker][:, :size]
        np.copyto(block_points, q[s0:s1].T)
        _fill(block_points, degree, features, fill_groups, in_place=degree >= 1)
        out = result_t[:, s0:s1]
        np.matmul(moments_t, features, out=out)
        part = parts[worker][:, :size]
        if wide:
            np.matmul(moments_wide, features[previous:], out=part)
            grouped = part.reshape(d, width, size)
            grouped *= block_points[:, None, :]
            out += grouped.sum(axis=0)
            return
        part = part[:width]
        for l, source, target, p in top:
            np.matmul(moments_top[target - low : target - low + p].T, features[source : source + p], out=part)
            part *= block_points[l]
            out += part

    run_blocks(len(query_blocks), count, query_work)
    return result_t.T
