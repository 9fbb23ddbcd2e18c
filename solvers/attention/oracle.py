"""The protocol every attention oracle follows, and its guarantee and cost records.

An attention oracle answers AAttC instances (:class:`instances.attention.AttentionInstance`).
It is a callable object with

- ``name``: a short string, also stored in every answer;
- ``guarantee(instance) -> Guarantee``: the error it promises on that instance,
  before running;
- ``cost(instance) -> Cost``: predicted seconds and peak extra bytes;
- ``__call__(instance, *, log_space=False) -> AttentionOutput``: the answer, or
  :class:`~instances.errors.OracleRefusal` (with the predicted numbers and the
  limit) when the work would exceed the oracle's time or memory limits.

Examples
--------
>>> from solvers.attention.oracle import AttentionOracle, Guarantee, Cost, check_budget
>>> from solvers.attention.exact import ExactAttention
>>> isinstance(ExactAttention(), AttentionOracle)
True
>>> check_budget("exact", Cost(seconds=90.0, peak_bytes=10**6), max_seconds=60.0, max_bytes=None)
Traceback (most recent call last):
...
instances.errors.OracleRefusal: oracle 'exact' refuses: predicted 90 s exceeds 'max_seconds' = 60 s
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np

from instances.attention import AttentionInstance, AttentionOutput
from instances.errors import OracleRefusal
from instances.formatting import format_bytes

__all__ = [
    "query_rows",
    "AttentionOracle",
    "Guarantee",
    "Cost",
    "check_budget",
    "machine_memory",
    "one_blas_thread",
    "machine_memory_bytes",
    "DEFAULT_MAX_BYTES",
    "format_bytes",
]


def _nonnegative_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"'{name}' must be a real number (got {value!r})")
    as_float = float(value)
    if not as_float >= 0:
        raise ValueError(f"'{name}' must be >= 0 or inf (got {value!r})")
    return as_float


@attrs.frozen
class Guarantee:
    """The error an oracle promises on one instance, per output entry.

    ``abs_error`` bounds ``|T_hat - T|``; ``rel_error`` bounds ``|T_hat - T| / |T|``
    (and the log form, see :class:`~instances.attention.AttentionOutput`).
    Either may be ``inf`` (not offered); ``0`` means exact.

    Examples
    --------
    >>> from solvers.attention.oracle import Guarantee
    >>> g = Guarantee(abs_error=1e-12, rel_error=float("inf"), description="float64 log-sum-exp")
    >>> g.offers_relative
    False
    """

    abs_error: float = attrs.field(converter=lambda v: _nonnegative_float("abs_error", v))
    rel_error: float = attrs.field(converter=lambda v: _nonnegative_float("rel_error", v))
    description: str = attrs.field(default="", validator=attrs.validators.instance_of(str))

    @property
    def offers_relative(self) -> bool:
        """Whether a finite relative error is promised."""
        return math.isfinite(self.rel_error)


@attrs.frozen
class Cost:
    """Predicted wall-clock seconds and peak extra memory (bytes beyond the inputs).

    Examples
    --------
    >>> from solvers.attention.oracle import Cost
    >>> Cost(seconds=1.5, peak_bytes=2**20)
    Cost(seconds=1.5, peak_bytes=1048576)
    """

    seconds: float = attrs.field(converter=lambda v: _nonnegative_float("seconds", v))
    peak_bytes: int = attrs.field(converter=int)


@runtime_checkable
class AttentionOracle(Protocol):
    """What the reductions, the pipeline and the benchmarks need of an attention oracle."""

    @property
    def name(self) -> str:
        """Short name, stored in every answer (``"exact"``, ``"polynomial"``, ...)."""
        ...

    def guarantee(self, instance: AttentionInstance) -> Guarantee:
        """The error promised on ``instance``, known before running."""
        ...

    def cost(self, instance: AttentionInstance) -> Cost:
        """Predicted time and peak extra memory on ``instance``."""
        ...

    def __call__(self, instance: AttentionInstance, *, log_space: bool = False) -> AttentionOutput:
        """Answer ``instance`` within the guarantee, or raise ``OracleRefusal``."""
        ...


_BLAS_CONTROLLER: list[Any] = []


def one_blas_thread() -> AbstractContextManager[Any]:
    """A context holding BLAS to one thread (threadpoolctl), for memory-bound or small products where a
    second thread gains little, and around this package's own worker threads. The controller is built
    once: building one inspects every loaded library.

    >>> import numpy as np
    >>> from solvers.attention.oracle import one_blas_thread
    >>> with one_blas_thread():
    ...     float(np.ones(3) @ np.ones(3))
    3.0
    """
    if not _BLAS_CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROLLER.append(ThreadpoolController())
    return _BLAS_CONTROLLER[0].limit(limits=1, user_api="blas")


def machine_memory() -> int | None:
    """Physical memory of this machine in bytes, or ``None`` where the system does not say.

    >>> from solvers.attention.oracle import machine_memory
    >>> machine_memory() is None or machine_memory() > 2**20
    True
    """
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):  # pragma: no cover - platform without sysconf
        return None


def machine_memory_bytes() -> int:
    """Physical memory of this machine in bytes (24 GiB when it cannot be read).

    >>> from solvers.attention.oracle import machine_memory_bytes
    >>> machine_memory_bytes() > 0
    True
    """
    memory = machine_memory()
    return 24 * 2**30 if memory is None else memory


DEFAULT_MAX_BYTES: int = machine_memory_bytes() // 4
"""Default memory limit of an oracle: a quarter of physical memory (6 GiB on a 24 GiB machine)."""


def check_budget(name: str, cost: Cost, *, max_seconds: float | None, max_bytes: int | None, what: str = "") -> None:
    """Raise :class:`OracleRefusal` when ``cost`` exceeds a limit; the message has the numbers.

    Parameters
    ----------
    name : str
        The oracle's name.
    cost : Cost
        The prediction.
    max_seconds, max_bytes : float or int or None
        The limits; ``None`` means no limit.
    what : str
        Optional description of the job, e.g. ``"n = 1048576, m = 1048576"``.

    Examples
    --------
    >>> from solvers.attention.oracle import Cost, check_budget
    >>> check_budget("exact", Cost(1.0, 2**33), max_seconds=None, max_bytes=2**32, what="n = 10")
    Traceback (most recent call last):
    ...
    instances.errors.OracleRefusal: oracle 'exact' refuses n = 10: predicted peak memory 8 GiB exceeds 'max_bytes' = 4 GiB
    """
    job = f" {what}" if what else ""
    if max_bytes is not None and cost.peak_bytes > max_bytes:
        raise OracleRefusal(
            f"oracle {name!r} refuses{job}: predicted peak memory {format_bytes(cost.peak_bytes)} "
            f"exceeds 'max_bytes' = {format_bytes(max_bytes)}"
        )
    if max_seconds is not None and cost.seconds > max_seconds:
        raise OracleRefusal(
            f"oracle {name!r} refuses{job}: predicted {cost.seconds:.3g} s exceeds 'max_seconds' = {max_seconds:.3g} s"
        )


def query_rows(instance: AttentionInstance, rows: Sequence[int] | np.ndarray | None) -> np.ndarray | None:
    """Validate the ``rows=`` argument of an oracle call: ``None`` or int64 query indices.

    >>> from instances.attention import random_attention
    >>> query_rows(random_attention(4, 2, 1.0, seed=0), [3, 0]).tolist()
    [3, 0]
    >>> query_rows(random_attention(4, 2, 1.0, seed=0), [1, 7])
    Traceback (most recent call last):
    ...
    ValueError: 'rows' entry 1 is 7, outside 0..3
    """
    if rows is None:
        return None
    index = np.asarray(rows)
    if index.ndim != 1 or not (index.size == 0 or np.issubdtype(index.dtype, np.integer)):
        raise ValueError(f"'rows' must be a 1-dimensional sequence of row indices (got {rows!r})")
    index = index.astype(np.int64)
    bad = np.flatnonzero((index < 0) | (index >= instance.n))
    if bad.size:
        raise ValueError(f"'rows' entry {int(bad[0])} is {int(index[bad[0]])}, outside 0..{instance.n - 1}")
    return index
