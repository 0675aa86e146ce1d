"""Readers of a user's force-field inputs, shared by MolecularSystem's constructors and the system folder.

The constructors read the user's files with these; the system folder keeps the same files
verbatim (:mod:`.input_files`) and rebuilds the parmed Structure from them with the same
reader, named by a *recipe* recorded in ``metadata.json`` (``structure_from``):

- ``{"reader": "forcefield_xml", "forcefield": [{"bundled": "amber14-all.xml"}, {"input": "my.xml"}]}``:
  OpenMM force-field XML, types and parameters through :func:`.forcefield_types.structure_from_forcefield`;
- ``{"reader": "prmtop", "prmtop": NAME}``: an AMBER prmtop, CHARMM-in-AMBER ("chamber") ones included;
- ``{"reader": "charmm", "psf": NAME, "parameters": [NAME, ...]}``: a CHARMM psf with rtf/prm/str files
  (:mod:`.charmm_params`).

``NAME`` is a file's name among the kept inputs.
"""

from __future__ import annotations

import os
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import openmm as mm
import openmm.app as app
import parmed

from .charmm_params import read_charmm_parameters
from .errors import MissingParameterError, PathganInputError
from .forcefield_types import create_systems, structure_from_forcefield
from .input_files import InputFiles, box_note, check_atom_counts, drop_box, read_or_fail, refuse_solvent

#: Placeholder box for reading a prmtop that declares a periodic box of size zero (never used:
#: the System is built without a cutoff and the box is dropped).
_PLACEHOLDER_BOX = (mm.Vec3(1.0, 0.0, 0.0), mm.Vec3(0.0, 1.0, 0.0), mm.Vec3(0.0, 0.0, 1.0))


# ---------------------------------------------------------------------- OpenMM force-field XML
def forcefield_recipe(files: tuple[str, ...] | list[str], inputs: InputFiles) -> dict[str, Any]:
    """The recipe of a system parametrised by OpenMM XML ``files``; keeps the user's own files.

    A name that is a file on disk is the user's (OpenMM looks there before its bundled force
    fields) and is kept verbatim; any other name is one of OpenMM's bundled files, recorded by name.
    """
    entries: list[dict[str, str]] = []
    for name in files:
        if os.path.isfile(name):
            _refuse_local_includes(Path(name))
            entries.append({"input": inputs.add(name, "forcefield", "force-field XML file")})
        else:
            entries.append({"bundled": str(name)})
    return {"reader": "forcefield_xml", "forcefield": entries}


def _refuse_local_includes(path: Path) -> None:
    """A user's XML that includes files beside it cannot be kept as one verbatim copy: say so."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return  # OpenMM names the file and the problem when it reads it
    for include in root.findall("Include"):
        beside = path.parent / include.get("file", "")
        if include.get("file") and beside.is_file():
            raise PathganInputError(
                f"{path}: includes {beside}; pathgan keeps verbatim copies of force-field files, and "
                "cannot keep a file that includes another by a relative path: merge them into one file"
            )


def load_forcefield(recipe: dict[str, Any], inputs: InputFiles) -> app.ForceField:
    """The OpenMM ForceField of a ``forcefield_xml`` recipe (the kept copies of the user's files)."""
    files, names = [], []
    for entry in recipe["forcefield"]:
        if "input" in entry:
            files.append(str(inputs.path(entry["input"])))
            names.append(files[-1])
        else:
            files.append(entry["bundled"])
            names.append(entry["bundled"])
    try:
        return app.ForceField(*files)
    except Exception as err:  # OpenMM raises ValueError or a bare Exception
        raise PathganInputError(
            f"force field {' '.join(names)}: {err} (each name is a file on disk or one of OpenMM's "
            "bundled force fields, e.g. amber14-all.xml, charmm36.xml, implicit/obc2.xml)"
        ) from err


# ---------------------------------------------------------------------- AMBER prmtop
def read_amber_structure(prmtop: str | os.PathLike) -> tuple[parmed.Structure, bool]:
    """parmed's Structure of a prmtop, without its box (vacuum); and whether the box had size zero.

    An ``AmberParm``, or a ``ChamberParm`` for CHARMM-in-AMBER files (chamber files written
    without a box declare one of size zero).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        struct = read_or_fail(prmtop, "an AMBER prmtop", parmed.load_file)
    if not isinstance(struct, parmed.amber.AmberParm):
        raise PathganInputError(f"{prmtop}: not an AMBER prmtop (parmed reads it as {type(struct).__name__})")
    zero_box = struct.box is not None and not np.all(np.asarray(struct.box[:3], dtype=float) > 0)
    struct.box = None
    return struct, zero_box


def read_prmtop(prmtop: str | os.PathLike, zero_box: bool) -> app.AmberPrmtopFile:
    """OpenMM's reader of a prmtop (chamber files too); a zero box is read as a placeholder.

    OpenMM divides by the box lengths of a periodic prmtop while reading it; the placeholder
    avoids that, and :func:`vacuum_topology` removes it.
    """
    kwargs = {"periodicBoxVectors": _PLACEHOLDER_BOX} if zero_box else {}
    return read_or_fail(prmtop, "an AMBER prmtop", lambda p: app.AmberPrmtopFile(p, **kwargs))


def vacuum_topology(topology: app.Topology, source: Any, zero_box: bool = False) -> dict[str, Any] | None:
    """Drop the periodic box of ``topology`` (after the System is made); the metadata note or None."""
    note = drop_box(topology, source)
    if zero_box and note is not None:
        note.update(
            box_lengths_nm=[0.0, 0.0, 0.0],
            ignored="the prmtop declares a periodic box of size zero (as chamber files written without "
            "a box do); read as a non-periodic system (vacuum, no cutoff)",
        )
    return note


# ---------------------------------------------------------------------- CHARMM psf
def charmm_structure(psf: str | os.PathLike, parameters: Any, parameter_files: list[str]) -> parmed.Structure:
    """parmed's Structure of a psf with parameters (``parameters``: parmed's CharmmParameterSet)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        struct = read_or_fail(psf, "a CHARMM psf", parmed.charmm.CharmmPsfFile)
        try:
            struct.load_parameters(parameters)
        except parmed.exceptions.ParameterError as err:
            raise MissingParameterError(f"{psf} with {', '.join(parameter_files)}: {err}") from err
    return struct


