"""One molecular system that OpenMM and torchmd both read.

A :class:`MolecularSystem` holds the OpenMM ``Topology``, ``System`` (vacuum, no cutoff,
no constraints: the potential energy surface itself), the same System with bonds to
hydrogen constrained (for dynamics) and positions, plus a parametrised parmed ``Structure``
from which torchmd's inputs are made. It is built from a sequence (the embedded
deca-alanine default), from a PDB and OpenMM force-field XML files, from AMBER
prmtop/inpcrd (chamber prmtops too) or from CHARMM psf/rtf/prm/str/coordinates
(:mod:`.input_readers`), and saved to or loaded from a folder (:mod:`.system_folder`) that keeps
the user's input files verbatim and rebuilds the parameters from them. Solvated systems are
refused (pathgan's potential is the solute's; use implicit solvent), periodic boxes ignored
(vacuum, recorded). Every system is checked for stereochemistry on construction
(:mod:`.stereochemistry`).
"""

from __future__ import annotations

import copy
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
from .energies import unrepresented_forces
from .errors import PathganInputError, UnrepresentedForceError
from .forcefield_types import ForceFieldCreator, create_systems, minimize_positions
from .input_files import InputFiles, read_or_fail, refuse_solvent
from .input_readers import (
    forcefield_recipe,
    load_forcefield,
    read_amber_files,
    read_charmm_files,
    structure_from_recipe,
    vacuum_topology,
)
from .stereochemistry import StereoReport, check_structure
from .system_folder import accepted, accepted_forces, read_system_folder, rebuild_hint, save_system

#: The force field of the embedded default (AMBER ff14SB, as OpenMM ships it).
DEFAULT_FORCEFIELD: tuple[str, ...] = ("amber14-all.xml",)
#: The embedded default system.
DECA_ALANINE: str = "AAAAAAAAAA"

__all__ = ["DECA_ALANINE", "DEFAULT_FORCEFIELD", "MolecularSystem", "StereochemistryWarning"]


