"""The batched potential against torchmd's own Forces.compute and against OpenMM."""

from __future__ import annotations

import numpy as np
import openmm.app as app
import pytest
import torch
from conftest import test_frames
from torchmd.forces import Forces

from openmm_bridge.energies import OpenMMEvaluator
from openmm_bridge.errors import PathganInputError
from pathgan.potential import TERMS, TorchMDPotential, torchmd_parameters
from pathgan.restraint import EndToEndRestraint


@pytest.fixture(scope="module")
def potential(deca) -> TorchMDPotential:
    return TorchMDPotential.from_system(deca)


def _torchmd(par, terms, xyz):
    """torchmd's own energies (dict per frame) for the given terms."""
    pos = torch.tensor(xyz)
    box = torch.zeros(len(xyz), 3, 3, dtype=pos.dtype)
    return Forces(par, terms=list(terms)).compute(pos, box, None, returnDetails=True, calculateForces=False)


def test_each_term_equals_torchmd(deca, deca_frames, potential):
    assert len(deca_frames) >= 20
    par = torchmd_parameters(deca)
    mine = {k: v.numpy() for k, v in potential(torch.tensor(deca_frames)).items()}
    for term in ("bonds", "angles", "dihedrals", "impropers", "lj", "electrostatics"):
        ref = np.array([d[term] for d in _torchmd(par, [term], deca_frames)])
        np.testing.assert_allclose(mine[term], ref, rtol=1e-6, err_msg=term)
    # torchmd folds the 1-4 pairs into its lj and electrostatics entries.
    both = _torchmd(par, ["dihedrals", "1-4", "lj", "electrostatics"], deca_frames)
    ref_14 = np.array([d["lj"] + d["electrostatics"] for d in both]) - mine["lj"] - mine["electrostatics"]
    np.testing.assert_allclose(mine["1-4"], ref_14, rtol=1e-6)


def test_energies_and_forces_agree_with_openmm(deca, deca_frames, potential):
    ev = OpenMMEvaluator(deca.system, "Reference")
    omm_e = ev.energies(deca_frames)
    omm_f = ev.forces_by_group(deca_frames)
    assert {i.label for i in ev.forces} == {
        "HarmonicBondForce",
        "HarmonicAngleForce",
        "PeriodicTorsionForce",
        "NonbondedForce",
    }
    for info in ev.forces:
        sub = TorchMDPotential.from_system(deca, terms=info.terms)
        energies, forces = sub.energy_and_forces(torch.tensor(deca_frames))
        e = sum(energies[t] for t in info.terms).numpy()
        assert np.max(np.abs(e - omm_e[info.label])) < 2e-3, info.label
        assert np.max(np.abs(forces.numpy() - omm_f[info.label])) < 1e-2, info.label
    total = potential.energy(torch.tensor(deca_frames)).numpy()
    assert np.max(np.abs(total - omm_e["total"])) < 4 * 2e-3


def test_float32_close_to_float64(deca, deca_frames, potential):
    p32 = TorchMDPotential.from_system(deca, dtype=torch.float32)
    e32 = p32.energy(torch.tensor(deca_frames, dtype=torch.float32)).double().numpy()
    e64 = potential.energy(torch.tensor(deca_frames)).numpy()
    assert p32.charges.dtype == torch.float32
    assert np.max(np.abs(e32 - e64)) < 0.05


def test_batch_equals_single_frames(deca_frames, potential):
    x = torch.tensor(deca_frames)
    batch = potential.energy(x)
    single = torch.cat([potential.energy(x[k : k + 1]) for k in range(len(x))])
    torch.testing.assert_close(batch, single)


def test_gradient_matches_finite_difference(deca_frames, potential):
    x = torch.tensor(deca_frames[:1])
    _, forces = potential.energy_and_forces(x)
    h = 1e-5
    for atom, dim in [(0, 0), (17, 1), (60, 2)]:
        xp, xm = x.clone(), x.clone()
        xp[0, atom, dim] += h
        xm[0, atom, dim] -= h
        fd = (potential.energy(xp) - potential.energy(xm)) / (2 * h)
        assert abs(float(-fd) - float(forces[0, atom, dim])) < 1e-4


