"""The string method with swarms of trajectories (Pan, Sezer and Roux, J. Phys. Chem. B 112, 3432 (2008)).

Images live in the space of collective variables (default: backbone phi/psi of every
residue). Each iteration, for every image (a Dask task, run where the steered-MD
replicas run):

1. restrained equilibration: ``equilibration_steps`` of Langevin dynamics with a harmonic
   restraint (force constant K) holding the variables at the image z; the variables are
   sampled every ``sample_every_steps`` over its second half;
2. a swarm: ``swarm_size`` short unrestrained runs of ``swarm_steps`` from the
   equilibrated structure, velocities drawn afresh;
3. the drift: the mean change of the variables over the swarm.

The images move by their drift, are smoothed (``smoothing``), and are redistributed at
equal arc length in variable space (angles unwrapped along the string); the end images
stay fixed.

The free energy along the string comes from the restrained samples, the standard way: the
mean force K (z - <theta>) is the gradient of the free energy at the image (exact for the
restrained ensemble, the free energy of the variables for a stiff K), and the trapezoid rule
integrates it along the string. Each iteration's profile has an error propagated from the
standard error of each <theta>, its samples decorrelated by their statistical inefficiency
(pymbar.timeseries; an overestimate when the variables oscillate about a stiff restraint, as
pymbar's g counts only the first positive lobe of the autocorrelation). Averaged over W
iterations, the profile's error is the standard error of the iterations' mean (batch means).
The profile is that of the restrained free energy F_K = -kT ln(exp(-F/kT) convolved with the
restraint's Gaussian of width sqrt(kT/K)), integrated by the trapezoid rule between images:
both bias it, by amounts that shrink with stiffer K and more images.

Convergence (a swarm's drift is noisy, so single iterations are never compared), by one of
two tests (``convergence``):

``"window"`` (the default): ``convergence_window`` = W iterations are averaged, and the run
stops when, between the last W iterations and the W before,

- the images' mean positions moved less than ``tol_drift`` (RMS over images of the
  displacement, variable units: rad / A), and
- the mean free-energy profile changed nowhere by more than ``profile_sigmas`` times its
  error or ``tol_profile_kcal_mol``, whichever is larger.

The floor of the drift is the swarms' noise: about sqrt(2/W) times the RMS image displacement
of one iteration at convergence (``rms_displacement_cv`` in the history) when iterations are
independent; ``tol_drift`` must lie above it. A stationary string's window drift falls as
1/sqrt(W) only once W exceeds the iterations' correlation. Deca-alanine's 20 torsions are
correlated over about 100 iterations: after its transient (the first 345 of 1,023 iterations,
while the string relaxed from the pulled path), the window drift averaged 0.35 rad at W = 10,
0.32 at 100, 0.25 at 200 and 0.19 at 300, so a 0.25 rad tolerance needs W >= 200, and 400
iterations after the transient before it can be judged.

``"profile"``: the free-energy profile is stationary (:func:`profile_stationarity`): after its
transient, the two halves of the run agree within ``profile_sigmas`` of their errors (counted
with the iterations' correlation) or ``tol_profile_kcal_mol``, the mean's largest error is at
most ``profile_precision_kcal_mol``, and each half holds at least ten independent iterations.
The string's own drift between the halves is recorded beside it (``string_drift_between_halves_cv``):
where it stays large, the free energy is converged but the path is not unique.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import openmm as mm
import openmm.unit as u

from .collective_variables import (
    CollectiveVariable,
    cv_values,
    periodic_delta,
    restraint_force,
    set_targets,
)
from .context import get_platform, langevin, make_context
from .errors import PathganInputError
from .fileio import atomic_file
from .provenance import versions
from .settings import Settings, at_least, non_negative, one_of, positive, within
from .string_method import check_images, reparametrize
from .timeseries import mean_and_error, statistical_inefficiency, transient
from .units import angstrom_to_nm, nm_to_angstrom

#: The stopping tests: the last two windows of W iterations, or the profile's stationarity since the transient.
CONVERGENCE_TESTS = ("window", "profile")
#: The "profile" test needs at least this many independent iterations in each half of the production.
MIN_EFFECTIVE_PER_HALF = 10.0

#: Settings that are gone, and why (an old configuration is refused with this text).
REMOVED = {
    "tol_energy_kcal_mol": (
        "removed: it compared single-snapshot potential energies (which fluctuate by about 8 kcal/mol at "
        "300 K) and could not be met; convergence is now judged on window averages: tol_drift, "
        "tol_profile_kcal_mol, profile_sigmas, convergence_window"
    ),
    "tol_displacement": (
        "removed: the largest image move of one iteration never falls below the swarms' noise; use "
        "tol_drift (RMS move of the images averaged over convergence_window iterations, same units)"
    ),
}


@dataclasses.dataclass
class SwarmsConfig(Settings):
    """Settings of the swarms-of-trajectories string (kcal/mol, fs, ps, K as named; CVs in rad / A)."""

    RENAMED = {"restraint_k_kj_mol": "restraint_k_kcal_mol"}

    max_iterations: int = positive(20)
    restraint_k_kcal_mol: float = positive(120.0)  # per rad^2 (torsions) or per A^2 (distances)
    equilibration_steps: int = positive(500)
    sample_every_steps: int = positive(10)  # restrained samples for the mean force (second half)
    swarm_size: int = positive(16)
    swarm_steps: int = positive(10)
    temperature_k: float = positive(300.0)
    friction_per_ps: float = positive(1.0)
    timestep_fs: float = positive(1.0)
    smoothing: float = within(0.0, 0.5, 0.1, closed=False)
    convergence_window: int = at_least(2, 5)  # iterations averaged before comparing (batch means)
    tol_drift: float = non_negative(0.02)  # RMS move of the window-mean images, CV units (rad / A)
    tol_profile_kcal_mol: float = non_negative(0.5)  # profile change always accepted below this
    profile_sigmas: float = positive(3.0)  # ... or below this many of its errors
    convergence: str = one_of(CONVERGENCE_TESTS, "window")  # the stopping test (module docstring)
    profile_precision_kcal_mol: float = positive(0.5)  # "profile": largest error of the production mean
    platform: str = "Reference"
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, where: str = "swarms") -> SwarmsConfig:
        """As :meth:`Settings.from_dict`, refusing removed settings with the reason."""
        for key, why in REMOVED.items():
            if isinstance(data, dict) and key in data:
                raise PathganInputError(f"{where}.{key}: {why}")
        return super().from_dict(data, where)

    def check(self, where: str) -> None:
        """The platform must exist; the second half of the equilibration must hold samples."""
        get_platform(self.platform)
        if self.sample_every_steps > self.equilibration_steps // 2:
            raise PathganInputError(
                f"{where}.sample_every_steps: must be at most half of equilibration_steps "
                f"({self.equilibration_steps}), got {self.sample_every_steps}"
            )


def image_task(
    system_xml: str,
    positions_nm: list,
    cvs: list[tuple[str, str, tuple[int, ...]]],
    targets: list[float],
    config: dict,
    seed: int,
) -> dict[str, Any]:
    """One image of one iteration (plain data in and out, for a Dask worker).

    Returns the equilibrated positions (nm), the drift of the swarm, and the restrained mean of
    the variables with its standard error (variable units) and statistical inefficiency.
    """
    c = SwarmsConfig.from_dict(config, "swarms")
    variables = [CollectiveVariable(n, k, tuple(a)) for n, k, a in cvs]
    periodic = np.array([v.periodic for v in variables])
    z = np.asarray(targets, dtype=np.float64)
    system = mm.XmlSerializer.deserialize(system_xml)
    restraint = restraint_force(variables, c.restraint_k_kcal_mol)
    system.addForce(restraint)
    integrator = langevin(c.temperature_k, c.friction_per_ps, c.timestep_fs, seed)
    context = make_context(system, c.platform, integrator)
    context.setPositions(np.asarray(positions_nm))
    set_targets(context, variables, z, c.restraint_k_kcal_mol)
    context.setVelocitiesToTemperature(c.temperature_k * u.kelvin, seed)
    n_samples = (c.equilibration_steps // 2) // c.sample_every_steps
    integrator.step(c.equilibration_steps - n_samples * c.sample_every_steps)
    offsets = []  # theta - z, unwrapped: small under a stiff restraint
    for _ in range(n_samples):
        integrator.step(c.sample_every_steps)
        offsets.append(periodic_delta(cv_values(context, restraint, variables), z, periodic))
    mean_offset, err, g = mean_and_error(np.array(offsets))
    start = context.getState(getPositions=True)
    z0 = cv_values(context, restraint, variables)
    ends = []
    for k in range(c.swarm_size):
        context.setState(start)
        context.setParameter("cv_k", 0.0)  # the swarm runs free
        context.setVelocitiesToTemperature(c.temperature_k * u.kelvin, seed * 1000 + k + 1)
        integrator.step(c.swarm_steps)
        ends.append(periodic_delta(cv_values(context, restraint, variables), z0, periodic))
    return {
        "positions_nm": start.getPositions(asNumpy=True).value_in_unit(u.nanometer).tolist(),
        "drift": np.mean(ends, axis=0).tolist(),
        "restrained_offset": mean_offset.tolist(),
        "restrained_offset_error": err.tolist(),
        "statistical_inefficiency": g.tolist(),
    }


def free_energy_profile(
    z: np.ndarray, mean_force: np.ndarray, force_error: np.ndarray, periodic: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Free energy (n_images,) along the string and its error, zero at the first image (kcal/mol).

    ``z`` (n_images, n_cvs): the images; ``mean_force`` (n_images, n_cvs): dF/dz at each image
    (kcal/mol per rad or per A); ``force_error``: its standard error, independent between images
    and variables. Trapezoid rule: F_k = sum_{j<k} 1/2 (f_j + f_{j+1}) . (z_{j+1} - z_j).
    """
    dz = periodic_delta(z[1:], z[:-1], periodic)  # (n-1, d)
    f = 0.5 * np.einsum("jc,jc->j", mean_force[:-1] + mean_force[1:], dz)
    profile = np.concatenate([[0.0], np.cumsum(f)])
    # weight of image j's force in F_k: 1/2 dz_{j-1} (if j-1 < k) + 1/2 dz_j (if j < k)
    n = len(z)
    var = np.zeros(n)
    for k in range(1, n):
        w = np.zeros_like(z)
        w[:k] += 0.5 * dz[:k]
        w[1 : k + 1] += 0.5 * dz[:k]
        var[k] = np.sum((w * force_error) ** 2)
    return profile, np.sqrt(var)


