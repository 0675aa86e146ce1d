"""The moving restraint on a pull coordinate in torch: parity with OpenMM's force, gradients, wrapping."""

from __future__ import annotations

import math

import numpy as np
import openmm as mm
import openmm.unit as u
import pytest
import torch
from parity import KCAL_PER_A, force_alone, frames_of, torch_energies_forces

from openmm_bridge.errors import PathganInputError
from openmm_bridge.pull_coordinates import PullCoordinate, resolve_coordinate
from openmm_bridge.trajio import mdtraj_topology, write_trajectory
from pathgan.coordinate_restraint import CoordinateRestraint, kabsch_rmsd, optimal_rotation

#: Restraint of each case: the coordinate's spec, k, c0 and c1 (Angstrom or degrees).
CASES = {
    "distance": (
        {"kind": "distance", "group_a": "resid 1 and name CA", "group_b": "resid 10 and name CA"},
        5.0,
        12.0,
        18.0,
    ),
    "torsion": ({"kind": "torsion", "torsion": "phi:ALA6"}, 40.0, 150.0, 210.0),  # c(t) crosses 180
    "omega": ({"kind": "torsion", "torsion": "omega:ALA3"}, 40.0, 170.0, 190.0),  # values near +-180 too
    "rmsd": ({"kind": "rmsd", "target": "end.pdb", "atoms": "backbone"}, 10.0, 0.5, 3.0),
}
#: Largest deviations seen, printed at the end of the module (``pytest -s``).
DEVIATIONS: dict[str, tuple[float, float]] = {}


@pytest.fixture(scope="module")
def coordinates(deca, tmp_path_factory) -> dict[str, PullCoordinate]:
    """The coordinates of CASES; the RMSD's target is a frame of a separate MD run."""
    folder = tmp_path_factory.mktemp("target")
    top = mdtraj_topology(deca)
    end = frames_of(deca.system, deca.positions, seed=23, n_perturbed=0, n_md=1, md_steps=300)[-1]
    write_trajectory(end, top, folder / "end.pdb")
    return {key: resolve_coordinate(spec, top, base_dir=folder) for key, (spec, *_rest) in CASES.items()}


def _restraint(key: str, coordinates: dict[str, PullCoordinate]) -> CoordinateRestraint:
    _spec, k, c0, c1 = CASES[key]
    return CoordinateRestraint(coordinates[key], k, c0, c1)


def _openmm(coordinate: PullCoordinate, masses: mm.System, k: float, centre: float, frames: np.ndarray):
    """Energies (n,) kcal/mol and forces (n, atoms, 3) kcal/mol/A of the OpenMM force at ``centre``."""
    system = force_alone(masses, coordinate.force(k, centre))
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    energies, forces = [], []
    for x in frames:
        ctx.setPositions(x / 10.0)
        state = ctx.getState(getEnergy=True, getForces=True)
        energies.append(state.getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole))
        forces.append(state.getForces(asNumpy=True).value_in_unit(KCAL_PER_A))
    return np.array(energies), np.array(forces)


@pytest.mark.parametrize("key", list(CASES))
def test_parity_with_openmm(key, coordinates, deca, deca_frames):
    restraint = _restraint(key, coordinates)
    assert len(deca_frames) >= 20
    worst_e = worst_f = 0.0
    for t in (0.0, 0.5, 1.0):
        centre = float(restraint.centre(torch.tensor(t)))
        e_mm, f_mm = _openmm(coordinates[key], deca.system, restraint.k, centre, deca_frames)
        e_t, f_t = torch_energies_forces(lambda pos, t=t: restraint(pos, t), deca_frames)
        assert e_mm.max() > 0.1  # the restraint is doing something at every t
        worst_e = max(worst_e, float(np.abs(e_t - e_mm).max()))
        worst_f = max(worst_f, float(np.abs(f_t - f_mm).max()))
    DEVIATIONS[key] = (worst_e, worst_f)
    assert worst_e < 2e-3
    assert worst_f < 1e-2


@pytest.mark.parametrize("key", list(CASES))
def test_values_match_numpy(key, coordinates, deca_frames):
    restraint = _restraint(key, coordinates)
    ours = restraint.values(torch.tensor(deca_frames)).numpy()
    np.testing.assert_allclose(ours, coordinates[key].values(deca_frames), atol=1e-9)
    # in float32, as the cGAN may run
    single = restraint.values(torch.tensor(deca_frames, dtype=torch.float32)).double().numpy()
    diff = single - ours
    if coordinates[key].periodic:  # a torsion at 180 - e in float64 may come out at -180 + e in float32
        diff = (diff + 180.0) % 360.0 - 180.0
    assert np.abs(diff).max() < (1e-3 if coordinates[key].unit == "A" else 2e-2)


@pytest.mark.parametrize("key", list(CASES))
def test_gradient_matches_finite_differences(key, coordinates, deca_frames):
    """gradcheck's fast mode: a random projection of the Jacobian against central differences."""
    restraint = _restraint(key, coordinates)
    pos = torch.tensor(deca_frames[[0, 5, 17]], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.0, 0.4, 1.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda p: restraint(p, t), (pos,), eps=1e-6, atol=1e-6, rtol=1e-5, fast_mode=True
    )


