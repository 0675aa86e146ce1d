"""The ``system`` section of ``pathgan run``: one source of the molecule, its files, its title.

A sequence (built as an ideal helix), a PDB file with force-field XML files, an AMBER (or chamber)
prmtop with coordinates, a CHARMM psf with parameter files and coordinates, or an existing system
folder. Paths in a YAML file are relative to the YAML file (:func:`resolve_system_paths`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from openmm_bridge.errors import PathganInputError
from openmm_bridge.settings import Settings

#: The default molecule: capped deca-alanine.
DEFAULT_SEQUENCE = "AAAAAAAAAA"
#: The default force field of a sequence or a PDB file (AMBER ff14SB).
DEFAULT_FORCEFIELD = ["amber14-all.xml"]
#: Where a system can come from, each with the settings it needs besides itself.
SOURCES: dict[str, tuple[str, ...]] = {
    "sequence": (),
    "pdb": (),  # forcefield has a default
    "prmtop": ("inpcrd",),
    "psf": ("charmm_params", "coordinates"),
    "folder": (),
}
#: Settings that belong to some sources only (refused with any other).
ONLY_WITH: dict[str, tuple[str, ...]] = {
    "caps": ("sequence",),
    "forcefield": ("sequence", "pdb"),
    "inpcrd": ("prmtop",),
    "charmm_params": ("psf",),
    "coordinates": ("psf",),
    "allow_d_residues": ("pdb", "prmtop", "psf"),
    "allow_cis_peptides": ("pdb", "prmtop", "psf"),
    "allow_unrepresented_forces": ("sequence", "pdb", "prmtop", "psf"),
}
#: Settings that name one file each (relative to the YAML file's folder in a YAML file).
FILE_SETTINGS = ("pdb", "prmtop", "inpcrd", "psf", "coordinates", "end_state")
#: The files of a system folder that say what it is (``folder:`` source; its inputs are in metadata.json).
FOLDER_FILES = ("metadata.json", "system.xml", "system_hbonds.xml", "structure.pdb")


def _and(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def bundled_forcefield(name: str) -> bool:
    """Whether ``name`` is one of OpenMM's bundled force-field files (``amber14-all.xml``, ``implicit/obc2.xml``)."""
    import openmm.app as app

    try:
        from openmm.app.forcefield import _getDataDirectories  # also force fields of plugins

        folders = list(_getDataDirectories())
    except ImportError:  # a private helper: fall back to OpenMM's own data folder
        folders = [os.path.join(os.path.dirname(app.__file__), "data")]
    return any(os.path.isfile(os.path.join(folder, name)) for folder in folders)


