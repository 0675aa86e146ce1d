"""A user's input files, kept verbatim: read once, hashed, copied into the system folder.

A :class:`~openmm_bridge.system.MolecularSystem` made from files keeps the bytes of every file
it read (:class:`InputFiles`); the system folder stores them as ``DIR/inputs/<name>`` with
their sha256 and original paths in ``metadata.json``, and the parmed Structure is rebuilt
from those copies when the folder is read, by the same reader the constructor used
(:mod:`.input_readers`). Nothing pathgan writes stands in for a user's parameters, so no
writer can drop or mangle a term.

Also here: what every reader of a user's file shares (a missing or unreadable file named in
the error, atom counts of coordinates against the topology, refusing explicit solvent).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import openmm.app as app
import openmm.unit as u

from .errors import PathganDataError, PathganError, PathganInputError

#: The folder, inside a system folder, that holds the verbatim copies.
INPUTS_DIR = "inputs"

T = TypeVar("T")

#: Residue names of water models (AMBER, CHARMM, GROMACS, OpenMM spellings).
WATER_NAMES = frozenset(
    {"HOH", "WAT", "H2O", "DOD", "SOL", "TIP", "TIP3", "TIP3P", "TIP4", "TIP4P", "TIP5", "TIP5P"}
    | {"SPC", "SPCE", "T3P", "T4P", "T4E", "T5P", "OPC", "OPC3", "TP3", "TP4", "TP5"}
)
#: Elements of the monatomic ions of a salt solution (structural ions such as Zn2+ are kept).
SALT_ELEMENTS = frozenset({"Li", "Na", "K", "Rb", "Cs", "F", "Cl", "Br", "I"})


def existing(path: Any, what: str) -> Path:
    """``path`` as a Path, or a clear error that it is missing."""
    p = Path(path)
    if not p.is_file():
        raise PathganInputError(f"{p}: {what} not found")
    return p


def sha256_hex(data: bytes) -> str:
    """The sha256 of ``data``, hexadecimal."""
    return hashlib.sha256(data).hexdigest()


def read_or_fail(path: str | os.PathLike, what: str, reader: Callable[[str], T]) -> T:
    """``reader(path)``, with any failure of the library reading it named by file and kind.

    OpenMM and parmed raise bare ``Exception``, ``KeyError``, ``IndexError`` or
    ``ZeroDivisionError`` on a damaged file; the user sees which file and what was expected.
    """
    try:
        return reader(str(path))
    except PathganError:
        raise
    except Exception as err:  # whatever the library raises, it is this file's fault
        raise PathganInputError(f"{path}: cannot be read as {what} ({type(err).__name__}: {err})") from err


class InputFiles:
    """The files a system was made from: their bytes, roles and original paths.

    Parameters
    ----------
    records
        One dict per file: ``name`` (its name in ``DIR/inputs/``), ``role``, ``original``
        (the absolute path it was read from) and ``sha256``.
    data
        ``name`` -> the file's bytes.
    root
        Where the files named ``name`` can be read (the original paths when None).
    """

    def __init__(
        self,
        records: list[dict[str, str]] | None = None,
        data: dict[str, bytes] | None = None,
        root: Path | None = None,
    ) -> None:
        self.records = list(records or [])
        self.data = dict(data or {})
        self.root = root

    def add(self, path: str | os.PathLike, role: str, what: str) -> str:
        """Keep the file ``path`` (checked to exist); return its name in ``inputs/``.

        The name is the file's own (readers tell CHARMM files apart by suffix), prefixed by a
        number only when two inputs share a name.
        """
        p = existing(path, what)
        data = p.read_bytes()
        name, k = p.name, 1
        while name in self.data:
            name, k = f"{k}-{p.name}", k + 1
        self.data[name] = data
        record = {"name": name, "role": role, "original": str(p.resolve()), "sha256": sha256_hex(data)}
        self.records.append(record)
        return name

    def path(self, name: str) -> Path:
        """Where to read the input ``name`` from (its copy in a folder, or the original file)."""
        if self.root is not None:
            return self.root / name
        return Path(next(r["original"] for r in self.records if r["name"] == name))

    def write(self, folder: Path) -> None:
        """Write every input, byte for byte, into ``folder/inputs/``."""
        if not self.data:
            return
        (folder / INPUTS_DIR).mkdir()
        for name, data in self.data.items():
            (folder / INPUTS_DIR / name).write_bytes(data)

    @classmethod
    def from_folder(cls, folder: Path, records: list[dict[str, str]]) -> InputFiles:
        """The inputs a system folder records, each checked against its sha256."""
        data = {}
        for record in records:
            path = existing(
                folder / INPUTS_DIR / record["name"], f"input file (a copy of {record['original']})"
            )
            data[record["name"]] = path.read_bytes()
            if sha256_hex(data[record["name"]]) != record["sha256"]:
                raise PathganDataError(
                    f"{path}: changed since the system was built (sha256 differs from metadata.json); "
                    f"restore it from {record['original']} or rebuild the folder"
                )
        return cls(records, data, folder / INPUTS_DIR)


def check_atom_counts(coordinates: Any, n_coordinates: int, topology_file: Any, n_topology: int) -> None:
    """Refuse coordinates whose atom count differs from the topology's, naming both files."""
    if n_coordinates != n_topology:
        raise PathganInputError(f"{coordinates}: {n_coordinates} atoms, but {topology_file} has {n_topology}")


def refuse_solvent(topology: app.Topology, source: Any) -> None:
    """Refuse a system with explicit water or salt ions: pathgan's potential is the solute's.

    Water is found by residue name or by composition (one O, two H, massless sites);
    ions are single-atom residues of the alkali and halide elements.
    """
    waters, ions, names = 0, 0, set()
    for res in topology.residues():
        elements = [a.element.symbol if a.element is not None else None for a in res.atoms()]
        real = sorted(e for e in elements if e is not None)
        if res.name.upper() in WATER_NAMES or real == ["H", "H", "O"]:
            waters += 1
            names.add(res.name)
        elif len(elements) == 1 and elements[0] in SALT_ELEMENTS:
            ions += 1
            names.add(res.name)
    if waters or ions:
        raise PathganInputError(
            f"{source}: a solvated system ({waters} water molecules, {ions} ions; residues "
            f"{', '.join(sorted(names))}). pathgan learns and scores the potential of the solute; "
            "explicit solvent is not supported. Strip the water and ions (e.g. OpenMM's "
            "Modeller.deleteWater, or cpptraj/CHARMM) and use implicit solvent instead, e.g. "
            "--pdb solute.pdb --forcefield amber14-all.xml implicit/obc2.xml"
        )


def drop_box(topology: app.Topology, source: Any) -> dict[str, Any] | None:
    """Remove a periodic box from ``topology`` (the System is vacuum, no cutoff); the metadata note.

    Returns None when there was no box.
    """
    vectors = topology.getPeriodicBoxVectors()
    if vectors is None:
        return None
    topology.setPeriodicBoxVectors(None)
    return box_note(vectors, source)


def box_note(vectors: Any, source: Any) -> dict[str, Any]:
    """Metadata entry of a periodic box that was ignored (``vectors``: OpenMM box vectors, nm)."""
    if u.is_quantity(vectors):
        vectors = vectors.value_in_unit(u.nanometer)
    rows = [[float(x) for x in (v.value_in_unit(u.nanometer) if u.is_quantity(v) else v)] for v in vectors]
    return {
        "file": str(source),
        "box_lengths_nm": np.round(np.linalg.norm(np.array(rows), axis=1), 4).tolist(),
        "ignored": "built without periodic boundaries (vacuum, no cutoff)",
    }
