"""Path collective variables: s and z along a path, and the openmm-torch TorchForce against plain torch."""

from __future__ import annotations

import numpy as np
import openmm as mm
import openmm.unit as u
import pytest
import torch

from openmm_bridge.errors import PathganInputError
from openmm_bridge.pathcv import (
    PathCV,
    PathCVBias,
    default_atoms,
    equally_spaced_frames,
    path_cv_force,
    path_cv_values,
)
from openmm_bridge.string_method import reparametrize
from openmm_bridge.superpose import align_chain


@pytest.fixture(scope="module")
def path_a(small_pull, deca) -> np.ndarray:
    """An evenly spaced path (11 frames, Angstrom) from a reference pull."""
    from pathgan.data import ReferenceSet

    frames = ReferenceSet.from_smd(small_pull, deca, stride=10).frames[0]
    return reparametrize(align_chain(frames))[::2]


def test_s_runs_from_0_to_1_and_z_is_0_on_the_path(deca, path_a):
    cv = PathCV(path_a, default_atoms(deca.topology))
    values = np.array([path_cv_values(cv, f) for f in path_a])
    s, z = values[:, 0], values[:, 1]
    # s and z by their definitions, in numpy: mean squared difference of the CA distance matrices
    ca = default_atoms(deca.topology)
    iu, ju = np.triu_indices(len(ca), 1)
    dist = np.linalg.norm(path_a[:, ca, None] - path_a[:, None, ca], axis=-1)[:, iu, ju]
    d2 = ((dist[:, None] - dist[None]) ** 2).mean(axis=-1)  # (frame, reference frame), A^2
    w = np.exp(-cv.lam * d2)
    m = len(path_a)
    np.testing.assert_allclose(s, (w * np.arange(m) / (m - 1)).sum(axis=1) / w.sum(axis=1), atol=1e-9)
    np.testing.assert_allclose(z, -np.log(w.sum(axis=1)) / cv.lam, atol=1e-9)
    assert cv.lam == pytest.approx(2.3 / np.mean(np.diag(d2, 1)))  # Branduardi's lambda
    # at the ends s is 0 and 1 up to half a frame spacing, and it grows along the path
    assert s[0] < 0.5 / (m - 1) and s[-1] > 1 - 0.5 / (m - 1)
    assert np.all(np.diff(s) > 0)
    # On a frame, z = -ln(1 + sum over the other frames of exp(-lambda d^2)) / lambda: zero up to the
    # path's resolution; its two neighbours weigh at most 1 each, so |z| < ln(3) / lambda.
    assert np.abs(z).max() < np.log(3.0) / cv.lam
    # off the path, z grows
    off = path_a[5] + np.random.default_rng(0).normal(scale=1.0, size=path_a[5].shape)
    assert path_cv_values(cv, off)[1] > np.log(3.0) / cv.lam
    # rotation and translation change nothing
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))
    moved = path_a[4] @ (q * np.sign(np.linalg.det(q))).T + 10.0
    np.testing.assert_allclose(path_cv_values(cv, moved), path_cv_values(cv, path_a[4]), atol=1e-9)


def _context(deca, force, group=1, platform="Reference"):
    system = mm.System()
    for a in deca.topology.atoms():
        system.addParticle(a.element.mass)
    force.setForceGroup(group)
    system.addForce(force)
    return mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName(platform))


def test_torch_force_matches_plain_torch_and_finite_differences(deca, path_a):
    atoms = default_atoms(deca.topology)
    k_s_kcal, k_z_kcal = 3000.0 / 4.184, 1e4 / 4.184 / 1e4  # 3000 kJ/mol; 1e4 kJ/mol/nm^4
    force = path_cv_force(
        path_a, atoms, k_s_kcal_mol=k_s_kcal, s0=0.35, k_z_kcal_mol_a4=k_z_kcal, z_max_a2=0.0
    )
    ctx = _context(deca, force)
    x_a = path_a[4] + np.random.default_rng(2).normal(scale=0.2, size=path_a[4].shape)
    x = x_a / 10.0  # OpenMM and the TorchForce work in nm
    ctx.setPositions(x)
    state = ctx.getState(getEnergy=True, getForces=True)
    energy = state.getPotentialEnergy().value_in_unit(u.kilojoule_per_mole)
    forces = state.getForces(asNumpy=True).value_in_unit(u.kilojoule_per_mole / u.nanometer)
    bias = PathCVBias(PathCV(path_a, atoms), k_z_kcal, 0.0)
    xt = torch.tensor(x, requires_grad=True)
    e = bias(xt, torch.tensor(0.35, dtype=torch.float64), torch.tensor(3000.0, dtype=torch.float64))
    e.backward()
    assert energy == pytest.approx(float(e.detach()), rel=1e-5)
    np.testing.assert_allclose(forces, -xt.grad.numpy(), atol=1e-3 * np.abs(forces).max())
    # finite differences of OpenMM's own energy, on metric atoms
    h = 1e-5
    for atom, dim in ((atoms[0], 0), (atoms[4], 1), (atoms[-1], 2)):
        plus, minus = x.copy(), x.copy()
        plus[atom, dim] += h
        minus[atom, dim] -= h
        ctx.setPositions(plus)
        e_plus = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(u.kilojoule_per_mole)
        ctx.setPositions(minus)
        e_minus = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(u.kilojoule_per_mole)
        assert -(e_plus - e_minus) / (2 * h) == pytest.approx(forces[atom, dim], rel=1e-3, abs=1e-2)
    assert not forces[[i for i in range(deca.n_atoms) if i not in atoms]].any()  # only metric atoms feel it


