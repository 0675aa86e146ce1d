"""One molecular system that OpenMM and torchmd both read.

A :class:`MolecularSystem` holds the OpenMM ``Topology``, ``System`` (vacuum,
no cutoff, no constraints: the potential energy surface itself) and positions,
plus a parametrised parmed ``Structure`` from which torchmd's inputs are made.
It is built from a sequence (the embedded deca-alanine default), from a PDB and
OpenMM force-field XML files, from AMBER prmtop/inpcrd or from CHARMM
psf/parameters/coordinates, and saved to or loaded from a folder.
"""

from __future__ import annotations

import copy
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as u
import parmed

from . import torchmd_input
from .builder import BUILDER_VERSION, build_peptide
from .errors import PathganInputError
from .fileio import atomic_directory
from .provenance import versions
from .stereochemistry import CHECKER, StereoReport, check_structure


class StereochemistryWarning(UserWarning):
    """A system with D-residues or cis peptide bonds that the user has not accepted."""


#: The force field of the embedded default (AMBER ff14SB, as OpenMM ships it).
DEFAULT_FORCEFIELD: tuple[str, ...] = ("amber14-all.xml",)
#: The embedded default system.
DECA_ALANINE: str = "AAAAAAAAAA"

_SYSTEM_XML = "system.xml"
_STRUCTURE_PDB = "structure.pdb"
_METADATA = "metadata.json"
_PRMTOP = "parameters.prmtop"
_PSF = "parameters.psf"
_CHARMM_PRM = "parameters.prm"


def _create_vacuum_system(creator, **kwargs) -> mm.System:
    """The System of the potential energy surface: no cutoff, no constraints, no CMM remover."""
    return creator.createSystem(
        nonbondedMethod=app.NoCutoff, constraints=None, removeCMMotion=False, **kwargs
    )


