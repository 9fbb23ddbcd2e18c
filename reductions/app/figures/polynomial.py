"""The polynomial method: polynomials for e^x, and the phase transition in the entry bound B."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from reductions.app.bench.timing import best_time
from reductions.app.figures.style import (
    CLOSE,
    FAR,
    NEUTRAL,
    ONE,
    new_figure,
)
from solvers.attention.polynomial.approximation import (
    chebyshev_tail_bound,
    paper_degree,
    predict_chebyshev_degree,
    taylor_degree,
)

if TYPE_CHECKING:  # matplotlib is an optional dependency (the demo extra)
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["polynomial_figure", "phase_transition_figure"]


def _chebyshev_values(radius: float, degree: int, x: np.ndarray) -> np.ndarray:
    """The truncated Chebyshev series of ``e^x`` on ``[-R, R]`` (coefficients ``I_0(R), 2 I_k(R)``) at ``x``."""
    import mpmath

    coefficients = [float(mpmath.besseli(0, radius))] + [
        float(2 * mpmath.besseli(k, radius)) for k in range(1, degree + 1)
    ]
    return np.polynomial.chebyshev.chebval(x / radius, coefficients)


def polynomial_figure(*, radius: float = 4.0, eps: float = 1e-6) -> Figure:
    """Polynomials for ``e^x`` on ``[-R, R]``: the curves, their relative error, and the degree needed.

    Four panels: ``e^x`` with Chebyshev truncations of a few degrees; their
    relative error ``|P(x)/e^x - 1|`` along the interval; the (rigorously
    bounded) relative error against the degree for several radii, with
    ``eps``; and the smallest degree against ``R`` beside the paper's
    ``max{log(1/eps)/log(log(1/eps)/R), R}`` (constant 1) and the Taylor degree.

    Uses :mod:`solvers.attention.polynomial.approximation` for the bounds and degrees.

    Parameters
    ----------
    radius : float
        ``R`` of the first two panels.
    eps : float
        The relative error asked for, ``0 < eps < 1``.

    Examples
    --------
    >>> fig = polynomial_figure()
    >>> fig.axes[3].get_title()
    'smallest degree for relative error 1e-06'
    """
    if not 0 < eps < 1:
        raise ValueError(f"'eps' must be in (0, 1) (got {eps!r})")
    if not 0 < radius <= 12:
        raise ValueError(f"'radius' must be in (0, 12] to be drawn in float64 (got {radius!r})")
    figure = new_figure(12.5, 9.0)
    axes = [figure.add_subplot(2, 2, k + 1) for k in range(4)]
    x = np.linspace(-radius, radius, 601)
    degrees = [2, 4, 6, 8, predict_chebyshev_degree(radius, eps)]
    colours = ["#fdae61", "#f46d43", "#d73027", "#a50026", ONE]
    ax = axes[0]
    ax.plot(x, np.exp(x), color="black", linewidth=2.5, label="$e^x$")
    for degree, colour in zip(degrees, colours, strict=False):
        ax.plot(x, _chebyshev_values(radius, degree, x), color=colour, linewidth=1.2, label=f"degree {degree}")
    ax.set_ylim(-0.15 * math.exp(radius), 1.1 * math.exp(radius))
    ax.set_xlabel("x")
    ax.set_ylabel("value")
    ax.set_title(
        f"$e^x$ and its truncated Chebyshev series on [−{radius:g}, {radius:g}]: good to the eye, except at the left",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    ax = axes[1]
    for degree, colour in zip(degrees, colours, strict=False):
        error = np.abs(_chebyshev_values(radius, degree, x) * np.exp(-x) - 1)
        ax.plot(x, np.maximum(error, 1e-16), color=colour, label=f"degree {degree}")
    ax.axhline(eps, color="black", linestyle="--", label=f"ε = {eps:g}")
    ax.set_yscale("log")
    ax.set_xlabel("x")
    ax.set_ylabel("|P(x)/eˣ − 1|")
    ax.set_title("relative error along the interval: worst at the left end, where eˣ is smallest", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    ax = axes[2]
    for r, colour in zip((1.0, 4.0, 16.0, 64.0), ("#fdae61", "#d73027", "#2c7fb8", "#253494"), strict=False):
        needed = predict_chebyshev_degree(r, eps)
        top = max(needed + 12, int(1.3 * needed))
        gs = np.arange(0, top + 1)
        bounds = np.array([chebyshev_tail_bound(r, int(g)) for g in gs])
        ax.plot(gs, np.clip(bounds, 1e-18, 1e40), color=colour, label=f"R = {r:g}: degree {needed} reaches ε")
        ax.plot([needed], [chebyshev_tail_bound(r, needed)], "o", color=colour)
    ax.axhline(eps, color="black", linestyle="--", label=f"ε = {eps:g}")
    ax.set_yscale("log")
    ax.set_ylim(1e-16, 1e30)
    ax.set_xlabel("degree g")
    ax.set_ylabel("relative error bound on [−R, R]")
    ax.set_title("error bound against degree: it falls fast only once g passes about R", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax = axes[3]
    radii = np.geomspace(0.05, 500, 40)
    ax.plot(
        radii,
        [predict_chebyshev_degree(float(r), eps) for r in radii],
        color=ONE,
        linewidth=2,
        label="Chebyshev (smallest degree, tail bound)",
    )
    ax.plot(
        radii, [taylor_degree(float(r), eps) for r in radii], color="#fdae61", label="Taylor at 0 (Lagrange remainder)"
    )
    ax.plot(
        radii,
        [paper_degree(float(r), eps) for r in radii],
        color="black",
        linestyle="--",
        label="paper's Θ-expression, constant 1: max{log(1/ε)/log(log(1/ε)/R), R}",
    )
    ax.axvline(math.log(1 / eps), color=NEUTRAL, linestyle=":", linewidth=1)
    ax.text(math.log(1 / eps) * 1.08, 2, f"R = log(1/ε) = {math.log(1 / eps):.1f}", fontsize=8, color=NEUTRAL)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("R (scores lie in [−R, R]; R = B² for entries bounded by B)")
    ax.set_ylabel("degree g")
    ax.set_title(f"smallest degree for relative error {eps:g}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3, which="both")
    figure.suptitle(
        "The polynomial method approximates every eˣ by one polynomial P: |P(x) − eˣ| ≤ ε eˣ on [−R, R] "
        "(Corollary 2.2)\nbelow R ≈ log(1/ε) the degree grows like log(1/ε)/log(log(1/ε)/R); above, linearly in R",
        fontsize=11,
    )
    return figure


def _rank(dimension: int, degree: int) -> int:
    """``C(d + g, g)``: monomials of degree at most ``g`` in ``d`` variables."""
    return math.comb(dimension + degree, degree)


def _largest_winning_bound(n: int, dimension: int, eps: float) -> float:
    """The largest ``B`` (to 1 %) at which the polynomial method's work ``n r (d + g)`` is at most ``n^2 d``."""

    def wins(bound: float) -> bool:
        degree = predict_chebyshev_degree(bound * bound, eps)
        return _rank(dimension, degree) * (dimension + degree) <= n * dimension

    low, high = 0.05, 0.05
    if not wins(low):
        return 0.0
    while wins(high):
        low, high = high, 2 * high
    while high / low > 1.01:
        middle = math.sqrt(low * high)
        low, high = (middle, high) if wins(middle) else (low, middle)
    return low


