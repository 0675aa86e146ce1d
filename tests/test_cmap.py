"""CMAPTerm against OpenMM's Reference platform: CHARMM36 peptides, float64, energies and forces."""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass

import numpy as np
import openmm as mm
import openmm.app as app
import pytest
import torch
from parity import force_alone, frames_of, openmm_energies_forces, torch_energies_forces

from openmm_bridge.builder import build_peptide
from pathgan.cmap import CMAPTerm, periodic_spline_derivative_matrix

E_TOL = 2e-3  # kcal/mol
F_TOL = 1e-2  # kcal/mol/A


@dataclass
class Peptide:
    """A CHARMM36 peptide: its CMAP force (a copy, owned), the term, frames (Angstrom), a System of the force alone."""

    force: mm.CMAPTorsionForce
    term: CMAPTerm
    frames: np.ndarray
    reference: mm.System


@pytest.fixture(scope="module")
def charmm36_ff() -> app.ForceField:
    return app.ForceField("charmm36.xml")


@pytest.fixture(scope="module", params=["AAAAA", "AGPAA"])
def peptide(request, charmm36_ff: app.ForceField) -> Peptide:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        topology, positions = build_peptide(request.param, charmm36_ff, caps=False)
    system = charmm36_ff.createSystem(topology, nonbondedMethod=app.NoCutoff, constraints=None)
    (force,) = [f for f in system.getForces() if isinstance(f, mm.CMAPTorsionForce)]
    frames = frames_of(system, positions, seed=5)
    return Peptide(copy.deepcopy(force), CMAPTerm.from_force(force), frames, force_alone(system, force))


def assert_parity(peptide: Peptide, frames: np.ndarray) -> None:
    e_ref, f_ref = openmm_energies_forces(peptide.reference, frames)
    e, f = torch_energies_forces(peptide.term, frames)
    assert np.isfinite(f).all()
    de, df = np.abs(e - e_ref).max(), np.abs(f - f_ref).max()
    assert de < E_TOL, f"energy deviation {de:.3g} kcal/mol"
    assert df < F_TOL, f"force deviation {df:.3g} kcal/mol/A"


def _dihedral(x: np.ndarray, quad) -> float:
    """IUPAC dihedral (radians) of atoms ``quad`` of x (n_atoms, 3)."""
    b1, b2, b3 = (x[quad[k + 1]] - x[quad[k]] for k in range(3))
    n1, n2 = np.cross(b1, b2), np.cross(b2, b3)
    return math.atan2(np.linalg.norm(b2) * b1 @ n2, n1 @ n2)


def _set_dihedral(x: np.ndarray, quad, target: float) -> np.ndarray:
    """x with the last atom of ``quad`` rotated about the axis of its middle bond so the dihedral is ``target``."""
    j, k, last = x[quad[1]], x[quad[2]], quad[3]
    axis = (k - j) / np.linalg.norm(k - j)
    theta = target - _dihedral(
        x, quad
    )  # a right-handed turn of the last atom about j->k adds to the dihedral
    r = x[last] - k
    rotated = (
        r * math.cos(theta) + np.cross(axis, r) * math.sin(theta) + axis * (axis @ r) * (1 - math.cos(theta))
    )
    out = x.copy()
    out[last] = k + rotated
    return out


def test_term_shape_and_buffers(peptide: Peptide) -> None:
    term = peptide.term
    assert term.n_torsions == peptide.force.getNumTorsions() > 0
    sizes = [peptide.force.getMapParameters(k)[0] for k in range(peptide.force.getNumMaps())]
    assert term.coefficients.shape == (sum(s * s for s in sizes), 16)
    assert {"coefficients", "torsions", "map_index"} <= set(term.state_dict())
    assert term(torch.tensor(peptide.frames[:3])).shape == (3,)


def test_parity_with_openmm(peptide: Peptide) -> None:
    """Helix, perturbed copies and MD frames (24): energies and forces at every atom agree."""
    assert len(peptide.frames) >= 20
    assert_parity(peptide, peptide.frames)


def test_frames_cover_several_cells(peptide: Peptide) -> None:
    a, b = peptide.term.angles(torch.tensor(peptide.frames))
    s, t = peptide.term.cells(a, b)
    maps = peptide.term.map_index.expand_as(s)
    cells = set(zip(maps.ravel().tolist(), s.ravel().tolist(), t.ravel().tolist(), strict=True))
    assert len(cells) > peptide.term.n_torsions  # more cells than torsion pairs: frames move between cells


def test_grid_boundaries(peptide: Peptide) -> None:
    """Torsions near the wrap of the grid (A or B near 0 = 2 pi), near +-pi and on cell edges agree."""
    size = peptide.force.getMapParameters(0)[0]
    delta = 2 * math.pi / size
    x0 = peptide.frames[0]
    targets = [
        (math.pi - 1e-7, 1.0),
        (-math.pi + 1e-7, -1.0),
        (-1e-9, 0.5),
        (1e-9, -0.5),
        (-1e-4, -1e-4),
        (2.0, -1e-9),
        (-2.0, 1e-9),
        (math.pi - 1e-7, -math.pi + 1e-7),
        (3 * delta + 1e-10, -5 * delta - 1e-10),
        (-7 * delta + 1e-10, 11 * delta - 1e-10),
    ]
    idx = peptide.term.torsions.numpy()
    frames = []
    for pair in range(peptide.term.n_torsions):
        for a, b in targets:
            x = _set_dihedral(_set_dihedral(x0, idx[pair, :4], a), idx[pair, 4:], b)
            assert abs(_dihedral(x, idx[pair, :4]) - a) < 1e-8 and abs(_dihedral(x, idx[pair, 4:]) - b) < 1e-8
            frames.append(x)
    frames = np.array(frames)
    angles = peptide.term.angles(torch.tensor(frames))
    s, t = peptide.term.cells(*angles)
    assert {0, size - 1} <= set(s.ravel().tolist()) and {0, size - 1} <= set(t.ravel().tolist())
    assert_parity(peptide, frames)


def test_same_frame_twice_gives_identical_energies(peptide: Peptide) -> None:
    x = torch.tensor(peptide.frames[[20, 20, 3]])
    energy = peptide.term(x)
    assert energy[0].item() == energy[1].item()
    assert torch.allclose(energy[:1], peptide.term(x[:1]), rtol=0, atol=1e-12)


def test_float32_copy_agrees(peptide: Peptide) -> None:
    term32 = copy.deepcopy(peptide.term).to(torch.float32)
    assert term32.coefficients.dtype == torch.float32 and term32.torsions.dtype == torch.int64
    x = torch.tensor(peptide.frames)
    e32 = term32(x.float())
    assert e32.dtype == torch.float32
    assert torch.allclose(e32.double(), peptide.term(x), rtol=0, atol=1e-3)


def test_spline_derivative_matrix() -> None:
    """The periodic spline's knot slopes of a smooth periodic function are close to its derivative."""
    x = np.arange(24) * 2 * math.pi / 24
    d = periodic_spline_derivative_matrix(24)
    np.testing.assert_allclose(d @ np.sin(2 * x), 2 * np.cos(2 * x), atol=2e-3)
    np.testing.assert_allclose(d @ np.ones(24), 0.0, atol=1e-12)
