"""Pull coordinates (distance, torsion, RMSD) on deca-alanine: resolution, errors, values, OpenMM forces."""

from __future__ import annotations

import copy
import math

import mdtraj as md
import numpy as np
import openmm as mm
import openmm.unit as u
import pytest
from parity import force_alone

from openmm_bridge.collective_variables import available_torsions
from openmm_bridge.errors import PathganInputError
from openmm_bridge.pull_coordinates import PullCoordinate, resolve_coordinate
from openmm_bridge.pulling import check_own_group
from openmm_bridge.trajio import mdtraj_topology, write_trajectory
from openmm_bridge.units import kcal_a2_to_kj_nm2, kcal_to_kj
from openmm_bridge.work import ParameterWork

K = 3.0  # kcal/mol/A^2 or kcal/mol/rad^2


@pytest.fixture(scope="module")
def top(deca) -> md.Topology:
    return mdtraj_topology(deca)


@pytest.fixture(scope="module")
def target_dir(deca, deca_frames, top, tmp_path_factory):
    """A folder with ``end.pdb``: the last MD frame of ``deca_frames``."""
    folder = tmp_path_factory.mktemp("target")
    write_trajectory(deca_frames[-1], top, folder / "end.pdb")
    return folder


@pytest.fixture(scope="module")
def coordinates(top, target_dir) -> dict[str, PullCoordinate]:
    specs = {
        "distance": {"kind": "distance", "group_a": "resid 1 and name CA", "group_b": "resid 10 and name CA"},
        "omega": {"kind": "torsion", "torsion": "omega:ALA3"},  # near 180 degrees: values on both sides
        "phi": {"kind": "torsion", "atoms": [40, 46, 48, 50]},
        "rmsd": {"kind": "rmsd", "target": "end.pdb", "atoms": "backbone"},
    }
    return {key: resolve_coordinate(spec, top, base_dir=target_dir) for key, spec in specs.items()}


def _traj(frames: np.ndarray, top: md.Topology) -> md.Trajectory:
    return md.Trajectory((frames / 10.0).astype(np.float32), top)


# --- resolution -------------------------------------------------------------------------------


def test_resolve_distance(top, coordinates):
    c = coordinates["distance"]
    assert c.kind == "distance" and c.unit == "A" and not c.periodic
    assert c.atoms == ((8,), (98,))
    assert c.label == "distance(resid 1 and name CA | resid 10 and name CA)"
    by_index = resolve_coordinate({"kind": "distance", "group_a": [8, 10], "group_b": [98]}, top)
    assert by_index.atoms == ((8, 10), (98,))
    assert by_index.label == "distance([8, 10] | [98])"


def test_resolve_torsion(top, coordinates):
    c = coordinates["omega"]
    assert c.kind == "torsion" and c.unit == "deg" and c.periodic
    assert c.atoms == (available_torsions(top)["omega:ALA3"],)
    assert c.label == "torsion omega:ALA3"
    assert coordinates["phi"].atoms == (available_torsions(top)["phi:ALA6"],)
    assert coordinates["phi"].label == "torsion 40-46-48-50"