# ---------------------------------------------------------------------- whole systems
class SystemParts(NamedTuple):
    """What a reader of a user's files gives ``MolecularSystem`` (its constructor's arguments, in order)."""

    topology: app.Topology
    system: mm.System
    positions: Any
    structure: parmed.Structure
    kind: str
    metadata: dict[str, Any]
    system_hbonds: mm.System
    inputs: InputFiles


#: Implicit-solvent models a prmtop's System can be made with (OpenMM's createSystem argument).
PRMTOP_IMPLICIT_SOLVENTS = {"OBC2": app.OBC2, "GBn2": app.GBn2}


def _implicit_solvent(name: str | None, struct: parmed.Structure, prmtop: Any) -> dict[str, Any]:
    """createSystem's ``implicitSolvent`` argument for ``name`` (None: vacuum), checked against the radii."""
    if name is None:
        return {}
    if name not in PRMTOP_IMPLICIT_SOLVENTS:
        raise PathganInputError(
            f"implicit solvent {name!r}: pathgan computes {sorted(PRMTOP_IMPLICIT_SOLVENTS)} (OpenMM's names)"
        )
    if not any(a.solvent_radius for a in struct.atoms):
        raise PathganInputError(
            f"{prmtop}: its GB radii (RADII) are all zero, so {name} would have no meaning; set them "
            "(tleap: set default PBRadii mbondi2 (OBC2) or mbondi3 (GBn2); parmed: changeRadii)"
        )
    return {"implicitSolvent": PRMTOP_IMPLICIT_SOLVENTS[name]}


def read_amber_files(
    prmtop: str | os.PathLike, inpcrd: str | os.PathLike, implicit_solvent: str | None = None
) -> SystemParts:
    """A system from an AMBER prmtop (chamber too) and inpcrd/rst7 (see ``MolecularSystem.from_amber``).

    ``implicit_solvent``: ``"OBC2"`` (OpenMM then writes its native ``GBSAOBCForce``) or ``"GBn2"``,
    with the prmtop's own GB radii; None: vacuum.
    """
    inputs = InputFiles()
    recipe = {"reader": "prmtop", "prmtop": inputs.add(prmtop, "prmtop", "prmtop")}
    inputs.add(inpcrd, "coordinates", "coordinate file")
    struct, zero_box = read_amber_structure(prmtop)
    top = read_prmtop(prmtop, zero_box)
    refuse_solvent(top.topology, prmtop)
    crd = read_or_fail(inpcrd, "AMBER coordinates (inpcrd/rst7)", app.AmberInpcrdFile)
    check_atom_counts(inpcrd, len(crd.positions), prmtop, top.topology.getNumAtoms())
    system, hbonds = create_systems(top, **_implicit_solvent(implicit_solvent, struct, prmtop))
    boxes = [vacuum_topology(top.topology, prmtop, zero_box)]
    boxes.append(box_note(crd.boxVectors, inpcrd) if crd.boxVectors is not None else None)
    chamber = isinstance(struct, parmed.amber.ChamberParm)
    meta = {
        "source": str(prmtop),
        "coordinates": str(inpcrd),
        "structure_from": recipe,
        "inputs": inputs.records,
    }
    meta["prmtop_format"] = "chamber (CHARMM force field in AMBER format)" if chamber else "amber"
    if implicit_solvent:
        meta["implicit_solvent"] = implicit_solvent
    if any(boxes):
        meta["periodic_box"] = [b for b in boxes if b]
    kind = "charmm" if chamber else "amber"
    return SystemParts(top.topology, system, crd.positions, struct, kind, meta, hbonds, inputs)


