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


def assert_parity_by_force(system, frames) -> set[str]:
    """Each OpenMM force (own force group, Reference platform) against the potential's matching terms.

    Energies within 2e-3 kcal/mol, forces within 1e-2 kcal/mol/A at every atom; returns the labels.
    """
    assert len(frames) >= 20
    ev = OpenMMEvaluator(system.system, "Reference")
    omm_e, omm_f = ev.energies(frames), ev.forces_by_group(frames)
    for info in ev.forces:
        assert info.terms, f"{info.label}: {info.note}"
        sub = TorchMDPotential.from_system(system, terms=info.terms)
        energies, forces = sub.energy_and_forces(torch.tensor(frames))
        e = sum(energies[t] for t in info.terms).numpy()
        assert np.max(np.abs(e - omm_e[info.label])) < 2e-3, info.label
        assert np.max(np.abs(forces.numpy() - omm_f[info.label])) < 1e-2, info.label
    total = TorchMDPotential.from_system(system).energy(torch.tensor(frames)).numpy()
    assert np.max(np.abs(total - omm_e["total"])) < len(ev.forces) * 2e-3
    return {info.label for info in ev.forces}


def test_energies_and_forces_agree_with_openmm(deca, deca_frames):
    assert assert_parity_by_force(deca, deca_frames) == {
        "HarmonicBondForce",
        "HarmonicAngleForce",
        "PeriodicTorsionForce",
        "NonbondedForce",
    }


def test_charmm36_from_pdb_agrees_with_openmm(charmm36):
    """OpenMM's charmm36.xml: Urey-Bradley inside the bond force, CMAP, tabulated LJ and 1-4 LJ bonds."""
    frames = test_frames(charmm36, seed=5, n_perturbed=8, n_md=12)
    labels = assert_parity_by_force(charmm36, frames)
    assert {"CMAPTorsionForce", "CustomNonbondedForce", "CustomBondForce"} <= labels
    pot = TorchMDPotential.from_system(charmm36)
    e = pot(torch.tensor(frames))
    assert (
        e["urey_bradley"].abs().min() > 0.1 and e["cmap"].abs().min() > 0.1
    )  # present, so a wrong one shows


def test_charmm_psf_agrees_with_openmm(charmm_peptide):
    """A psf + prm: Urey-Bradley in a HarmonicBondForce of its own, CMAP, harmonic impropers."""
    system, _ = charmm_peptide
    labels = assert_parity_by_force(system, test_frames(system, seed=3, n_md=12))
    assert {"HarmonicBondForce#2", "CMAPTorsionForce", "CustomTorsionForce"} <= labels


def test_mixed_14_scalings_from_a_prmtop(deca, tmp_path):
    """A prmtop whose torsion types carry different 1-4 scalings (as GLYCAM with AMBER does)."""
    import parmed

    from openmm_bridge.errors import PathganInputError
    from openmm_bridge.forcefield_types import _scaling_14
    from openmm_bridge.system import MolecularSystem

    struct = deca.structure.copy(parmed.Structure)
    short = {name: f"T{k:02d}" for k, name in enumerate(sorted({a.type for a in struct.atoms}))}
    for atom_type in {id(a.atom_type): a.atom_type for a in struct.atoms}.values():
        atom_type.name = short[atom_type.name]
    for atom in struct.atoms:
        atom.type = short[atom.type]
    changed = 0
    for d in struct.dihedrals:  # torsions about the peptide N: no 1-4 scaling (scee = scnb = 1)
        if not d.improper and "N" in (d.atom2.name, d.atom3.name):
            t = d.type
            d.type = parmed.DihedralType(
                t.phi_k, t.per, t.phase, scee=1.0, scnb=1.0, list=struct.dihedral_types
            )
            struct.dihedral_types.append(d.type)
            changed += 1
    assert changed > 50
    del struct.adjusts[:]  # else parmed's writer takes the scalings from the original exceptions
    parmed.amber.AmberParm.from_structure(struct).write_parm(str(tmp_path / "mixed.prmtop"))
    crd = parmed.amber.Rst7(natom=len(struct.atoms))
    crd.coordinates = deca.positions_angstrom()
    crd.write(str(tmp_path / "mixed.rst7"))
    mixed = MolecularSystem.from_amber(tmp_path / "mixed.prmtop", tmp_path / "mixed.rst7")
    with pytest.raises(PathganInputError, match="mixes 1-4 electrostatic scalings"):
        _scaling_14(mixed.system)  # OpenMM applied both scalings
    frames = test_frames(mixed, seed=2, n_perturbed=8, n_md=12)
    assert_parity_by_force(mixed, frames)
    one_scaling = TorchMDPotential.from_system(deca, terms=("1-4",))(torch.tensor(frames))["1-4"]
    mine = TorchMDPotential.from_system(mixed, terms=("1-4",))(torch.tensor(frames))["1-4"]
    assert (one_scaling - mine).abs().min() > 1.0  # the mixed scalings are really used


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
        TorchMDPotential.from_system(deca, terms=("bonds", "ryckaert"))
    with pytest.raises(ValueError, match=r"this system has no \['cmap'\] terms"):
        TorchMDPotential.from_system(deca, terms=("bonds", "cmap"))
    assert TERMS[0] == "bonds" and "implicit_solvent" in TERMS


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


