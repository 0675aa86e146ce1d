"""Steered MD along a torsion and an RMSD: exact work from OpenMM's energy, the coordinate in pull.csv, PMF."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import openmm.app as app
import openmm.unit as u
import pytest

from openmm_bridge.errors import PathganInputError
from openmm_bridge.pmf_outputs import analyse_pulls, load_work, read_pull_csv
from openmm_bridge.protocol import PullProtocol
from openmm_bridge.pull_coordinates import kabsch_rmsd
from openmm_bridge.pull_folder import prepare_pull, replica_dir
from openmm_bridge.pulling import COORDINATE_COLUMNS
from openmm_bridge.steered_md import build_simulation, run_replica
from openmm_bridge.system import MolecularSystem

#: 2 ps (1000 steps) with a row at every move of the centre, so the work can be rebuilt exactly.
SHORT = {
    "length_ps": 2.0,
    "equilibration_ps": 0.0,  # from the minimised helix (the old protocol)
    "minimize_steps": 20,
    "frame_interval_steps": 10,
    "update_interval_steps": 10,
    "checkpoint_interval_steps": 500,
}
#: phi of ALA2 from the helix (-60 deg) across 180 to +160 deg (= -200).
TORSION = PullProtocol(
    c0_angstrom=-60.0,
    c1_angstrom=-200.0,
    k_kcal_mol_a2=200.0,
    coordinate={"kind": "torsion", "torsion": "phi:ALA2"},
    **SHORT,
)


def _pull(system_dir: Path, out: Path, protocol: PullProtocol, n: int = 1) -> list[dict]:
    manifest = prepare_pull(system_dir, out, n, protocol, base_seed=3)
    return [
        run_replica(str(system_dir), manifest["protocol"], seed, str(out), i)
        for i, seed in enumerate(manifest["seeds"])
    ]


def _rebuilt_work(c_openmm: np.ndarray, u_of) -> np.ndarray:
    """Sum over moves of U(x_n, c_n) - U(x_n, c_{n-1}) (each row is written just after a move)."""
    return np.concatenate([[0.0], np.cumsum(u_of(c_openmm[1:]) - u_of(c_openmm[:-1]))])


@pytest.fixture(scope="module")
def torsion_pull(deca_dir, tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("torsion") / "pull"
    return out, _pull(deca_dir, out, TORSION, n=2)


def test_torsion_pull_records_the_torsion_and_exact_work(torsion_pull, deca):
    out, results = torsion_pull
    manifest = json.loads((out / "smd.json").read_text())
    assert manifest["protocol"]["coordinate"] == {"kind": "torsion", "torsion": "phi:ALA2"}
    assert manifest["protocol"]["group_a"] is None
    coordinate = TORSION.resolve_coordinate(deca)
    for i, r in enumerate(results):
        path = replica_dir(out, i) / "pull.csv"
        assert tuple(path.read_text().splitlines()[0].split(",")) == COORDINATE_COLUMNS
        t = read_pull_csv(path)
        assert len(t["step"]) == TORSION.n_frames == 101
        np.testing.assert_allclose(t["centre"], -60.0 - 140.0 * t["step"] / 1000, atol=1e-5)
        theta, c = np.radians(t["coordinate"]), np.radians(t["centre"])

        def energy(cc, th=theta[1:]):
            d = th - cc
            d = d + 2 * np.pi * np.floor((np.pi - d) / (2 * np.pi))
            return 0.5 * TORSION.k_kcal_mol_a2 * d**2

        # W from OpenMM's own energy differences at each move equals this, row by row
        rebuilt = _rebuilt_work(c, energy)
        np.testing.assert_allclose(rebuilt, t["work_kcal_mol"], atol=2e-3 + 1e-4 * np.abs(rebuilt).max())
        assert abs(t["work_kcal_mol"][-1]) > 1.0
        # the torsion followed the centre across 180 degrees
        lag = (t["coordinate"] - t["centre"] + 180.0) % 360.0 - 180.0
        assert np.abs(lag[-20:]).max() < 30.0
        assert r["final_distance_angstrom"] is None
        assert r["final_coordinate"] == pytest.approx(t["coordinate"][-1], abs=1e-5)
    # the force in OpenMM units: radians
    sim, pull = build_simulation(deca, PullProtocol.from_dict(manifest["protocol"]), 1)
    assert sim.context.getParameter("pull_centre") == pytest.approx(math.radians(-60.0))
    assert pull.coordinate == coordinate and pull.k_kcal_mol_a2 == pytest.approx(200.0)
    # OpenMM's energy of the force is the wrapped harmonic the work was rebuilt with
    sim.context.setPositions(deca.positions)
    sim.context.setParameter("pull_centre", math.radians(170.0))
    energy = sim.context.getState(getEnergy=True, groups={31}).getPotentialEnergy()
    phi = pull.value(deca.positions.value_in_unit(u.nanometer))
    d = math.radians((phi - 170.0 + 180.0) % 360.0 - 180.0)
    assert energy.value_in_unit(u.kilocalorie_per_mole) == pytest.approx(0.5 * 200.0 * d**2, rel=1e-6)


def test_torsion_pmf_is_labelled_in_degrees(torsion_pull, tmp_path):
    out, _ = torsion_pull
    data = load_work(out)
    assert data.kind == "torsion" and data.unit == "deg"
    assert np.abs(data.distance_angstrom - data.centre_angstrom).max() < 180.0  # unwrapped
    meta, pmf, _, z, g_z = analyse_pulls(out, tmp_path, n_bootstrap=5, seed=1)
    assert meta["coordinate"] == {"kind": "torsion", "unit": "deg"}
    assert "torsion_deg" in meta["pmf_along_coordinate"]
    header = (tmp_path / "pmf_coordinate.csv").read_text().splitlines()[0]
    assert header == "torsion_deg,pmf_kcal_mol"
    assert np.all(np.diff(z) == 5.0) and np.isfinite(g_z).any()
    assert (tmp_path / "pmf.png").exists() and np.isfinite(pmf.cumulant).all()


def test_another_coordinate_is_refused_for_an_existing_folder(torsion_pull, deca_dir):
    out, _ = torsion_pull
    other = TORSION.replace(coordinate={"kind": "torsion", "torsion": "psi:ALA2"})
    with pytest.raises(PathganInputError, match="another protocol.*coordinate"):
        prepare_pull(deca_dir, out, 2, other, base_seed=3)
    distance = TORSION.replace(coordinate=None, c0_angstrom=14.0, c1_angstrom=20.0)
    with pytest.raises(PathganInputError, match="another protocol"):
        prepare_pull(deca_dir, out, 2, distance, base_seed=3)


def test_rmsd_pull_moves_towards_the_target(deca, deca_dir, tmp_path):
    """Targeted MD: the CA RMSD to a stretched helix is pulled down; work rebuilt from OpenMM's energy."""
    xyz = deca.positions.value_in_unit(u.angstrom)
    xyz = np.asarray(xyz)
    ca = [a.index for a in deca.topology.atoms() if a.name == "CA"]
    axis = xyz[ca[-1]] - xyz[ca[0]]
    axis /= np.linalg.norm(axis)
    along = (xyz - xyz.mean(0)) @ axis
    target = xyz + 0.8 * along[:, None] * axis  # the helix stretched by 80 % along its axis
    with open(tmp_path / "end.pdb", "w") as f:
        app.PDBFile.writeFile(deca.topology, target * u.angstrom, f, keepIds=True)
    start = float(kabsch_rmsd(xyz[None, ca], target[ca])[0])
    assert start > 2.5
    protocol = PullProtocol(
        c0_angstrom=start,
        c1_angstrom=0.5,
        k_kcal_mol_a2=50.0,
        coordinate={"kind": "rmsd", "target": "end.pdb", "atoms": "name CA"},
        **SHORT,
    ).with_groups(deca, base_dir=tmp_path)
    assert protocol.coordinate["target"] == str((tmp_path / "end.pdb").resolve())
    out = tmp_path / "pull"
    (result,) = _pull(deca_dir, out, protocol)
    t = read_pull_csv(replica_dir(out, 0) / "pull.csv")
    r, c = t["coordinate"], t["centre"]
    assert r[-10:].mean() < r[0] - 1.0 and r[-1] < 2.0
    assert result["final_coordinate"] == pytest.approx(r[-1], abs=1e-5)
    rebuilt = _rebuilt_work(c, lambda cc: 0.5 * protocol.k_kcal_mol_a2 * (r[1:] - cc) ** 2)
    np.testing.assert_allclose(rebuilt, t["work_kcal_mol"], atol=2e-3 + 1e-4 * np.abs(rebuilt).max())


def test_coordinate_and_groups_exclude_each_other(deca):
    with pytest.raises(PathganInputError, match="either 'coordinate' or 'group_a'"):
        PullProtocol.from_dict({"coordinate": {"kind": "torsion", "torsion": "phi:ALA2"}, "group_a": [1]})
    with pytest.raises(PathganInputError, match="not a torsion of this system"):
        PullProtocol(coordinate={"kind": "torsion", "torsion": "phi:GLY9"}).with_groups(deca)
    assert "coordinate" not in PullProtocol().to_dict()  # old smd.json files compare equal
    assert PullProtocol().resolve_coordinate(deca).label == "CA(1)-CA(N) distance"
    assert isinstance(deca, MolecularSystem)
