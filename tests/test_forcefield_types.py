"""Atom types and Systems from OpenMM force-field XML files: the types createSystem assigns, keyed parameters."""

from __future__ import annotations

import copy
from collections import defaultdict

import openmm as mm
import openmm.app as app
import openmm.unit as u
import parmed
import pytest
from charmm_files import _charmm36_lennard_jones

from openmm_bridge.builder import build_peptide
from openmm_bridge.forcefield_types import (
    ForceFieldCreator,
    _types_with_patches,
    atom_types,
    create_systems,
    structure_from_forcefield,
)
from openmm_bridge.units import ANGSTROM_PER_NM, KJ_PER_KCAL


@pytest.fixture(scope="module")
def amber() -> app.ForceField:
    return app.ForceField("amber14-all.xml")


def _nonbonded(system: mm.System) -> mm.NonbondedForce:
    return next(f for f in system.getForces() if isinstance(f, mm.NonbondedForce))


def _one_value_per_type(types: list[str], values: list) -> dict[str, set]:
    """{type: the set of values its atoms have}: a single value each if the types key the parameters."""
    by_type = defaultdict(set)
    for t, v in zip(types, values, strict=True):
        by_type[t].add(v)
    return dict(by_type)


def test_types_are_those_createsystem_assigns(deca, amber):
    types = atom_types(amber, deca.topology)
    assert len(types) == deca.n_atoms
    # where createSystem keeps them (the patched path reads its internal record of the matching)
    assert types == _types_with_patches(amber, deca.topology)
    # and the System createSystem built gives every atom of a type the same Lennard-Jones parameters
    system = amber.createSystem(deca.topology, nonbondedMethod=app.NoCutoff)
    nb = _nonbonded(system)
    lj = [
        (
            round(nb.getParticleParameters(i)[1].value_in_unit(u.nanometer), 8),
            round(nb.getParticleParameters(i)[2].value_in_unit(u.kilojoule_per_mole), 8),
        )
        for i in range(deca.n_atoms)
    ]
    per_type = _one_value_per_type(types, lj)
    assert all(len(v) == 1 for v in per_type.values()), per_type
    assert len(per_type) > 4  # C, N, O and hydrogens of several kinds, not one catch-all type


def test_renamed_atoms_are_typed_by_graph_matching(deca, amber):
    reference = atom_types(amber, deca.topology)
    top = copy.deepcopy(deca.topology)
    residue = list(top.residues())[3]
    hb1 = next(a for a in residue.atoms() if a.name == "HB1")
    hb1.name = "HQ7"  # a name the ALA template does not have
    assert atom_types(amber, top) == reference
    # every atom of a residue renamed: all of them found by the bond graph
    top = copy.deepcopy(deca.topology)
    residue = list(top.residues())[5]
    for k, atom in enumerate(residue.atoms()):
        atom.name = f"X{k}"
    assert atom_types(amber, top) == reference
    assert [a.name for a in deca.topology.atoms()] != [
        a.name for a in top.atoms()
    ]  # the copy, not the fixture


@pytest.fixture(scope="module")
def charmm_dipeptide():
    """Ala-Ala with free termini and the CHARMM36 force field (termini are patches there)."""
    charmm = app.ForceField("charmm36.xml")
    topology, positions = build_peptide("AA", app.ForceField("amber14-all.xml"), caps=False)
    return charmm, topology, positions


def test_charmm_termini_fall_back_to_the_patched_path(charmm_dipeptide):
    charmm, topology, _ = charmm_dipeptide
    with pytest.raises(ValueError):
        charmm.getMatchingTemplates(topology)  # the public call cannot match patched termini
    types = atom_types(charmm, topology)
    assert len(types) == topology.getNumAtoms()
    assert set(types) <= set(_charmm36_lennard_jones())  # all of them CHARMM36 atom types
    n_atoms = [types[a.index] for a in topology.atoms() if a.name == "N"]
    assert len(n_atoms) == 2 and n_atoms[0] != n_atoms[1]  # the NH3+ terminus is typed by its patch
    # createSystem's Lennard-Jones (a CustomNonbondedForce, one type index per atom) agrees
    system = charmm.createSystem(topology, nonbondedMethod=app.NoCutoff)
    lj = next(f for f in system.getForces() if isinstance(f, mm.CustomNonbondedForce))
    index = [lj.getParticleParameters(i)[0] for i in range(topology.getNumAtoms())]
    assert all(len(v) == 1 for v in _one_value_per_type(types, index).values())


