"""The free-energy surface over two torsions (phi, psi), from OpenMM's own well-tempered ``Metadynamics``.

What a Ramachandran-plane picture of a transition is drawn on, and what basin free energies
and barriers are read from::

    settings = LandscapeSettings(torsions=["phi:ALA2", "psi:ALA2"], length_ps=2000.0)
    landscape = metadynamics_landscape(system, settings)           # a Landscape, kcal/mol
    landscape.basin_free_energy(((-180, 0), (30, 240)))           # -kT ln sum exp(-F/kT) over a box
    landscape.saddle(start_box, end_box, avoid_x=(150, 210))      # lowest barrier between basins

The sampling is OpenMM's ``app.Metadynamics`` on two ``CustomTorsionForce`` variables (the
MD System: constraints as named, Langevin at the temperature), whose bias grid gives the free
energy: F = -(T + dT)/dT V on a periodic grid. OpenMM builds that grid with
``numpy.linspace(0, 1, gridWidth)`` over [-pi, pi] (its last point repeats the first, whatever
its docstring says), so the grid here is those points without the repeated one.

Units at the interface: degrees and kcal/mol; the grid is indexed ``[y, x]`` (second torsion
first, as OpenMM and ``matplotlib.contourf`` both order it). Boxes are ``((x_lo, x_hi),
(y_lo, y_hi))`` in degrees and may wrap (``(150, 210)`` is the band through +-180).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import PathganDataError, PathganInputError
from .fileio import atomic_file
from .settings import Settings, at_least, one_of, positive

if TYPE_CHECKING:
    from .system import MolecularSystem

#: Boltzmann's constant, kcal/mol/K.
KB_KCAL_MOL_K = 0.0019872041

Box = tuple[tuple[float, float], tuple[float, float]]


@dataclasses.dataclass
class LandscapeSettings(Settings):
    """Well-tempered metadynamics over two torsions (degrees, kcal/mol, ps, fs, K as named).

    Defaults: the usual choices for alanine dipeptide in vacuum (bias factor 6, Gaussians of
    0.3 kcal/mol and 20 degrees every 0.5 ps, a 5-degree grid).
    """

    torsions: list[str] = dataclasses.field(default_factory=lambda: ["phi:ALA2", "psi:ALA2"])
    length_ps: float = positive(2000.0)
    bias_factor: float = positive(6.0)
    height_kcal_mol: float = positive(0.3)
    width_deg: float = positive(20.0)
    deposit_interval_steps: int = positive(250)
    grid: int = at_least(12, 72)
    temperature_k: float = positive(300.0)
    friction_per_ps: float = positive(1.0)
    timestep_fs: float = positive(2.0)
    constraints: str | None = one_of(("HBonds", None), "HBonds")
    platform: str = "Reference"  # the fastest for a few dozen atoms on a CPU
    seed: int = 0

    @property
    def n_steps(self) -> int:
        """MD steps of the run."""
        return int(round(self.length_ps * 1000.0 / self.timestep_fs))

    def check(self, where: str) -> None:
        """Two distinct torsions; a bias factor above 1 (well-tempered); Gaussians deposited at least twice."""
        if len(self.torsions) != 2 or len(set(self.torsions)) != 2:
            raise PathganInputError(f"{where}.torsions: give two distinct torsions, got {self.torsions}")
        if self.bias_factor <= 1.0:
            raise PathganInputError(
                f"{where}.bias_factor: must exceed 1 (well-tempered), got {self.bias_factor}"
            )
        if self.n_steps < 2 * self.deposit_interval_steps:
            raise PathganInputError(
                f"{where}.length_ps: {self.length_ps} ps deposits fewer than 2 Gaussians "
                f"(one every {self.deposit_interval_steps} steps)"
            )


def _in_range(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Whether angles (degrees) lie in [lo, hi], read modulo 360 (``(150, 210)`` wraps through 180)."""
    return ((values - lo) % 360.0) <= ((hi - lo) % 360.0 if hi - lo != 360.0 else 360.0)


def in_box(x_deg: np.ndarray, y_deg: np.ndarray, box: Box) -> np.ndarray:
    """Whether points (degrees, any shape) lie in ``box`` = ((x_lo, x_hi), (y_lo, y_hi)), wrapping."""
    (x_lo, x_hi), (y_lo, y_hi) = box
    return _in_range(np.asarray(x_deg), x_lo, x_hi) & _in_range(np.asarray(y_deg), y_lo, y_hi)


