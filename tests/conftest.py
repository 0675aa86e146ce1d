"""Shared fixtures: the built deca-alanine and a set of frames of it (all real, all small)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from openmm_bridge.protocol import PullProtocol
from openmm_bridge.pull_folder import read_protocol
from openmm_bridge.system import MolecularSystem
from pathgan.config import TrainingConfig
from pathgan.data import ReferenceSet


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (``-n 2``) each test process takes one of the cores: torch's own threads would oversubscribe them."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


@pytest.fixture(scope="session")
def deca() -> MolecularSystem:
    """Capped deca-alanine, ideal helix, minimised, AMBER ff14SB, vacuum."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MolecularSystem.from_sequence()


def test_frames(system: MolecularSystem, seed: int, n_perturbed: int = 8, n_md: int = 15) -> np.ndarray:
    """Frames (Angstrom) of ``system``: its positions, perturbed copies and frames of a short MD run."""
    from parity import frames_of

    return frames_of(system.system, system.positions, seed, n_perturbed, n_md)


test_frames.__test__ = False  # a helper, not a test


@pytest.fixture(scope="session")
def deca_frames(deca: MolecularSystem) -> np.ndarray:
    """24 frames (Angstrom): the helix, 8 perturbed copies and 15 frames of a short OpenMM MD run."""
    return test_frames(deca, seed=7)


@pytest.fixture(scope="session")
def charmm_peptide(tmp_path_factory) -> tuple[MolecularSystem, list[str]]:
    """Penta-alanine from CHARMM psf + prm + pdb (written from OpenMM's charmm36.xml)."""
    from charmm_files import write_charmm_peptide

    psf, prm, pdb = write_charmm_peptide(tmp_path_factory.mktemp("charmm"))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        system = MolecularSystem.from_charmm(psf, [prm], pdb)
    return system, [str(w.message) for w in record]


@pytest.fixture(scope="session")
def charmm36(tmp_path_factory) -> MolecularSystem:
    """Penta-alanine (free termini) from a PDB with OpenMM's ``charmm36.xml``: UB, CMAP, LJ table, 1-4 bonds."""
    import openmm.app as app

    from openmm_bridge.builder import build_peptide

    ff = app.ForceField("charmm36.xml")
    topology, positions = build_peptide("AAAAA", ff, caps=False)
    pdb = tmp_path_factory.mktemp("charmm36") / "penta.pdb"
    with open(pdb, "w") as fh:
        app.PDBFile.writeFile(topology, positions, fh)
    system = MolecularSystem.from_pdb(pdb, ("charmm36.xml",))
    from openmm_bridge.forcefield_types import minimize_positions

    system.positions = minimize_positions(system.system, system.positions)
    return system


@pytest.fixture(scope="session")
def deca_dir(deca: MolecularSystem, tmp_path_factory) -> Path:
    """The deca-alanine system folder."""
    folder = tmp_path_factory.mktemp("system") / "deca"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deca.save(folder)
    return folder


@pytest.fixture(scope="session")
def small_pull(deca_dir: Path, tmp_path_factory) -> Path:
    """A pull folder with 3 finished replicas of a 20 ps pull (14 -> 24 A), 201 frames each (in this process, no Dask)."""
    from openmm_bridge.pull_folder import prepare_pull
    from openmm_bridge.steered_md import run_replica

    out = tmp_path_factory.mktemp("pull") / "smd"
    protocol = PullProtocol(
        c0_angstrom=14.0,
        c1_angstrom=24.0,
        k_kcal_mol_a2=5.0,
        length_ps=20.0,
        equilibration_ps=0.0,  # all from the minimised helix (the old protocol), as these tests expect
        minimize_steps=20,
        frame_interval_steps=50,
        checkpoint_interval_steps=2000,
    )
    manifest = prepare_pull(deca_dir, out, 3, protocol, base_seed=11)
    for i, seed in enumerate(manifest["seeds"]):
        run_replica(str(deca_dir), manifest["protocol"], seed, str(out), i)
    return out


def ar1_series(phi: float, n: int, seed: int) -> np.ndarray:
    """x_t = phi x_{t-1} + noise, stationary from the start: statistical inefficiency (1 + phi) / (1 - phi)."""
    rng = np.random.default_rng(seed)
    x = np.empty(n)
    x[0] = rng.normal() / np.sqrt(1 - phi**2)
    noise = rng.normal(size=n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + noise[t]
    return x


def tiny(preset: str = "pathgan", **changes) -> TrainingConfig:
    """A training configuration small enough for a test (seconds)."""
    base = {
        "preset": preset,
        "stride": 3,
        "batch_size": 32,
        "pretrain_epochs": 1,
        "epochs": 3,
        "energy_steps": 2,
        "validation_fraction": 0.34,
        "model": {"hidden": [32, 32], "template_bins": 5 if preset != "paper" else 0},
    }
    return TrainingConfig.from_dict({**base, **changes})


@pytest.fixture(scope="session")
def reference(small_pull, deca) -> ReferenceSet:
    """The small pull's frames, every third."""
    return ReferenceSet.from_smd(small_pull, deca, stride=3)


@pytest.fixture(scope="session")
def pull_protocol(small_pull) -> PullProtocol:
    """The small pull's protocol."""
    return read_protocol(small_pull)


#: Tiny settings of the whole pipeline (seconds): 2 short pulls, 3 epochs, small strings and windows.
TINY_RUN = {
    "smd": {
        "replicas": 4,  # 2 to train on, 2 held out (the comparison splits them in halves)
        "length_ps": 2.0,
        "equilibration_ps": 2.0,  # the quick preset's 20 ps would be most of a tiny run's MD
        "frame_interval_steps": 50,
        "checkpoint_interval_steps": 500,
        "minimize_steps": 20,
        "workers": 2,
    },
    "train": {
        "stride": 1,
        "pretrain_epochs": 1,
        "epochs": 2,
        "energy_steps": 2,
        "batch_size": 32,
        "validation_fraction": 0.5,
        "model": {"hidden": [32, 32], "template_bins": 4, "noise_modes": 4, "noise_bins": 4},
    },
    "generate": {"frames": 6, "samples": 4},
    "refine": {"images": 6, "max_iterations": 20},
    "pathcv": {"windows": 3, "window_ps": 0.2, "equilibration_ps": 0.1},
    "compare": {"stride": 2},
}


@pytest.fixture(scope="session", autouse=True)
def _one_local_dask_cluster():
    """Every test's local Dask cluster of 2 workers is one, started once (seconds each otherwise)."""
    from openmm_bridge.execution import shared_local_cluster

    with shared_local_cluster(2):
        yield


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A whole ``pathgan run`` on tiny settings (about 20 s)."""
    from pathgan.pipeline import run_pipeline

    out = tmp_path_factory.mktemp("run") / "tiny"
    run_pipeline(out, "quick", overrides=TINY_RUN, progress=False)
    return out
