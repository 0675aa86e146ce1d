"""Parameters from OpenMM force-field XML files: atom types, the parmed Structure torchmd reads, Systems.

``ForceField.createSystem`` assigns each atom a type by matching residues to the force
field's templates; torchmd looks parameters up by type, so the types are taken from the same
matching (:meth:`openmm.app.ForceField.getMatchingTemplates`, OpenMM's public API) and the
parameters from the System OpenMM built, through parmed.
"""

from __future__ import annotations

import warnings
from typing import Any

import networkx as nx
import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as u
import parmed

from . import torchmd_input
from .errors import PathganInputError


def create_systems(creator: Any, **kwargs: Any) -> tuple[mm.System, mm.System]:
    """The System of the potential energy surface (vacuum, no cutoff, no constraints, no CMM remover)
    and the same with bonds to hydrogen constrained, as ``createSystem(constraints=HBonds)`` makes it.

    ``creator``: anything with OpenMM's ``createSystem`` (a prmtop, a psf, :class:`ForceFieldCreator`).
    """
    common = {"nonbondedMethod": app.NoCutoff, "removeCMMotion": False, **kwargs}
    return creator.createSystem(constraints=None, **common), creator.createSystem(
        constraints=app.HBonds, **common
    )


class ForceFieldCreator:
    """Adapter so a ForceField and a Topology look like a prmtop/psf ``createSystem``."""

    def __init__(self, forcefield: app.ForceField, topology: app.Topology) -> None:
        self.forcefield, self.topology = forcefield, topology

    def createSystem(self, **kwargs) -> mm.System:  # noqa: N802 - OpenMM's spelling
        return self.forcefield.createSystem(self.topology, **kwargs)


def atom_types(forcefield: app.ForceField, topology: app.Topology) -> list[str]:
    """The force-field atom type of every atom, as ``ForceField.createSystem`` assigns it.

    Residues are matched to templates by OpenMM (``getMatchingTemplates``); atoms to template
    atoms by name, or, where the names differ, by matching the bond graphs (elements on the
    atoms), which assigns symmetric atoms their (equal) types. Force fields that build some
    residues from patches (CHARMM36's termini) need :func:`_types_with_patches`.
    """
    try:
        templates = forcefield.getMatchingTemplates(topology)
    except ValueError:
        return _types_with_patches(forcefield, topology)
    types: list[str] = []
    for residue, template in zip(topology.residues(), templates, strict=True):
        if _names_match_bonds(residue, template):
            by_name = {a.name: a.type for a in template.atoms}
            types += [by_name[a.name] for a in residue.atoms()]
        else:
            types += _types_by_graph(residue, template)
    return types


def _names_match_bonds(residue: app.topology.Residue, template: Any) -> bool:
    """Whether the residue's atom names map it onto the template, bonds included (OpenMM matches by graph)."""
    index = {a.name: k for k, a in enumerate(template.atoms)}
    names = [a.name for a in residue.atoms()]
    if len(names) != len(index) or any(n not in index for n in names):
        return False
    theirs = {frozenset(b) for b in template.bonds}
    ours = {
        frozenset((index[a.name], index[b.name]))
        for a, b in residue.bonds()
        if a.residue is b.residue is residue
    }
    return ours == theirs


def _types_with_patches(forcefield: app.ForceField, topology: app.Topology) -> list[str]:
    """Atom types where a residue matches only a patched template.

    OpenMM's public ``getMatchingTemplates`` does not apply patches, and no public call
    returns the types ``createSystem`` assigns through them, so this reads them where
    ``createSystem`` keeps them; if a future OpenMM moves them, the error says so.
    """
    try:
        data = app.ForceField._SystemData(topology)
        forcefield._matchAllResiduesToTemplates(data, topology, {}, False)
        return [data.atomType[a] for a in topology.atoms()]
    except AttributeError as err:
        raise PathganInputError(
            "this force field builds residues from patches, and this OpenMM version no longer exposes "
            f"the types it assigns through them ({err}); use a prmtop or psf instead"
        ) from err
    except ValueError as err:
        raise PathganInputError(str(err)) from err


def _types_by_graph(residue: app.topology.Residue, template: Any) -> list[str]:
    ours = nx.Graph()
    atoms = list(residue.atoms())
    index = {a.index: k for k, a in enumerate(atoms)}
    for k, a in enumerate(atoms):
        ours.add_node(k, element=a.element)
    for a, b in residue.bonds():
        if a.index in index and b.index in index:
            ours.add_edge(index[a.index], index[b.index])
    theirs = nx.Graph()
    for k, a in enumerate(template.atoms):
        theirs.add_node(k, element=a.element)
    theirs.add_edges_from(template.bonds)
    matcher = nx.algorithms.isomorphism.GraphMatcher(
        ours, theirs, node_match=lambda x, y: x["element"] == y["element"]
    )
    if not matcher.is_isomorphic():
        raise PathganInputError(
            f"residue {residue.name}{residue.id} does not match its template {template.name}"
        )
    return [template.atoms[matcher.mapping[k]].type for k in range(len(atoms))]


