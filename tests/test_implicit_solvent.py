"""Parity of the torch generalized-Born energies with OpenMM's Reference platform (float64).

Each GB force is evaluated by OpenMM in a System of its own (same particles, a deepcopy of the
force, whose parameters carry the charges), on 20 frames of deca-alanine (ACE-A10-NME) and of
chignolin (GYDPETGTWG, free and charged termini): the minimised helix, 8 copies with Gaussian
noise of 0.02-0.25 A and 11 frames of a Langevin run of the full obc2.xml system at 300 K.
Models: obc2.xml and gbn2.xml (CustomGBForce; with and without the ACE term; other
dielectrics) and the native GBSAOBCForce of ``AmberPrmtopFile.createSystem(implicitSolvent=OBC2)``.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as u
import pytest
import torch
from openmm.app.internal import customgbforces
from parity import force_alone, frames_of, openmm_energies_forces, torch_energies_forces

from openmm_bridge.builder import build_peptide
from pathgan.implicit_solvent import GeneralizedBorn

#: Tolerances of the parity: energy kcal/mol, force kcal/mol/A at every atom.
E_TOL = 2e-3
F_TOL = 1e-2

SYSTEMS = {"deca-alanine": ("AAAAAAAAAA", True), "chignolin": ("GYDPETGTWG", False)}

#: name -> (force field xml or "prmtop", createSystem keyword arguments)
VARIANTS = {
    "obc2": ("implicit/obc2.xml", {}),
    "obc2-no-sa": ("implicit/obc2.xml", {"sasaMethod": None}),
    "obc2-eps": ("implicit/obc2.xml", {"solventDielectric": 80.0, "soluteDielectric": 2.0}),
    "gbn2": ("implicit/gbn2.xml", {}),
    "gbn2-no-sa": ("implicit/gbn2.xml", {"sasaMethod": None}),
    "gbn2-eps": ("implicit/gbn2.xml", {"solventDielectric": 80.0, "soluteDielectric": 2.0}),
    "native": ("prmtop", {}),
    "native-no-sa": ("prmtop", {"sasaMethod": None}),
    "native-eps": ("prmtop", {"solventDielectric": 80.0, "soluteDielectric": 2.0}),
}


@dataclass
class Peptide:
    """Frames (Angstrom), particle masses and the GB force of every variant."""

    frames: np.ndarray
    masses: list[float]
    forces: dict[str, mm.Force]


def _gb_force(system: mm.System) -> mm.Force:
    (force,) = [f for f in system.getForces() if isinstance(f, (mm.CustomGBForce, mm.GBSAOBCForce))]
    return copy.deepcopy(force)  # the System owns its forces: a bare reference dies with it


def _write_prmtop(top: app.Topology, pos: u.Quantity, path: Path) -> None:
    """The vacuum amber14 system as a prmtop (parmed), with Amber's mbondi2 GB radii and screening."""
    import parmed
    from parmed.tools import changeRadii

    vacuum = app.ForceField("amber14-all.xml").createSystem(
        top, nonbondedMethod=app.NoCutoff, constraints=None
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parm = parmed.amber.AmberParm.from_structure(parmed.openmm.load_topology(top, vacuum, xyz=pos))
        changeRadii(parm, "mbondi2").execute()
        parm.write_parm(str(path))


def _one_torch_thread():
    """One intra-op thread while these tests run: the (batch, n, n) element-wise kernels are small,
    and on a machine whose few cores are shared two threads wait on each other (10x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def forcefields() -> dict[str, app.ForceField]:
    return {xml: app.ForceField("amber14-all.xml", xml) for xml in ("implicit/obc2.xml", "implicit/gbn2.xml")}


@pytest.fixture(scope="module", params=list(SYSTEMS))
def peptide(request, forcefields, tmp_path_factory) -> Peptide:
    sequence, caps = SYSTEMS[request.param]
    obc2 = forcefields["implicit/obc2.xml"]
    top, pos = build_peptide(sequence, obc2, caps=caps)
    full = obc2.createSystem(top, nonbondedMethod=app.NoCutoff, constraints=None)
    prmtop = tmp_path_factory.mktemp("gb") / "peptide.prmtop"
    _write_prmtop(top, pos, prmtop)
    forces = {}
    for name, (source, kwargs) in VARIANTS.items():
        if source == "prmtop":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                system = app.AmberPrmtopFile(str(prmtop)).createSystem(
                    implicitSolvent=app.OBC2, nonbondedMethod=app.NoCutoff, **kwargs
                )
        else:
            system = forcefields[source].createSystem(
                top, nonbondedMethod=app.NoCutoff, constraints=None, **kwargs
            )
        forces[name] = _gb_force(system)
    assert all(isinstance(forces[n], mm.GBSAOBCForce) for n in VARIANTS if n.startswith("native"))
    masses = [full.getParticleMass(i).value_in_unit(u.dalton) for i in range(full.getNumParticles())]
    return Peptide(
        frames_of(full, pos, seed=11, n_md=11, md_steps=50, minimize_iterations=200), masses, forces
    )


def openmm_reference(
    force: mm.Force, masses: list[float], frames: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Energies (kcal/mol) and forces (kcal/mol/A) of ``force`` alone, OpenMM Reference platform."""
    return openmm_energies_forces(force_alone(masses, force), frames)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_parity_with_openmm_reference(peptide, variant):
    force = peptide.forces[variant]
    module = GeneralizedBorn.from_force(force)
    expected_name = "GBn2" if variant.startswith("gbn2") else "OBC2"
    assert module.model.name == expected_name
    assert module.model.surface_area == (not variant.endswith("no-sa"))
    e_ref, f_ref = openmm_reference(force, peptide.masses, peptide.frames)
    e, f = torch_energies_forces(module, peptide.frames)
    assert len(e) >= 20 and np.all(np.isfinite(f))
    assert np.abs(e - e_ref).max() < E_TOL, np.abs(e - e_ref).max()
    assert np.abs(f - f_ref).max() < F_TOL, np.abs(f - f_ref).max()
    assert np.abs(e_ref).min() > 10.0  # a real solvation energy, not a vanishing one


def test_the_models_differ(peptide):
    """obc2.xml, gbn2.xml and the native force are different models (no test passes by accident)."""
    x = torch.tensor(peptide.frames[:1])
    e = {
        name: GeneralizedBorn.from_force(peptide.forces[name])(x).item()
        for name in ("obc2", "gbn2", "native")
    }
    assert abs(e["obc2"] - e["gbn2"]) > 1.0
    # the native kernel's Coulomb constant (138.9354576 against 138.935485): 2e-7 of the polar energy
    assert abs(e["obc2"] - e["native"]) > 1e-7 * abs(e["obc2"])


def test_same_frame_twice_gives_identical_energies(peptide):
    for name in ("obc2", "gbn2", "native"):
        module = GeneralizedBorn.from_force(peptide.forces[name])
        x = torch.tensor(peptide.frames[[3, 3, 0]])
        e = module(x)
        assert torch.equal(e[0], e[1])
        assert torch.allclose(module(x[2:]), e[2:], rtol=0, atol=1e-9)


def test_born_radii_and_float32(peptide):
    module = GeneralizedBorn.from_force(peptide.forces["gbn2"])
    x = torch.tensor(peptide.frames[:4])
    born = module.born_radii(x)
    radius = module.radius * 10.0
    assert born.shape == (4, module.n_atoms) and torch.all(born >= module.offset_radius * 10.0)
    assert torch.all(born < 100.0) and torch.all(torch.isfinite(born)) and radius.shape == (module.n_atoms,)
    single = GeneralizedBorn.from_force(peptide.forces["gbn2"], dtype=torch.float32)
    assert single.charge.dtype == torch.float32
    e64, e32 = module(x), single(x.float())
    assert e32.dtype == torch.float32
    torch.testing.assert_close(e32.double(), e64, rtol=0, atol=0.05)


def _toy_forces() -> tuple[mm.Force, mm.Force]:
    """A big and two small atoms: the same parameters as a customgbforces OBC2 and a native GBSAOBCForce."""
    params = [(-0.5, 0.30, 1.0), (0.4, 0.12, 0.85), (0.3, 0.15, 0.72)]
    custom = customgbforces.GBSAOBC2Force(SA="ACE")
    native = mm.GBSAOBCForce()
    native.setSolventDielectric(78.5)
    for q, radius, scale in params:
        custom.addParticle([q, radius, scale])
        native.addParticle(q, radius, scale)
    custom.finalize()
    return custom, native


def test_parity_where_an_atom_is_buried_in_another():
    """Every branch of the descreening integral: an atom inside a scaled sphere, L = o_i and L = |r - s_j|,
    the step that drops a pair, the native kernel's correction for a buried atom."""
    distances = np.array([0.1, 0.3, 0.6, 1.0, 1.5, 1.9, 2.5, 3.2, 4.5, 6.0])  # Angstrom, atom 1 from atom 0
    frames = np.zeros((len(distances), 3, 3))
    frames[:, 1, 0] = distances
    frames[:, 2] = [0.8, 2.2, 0.5]
    for force in _toy_forces():
        module = GeneralizedBorn.from_force(force)
        e_ref, f_ref = openmm_reference(force, [12.0, 1.0, 12.0], frames)
        e, f = torch_energies_forces(module, frames)
        assert np.abs(e - e_ref).max() < 1e-6 * max(1.0, np.abs(e_ref).max())
        assert np.abs(f - f_ref).max() < 1e-6 * max(1.0, np.abs(f_ref).max())
    # the buried frames really differ between the two implementations (the correction is exercised)
    custom, native = (GeneralizedBorn.from_force(f) for f in _toy_forces())
    x = torch.tensor(frames[:2])
    assert torch.all(torch.abs(custom(x) - native(x)) > 1e-3)


def test_refusals():
    custom, _ = _toy_forces()
    tampered = copy.deepcopy(custom)
    name, expression, kind = tampered.getComputedValueParameters(1)
    tampered.setComputedValueParameters(1, name, expression.replace("4.85", "4.9"), kind)
    for force in (tampered, mm.HarmonicBondForce()):
        with pytest.raises(ValueError):
            GeneralizedBorn.from_force(force)
    module = GeneralizedBorn.from_force(custom)
    with pytest.raises(ValueError):
        module(torch.zeros(3, 3))
    with pytest.raises(ValueError):
        module(torch.zeros(1, 4, 3))
    assert {"charge", "offset_radius", "scaled_radius", "radius"} <= set(module.state_dict())


def test_a_batch_larger_than_a_chunk_equals_its_parts(peptide):
    module = GeneralizedBorn.from_force(peptide.forces["obc2"])
    module.chunk = 4
    frames = torch.tensor(peptide.frames)
    whole = module(frames)
    parts = torch.cat([module(frames[k : k + 1]) for k in range(len(frames))])
    torch.testing.assert_close(whole, parts, rtol=1e-12, atol=1e-10)