@dataclass
class Landscape:
    """A free-energy surface F(x, y) over two torsions on a periodic grid.

    Attributes
    ----------
    names
        The two torsions (``("phi:ALA2", "psi:ALA2")``).
    x_deg, y_deg
        Grid points, shape (n,), degrees in [-180, 180).
    free_energy_kcal_mol
        Shape (n_y, n_x), zero at its minimum.
    temperature_k
        Temperature of the sampling.
    metadata
        How it was made (settings, versions, wall time).
    """

    names: tuple[str, str]
    x_deg: np.ndarray
    y_deg: np.ndarray
    free_energy_kcal_mol: np.ndarray
    temperature_k: float
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def kt(self) -> float:
        """kT in kcal/mol."""
        return KB_KCAL_MOL_K * self.temperature_k

    def box_mask(self, box: Box) -> np.ndarray:
        """Grid cells inside ``box``, shape (n_y, n_x)."""
        gx, gy = np.meshgrid(self.x_deg, self.y_deg)
        return in_box(gx, gy, box)

    def basin_free_energy(self, box: Box) -> float:
        """-kT ln sum over the cells of ``box`` of exp(-F/kT), kcal/mol (same zero as the grid)."""
        mask = self.box_mask(box)
        if not mask.any():
            raise PathganInputError(f"basin {box}: no grid point of the landscape inside it")
        f = self.free_energy_kcal_mol[mask]
        return float(-self.kt * np.log(np.exp(-(f - f.min()) / self.kt).sum()) + f.min())

    def minimum(self, box: Box) -> tuple[float, float, float]:
        """The lowest cell of ``box``: (F kcal/mol, x deg, y deg)."""
        mask = self.box_mask(box)
        f = np.where(mask, self.free_energy_kcal_mol, np.inf)
        j, i = np.unravel_index(np.argmin(f), f.shape)
        return float(f[j, i]), float(self.x_deg[i]), float(self.y_deg[j])

    def saddle(
        self, start: Box, end: Box, avoid_x: tuple[float, float] | None = None
    ) -> tuple[float, float, float]:
        """The lowest barrier between the minima of two basins: (F kcal/mol, x deg, y deg) of its top.

        The minimax path on the periodic grid (4-neighbour moves): cells are added in order of
        free energy until the two minima are connected; the last cell added is the saddle.
        ``avoid_x``: an x band (degrees) the path may not cross, e.g. ``(150, 210)`` for the
        route through phi = 0 only, ``(-30, 30)`` for the route through +-180.
        """
        f = self.free_energy_kcal_mol
        ny, nx = f.shape
        allowed = np.ones_like(f, dtype=bool)
        if avoid_x is not None:
            allowed &= ~_in_range(self.x_deg, *avoid_x)[None, :]
        _, xa, ya = self.minimum(start)
        _, xb, yb = self.minimum(end)
        a = (int(np.argmin(np.abs(self.y_deg - ya))), int(np.argmin(np.abs(self.x_deg - xa))))
        b = (int(np.argmin(np.abs(self.y_deg - yb))), int(np.argmin(np.abs(self.x_deg - xb))))
        parent = np.arange(f.size)

        def find(k: int) -> int:
            while parent[k] != k:
                parent[k] = parent[parent[k]]
                k = parent[k]
            return k

        added = np.zeros_like(allowed)
        for flat in np.argsort(f, axis=None, kind="stable"):
            j, i = divmod(int(flat), nx)
            if not allowed[j, i]:
                continue
            added[j, i] = True
            for dj, di in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                jj, ii = (j + dj) % ny, (i + di) % nx
                if added[jj, ii]:
                    parent[find(jj * nx + ii)] = find(flat)
            if added[a] and added[b] and find(a[0] * nx + a[1]) == find(b[0] * nx + b[1]):
                return float(f[j, i]), float(self.x_deg[i]), float(self.y_deg[j])
        raise PathganInputError(f"no path from {start} to {end} avoiding x in {avoid_x}")

    def at(self, x_deg: np.ndarray, y_deg: np.ndarray) -> np.ndarray:
        """F at points (degrees, any shape), by bilinear interpolation on the periodic grid."""
        n = len(self.x_deg)
        step = 360.0 / n
        fx = ((np.asarray(x_deg) - self.x_deg[0]) % 360.0) / step
        fy = ((np.asarray(y_deg) - self.y_deg[0]) % 360.0) / step
        i0, j0 = np.floor(fx).astype(int) % n, np.floor(fy).astype(int) % n
        i1, j1 = (i0 + 1) % n, (j0 + 1) % n
        wx, wy = fx - np.floor(fx), fy - np.floor(fy)
        f = self.free_energy_kcal_mol
        return (
            f[j0, i0] * (1 - wx) * (1 - wy)
            + f[j0, i1] * wx * (1 - wy)
            + f[j1, i0] * (1 - wx) * wy
            + f[j1, i1] * wx * wy
        )

    def save(self, folder: str | os.PathLike) -> None:
        """``landscape.npz`` (grid and F) and ``landscape.json`` (names, temperature, metadata), atomically."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_file(folder / "landscape.npz") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, x_deg=self.x_deg, y_deg=self.y_deg, free_energy_kcal_mol=self.free_energy_kcal_mol)
        info = {"names": list(self.names), "temperature_k": self.temperature_k, **self.metadata}
        with atomic_file(folder / "landscape.json") as tmp:
            tmp.write_text(json.dumps(info, indent=1, default=float) + "\n")

    @classmethod
    def load(cls, folder: str | os.PathLike) -> Landscape:
        """Read what :meth:`save` wrote."""
        folder = Path(folder)
        try:
            info = json.loads((folder / "landscape.json").read_text())
            with np.load(folder / "landscape.npz") as data:
                arrays = {k: np.array(data[k]) for k in ("x_deg", "y_deg", "free_energy_kcal_mol")}
        except (OSError, ValueError, KeyError) as err:
            raise PathganDataError(f"{folder}: cannot read the landscape ({err})") from err
        names = tuple(info.pop("names"))
        temperature = float(info.pop("temperature_k"))
        return cls(names, temperature_k=temperature, metadata=info, **arrays)  # type: ignore[arg-type]


def _grid(settings: LandscapeSettings) -> np.ndarray:
    """OpenMM's grid over [-180, 180) degrees without its repeated last point."""
    return np.linspace(-180.0, 180.0, settings.grid)[:-1]


