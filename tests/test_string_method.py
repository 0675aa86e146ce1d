"""Zero-temperature string: Mueller-Brown through OpenMM, reparametrisation, deca-alanine, bad input."""

from __future__ import annotations

import numpy as np
import openmm as mm
import pytest

from openmm_bridge.errors import PathganInputError
from openmm_bridge.string_method import (
    StringConfig,
    ZeroTemperatureString,
    arc_length,
    reparametrize,
    tangents,
    write_string_result,
)

# Mueller-Brown (Mueller and Brown 1979), x and y in nm, energy in kJ/mol
A, a, b, c = (-200, -100, -170, 15), (-1, -1, -6.5, 0.7), (0, 0, 11, 0.6), (-10, -10, -6.5, 0.7)
X0, Y0 = (1, 0, -0.5, -1), (0, 0.5, 1.5, 1)
SADDLES = [(-0.822, 0.624, -40.66), (0.212, 0.293, -72.25)]


def mueller_brown_system() -> mm.System:
    """One particle in the Mueller-Brown potential (x, y), held at z = 0 by a stiff spring."""
    terms = [
        f"{A[k]}*exp({a[k]}*(x-({X0[k]}))^2+{b[k]}*(x-({X0[k]}))*(y-({Y0[k]}))+{c[k]}*(y-({Y0[k]}))^2)"
        for k in range(4)
    ]
    force = mm.CustomExternalForce("+".join(terms) + "+1000*z^2")
    force.addParticle(0, [])
    system = mm.System()
    system.addParticle(1.0)
    system.addForce(force)
    return system


def _distance_to_polyline(p: np.ndarray, pts: np.ndarray) -> float:
    best = np.inf
    for p0, p1 in zip(pts[:-1], pts[1:], strict=True):
        t = np.clip(np.dot(p - p0, p1 - p0) / np.dot(p1 - p0, p1 - p0), 0, 1)
        best = min(best, np.linalg.norm(p0 + t * (p1 - p0) - p))
    return best


def test_mueller_brown_string_finds_the_minimum_energy_path():
    start, end = np.array([-0.558, 1.442, 0.0]), np.array([0.623, 0.028, 0.0])  # minima A and B
    images = np.array([start + w * (end - start) for w in np.linspace(0, 1, 30)])[:, None, :] * 10  # Angstrom
    cfg = StringConfig(
        step_size=0.05,
        max_step_angstrom=0.1,
        align=False,
        max_iterations=5000,
        tol_displacement_angstrom=1e-3,
        tol_energy_kcal_mol=1e-3,
    )
    result = ZeroTemperatureString(mueller_brown_system(), images, cfg).run()
    assert result.converged
    xy = result.images[:, 0, :2] / 10  # nm
    for x, y, _energy in SADDLES:
        assert _distance_to_polyline(np.array([x, y]), xy) < 0.01  # nm: through both saddles
    # highest point: the upper saddle (-40.66 kJ/mol), 106.0 kJ/mol above minimum A
    assert result.energies.max() * 4.184 == pytest.approx(-40.66, abs=0.5)
    assert result.barrier_kcal_mol * 4.184 == pytest.approx(-40.66 + 146.70, abs=0.6)
    # equal arc length after the last reparametrisation (chords of a converged, smooth string)
    seg = np.diff(arc_length(result.images))
    np.testing.assert_allclose(seg, seg.mean(), rtol=1e-4)


def test_reparametrize_gives_equal_arc_length_and_keeps_ends():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 1, 12))
    t[0], t[-1] = 0, 1
    line = (t[:, None] * np.array([1.0, 2.0, -0.5]))[:, None, :]  # unevenly spaced points on a line
    seg = np.diff(arc_length(reparametrize(line)))
    np.testing.assert_allclose(seg, seg.mean(), rtol=1e-9)
    # on a curve the new points sit at equal arc length of the old polyline; chords differ a little
    curve = np.stack([np.cos(3 * t), np.sin(3 * t), t], axis=1)[:, None, :]
    out = reparametrize(curve)
    seg = np.diff(arc_length(out))
    np.testing.assert_allclose(seg, seg.mean(), rtol=0.05)
    np.testing.assert_array_equal(out[[0, -1]], curve[[0, -1]])
    tau = tangents(out)
    np.testing.assert_allclose(np.linalg.norm(tau.reshape(12, -1), axis=1), 1.0)


def test_string_on_deca_alanine_lowers_the_energy(deca, small_pull, tmp_path):
    from pathgan.data import ReferenceSet

    frames = ReferenceSet.from_smd(small_pull, deca, stride=20).frames[0]  # 11 frames of a pull
    result = ZeroTemperatureString(deca.system, frames, StringConfig(max_iterations=60)).run()
    first = np.asarray(result.history[0]["energies_kcal_mol"])
    assert result.energies[1:-1].mean() < first[1:-1].mean()
    assert result.force_evaluations == 2 + 60 * 9 + 9  # ends once, 9 moving images per iteration, final
    write_string_result(result, tmp_path, deca.topology, StringConfig())
    for name in ("string.json", "string.npz", "string.dcd", "string.pdb"):
        assert (tmp_path / name).stat().st_size > 0


def test_bad_images(deca):
    x = deca.positions_angstrom()
    with pytest.raises(PathganInputError, match="at least 3 images"):
        ZeroTemperatureString(deca.system, x[None].repeat(2, axis=0))
    with pytest.raises(PathganInputError, match="the same structure"):
        ZeroTemperatureString(deca.system, x[None].repeat(5, axis=0))
    bad = np.stack([x, x + 1, x + 2])
    bad[1, 7, 2] = np.nan
    with pytest.raises(PathganInputError, match=r"NaN or infinite coordinates \(image 1, atom 7\)"):
        ZeroTemperatureString(deca.system, bad)
    with pytest.raises(PathganInputError, match="50 atoms per image, but the system has 112"):
        ZeroTemperatureString(deca.system, np.stack([x[:50], x[:50] + 1, x[:50] + 2]))
    with pytest.raises(PathganInputError, match="step_size: must be positive, got 0"):
        StringConfig(step_size=0).validate()


def test_a_guard_pushes_but_is_not_in_the_reported_energies(deca, deca_frames):
    from openmm_bridge.stereochemistry import chirality_guard_force

    images = deca_frames[[0, 12, 23]]
    guard = chirality_guard_force(deca.topology, deca.positions_angstrom(), k_kcal_mol_a6=1e3, margin_a3=5.0)
    plain = ZeroTemperatureString(deca.system, images, StringConfig(max_iterations=1))
    guarded = ZeroTemperatureString(deca.system, images, StringConfig(max_iterations=1), guard)
    e_plain, f_plain = plain.evaluator.energy_and_forces(deca_frames[5])
    e_guard, f_guard = guarded.evaluator.energy_and_forces(deca_frames[5])
    assert e_guard == pytest.approx(e_plain, abs=1e-6)  # the energy profile is the physics alone
    assert np.abs(f_guard - f_plain).max() > 1.0  # a margin of 5 A^3 > 2.5: the guard pushes