@dataclasses.dataclass
class SystemSection(Settings):
    """The molecule, from exactly one source (YAML forms; ``allow_*`` with any but ``folder``)::

        system: {sequence: AAAAAAAAAA, caps: true, forcefield: [amber14-all.xml]}   # the default
        system: {pdb: peptide.pdb, forcefield: [amber14-all.xml, implicit/obc2.xml]}
        system: {prmtop: peptide.prmtop, inpcrd: peptide.inpcrd}                    # chamber too
        system: {psf: peptide.psf, charmm_params: [top.rtf, par.prm, lig.str], coordinates: peptide.pdb}
        system: {folder: ../deca}                                                   # a pathgan system folder
        system: {pdb: start.pdb, end_state: end.pdb}                                # two end states

    ``sequence``: an ideal helix (ACE/NME caps unless ``caps: false``); with no source given, the
    default deca-alanine. ``forcefield`` (sequence and pdb only; default ``[amber14-all.xml]``):
    OpenMM force-field XML files, bundled names or the user's own, e.g. ``[amber14-all.xml,
    implicit/obc2.xml]`` for OBC2 implicit solvent; the potential, the pulls, the string and the
    umbrella windows all use the System they make. ``folder``: a folder written by ``pathgan build``
    (or a run's ``DIR/system``), copied as it is. ``allow_d_residues``, ``allow_cis_peptides``,
    ``allow_unrepresented_forces``: accept (and record) what the checks would refuse, as in
    :meth:`~openmm_bridge.system.MolecularSystem.from_pdb`. Paths in a YAML file are relative to
    its folder (:func:`resolve_config`); the system stage's key holds the files' sha256, not their paths.

    ``end_state`` (any source): a PDB file of the same atoms in another conformation, the end of
    the transition. Without an ``smd.coordinate`` it makes the reference pulls targeted MD: an
    RMSD pull to it (heavy atoms) from the start's RMSD down to 0 (:func:`~pathgan.run_config.resolve_config`).
    """

    sequence: str | None = None
    caps: bool | None = None
    forcefield: list[str] | None = None
    pdb: str | None = None
    prmtop: str | None = None
    inpcrd: str | None = None
    psf: str | None = None
    charmm_params: list[str] | None = None
    coordinates: str | None = None
    folder: str | None = None
    end_state: str | None = None
    allow_d_residues: bool = False
    allow_cis_peptides: bool = False
    allow_unrepresented_forces: bool = False

    def __post_init__(self) -> None:
        """The defaults of the one source given (none given: the default sequence)."""
        super().__post_init__()
        given = self.sources()
        if not given:
            self.sequence, given = DEFAULT_SEQUENCE, ["sequence"]
        if given == ["sequence"] and self.caps is None:
            self.caps = True
        if len(given) == 1 and given[0] in ONLY_WITH["forcefield"] and self.forcefield is None:
            self.forcefield = list(DEFAULT_FORCEFIELD)

    def sources(self) -> list[str]:
        """The sources given (one, once checked)."""
        return [s for s in SOURCES if getattr(self, s) is not None]

    @property
    def source(self) -> str:
        """The source: ``sequence``, ``pdb``, ``prmtop``, ``psf`` or ``folder``."""
        (source,) = self.sources()
        return source

    def check(self, where: str) -> None:
        """One source, its companions, nothing of another source's, and every file there."""
        given = self.sources()
        if len(given) != 1:
            raise PathganInputError(f"{where}: give one of {', '.join(SOURCES)} (got {_and(given)})")
        source = given[0]
        missing = [name for name in SOURCES[source] if getattr(self, name) is None]
        if missing:
            raise PathganInputError(f"{where}: {source} needs {_and(missing)}")
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for name, sources in ONLY_WITH.items():
            if source not in sources and getattr(self, name) is not defaults[name]:  # None or False
                raise PathganInputError(
                    f"{where}.{name}: goes with {_and(list(sources))} only, not with {source}"
                )
        for name in ("forcefield", "charmm_params"):
            if getattr(self, name) == []:
                raise PathganInputError(f"{where}.{name}: give at least one file")
        for name in FILE_SETTINGS:
            if getattr(self, name) is not None and not os.path.isfile(getattr(self, name)):
                raise PathganInputError(f"{where}.{name}: {os.path.abspath(getattr(self, name))} not found")
        for path in self.charmm_params or []:
            if not os.path.isfile(path):
                raise PathganInputError(f"{where}.charmm_params: {os.path.abspath(path)} not found")
        for name in self.forcefield or []:
            if not os.path.isfile(name) and not bundled_forcefield(name):
                raise PathganInputError(
                    f"{where}.forcefield: {os.path.abspath(name)} not found, nor among OpenMM's bundled "
                    "force fields (e.g. amber14-all.xml, charmm36.xml, implicit/obc2.xml)"
                )
        if self.folder is not None and not os.path.isfile(os.path.join(self.folder, FOLDER_FILES[0])):
            raise PathganInputError(
                f"{where}.folder: {os.path.abspath(self.folder)} is not a pathgan system folder "
                f"(no {FOLDER_FILES[0]}; write one with pathgan build)"
            )

    def files(self) -> dict[str, str | list[str]]:
        """The input files by setting (the user's own force-field files only; a folder's files by name)."""
        out: dict[str, str | list[str]] = {
            name: getattr(self, name) for name in FILE_SETTINGS if getattr(self, name) is not None
        }
        if self.charmm_params is not None:
            out["charmm_params"] = list(self.charmm_params)
        if self.forcefield is not None:
            own = [name for name in self.forcefield if os.path.isfile(name)]
            if own:
                out["forcefield"] = own
        if self.folder is not None:
            out["folder"] = [
                os.path.join(self.folder, name)
                for name in FOLDER_FILES
                if os.path.isfile(os.path.join(self.folder, name))
            ]
        return out


def system_title(system: dict[str, Any]) -> str:
    """A short name of a ``system`` section (as :meth:`RunConfig.to_dict` writes it), for titles."""
    if system.get("sequence"):
        return str(system["sequence"])
    for name in SOURCES:
        if system.get(name):
            return f"{name} {Path(system[name]).name}"
    return DEFAULT_SEQUENCE


def _absolute(path: Any, base: Path) -> Any:
    """``path`` (a str or path) made absolute against ``base``; anything else as it is (refused later)."""
    if isinstance(path, str | os.PathLike):
        return os.path.abspath(os.path.join(base, os.path.expanduser(os.fspath(path))))
    return path


def _forcefield_entry(name: Any, base: Path) -> Any:
    """A force-field name: a file beside ``base`` (made absolute) before one of OpenMM's bundled files."""
    if not isinstance(name, str | os.PathLike):
        return name
    path = _absolute(name, base)
    if os.path.isfile(path) or not bundled_forcefield(os.fspath(name)):
        return path  # the user's file, or a missing one (named with its full path by the check)
    return os.fspath(name)


def resolve_system_paths(system: dict[str, Any], base: Path) -> dict[str, Any]:
    """The ``system`` section of one layer (YAML file or overrides) with its paths absolute against ``base``."""
    out = dict(system)
    for name in (*FILE_SETTINGS, "folder"):
        if out.get(name) is not None:
            out[name] = _absolute(out[name], base)
    if isinstance(out.get("charmm_params"), list | tuple):
        out["charmm_params"] = [_absolute(p, base) for p in out["charmm_params"]]
    if isinstance(out.get("forcefield"), list | tuple):
        out["forcefield"] = [_forcefield_entry(p, base) for p in out["forcefield"]]
    return out