def metadynamics_landscape(
    system: MolecularSystem, settings: LandscapeSettings | None = None, progress: bool = False
) -> Landscape:
    """F(torsion 1, torsion 2) of ``system`` from a well-tempered metadynamics run (see the module docstring).

    Also records the free energy after the first half of the run (``metadata["half_kcal_mol"]``
    is the largest change, over the cells within 10 kcal/mol of the minimum, between the half
    and the whole run: a convergence check).
    """
    import time

    import openmm as mm
    import openmm.app as app
    import openmm.unit as u

    from .collective_variables import available_torsions
    from .context import get_platform
    from .provenance import versions
    from .trajio import mdtraj_topology
    from .units import kcal_to_kj

    s = settings or LandscapeSettings()
    torsions = available_torsions(mdtraj_topology(system))
    missing = [name for name in s.torsions if name not in torsions]
    if missing:
        raise PathganInputError(
            f"landscape.torsions: {missing} not torsions of this system (known: {', '.join(list(torsions)[:6])}, ...)"
        )
    md_system = system.md_system(s.constraints)
    variables = []
    for name in s.torsions:
        force = mm.CustomTorsionForce("theta")
        force.addTorsion(*torsions[name], [])
        variables.append(
            app.BiasVariable(force, -math.pi, math.pi, math.radians(s.width_deg), True, gridWidth=s.grid)
        )
    meta = app.Metadynamics(
        md_system,
        variables,
        s.temperature_k * u.kelvin,
        s.bias_factor,
        kcal_to_kj(s.height_kcal_mol) * u.kilojoule_per_mole,
        s.deposit_interval_steps,
    )
    integrator = mm.LangevinMiddleIntegrator(
        s.temperature_k * u.kelvin, s.friction_per_ps / u.picosecond, s.timestep_fs * u.femtosecond
    )
    integrator.setRandomNumberSeed(s.seed)
    platform, properties = get_platform(s.platform)
    simulation = app.Simulation(system.topology, md_system, integrator, platform, properties)
    simulation.context.setPositions(system.positions)
    simulation.minimizeEnergy(maxIterations=200)
    simulation.context.setVelocitiesToTemperature(s.temperature_k * u.kelvin, s.seed)
    t0 = time.perf_counter()
    per_chunk = max(s.n_steps // 20, 1)  # 20 chunks: a progress bar, and the free energy at half time
    half = None
    done = 0
    bar = _progress_bar(s.n_steps, progress)
    while done < s.n_steps:
        n = min(per_chunk, s.n_steps - done)
        meta.step(simulation, n)
        done += n
        bar.update(n)
        if half is None and done >= s.n_steps // 2:
            half = _free_energy(meta)
    bar.close()
    f = _free_energy(meta)
    low = f < 10.0
    grid = _grid(s)
    return Landscape(
        (s.torsions[0], s.torsions[1]),
        grid,
        grid.copy(),
        f,
        s.temperature_k,
        {
            "method": "well-tempered metadynamics (openmm.app.Metadynamics)",
            "settings": s.to_dict(),
            "half_kcal_mol": float(np.max(np.abs((half - half[low].min()) - f)[low])),
            "wall_s": round(time.perf_counter() - t0, 1),
            "versions": versions(),
        },
    )


def _free_energy(meta: Any) -> np.ndarray:
    """OpenMM's free-energy grid in kcal/mol, without the repeated last row and column, zero at its minimum."""
    import openmm.unit as u

    f = np.asarray(meta.getFreeEnergy().value_in_unit(u.kilocalorie_per_mole))[:-1, :-1]
    return f - f.min()


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, show: bool) -> Any:
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="metadynamics", unit="step", unit_scale=True)
