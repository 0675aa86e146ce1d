"""A particle dragged across an analytic double well in OpenMM: pulls whose free energies are known exactly.

The check of the free-energy estimators (:mod:`.jarzynski`) against exact answers, through the
same OpenMM code path as steered MD. One particle moves in

    U(x) = h ((x / a)^2 - 1)^2                       (minima at x = +-a, barrier h at x = 0)

written as an OpenMM ``CustomExternalForce``, and is dragged by a harmonic trap
``k/2 (x - lambda)^2`` (another ``CustomExternalForce``, in a force group of its own) whose
centre ``lambda`` is a global parameter moved at constant velocity from ``lambda0`` to
``lambda1`` by :class:`~openmm_bridge.work.MovingParameter`: the work is OpenMM's own energy
of the trap's force group before and after every move, exactly as in a steered-MD pull.
y and z feel no force: they diffuse freely and drop out of every free energy (the partition
function factorises), so the problem is 1-D.

Each replica starts from equilibrium under the trap at ``lambda0``: x is drawn exactly from the
1-D Boltzmann density ``exp(-(U(x) + k/2 (x - lambda0)^2) / kT)`` (inverse CDF on a fine grid),
the velocities from Maxwell-Boltzmann. Exact answers by quadrature:

- :meth:`DoubleWellPull.free_energy_along_centre`: ``F(lambda) = -kT ln INT exp(-(U(x) + k/2
  (x - lambda)^2) / kT) dx``, zero at ``lambda0``: what Jarzynski's exponential and cumulant
  estimators estimate from the work;
- :meth:`DoubleWellPull.potential_kcal_mol`: ``U(x)``, the PMF along x up to a constant: what
  Hummer-Szabo estimates.

Units as in the rest of pathgan's API: Angstrom, kcal/mol, ps and fs as named, amu, K.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as u
from scipy.special import logsumexp

from .context import add_in_own_group, langevin, make_simulation
from .errors import PathganInputError
from .settings import Settings, at_least, positive
from .units import (
    angstrom_to_nm,
    kcal_a2_to_kj_nm2,
    kcal_to_kj,
    kt_kcal_mol,
    nm_to_angstrom,
)
from .work import MovingParameter

__all__ = ["DoubleWellPull", "DragResult", "compare_to_exact"]

#: Global parameter of the trap's centre (nm, OpenMM's unit).
CENTRE = "trap_centre"
#: Points of the quadrature grid (over lambda-range +- 8 thermal widths of the stiffest well).
N_QUADRATURE = 20_001


@dataclasses.dataclass
class DoubleWellPull(Settings):
    """The potential, the trap and the drag protocol (Angstrom, kcal/mol, ps, fs, amu, K as named).

    Defaults: barrier 4 kT at 300 K between minima 2 A apart; a trap (20 kcal/mol/A^2) stiffer
    than the barrier's curvature (4h/a^2 = 9.5), so trap + well has one minimum at every
    lambda; a 12 amu particle, friction 10/ps; dragged 3 A, from -1.5 to +1.5 A at 1.25 A/ps
    (about 1.4 kT dissipated), the trap moved every 10 fs. Steps of 1 fs (omega dt = 0.037 at
    the stiffest point): with 2 fs the free energy over the first quarter of the pull came out
    0.01-0.02 kcal/mol low, 3-4 standard errors over 6,000 pulls with a 40 kcal/mol/A^2 trap,
    half that with 0.5 fs (the integrator's own error, O(dt^2)).
    """

    barrier_kcal_mol: float = positive(2.4)
    half_width_angstrom: float = positive(1.0)
    k_kcal_mol_a2: float = positive(20.0)
    lambda0_angstrom: float = -1.5
    lambda1_angstrom: float = 1.5
    speed_angstrom_per_ps: float = positive(1.25)
    temperature_k: float = positive(300.0)
    mass_amu: float = positive(12.0)
    friction_per_ps: float = positive(10.0)
    timestep_fs: float = positive(1.0)
    update_interval_steps: int = positive(10)
    record_interval_steps: int = positive(10)
    n_replicas: int = at_least(2, 200)
    seed: int = 0
    platform: str = "Reference"

    def check(self, where: str) -> None:  # noqa: D102 - see Settings
        if self.lambda0_angstrom == self.lambda1_angstrom:
            raise PathganInputError(
                f"{where}: lambda0_angstrom and lambda1_angstrom are equal; nothing is pulled"
            )
        if self.record_interval_steps % self.update_interval_steps:
            raise PathganInputError(
                f"{where}.record_interval_steps ({self.record_interval_steps}) must be a multiple of "
                f"update_interval_steps ({self.update_interval_steps}): rows are written just after a move"
            )
        if self.n_steps < self.record_interval_steps:
            raise PathganInputError(
                f"{where}.speed_angstrom_per_ps: the pull lasts {self.n_steps} steps, fewer than one "
                f"record interval ({self.record_interval_steps})"
            )

    @property
    def kt_kcal_mol(self) -> float:
        """kT, kcal/mol."""
        return kt_kcal_mol(self.temperature_k)

    @property
    def n_steps(self) -> int:
        """MD steps of the pull: distance / speed / timestep (a whole number of record intervals)."""
        ps = abs(self.lambda1_angstrom - self.lambda0_angstrom) / self.speed_angstrom_per_ps
        steps = ps * 1000.0 / self.timestep_fs
        return int(round(steps / self.record_interval_steps)) * self.record_interval_steps

    def centre_at(self, step: int) -> float:
        """Trap centre (Angstrom) at MD step ``step``; it stays at ``lambda1`` after the pull."""
        frac = min(max(step / self.n_steps, 0.0), 1.0)
        return self.lambda0_angstrom + frac * (self.lambda1_angstrom - self.lambda0_angstrom)

    # ---- exact answers -------------------------------------------------------------------

    def potential_kcal_mol(self, x_angstrom: np.ndarray) -> np.ndarray:
        """The double well ``U(x)``, kcal/mol: the exact PMF along x (any shape)."""
        s = np.asarray(x_angstrom, dtype=np.float64) / self.half_width_angstrom
        return self.barrier_kcal_mol * (s**2 - 1.0) ** 2

    def _quadrature_grid(self) -> np.ndarray:
        lo, hi = sorted((self.lambda0_angstrom, self.lambda1_angstrom))
        lo, hi = min(lo, -self.half_width_angstrom), max(hi, self.half_width_angstrom)
        pad = 8.0 * np.sqrt(self.kt_kcal_mol / self.k_kcal_mol_a2) + self.half_width_angstrom
        return np.linspace(lo - pad, hi + pad, N_QUADRATURE)

    def _trapped_kcal_mol(self, x: np.ndarray, centre: np.ndarray) -> np.ndarray:
        return self.potential_kcal_mol(x) + 0.5 * self.k_kcal_mol_a2 * (x - centre) ** 2

    def free_energy_along_centre(self, centre_angstrom: np.ndarray) -> np.ndarray:
        """Exact ``F(lambda) - F(lambda0)`` (kcal/mol) at centres (n,), by quadrature over x.

        What Jarzynski's equality gives from the work of pulls started in equilibrium at lambda0.
        """
        x = self._quadrature_grid()
        kt = self.kt_kcal_mol
        lam = np.append(np.asarray(centre_angstrom, dtype=np.float64), self.lambda0_angstrom)
        # log INT exp(-E/kT) dx on a uniform grid (the dx and end corrections cancel in differences)
        log_z = logsumexp(-self._trapped_kcal_mol(x[None, :], lam[:, None]) / kt, axis=1)
        f = -kt * log_z
        return f[:-1] - f[-1]

    def equilibrium_x(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` exact draws (Angstrom) of x under the trap at lambda0 (inverse CDF, linear between grid points)."""
        x = self._quadrature_grid()
        log_p = -self._trapped_kcal_mol(x, self.lambda0_angstrom) / self.kt_kcal_mol
        p = np.exp(log_p - log_p.max())
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]))])
        return np.interp(rng.uniform(0.0, cdf[-1], n), cdf, x)

    # ---- the OpenMM system ---------------------------------------------------------------

    def system(self) -> tuple[mm.System, int]:
        """One particle with the double well (force group 0) and the trap (a group of its own).

        Returns the System and the trap's force group. Parameters in OpenMM's units: the
        well's ``dw_h`` (kJ/mol) and ``dw_a`` (nm), the trap's ``trap_k`` (kJ/mol/nm^2) and
        ``trap_centre`` (nm), set to lambda0.
        """
        system = mm.System()
        system.addParticle(self.mass_amu)
        well = mm.CustomExternalForce("dw_h*((x/dw_a)^2-1)^2")
        well.addGlobalParameter("dw_h", kcal_to_kj(self.barrier_kcal_mol))
        well.addGlobalParameter("dw_a", angstrom_to_nm(self.half_width_angstrom))
        well.addParticle(0, [])
        well.setName("double well")
        system.addForce(well)
        trap = mm.CustomExternalForce(f"0.5*trap_k*(x-{CENTRE})^2")
        trap.addGlobalParameter("trap_k", kcal_a2_to_kj_nm2(self.k_kcal_mol_a2))
        trap.addGlobalParameter(CENTRE, angstrom_to_nm(self.lambda0_angstrom))
        trap.addParticle(0, [])
        trap.setName("trap")
        return system, add_in_own_group(system, trap)

    def run(self) -> DragResult:
        """Run the ``n_replicas`` pulls in OpenMM (one Simulation, replicas one after another).

        Every replica: x from :meth:`equilibrium_x`, y = z = 0, Maxwell-Boltzmann velocities,
        then ``n_steps`` of Langevin dynamics while :class:`~openmm_bridge.work.MovingParameter`
        moves the trap every ``update_interval_steps`` and a recorder, after it in the reporter
        list, keeps x and the work every ``record_interval_steps``.
        """
        self.validate("DoubleWellPull")
        system, group = self.system()
        seed = np.random.SeedSequence(self.seed)
        integrator_seed, start_seed = (int(s.generate_state(1)[0] % 2**30) + 1 for s in seed.spawn(2))
        integrator = langevin(self.temperature_k, self.friction_per_ps, self.timestep_fs, integrator_seed)
        topology = app.Topology()
        topology.addAtom("X", app.element.carbon, topology.addResidue("DW", topology.addChain()))
        simulation = make_simulation(topology, system, integrator, self.platform)
        rng = np.random.default_rng(start_seed)
        x0 = self.equilibrium_x(self.n_replicas, rng)
        # Maxwell-Boltzmann: sqrt(kT/m) in nm/ps (kJ/mol / amu = nm^2/ps^2)
        v_scale = np.sqrt(kcal_to_kj(self.kt_kcal_mol) / self.mass_amu)
        velocities = rng.normal(0.0, v_scale, size=(self.n_replicas, 3))
        n_rows = self.n_steps // self.record_interval_steps + 1
        x = np.empty((self.n_replicas, n_rows))
        work = np.empty((self.n_replicas, n_rows))
        schedule = lambda step: angstrom_to_nm(self.centre_at(step))  # noqa: E731 - nm, OpenMM's unit
        for r in range(self.n_replicas):
            pull = MovingParameter(group, CENTRE, schedule, self.update_interval_steps)
            recorder = _Recorder(self.record_interval_steps, pull, x[r], work[r])
            simulation.currentStep = 0
            simulation.context.setTime(0.0)
            pull.start(simulation.context, 0)
            simulation.context.setPositions([mm.Vec3(angstrom_to_nm(x0[r]), 0.0, 0.0)] * u.nanometer)
            simulation.context.setVelocities([mm.Vec3(*velocities[r])] * (u.nanometer / u.picosecond))
            recorder.record(0, simulation.context.getState(getPositions=True))
            simulation.reporters[:] = [pull, recorder]
            simulation.step(self.n_steps)
        steps = np.arange(n_rows) * self.record_interval_steps
        centre = np.array([self.centre_at(s) for s in steps])
        return DragResult(self, centre, x, work)