def test_resolve_rmsd(top, coordinates, deca_frames, target_dir):
    c = coordinates["rmsd"]
    assert c.kind == "rmsd" and c.unit == "A" and not c.periodic
    assert c.atoms == (tuple(top.select("backbone")),)
    assert c.label == "rmsd to end.pdb (backbone)"
    np.testing.assert_allclose(c.reference_angstrom, deca_frames[-1], atol=6e-4)  # PDB: 3 decimals
    assert not c.reference_angstrom.flags.writeable
    heavy = resolve_coordinate({"kind": "rmsd", "target": str(target_dir / "end.pdb")}, top)
    assert heavy.atoms == (tuple(top.select("not element H")),)
    assert heavy.label.endswith("(not element H)")


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("phi:ALA2", r"^smd\.coordinate: expected a mapping with a 'kind'"),
        (
            {"kind": "angle"},
            r"^smd\.coordinate\.kind: expected one of \['distance', 'torsion', 'rmsd'\], got 'angle'",
        ),
        (
            {"kind": "distance", "group_a": [1], "group_b": [2], "group_c": [3]},
            r"^smd\.coordinate: unknown settings \['group_c'\] for a distance",
        ),
        ({"kind": "distance", "group_a": [1]}, r"^smd\.coordinate\.group_b: missing"),
        (
            {"kind": "distance", "group_a": "foo bar", "group_b": [2]},
            r"^smd\.coordinate\.group_a: invalid mdtraj selection 'foo bar' \(Expected end of text",
        ),
        (
            {"kind": "distance", "group_a": [1], "group_b": "resid 0 and name CA"},
            r"^smd\.coordinate\.group_b: the selection 'resid 0 and name CA' matches no atom of the system \(112 atoms\)",
        ),
        (
            {"kind": "distance", "group_a": "resid 1", "group_b": "name CA"},
            r"^smd\.coordinate: group_a and group_b share atoms \[8\]",
        ),
        (
            {"kind": "distance", "group_a": [1, 500], "group_b": [2]},
            r"^smd\.coordinate\.group_a: atom indices \[500\] are out of range \(the system has 112 atoms",
        ),
        (
            {"kind": "distance", "group_a": [1, 1], "group_b": [2]},
            r"group_a: atom indices \[1, 1\] repeat an atom",
        ),
        ({"kind": "distance", "group_a": [], "group_b": [2]}, r"group_a: the list of atom indices is empty"),
        ({"kind": "distance", "group_a": 3, "group_b": [2]}, r"group_a: expected an atom group as an mdtraj"),
        (
            {"kind": "torsion", "torsion": "phi:ALA1"},
            r"^smd\.coordinate\.torsion: 'phi:ALA1' is not a torsion of this system \(known: phi:ALA2",
        ),
        ({"kind": "torsion"}, r"^smd\.coordinate: give either 'torsion'"),
        ({"kind": "torsion", "torsion": "phi:ALA2", "atoms": [4, 6, 8, 10]}, r"give either 'torsion'"),
        (
            {"kind": "torsion", "atoms": [4, 6, 8]},
            r"^smd\.coordinate\.atoms: a torsion takes a list of 4 atom indices, got \[4, 6, 8\]",
        ),
        (
            {"kind": "torsion", "atoms": [4, 6, 8, 112]},
            r"^smd\.coordinate\.atoms: atom indices \[112\] are out of range",
        ),
        ({"kind": "torsion", "atoms": [4, 6, 8, 4]}, r"^smd\.coordinate\.atoms: .* repeat an atom"),
        ({"kind": "rmsd"}, r"^smd\.coordinate\.target: missing \(a PDB file"),
        (
            {"kind": "rmsd", "target": "nowhere.pdb"},
            r"^smd\.coordinate\.target: target structure .*nowhere\.pdb not found",
        ),
        (
            {"kind": "rmsd", "target": "end.pdb", "atoms": "resid 1 and name CA"},
            r"^smd\.coordinate\.atoms: an RMSD after superposition needs at least 3 atoms, got 1",
        ),
        (
            {"kind": "rmsd", "target": "end.pdb", "atoms": "name QQ"},
            r"^smd\.coordinate\.atoms: the selection 'name QQ' matches no atom",
        ),
    ],
)
def test_spec_errors(top, target_dir, spec, message):
    with pytest.raises(PathganInputError, match=message):
        resolve_coordinate(spec, top, base_dir=target_dir)


def test_where_names_the_setting(top):
    with pytest.raises(PathganInputError, match=r"^run\.smd\.coordinate\.torsion: 'chi1:ALA2'"):
        resolve_coordinate({"kind": "torsion", "torsion": "chi1:ALA2"}, top, where="run.smd.coordinate")


