"""The system folder: a :class:`~openmm_bridge.system.MolecularSystem` on disk.

::

    DIR/structure.pdb        positions (Angstrom) and topology
    DIR/system.xml           the serialized OpenMM System (vacuum, no cutoff, no constraints)
    DIR/system_hbonds.xml    the same with bonds to hydrogen constrained (for dynamics)
    DIR/inputs/<name>        the user's input files, byte for byte (prmtop, psf, rtf/prm/str,
                             coordinates, PDB, the user's own force-field XML)
    DIR/metadata.json        units, provenance, versions, the stereochemistry record; the inputs'
                             original paths and sha256 (``inputs``) and how the parameters are
                             read from them (``structure_from``)

pathgan writes no parameter file of its own: the parmed Structure (torchmd's parameters) is
rebuilt from the kept inputs, by the reader the system was built with
(:func:`.input_readers.structure_from_recipe`); OpenMM's bundled force fields are recorded by
name. Written atomically (a half-written folder never appears). A folder is read only if its
stereochemistry record passed (:func:`check_stereo_record`) and its inputs match their sha256.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openmm as mm
import openmm.app as app

from .errors import PathganDataError, PathganInputError
from .fileio import atomic_directory
from .input_files import InputFiles, existing, read_or_fail
from .input_readers import structure_from_recipe
from .provenance import versions
from .stereochemistry import CHECKER, StereoReport

if TYPE_CHECKING:
    from .system import MolecularSystem

SYSTEM_XML = "system.xml"
SYSTEM_HBONDS_XML = "system_hbonds.xml"
STRUCTURE_PDB = "structure.pdb"
METADATA = "metadata.json"
#: Format 3 keeps the inputs verbatim; 2 wrote parameters back (parmed's writers drop or break terms).
FORMAT = "pathgan-system/3"


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
    if meta.get("kind") == "charmm" and "parameters" in meta:  # a chamber prmtop is charmm too
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


def save_system(system: MolecularSystem, folder: str | os.PathLike) -> Path:
    """Write ``system`` to ``folder`` atomically (see the module docstring); return the folder."""
    folder = Path(folder)
    if "structure_from" not in system.metadata:
        raise PathganInputError(
            f"{system.source}: no record of the files its parameters come from (the system was not made "
            "by one of MolecularSystem's constructors or read from a system folder); nothing was written"
        )
    with atomic_directory(folder) as tmp:
        with open(tmp / STRUCTURE_PDB, "w") as fh:
            app.PDBFile.writeFile(system.topology, system.positions, fh, keepIds=True)
        (tmp / SYSTEM_XML).write_text(mm.XmlSerializer.serialize(system.system))
        if system.system_hbonds is not None:
            (tmp / SYSTEM_HBONDS_XML).write_text(mm.XmlSerializer.serialize(system.system_hbonds))
        system.inputs.write(tmp)
        meta = dict(system.metadata)
        meta.pop("loaded_from", None)
        meta.update(
            {
                "format": FORMAT,
                "kind": system.kind,
                "n_atoms": system.n_atoms,
                "units": {"structure.pdb": "angstrom", "system.xml": "nm, kJ/mol, ps"},
                "inputs": system.inputs.records,
                "files": sorted(
                    [p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file()] + [METADATA]
                ),
                "end_to_end_ca_angstrom": system.end_to_end_distance_angstrom(),
                "versions": versions(),
            }
        )
        (tmp / METADATA).write_text(json.dumps(meta, indent=2) + "\n")
    return folder


def read_system_folder(folder: str | os.PathLike) -> dict[str, Any]:
    """The parts of a system folder (``MolecularSystem``'s constructor arguments), checked.

    Refuses a folder without a passed stereochemistry record, of an old format, or whose kept
    inputs are missing or differ from their recorded sha256.
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
    pdb = read_or_fail(existing(folder / STRUCTURE_PDB, "structure"), "a PDB file", app.PDBFile)
    system = _read_xml(existing(folder / SYSTEM_XML, "System XML"))
    hbonds = _read_xml(existing(folder / SYSTEM_HBONDS_XML, "constrained System XML"))
    inputs = InputFiles.from_folder(folder, meta.get("inputs", []))
    struct = structure_from_recipe(meta["structure_from"], inputs, pdb.topology, system, pdb.positions)
    meta.pop("versions", None)
    meta["loaded_from"] = str(folder)
    return {
        "topology": pdb.topology,
        "system": system,
        "positions": pdb.positions,
        "structure": struct,
        "kind": meta.get("kind", "amber"),
        "metadata": meta,
        "system_hbonds": hbonds,
        "inputs": inputs,
    }


def _read_xml(path: Path) -> mm.System:
    return read_or_fail(
        path, "a serialized OpenMM System", lambda p: mm.XmlSerializer.deserialize(Path(p).read_text())
    )