def test_restraint_term(deca, deca_frames):
    i, j = deca.end_to_end_atoms()
    restraint = EndToEndRestraint([i], [j], k_kcal_mol_a2=1.0, c0_angstrom=12.0, c1_angstrom=34.0)
    pot = TorchMDPotential.from_system(deca, restraint=restraint)
    x = torch.tensor(deca_frames[:3])
    t = torch.tensor([0.0, 0.5, 1.0], dtype=x.dtype)
    e = pot(x, t)
    d = np.linalg.norm(deca_frames[:3, j] - deca_frames[:3, i], axis=1)
    expected = 0.5 * (d - np.array([12.0, 23.0, 34.0])) ** 2
    np.testing.assert_allclose(e["restraint"].numpy(), expected, rtol=1e-10)
    assert "restraint" not in pot(x)  # no t: no restraint term


def test_terms_subset_and_unknown(deca):
    pot = TorchMDPotential.from_system(deca, terms=("bonds", "angles"))
    assert set(pot(torch.tensor(deca.positions_angstrom()[None]))) == {"bonds", "angles", "total"}
    with pytest.raises(ValueError, match="unknown energy terms"):
        TorchMDPotential.from_system(deca, terms=("bonds", "cmap"))
    assert TERMS[0] == "bonds"


def test_bad_coordinates_raise_clear_errors(deca, potential):
    x = torch.tensor(deca.positions_angstrom()[None])
    with pytest.raises(PathganInputError, match=r"111 atoms per frame, but the system has 112"):
        potential(x[:, :111])
    with pytest.raises(PathganInputError, match="empty batch"):
        potential(x[:0])
    with pytest.raises(PathganInputError, match=r"expected shape \(batch, 112, 3\)"):
        potential(x[0])
    bad = x.clone()
    bad[0, 5, 1] = float("nan")
    with pytest.raises(PathganInputError, match="NaN or infinite coordinates .*frame 0, atom 5"):
        potential(bad)


def test_charmm_files_reproduce_openmm_charmm36(charmm_peptide):
    """The written psf/prm give OpenMM the same energy as charmm36.xml itself (the files are faithful)."""
    system, _ = charmm_peptide
    reference = app.ForceField("charmm36.xml").createSystem(system.topology, nonbondedMethod=app.NoCutoff)
    frames = test_frames(system, seed=3, n_perturbed=2, n_md=2)
    ours = OpenMMEvaluator(system.system).energies(frames)["total"]
    theirs = OpenMMEvaluator(reference).energies(frames)["total"]
    np.testing.assert_allclose(ours, theirs, atol=1e-3)


def test_charmm_unsupported_terms_warned_and_others_agree(charmm_peptide):
    system, warned = charmm_peptide
    assert any("Urey-Bradley" in w and "CMAP" in w and "peptide.psf" in w for w in warned), warned
    frames = test_frames(system, seed=3, n_md=12)
    assert len(frames) >= 20
    ev = OpenMMEvaluator(system.system, "Reference")
    omm_e, omm_f = ev.energies(frames), ev.forces_by_group(frames)
    unsupported = {i.label for i in ev.forces if not i.terms}
    assert unsupported == {"HarmonicBondForce#2", "CMAPTorsionForce"}  # Urey-Bradley, CMAP
    # Non-zero in these frames, so leaving them out is visible in the total.
    assert all(np.abs(omm_e[label]).max() > 0.1 for label in unsupported)
    for info in ev.forces:
        if not info.terms:
            continue
        sub = TorchMDPotential.from_system(system, terms=info.terms)
        energies, forces = sub.energy_and_forces(torch.tensor(frames))
        e = sum(energies[t] for t in info.terms).numpy()
        assert np.max(np.abs(e - omm_e[info.label])) < 2e-3, info.label
        assert np.max(np.abs(forces.numpy() - omm_f[info.label])) < 1e-2, info.label