def test_rmsd_target_must_match_the_system(top, deca_frames, tmp_path):
    spec = {"kind": "rmsd", "target": "other.pdb"}
    # fewer atoms
    write_trajectory(deca_frames[-1][:100], top.subset(range(100)), tmp_path / "other.pdb")
    with pytest.raises(
        PathganInputError, match=r"target: .*other\.pdb has 100 atoms, but the system has 112"
    ):
        resolve_coordinate(spec, top, base_dir=tmp_path)
    # same count, one atom renamed
    renamed = copy.deepcopy(top)
    renamed.atom(12).name = "HX"
    write_trajectory(deca_frames[-1], renamed, tmp_path / "other.pdb")
    atom = top.atom(12)
    with pytest.raises(
        PathganInputError,
        match=rf"other\.pdb does not match the system: atom 6 of residue ALA2 \(index 1\) is HX in the file but {atom.name} in the system",
    ):
        resolve_coordinate(spec, top, base_dir=tmp_path)
    # two models
    write_trajectory(deca_frames[-2:], top, tmp_path / "other.pdb")
    with pytest.raises(PathganInputError, match=r"other\.pdb holds 2 models; give a single target structure"):
        resolve_coordinate(spec, top, base_dir=tmp_path)
    # not a PDB at all
    (tmp_path / "other.pdb").write_bytes(b"\x00\x01 not a pdb")
    with pytest.raises(PathganInputError, match=r"smd\.coordinate\.target: .*other\.pdb"):
        resolve_coordinate(spec, top, base_dir=tmp_path)


def test_coordinate_checks_its_own_shape():
    with pytest.raises(PathganInputError, match="a torsion takes 4 atoms"):
        PullCoordinate("torsion", ((1, 2, 3),), "t")
    with pytest.raises(PathganInputError, match="an RMSD needs reference positions"):
        PullCoordinate("rmsd", ((1, 2, 3),), "r")
    with pytest.raises(PathganInputError, match="unknown kind 'angle'"):
        PullCoordinate("angle", ((1, 2, 3),), "a")
    with pytest.raises(PathganInputError, match="negative force constant"):
        PullCoordinate("distance", ((0,), (1,)), "d").force(-1.0, 3.0)


# --- values against mdtraj --------------------------------------------------------------------


def test_values_match_mdtraj(coordinates, deca_frames, top, target_dir):
    traj = _traj(deca_frames, top)
    c = coordinates["distance"]
    centres = [md.compute_center_of_geometry(traj.atom_slice(list(g))) * 10.0 for g in c.atoms]
    np.testing.assert_allclose(
        c.values(deca_frames), np.linalg.norm(centres[1] - centres[0], axis=1), atol=1e-4
    )

    for key in ("omega", "phi"):
        c = coordinates[key]
        ours = c.values(deca_frames)
        theirs = np.degrees(md.compute_dihedrals(traj, [c.atoms[0]])[:, 0])
        assert ours.min() > -180.0 and ours.max() <= 180.0
        np.testing.assert_allclose((ours - theirs + 180.0) % 360.0 - 180.0, 0.0, atol=1e-3)
    omega = coordinates["omega"].values(deca_frames)
    assert (omega > 170).any() and (omega < -170).any()  # both sides of +-180 among the frames

    c = coordinates["rmsd"]
    target = md.load_pdb(str(target_dir / "end.pdb"))
    theirs = md.rmsd(traj, target, 0, atom_indices=list(c.atoms[0])) * 10.0  # QCP, float32
    np.testing.assert_allclose(c.values(deca_frames), theirs, atol=2e-3)
    assert c.values(deca_frames[-1]).shape == (1,)  # one frame (n_atoms, 3) is accepted too
    with pytest.raises(PathganInputError, match=r"must have shape \(n_frames, n_atoms, 3\)"):
        c.values(deca_frames[..., :2])
    with pytest.raises(PathganInputError, match="positions of 100 atoms, but the target has 112"):
        c.values(deca_frames[:, :100])


def test_rmsd_is_invariant_under_rigid_motion(coordinates, deca_frames):
    c = coordinates["rmsd"]
    angle = 0.7
    rot = np.array([[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0], [0, 0, 1]])
    moved = deca_frames @ rot.T + np.array([3.0, -2.0, 5.0])
    np.testing.assert_allclose(c.values(moved), c.values(deca_frames), atol=1e-10)
    # a mirror image is not superposable: its RMSD is not zero
    assert c.values(c.reference_angstrom * [-1.0, 1.0, 1.0])[0] > 0.5
    assert c.values(c.reference_angstrom)[0] < 1e-6


