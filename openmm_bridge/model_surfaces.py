"""An analytic 2-D surface through OpenMM, with its exact minimum energy path: a test bed for strings.

One particle moves in the x-y plane (held near z = 0 by a stiff harmonic term) on

    V(x, y) = a ((x/l)^2 - 1)^2 + b (y - c ((x/l)^2 - 1))^2        (kcal/mol; x, y in Angstrom)

two minima at (+-l, 0), a saddle at (0, -c) of height ``a``, joined by a curved valley. With
the particle's own x and y as collective variables (``"x:0"``, ``"y:0"``, see
:mod:`.collective_variables`) the free energy is V itself (the z motion is separate and the
metric of Cartesian variables is constant), so the minimum free-energy path of the string
method with swarms of trajectories is the minimum energy path of V at any temperature, and
the free energy along it is V along it. :func:`minimum_energy_path` computes that path by a
zero-temperature string on the analytic gradient, to any precision asked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import openmm as mm

from .errors import PathganInputError
from .string_method import reparametrize
from .units import ANGSTROM_PER_NM, kcal_to_kj

#: Stiffness of the term holding the particle near z = 0 (kcal/mol/A^2); z is not a variable.
Z_STIFFNESS_KCAL_MOL_A2 = 50.0


@dataclass(frozen=True)
class CurvedDoubleWell:
    """The surface of the module docstring; energies in kcal/mol, lengths in Angstrom."""

    barrier_kcal_mol: float = 3.0  # a: saddle above the minima
    half_width_angstrom: float = 1.0  # l: minima at x = +-l
    valley_k_kcal_mol_a2: float = 5.0  # b: stiffness across the valley
    bend_angstrom: float = 0.6  # c: how far the saddle lies below the line joining the minima

    def __post_init__(self) -> None:
        for name in ("barrier_kcal_mol", "half_width_angstrom", "valley_k_kcal_mol_a2"):
            if not getattr(self, name) > 0:
                raise PathganInputError(
                    f"CurvedDoubleWell.{name}: must be positive, got {getattr(self, name)!r}"
                )

    @property
    def minima(self) -> np.ndarray:
        """The two minima (2, 2), Angstrom."""
        return np.array([[-self.half_width_angstrom, 0.0], [self.half_width_angstrom, 0.0]])

    @property
    def saddle(self) -> np.ndarray:
        """The saddle point (2,), Angstrom."""
        return np.array([0.0, -self.bend_angstrom])

    def energy(self, xy: np.ndarray) -> np.ndarray:
        """V at points ``xy`` (..., 2), Angstrom -> (...,) kcal/mol."""
        xy = np.asarray(xy, dtype=np.float64)
        q = (xy[..., 0] / self.half_width_angstrom) ** 2 - 1
        return (
            self.barrier_kcal_mol * q**2
            + self.valley_k_kcal_mol_a2 * (xy[..., 1] - self.bend_angstrom * q) ** 2
        )

    def gradient(self, xy: np.ndarray) -> np.ndarray:
        """dV/d(x, y) at points ``xy`` (..., 2), Angstrom -> (..., 2) kcal/mol/A."""
        xy = np.asarray(xy, dtype=np.float64)
        l2 = self.half_width_angstrom**2
        q = xy[..., 0] ** 2 / l2 - 1
        dq = 2 * xy[..., 0] / l2
        valley = xy[..., 1] - self.bend_angstrom * q
        gx = (
            2 * self.barrier_kcal_mol * q - 2 * self.valley_k_kcal_mol_a2 * valley * self.bend_angstrom
        ) * dq
        return np.stack([gx, 2 * self.valley_k_kcal_mol_a2 * valley], axis=-1)

    def restrained_mean_force(
        self, z: np.ndarray, k_kcal_mol_a2: float, temperature_k: float, half_width_sigmas: float = 8.0
    ) -> np.ndarray:
        """Exact K (z - <theta>) under the restraint 1/2 K |theta - z|^2 at each image ``z`` (n, 2), A.

        The gradient of the restrained free energy F_K that the swarms estimate (kcal/mol/A), by
        quadrature on a grid of +- ``half_width_sigmas`` restraint widths (sqrt(kT/K)), 201 points a side.
        """
        from .units import kt_kcal_mol

        kt = kt_kcal_mol(temperature_k)
        g = np.linspace(-1.0, 1.0, 201) * half_width_sigmas * np.sqrt(kt / k_kcal_mol_a2)
        dx, dy = np.meshgrid(g, g, indexing="ij")
        out = []
        for zi in np.asarray(z, dtype=np.float64):
            u = self.energy(np.stack([dx + zi[0], dy + zi[1]], axis=-1)) + 0.5 * k_kcal_mol_a2 * (
                dx**2 + dy**2
            )
            w = np.exp(-(u - u.min()) / kt)
            out.append(-k_kcal_mol_a2 * np.array([(w * dx).sum(), (w * dy).sum()]) / w.sum())
        return np.array(out)

    def force(self) -> mm.CustomExternalForce:
        """V (and the z confinement) as an OpenMM force on particle 0, in OpenMM's nm and kJ/mol."""
        a = kcal_to_kj(self.barrier_kcal_mol)
        b = kcal_to_kj(self.valley_k_kcal_mol_a2) * ANGSTROM_PER_NM**2  # per nm^2
        kz = kcal_to_kj(Z_STIFFNESS_KCAL_MOL_A2) * ANGSTROM_PER_NM**2
        force = mm.CustomExternalForce(
            "a*q^2 + b*(y - c*q)^2 + 0.5*kz*z^2; q = (x/l)^2 - 1"
        )  # x, y, z in nm: l and c converted below
        for name, value in (
            ("a", a),
            ("b", b),
            ("kz", kz),
            ("l", self.half_width_angstrom / ANGSTROM_PER_NM),
            ("c", self.bend_angstrom / ANGSTROM_PER_NM),
        ):
            force.addGlobalParameter(name, float(value))
        force.addParticle(0, [])
        force.setName("curved double well")
        return force

    def system(self, mass_amu: float = 4.0) -> mm.System:
        """An OpenMM System of one particle of ``mass_amu`` on the surface."""
        if not mass_amu > 0:
            raise PathganInputError(f"CurvedDoubleWell.system: mass_amu must be positive, got {mass_amu!r}")
        system = mm.System()
        system.addParticle(mass_amu)
        system.addForce(self.force())
        return system


