"""Relaxation of generated structures: geometry repaired in batch, stereocentres guarded, energies unchanged."""

from __future__ import annotations

import numpy as np
import torch

from openmm_bridge.stereochemistry import chirality_changes
from pathgan.compare import bond_rms_deviation
from pathgan.potential import TorchMDPotential
from pathgan.relax import ChiralityGuard, RelaxSettings, relax


def test_distorted_frames_are_repaired_and_keep_their_place(deca, deca_frames):
    rng = np.random.default_rng(0)
    x = deca_frames[:6] + rng.normal(scale=0.15, size=deca_frames[:6].shape)
    pot = TorchMDPotential.from_system(deca)
    before = bond_rms_deviation(x, deca.system)
    out = relax(pot, torch.tensor(x), torch.zeros(6), guard=ChiralityGuard.of_system(deca)).numpy()
    after = bond_rms_deviation(out, deca.system)
    assert np.all(after < 0.03) and np.all(before > 0.1)
    e_before = pot(torch.tensor(x))["total"].numpy()
    assert np.all(pot(torch.tensor(out))["total"].numpy() < e_before)
    # a repair, not a minimisation: the frames barely move as a whole
    assert np.sqrt(((out - deca_frames[:6]) ** 2).sum(-1).mean(-1)).max() < 0.3


def test_the_guard_keeps_a_pushed_centre_on_its_side(deca):
    x = deca.positions_angstrom().copy()
    res = list(deca.topology.residues())[3]
    a = {atom.name: atom.index for atom in res.atoms()}
    # HA pushed through CA towards where CB is: without the guard the centre inverts
    x[a["HA"]] = x[a["CA"]] + 0.6 * (x[a["CB"]] - x[a["CA"]]) + 0.3 * (x[a["N"]] - x[a["CA"]])
    x[a["CB"]] = x[a["CA"]] - 0.9 * (x[a["CB"]] - x[a["CA"]])
    pot = TorchMDPotential.from_system(deca)
    guard = ChiralityGuard.of_system(deca)
    settings = RelaxSettings(local_steps=200, full_steps=100)
    guarded = relax(pot, torch.tensor(x[None]), torch.zeros(1), settings, guard).numpy()
    free = relax(pot, torch.tensor(x[None]), torch.zeros(1), settings).numpy()
    _, inverted_free = chirality_changes(deca.topology, free, deca.positions_angstrom())
    _, inverted_guarded = chirality_changes(deca.topology, guarded, deca.positions_angstrom())
    assert inverted_free.sum() == 1 and inverted_guarded.sum() == 0


def test_the_guard_is_zero_on_the_systems_own_structure(deca):
    guard = ChiralityGuard.of_system(deca)
    assert len(guard.atoms) == 10
    assert float(guard(torch.tensor(deca.positions_angstrom()[None]))[0]) == 0.0
    mirrored = deca.positions_angstrom()[None] * np.array([-1.0, 1.0, 1.0])
    assert float(guard(torch.tensor(mirrored))[0]) > 10 * guard.k  # every centre on the wrong side
