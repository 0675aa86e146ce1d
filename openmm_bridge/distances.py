"""The distance between the geometric centres of two atom groups: the pulled coordinate.

One function for numpy arrays and torch tensors alike (only indexing, ``mean`` and ``sum``),
so the OpenMM side (pull tables, relaxation) and the torch side (the cGAN's restraint) measure
exactly the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def centroid_distance(xyz: Any, group_a: Sequence[int] | Any, group_b: Sequence[int] | Any) -> Any:
    """Distance between the geometric centres of ``group_a`` and ``group_b``.

    ``xyz``: positions (..., n_atoms, 3), a numpy array or a torch tensor; the result has
    shape (...) in the unit of ``xyz`` (Angstrom throughout pathgan's API).
    """
    a = xyz[..., group_a, :].mean(-2)
    b = xyz[..., group_b, :].mean(-2)
    return ((b - a) ** 2).sum(-1) ** 0.5


def check_groups(group_a: Sequence[int], group_b: Sequence[int], n_atoms: int, where: str = "pull") -> None:
    """Raise :class:`PathganInputError` unless both groups are non-empty, in range and disjoint."""
    from .errors import PathganInputError

    for label, group in (("first", group_a), ("second", group_b)):
        if len(group) == 0:
            raise PathganInputError(f"{where}: the {label} atom group is empty")
        bad = [i for i in group if not 0 <= int(i) < n_atoms]
        if bad:
            raise PathganInputError(
                f"{where}: atom indices {bad} of the {label} group are out of range (the system has {n_atoms} atoms)"
            )
    shared = sorted(set(map(int, group_a)) & set(map(int, group_b)))
    if shared:
        raise PathganInputError(f"{where}: the two atom groups share atoms {shared}")
