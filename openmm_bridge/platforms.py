"""Choosing an OpenMM platform by name, with a clear error for an unknown one."""

from __future__ import annotations

import openmm as mm

from .errors import PathganInputError


def available_platforms() -> list[str]:
    """Names of the OpenMM platforms this installation can use."""
    return [mm.Platform.getPlatform(i).getName() for i in range(mm.Platform.getNumPlatforms())]


def get_platform(name: str, threads: int | None = None) -> tuple[mm.Platform, dict[str, str]]:
    """The platform called ``name`` and its properties (``threads`` for the CPU platform).

    Raises :class:`PathganInputError` naming the available platforms when ``name`` is unknown.
    """
    try:
        platform = mm.Platform.getPlatformByName(name)
    except mm.OpenMMException as err:
        raise PathganInputError(
            f"unknown OpenMM platform {name!r}; available: {available_platforms()}"
        ) from err
    properties = {"Threads": str(threads)} if name == "CPU" and threads else {}
    return platform, properties
