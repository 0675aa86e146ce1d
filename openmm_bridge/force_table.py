"""Which OpenMM forces the batched potential computes, and as which of its terms.

This is the one table of what pathgan's potential represents. It lives beside the systems
(the lower package), so that building or loading a system can refuse a force the potential
would leave out, and the potential (the upper package) builds its terms from the same
classification. Every energy-carrying force of a System is either mapped onto terms or left
with a note saying what it is; nothing is dropped without a word.

Terms computed from torchmd's type-keyed parameters (:data:`TORCHMD_TERMS`) and terms
computed from the OpenMM forces' own parameters (:data:`FORCE_TERMS`):

=================================================  ===========================================
OpenMM force                                       terms
=================================================  ===========================================
HarmonicBondForce                                  ``bonds``; pairs that close an angle (CHARMM
                                                   Urey-Bradley 1-3 terms): ``urey_bradley``
HarmonicAngleForce                                 ``angles``
PeriodicTorsionForce                               ``dihedrals`` (+ ``impropers`` for AMBER)
CustomTorsionForce, harmonic ``k*(theta-theta0)^2``  ``impropers`` (CHARMM)
CMAPTorsionForce                                   ``cmap``
NonbondedForce (no cutoff)                         ``1-4``, ``lj``, ``electrostatics``
CustomNonbondedForce, tabulated LJ (charmm36.xml)  ``lj_table``
CustomBondForce, 1-4 LJ (charmm36.xml)             ``lj_14``
GBSAOBCForce, CustomGBForce OBC2 / GBn2            ``implicit_solvent``
=================================================  ===========================================

Custom forces are recognised by their exact energy expressions (as OpenMM's own force-field
code writes them); any other custom expression is not represented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import openmm as mm

from .errors import PathganInputError

#: Terms computed from torchmd's parameters, in the order of the paper's hierarchy.
TORCHMD_TERMS: tuple[str, ...] = ("bonds", "angles", "dihedrals", "impropers", "1-4", "lj", "electrostatics")
#: Terms computed from the parameters of the OpenMM forces themselves.
FORCE_TERMS: tuple[str, ...] = ("urey_bradley", "cmap", "lj_table", "lj_14", "implicit_solvent")

#: OpenMM forces that carry no potential energy of the molecule.
IGNORED_FORCES = (mm.CMMotionRemover, mm.AndersenThermostat, mm.MonteCarloBarostat)

#: charmm36.xml's Lennard-Jones (``LennardJonesForce``): a table of A and B by type pair.
_LJ_TABLE = "acoef(type1, type2)/r^12 - bcoef(type1, type2)/r^6;"
#: charmm36.xml's 1-4 Lennard-Jones: ``<4 * lj14scale>*epsilon*((sigma/r)^12-(sigma/r)^6)``.
_LJ_14 = re.compile(r"^([0-9.eE+-]+)\*epsilon\*\(\(sigma/r\)\^12-\(sigma/r\)\^6\)$")
#: Harmonic impropers as charmm36.xml, OpenMM's psf reader and its (chamber) prmtop reader write them,
#: spaces removed and pi's digits written ``PI``. The wrapped forms and the plain one agree for
#: charmm36.xml's theta0 = 0 (the torch term wraps the difference to (-pi, pi]).
_HARMONIC_IMPROPERS = (
    "k*(theta-theta0)^2",
    "k*min(dtheta,2*pi-dtheta)^2;dtheta=abs(theta-theta0);pi=PI;",
    "k*min(dtheta,2*PI-dtheta)^2;dtheta=abs(theta-theta0)",
)


@dataclass(frozen=True)
class ForceInfo:
    """One OpenMM force: its label, its force group and the pathgan terms it matches.

    ``terms`` is empty for a force the potential cannot represent; ``note`` then says what
    it is.
    """

    label: str
    group: int
    terms: tuple[str, ...]
    note: str = ""


def energy_forces(system: mm.System) -> list[mm.Force]:
    """The forces of ``system`` that carry potential energy, in order."""
    return [f for f in system.getForces() if not isinstance(f, IGNORED_FORCES)]


def angle_end_pairs(system: mm.System) -> set[frozenset[int]]:
    """The (1, 3) atom pairs of every angle of the System's HarmonicAngleForces."""
    pairs: set[frozenset[int]] = set()
    for f in system.getForces():
        if isinstance(f, mm.HarmonicAngleForce):
            for k in range(f.getNumAngles()):
                i, _, j, *_ = f.getAngleParameters(k)
                pairs.add(frozenset((i, j)))
    return pairs