def arc_length(z: np.ndarray, periodic: np.ndarray) -> np.ndarray:
    """Cumulative length (n_images,) along the images (n_images, n_cvs), variable units."""
    steps = np.linalg.norm(periodic_delta(z[1:], z[:-1], periodic), axis=1)
    return np.concatenate([[0.0], np.cumsum(steps)])


def window_mean(history: list[dict[str, Any]], periodic: np.ndarray) -> dict[str, np.ndarray]:
    """Images, profile and the profile's standard error over the iterations of ``history``.

    The error is that of the mean of the iterations' profiles (batch means, ddof 1): each
    iteration is an independent restrained run, and their scatter counts the string's own
    fluctuation too. For one iteration, the error propagated from its samples.
    """
    zs = np.array([row["z"] for row in history])
    ref = zs[-1]
    z = ref + periodic_delta(zs, ref, periodic).mean(axis=0)
    profiles = np.array([row["profile_kcal_mol"] for row in history])
    if len(history) > 1:
        error = profiles.std(axis=0, ddof=1) / np.sqrt(len(history))
    else:
        error = np.asarray(history[0]["profile_error_kcal_mol"])
    return {
        "z": wrap(z, periodic),
        "profile_kcal_mol": profiles.mean(axis=0),
        "profile_error_kcal_mol": error,
    }