class _Recorder:
    """Keeps x (Angstrom) and the work (kcal/mol) of one replica; runs after the MovingParameter."""

    def __init__(self, interval: int, pull: MovingParameter, x: np.ndarray, work: np.ndarray) -> None:
        self.interval, self.pull, self.x, self.work = interval, pull, x, work

    def describeNextReport(self, simulation: app.Simulation) -> dict:  # noqa: N802 - OpenMM's reporter API
        # unwrapped positions, as MovingParameter asks: the two run in list order (it moves first)
        return {
            "steps": self.interval - simulation.currentStep % self.interval,
            "periodic": False,
            "include": ["positions"],
        }

    def report(self, simulation: app.Simulation, state: mm.State) -> None:
        self.record(simulation.currentStep, state)

    def record(self, step: int, state: mm.State) -> None:
        row = step // self.interval
        self.x[row] = nm_to_angstrom(state.getPositions(asNumpy=True)[0][0].value_in_unit(u.nanometer))
        self.work[row] = self.pull.work_kcal_mol


@dataclass
class DragResult:
    """The pulls of a :class:`DoubleWellPull`: ``x`` and ``work`` (n_replicas, n_rows), ``centre`` (n_rows,).

    Rows every ``record_interval_steps`` from step 0 (work 0); Angstrom and kcal/mol.
    """

    settings: DoubleWellPull
    centre_angstrom: np.ndarray
    x_angstrom: np.ndarray
    work_kcal_mol: np.ndarray

    def dissipated_work_kt(self) -> float:
        """Mean dissipated work of the whole pull, ``<W> - dF``, in units of kT."""
        s = self.settings
        df = s.free_energy_along_centre(np.array([s.lambda1_angstrom]))[0]
        return float((self.work_kcal_mol[:, -1].mean() - df) / s.kt_kcal_mol)

    def grid_rows(self, n_points: int) -> np.ndarray:
        """Indices of ``n_points`` rows evenly spread over the pull, the start (where F = 0 exactly) left out."""
        n = self.centre_angstrom.shape[0] - 1
        if n_points > n:
            raise PathganInputError(
                f"{n_points} grid points asked for, but the pull has only {n} recorded rows"
            )
        return np.round(np.linspace(n / n_points, n, n_points)).astype(int)


