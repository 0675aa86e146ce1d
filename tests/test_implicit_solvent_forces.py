"""Recognition of OpenMM's generalized-Born forces: obc2.xml, gbn2.xml, native GBSAOBCForce; refusal of the rest."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as u
import pytest
from openmm.app.internal import customgbforces

from openmm_bridge.builder import build_peptide
from openmm_bridge.implicit_solvent_forces import (
    NATIVE_COULOMB_CONSTANT,
    GBModel,
    describe_gb_force,
    gb_particle_parameters,
)


def _gb_force(system: mm.System) -> mm.Force:
    (force,) = [f for f in system.getForces() if isinstance(f, (mm.CustomGBForce, mm.GBSAOBCForce))]
    return copy.deepcopy(force)  # the System owns its forces: a bare reference dies with it


@pytest.fixture(scope="module")
def peptide() -> tuple[app.Topology, u.Quantity]:
    """Capped tri-alanine."""
    return build_peptide("AAA", app.ForceField("amber14-all.xml", "implicit/obc2.xml"), caps=True)


def _xml_force(peptide, xml: str, **kwargs) -> mm.Force:
    top, _ = peptide
    ff = app.ForceField("amber14-all.xml", xml)
    args = {"nonbondedMethod": app.NoCutoff, "constraints": None, **kwargs}
    return _gb_force(ff.createSystem(top, **args))


@pytest.fixture(scope="module")
def prmtop(peptide, tmp_path_factory) -> Path:
    """The vacuum amber14 system of ``peptide`` as a prmtop (parmed), with mbondi2 GB radii."""
    import parmed
    from parmed.tools import changeRadii

    top, pos = peptide
    system = app.ForceField("amber14-all.xml").createSystem(
        top, nonbondedMethod=app.NoCutoff, constraints=None
    )
    path = tmp_path_factory.mktemp("gb") / "peptide.prmtop"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parm = parmed.amber.AmberParm.from_structure(parmed.openmm.load_topology(top, system, xyz=pos))
        changeRadii(parm, "mbondi2").execute()
        parm.write_parm(str(path))
    return path


def _prmtop_force(path: Path, **kwargs) -> mm.Force:
    args = {"implicitSolvent": app.OBC2, "nonbondedMethod": app.NoCutoff, **kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Non-optimal GB parameters" for GBn2 with mbondi2 radii
        return _gb_force(app.AmberPrmtopFile(str(path)).createSystem(**args))


@pytest.mark.parametrize("xml, name", [("implicit/obc2.xml", "OBC2"), ("implicit/gbn2.xml", "GBn2")])
def test_forcefield_forces_are_recognised(peptide, xml, name):
    model = describe_gb_force(_xml_force(peptide, xml))
    assert model is not None
    assert (model.name, model.solvent_dielectric, model.solute_dielectric) == (name, 78.5, 1.0)
    assert model.kappa_per_nm == 0.0 and model.surface_area and model.implementation == "CustomGBForce"
    assert model.offset_nm == (0.009 if name == "OBC2" else 0.0195141)
    assert model.surface_factor == 28.3919551 and model.coulomb_constant == 138.935485
    assert (model.neck_scale > 0) == (name == "GBn2") and not model.inside_correction


@pytest.mark.parametrize("xml", ["implicit/obc2.xml", "implicit/gbn2.xml"])
def test_without_surface_term_and_other_dielectrics(peptide, xml):
    plain = describe_gb_force(_xml_force(peptide, xml, sasaMethod=None))
    assert plain is not None and not plain.surface_area and plain.surface_factor == 0.0
    model = describe_gb_force(_xml_force(peptide, xml, solventDielectric=80.0, soluteDielectric=2.0))
    assert model is not None and (model.solvent_dielectric, model.solute_dielectric) == (80.0, 2.0)


def test_customgbforces_class_without_surface_term(peptide):
    top, _ = peptide
    force = customgbforces.GBSAOBC2Force(SA=None)
    for p in customgbforces.GBSAOBC2Force.getStandardParameters(top):
        force.addParticle([0.1, p[0], p[1]])
    force.finalize()
    model = describe_gb_force(force)
    assert model is not None and model.name == "OBC2" and not model.surface_area


def test_native_gbsaobc_force(prmtop):
    force = _prmtop_force(prmtop)
    assert isinstance(force, mm.GBSAOBCForce)
    model = describe_gb_force(force)
    assert model == GBModel(
        "OBC2",
        78.5,
        1.0,
        0.0,
        True,
        implementation="GBSAOBCForce",
        offset_nm=0.009,
        coulomb_constant=NATIVE_COULOMB_CONSTANT,
        surface_factor=4 * np.pi * 2.25936,
        inside_correction=True,
    )
    assert NATIVE_COULOMB_CONSTANT == pytest.approx(138.935457644, rel=1e-11)
    none = copy.deepcopy(force)
    none.setSurfaceAreaEnergy(0.0)
    assert not describe_gb_force(none).surface_area
    other = describe_gb_force(_prmtop_force(prmtop, solventDielectric=80.0, soluteDielectric=2.0))
    assert (other.solvent_dielectric, other.solute_dielectric) == (80.0, 2.0)


def test_particle_parameters(peptide, prmtop):
    top, _ = peptide
    obc = _xml_force(peptide, "implicit/obc2.xml")
    p = gb_particle_parameters(obc)
    standard = np.asarray(customgbforces.GBSAOBC2Force.getStandardParameters(top))
    np.testing.assert_allclose(p.radius, standard[:, 0], rtol=1e-12)
    np.testing.assert_allclose(p.scale, standard[:, 1], rtol=1e-12)
    np.testing.assert_array_equal(
        p.offset_radius, [obc.getParticleParameters(i)[1] for i in range(len(p.charge))]
    )
    assert (
        p.radius_index is None
        and np.all(p.alpha == 1.0)
        and np.all(p.beta == 0.8)
        and np.all(p.gamma == 4.85)
    )

    native = gb_particle_parameters(_prmtop_force(prmtop))
    np.testing.assert_allclose(native.charge, p.charge, atol=1e-8)
    np.testing.assert_allclose(native.radius, standard[:, 0], rtol=1e-12)  # mbondi2 radii from the prmtop
    np.testing.assert_array_equal(native.offset_radius, native.radius - 0.009)
    np.testing.assert_array_equal(native.scaled_radius, native.offset_radius * native.scale)

    gbn2 = _xml_force(peptide, "implicit/gbn2.xml")
    q = gb_particle_parameters(gbn2)
    n_radii = len(np.unique(q.offset_radius))
    assert q.d0_table.shape == q.m0_table.shape == (n_radii, n_radii)
    assert q.radius_index.min() == 0 and q.radius_index.max() == n_radii - 1
    np.testing.assert_array_equal(np.unique(q.offset_radius)[q.radius_index], q.offset_radius)
    # OpenMM's Discrete2DFunction: f(x, y) = values[x + xsize*y]
    _, _, values = gbn2.getTabulatedFunction(0).getFunctionParameters()
    assert q.d0_table[1, 0] == values[1] and q.d0_table[0, 1] == values[n_radii]
    with pytest.raises(ValueError):
        gb_particle_parameters(mm.HarmonicBondForce())


def _with_energy_term(force: mm.CustomGBForce, k: int, old: str, new: str) -> mm.CustomGBForce:
    changed = copy.deepcopy(force)
    expression, kind = changed.getEnergyTermParameters(k)
    assert old in expression
    changed.setEnergyTermParameters(k, expression.replace(old, new), kind)
    return changed


@pytest.mark.parametrize("xml", ["implicit/obc2.xml", "implicit/gbn2.xml"])
def test_tampered_custom_forces_are_refused(peptide, xml):
    force = _xml_force(peptide, xml)
    assert describe_gb_force(force) is not None
    tampered = [
        _with_energy_term(force, 0, "-0.5*138.935485", "-0.5*138.9355"),  # another constant
        _with_energy_term(force, 2, "exp(-r^2/(4*B1*B2))", "exp(-r^2/(3*B1*B2))"),  # another f_GB
        _with_energy_term(force, 1, "(radius+0.14)^2", "(radius+0.15)^2"),  # another probe radius
    ]
    for energy_index, kind in [
        (2, mm.CustomGBForce.ParticlePair),
        (0, mm.CustomGBForce.ParticlePairNoExclusions),
    ]:
        changed = copy.deepcopy(force)
        expression, _ = changed.getEnergyTermParameters(energy_index)
        changed.setEnergyTermParameters(energy_index, expression, kind)  # pair term with exclusions
        tampered.append(changed)
    changed = copy.deepcopy(force)
    name, expression, kind = changed.getComputedValueParameters(1)
    changed.setComputedValueParameters(1, name, expression.replace("psi^3", "psi^2"), kind)
    tampered.append(changed)
    changed = copy.deepcopy(force)
    changed.addGlobalParameter("lambda", 1.0)
    tampered.append(changed)
    changed = copy.deepcopy(force)
    changed.setNonbondedMethod(mm.CustomGBForce.CutoffNonPeriodic)
    tampered.append(changed)
    for k, t in enumerate(tampered):
        assert describe_gb_force(t) is None, k


def test_tampered_gbn2_tables_are_refused(peptide):
    force = _xml_force(peptide, "implicit/gbn2.xml")
    changed = copy.deepcopy(force)
    xsize, ysize, values = changed.getTabulatedFunction(1).getFunctionParameters()
    values = list(values)
    values[0] *= 1.001
    changed.getTabulatedFunction(1).setFunctionParameters(xsize, ysize, values)
    assert describe_gb_force(changed) is None
    changed = copy.deepcopy(force)
    params = list(changed.getParticleParameters(0))
    params[6] = (params[6] + 1) % ysize  # a radius index that is not its radius's
    changed.setParticleParameters(0, params)
    assert describe_gb_force(changed) is None


@pytest.mark.parametrize("xml", ["implicit/obc2.xml", "implicit/gbn2.xml"])
def test_salt_and_cutoff_are_refused(peptide, xml):
    assert describe_gb_force(_xml_force(peptide, xml, implicitSolventKappa=1.0 / u.nanometer)) is None
    assert describe_gb_force(_xml_force(peptide, xml, nonbondedMethod=app.CutoffNonPeriodic)) is None


def test_native_with_cutoff_and_prmtop_salt_are_refused(prmtop):
    force = _prmtop_force(prmtop)
    for method in (mm.GBSAOBCForce.CutoffNonPeriodic, mm.GBSAOBCForce.CutoffPeriodic):
        changed = copy.deepcopy(force)
        changed.setNonbondedMethod(method)
        assert describe_gb_force(changed) is None
    salty = _prmtop_force(prmtop, implicitSolventKappa=1.0 / u.nanometer)  # a CustomGBForce with kappa
    assert isinstance(salty, mm.CustomGBForce) and describe_gb_force(salty) is None
    assert describe_gb_force(_prmtop_force(prmtop, implicitSolvent=app.GBn2)) is not None


def test_other_gb_models_are_refused(peptide):
    top, _ = peptide
    for cls in (customgbforces.GBSAHCTForce, customgbforces.GBSAOBC1Force):
        force = cls(SA="ACE")
        for p in cls.getStandardParameters(top):
            force.addParticle([0.1, p[0], p[1]])
        force.finalize()
        assert describe_gb_force(force) is None, cls.__name__
    gbn = customgbforces.GBSAGBnForce(SA="ACE")
    for p in customgbforces.GBSAGBnForce.getStandardParameters(top):
        gbn.addParticle([0.1, p[0], p[1]])
    gbn.finalize()
    assert describe_gb_force(gbn) is None
    for zero in ({"solventDielectric": 0.0}, {"soluteDielectric": 0.0}):  # infinite energies: not computed
        force = customgbforces.GBSAOBC2Force(SA="ACE", **zero)
        force.addParticle([0.1, 0.15, 0.8])
        force.finalize()
        assert describe_gb_force(force) is None
    assert describe_gb_force(mm.HarmonicBondForce()) is None
    assert describe_gb_force(mm.CustomGBForce()) is None
