"""The fused tile kernel of :class:`~solvers.attention.exact.ExactAttention` (numba).

Imported only when the exact oracle computes and numba is installed (the
``fast`` extra); the numpy tile kernel in :mod:`solvers.attention.exact` is the
fallback and the reference. One call handles one block of query rows against
all keys: for each key tile and each row, the scores (a contiguous loop per
feature), the row-maximum shift where a row could pass ``theta``, the base-2
exponential of the tile (:func:`exp2_tile`, a polynomial evaluated branch-free
so that LLVM vectorises it) and the row's numerator and normaliser sums, all
while the tile is in cache. The kernel releases the GIL, so threads over query
blocks run in parallel; its score scratch is four rows of one chunk of keys
(it stays in L1 while the chunk is scored, exponentiated and summed).

Exponential (float64): ``x`` is clamped to ``[-1022, 1023]``, ``n = round(x)``
(by adding and subtracting ``1.5 * 2^52``), ``f = x - n`` (exact) in
``[-1/2, 1/2]``, ``2^f`` by a near-minimax polynomial of degree 11 (Chebyshev
fit, coefficients rounded to float64; Horner), and ``2^n`` added to the
exponent bits (a bit reinterpretation, in the same vectorised loop). float32: the same with
the degree-7 Taylor polynomial, ``1.5 * 2^23`` and ``[-126, 127]``. :data:`EXP2_ERROR` gives the
certified relative error of each in units of the unit roundoff; see
:func:`exp2_error_bound` for its derivation.

Examples
--------
>>> import numpy as np
>>> from solvers.attention._fused import EXP2_ERROR
>>> EXP2_ERROR
{'float64': 2.3, 'float32': 2.3}
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

__all__ = ["EXP2_DEGREE", "EXP2_ERROR", "exp2_coefficients", "exp2_error_bound"]

EXP2_DEGREE = {"float64": 11, "float32": 7}
"""Degree of the polynomial for ``2^f`` on ``[-1/2, 1/2]`` per working precision."""

_MINIMAX64 = (
    "0x1.0000000000000p+0",
    "0x1.62e42fefa39efp-1",
    "0x1.ebfbdff82c5aep-3",
    "0x1.c6b08d704a0c6p-5",
    "0x1.3b2ab6fb9f1a5p-7",
    "0x1.5d87fe78a3f9cp-10",
    "0x1.430913112c61bp-13",
    "0x1.ffcbfc6da6ed1p-17",
    "0x1.62bfc2c86d700p-20",
    "0x1.b524ebd13a55fp-24",
    "0x1.e6228acd1c6e5p-28",
    "0x1.e9ec1fcb69a7fp-32",
)
"""float64 coefficients ``c_0 .. c_11`` of ``2^f`` on ``[-1/2, 1/2]``: ``mpmath.chebyfit`` of degree 11 at
50 digits, rounded to float64 (``tests/solvers/test_fused_kernel.py`` recomputes them). Near-minimax, they
reach the accuracy of the degree-13 Taylor polynomial with two multiply-adds fewer per exponential."""

_UNIT = {"float64": Fraction(1, 2**53), "float32": Fraction(1, 2**24)}


def exp2_coefficients(dtype: str) -> tuple[float, ...]:
    """The kernel's coefficients of ``2^f``, ``k = 0..degree``, as exact binary values of ``dtype``:
    float64 the near-minimax ones (:data:`_MINIMAX64`), float32 the Taylor ones ``ln(2)^k / k!`` rounded.

    >>> from solvers.attention._fused import exp2_coefficients
    >>> exp2_coefficients("float64")[:2] == (1.0, 0.6931471805599453), len(exp2_coefficients("float32"))
    (True, 8)
    """
    if dtype == "float64":
        return tuple(float.fromhex(c) for c in _MINIMAX64)
    import mpmath

    with mpmath.workdps(60):
        exact = [mpmath.log(2) ** k / mpmath.factorial(k) for k in range(EXP2_DEGREE[dtype] + 1)]
        return tuple(float(np.float32(float(c))) for c in exact)  # float32: the only other precision


def exp2_error_bound(dtype: str) -> float:
    """Certified bound on the relative error of the kernel's ``2^x``, in units of ``u``.

    For ``x`` in ``[-1022, 1023]`` (float64; ``[-126, 127]`` float32) the computed
    ``2^x`` is ``2^x (1 + e)`` with ``|e| <= exp2_error_bound(dtype) * u``. Inputs
    below the range give ``2^-1022`` (``2^-126``): an absolute error below the
    smallest normal, which the oracle counts with underflow. The terms, evaluated
    with mpmath at 60 digits and rounded up to 0.001 u:

    * reduction: ``n = round(x)`` (adding and subtracting ``1.5 * 2^52``, exact for
      ``|x| < 2^51``) and ``f = x - n`` (Sterbenz) are exact, ``|f| <= 1/2``;
    * approximation ``A`` (truncation and the rounded coefficients at once): on a
      piece ``[a, b]`` with centre ``c`` and radius ``r``, ``p(f) - 2^f = q(f) - R(f)``
      with ``q = p - T`` for the Taylor polynomial ``T`` of ``2^f`` of degree
      ``N + 25`` and ``|R| <= 2 (ln2 / 2)^(N+26) / (N+26)! * sqrt 2`` (the 2 also
      covers the 60-digit coefficients of ``T``); re-expanded at ``c``,
      ``q(c + t) = sum_j s_j t^j`` and ``|q| <= sum_j |s_j| r^j`` on the piece;
    * Horner ``H``: step ``q_k = fl(fl(q_(k+1) f) + c_k)`` rounds at most twice (once
      with an fma), so ``|p^ - p| <= u sum_k |f|^k (|q_k| + |q_(k+1) f|)``; on each of
      64 pieces ``[a, b]`` of ``[-1/2, 1/2]`` the tails ``q_k`` are positive and
      increasing (alternating series with decreasing terms where ``f < 0``), so
      ``|q_k| <= q_k(b)``; a factor 1.01 covers the computed tails' own error;
    * scaling by ``2^n`` through the exponent bits is exact (no result is
      subnormal: ``n >= -1022``, and ``f >= 0`` when ``n = -1022``).

    On each piece ``(A + H) / 2^a`` bounds the relative error; the bound is the
    largest over the pieces. The Horner step needs every tail ``q_k`` positive and
    increasing on ``[-1/2, 1/2]``: with positive coefficients, ``c_1 <= 2 c_0`` and
    ``c_(k+1) <= c_k`` from ``k = 1``, the tails and their derivatives alternate with
    decreasing terms where ``f < 0``. This is checked, and a ``ValueError`` raised otherwise.

    >>> from solvers.attention._fused import exp2_error_bound
    >>> 1 < exp2_error_bound("float64") < 4
    True
    """
    import mpmath

    with mpmath.workdps(60):
        u = mpmath.mpf(_UNIT[dtype].numerator) / _UNIT[dtype].denominator
        coefficients = [mpmath.mpf(c) for c in exp2_coefficients(dtype)]  # exact binary values
        degree = EXP2_DEGREE[dtype]
        half, ln2 = mpmath.mpf(0.5), mpmath.log(2)
        if (
            not all(c > 0 for c in coefficients)
            or coefficients[1] > 2 * coefficients[0]
            or any(coefficients[k + 1] > coefficients[k] for k in range(1, degree))
        ):
            raise ValueError(
                "the Horner bound needs positive coefficients with c_1 <= 2 c_0 and c_(k+1) <= c_k from k = 1"
            )
        high = degree + 25
        taylor = [ln2**k / mpmath.factorial(k) for k in range(high + 1)]
        q = [(coefficients[k] if k <= degree else 0) - taylor[k] for k in range(high + 1)]
        remainder = 2 * (ln2 / 2) ** (high + 1) / mpmath.factorial(high + 1) * mpmath.sqrt(2)
        worst = mpmath.mpf(0)
        for piece in range(_PIECES):
            a = -half + mpmath.mpf(piece) / _PIECES
            b = a + mpmath.mpf(1) / _PIECES
            top = max(abs(a), abs(b))
            centre, radius = (a + b) / 2, (b - a) / 2
            shifted = [
                sum(mpmath.binomial(k, j) * q[k] * centre ** (k - j) for k in range(j, high + 1))
                for j in range(high + 1)
            ]
            approximation = sum(abs(s) * radius**j for j, s in enumerate(shifted)) + remainder
            # |q_k| on [a, b]: q_k is positive and increasing on [-1/2, 1/2] (an alternating
            # tail with decreasing terms where f < 0), so its largest value is at b
            tails = [sum(coefficients[j] * b ** (j - k) for j in range(k, degree + 1)) for k in range(degree + 2)]
            horner = sum((tails[k] + tails[k + 1] * top) * top**k for k in range(degree + 1)) * u * mpmath.mpf(1.01)
            worst = max(worst, (approximation + horner) / mpmath.power(2, a))
        return float(mpmath.ceil(worst / u * 1000) / 1000)


_PIECES = 64


EXP2_ERROR = {"float64": 2.3, "float32": 2.3}
"""Certified relative error of the kernel's ``2^x`` in units of ``u`` (rounded up from
:func:`exp2_error_bound`; ``tests/solvers/test_fused_kernel.py`` recomputes it and
checks the kernel against mpmath)."""


CHUNK = 512
"""Keys per inner chunk: a chunk's four rows of scores, and the key and value rows it reads, stay in L1/L2
(``solvers.attention.exact`` predicts the scratch with the same number, without importing numba)."""


def _wide_vectors() -> None:
    """Let LLVM use 512-bit vectors where the CPU has AVX-512 (it prefers 256 bits by default;
    the exponential runs about 1.5 times faster with 512). Only when numba is not imported yet
    and ``NUMBA_CPU_FEATURES`` is not set: the user's own setting wins."""
    import os
    import sys

    if "numba" in sys.modules or "NUMBA_CPU_FEATURES" in os.environ:
        return
    try:
        import llvmlite.binding as llvm

        features = llvm.get_host_cpu_features().flatten()
    except Exception:  # pragma: no cover - llvmlite without host introspection
        return
    if "+avx512f" in features.split(","):
        os.environ["NUMBA_CPU_FEATURES"] = features + ",-prefer-256-bit"


