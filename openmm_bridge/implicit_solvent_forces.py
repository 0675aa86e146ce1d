"""Which generalized-Born (GB) forces the batched potential computes exactly, and their parameters.

Three OpenMM 8.6 forces are recognised, each only when it is exactly what OpenMM's own code
makes (the torch side, :mod:`pathgan.implicit_solvent`, mirrors their arithmetic):

* the ``CustomGBForce`` of ``implicit/obc2.xml`` (``openmm/app/internal/customgbforces.py``,
  class ``GBSAOBC2Force``, Amber ``igb=5``), with or without its ACE surface term;
* the ``CustomGBForce`` of ``implicit/gbn2.xml`` (``GBSAGBn2Force``, Amber ``igb=8``): the
  OBC-type radii plus the neck correction, tabulated ``d0``/``m0`` and per-atom alpha, beta, gamma;
* OpenMM's native ``GBSAOBCForce`` (what ``AmberPrmtopFile.createSystem(implicitSolvent=OBC2)``
  makes when kappa is 0), computed by ``platforms/reference/src/SimTKReference/ReferenceObc.cpp``.

A ``CustomGBForce`` is recognised by rebuilding it: the constants (solvent and solute dielectric,
kappa, offset) are read from its first energy term, OpenMM's own class is constructed with
them, and every computed value, energy term, parameter name and table must then be identical
(string for string, value for value). Anything else -- another constant, kappa other than 0,
a cutoff or periodic boundaries, a changed table -- is not recognised (``None``).

Units are OpenMM's: nm, e, kJ/mol. This module imports neither torch nor pathgan.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np
import openmm as mm
import openmm.unit as u
from openmm.app.internal import customgbforces

__all__ = [
    "GBModel",
    "GBParticles",
    "describe_gb_force",
    "gb_particle_parameters",
    "NATIVE_COULOMB_CONSTANT",
    "CUSTOM_COULOMB_CONSTANT",
]

#: Coulomb constant 1/(4 pi eps0), kJ mol^-1 nm e^-2, as OpenMM's reference kernels define it
#: (``ONE_4PI_EPS0`` of ``SimTKOpenMMRealType.h``, CODATA 2018), in the same order of operations.
_EPSILON0 = 1e-6 * 8.8541878128e-12 / (1.602176634e-19 * 1.602176634e-19 * 6.02214076e23)
NATIVE_COULOMB_CONSTANT: float = 1 / (4 * math.pi * _EPSILON0)
#: The constant written into customgbforces' energy expressions.
CUSTOM_COULOMB_CONSTANT: float = 138.935485
#: customgbforces' ACE factor 4 pi * 2.25936 kJ/mol/nm^2, as written in its expression.
_CUSTOM_SA_FACTOR = 28.3919551
#: ACE probe radius, nm (both implementations).
_PROBE_RADIUS = 0.14
#: ObcParameters' dielectric offset, nm (native GBSAOBCForce).
_NATIVE_OFFSET = 0.009
#: OBC type II (Onufriev, Bashford, Case 2004): alpha, beta, gamma.
_OBC2_ABG = (1.0, 0.8, 4.85)
#: GBn2's neck constants (``GBSAGBn2Force._addEnergyTerms``): scale and cutoff (nm).
_GBN2_NECK_SCALE = 0.826836
_GBN2_NECK_CUT = 0.68

#: The constants customgbforces appends to every energy term (``_createEnergyTerms``); no cutoff.
_CONSTANTS = re.compile(
    r"; solventDielectric=([^;]+); soluteDielectric=([^;]+); kappa=([^;]+); offset=([^;]+)$"
)

_CUSTOM = "CustomGBForce"
_NATIVE = "GBSAOBCForce"


@dataclass(frozen=True)
class GBModel:
    """A generalized-Born model as one OpenMM force computes it (OpenMM units).

    Attributes
    ----------
    name
        ``"OBC2"`` or ``"GBn2"``.
    solvent_dielectric, solute_dielectric
        Dielectric constants.
    kappa_per_nm
        Debye screening parameter, 1/nm; always 0 (salt screening is not computed).
    surface_area
        Whether the ACE surface-area term is present (a native force with surface-area energy 0 has none).
    implementation
        ``"CustomGBForce"`` (customgbforces' expressions) or ``"GBSAOBCForce"`` (native kernel).
    offset_nm
        Dielectric offset, nm: 0.009 (OBC2) or 0.0195141 (GBn2).
    coulomb_constant
        1/(4 pi eps0) as the force uses it, kJ mol^-1 nm e^-2 (138.935485 in customgbforces'
        expressions, ``ONE_4PI_EPS0`` = 138.9354576... in the native kernel).
    surface_factor
        4 pi times the surface-area energy, kJ/mol/nm^2 (28.3919551 in the expressions,
        ``4*pi*getSurfaceAreaEnergy()`` natively); 0 without the surface term.
    probe_radius_nm
        Solvent probe radius of the ACE term, nm.
    neck_scale, neck_cut_nm
        GBn2's neck-integral scale and cutoff (nm); 0 for OBC2.
    inside_correction
        The native kernel's extra term for an atom i entirely inside the scaled sphere of j
        (Tinker's correction, not in customgbforces' expression).
    """

    name: str
    solvent_dielectric: float
    solute_dielectric: float
    kappa_per_nm: float
    surface_area: bool
    implementation: str = _CUSTOM
    offset_nm: float = 0.009
    coulomb_constant: float = CUSTOM_COULOMB_CONSTANT
    surface_factor: float = _CUSTOM_SA_FACTOR
    probe_radius_nm: float = _PROBE_RADIUS
    neck_scale: float = 0.0
    neck_cut_nm: float = 0.0
    inside_correction: bool = False


@dataclass(frozen=True)
class GBParticles:
    """Per-atom GB parameters in OpenMM units, exactly as the force's arithmetic uses them.

    Attributes
    ----------
    charge
        Charges, e, shape (n,).
    offset_radius
        Offset radii rho_i - offset, nm (customgbforces' ``or``).
    scaled_radius
        Scaled offset radii s_i (rho_i - offset), nm (customgbforces' ``sr``).
    radius
        Intrinsic radii rho_i, nm, as used in the tanh denominator and the ACE term (``or+offset``
        for a CustomGBForce, the force's radius parameter for the native one).
    scale
        Screening factors s_i (``sr/or`` for a CustomGBForce, where only ``sr`` is stored).
    alpha, beta, gamma
        Per-atom tanh coefficients (1.0, 0.8, 4.85 for every atom under OBC2).
    radius_index
        GBn2: index of each atom's offset radius among the unique radii (``radindex``); else None.
    d0_table, m0_table
        GBn2: the neck tables as OpenMM evaluates them, ``getd0(x, y) = d0_table[x, y]`` (nm) and
        ``getm0(x, y) = m0_table[x, y]`` (1/nm), shape (n_radii, n_radii); else None.
    """

    charge: np.ndarray
    offset_radius: np.ndarray
    scaled_radius: np.ndarray
    radius: np.ndarray
    scale: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    gamma: np.ndarray
    radius_index: np.ndarray | None = None
    d0_table: np.ndarray | None = None
    m0_table: np.ndarray | None = None


def _energy_term_constants(force: mm.CustomGBForce) -> tuple[float, float, float, float] | None:
    """(solventDielectric, soluteDielectric, kappa, offset) from the first energy term, or None."""
    if force.getNumEnergyTerms() == 0:
        return None
    expression, _ = force.getEnergyTermParameters(0)
    match = _CONSTANTS.search(expression)
    if match is None:
        return None
    try:
        solvent, solute, kappa, offset = (float(g) for g in match.groups())
    except ValueError:
        return None
    return solvent, solute, kappa, offset


def _particle_parameter_names(force: mm.CustomGBForce) -> list[str]:
    return [force.getPerParticleParameterName(k) for k in range(force.getNumPerParticleParameters())]


def _table(function: mm.TabulatedFunction) -> tuple[int, int, list[float]] | None:
    """(xsize, ysize, values) of a Discrete2DFunction, None for any other kind of table."""
    if not isinstance(function, mm.Discrete2DFunction):
        return None
    xsize, ysize, values = function.getFunctionParameters()
    return int(xsize), int(ysize), [float(v) for v in values]


def _same_definition(force: mm.CustomGBForce, reference: mm.CustomGBForce) -> bool:
    """Whether ``force`` has exactly the expressions, parameters and tables of ``reference``."""
    if _particle_parameter_names(force) != _particle_parameter_names(reference):
        return False
    if force.getNumGlobalParameters() != reference.getNumGlobalParameters():
        return False
    if force.getNumComputedValues() != reference.getNumComputedValues():
        return False
    for k in range(force.getNumComputedValues()):
        if tuple(force.getComputedValueParameters(k)) != tuple(reference.getComputedValueParameters(k)):
            return False
    if force.getNumEnergyTerms() != reference.getNumEnergyTerms():
        return False
    for k in range(force.getNumEnergyTerms()):
        if tuple(force.getEnergyTermParameters(k)) != tuple(reference.getEnergyTermParameters(k)):
            return False
    if force.getNumTabulatedFunctions() != reference.getNumTabulatedFunctions():
        return False
    for k in range(force.getNumTabulatedFunctions()):
        if force.getTabulatedFunctionName(k) != reference.getTabulatedFunctionName(k):
            return False
        table = _table(force.getTabulatedFunction(k))
        if table is None or table != _table(reference.getTabulatedFunction(k)):
            return False
    return True


def _reference_gbn2(
    force: mm.CustomGBForce, solvent: float, solute: float, sa: str | None, kappa: float
) -> mm.CustomGBForce | None:
    """customgbforces' GBSAGBn2Force with the constants and unique radii of ``force``, or None.

    The tables depend on the set of unique offset radii, which ``finalize`` collects from the
    particles; they are collected here from ``force``'s own particles, and each particle's
    ``radindex`` must be the index OpenMM's class gives its radius.
    """
    names = _particle_parameter_names(force)
    if len(names) != 7 or force.getNumParticles() == 0:
        return None
    params = [force.getParticleParameters(i) for i in range(force.getNumParticles())]
    reference = customgbforces.GBSAGBn2Force(
        solventDielectric=solvent, soluteDielectric=solute, SA=sa, cutoff=None, kappa=kappa
    )
    try:
        reference._uniqueRadii = sorted({float(p[1]) for p in params})
        reference._createRadiusToIndexMap()
        reference._addEnergyTerms()
        index = reference._radiusToIndex
    except (AttributeError, TypeError):  # OpenMM's private helpers changed: recognise nothing
        return None
    if any(float(p[6]) != index[float(p[1])] for p in params):
        return None
    return reference


def _describe_custom(force: mm.CustomGBForce) -> GBModel | None:
    if force.getNonbondedMethod() != mm.CustomGBForce.NoCutoff or force.usesPeriodicBoundaryConditions():
        return None
    constants = _energy_term_constants(force)
    if constants is None:
        return None
    solvent, solute, kappa, _ = constants
    if kappa != 0.0 or solvent == 0.0 or solute == 0.0:  # salt screening; 1/0 in the expressions
        return None
    surface = any(
        force.getEnergyTermParameters(k)[0].startswith(f"{_CUSTOM_SA_FACTOR}*")
        for k in range(force.getNumEnergyTerms())
    )
    sa = "ACE" if surface else None
    kwargs = {
        "solventDielectric": solvent,
        "soluteDielectric": solute,
        "SA": sa,
        "cutoff": None,
        "kappa": kappa,
    }
    names = _particle_parameter_names(force)
    if names == ["charge", "or", "sr"]:
        reference = customgbforces.GBSAOBC2Force(**kwargs)
        model = GBModel("OBC2", solvent, solute, 0.0, surface, offset_nm=customgbforces.GBSAOBC2Force.OFFSET)
    elif names == ["charge", "or", "sr", "alpha", "beta", "gamma", "radindex"]:
        reference = _reference_gbn2(force, solvent, solute, sa, kappa)
        offset = customgbforces.GBSAGBn2Force.OFFSET
        model = GBModel(
            "GBn2",
            solvent,
            solute,
            0.0,
            surface,
            offset_nm=offset,
            neck_scale=_GBN2_NECK_SCALE,
            neck_cut_nm=_GBN2_NECK_CUT,
        )
    else:
        return None
    if reference is None or not _same_definition(force, reference):
        return None
    if not surface:
        model = replace(model, surface_factor=0.0)
    return model


def _describe_native(force: mm.GBSAOBCForce) -> GBModel | None:
    if force.getNonbondedMethod() != mm.GBSAOBCForce.NoCutoff or force.usesPeriodicBoundaryConditions():
        return None
    surface_energy = float(force.getSurfaceAreaEnergy().value_in_unit(u.kilojoule_per_mole / u.nanometer**2))
    return GBModel(
        "OBC2",
        float(force.getSolventDielectric()),
        float(force.getSoluteDielectric()),
        0.0,
        surface_energy != 0.0,
        implementation=_NATIVE,
        offset_nm=_NATIVE_OFFSET,
        coulomb_constant=NATIVE_COULOMB_CONSTANT,
        surface_factor=4 * math.pi * surface_energy,
        inside_correction=True,
    )


def describe_gb_force(force: mm.Force) -> GBModel | None:
    """The GB model of an OpenMM force, or None when it is not one this toolkit computes exactly.

    Parameters
    ----------
    force
        Any OpenMM force.

    Returns
    -------
    GBModel or None
        The model of an ``implicit/obc2.xml`` or ``implicit/gbn2.xml`` CustomGBForce (kappa 0, no
        cutoff, with or without the ACE term) or of a native ``GBSAOBCForce`` without cutoff;
        None for anything else, including such a force with any expression, constant or table changed.
    """
    if isinstance(force, mm.GBSAOBCForce):
        return _describe_native(force)
    if isinstance(force, mm.CustomGBForce):
        return _describe_custom(force)
    return None


def gb_particle_parameters(force: mm.Force, model: GBModel | None = None) -> GBParticles:
    """Per-atom parameters of a recognised GB force, in OpenMM units (e, nm).

    Parameters
    ----------
    force
        A force :func:`describe_gb_force` recognises.
    model
        Its model, if already described (saves describing it again).

    Returns
    -------
    GBParticles
        Charges, offset and scaled radii, intrinsic radii, scale factors, tanh coefficients and
        (GBn2) radius indices and neck tables, computed from the force's parameters the way
        OpenMM's kernel or expressions compute them.

    Raises
    ------
    ValueError
        If ``force`` is not a recognised GB force.
    """
    if model is None:
        model = describe_gb_force(force)
    if model is None:
        raise ValueError(f"{type(force).__name__} '{force.getName()}' is not a GB force computed exactly")
    n = force.getNumParticles()
    if model.implementation == _NATIVE:
        rows = np.zeros((n, 3), dtype=np.float64)
        for i in range(n):
            q, rho, s = force.getParticleParameters(i)
            rows[i] = (q.value_in_unit(u.elementary_charge), rho.value_in_unit(u.nanometer), s)
        charge, radius, scale = rows[:, 0], rows[:, 1], rows[:, 2]
        offset_radius = (
            radius - model.offset_nm
        )  # ReferenceObc: offsetRadiusJ = atomicRadii[J] - dielectricOffset
        scaled_radius = offset_radius * scale  # scaledRadiusJ = offsetRadiusJ*scaledRadiusFactor[J]
        alpha, beta, gamma = (np.full(n, v) for v in _OBC2_ABG)
        return GBParticles(charge, offset_radius, scaled_radius, radius, scale, alpha, beta, gamma)
    rows = np.array([list(force.getParticleParameters(i)) for i in range(n)], dtype=np.float64)
    rows = rows.reshape(n, force.getNumPerParticleParameters())
    charge, offset_radius, scaled_radius = rows[:, 0], rows[:, 1], rows[:, 2]
    radius = offset_radius + model.offset_nm  # the expressions' radius=or+offset
    scale = scaled_radius / offset_radius
    if model.name == "OBC2":
        alpha, beta, gamma = (np.full(n, v) for v in _OBC2_ABG)
        return GBParticles(charge, offset_radius, scaled_radius, radius, scale, alpha, beta, gamma)
    tables = {}
    for k in range(force.getNumTabulatedFunctions()):
        xsize, ysize, values = _table(force.getTabulatedFunction(k))
        # Discrete2DFunction: f(x, y) = values[x + xsize*y]
        tables[force.getTabulatedFunctionName(k)] = (
            np.asarray(values, dtype=np.float64).reshape(ysize, xsize).T
        )
    return GBParticles(
        charge,
        offset_radius,
        scaled_radius,
        radius,
        scale,
        rows[:, 3].copy(),
        rows[:, 4].copy(),
        rows[:, 5].copy(),
        radius_index=np.rint(rows[:, 6]).astype(np.int64),
        d0_table=tables["getd0"],
        m0_table=tables["getm0"],
    )