def _polynomial_timings(n: int, dimension: int, eps: float, bounds: np.ndarray) -> tuple[list[float], ...] | None:
    """Predicted seconds of :class:`~solvers.attention.polynomial.oracle.PolynomialAttention` (Algorithm 1 on
    ``[-B^2, B^2]``) for every ``B``, and measured seconds where it predicts at most 0.1 s;
    ``None`` when that oracle is not installed (the figure then shows an operation count)."""
    try:
        from solvers.attention.polynomial.oracle import PolynomialAttention
    except ImportError:
        return None
    from instances.attention import random_attention

    oracle = PolynomialAttention(eps=eps, route="features", interval="paper", workers=1)
    plan_bounds, plan_seconds, run_bounds, run_seconds = [], [], [], []
    for bound in bounds:
        instance = random_attention(n, dimension, float(bound), value_columns=1, seed=0)
        plan = oracle.plan(instance)
        seconds = {route: predicted for route, predicted, _bytes, _why in plan.routes}.get("features")
        if seconds is None or not math.isfinite(seconds):
            continue
        plan_bounds.append(float(bound))
        plan_seconds.append(float(seconds))
        if plan.route == "features" and seconds <= 0.1:
            run_bounds.append(float(bound))
            # the first call also builds the polynomial
            run_seconds.append(best_time(functools.partial(oracle, instance), 2))
    return plan_bounds, plan_seconds, run_bounds, run_seconds