def test_global_parameters_move_the_bias(deca, path_a):
    force = path_cv_force(path_a, default_atoms(deca.topology), k_s_kcal_mol=1000.0 / 4.184, s0=0.0)
    assert ctx_parameter(force, "pathcv_ks") == pytest.approx(1000.0)  # the Context parameter is in kJ/mol
    ctx = _context(deca, force)
    ctx.setPositions(path_a[-1] / 10.0)
    e0 = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(u.kilojoule_per_mole)
    ctx.setParameter("pathcv_s0", 1.0)
    e1 = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(u.kilojoule_per_mole)
    assert e0 > 400.0 and e1 < 5.0  # 1/2 k (s - s0)^2 with s ~ 1


def test_bad_input(deca, path_a):
    atoms = default_atoms(deca.topology)
    with pytest.raises(PathganInputError, match="at least 2 frames"):
        PathCV(path_a[:1], atoms)
    bad = path_a.copy()
    bad[2, 3, 0] = np.nan
    with pytest.raises(PathganInputError, match="NaN"):
        PathCV(bad, atoms)
    with pytest.raises(PathganInputError, match="out of range"):
        PathCV(path_a, [0, 1, 500])
    with pytest.raises(PathganInputError, match="identical"):
        PathCV(np.repeat(path_a[:1], 3, axis=0), atoms)


def test_old_argument_names_fail_with_a_hint(deca, path_a):
    atoms = default_atoms(deca.topology)
    with pytest.raises(TypeError, match="'k_s_kj_mol' was renamed 'k_s_kcal_mol'.*kilocalorie"):
        path_cv_force(path_a, atoms, k_s_kj_mol=2000.0)
    with pytest.raises(TypeError, match="'frames_nm' was renamed 'frames_angstrom'"):
        PathCV(frames_nm=path_a, atoms=atoms)


def test_a_quantity_is_accepted(deca, path_a):
    force = path_cv_force(path_a, default_atoms(deca.topology), k_s_kcal_mol=2000.0 * u.kilojoule_per_mole)
    assert ctx_parameter(force, "pathcv_ks") == pytest.approx(2000.0)


def ctx_parameter(force: mm.Force, name: str) -> float:
    """The default value of a global parameter of ``force``."""
    names = [force.getGlobalParameterName(i) for i in range(force.getNumGlobalParameters())]
    return force.getGlobalParameterDefaultValue(names.index(name))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (torch sees none)")
def test_torch_force_on_cuda_matches_reference(deca, path_a):
    """The path-CV TorchForce on OpenMM's CUDA platform (openmm-torch's CUDA plugin) gives the
    Reference platform's energy and forces."""
    from openmm_bridge.context import available_platforms
    from openmm_bridge.pathcv import ensure_openmmtorch

    ensure_openmmtorch()
    if "CUDA" not in available_platforms():
        pytest.skip("OpenMM has no CUDA platform here")
    if not mm.Platform.getPlatformByName("CUDA").supportsKernels(["CalcTorchForce"]):
        pytest.skip("openmm-torch has no CUDA plugin here")
    atoms = default_atoms(deca.topology)
    x = (path_a[4] + np.random.default_rng(3).normal(scale=0.2, size=path_a[4].shape)) / 10.0
    results = []
    for platform in ("Reference", "CUDA"):
        force = path_cv_force(path_a, atoms, k_s_kcal_mol=3000.0 / 4.184, s0=0.0, k_z_kcal_mol_a4=1.0)
        ctx = _context(deca, force, platform=platform)
        assert ctx.getPlatform().getName() == platform
        ctx.setPositions(x)
        state = ctx.getState(getEnergy=True, getForces=True)
        results.append(
            (
                state.getPotentialEnergy().value_in_unit(u.kilojoule_per_mole),
                state.getForces(asNumpy=True).value_in_unit(u.kilojoule_per_mole / u.nanometer),
            )
        )
    (e_ref, f_ref), (e_gpu, f_gpu) = results
    assert e_ref > 1.0  # a real bias, not a zero compared with a zero
    assert e_gpu == pytest.approx(e_ref, rel=1e-5)
    np.testing.assert_allclose(f_gpu, f_ref, rtol=1e-4, atol=1e-4 * np.abs(f_ref).max())


def test_frames_are_respaced_equally_in_the_cvs_own_metric():
    """Two atoms moving apart in bunches and gaps come out equally spaced in their distance."""
    r = np.array([1.0, 1.1, 1.2, 1.3, 3.0, 3.1, 5.0])  # A: a bunch, a gap, a pair, a gap
    frames = np.zeros((len(r), 3, 3))
    frames[:, 1, 0] = r
    frames[:, 2] = [0.0, 7.0, 0.0]  # an atom outside the CV's atoms rides along unchanged
    out = equally_spaced_frames(frames, [0, 1], 5)
    assert out.shape == (5, 3, 3)
    assert np.allclose(out[:, 1, 0], [1.0, 2.0, 3.0, 4.0, 5.0], atol=1e-12)
    assert np.allclose(out[:, 2], [0.0, 7.0, 0.0])
    with pytest.raises(PathganInputError, match="identical"):
        equally_spaced_frames(np.repeat(frames[:1], 3, axis=0), [0, 1])