def structures(xy_angstrom: np.ndarray) -> np.ndarray:
    """One-particle structures (n, 1, 3) in Angstrom (z = 0) from points ``xy_angstrom`` (n, 2)."""
    xy = np.asarray(xy_angstrom, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise PathganInputError(f"points must have shape (n, 2), got {xy.shape}")
    return np.concatenate([xy, np.zeros((len(xy), 1))], axis=1)[:, None, :]


def minimum_energy_path(
    surface: CurvedDoubleWell,
    n_images: int = 101,
    step_angstrom2_per_kcal: float = 2e-3,
    tol_angstrom: float = 1e-9,
    max_iterations: int = 200_000,
) -> np.ndarray:
    """The minimum energy path (n_images, 2), Angstrom, from minimum to minimum (simplified string).

    Steepest descent of every interior image, then redistribution at equal arc length (E, Ren and
    Vanden-Eijnden 2007), from a string bowed towards the saddle; stops when no image moves more
    than ``tol_angstrom`` in an iteration. Raises :class:`PathganInputError` if it does not.
    """
    if n_images < 3:
        raise PathganInputError(f"minimum_energy_path: n_images must be at least 3, got {n_images}")
    t = np.linspace(0.0, 1.0, n_images)
    lo, hi = surface.minima
    path = lo + t[:, None] * (hi - lo)
    path[:, 1] += 4 * t * (1 - t) * surface.saddle[1]  # a start on the right side of the valley
    for _ in range(max_iterations):
        new = path.copy()
        new[1:-1] -= step_angstrom2_per_kcal * surface.gradient(path[1:-1])
        new = reparametrize(new[:, :, None])[:, :, 0]
        moved = float(np.abs(new - path).max())
        path = new
        if moved < tol_angstrom:
            return path
    raise PathganInputError(f"minimum_energy_path: not converged in {max_iterations} iterations")


def distance_to_path(points: np.ndarray, path: np.ndarray) -> np.ndarray:
    """Shortest distance (n,) from each of ``points`` (n, d) to the polyline ``path`` (m, d)."""
    p = np.asarray(points, dtype=np.float64)[:, None, :]
    a, b = path[:-1][None], path[1:][None]
    ab = b - a
    w = np.clip(np.sum((p - a) * ab, axis=-1) / np.maximum(np.sum(ab * ab, axis=-1), 1e-300), 0.0, 1.0)
    return np.linalg.norm(p - (a + w[..., None] * ab), axis=-1).min(axis=1)