def _scaling_14(system: mm.System) -> tuple[float, float]:
    """(scee, scnb) of the 1-4 exceptions of a System's NonbondedForce.

    Both are read from the exceptions themselves (charge product and epsilon
    relative to the unscaled combination), so any force field's scaling is found.
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
    if not scee:
        return 1.0, 1.0
    return float(np.median(scee)), float(np.median(scnb)) if scnb else 1.0


def _atom_types_from_forcefield(forcefield: app.ForceField, topology: app.Topology) -> list[str]:
    """The force-field atom type of every atom, as ``ForceField.createSystem`` assigns it."""
    # ForceField keeps this in a private helper; it is the only place types are assigned.
    data = app.ForceField._SystemData(topology)
    forcefield._matchAllResiduesToTemplates(data, topology, {}, False)
    return [data.atomType[a] for a in topology.atoms()]


@dataclass
class MolecularSystem:
    """A molecular system for OpenMM and torchmd alike.

    Attributes
    ----------
    topology, system, positions
        OpenMM objects; positions in nm.  ``system`` is vacuum, no cutoff, no constraints.
    structure
        parmed Structure with atom types and parameters (the source of torchmd's inputs).
    kind
        ``"amber"`` (AMBER-style parameters, including OpenMM XML force fields such as
        ff14SB) or ``"charmm"``.
    metadata
        Provenance: how the system was made, from which files, with which versions.
    """

    topology: app.Topology
    system: mm.System
    positions: u.Quantity
    structure: parmed.Structure
    kind: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n_top, n_sys = self.topology.getNumAtoms(), self.system.getNumParticles()
        n_pos, n_struct = len(self.positions), len(self.structure.atoms)
        if not n_top == n_sys == n_pos == n_struct:
            raise PathganInputError(
                f"{self.source}: atom counts do not match: topology {n_top}, System {n_sys}, "
                f"positions {n_pos}, parameters {n_struct}"
            )
        xyz = np.asarray(self.positions.value_in_unit(u.nanometer))
        if not np.all(np.isfinite(xyz)):
            bad = np.where(~np.isfinite(xyz).all(axis=1))[0]
            raise PathganInputError(
                f"{self.source}: NaN or infinite coordinates at atoms {bad[:10].tolist()}"
            )
        accepted = self.metadata.get("stereochemistry", {}).get("accepted", {})
        self.stereochemistry: StereoReport = check_structure(
            self.topology,
            self.positions_angstrom(),
            allow_d_residues=accepted.get("d_residues", False),
            allow_cis_peptides=accepted.get("cis_peptides", False),
        )
        self.metadata["stereochemistry"] = self.stereochemistry.to_dict()
        if not self.stereochemistry.passed:
            warnings.warn(
                f"{self.source}: {'; '.join(self.stereochemistry.problems())}. If you mean them, accept them "
                "(allow_d_residues / allow_cis_peptides, or pathgan build --allow-d-residues / "
                "--allow-cis-peptides); pathgan refuses to read a system folder that fails this check.",
                StereochemistryWarning,
                stacklevel=3,
            )
        torchmd_input.complete_14_torsions(self.structure)
        missing = torchmd_input.unsupported_terms(self.structure)
        if missing:
            warnings.warn(
                f"{self.source}: torchmd cannot represent these terms, which the pathgan "
                f"potential therefore leaves out (OpenMM keeps them): {', '.join(missing)}",
                stacklevel=3,
            )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_sequence(
        cls,
        sequence: str = DECA_ALANINE,
        forcefield_files: tuple[str, ...] = DEFAULT_FORCEFIELD,
        caps: bool = True,
        minimize: bool = True,
        minimize_tolerance_kj_mol_nm: float = 1.0,
    ) -> MolecularSystem:
        """A peptide of L-amino acids as an ideal alpha-helix from its sequence (see :mod:`.builder`).

        With ``minimize`` (default) the positions are energy-minimised in vacuum
        with OpenMM's ``LocalEnergyMinimizer`` to the given tolerance.
        """
        forcefield = app.ForceField(*forcefield_files)
        topology, positions = build_peptide(sequence, forcefield, caps=caps)
        system = _create_vacuum_system(_ForceFieldCreator(forcefield, topology))
        if minimize:
            positions = minimize_positions(system, positions, minimize_tolerance_kj_mol_nm)
        struct = _structure_from_forcefield(forcefield, topology, system, positions)
        meta = {
            "source": f"sequence {sequence}",
            "builder": {
                "version": BUILDER_VERSION,
                "sequence": sequence,
                "caps": "ACE/NME" if caps else "free (charged) termini",
                "phi_deg": -57.0,
                "psi_deg": -47.0,
                "minimized": minimize,
                "minimize_tolerance_kj_mol_nm": minimize_tolerance_kj_mol_nm,
            },
            "forcefield": list(forcefield_files),
        }
        return cls(topology, system, positions, struct, "amber", meta)

    @classmethod
    def from_pdb(
        cls,
        pdb: str | os.PathLike,
        forcefield_files: tuple[str, ...] | list[str],
        allow_d_residues: bool = False,
        allow_cis_peptides: bool = False,
    ) -> MolecularSystem:
        """A system from a PDB file and OpenMM force-field XML files (AMBER-style).

        ``allow_d_residues`` / ``allow_cis_peptides``: accept (and record) D-residues or cis
        peptide bonds that the structure has on purpose; otherwise they fail the
        stereochemistry check (a warning now, a refusal when the saved folder is read).
        """
        pdb = _existing(pdb, "PDB file")
        forcefield = app.ForceField(*forcefield_files)
        pdbfile = app.PDBFile(str(pdb))
        try:
            system = _create_vacuum_system(_ForceFieldCreator(forcefield, pdbfile.topology))
        except ValueError as err:
            raise PathganInputError(f"{pdb}: {err}") from err
        struct = _structure_from_forcefield(forcefield, pdbfile.topology, system, pdbfile.positions)
        meta = {"source": str(pdb), "forcefield": list(forcefield_files)}
        meta.update(_accepted(allow_d_residues, allow_cis_peptides))
        return cls(pdbfile.topology, system, pdbfile.positions, struct, "amber", meta)

    @classmethod
    def from_amber(
        cls,
        prmtop: str | os.PathLike,
        inpcrd: str | os.PathLike,
        allow_d_residues: bool = False,
        allow_cis_peptides: bool = False,
    ) -> MolecularSystem:
        """A system from AMBER prmtop and inpcrd (or rst7) files (``allow_*``: see :meth:`from_pdb`)."""
        prmtop, inpcrd = _existing(prmtop, "prmtop"), _existing(inpcrd, "coordinate file")
        top = app.AmberPrmtopFile(str(prmtop))
        crd = app.AmberInpcrdFile(str(inpcrd))
        if len(crd.positions) != top.topology.getNumAtoms():
            raise PathganInputError(
                f"{inpcrd}: {len(crd.positions)} atoms, but {prmtop} has {top.topology.getNumAtoms()}"
            )
        system = _create_vacuum_system(top)
        struct = parmed.load_file(str(prmtop))
        meta = {"source": str(prmtop), "coordinates": str(inpcrd)}
        meta.update(_accepted(allow_d_residues, allow_cis_peptides))
        return cls(top.topology, system, crd.positions, struct, "amber", meta)

    @classmethod
    def from_charmm(
        cls,
        psf: str | os.PathLike,
        parameter_files: list[str | os.PathLike],
        coordinates: str | os.PathLike,
        allow_d_residues: bool = False,
        allow_cis_peptides: bool = False,
    ) -> MolecularSystem:
        """A system from a CHARMM psf, parameter/topology files (prm, rtf, str) and coordinates (pdb or crd).

        ``allow_*``: see :meth:`from_pdb`.
        """
        psf = _existing(psf, "psf")
        files = [str(_existing(p, "CHARMM parameter file")) for p in parameter_files]
        coordinates = _existing(coordinates, "coordinate file")
        psffile = app.CharmmPsfFile(str(psf))
        if str(coordinates).lower().endswith(".crd"):
            positions = app.CharmmCrdFile(str(coordinates)).positions
        else:
            positions = app.PDBFile(str(coordinates)).positions
        if len(positions) != psffile.topology.getNumAtoms():
            raise PathganInputError(
                f"{coordinates}: {len(positions)} atoms, but {psf} has {psffile.topology.getNumAtoms()}"
            )
        try:
            system = _create_vacuum_system(psffile, params=app.CharmmParameterSet(*files))
        except Exception as err:  # OpenMM raises bare Exception/KeyError for missing types
            raise torchmd_input.MissingParameterError(f"{', '.join(files)}: {err}") from err
        struct = parmed.load_file(str(psf))
        struct.load_parameters(parmed.charmm.CharmmParameterSet(*files))
        meta = {"source": str(psf), "parameters": files, "coordinates": str(coordinates)}
        meta.update(_accepted(allow_d_residues, allow_cis_peptides))
        return cls(psffile.topology, system, positions, struct, "charmm", meta)

    # ------------------------------------------------------------------ folder I/O
    def save(self, folder: str | os.PathLike) -> Path:
        """Write the system to ``folder`` atomically (a half-written folder never appears).

        Contents: ``structure.pdb`` (positions, Angstrom), ``system.xml`` (serialized
        OpenMM System, nm/kJ/mol), the parameters (``parameters.prmtop`` for AMBER-style,
        ``parameters.psf`` + ``parameters.prm`` for CHARMM) and ``metadata.json``.
        """
        folder = Path(folder)
        with atomic_directory(folder) as tmp:
            with open(tmp / _STRUCTURE_PDB, "w") as fh:
                app.PDBFile.writeFile(self.topology, self.positions, fh, keepIds=True)
            (tmp / _SYSTEM_XML).write_text(mm.XmlSerializer.serialize(self.system))
            if self.kind == "charmm":
                self.structure.save(str(tmp / _PSF))
                prm = parmed.charmm.CharmmParameterSet.from_structure(self.structure)
                prm.write(par=str(tmp / _CHARMM_PRM))
            else:
                type_names = _write_prmtop(self.structure, tmp / _PRMTOP)
            meta = dict(self.metadata)
            if self.kind != "charmm":
                meta["prmtop_atom_types"] = type_names
            meta.update(
                {
                    "format": "pathgan-system/1",
                    "kind": self.kind,
                    "n_atoms": self.topology.getNumAtoms(),
                    "units": {"structure.pdb": "angstrom", "system.xml": "nm, kJ/mol, ps"},
                    "files": sorted(p.name for p in tmp.iterdir()) + [_METADATA],
                    "end_to_end_ca_angstrom": self.end_to_end_distance_angstrom(),
                    "versions": versions(),
                }
            )
            (tmp / _METADATA).write_text(json.dumps(meta, indent=2) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> MolecularSystem:
        """Read a folder written by :meth:`save`."""
        folder = Path(folder)
        meta_path = folder / _METADATA
        if not meta_path.is_file():
            raise PathganInputError(f"{folder}: not a pathgan system folder (no {_METADATA})")
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as err:
            raise PathganInputError(f"{meta_path}: unreadable JSON ({err})") from err
        pdb = app.PDBFile(str(_existing(folder / _STRUCTURE_PDB, "structure")))
        system = mm.XmlSerializer.deserialize(_existing(folder / _SYSTEM_XML, "System XML").read_text())
        kind = meta.get("kind", "amber")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "charmm":
                struct = parmed.load_file(str(_existing(folder / _PSF, "psf")))
                struct.load_parameters(parmed.charmm.CharmmParameterSet(str(folder / _CHARMM_PRM)))
            else:
                struct = parmed.load_file(str(_existing(folder / _PRMTOP, "prmtop")))
                _rename_atom_types(struct, meta.get("prmtop_atom_types", {}))
        _check_stereo_record(folder, meta)
        meta.pop("versions", None)
        meta["loaded_from"] = str(folder)
        loaded = cls(pdb.topology, system, pdb.positions, struct, kind, meta)
        if not loaded.stereochemistry.passed:  # the structure no longer matches its record
            raise PathganInputError(
                f"{folder}: fails the stereochemistry check ({'; '.join(loaded.stereochemistry.problems())}); "
                f"{_rebuild_hint(folder, meta)}"
            )
        return loaded

    # ------------------------------------------------------------------ derived views
    @property
    def source(self) -> str:
        """Where the system came from (a file name or a sequence), for messages."""
        return str(self.metadata.get("source", "system"))

    @property
    def n_atoms(self) -> int:
        return self.topology.getNumAtoms()

    def positions_angstrom(self) -> np.ndarray:
        """Positions as a float64 array, shape (n_atoms, 3), Angstrom."""
        return np.asarray(self.positions.value_in_unit(u.angstrom), dtype=np.float64)

    def torchmd_molecule(self) -> torchmd_input.TorchmdMolecule:
        """The molecule object torchmd's ``Parameters`` reads."""
        return torchmd_input.molecule_from_structure(self.structure)

    def parameter_set(self) -> parmed.ParameterSet:
        """Type-keyed parameters for torchmd's ``ForceField.create``, checked complete."""
        prm = torchmd_input.parameter_set_from_structure(self.structure, self.source)
        torchmd_input.check_parameters_complete(self.torchmd_molecule(), prm, self.source)
        return prm

    def unsupported_terms(self) -> list[str]:
        """Energy terms of this system that torchmd (hence pathgan's potential) leaves out."""
        return torchmd_input.unsupported_terms(self.structure)

    def md_system(self, constraints: str | None = "HBonds") -> mm.System:
        """A copy of the System for dynamics, with bonds to hydrogen constrained (``"HBonds"``) or none.

        Constraint lengths are the bonds' equilibrium lengths (as OpenMM's ``createSystem``
        uses); the constrained bonds' harmonic terms stay (zero at the constrained length).
        """
        if constraints not in (None, "none", "HBonds"):
            raise PathganInputError(f"constraints must be 'HBonds' or None, got {constraints!r}")
        system = copy.deepcopy(self.system)
        if constraints in (None, "none"):
            return system
        bond_force = next(
            (
                system.getForce(k)
                for k in range(system.getNumForces())
                if isinstance(system.getForce(k), mm.HarmonicBondForce)
            ),
            None,
        )
        if bond_force is None:
            raise PathganInputError(f"{self.source}: no HarmonicBondForce to take constraint lengths from")
        length = {}
        for k in range(bond_force.getNumBonds()):
            i, j, r0, _ = bond_force.getBondParameters(k)
            length[frozenset((i, j))] = r0
        hydrogen = app.element.hydrogen
        for a, b in self.topology.bonds():
            if hydrogen in (a.element, b.element):
                r0 = length.get(frozenset((a.index, b.index)))
                if r0 is None:
                    raise PathganInputError(
                        f"{self.source}: bond {a} - {b} has no bond parameters to constrain"
                    )
                system.addConstraint(a.index, b.index, r0)
        return system

    def end_to_end_atoms(self) -> tuple[int, int]:
        """Indices of the CA atoms of the first and last residue that have one."""
        cas = [a.index for a in self.topology.atoms() if a.name == "CA"]
        if len(cas) < 2:
            raise PathganInputError(
                f"{self.source}: fewer than two CA atoms; give the end-to-end atoms explicitly"
            )
        return cas[0], cas[-1]

    def end_to_end_distance_angstrom(self) -> float | None:
        """CA(first)-CA(last) distance of the current positions, Angstrom (None without CAs)."""
        try:
            i, j = self.end_to_end_atoms()
        except PathganInputError:
            return None
        xyz = self.positions_angstrom()
        return float(np.linalg.norm(xyz[i] - xyz[j]))


def _accepted(allow_d_residues: bool, allow_cis_peptides: bool) -> dict[str, Any]:
    """Metadata entry of what the user accepted in the stereochemistry check."""
    return {
        "stereochemistry": {
            "accepted": {"d_residues": bool(allow_d_residues), "cis_peptides": bool(allow_cis_peptides)}
        }
    }


def _rebuild_hint(folder: Path, meta: dict[str, Any]) -> str:
    """How to rebuild a system folder, from what its metadata says it was made of."""
    builder = meta.get("builder")
    if builder:
        termini = " --free-termini" if builder.get("caps", "").startswith("free") else ""
        return f"rebuild it: pathgan build --sequence {builder.get('sequence')}{termini} --out {folder}"
    source = meta.get("source", "YOUR_FILE")
    if meta.get("kind") == "charmm":
        how = f"--psf {source} --charmm-params {' '.join(meta.get('parameters', []))} --coordinates {meta.get('coordinates')}"
    elif "coordinates" in meta:
        how = f"--prmtop {source} --inpcrd {meta['coordinates']}"
    else:
        how = f"--pdb {source} --forcefield {' '.join(meta.get('forcefield', []))}"
    return (
        f"rebuild it: pathgan build {how} --out {folder} (add --allow-d-residues / --allow-cis-peptides "
        "if the structure has them on purpose)"
    )


def _check_stereo_record(folder: Path, meta: dict[str, Any]) -> None:
    """Refuse a system folder without a passed stereochemistry record (made before the check existed)."""
    record = meta.get("stereochemistry")
    if not isinstance(record, dict) or record.get("checker") != CHECKER:
        raise PathganInputError(
            f"{folder}: no stereochemistry record: the folder was written before pathgan checked chirality "
            f"and cis peptide bonds (builder version 1 made D-residues); {_rebuild_hint(folder, meta)}"
        )
    if not record.get("passed"):
        raise PathganInputError(
            f"{folder}: failed the stereochemistry check when it was built "
            f"({'; '.join(StereoReport(**{k: record[k] for k in _REPORT_KEYS}).problems())}); "
            f"{_rebuild_hint(folder, meta)}"
        )


_REPORT_KEYS = ("n_centres", "n_peptide_bonds", "inverted", "cis", "cis_proline", "accepted")


class _ForceFieldCreator:
    """Adapter so a ForceField and a Topology look like a prmtop/psf ``createSystem``."""

    def __init__(self, forcefield: app.ForceField, topology: app.Topology) -> None:
        self.forcefield, self.topology = forcefield, topology

    def createSystem(self, **kwargs) -> mm.System:  # noqa: N802 - OpenMM's spelling
        return self.forcefield.createSystem(self.topology, **kwargs)


def _structure_from_forcefield(
    forcefield: app.ForceField, topology: app.Topology, system: mm.System, positions
) -> parmed.Structure:
    """parmed Structure of an OpenMM-XML-parametrised system, keyed by the XML's atom types."""
    types = _atom_types_from_forcefield(forcefield, topology)
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
    scee, scnb = _scaling_14(system)
    torchmd_input.set_14_scaling(struct, scee, scnb)
    return struct


def _rename_atom_types(struct: parmed.Structure, names: dict[str, str]) -> None:
    """Rename atom types in place (``names``: old -> new); AtomType objects are shared."""
    for atype in {id(a.atom_type): a.atom_type for a in struct.atoms}.values():
        atype.name = names.get(atype.name, atype.name)
    for atom in struct.atoms:
        atom.type = names.get(atom.type, atom.type)


def _write_prmtop(struct: parmed.Structure, path: Path) -> dict[str, str]:
    """Write ``struct`` as an AMBER prmtop; return {prmtop type name: full type name}.

    prmtop type names hold at most 4 characters, so OpenMM XML types such as
    ``protein-CT`` are shortened (to ``CT`` where that is unambiguous) and the
    full names are kept in the metadata.
    """
    full = sorted({a.type for a in struct.atoms})
    short: dict[str, str] = {}
    used: set[str] = set()
    for k, name in enumerate(full):
        cand = name.split("-")[-1]
        if len(cand) > 4 or cand in used:
            cand = f"Y{k:03d}"
        short[name] = cand
        used.add(cand)
    copy = struct.copy(parmed.Structure)
    _rename_atom_types(copy, short)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parmed.amber.AmberParm.from_structure(copy).write_parm(str(path))
    return {v: k for k, v in short.items()}


def minimize_positions(
    system: mm.System, positions: u.Quantity, tolerance_kj_mol_nm: float = 1.0
) -> u.Quantity:
    """Energy-minimised copy of ``positions`` (nm) on OpenMM's Reference platform."""
    context = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    context.setPositions(positions)
    mm.LocalEnergyMinimizer.minimize(context, tolerance_kj_mol_nm, 0)
    return context.getState(getPositions=True).getPositions(asNumpy=True)


def _existing(path: str | os.PathLike, what: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise PathganInputError(f"{p}: {what} not found")
    return p