def read_charmm_files(
    psf: str | os.PathLike, parameter_files: list[str | os.PathLike], coordinates: str | os.PathLike
) -> SystemParts:
    """A system from a CHARMM psf, rtf/prm/str files and pdb/crd coordinates (see ``MolecularSystem.from_charmm``)."""
    inputs = InputFiles()
    recipe: dict[str, Any] = {"reader": "charmm", "psf": inputs.add(psf, "psf", "psf")}
    recipe["parameters"] = [
        inputs.add(p, "charmm_parameters", "CHARMM parameter file") for p in parameter_files
    ]
    inputs.add(coordinates, "coordinates", "coordinate file")
    files = [str(p) for p in parameter_files]
    psffile = read_or_fail(psf, "a CHARMM psf", app.CharmmPsfFile)
    refuse_solvent(psffile.topology, psf)
    if str(coordinates).lower().endswith(".crd"):
        positions = read_or_fail(coordinates, "CHARMM coordinates (crd)", app.CharmmCrdFile).positions
    else:
        positions = read_or_fail(coordinates, "a PDB file", app.PDBFile).positions
    check_atom_counts(coordinates, len(positions), psf, psffile.topology.getNumAtoms())
    params = read_charmm_parameters(files)
    try:
        system, hbonds = create_systems(psffile, params=params.openmm)
    except Exception as err:  # OpenMM raises bare Exception/KeyError for missing types
        raise MissingParameterError(f"{psf} with {', '.join(files)}: {err}") from err
    struct = charmm_structure(psf, params.parmed, files)
    meta = {"source": str(psf), "parameters": files, "coordinates": str(coordinates)}
    meta.update(structure_from=recipe, inputs=inputs.records)
    meta["charmm_parameters"] = {
        "reading": "permissive, as NAMD reads them: Lennard-Jones parameters of types no MASS line defines "
        "are accepted (atoms take their masses from the psf)",
        "types_defined_nowhere": params.defined_nowhere,
    }
    return SystemParts(psffile.topology, system, positions, struct, "charmm", meta, hbonds, inputs)


# ---------------------------------------------------------------------- recipes
def structure_from_recipe(
    recipe: dict[str, Any],
    inputs: InputFiles,
    topology: app.Topology,
    system: mm.System,
    positions: Any,
    forcefield: app.ForceField | None = None,
) -> parmed.Structure:
    """The parmed Structure a recipe makes from the kept inputs (see the module docstring).

    Parameters
    ----------
    recipe
        ``metadata["structure_from"]``.
    inputs
        The kept input files (read from a system folder's ``inputs/`` or the original paths).
    topology, system, positions
        The system's OpenMM objects (positions in nm); the XML reader derives parameters from them.
    forcefield
        The ForceField already loaded for this recipe (saves reading the XML files again).
    """
    reader = recipe.get("reader")
    if reader == "forcefield_xml":
        forcefield = forcefield or load_forcefield(recipe, inputs)
        try:
            return structure_from_forcefield(forcefield, topology, system, positions)
        except ValueError as err:
            raise PathganInputError(f"force field {recipe['forcefield']}: {err}") from err
    if reader == "prmtop":
        return read_amber_structure(inputs.path(recipe["prmtop"]))[0]
    if reader == "charmm":
        files = [str(inputs.path(name)) for name in recipe["parameters"]]
        params = read_charmm_parameters(files)
        return charmm_structure(inputs.path(recipe["psf"]), params.parmed, files)
    raise PathganInputError(f"unknown parameter reader {reader!r} in the system's metadata (structure_from)")