def _any_temperature_panel(ax: Axes, n: int, eps: float) -> None:
    """Time against ``B`` (log-log) in dimension 2: exact, the polynomial method, and the
    any-temperature oracle when :mod:`solvers.attention.anytemp.oracle` is installed."""
    from instances.attention import random_attention
    from solvers.attention.exact import ExactAttention

    oracles: list[tuple[str, str, str, Any]] = [("exact oracle, measured", "s-", NEUTRAL, ExactAttention(workers=1))]
    try:
        from solvers.attention.anytemp.oracle import AnyTemperatureAttention
    except ImportError:
        pass
    else:
        oracles.append(("any-temperature oracle (kd-tree, small d), measured", "^-", ONE, AnyTemperatureAttention()))
    dimension = 2
    measured = [1.0, 16.0, 256.0]
    instances = [random_attention(n, dimension, bound, value_columns=1, seed=0) for bound in measured]
    exact: list[float] = []
    for label, style, colour, oracle in oracles:
        times = [best_time(functools.partial(oracle, instance), 2) for instance in instances]
        exact = exact or times
        ax.plot(measured, times, style, color=colour, label=label)
    bounds = np.geomspace(0.5, 32.0, 7)
    polynomial = _polynomial_timings(n, dimension, eps, bounds)
    if polynomial is None:
        per_operation = float(np.median(exact)) / (n * n * (dimension + 1))
        degrees = [predict_chebyshev_degree(float(b) ** 2, eps) for b in bounds]
        ax.plot(
            bounds,
            [n * _rank(dimension, g) * (dimension + g) * per_operation for g in degrees],
            "o-",
            color=FAR,
            markersize=3,
            label="polynomial method, predicted: n·r·(d + g) work",
        )
    else:
        plan_bounds, plan_seconds, run_bounds, run_seconds = polynomial
        ax.plot(plan_bounds, plan_seconds, "o-", color=FAR, markersize=3, label="polynomial oracle, its own prediction")
        ax.plot(run_bounds, run_seconds, "D", color="#67001f", markersize=6, label="polynomial oracle, measured")
    ax.axvline(math.sqrt(math.log(n)), color=CLOSE, linewidth=1.5)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_ylim(top=1e3)
    ax.set_xlabel("entry bound B (log scale)")
    ax.set_ylabel("seconds")
    ax.set_title(
        f"fixed small d escapes the bound: attention at any temperature (n = {n}, d = {dimension})", fontsize=10
    )
    ax.text(
        math.sqrt(math.log(n)),
        0.3,
        f" B = √(ln n) = {math.sqrt(math.log(n)):.2f}",
        transform=ax.get_xaxis_transform(),
        fontsize=8,
        color=CLOSE,
        rotation=90,
        va="center",
        ha="right",
    )
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3, which="both")


