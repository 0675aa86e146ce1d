"""The system folder: a :class:`~openmm_bridge.system.MolecularSystem` on disk.

::

    DIR/structure.pdb        positions (Angstrom) and topology
    DIR/system.xml           the serialized OpenMM System (vacuum, no cutoff, no constraints)
    DIR/system_hbonds.xml    the same with bonds to hydrogen constrained (for dynamics)
    DIR/parameters.prmtop    AMBER-style parameters (CHARMM: parameters.psf + parameters.prm)
    DIR/metadata.json        units, provenance, versions, the stereochemistry record

Written atomically (a half-written folder never appears). A folder is read only if its
stereochemistry record passed (:func:`check_stereo_record`).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openmm as mm
import openmm.app as app
import parmed

from .errors import PathganDataError, PathganInputError
from .fileio import atomic_directory
from .provenance import versions
from .stereochemistry import CHECKER, StereoReport

if TYPE_CHECKING:
    from .system import MolecularSystem

SYSTEM_XML = "system.xml"
SYSTEM_HBONDS_XML = "system_hbonds.xml"
STRUCTURE_PDB = "structure.pdb"
METADATA = "metadata.json"
PRMTOP = "parameters.prmtop"
PSF = "parameters.psf"
CHARMM_PRM = "parameters.prm"
FORMAT = "pathgan-system/2"


def accepted(allow_d_residues: bool, allow_cis_peptides: bool) -> dict[str, Any]:
    """Metadata entry of what the user accepted in the stereochemistry check."""
    return {
        "stereochemistry": {
            "accepted": {"d_residues": bool(allow_d_residues), "cis_peptides": bool(allow_cis_peptides)}
        }
    }


def accepted_forces(allow_unrepresented_forces: bool) -> dict[str, Any]:
    """Metadata entry: whether the user accepts a potential that leaves some OpenMM forces out."""
    return {"potential": {"accept_unrepresented_forces": bool(allow_unrepresented_forces)}}


def rebuild_hint(folder: Path, meta: dict[str, Any]) -> str:
    """How to rebuild a system folder, from what its metadata says it was made of."""
    builder = meta.get("builder")
    if builder:
        options = " --free-termini" if builder.get("caps", "").startswith("free") else ""
        options += "" if builder.get("minimized", True) else " --no-minimize"
        if meta.get("forcefield") and list(meta["forcefield"]) != ["amber14-all.xml"]:
            options += f" --forcefield {' '.join(meta['forcefield'])}"
        return f"rebuild it: pathgan build --sequence {builder.get('sequence')}{options} --out {folder}"
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


def check_stereo_record(folder: Path, meta: dict[str, Any]) -> None:
    """Refuse a system folder without a passed stereochemistry record (made before the check existed)."""
    record = meta.get("stereochemistry")
    if not isinstance(record, dict) or record.get("checker") != CHECKER:
        raise PathganInputError(
            f"{folder}: no stereochemistry record: the folder was written before pathgan checked chirality "
            f"and cis peptide bonds (builder version 1 made D-residues); {rebuild_hint(folder, meta)}"
        )
    if not record.get("passed"):
        raise PathganInputError(
            f"{folder}: failed the stereochemistry check when it was built "
            f"({'; '.join(StereoReport(**{k: record[k] for k in _REPORT_KEYS}).problems())}); "
            f"{rebuild_hint(folder, meta)}"
        )


_REPORT_KEYS = ("n_centres", "n_peptide_bonds", "inverted", "cis", "cis_proline", "accepted")


def rename_atom_types(struct: parmed.Structure, names: dict[str, str]) -> None:
    """Rename atom types in place (``names``: old -> new); AtomType objects are shared."""
    for atype in {id(a.atom_type): a.atom_type for a in struct.atoms}.values():
        atype.name = names.get(atype.name, atype.name)
    for atom in struct.atoms:
        atom.type = names.get(atom.type, atom.type)


def write_prmtop(struct: parmed.Structure, path: Path) -> dict[str, str]:
    """Write ``struct`` as an AMBER prmtop; return {prmtop type name: full type name}.

    prmtop type names hold at most 4 characters, so OpenMM XML types such as
    ``protein-CT`` are shortened (to ``CT`` where that is unambiguous) and the
    full names are kept in the metadata.
    """
    full = sorted({a.type for a in struct.atoms})
    short: dict[str, str] = {}
    used: set[str] = set()
    serial = 0
    for name in full:
        cand = name.split("-")[-1]
        while len(cand) > 4 or cand in used:
            cand, serial = f"Y{serial:03d}", serial + 1
        short[name] = cand
        used.add(cand)
    copy = struct.copy(parmed.Structure)
    rename_atom_types(copy, short)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parmed.amber.AmberParm.from_structure(copy).write_parm(str(path))
    return {v: k for k, v in short.items()}


def existing(path: Any, what: str) -> Path:
    """``path`` as a Path, or a clear error that it is missing."""
    p = Path(path)
    if not p.is_file():
        raise PathganInputError(f"{p}: {what} not found")
    return p


def save_system(system: MolecularSystem, folder: str | os.PathLike) -> Path:
    """Write ``system`` to ``folder`` atomically (see the module docstring); return the folder."""
    folder = Path(folder)
    with atomic_directory(folder) as tmp:
        with open(tmp / STRUCTURE_PDB, "w") as fh:
            app.PDBFile.writeFile(system.topology, system.positions, fh, keepIds=True)
        (tmp / SYSTEM_XML).write_text(mm.XmlSerializer.serialize(system.system))
        if system.system_hbonds is not None:
            (tmp / SYSTEM_HBONDS_XML).write_text(mm.XmlSerializer.serialize(system.system_hbonds))
        meta = dict(system.metadata)
        if system.kind == "charmm":
            system.structure.save(str(tmp / PSF))
            prm = parmed.charmm.CharmmParameterSet.from_structure(system.structure)
            prm.write(par=str(tmp / CHARMM_PRM))
        else:
            meta["prmtop_atom_types"] = write_prmtop(system.structure, tmp / PRMTOP)
        meta.update(
            {
                "format": FORMAT,
                "kind": system.kind,
                "n_atoms": system.n_atoms,
                "units": {"structure.pdb": "angstrom", "system.xml": "nm, kJ/mol, ps"},
                "files": sorted(p.name for p in tmp.iterdir()) + [METADATA],
                "end_to_end_ca_angstrom": system.end_to_end_distance_angstrom(),
                "versions": versions(),
            }
        )
        (tmp / METADATA).write_text(json.dumps(meta, indent=2) + "\n")
    return folder


def read_system_folder(folder: str | os.PathLike) -> dict[str, Any]:
    """The parts of a system folder (``MolecularSystem``'s constructor arguments), checked.

    Refuses a folder without a passed stereochemistry record or of an old format.
    """
    folder = Path(folder)
    meta_path = folder / METADATA
    if not meta_path.is_file():
        raise PathganInputError(f"{folder}: not a pathgan system folder (no {METADATA})")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        raise PathganDataError(f"{meta_path}: unreadable JSON ({err})") from err
    check_stereo_record(folder, meta)
    if meta.get("format") != FORMAT:
        raise PathganInputError(
            f"{folder}: written in the format {meta.get('format')!r}, this pathgan reads {FORMAT!r}; "
            f"{rebuild_hint(folder, meta)}"
        )
    pdb = app.PDBFile(str(existing(folder / STRUCTURE_PDB, "structure")))
    system = mm.XmlSerializer.deserialize(existing(folder / SYSTEM_XML, "System XML").read_text())
    hbonds = mm.XmlSerializer.deserialize(
        existing(folder / SYSTEM_HBONDS_XML, "constrained System XML").read_text()
    )
    kind = meta.get("kind", "amber")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "charmm":
            struct = parmed.load_file(str(existing(folder / PSF, "psf")))
            struct.load_parameters(parmed.charmm.CharmmParameterSet(str(folder / CHARMM_PRM)))
        else:
            struct = parmed.load_file(str(existing(folder / PRMTOP, "prmtop")))
            rename_atom_types(struct, meta.get("prmtop_atom_types", {}))
    meta.pop("versions", None)
    meta["loaded_from"] = str(folder)
    return {
        "topology": pdb.topology,
        "system": system,
        "positions": pdb.positions,
        "structure": struct,
        "kind": kind,
        "metadata": meta,
        "system_hbonds": hbonds,
    }