def split_bond_force(
    force: mm.HarmonicBondForce, end_pairs: set[frozenset[int]]
) -> tuple[list[int], list[int]]:
    """Indices of a HarmonicBondForce's entries: (chemical bonds, Urey-Bradley 1-3 terms).

    charmm36.xml writes both into one HarmonicBondForce and a psf gives them a force of
    their own; a pair that closes an angle is a Urey-Bradley term in either case.
    """
    bonds, urey_bradley = [], []
    for k in range(force.getNumBonds()):
        i, j, *_ = force.getBondParameters(k)
        (urey_bradley if frozenset((i, j)) in end_pairs else bonds).append(k)
    return bonds, urey_bradley


def _no_cutoff(force: mm.Force) -> bool:
    return force.getNonbondedMethod() == 0  # NoCutoff is 0 for every nonbonded force class


def is_lj_table(force: mm.Force) -> bool:
    """Whether ``force`` is charmm36.xml's tabulated Lennard-Jones (NBFIX included), without cutoff."""
    return (
        isinstance(force, mm.CustomNonbondedForce)
        and force.getEnergyFunction().replace(" ", "") == _LJ_TABLE.replace(" ", "")
        and force.getNumPerParticleParameters() == 1
        and force.getNumGlobalParameters() == 0
        and force.getNumComputedValues() == 0
        and force.getNumInteractionGroups() == 0
        and force.getNumTabulatedFunctions() == 2
        and {force.getTabulatedFunctionName(k) for k in range(2)} == {"acoef", "bcoef"}
        and all(isinstance(force.getTabulatedFunction(k), mm.Discrete2DFunction) for k in range(2))
        and _no_cutoff(force)
        and not force.getUseSwitchingFunction()
        and not force.getUseLongRangeCorrection()
    )


def lj_14_scale(force: mm.Force) -> float | None:
    """The prefactor (4 times the 1-4 scaling) of charmm36.xml's 1-4 Lennard-Jones bonds, else None."""
    if not isinstance(force, mm.CustomBondForce) or force.getNumGlobalParameters() != 0:
        return None
    names = [force.getPerBondParameterName(k) for k in range(force.getNumPerBondParameters())]
    match = _LJ_14.match(force.getEnergyFunction().replace(" ", ""))
    if match is None or names != ["sigma", "epsilon"] or force.usesPeriodicBoundaryConditions():
        return None
    return float(match.group(1))


def is_harmonic_improper(force: mm.Force) -> bool:
    """Whether ``force`` is a CustomTorsionForce of CHARMM harmonic impropers (k, theta0)."""
    if not isinstance(force, mm.CustomTorsionForce) or force.getNumGlobalParameters() != 0:
        return False
    names = [force.getPerTorsionParameterName(k) for k in range(force.getNumPerTorsionParameters())]
    expression = re.sub(r"3\.14159\d*", "PI", force.getEnergyFunction().replace(" ", ""))
    return expression in _HARMONIC_IMPROPERS and names == ["k", "theta0"]


def gb_model_name(force: mm.Force) -> str | None:
    """The implicit-solvent model of ``force`` (``"OBC2"``, ``"GBn2"``) if computed exactly, else None."""
    from .implicit_solvent_forces import describe_gb_force

    model = describe_gb_force(force)
    return None if model is None else model.name