def phase_transition_figure(
    *, n: int = 2048, dimensions: Sequence[int] = (2, 4, 8, 16), timing_dimension: int = 8
) -> Figure:
    """The polynomial method against the entry bound ``B``: degree, rank, time, and where it stops winning.

    Scores lie in ``[-B^2, B^2]``; the degree ``g`` needed there (relative error
    ``1/n``) makes the rank of the factorisation ``r = C(d + g, g)`` and its work
    ``n r (d + g)``. The exact oracle is timed on random instances: its work
    ``n^2 d`` does not depend on ``B``. The last panel follows the crossover
    ``B*`` (polynomial work = exact work) as ``n`` grows with ``d = log2 n``,
    beside ``sqrt(ln n)``. The last panel times, in dimension 2 and up to
    ``B = 256``, the exact oracle, the polynomial method and the any-temperature
    oracle (:mod:`solvers.attention.anytemp.oracle`), whose cost depends on ``B``
    only mildly: the hardness needs ``d`` growing with ``n``.

    Parameters
    ----------
    n : int
        Sequence length (queries and keys) of the first three panels.
    dimensions : sequence of int
        Head dimensions ``d`` for the rank panel.
    timing_dimension : int
        The ``d`` of the timing panel.

    Examples
    --------
    >>> fig = phase_transition_figure(n=256)
    >>> fig.axes[1].get_title()
    'rank r = C(d + g, g) of the factorisation'
    """
    from instances.attention import random_attention
    from solvers.attention.exact import ExactAttention

    if not 16 <= n <= 8192:
        raise ValueError(f"'n' must be in 16..8192 to be timed in a few seconds (got {n!r})")
    eps = 1.0 / n
    threshold = math.sqrt(math.log(n))
    bounds = np.linspace(0.25, 5.0, 20)
    degrees = [predict_chebyshev_degree(float(b) ** 2, eps) for b in bounds]
    figure = new_figure(17.0, 10.0)
    grid = figure.add_gridspec(2, 6)
    axes = [figure.add_subplot(grid[0, 2 * k : 2 * k + 2]) for k in range(3)]
    axes += [figure.add_subplot(grid[1, 3 * k : 3 * k + 3]) for k in range(2)]

    ax = axes[0]
    ax.plot(bounds, degrees, "o-", color=ONE, label="Chebyshev degree needed")
    ax.plot(
        bounds,
        [paper_degree(float(b) ** 2, eps) for b in bounds],
        "--",
        color="black",
        label="paper's Θ-expression (constant 1)",
    )
    ax.plot(bounds, bounds**2, ":", color=NEUTRAL, label="R = B²")
    ax.set_xlabel("entry bound B")
    ax.set_ylabel("degree g")
    ax.set_title(f"degree for relative error 1/n = {eps:.2g} on [−B², B²]", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")

    ax = axes[1]
    for dimension, colour in zip(dimensions, ("#fdae61", "#f46d43", "#d73027", "#a50026", "#67001f"), strict=False):
        ax.plot(
            bounds, [_rank(dimension, g) for g in degrees], "o-", markersize=3, color=colour, label=f"d = {dimension}"
        )
    ax.axhline(n, color="black", linestyle="--", label=f"r = n = {n}: no smaller than the n × n matrix")
    ax.set_yscale("log")
    ax.set_xlabel("entry bound B")
    ax.set_ylabel("rank r")
    ax.set_title("rank r = C(d + g, g) of the factorisation", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")

    ax = axes[2]
    oracle = ExactAttention(workers=1)
    measured_bounds = [0.5, 2.5, 4.5]
    instances = [random_attention(n, timing_dimension, b, value_columns=1, seed=0) for b in measured_bounds]
    oracle(instances[0])  # warm up before timing
    measured = [best_time(functools.partial(oracle, instance), 2) for instance in instances]
    per_operation = float(np.median(measured)) / (n * n * (timing_dimension + 1))
    predicted = [n * _rank(timing_dimension, g) * (timing_dimension + g) * per_operation for g in degrees]
    polynomial = _polynomial_timings(n, timing_dimension, eps, bounds[1::2])
    crossing = _largest_winning_bound(n, timing_dimension, eps)
    ax.plot(measured_bounds, measured, "s-", color=NEUTRAL, label="exact oracle, measured: n² d work for any B")
    if polynomial is None:
        ax.plot(
            bounds,
            predicted,
            "o-",
            color=FAR,
            markersize=3,
            label="polynomial method, predicted: n·r·(d + g) work at the same speed",
        )
    else:
        plan_bounds, plan_seconds, run_bounds, run_seconds = polynomial
        ax.plot(
            plan_bounds,
            plan_seconds,
            "o-",
            color=FAR,
            markersize=3,
            label="polynomial oracle (features route), its own prediction",
        )
        ax.plot(run_bounds, run_seconds, "D", color="#67001f", markersize=7, label="polynomial oracle, measured")
    ax.axvline(crossing, color=FAR, linestyle=":", linewidth=1.5)
    ax.text(
        crossing, 0.03, f" crossover B* = {crossing:.2f}", transform=ax.get_xaxis_transform(), fontsize=8, color=FAR
    )
    ax.set_yscale("log")
    ax.set_xlabel("entry bound B")
    ax.set_ylabel("seconds")
    ax.set_title(f"time for n = {n}, d = {timing_dimension}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    for ax in axes[:3]:
        ax.axvline(threshold, color=CLOSE, linewidth=1.5)
        ax.text(
            threshold,
            0.3,
            f" B = √(ln n) = {threshold:.2f}",
            transform=ax.get_xaxis_transform(),
            fontsize=8,
            color=CLOSE,
            rotation=90,
            va="center",
            ha="right",
        )
        ax.grid(alpha=0.3, which="both")

    ax = axes[3]
    exponents = [8, 16, 32, 64, 128, 256, 512, 1024]
    crossings = [_largest_winning_bound(2**k, k, 2.0**-k) for k in exponents]
    roots = [math.sqrt(k * math.log(2)) for k in exponents]
    ax.plot(exponents, roots, "-", color=CLOSE, linewidth=2, label="√(ln n)")
    ax.plot(exponents, crossings, "o-", color=FAR, label="crossover B*: polynomial work = n² d")
    for k, b in zip(exponents, crossings, strict=False):
        ax.annotate(
            f"{b / math.sqrt(k * math.log(2)):.2f}",
            (k, b),
            textcoords="offset points",
            xytext=(0, -14),
            fontsize=8,
            color=FAR,
            ha="center",
        )
    ratio = crossings[-1] / roots[-1]
    ax.plot(exponents, [ratio * r for r in roots], ":", color=FAR, label=f"{ratio:.2f}·√(ln n)")
    ax.text(
        0.02,
        0.68,
        f"numbers: B*/√(ln n), settling near {ratio:.2f}:\nB* = Θ(√log n), with a small constant",
        transform=ax.transAxes,
        ha="left",
        fontsize=8.5,
        color=FAR,
    )
    ax.set_xscale("log", base=2)
    ax.set_xticks(exponents, [f"$2^{{{k}}}$" for k in exponents])
    ax.set_xlabel("n  (with d = log₂ n and relative error 1/n)")
    ax.set_ylabel("entry bound B")
    ax.set_title("where the polynomial method stops beating n² d, as n grows", fontsize=10)
    _any_temperature_panel(axes[4], n, eps)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3, which="both")
    figure.suptitle(
        "The polynomial method needs a degree that grows like B², and a rank C(d + g, g) that explodes with it:\n"
        "it beats the quadratic exact oracle only below a crossover B* = Θ(√log n). "
        "Alman–Song: above B = Θ(√log n), no algorithm is subquadratic (under SETH)",
        fontsize=11,
    )
    return figure


# -- the registry of demos ------------------------------------------------------------------