def test_chamber_prmtop_agrees_with_openmm(tmp_path):
    """CHARMM in AMBER format: Urey-Bradley, CMAP and the prmtop reader's own improper expression."""
    from charmm_files import write_chamber, write_charmm_peptide

    from openmm_bridge.system import MolecularSystem

    prmtop, rst7 = write_chamber(*write_charmm_peptide(tmp_path, "AAAA"))
    system = MolecularSystem.from_amber(prmtop, rst7)
    labels = assert_parity_by_force(system, test_frames(system, seed=4, n_perturbed=8, n_md=12))
    assert {"CMAPTorsionForce", "CustomTorsionForce"} <= labels


def test_prmtop_in_obc2_agrees_with_openmm(tmp_path):
    """A prmtop asked for OBC2: OpenMM's native GBSAOBCForce (surface term included), with the prmtop's radii."""
    import openmm as mm
    from amber_files import write_amber_peptide

    from openmm_bridge.forcefield_types import minimize_positions
    from openmm_bridge.system import MolecularSystem

    prmtop, inpcrd = write_amber_peptide(tmp_path, "AKDA", radii="mbondi2")  # charged side chains
    system = MolecularSystem.from_amber(prmtop, inpcrd, implicit_solvent="OBC2")
    system.positions = minimize_positions(system.system, system.positions)  # the built side chains clash
    assert any(isinstance(f, mm.GBSAOBCForce) for f in system.system.getForces())
    assert system.metadata["implicit_solvent"] == "OBC2"
    labels = assert_parity_by_force(system, test_frames(system, seed=6, n_perturbed=8, n_md=12))
    assert "GBSAOBCForce" in labels


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (torch sees none)")


@needs_cuda
@pytest.mark.parametrize("solvent", ["vacuum", "obc2"])
def test_cuda_equals_cpu_in_float64(deca, deca_frames, solvent):
    """Every term and the forces on the GPU as on the CPU to 1e-9 relative (float64, deca-alanine)."""
    from openmm_bridge.system import MolecularSystem

    system, frames = deca, deca_frames
    if solvent == "obc2":
        system = MolecularSystem.from_sequence("AAAAAAAAAA", ("amber14-all.xml", "implicit/obc2.xml"))
        frames = test_frames(system, seed=5)
    cpu = TorchMDPotential.from_system(system)
    gpu = TorchMDPotential.from_system(system, device="cuda")
    assert {b.device.type for b in gpu.buffers()} == {"cuda"}
    x = torch.tensor(frames)
    e_cpu, f_cpu = cpu.energy_and_forces(x)
    e_gpu, f_gpu = gpu.energy_and_forces(x.cuda())
    assert f_gpu.device.type == "cuda" and f_gpu.dtype == torch.float64
    assert set(e_gpu) == set(e_cpu) and ("implicit_solvent" in e_cpu) == (solvent == "obc2")
    for term, ref in e_cpu.items():
        scale = float(ref.abs().max())
        np.testing.assert_allclose(
            e_gpu[term].cpu().numpy(), ref.numpy(), rtol=1e-9, atol=1e-9 * scale, err_msg=term
        )
    scale = float(f_cpu.abs().max())
    np.testing.assert_allclose(f_gpu.cpu().numpy(), f_cpu.numpy(), rtol=1e-9, atol=1e-9 * scale)