def _scaling_14(system: mm.System) -> tuple[float, float]:
    """(scee, scnb) of the 1-4 exceptions of a System's NonbondedForce.

    Both are read from the exceptions themselves (charge product and epsilon relative to
    the unscaled combination), so any force field's scaling is found. torchmd reads one
    scaling per torsion type; a System whose exceptions mix scalings is refused (a prmtop
    keeps its per-torsion scalings: load it with ``MolecularSystem.from_amber``).
    """
    nb = next(f for f in system.getForces() if isinstance(f, mm.NonbondedForce))
    scee, scnb = [], []
    for k in range(nb.getNumExceptions()):
        i, j, qq, _sig, eps = nb.getExceptionParameters(k)
        qi, _, ei = nb.getParticleParameters(i)
        qj, _, ej = nb.getParticleParameters(j)
        qq0 = (qi * qj).value_in_unit(u.elementary_charge**2)
        eps0 = np.sqrt(ei.value_in_unit(u.kilojoule_per_mole) * ej.value_in_unit(u.kilojoule_per_mole))
        qq, eps = qq.value_in_unit(u.elementary_charge**2), eps.value_in_unit(u.kilojoule_per_mole)
        if abs(qq) > 1e-8 and abs(qq0) > 1e-8:
            scee.append(qq0 / qq)
        if eps > 1e-12 and eps0 > 1e-12:
            scnb.append(eps0 / eps)
    for name, values in (("electrostatic", scee), ("Lennard-Jones", scnb)):
        if values and np.ptp(values) > 1e-3 * np.median(values):
            raise PathganInputError(
                f"the force field mixes 1-4 {name} scalings ({min(values):.4g} to {max(values):.4g}); "
                "pathgan reads one scaling per torsion type from a prmtop, not from force-field XML files: "
                "write a prmtop (e.g. with tleap or parmed) and load it with --prmtop"
            )
    if not scee:
        return 1.0, 1.0
    return float(np.median(scee)), float(np.median(scnb)) if scnb else 1.0


def structure_from_forcefield(
    forcefield: app.ForceField, topology: app.Topology, system: mm.System, positions: Any
) -> parmed.Structure:
    """parmed Structure of an OpenMM-XML-parametrised system, keyed by the XML's atom types."""
    types = atom_types(forcefield, topology)
    original_ids = [atom.id for atom in topology.atoms()]
    for atom, atype in zip(topology.atoms(), types, strict=True):
        atom.id = atype  # parmed names the atom type after a non-integer Atom.id
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            struct = parmed.openmm.load_topology(topology, system, xyz=positions)
    finally:
        for atom, atom_id in zip(topology.atoms(), original_ids, strict=True):
            atom.id = atom_id
    split_urey_bradley(struct, topology)
    scee, scnb = _scaling_14(system)
    torchmd_input.set_14_scaling(struct, scee, scnb)
    return struct


def split_urey_bradley(struct: parmed.Structure, topology: app.Topology) -> int:
    """Move bonds that are not chemical bonds (charmm36.xml's Urey-Bradley 1-3 terms) to ``urey_bradleys``.

    charmm36.xml writes Urey-Bradley terms into the HarmonicBondForce of the bonds, so parmed reads
    them as bonds; as bonds they would enter torchmd's bond term, its exclusions and the 1-4 pairs
    derived from the bond graph. Returns how many were moved.
    """
    chemical = {frozenset((a.index, b.index)) for a, b in topology.bonds()}
    moved = [b for b in struct.bonds if frozenset((b.atom1.idx, b.atom2.idx)) not in chemical]
    for bond in moved:
        btype, a1, a2 = bond.type, bond.atom1, bond.atom2
        struct.bonds.remove(bond)
        bond.delete()
        ub_type = parmed.BondType(btype.k, btype.req, list=struct.urey_bradley_types)
        struct.urey_bradley_types.append(ub_type)
        struct.urey_bradleys.append(parmed.UreyBradley(a1, a2, type=ub_type))
    if moved:  # parmed flagged impropers while the 1-3 pairs still looked like bonds: redo it
        for d in struct.dihedrals:
            d.improper = all(a in d.atom3.bond_partners for a in (d.atom1, d.atom2, d.atom4))
    return len(moved)


def minimize_positions(
    system: mm.System, positions: u.Quantity, tolerance_kj_mol_nm: float = 1.0
) -> u.Quantity:
    """Energy-minimised copy of ``positions`` (nm) on OpenMM's Reference platform."""
    from .context import make_context

    context = make_context(system)
    context.setPositions(positions)
    mm.LocalEnergyMinimizer.minimize(context, tolerance_kj_mol_nm, 0)
    return context.getState(getPositions=True).getPositions(asNumpy=True)