class StereochemistryWarning(UserWarning):
    """A system with D-residues or cis peptide bonds that the user has not accepted."""


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
    system_hbonds
        The System with bonds to hydrogen constrained, as OpenMM's ``createSystem`` makes it.
    inputs
        The files the system was made from, kept byte for byte (saved in ``DIR/inputs/``);
        ``metadata["structure_from"]`` says how ``structure`` is rebuilt from them.
    """

    topology: app.Topology
    system: mm.System
    positions: u.Quantity
    structure: parmed.Structure
    kind: str
    metadata: dict[str, Any] = field(default_factory=dict)
    system_hbonds: mm.System | None = None
    inputs: InputFiles = field(default_factory=InputFiles, repr=False)

    def __post_init__(self) -> None:
        n_top, n_sys = self.topology.getNumAtoms(), self.system.getNumParticles()
        if self.system_hbonds is not None and self.system_hbonds.getNumParticles() != n_sys:
            raise PathganInputError(f"{self.source}: the constrained System has another number of atoms")
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
        left_out = self._check_representable()
        torchmd_input.complete_14_torsions(self.structure)
        # one warning: the System's forces left out (accepted), and parameter terms the
        # structure has that they do not already name
        terms = torchmd_input.unsupported_terms(self.structure)
        left_out += [term for term in terms if not any(term in note for note in left_out)]
        if left_out:
            warnings.warn(
                f"{self.source}: torchmd cannot represent these terms, which the pathgan "
                f"potential therefore leaves out (OpenMM keeps them): {', '.join(left_out)}",
                stacklevel=3,
            )

    def _check_representable(self) -> list[str]:
        """Refuse forces the batched potential cannot compute, unless accepted (then recorded and returned)."""
        missing = unrepresented_forces(self.system)
        potential = self.metadata.setdefault("potential", {})
        potential["unrepresented_forces"] = missing
        if missing and not potential.get("accept_unrepresented_forces", False):
            raise UnrepresentedForceError(
                f"{self.source}: the pathgan (TorchMD) potential cannot compute {'; '.join(missing)}. "
                "Training, scoring and relaxation would use another energy than OpenMM's. Remove those "
                "forces (e.g. build without the implicit-solvent or CMAP files), or accept the difference "
                "on purpose with allow_unrepresented_forces=True (pathgan build "
                "--allow-unrepresented-forces); it is then recorded in the system's metadata."
            )
        return list(missing)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_sequence(
        cls,
        sequence: str = DECA_ALANINE,
        forcefield_files: tuple[str, ...] = DEFAULT_FORCEFIELD,
        caps: bool = True,
        minimize: bool = True,
        minimize_tolerance_kj_mol_nm: float = 1.0,
        allow_unrepresented_forces: bool = False,
    ) -> MolecularSystem:
        """A peptide of L-amino acids as an ideal alpha-helix from its sequence (see :mod:`.builder`).

        With ``minimize`` (default) the positions are energy-minimised in vacuum
        with OpenMM's ``LocalEnergyMinimizer`` to the given tolerance (kJ/mol/nm). A force field
        whose forces the batched potential cannot compute (implicit solvent, CMAP, custom forces)
        is refused unless ``allow_unrepresented_forces`` (recorded in the metadata).
        ``forcefield_files``: OpenMM's bundled XML names or the user's own XML files (kept verbatim).
        """
        inputs = InputFiles()
        recipe = forcefield_recipe(forcefield_files, inputs)
        forcefield = load_forcefield(recipe, inputs)
        topology, positions = build_peptide(sequence, forcefield, caps=caps)
        system, hbonds = create_systems(ForceFieldCreator(forcefield, topology))
        if minimize:
            positions = minimize_positions(system, positions, minimize_tolerance_kj_mol_nm)
        struct = structure_from_recipe(recipe, inputs, topology, system, positions, forcefield)
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
            "structure_from": recipe,
            "inputs": inputs.records,
        }
        meta.update(accepted_forces(allow_unrepresented_forces))
        return cls(topology, system, positions, struct, "amber", meta, hbonds, inputs)

    @classmethod
    def from_pdb(
        cls,
        pdb: str | os.PathLike,
        forcefield_files: tuple[str, ...] | list[str],
        allow_d_residues: bool = False,
        allow_cis_peptides: bool = False,
        allow_unrepresented_forces: bool = False,
    ) -> MolecularSystem:
        """A system from a PDB file and OpenMM force-field XML files (bundled names or the user's files).

        The solute only: water and salt ions are refused (use implicit solvent, e.g.
        ``amber14-all.xml implicit/obc2.xml``); a CRYST1 box is ignored (vacuum, no cutoff) and noted.
        ``allow_d_residues`` / ``allow_cis_peptides``: accept (and record) D-residues or cis
        peptide bonds that the structure has on purpose; otherwise they fail the
        stereochemistry check (a warning now, a refusal when the saved folder is read).
        ``allow_unrepresented_forces``: accept (and record) forces the batched potential cannot
        compute (CMAP, Urey-Bradley, implicit solvent, custom forces); otherwise they are refused.
        """
        inputs = InputFiles()
        inputs.add(pdb, "pdb", "PDB file")
        pdbfile = read_or_fail(pdb, "a PDB file", app.PDBFile)
        refuse_solvent(pdbfile.topology, pdb)
        recipe = forcefield_recipe(forcefield_files, inputs)
        forcefield = load_forcefield(recipe, inputs)
        try:
            system, hbonds = create_systems(ForceFieldCreator(forcefield, pdbfile.topology))
        except ValueError as err:
            raise PathganInputError(f"{pdb}: {err}") from err
        box = vacuum_topology(pdbfile.topology, pdb)
        struct = structure_from_recipe(
            recipe, inputs, pdbfile.topology, system, pdbfile.positions, forcefield
        )
        meta = {"source": str(pdb), "forcefield": list(forcefield_files), "structure_from": recipe}
        meta.update(inputs=inputs.records, **({"periodic_box": [box]} if box else {}))
        meta.update(accepted(allow_d_residues, allow_cis_peptides))
        meta.update(accepted_forces(allow_unrepresented_forces))
        return cls(pdbfile.topology, system, pdbfile.positions, struct, "amber", meta, hbonds, inputs)

    @classmethod
    def from_amber(
        cls,
        prmtop: str | os.PathLike,
        inpcrd: str | os.PathLike,
        allow_d_residues: bool = False,
        allow_cis_peptides: bool = False,
        allow_unrepresented_forces: bool = False,
        implicit_solvent: str | None = None,
    ) -> MolecularSystem:
        """A system from an AMBER prmtop and inpcrd (or rst7) files (``allow_*``: see :meth:`from_pdb`).

        ``implicit_solvent``: ``"OBC2"`` (OpenMM's native ``GBSAOBCForce``) or ``"GBn2"``, with the
        prmtop's GB radii, as ``AmberPrmtopFile.createSystem(implicitSolvent=...)`` makes them.

        CHARMM-in-AMBER ("chamber") prmtops load as ``kind="charmm"``. The solute only: water
        and salt ions are refused. A periodic box in either file is ignored (vacuum, no cutoff),
        a box of size zero included, and noted in ``metadata["periodic_box"]``.
        """
        parts = read_amber_files(prmtop, inpcrd, implicit_solvent)
        parts.metadata.update(accepted(allow_d_residues, allow_cis_peptides))
        parts.metadata.update(accepted_forces(allow_unrepresented_forces))
        return cls(*parts)

    @classmethod
    def from_charmm(
        cls,
        psf: str | os.PathLike,
        parameter_files: list[str | os.PathLike],
        coordinates: str | os.PathLike,
        allow_d_residues: bool = False,
        allow_cis_peptides: bool = False,
        allow_unrepresented_forces: bool = False,
    ) -> MolecularSystem:
        """A system from a CHARMM psf, topology/parameter/stream files (rtf, prm, str) and coordinates (pdb or crd).

        The files are read as NAMD reads them (:mod:`.charmm_params`): Lennard-Jones parameters
        of types that no ``MASS`` line defines are accepted and listed in
        ``metadata["charmm_parameters"]``. The solute only: water and salt ions are refused.
        ``allow_*``: see :meth:`from_pdb`.
        """
        parts = read_charmm_files(psf, parameter_files, coordinates)
        parts.metadata.update(accepted(allow_d_residues, allow_cis_peptides))
        parts.metadata.update(accepted_forces(allow_unrepresented_forces))
        return cls(*parts)

    # ------------------------------------------------------------------ folder I/O
    def save(self, folder: str | os.PathLike) -> Path:
        """Write the system folder (atomically; see :mod:`.system_folder`)."""
        return save_system(self, folder)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> MolecularSystem:
        """Read a system folder written by :meth:`save`; refused without a passed stereochemistry record."""
        parts = read_system_folder(folder)
        loaded = cls(**parts)
        if not loaded.stereochemistry.passed:  # the structure no longer matches its record
            raise PathganInputError(
                f"{folder}: fails the stereochemistry check ({'; '.join(loaded.stereochemistry.problems())}); "
                f"{rebuild_hint(Path(folder), parts['metadata'])}"
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
        """The molecule object torchmd's ``Parameters`` reads, with the charges OpenMM simulates with.

        parmed and OpenMM read a chamber prmtop's charges with different Coulomb constants
        (CHARMM's and AMBER's, 3e-5 apart); the System's are the ones that count.
        """
        mol = torchmd_input.molecule_from_structure(self.structure)
        mol.charge = torchmd_input.system_charges(self.system, mol.charge, self.source)
        return mol

    def parameter_set(self) -> parmed.ParameterSet:
        """Type-keyed parameters for torchmd's ``ForceField.create``, checked complete."""
        prm = torchmd_input.parameter_set_from_structure(self.structure, self.source)
        torchmd_input.check_parameters_complete(self.torchmd_molecule(), prm, self.source)
        return prm

    def unsupported_terms(self) -> list[str]:
        """Energy terms of this system that torchmd (hence pathgan's potential) leaves out."""
        return torchmd_input.unsupported_terms(self.structure)

    def md_system(self, constraints: str | None = "HBonds") -> mm.System:
        """A copy of the System for dynamics: bonds to hydrogen constrained (``"HBonds"``) or none.

        The constrained System is OpenMM's own ``createSystem(constraints=HBonds)`` of the same
        force field, made when the system was built.
        """
        if constraints not in (None, "none", "HBonds"):
            raise PathganInputError(f"constraints must be 'HBonds' or None, got {constraints!r}")
        if constraints in (None, "none"):
            return copy.deepcopy(self.system)
        if self.system_hbonds is None:
            raise PathganInputError(
                f"{self.source}: no System with constrained bonds to hydrogen; build the system with one "
                "of MolecularSystem's constructors (from_sequence, from_pdb, from_amber, from_charmm)"
            )
        return copy.deepcopy(self.system_hbonds)

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