# --- the OpenMM force -------------------------------------------------------------------------


def _energies_and_derivatives(
    c: PullCoordinate, masses: mm.System, frames: np.ndarray, centres: list[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Energies (n_centres, n_frames) kcal/mol and dU/dcentre in OpenMM's units, Reference platform."""
    ctx = mm.Context(
        force_alone(masses, c.force(K, centres[0])),
        mm.VerletIntegrator(0.001),
        mm.Platform.getPlatformByName("Reference"),
    )
    energies, derivatives = [], []
    for centre in centres:
        ctx.setParameter("pull_centre", c.centre_to_openmm(centre))
        for x in frames:
            ctx.setPositions(x / 10.0)
            state = ctx.getState(getEnergy=True, getParameterDerivatives=True)
            energies.append(state.getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole))
            derivatives.append(state.getEnergyParameterDerivatives()["pull_centre"])
    shape = (len(centres), len(frames))
    return np.reshape(energies, shape), np.reshape(derivatives, shape)


CENTRES = {
    "distance": [10.0, 14.0, 17.5],
    "omega": [170.0, 180.0, -179.0, -150.0, 100.0, 200.0, -300.0],  # either side of and beyond +-180
    "phi": [-60.0, 150.0, 180.0, -170.0, 250.0],
    "rmsd": [0.0, 0.3, 2.5],
}


@pytest.mark.parametrize("key", list(CENTRES))
def test_force_energy_and_centre_derivative(key, coordinates, deca, deca_frames):
    c = coordinates[key]
    centres = CENTRES[key]
    energies, derivatives = _energies_and_derivatives(c, deca.system, deca_frames, centres)
    values = c.values(deca_frames)
    diff = values[None] - np.array(centres)[:, None]
    if c.periodic:
        diff = np.radians((diff + 180.0) % 360.0 - 180.0)  # wrapped, radians
        per_kj = kcal_to_kj(K)  # dU/dcentre in kJ/mol/rad
    else:
        per_kj = kcal_a2_to_kj_nm2(K) / 10.0  # dU/dcentre in kJ/mol/nm: k (kJ/mol/nm^2) times d in nm
    np.testing.assert_allclose(energies, 0.5 * K * diff**2, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(derivatives, -per_kj * diff, rtol=1e-9, atol=1e-8)


def test_torsion_energy_is_continuous_across_the_far_side(coordinates, deca, deca_frames):
    c = coordinates["phi"]
    value = float(c.values(deca_frames[0])[0])
    far = value + 180.0  # the restraint's maximum: pi^2 k / 2 from either side
    energies, _ = _energies_and_derivatives(c, deca.system, deca_frames[:1], [far - 1e-6, far + 1e-6])
    np.testing.assert_allclose(energies[:, 0], 0.5 * K * math.pi**2, rtol=1e-6)


@pytest.mark.parametrize("key", ["omega", "rmsd"])
def test_exact_work_with_the_deca_system(key, coordinates, deca, deca_frames):
    """In the deca System, in its own group 31, the work machinery reads the force's energy change."""
    c = coordinates[key]
    system = copy.deepcopy(deca.system)
    c0, c1 = CENTRES[key][0], CENTRES[key][-1]
    force = c.force(K, c0)
    system.addForce(force)
    check_own_group(system, force)
    assert force.getForceGroup() == 31
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(deca_frames[3] / 10.0)
    work = ParameterWork(31, "pull_centre")
    value = c.values(deca_frames[3])[0]

    def energy(centre: float) -> float:
        d = value - centre
        d = math.radians((d + 180.0) % 360.0 - 180.0) if c.periodic else d
        return 0.5 * K * d**2

    assert work.energy_kcal_mol(ctx) == pytest.approx(energy(c0), rel=1e-9)
    dw = work.move(ctx, c.centre_to_openmm(c1))
    assert dw == pytest.approx(energy(c1) - energy(c0), rel=1e-8, abs=1e-10)