def string_distance(history: list[dict[str, Any]], periodic: np.ndarray) -> np.ndarray:
    """Each iteration's RMS distance (n_iterations,) over inner images to the mean string of the last quarter, rad / A.

    It falls while the string relaxes from its first guess and then fluctuates: the series whose
    transient marks where a stationary run begins.
    """
    ref = window_mean(history[-max(len(history) // 4, 1) :], periodic)["z"]
    zs = np.array([row["z"] for row in history])
    d = periodic_delta(zs, ref, periodic)[:, 1:-1]
    return np.sqrt(np.mean(np.sum(d**2, axis=-1), axis=-1)) if d.shape[1] else np.zeros(len(history))


def profile_stationarity(
    history: list[dict[str, Any]],
    periodic: np.ndarray,
    tol_kcal_mol: float,
    sigmas: float,
    precision_kcal_mol: float,
) -> dict[str, Any]:
    """The "profile" convergence test over every iteration so far, and the production's means.

    The transient is discarded: the later of pymbar's ``detect_equilibration`` origins of the
    end-to-end free energy of each iteration and of the string's distance to its recent mean
    (:func:`string_distance`), at most half the history. The string's relaxation is the clearer
    signal: on deca-alanine each iteration's free energy scatters by 7 kcal/mol, which hides a
    2 kcal/mol drift of the first 300 iterations while the string was still settling. The rest, the production, is split into
    halves. Each point k of the profile has a statistical inefficiency g_k over the production
    (in iterations: successive strings are correlated), so the production mean has the error
    sd_k sqrt(g_k / n). The halves' difference is judged against the noise about the production's
    straight-line fit, sd'_k sqrt(g'_k / n1 + g'_k / n2) with sd' and g' of the residuals: under
    stationarity the same as sd and g, while a slow trend, which inflates sd and g alike, would
    otherwise hide itself (a trend of 3 kcal/mol over 200 iterations of 1 kcal/mol noise passed
    at 1.7 sigma that way). Converged when

    - the halves agree everywhere within ``sigmas`` of that error or ``tol_kcal_mol``;
    - the production mean's largest error is at most ``precision_kcal_mol``;
    - each half holds at least ``MIN_EFFECTIVE_PER_HALF`` independent iterations (n_half / g_max),
      so that neither g nor the halves' comparison rests on a handful of iterations.

    Returns the history-row fields (``production_from_iteration``, ``production_iterations``,
    ``profile_g_max``, ``profile_error_max_kcal_mol``, ``profile_halves_change_sigmas``,
    ``effective_iterations_per_half``, ``profile_converged``, and, as a diagnostic,
    ``string_drift_between_halves_cv``: the RMS over inner images of the move of the halves'
    mean strings, rad / A) and the production's ``z`` (mean string), ``profile_kcal_mol`` and
    ``profile_error_kcal_mol`` (arrays, not stored in the row).
    """
    profiles = np.array([row["profile_kcal_mol"] for row in history])
    t0 = min(
        max(transient(profiles[:, -1]), transient(string_distance(history, periodic))), len(history) // 2
    )
    prod, rows = profiles[t0:], history[t0:]
    n = len(prod)
    if n < 4:
        return {"profile_converged": False, "production_from_iteration": None}
    g = np.array([statistical_inefficiency(col) if np.ptp(col) > 0 else 1.0 for col in prod.T])
    error = prod.std(axis=0, ddof=1) * np.sqrt(g / n)
    # the halves are compared against the noise about a straight line: a slow trend would
    # otherwise pass for correlation (it inflates g and sd alike) and hide itself
    t = np.arange(n) - (n - 1) / 2.0
    slope = t @ (prod - prod.mean(axis=0)) / (t @ t)
    residual = prod - prod.mean(axis=0) - np.outer(t, slope)
    g_noise = np.array([statistical_inefficiency(col) if np.ptp(col) > 0 else 1.0 for col in residual.T])
    n1 = n // 2
    change = np.abs(prod[:n1].mean(axis=0) - prod[n1:].mean(axis=0))
    sigma = residual.std(axis=0, ddof=2) * np.sqrt(g_noise / n1 + g_noise / (n - n1))
    first, second = window_mean(rows[:n1], periodic), window_mean(rows[n1:], periodic)
    moved = np.linalg.norm(periodic_delta(second["z"], first["z"], periodic), axis=1)[1:-1]
    effective = min(n1, n - n1) / float(g.max())
    within = bool(np.all(change <= np.maximum(tol_kcal_mol, sigmas * sigma)))
    return {
        "production_from_iteration": int(rows[0]["iteration"]),
        "production_iterations": n,
        "profile_g_max": float(g.max()),
        "profile_error_max_kcal_mol": float(error.max()),
        "profile_halves_change_sigmas": float(
            np.max(np.where(sigma > 0, change / np.maximum(sigma, 1e-300), 0.0))
        ),
        "effective_iterations_per_half": float(effective),
        "string_drift_between_halves_cv": float(np.sqrt(np.mean(moved**2))) if len(moved) else 0.0,
        "profile_converged": bool(
            within and error.max() <= precision_kcal_mol and effective >= MIN_EFFECTIVE_PER_HALF
        ),
        "z": window_mean(rows, periodic)["z"],
        "profile_kcal_mol": prod.mean(axis=0),
        "profile_error_kcal_mol": error,
    }


def convergence_tests(
    history: list[dict[str, Any]], config: SwarmsConfig, periodic: np.ndarray
) -> dict[str, Any]:
    """The history-row fields of both tests on ``history`` so far (see the module docstring).

    The window test compares the last W iterations with the W before (its fields stay None until
    2W iterations exist); the profile test (:func:`profile_stationarity`) runs on every iteration
    since the transient. Both are computed whichever stops the run, so each can be read later.
    """
    c = config
    row: dict[str, Any] = {}
    w = c.convergence_window
    if len(history) >= 2 * w:
        new = window_mean(history[-w:], periodic)
        old = window_mean(history[-2 * w : -w], periodic)
        moved = np.linalg.norm(periodic_delta(new["z"], old["z"], periodic), axis=1)
        change = np.abs(new["profile_kcal_mol"] - old["profile_kcal_mol"])
        # error of the difference; with equal windows, the pooled scatter of both (2W - 2 dof)
        sigma = np.sqrt(new["profile_error_kcal_mol"] ** 2 + old["profile_error_kcal_mol"] ** 2)
        sigmas = np.where(sigma > 0, change / np.maximum(sigma, 1e-300), 0.0)
        row |= {
            "window_drift_cv": float(np.sqrt(np.mean(moved[1:-1] ** 2))),
            "window_profile_change_kcal_mol": float(change.max()),
            "window_profile_change_sigmas": float(sigmas.max()),
            "window_profile_within_error": bool(
                np.all(change <= np.maximum(c.tol_profile_kcal_mol, c.profile_sigmas * sigma))
            ),
        }
    stationarity = profile_stationarity(
        history, periodic, c.tol_profile_kcal_mol, c.profile_sigmas, c.profile_precision_kcal_mol
    )
    return row | {k: v for k, v in stationarity.items() if not isinstance(v, np.ndarray)}


def meets_convergence(row: dict[str, Any], config: SwarmsConfig) -> bool:
    """Whether a history row passes ``config.convergence``: "window" (drift and profile) or "profile"."""
    if config.convergence == "profile":
        return bool(row.get("profile_converged"))
    if row.get("window_drift_cv") is None:
        return False
    return row["window_drift_cv"] < config.tol_drift and bool(row["window_profile_within_error"])


def first_convergence(
    history: list[dict[str, Any]], config: SwarmsConfig, periodic: np.ndarray
) -> int | None:
    """The iteration at which a run with ``config`` would have stopped on this ``history``, or None.

    The tests read the history and never feed back into the iterations (each iteration's seeds
    depend on the seed and its number only), so a recorded history can be judged afresh by
    another test: the run stopped there would have produced the same iterations up to it.
    """
    for t in range(1, len(history) + 1):
        if meets_convergence(convergence_tests(history[:t], config, periodic), config):
            return int(history[t - 1]["iteration"])
    return None


def measure(system: mm.System, structures_angstrom: np.ndarray, cvs: list[CollectiveVariable]) -> np.ndarray:
    """The variables (n, n_cvs), rad / A, of structures (n, n_atoms, 3) in Angstrom."""
    work = mm.XmlSerializer.deserialize(mm.XmlSerializer.serialize(system))
    force = restraint_force(cvs, 0.0)
    work.addForce(force)
    context = make_context(work)
    out = []
    for x in angstrom_to_nm(np.asarray(structures_angstrom, dtype=np.float64)):
        context.setPositions(x)
        out.append(cv_values(context, force, cvs))
    return np.array(out)


def structures_for_images(
    system: mm.System,
    start_angstrom: np.ndarray,
    cvs: list[CollectiveVariable],
    z: np.ndarray,
    k_kcal_mol: float = 120.0,
    substeps: int = 4,
) -> np.ndarray:
    """Structures (n_images, n_atoms, 3), Angstrom, whose variables sit near the images ``z`` (n_images, n_cvs).

    From ``start_angstrom`` (n_atoms, 3), the restraint's target walks along the images
    (``substeps`` linear steps between two, periodic-safe) and every stop is an energy
    minimisation under it: a seed for a string given in variable space only.
    """
    periodic = np.array([v.periodic for v in cvs])
    z = np.asarray(z, dtype=np.float64)
    work = mm.XmlSerializer.deserialize(mm.XmlSerializer.serialize(system))
    force = restraint_force(cvs, k_kcal_mol)
    work.addForce(force)
    context = make_context(work)
    context.setPositions(angstrom_to_nm(np.asarray(start_angstrom, dtype=np.float64)))
    out = []
    previous = cv_values(context, force, cvs)
    for target in z:
        step = periodic_delta(target, previous, periodic)
        for f in np.linspace(0.0, 1.0, substeps + 1)[1:]:
            set_targets(context, cvs, wrap(previous + f * step, periodic))
            mm.LocalEnergyMinimizer.minimize(context, 1.0, 500)
        previous = target
        xyz = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.nanometer)
        out.append(nm_to_angstrom(np.asarray(xyz)))
    return np.array(out)


def unwrap_string(z: np.ndarray, periodic: np.ndarray) -> np.ndarray:
    """Images (n_images, n_cvs) with periodic variables made continuous along the string."""
    out = z.copy()
    for i in range(1, len(z)):
        out[i] = out[i - 1] + periodic_delta(z[i], out[i - 1], periodic)
    return out


def wrap(z: np.ndarray, periodic: np.ndarray) -> np.ndarray:
    """Periodic variables back into (-pi, pi]."""
    return np.where(periodic, (z + np.pi) % (2 * np.pi) - np.pi, z)


def smooth(z: np.ndarray, s: float) -> np.ndarray:
    """Interior images moved towards their neighbours' mean by fraction ``s`` (ends fixed)."""
    out = z.copy()
    out[1:-1] = (1 - s) * z[1:-1] + s * 0.5 * (z[:-2] + z[2:])
    return out


@dataclass
class SwarmsResult:
    """Outcome of a swarms run.

    ``z`` (n_images, n_cvs): the last string; ``z_mean``: the images averaged over the last
    ``convergence_window`` iterations (``convergence="window"``) or over every iteration since
    the transient ("profile"), with the free energy along them (``profile_kcal_mol``, zero at
    the first image) and its error; ``arc_length``: along ``z_mean`` (rad / A);
    ``structures`` (n_images, n_atoms, 3): the last equilibrated structures, Angstrom.
    """

    z: np.ndarray
    z_mean: np.ndarray
    structures: np.ndarray
    profile_kcal_mol: np.ndarray
    profile_error_kcal_mol: np.ndarray
    arc_length: np.ndarray
    converged: bool
    iterations: int
    history: list[dict[str, Any]]

    @property
    def delta_f_kcal_mol(self) -> tuple[float, float]:
        """Free energy of the last image minus the first, and its error (kcal/mol)."""
        return float(self.profile_kcal_mol[-1]), float(self.profile_error_kcal_mol[-1])


class SwarmsString:
    """String method with swarms of trajectories on an OpenMM System (see the module docstring)."""

    def __init__(
        self,
        system: mm.System,
        structures_angstrom: np.ndarray,
        cvs: list[CollectiveVariable],
        config: SwarmsConfig | None = None,
    ) -> None:
        self.config = config or SwarmsConfig()
        self.config.validate("swarms")
        self.system_xml = mm.XmlSerializer.serialize(system)
        self.cvs = cvs
        self.periodic = np.array([v.periodic for v in cvs])
        x = check_images(structures_angstrom, system.getNumParticles(), "swarms")
        for v in cvs:
            if max(v.atoms) >= system.getNumParticles():
                raise PathganInputError(f"collective variable {v.name!r} is not defined on this system")
        self.positions_nm = angstrom_to_nm(x)
        self.z = measure(system, x, cvs)
        if np.allclose(self.z[0], self.z[-1], atol=1e-6):
            raise PathganInputError("swarms: the end states have the same collective variables")
        self.z = wrap(reparametrize(unwrap_string(self.z, self.periodic)[:, :, None])[:, :, 0], self.periodic)
        self.history: list[dict[str, Any]] = []

    def iterate(
        self,
        it: int,
        scheduler: str | None = None,
        n_workers: int | None = None,
        progress: bool = False,
        client: Any = None,
    ) -> dict:
        """One iteration over all images through Dask (``client``: an open one to reuse); its history row.

        The row holds the images sampled (``z``), their free-energy profile and its error, the RMS
        image move of this iteration and, once 2W iterations exist, the window comparisons.
        """
        from .execution import run_tasks

        c = self.config
        cv_spec = [(v.name, v.kind, v.atoms) for v in self.cvs]
        m = len(self.z)
        tasks = [
            {
                "system_xml": self.system_xml,
                "positions_nm": self.positions_nm[i].tolist(),
                "cvs": cv_spec,
                "targets": self.z[i].tolist(),
                "config": c.to_dict(),
                "seed": 1 + c.seed * 100_003 + it * 1009 + i,
            }
            for i in range(m)
        ]
        names = [f"swarm-it{it:03d}-image{i:03d}" for i in range(m)]
        results = run_tasks(
            image_task,
            tasks,
            names,
            scheduler=scheduler,
            n_workers=n_workers,
            desc=f"swarms iteration {it + 1}",
            progress=progress,
            client=client,
        )
        drift = np.array([r["drift"] for r in results])
        k = c.restraint_k_kcal_mol
        mean_force = -k * np.array([r["restrained_offset"] for r in results])  # K (z - <theta>)
        force_error = k * np.array([r["restrained_offset_error"] for r in results])
        profile, profile_error = free_energy_profile(self.z, mean_force, force_error, self.periodic)
        moved = self.z.copy()
        moved[1:-1] = self.z[1:-1] + drift[1:-1]  # ends fixed
        moved = unwrap_string(wrap(moved, self.periodic), self.periodic)
        moved = smooth(moved, c.smoothing)
        new = wrap(reparametrize(moved[:, :, None])[:, :, 0], self.periodic)
        step = np.linalg.norm(periodic_delta(new, self.z, self.periodic), axis=1)
        row: dict[str, Any] = {
            "iteration": it + 1,
            "z": self.z.tolist(),
            "rms_displacement_cv": float(np.sqrt(np.mean(step[1:-1] ** 2))) if m > 2 else 0.0,
            "profile_kcal_mol": profile.tolist(),
            "profile_error_kcal_mol": profile_error.tolist(),
            "mean_force": mean_force.tolist(),
            "statistical_inefficiency_max": float(max(max(r["statistical_inefficiency"]) for r in results)),
            "window_drift_cv": None,
            "window_profile_change_kcal_mol": None,
            "window_profile_change_sigmas": None,
            "window_profile_within_error": None,
        }
        self.history.append(row)
        row.update(convergence_tests(self.history, c, self.periodic))
        self.z = new
        self.positions_nm = np.array([r["positions_nm"] for r in results])
        return row

    def converged(self) -> bool:
        """Whether the last history row passes the configured test (see the module docstring)."""
        return bool(self.history) and meets_convergence(self.history[-1], self.config)

    def result(self, converged: bool) -> SwarmsResult:
        """The outcome so far: the means over the last W iterations ("window"), or over the production ("profile")."""
        if not self.history:
            raise PathganInputError("swarms: no iteration has run")
        c = self.config
        last = window_mean(self.history[-c.convergence_window :], self.periodic)
        if c.convergence == "profile":
            production = profile_stationarity(
                self.history,
                self.periodic,
                c.tol_profile_kcal_mol,
                c.profile_sigmas,
                c.profile_precision_kcal_mol,
            )
            last = production if "z" in production else last  # fewer than 4 iterations: the window
        return SwarmsResult(
            z=self.z.copy(),
            z_mean=last["z"],
            structures=nm_to_angstrom(self.positions_nm),
            profile_kcal_mol=last["profile_kcal_mol"],
            profile_error_kcal_mol=last["profile_error_kcal_mol"],
            arc_length=arc_length(last["z"], self.periodic),
            converged=converged,
            iterations=len(self.history),
            history=self.history,
        )

    def run(
        self, scheduler: str | None = None, n_workers: int | None = None, progress: bool = True
    ) -> SwarmsResult:
        """Iterate until converged (``config.convergence``) or ``max_iterations``."""
        from .execution import dask_client

        converged = False
        with dask_client(scheduler, n_workers) as client:  # one cluster for every iteration
            for it in range(len(self.history), self.config.max_iterations):
                self.iterate(it, progress=progress, client=client)
                if self.converged():
                    converged = True
                    break
        return self.result(converged)


def write_swarms_result(
    result: SwarmsResult, cvs: list[CollectiveVariable], out: str | os.PathLike, config: SwarmsConfig
) -> Path:
    """``swarms.json`` (variables, images, profile, history, settings, versions) and ``swarms.npz`` (atomic)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    d_f, d_f_err = result.delta_f_kcal_mol
    meta = {
        "collective_variables": [v.name for v in cvs],
        "periodic": [v.periodic for v in cvs],
        "units": {"torsions": "radian", "distances and positions": "angstrom", "energy": "kcal/mol"},
        "converged": result.converged,
        "iterations": result.iterations,
        "z": result.z.tolist(),
        "z_mean": result.z_mean.tolist(),
        "arc_length": result.arc_length.tolist(),
        "profile_kcal_mol": result.profile_kcal_mol.tolist(),
        "profile_error_kcal_mol": result.profile_error_kcal_mol.tolist(),
        "delta_f_kcal_mol": d_f,
        "delta_f_error_kcal_mol": d_f_err,
        "config": config.to_dict(),
        "history": result.history,
        "versions": versions(),
    }
    with atomic_file(out / "swarms.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=1) + "\n")
    with atomic_file(out / "swarms.npz") as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, z=result.z, z_mean=result.z_mean, structures_angstrom=result.structures)
    return out


def plot_swarms(result: SwarmsResult, path: str | os.PathLike, title: str = "swarms of trajectories") -> None:
    """Free energy along the string (window mean, error bars) and the convergence history (PNG)."""
    import matplotlib.pyplot as plt

    from .plots import save_figure  # matplotlib only when a figure is drawn

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4))
    a.errorbar(
        result.arc_length, result.profile_kcal_mol, yerr=result.profile_error_kcal_mol, marker=".", capsize=2
    )
    a.set_xlabel("arc length along the string (rad / A)")
    a.set_ylabel("free energy (kcal/mol)")
    a.set_title(f"{title}: profile (mean of the last iterations)")
    it = [h["iteration"] for h in result.history]
    b.semilogy(
        it, [h["rms_displacement_cv"] for h in result.history], ".", label="RMS image move, one iteration"
    )
    win = [(h["iteration"], h["window_drift_cv"]) for h in result.history if h["window_drift_cv"] is not None]
    if win:
        b.semilogy(*zip(*win, strict=True), "-", label="RMS move of the window mean")
    b.set_xlabel("iteration")
    b.set_ylabel("drift (rad / A)")
    b.set_title(f"{title}: convergence ({'converged' if result.converged else 'not converged'})")
    b.legend(frameon=False, fontsize=8)
    save_figure(fig, path)
