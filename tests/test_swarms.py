"""The string method with swarms of trajectories: one iteration on deca-alanine through Dask."""

from __future__ import annotations

import numpy as np
import pytest

from openmm_bridge.collective_variables import backbone_names, resolve
from openmm_bridge.errors import PathganInputError
from openmm_bridge.swarms import SwarmsConfig, SwarmsString, smooth, unwrap_string, wrap, write_swarms_result
from openmm_bridge.trajio import mdtraj_topology


def test_swarms_iteration_on_deca_alanine(deca, small_pull, tmp_path):
    from pathgan.data import ReferenceSet

    frames = ReferenceSet.from_smd(small_pull, deca, stride=50).frames[0]  # 5 frames
    top = mdtraj_topology(deca)
    cvs = resolve(top, backbone_names(top))
    cfg = SwarmsConfig(max_iterations=1, equilibration_steps=50, swarm_size=3, swarm_steps=5)
    string = SwarmsString(deca.md_system(None), frames, cvs, cfg)
    z_before = string.z.copy()
    result = string.run(n_workers=2, progress=False)
    assert result.iterations == 1 and result.z.shape == (5, 20)
    assert result.structures.shape == (5, deca.n_atoms, 3) and np.isfinite(result.energies).all()
    np.testing.assert_allclose(result.z[[0, -1]], z_before[[0, -1]], atol=1e-12)  # ends fixed
    assert np.abs(result.z[1:-1] - z_before[1:-1]).max() > 0  # interior images moved
    assert np.all(np.abs(result.z) <= np.pi + 1e-12)
    write_swarms_result(result, cvs, tmp_path, cfg)
    assert (tmp_path / "swarms.json").stat().st_size > 0


def test_unwrap_wrap_smooth():
    periodic = np.array([True, False])
    z = np.array([[3.0, 1.0], [-3.1, 2.0], [-2.9, 3.0]])
    u = unwrap_string(z, periodic)
    np.testing.assert_allclose(u[:, 0], [3.0, 2 * np.pi - 3.1, 2 * np.pi - 2.9])
    np.testing.assert_allclose(wrap(u, periodic), z)
    s = smooth(np.array([[0.0], [1.0], [0.0]]), 0.2)
    np.testing.assert_allclose(s[:, 0], [0.0, 0.8, 0.0])


def test_bad_input(deca, small_pull):
    from pathgan.data import ReferenceSet

    frames = ReferenceSet.from_smd(small_pull, deca, stride=50).frames[0]
    top = mdtraj_topology(deca)
    cvs = resolve(top, ["phi:ALA2", "psi:ALA2"])
    with pytest.raises(PathganInputError, match="at least 3 images"):
        SwarmsString(deca.md_system(None), frames[:2], cvs)
    with pytest.raises(PathganInputError, match="swarm_size must be positive"):
        SwarmsConfig(swarm_size=0).validate()
    same = np.repeat(frames[:1], 3, axis=0)
    same[1] += 0.01
    same[-1] = same[0] + 1.0  # a rigid shift: another structure, the same torsions
    with pytest.raises(PathganInputError, match="same collective variables"):
        SwarmsString(deca.md_system(None), same, cvs)