def _classify(
    force: mm.Force, end_pairs: set[frozenset[int]], has_custom_torsion: bool
) -> tuple[tuple[str, ...], str]:
    """(terms, note) of one force; empty terms and a note when the potential cannot compute it."""
    if isinstance(force, mm.HarmonicBondForce):
        bonds, urey_bradley = split_bond_force(force, end_pairs)
        return ("bonds",) * bool(bonds) + ("urey_bradley",) * bool(urey_bradley), ""
    if isinstance(force, mm.HarmonicAngleForce):
        return ("angles",), ""
    if isinstance(force, mm.PeriodicTorsionForce):
        return (("dihedrals",) if has_custom_torsion else ("dihedrals", "impropers")), ""
    if isinstance(force, mm.CMAPTorsionForce):
        return ("cmap",), ""
    if isinstance(force, mm.NonbondedForce):
        if not _no_cutoff(force):
            return (), "with a cutoff or periodic boundaries (pathgan computes vacuum without cutoff)"
        return ("1-4", "lj", "electrostatics"), ""
    if is_harmonic_improper(force):
        return ("impropers",), ""
    if is_lj_table(force):
        return ("lj_table",), ""
    if lj_14_scale(force) is not None:
        return ("lj_14",), ""
    if isinstance(force, (mm.GBSAOBCForce, mm.CustomGBForce)):
        model = gb_model_name(force)
        if model is not None:
            return ("implicit_solvent",), ""
        return (), "a generalized-Born model other than OBC2 or GBn2 as OpenMM writes them"
    if isinstance(force, mm.CustomNonbondedForce | mm.CustomBondForce | mm.CustomTorsionForce):
        return (), f"'{force.getName()}', an energy expression pathgan does not compute"
    return (), "not computed by the pathgan potential"


def classify_forces(system: mm.System) -> list[ForceInfo]:
    """Label every energy-carrying force of ``system`` and map it onto pathgan terms.

    Force groups are assigned in order (0, 1, ...), as the OpenMM evaluator applies them to
    its own copy of the System.
    """
    forces = energy_forces(system)
    if len(forces) > 32:
        raise PathganInputError(f"System has {len(forces)} forces; OpenMM force groups allow at most 32")
    end_pairs = angle_end_pairs(system)
    has_custom_torsion = any(is_harmonic_improper(f) for f in forces)
    infos: list[ForceInfo] = []
    seen: dict[str, int] = {}
    claimed: set[str] = set()
    for group, f in enumerate(forces):
        name = type(f).__name__
        seen[name] = seen.get(name, 0) + 1
        label = name if seen[name] == 1 else f"{name}#{seen[name]}"
        terms, note = _classify(f, end_pairs, has_custom_torsion)
        # a term is one force's: a second force of the same kind would be counted twice or lost
        twice = [t for t in terms if t in claimed and t != "urey_bradley"]
        if twice:
            terms, note = (), f"a second force of {'/'.join(twice)} (pathgan computes one)"
        claimed.update(terms)
        infos.append(ForceInfo(label, group, terms, note))
    return infos


def unrepresented_forces(system: mm.System) -> list[str]:
    """What in ``system`` the batched potential does not compute: one note per force (empty: nothing)."""
    return [f"{info.label} ({info.note})" for info in classify_forces(system) if not info.terms]


def describe_solvent(system: mm.System) -> str:
    """``"vacuum"`` or the implicit-solvent model the System computes, e.g. ``"implicit solvent (OBC2)"``."""
    models = [
        gb_model_name(f) for f in energy_forces(system) if isinstance(f, (mm.GBSAOBCForce, mm.CustomGBForce))
    ]
    if not models:
        return "vacuum"
    return f"implicit solvent ({', '.join(m or 'an unrecognised GB force' for m in models)})"