def test_rmsd_gradient_at_every_coordinate(coordinates, deca_frames):
    """Every component of the RMSD restraint's gradient against a central difference (h = 1e-5 A)."""
    restraint = _restraint("rmsd", coordinates)
    atoms = list(coordinates["rmsd"].atoms[0])
    pos = torch.tensor(deca_frames[[2, 20]], requires_grad=True)
    t = torch.tensor([0.2, 0.9], dtype=torch.float64)
    (grad,) = torch.autograd.grad(restraint(pos, t).sum(), pos)
    h = 1e-5
    steps = torch.zeros((len(atoms) * 3, *pos.shape), dtype=torch.float64)
    for n, (a, x) in enumerate((a, x) for a in atoms for x in range(3)):
        steps[n, :, a, x] = h  # every frame at once: the frames' energies are independent
    flat = (pos.detach()[None] + torch.cat([steps, -steps])).reshape(-1, *pos.shape[1:])
    with torch.no_grad():
        energy = restraint(flat, t.repeat(2 * len(steps))).reshape(2, len(steps), len(t))
    numeric = ((energy[0] - energy[1]) / (2 * h)).reshape(len(atoms), 3, len(t)).permute(2, 0, 1)
    torch.testing.assert_close(grad[:, atoms], numeric, atol=1e-6, rtol=1e-6)
    others = [i for i in range(pos.shape[1]) if i not in set(atoms)]
    assert float(grad[:, others].abs().max()) == 0.0  # atoms outside the RMSD feel nothing
    assert float(grad[:, atoms].abs().max()) > 0.1


def test_rmsd_on_the_target_has_a_finite_gradient(coordinates):
    c = coordinates["rmsd"]
    pos = torch.tensor(c.reference_angstrom[None], requires_grad=True)
    restraint = CoordinateRestraint(c, 10.0, 0.0, 1.0)
    energy = restraint(pos, 0.0)
    (grad,) = torch.autograd.grad(energy.sum(), pos)
    assert float(energy.detach()) < 1e-12 and torch.isfinite(grad).all()


def test_optimal_rotation_is_proper_and_optimal():
    gen = torch.Generator().manual_seed(3)
    target = torch.randn(12, 3, generator=gen, dtype=torch.float64)
    target = target - target.mean(0)
    q = torch.nn.functional.normalize(torch.randn(5, 4, generator=gen, dtype=torch.float64), dim=-1)
    from pathgan.coordinate_restraint import _rotation_from_quaternion

    rot = _rotation_from_quaternion(q)
    mobile = target @ rot  # target = mobile @ rot^T: the rotation to find is rot
    found = optimal_rotation(mobile, target)
    torch.testing.assert_close(found, rot)
    torch.testing.assert_close(torch.linalg.det(found), torch.ones(5, dtype=torch.float64))
    # planar points and a mirror image: still a proper rotation, and the RMSD of a mirror is not zero
    mirror = target * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    assert torch.linalg.det(optimal_rotation(mirror[None], target))[0] == pytest.approx(1.0)
    assert float(kabsch_rmsd(mirror[None], target)[0]) > 0.1


def test_torsion_centre_wraps(coordinates, deca_frames):
    c = coordinates["torsion"]
    pos = torch.tensor(deca_frames[:4])
    value = CoordinateRestraint(c, 1.0, 0.0, 0.0).values(pos)
    for shift in (-720.0, -360.0, 0.0, 360.0):
        same = CoordinateRestraint(c, 50.0, 0.0, 1.0)
        energy = same(pos, (value + shift))  # c(t) = t degrees: the frames' own torsions, shifted by turns
        torch.testing.assert_close(energy, torch.zeros(4, dtype=torch.float64), atol=1e-18, rtol=0)
    opposite = CoordinateRestraint(c, 2.0, 0.0, 1.0)(pos, value + 180.0)
    torch.testing.assert_close(opposite, torch.full((4,), math.pi**2, dtype=torch.float64))


def test_t_per_frame_and_checks(coordinates, deca_frames):
    restraint = _restraint("distance", coordinates)
    pos = torch.tensor(deca_frames[:3])
    per_frame = restraint(pos, torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64))
    together = torch.stack([restraint(pos[i : i + 1], t)[0] for i, t in enumerate((0.0, 0.5, 1.0))])
    torch.testing.assert_close(per_frame, together)
    assert "12.0 -> 18.0 A" in repr(restraint)
    with pytest.raises(PathganInputError, match="negative force constant"):
        CoordinateRestraint(coordinates["rmsd"], -1.0, 0.0, 1.0)


def test_report_deviations():
    """Not a check: prints the parity deviations (run with -s)."""
    for key, (e, f) in DEVIATIONS.items():
        print(f"{key}: max |dE| = {e:.2e} kcal/mol, max |dF| = {f:.2e} kcal/mol/A")
