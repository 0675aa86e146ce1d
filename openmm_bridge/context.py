"""OpenMM Contexts and Simulations: the one place they are set up.

Everything in pathgan that evaluates or integrates a System goes through :func:`make_context`
or :func:`make_simulation`, so the platform is chosen by name with a clear error, the CPU
platform gets its thread count, and a Langevin integrator is seeded the same way everywhere.
"""

from __future__ import annotations

import openmm as mm
import openmm.app as app
import openmm.unit as u

from .errors import PathganInputError

#: OpenMM uses 32 force groups.
N_FORCE_GROUPS = 32


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


def langevin(
    temperature_k: float, friction_per_ps: float, timestep_fs: float, seed: int | None = None
) -> mm.LangevinMiddleIntegrator:
    """OpenMM's Langevin (middle) integrator; ``seed`` fixes its random numbers (None: OpenMM's choice)."""
    integrator = mm.LangevinMiddleIntegrator(
        temperature_k * u.kelvin, friction_per_ps / u.picosecond, timestep_fs * u.femtosecond
    )
    if seed is not None:
        integrator.setRandomNumberSeed(int(seed))
    return integrator


def make_context(
    system: mm.System,
    platform: str = "Reference",
    integrator: mm.Integrator | None = None,
    threads: int | None = 1,
) -> mm.Context:
    """A Context of ``system`` on the named platform (a Verlet integrator when only energies are needed)."""
    plat, props = get_platform(platform, threads)
    return mm.Context(system, integrator or mm.VerletIntegrator(0.001), plat, props)


def make_simulation(
    topology: app.Topology,
    system: mm.System,
    integrator: mm.Integrator,
    platform: str = "Reference",
    threads: int | None = 1,
) -> app.Simulation:
    """An ``app.Simulation`` on the named platform."""
    plat, props = get_platform(platform, threads)
    return app.Simulation(topology, system, integrator, plat, props)


def free_force_group(system: mm.System) -> int:
    """The highest force group no force of ``system`` uses (as OpenMM's Metadynamics picks one).

    Raises :class:`PathganInputError` when all 32 are taken.
    """
    used = {system.getForce(k).getForceGroup() for k in range(system.getNumForces())}
    for group in range(N_FORCE_GROUPS - 1, -1, -1):
        if group not in used:
            return group
    raise PathganInputError("the System uses all 32 force groups; none is free for the pulling force")


def add_in_own_group(system: mm.System, force: mm.Force) -> int:
    """Add ``force`` to ``system`` in a force group of its own; return the group."""
    group = free_force_group(system)
    force.setForceGroup(group)
    system.addForce(force)
    return group
