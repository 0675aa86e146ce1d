"""CHARMM topology/parameter/stream files as NAMD users have them, read permissively by OpenMM and parmed.

A psf with ``top_all22_prot.rtf`` and ``par_all27_prot_lipid_cmap.prm`` is a common NAMD set: the
prm lists Lennard-Jones parameters for types that no ``MASS`` line defines (``CM``). NAMD takes
masses from the psf and never needs those definitions, and neither does a System (OpenMM too
takes masses from the psf), so such types are accepted, as NAMD accepts them: OpenMM reads the
files with ``permissive=True`` and the types defined nowhere are listed in the metadata. An atom
whose type has no parameters at all is still refused.

parmed reads the same files for torchmd's parameters, but at the first type defined nowhere it
stops assigning Lennard-Jones parameters to every type after it (with only a warning), so the
Lennard-Jones parameters of every type are taken from OpenMM's reading: the System and the
potential then share them by construction.

Files are told apart by suffix, case-insensitively: ``.rtf``/``.top`` (topology), ``.prm``/``.par``
(parameters), ``.str`` (stream) and ``.inp`` (``par`` or ``top`` in the name). Both libraries read
topology files first, then parameter files, then stream files, each group in the order given.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import openmm.app as app
import openmm.unit as u
import parmed

# OpenMM's reader of the sections of a stream file (readStreamFile itself is never permissive).
from openmm.app.internal.charmm._charmmfile import CharmmStreamFile

from .errors import PathganInputError
from .input_files import read_or_fail

#: Reading order of the kinds of CHARMM file (that of OpenMM's and parmed's CharmmParameterSet).
KINDS = ("topology", "parameters", "stream")


@dataclass
class CharmmParameters:
    """One set of CHARMM files, as OpenMM (for the System) and parmed (for torchmd) read it.

    Attributes
    ----------
    openmm, parmed
        The two libraries' parameter sets.
    defined_nowhere
        Atom types with Lennard-Jones parameters but no ``MASS`` line (accepted permissively).
    """

    openmm: app.CharmmParameterSet
    parmed: parmed.charmm.CharmmParameterSet
    defined_nowhere: list[str]


def charmm_file_kind(path: str | Path) -> str:
    """``"topology"``, ``"parameters"`` or ``"stream"``, from the suffix; a clear error otherwise."""
    name = Path(path).name.lower()
    suffix = Path(name).suffix
    if suffix in (".rtf", ".top") or (suffix == ".inp" and "top" in name and "par" not in name):
        return "topology"
    if suffix in (".prm", ".par") or (suffix == ".inp" and "par" in name):
        return "parameters"
    if suffix == ".str":
        return "stream"
    raise PathganInputError(
        f"{path}: not a CHARMM topology, parameter or stream file by its name (expected .rtf/.top, "
        ".prm/.par, .str, or .inp with 'top' or 'par' in the name)"
    )


def read_charmm_parameters(files: list[str]) -> CharmmParameters:
    """Read CHARMM rtf/prm/str files permissively with OpenMM and parmed (see the module docstring).

    Parameters
    ----------
    files
        Paths of the files, any order; read topology first, then parameters, then streams.
    """
    if not files:
        raise PathganInputError("no CHARMM parameter files given (rtf/prm/str)")
    kinds = {f: charmm_file_kind(f) for f in files}
    ordered = sorted(files, key=lambda f: KINDS.index(kinds[f]))
    omm = app.CharmmParameterSet()
    pmd = parmed.charmm.CharmmParameterSet()
    for path in ordered:
        what = {"topology": "a CHARMM topology file", "parameters": "a CHARMM parameter file"}.get(
            kinds[path], "a CHARMM stream file"
        )
        read_or_fail(path, what, lambda p, k=kinds[path]: _read_openmm(omm, k, p))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # parmed's "not present in AtomType list": handled below
            read_or_fail(path, what, lambda p, k=kinds[path]: _read_parmed(pmd, k, p))
    nowhere = sorted(name for name, t in omm.atom_types_str.items() if math.isnan(_dalton(t.mass)))
    _copy_lennard_jones(omm, pmd)
    return CharmmParameters(omm, pmd, nowhere)


def _dalton(mass: object) -> float:
    return float(mass.value_in_unit(u.dalton) if u.is_quantity(mass) else mass)


def _read_openmm(params: app.CharmmParameterSet, kind: str, path: str) -> None:
    if kind == "topology":
        params.readTopologyFile(path)
    elif kind == "parameters":
        params.readParameterFile(path, permissive=True)
    else:  # readStreamFile, with the parameter sections read permissively
        stream = CharmmStreamFile(path)
        title, section = stream.next_section()
        while title is not None and section is not None:
            words = title.lower().split()
            if words[1] == "rtf":
                params.readTopologyFile(section)
            elif words[1].startswith("para"):
                params.readParameterFile(section, permissive=True)
            title, section = stream.next_section()


def _read_parmed(params: parmed.charmm.CharmmParameterSet, kind: str, path: str) -> None:
    if kind == "topology":
        params.read_topology_file(path)
    elif kind == "parameters":
        params.read_parameter_file(path)
    else:
        params.read_stream_file(path)


def _copy_lennard_jones(omm: app.CharmmParameterSet, pmd: parmed.charmm.CharmmParameterSet) -> None:
    """Give parmed's atom types OpenMM's Lennard-Jones parameters (kcal/mol, Rmin/2 in Angstrom)."""
    for name, source in omm.atom_types_str.items():
        if source.epsilon is None:
            continue  # no NONBONDED line: OpenMM refuses atoms of this type when it builds the System
        target = pmd.atom_types_str.get(name)
        if target is None:  # a type defined nowhere, created by OpenMM's permissive reading
            number = source.number if source.number is not None else -1
            target = parmed.AtomType(name, number, _dalton(source.mass), source.atomic_number)
            pmd.atom_types_str[name] = target
        target.set_lj_params(source.epsilon, source.rmin, source.epsilon_14, source.rmin_14)
