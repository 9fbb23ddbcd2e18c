"""The shared frame of the catalogue's reductions from OV to many instances (``ov-gapann-pcp``, ``ov-zmaxip``).

Both predict every size of their family from the OV sizes ``(d, n_a, n_b)``
alone, as Python ints, and refuse in one line before building anything; the
pipeline and ``inspect --cost`` ask the same prediction through
:meth:`OVFamilyReduction.predict_members`. A subclass supplies ``_sizes`` (an
object with ``as_dict()``) and ``refusal``.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import attrs

from instances.errors import SolverBudgetExceeded
from instances.vectors import OVInstance
from reductions.family import FamilyReduction

__all__ = ["OVFamilyReduction", "FamilySizes"]


class FamilySizes(Protocol):
    """What a family's size prediction offers: a JSON-friendly form (exact ints, ``about 10^k`` past 3000 digits)."""

    def as_dict(self) -> dict[str, Any]: ...


SizesT = TypeVar("SizesT", bound=FamilySizes)


@attrs.frozen
class OVFamilyReduction(FamilyReduction, Generic[SizesT]):
    """A reduction from OV to many instances whose sizes are known from ``(d, n_a, n_b)`` before building.

    >>> from reductions.catalog.ov_zmaxip import OVToZMaxIP
    >>> reason, sizes = OVToZMaxIP().predict_members(2, 2, 3)
    >>> reason, sizes["members"]
    (None, 27)
    """

    source: ClassVar[str] = "ov"

    @abc.abstractmethod
    def _sizes(self, d: int, n_a: int, n_b: int) -> SizesT:
        """The predicted sizes on OV(n_a, n_b, d), as Python ints, without allocating anything."""

    @abc.abstractmethod
    def refusal(self, sizes: SizesT, d: int) -> str | None:
        """Why the forward map would refuse these sizes (one line, with the sizes), or ``None``."""

    def sizes(self, instance: OVInstance) -> SizesT:
        """The predicted sizes of the family built on ``instance``, before anything is allocated.

        >>> from reductions.catalog.ov_zmaxip import OVToZMaxIP
        >>> OVToZMaxIP().sizes(OVInstance([[1, 0, 1]], [[0, 1, 0]])).members
        27
        """
        return self._sizes(instance.dimension, int(instance.a.shape[0]), int(instance.b.shape[0]))

    def predict_members(self, n_a: int, n_b: int, d: int) -> tuple[str | None, dict[str, Any]]:
        """The refusal the forward map would give on OV(n_a, n_b, d) (or ``None``) and the predicted sizes.

        >>> from reductions.catalog.ov_gapann_pcp import OVToGapANNPCP
        >>> OVToGapANNPCP().predict_members(8, 8, 4)[0]
        'ov-gapann-pcp at d = 4 makes p^(2T-2) = 11^6 = 1,771,561 instances, above max_members = 4096'
        """
        sizes = self._sizes(d, n_a, n_b)
        return self.refusal(sizes, d), sizes.as_dict()

    def checked_sizes(self, instance: OVInstance) -> SizesT:
        """:meth:`sizes`, refused (``SolverBudgetExceeded``, the :meth:`refusal` line) where the limits say so.

        >>> from reductions.catalog.ov_zmaxip import OVToZMaxIP
        >>> OVToZMaxIP(max_members=10).checked_sizes(OVInstance([[1, 0, 1]], [[0, 1, 0]]))
        Traceback (most recent call last):
        ...
        instances.errors.SolverBudgetExceeded: ov-zmaxip at d = 3 packs l = 2 integers modulo Q = 15 (2 primes): 27 members of dimension 6, entries up to W = 152,100: above max_members = 10
        """
        sizes = self.sizes(instance)
        reason = self.refusal(sizes, instance.dimension)
        if reason is not None:
            raise SolverBudgetExceeded(reason)
        return sizes