try:  # numba is optional (the ``fast`` extra)
    import llvmlite  # noqa: F401  (numba's compiler; checked before touching the environment)

    _wide_vectors()
    import numba
    from llvmlite import ir
    from numba.core import types
    from numba.extending import intrinsic, overload
except ImportError:  # pragma: no cover - exercised by the fallback tests through FUSED_AVAILABLE
    numba = None  # type: ignore[assignment]

FUSED_AVAILABLE = numba is not None

if numba is not None:
    _C64 = exp2_coefficients("float64")
    _C32 = tuple(np.float32(c) for c in exp2_coefficients("float32"))
    _M64 = 1.5 * 2.0**52
    _M32 = np.float32(1.5 * 2.0**23)
    _MB64 = int(np.array(_M64).view(np.int64))
    _MB32 = np.int32(np.array(_M32, dtype=np.float32).view(np.int32))
    _LO32, _HI32 = np.float32(-126.0), np.float32(127.0)
    _MATH = {"contract"}  # no reassociation here: the rounding trick and Horner's order must stay
    _SUMS = {"contract", "reassoc", "nsz"}  # sums and products: any order is within the bound

    def _bitcast(source: Any, target: Any, width: Any) -> Any:
        """A numba intrinsic reinterpreting the bits of a ``source`` scalar as ``target``."""

        @intrinsic
        def cast(typingctx, x):  # pragma: no cover - compiled
            def codegen(context, builder, signature, args):
                return builder.bitcast(args[0], width)

            return target(source), codegen

        return cast

    _f64_bits = _bitcast(types.float64, types.int64, ir.IntType(64))
    _bits_f64 = _bitcast(types.int64, types.float64, ir.DoubleType())
    _f32_bits = _bitcast(types.float32, types.int32, ir.IntType(32))
    _bits_f32 = _bitcast(types.int32, types.float32, ir.FloatType())

    @numba.njit(cache=True, nogil=True, fastmath=_MATH)
    def _exp2_64(w, n):  # pragma: no cover - compiled
        c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11 = _C64
        for k in range(n):
            x = min(max(w[k], -1022.0), 1023.0)
            t = x + _M64
            f = x - (t - _M64)
            p = c11
            p = p * f + c10
            p = p * f + c9
            p = p * f + c8
            p = p * f + c7
            p = p * f + c6
            p = p * f + c5
            p = p * f + c4
            p = p * f + c3
            p = p * f + c2
            p = p * f + c1
            p = p * f + c0
            w[k] = _bits_f64(_f64_bits(p) + ((_f64_bits(t) - _MB64) << 52))

    @numba.njit(cache=True, nogil=True, fastmath=_MATH)
    def _exp2_32(w, n):  # pragma: no cover - compiled
        c0, c1, c2, c3, c4, c5, c6, c7 = _C32
        for k in range(n):
            x = min(max(w[k], _LO32), _HI32)
            t = x + _M32
            f = x - (t - _M32)
            p = c7
            p = p * f + c6
            p = p * f + c5
            p = p * f + c4
            p = p * f + c3
            p = p * f + c2
            p = p * f + c1
            p = p * f + c0
            w[k] = _bits_f32(_f32_bits(p) + ((_f32_bits(t) - _MB32) << 23))

    def exp2_tile(w: np.ndarray, n: int) -> None:
        """``w[:n] = 2^w[:n]`` in place, float64 or float32.

        Compiled code calls the overload below (the kernel's polynomial; tests reach it through
        :func:`exp2_array`, against mpmath). This Python body is what numba's ``overload`` needs
        as the function's plain-Python meaning: numpy's ``exp2``."""
        np.exp2(w[:n], out=w[:n])

    @overload(exp2_tile, jit_options={"cache": True, "nogil": True})  # type: ignore[typeddict-unknown-key]
    def _exp2_tile_overload(w, n):  # pragma: no cover - compiled
        return (lambda w, n: _exp2_64(w, n)) if w.dtype == types.float64 else (lambda w, n: _exp2_32(w, n))

    def _as(like: Any, value: Any) -> Any:
        """``value`` in the dtype of the array ``like`` (compiled code calls the overload below)."""
        return like.dtype.type(value)

    @overload(_as, jit_options={"cache": True})  # type: ignore[typeddict-unknown-key]
    def _as_overload(like, value):  # pragma: no cover - compiled
        target = like.dtype
        return lambda like, value: target(value)

    @numba.njit(cache=True, nogil=True)
    def exp2_array(x):  # pragma: no cover - compiled
        """The kernel's ``2^x`` of a 1-d float64 or float32 array (a copy), for tests."""
        w = x.copy()
        exp2_tile(w, w.shape[0])
        return w

    @numba.njit(cache=True, nogil=True, fastmath=_SUMS)
    def _scores(w, q, base, kt, k0, n):  # pragma: no cover - compiled
        """``w[:n] = base + q . kt[:, k0:k0+n]`` four features per pass over ``w``."""
        width = kt.shape[0]
        j = 0
        while j < width:
            r0 = kt[j, k0 : k0 + n]
            q0 = q[j]
            if j + 4 <= width:
                r1, r2, r3 = kt[j + 1, k0 : k0 + n], kt[j + 2, k0 : k0 + n], kt[j + 3, k0 : k0 + n]
                q1, q2, q3 = q[j + 1], q[j + 2], q[j + 3]
                if j == 0:
                    for k in range(n):
                        w[k] = base + (q0 * r0[k] + q1 * r1[k] + q2 * r2[k] + q3 * r3[k])
                else:
                    for k in range(n):
                        w[k] += q0 * r0[k] + q1 * r1[k] + q2 * r2[k] + q3 * r3[k]
                j += 4
            else:
                if j == 0:
                    for k in range(n):
                        w[k] = base + q0 * r0[k]
                else:
                    for k in range(n):
                        w[k] += q0 * r0[k]
                j += 1

    @numba.njit(cache=True, nogil=True, fastmath=_SUMS)
    def _sums(out, vat, k0, w, n):  # pragma: no cover - compiled
        """``out[col] += sum_k vat[col, k0 + k] w[k]`` (sums in the working precision), four columns a pass."""
        c = vat.shape[0]
        col = 0
        while col + 4 <= c:
            r0, r1, r2, r3 = (
                vat[col, k0 : k0 + n],
                vat[col + 1, k0 : k0 + n],
                vat[col + 2, k0 : k0 + n],
                vat[col + 3, k0 : k0 + n],
            )
            a0 = a1 = a2 = a3 = _as(w, 0.0)
            for k in range(n):
                x = w[k]
                a0 += r0[k] * x
                a1 += r1[k] * x
                a2 += r2[k] * x
                a3 += r3[k] * x
            out[col] += a0
            out[col + 1] += a1
            out[col + 2] += a2
            out[col + 3] += a3
            col += 4
        while col < c:
            r0 = vat[col, k0 : k0 + n]
            a0 = _as(w, 0.0)
            for k in range(n):
                a0 += r0[k] * w[k]
            out[col] += a0
            col += 1

    @numba.njit(cache=True, nogil=True, fastmath=_SUMS)
    def _scores4(w, q, base, i, kt, k0, n):  # pragma: no cover - compiled
        """:func:`_scores` for rows ``i .. i+3`` of ``q`` into ``w[0 .. 3]``: each key row is loaded once for four."""
        width = kt.shape[0]
        w0, w1, w2, w3 = w[0], w[1], w[2], w[3]
        q0, q1, q2, q3 = q[i], q[i + 1], q[i + 2], q[i + 3]
        j = 0
        while j < width:
            r0 = kt[j, k0 : k0 + n]
            if j + 4 <= width:
                r1, r2, r3 = kt[j + 1, k0 : k0 + n], kt[j + 2, k0 : k0 + n], kt[j + 3, k0 : k0 + n]
                a0, a1, a2, a3 = q0[j], q0[j + 1], q0[j + 2], q0[j + 3]
                b0, b1, b2, b3 = q1[j], q1[j + 1], q1[j + 2], q1[j + 3]
                c0, c1, c2, c3 = q2[j], q2[j + 1], q2[j + 2], q2[j + 3]
                e0, e1, e2, e3 = q3[j], q3[j + 1], q3[j + 2], q3[j + 3]
                if j == 0:
                    s0, s1, s2, s3 = base[i], base[i + 1], base[i + 2], base[i + 3]
                    for k in range(n):
                        x0 = r0[k]
                        x1 = r1[k]
                        x2 = r2[k]
                        x3 = r3[k]
                        w0[k] = s0 + (a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3)
                        w1[k] = s1 + (b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3)
                        w2[k] = s2 + (c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3)
                        w3[k] = s3 + (e0 * x0 + e1 * x1 + e2 * x2 + e3 * x3)
                else:
                    for k in range(n):
                        x0 = r0[k]
                        x1 = r1[k]
                        x2 = r2[k]
                        x3 = r3[k]
                        w0[k] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3
                        w1[k] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3
                        w2[k] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3
                        w3[k] += e0 * x0 + e1 * x1 + e2 * x2 + e3 * x3
                j += 4
            else:
                a0, b0, c0, e0 = q0[j], q1[j], q2[j], q3[j]
                if j == 0:
                    s0, s1, s2, s3 = base[i], base[i + 1], base[i + 2], base[i + 3]
                    for k in range(n):
                        x0 = r0[k]
                        w0[k] = s0 + a0 * x0
                        w1[k] = s1 + b0 * x0
                        w2[k] = s2 + c0 * x0
                        w3[k] = s3 + e0 * x0
                else:
                    for k in range(n):
                        x0 = r0[k]
                        w0[k] += a0 * x0
                        w1[k] += b0 * x0
                        w2[k] += c0 * x0
                        w3[k] += e0 * x0
                j += 1

    @numba.njit(cache=True, nogil=True, fastmath=_SUMS)
    def _sums4(part, i, vat, k0, w, n):  # pragma: no cover - compiled
        """:func:`_sums` for ``w[0 .. 3]`` (query rows ``i .. i+3``) into ``part[i .. i+3]``: each value row is loaded once for
        four."""
        c = vat.shape[0]
        w0, w1, w2, w3 = w[0], w[1], w[2], w[3]
        col = 0
        while col + 4 <= c:
            r0, r1, r2, r3 = (
                vat[col, k0 : k0 + n],
                vat[col + 1, k0 : k0 + n],
                vat[col + 2, k0 : k0 + n],
                vat[col + 3, k0 : k0 + n],
            )
            a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = _as(w, 0.0)
            d0 = d1 = d2 = d3 = e0 = e1 = e2 = e3 = _as(w, 0.0)
            for k in range(n):
                v0 = r0[k]
                v1 = r1[k]
                v2 = r2[k]
                v3 = r3[k]
                x = w0[k]
                a0 += v0 * x
                a1 += v1 * x
                a2 += v2 * x
                a3 += v3 * x
                x = w1[k]
                b0 += v0 * x
                b1 += v1 * x
                b2 += v2 * x
                b3 += v3 * x
                x = w2[k]
                d0 += v0 * x
                d1 += v1 * x
                d2 += v2 * x
                d3 += v3 * x
                x = w3[k]
                e0 += v0 * x
                e1 += v1 * x
                e2 += v2 * x
                e3 += v3 * x
            for row, (t0, t1, t2, t3) in enumerate(
                ((a0, a1, a2, a3), (b0, b1, b2, b3), (d0, d1, d2, d3), (e0, e1, e2, e3))
            ):
                part[i + row, col] += t0
                part[i + row, col + 1] += t1
                part[i + row, col + 2] += t2
                part[i + row, col + 3] += t3
            col += 4
        while col < c:
            r0 = vat[col, k0 : k0 + n]
            a0 = b0 = d0 = e0 = _as(w, 0.0)
            for k in range(n):
                v0 = r0[k]
                a0 += v0 * w0[k]
                b0 += v0 * w1[k]
                d0 += v0 * w2[k]
                e0 += v0 * w3[k]
            part[i, col] += a0
            part[i + 1, col] += b0
            part[i + 2, col] += d0
            part[i + 3, col] += e0
            col += 1

    @numba.njit(cache=True, nogil=True, fastmath=_SUMS)
    def _top(w, n):  # pragma: no cover - compiled
        top = w[0]
        for k in range(1, n):
            top = max(top, w[k])
        return top

    @numba.njit(cache=True, nogil=True)
    def fused_block(qa, kt, vat, upper, theta, kb, probe, acc, shift):  # pragma: no cover - compiled
        """One block of query rows against all keys, like :func:`~solvers.attention.exact._tile_kernel`.

        ``qa`` (rows x width) holds the base-2 query side without the shift column, and
        ``kt`` (width x m) the matching key side without its row of ones: a row's score
        starts from ``-shift`` and adds the products (the same dot product as the numpy
        kernel's, the shift term first). ``kt`` and ``vat`` (c x m) are feature-major
        and C-contiguous; ``upper`` bounds each row's base-2 scores; ``acc`` (rows x c)
        and ``shift`` (rows) are float64 outputs. Key tiles of ``kb`` keys (a row's
        maximum is checked once per tile, as in the numpy kernel) are walked in chunks
        of :data:`CHUNK` keys, all rows of the block per chunk, four rows at a time (the last few one at a time); the
        sums of a tile are kept in the working precision (``part``), then added to
        ``acc`` in float64.
        """
        rows = qa.shape[0]
        m = kt.shape[1]
        c = vat.shape[0]
        chunk = min(kb, CHUNK)
        w = np.empty((4, max(chunk, probe)), dtype=qa.dtype)  # four rows of scores: stays in L1
        part = np.zeros((rows, c), dtype=qa.dtype)
        base = np.empty(rows, dtype=qa.dtype)
        need = np.empty(rows, dtype=np.bool_)
        zero = _as(qa, 0.0)
        for i in range(rows):
            _scores(w[0], qa[i], zero, kt, 0, probe)
            best = _top(w[0], probe)
            base[i] = -best
            shift[i] = best
            need[i] = upper[i] - shift[i] > theta
            for col in range(c):
                acc[i, col] = 0.0
        for t0 in range(0, m, kb):
            t1 = min(m, t0 + kb)
            if need.any():  # rows that could pass theta: their maximum over the tile first
                for i in range(rows):
                    if not need[i]:
                        continue
                    top = -np.inf
                    for k0 in range(t0, t1, chunk):
                        n = min(t1, k0 + chunk) - k0
                        _scores(w[0], qa[i], base[i], kt, k0, n)
                        top = max(top, _top(w[0], n))
                    if top > theta:
                        new_shift = _as(qa, shift[i] + top)
                        factor = np.exp2(-np.float64(_as(qa, new_shift - _as(qa, shift[i]))))
                        for col in range(c):
                            acc[i, col] *= factor
                        shift[i] = new_shift
                        base[i] = -new_shift
                        need[i] = upper[i] - shift[i] > theta
            for k0 in range(t0, t1, chunk):
                n = min(t1, k0 + chunk) - k0
                four = rows - rows % 4
                for i in range(0, four, 4):  # four rows at a time share the key and value loads
                    _scores4(w, qa, base, i, kt, k0, n)
                    for r in range(4):
                        exp2_tile(w[r], n)
                    _sums4(part, i, vat, k0, w, n)
                for i in range(four, rows):  # the last few rows of the block, one at a time
                    _scores(w[0], qa[i], base[i], kt, k0, n)
                    exp2_tile(w[0], n)
                    _sums(part[i], vat, k0, w[0], n)
            for i in range(rows):
                for col in range(c):
                    acc[i, col] += part[i, col]
                    part[i, col] = 0