def test_create_systems_constraints_and_no_cm_motion_remover(deca, amber):
    free, hbonds = create_systems(ForceFieldCreator(amber, deca.topology))
    h = app.element.hydrogen
    h_bonds = {frozenset((a.index, b.index)) for a, b in deca.topology.bonds() if h in (a.element, b.element)}
    assert len(h_bonds) > 0
    assert free.getNumConstraints() == 0
    assert hbonds.getNumConstraints() == len(h_bonds)
    constrained = {
        frozenset(hbonds.getConstraintParameters(k)[:2]) for k in range(hbonds.getNumConstraints())
    }
    assert constrained == h_bonds
    for system in (free, hbonds):
        assert system.getNumParticles() == deca.n_atoms
        assert not any(isinstance(f, mm.CMMotionRemover) for f in system.getForces())
        assert _nonbonded(system).getNonbondedMethod() == mm.NonbondedForce.NoCutoff


def test_structure_is_keyed_by_the_forcefield_types(deca, amber):
    ids = [a.id for a in deca.topology.atoms()]
    struct = structure_from_forcefield(amber, deca.topology, deca.system, deca.positions)
    types = atom_types(amber, deca.topology)
    assert [a.type for a in struct.atoms] == types
    assert [a.id for a in deca.topology.atoms()] == ids  # the topology's ids are put back
    prm = parmed.ParameterSet.from_structure(struct, allow_unequal_duplicates=False)
    # every bond's parameters, looked up by its atoms' types, are the System's for that bond
    bonds = next(f for f in deca.system.getForces() if isinstance(f, mm.HarmonicBondForce))
    assert bonds.getNumBonds() > 0
    for k in range(bonds.getNumBonds()):
        i, j, r0, kb = bonds.getBondParameters(k)
        btype = prm.bond_types[(types[i], types[j])]
        assert btype.req == pytest.approx(r0.value_in_unit(u.nanometer) * ANGSTROM_PER_NM, rel=1e-6)
        # parmed: k (r - req)^2 in kcal/mol/A^2; OpenMM: k/2 (r - r0)^2 in kJ/mol/nm^2
        expected_k = (
            kb.value_in_unit(u.kilojoule_per_mole / u.nanometer**2) / 2 / KJ_PER_KCAL / ANGSTROM_PER_NM**2
        )
        assert btype.k == pytest.approx(expected_k, rel=1e-6)
    # every atom's Lennard-Jones well depth, looked up by its type, is the System's for that atom
    nb = _nonbonded(deca.system)
    for i, t in enumerate(types):
        eps = nb.getParticleParameters(i)[2].value_in_unit(u.kilojoule_per_mole) / KJ_PER_KCAL
        assert prm.atom_types[t].epsilon == pytest.approx(eps, rel=1e-6, abs=1e-12)


def test_names_that_contradict_the_bonds_are_typed_by_the_bonds(deca):
    """OpenMM matches residues by bond graph; names swapped against the bonds must not change the types."""
    import copy

    import openmm.app as app

    from openmm_bridge.forcefield_types import _types_with_patches, atom_types

    top = copy.deepcopy(deca.topology)
    a = {x.name: x for x in list(top.residues())[3].atoms()}
    a["H"].name, a["HA"].name = "HA", "H"  # bonds unchanged
    ff = app.ForceField("amber14-all.xml")
    assert atom_types(ff, top) == _types_with_patches(ff, top)