def compare_to_exact(
    estimate: np.ndarray, error: np.ndarray, exact: np.ndarray, fit_offset: bool = False
) -> dict[str, float]:
    """How an estimated curve (n,) with bootstrap errors (n,) matches the exact one (n,), kcal/mol.

    ``fit_offset``: the curves are defined up to a constant (a PMF along x); the estimate is
    first shifted by the error-weighted mean of ``estimate - exact``. Points where the
    estimate is NaN are left out. Returns the RMS deviation, the mean error, their ratio, the
    fraction of points within 2 sigma, the mean signed deviation and the number of points used.
    """
    est, err, ref = (np.asarray(a, dtype=np.float64) for a in (estimate, error, exact))
    if not est.shape == err.shape == ref.shape:
        raise PathganInputError(
            f"estimate, error and exact have shapes {est.shape}, {err.shape}, {ref.shape}"
        )
    ok = np.isfinite(est) & np.isfinite(err) & (err > 0)
    if not ok.any():
        raise PathganInputError("no point of the estimate is finite with a positive error")
    dev = est[ok] - ref[ok]
    if fit_offset:
        dev = dev - np.average(dev, weights=1.0 / err[ok] ** 2)
    rms, mean_err = float(np.sqrt(np.mean(dev**2))), float(np.mean(err[ok]))
    return {
        "rms_kcal_mol": rms,
        "mean_error_kcal_mol": mean_err,
        "rms_over_error": rms / mean_err,
        "fraction_within_2_sigma": float(np.mean(np.abs(dev) <= 2.0 * err[ok])),
        "mean_deviation_kcal_mol": float(np.mean(dev)),
        "n_points": int(ok.sum()),
    }
