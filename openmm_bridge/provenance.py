"""Versions of the packages behind every output, for its metadata."""

from __future__ import annotations

import platform
from importlib import metadata

_PACKAGES = (
    "pathgan",
    "openmm",
    "openmmtorch",
    "torch",
    "torchmd",
    "mdtraj",
    "parmed",
    "numpy",
    "dask",
    "distributed",
)


def versions() -> dict[str, str]:
    """Python and package versions (``"not installed"`` where a package is absent)."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
