"""Steered-MD speed: the pulling machinery against a bare OpenMM loop, and Dask replica throughput.

Run from the repository root::

    python benchmarks/smd.py [--steps 20000] [--replicas 4] [--replica-ps 40]

1. MD steps per second of deca-alanine (vacuum, HBonds, Langevin 2 fs, Reference
   platform), same system, same run, best of ``--repeats``:
   - bare: ``Simulation.step(n)`` with no pulling force and no reporters;
   - pull: + the centroid-distance force, the centre mover (every 10 steps) and the
     pull CSV (every 50 steps);
   - replica: what ``pathgan smd`` runs: + DCD frames every 50 steps and checkpoints.
2. Replicas per minute through Dask with 1 and 2 local workers (cluster start-up excluded).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import openmm.app as app
import openmm.unit as u

from openmm_bridge.context import langevin, make_simulation
from openmm_bridge.execution import dask_client
from openmm_bridge.protocol import PullProtocol
from openmm_bridge.pull_folder import prepare_pull
from openmm_bridge.pulling import PullDataReporter
from openmm_bridge.reporters import AtomicCheckpointReporter, DCDFrameReporter
from openmm_bridge.steered_md import build_simulation, run_replica
from openmm_bridge.system import MolecularSystem


def _steps_per_s(sim, n: int) -> float:
    t0 = time.perf_counter()
    sim.step(n)
    return n / (time.perf_counter() - t0)


def _bare_simulation(system: MolecularSystem, proto: PullProtocol) -> app.Simulation:
    """The pull's Simulation without the pulling force: same System, integrator and platform."""
    integrator = langevin(proto.temperature_k, proto.friction_per_ps, proto.timestep_fs, seed=1)
    return make_simulation(system.topology, system.md_system(proto.constraints), integrator, proto.platform)


def md_speed(system: MolecularSystem, n_steps: int, repeats: int, tmp: Path) -> dict[str, float]:
    """Best steps/s of a bare loop, the pull machinery, and a full replica (see the module docstring)."""
    proto = PullProtocol().with_groups(system)
    best = {"bare": 0.0, "pull": 0.0, "replica": 0.0}
    for r in range(repeats):
        for kind in best:
            if kind == "bare":
                sim, pull = _bare_simulation(system, proto), None
            else:
                sim, pull = build_simulation(system, proto, seed=1)
            sim.context.setPositions(system.positions)
            sim.context.setVelocitiesToTemperature(proto.temperature_k * u.kelvin, 1)
            sim.step(200)
            sim.currentStep = 0
            if pull is not None:
                pull.start(sim.context)
                data = PullDataReporter(tmp / f"{kind}{r}.csv", proto.frame_interval_steps, pull)
                sim.reporters = [pull, data]
                if kind == "replica":
                    frames = DCDFrameReporter(
                        tmp / f"{r}.dcd", proto.frame_interval_steps, system.topology, 0.002
                    )
                    checkpoints = AtomicCheckpointReporter(
                        tmp,
                        proto.checkpoint_interval_steps,
                        lambda _sim, p=pull: {"work_kcal_mol": p.work_kcal_mol},
                    )
                    sim.reporters += [frames, checkpoints]
            best[kind] = max(best[kind], _steps_per_s(sim, n_steps))
    return best


def replica_throughput(system_dir: Path, n_replicas: int, length_ps: float, workers: int, tmp: Path) -> float:
    """Replicas per minute on a local cluster of ``workers`` processes (start-up excluded)."""
    out = tmp / f"pull_w{workers}"
    # no equilibration: this measures the replicas alone (equilibration_ps 0, the old protocol)
    proto = PullProtocol(length_ps=length_ps, equilibration_ps=0.0, checkpoint_interval_steps=5000)
    manifest = prepare_pull(system_dir, out, n_replicas, proto, base_seed=5)
    with dask_client(n_workers=workers) as client:
        client.wait_for_workers(workers)
        t0 = time.perf_counter()
        futures = [
            client.submit(run_replica, str(system_dir), manifest["protocol"], s, str(out), i, pure=False)
            for i, s in enumerate(manifest["seeds"])
        ]
        client.gather(futures)
        wall = time.perf_counter() - t0
    return n_replicas / wall * 60.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=4)
    parser.add_argument("--replica-ps", type=float, default=40.0)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        system = MolecularSystem.from_sequence()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        speed = md_speed(system, args.steps, args.repeats, tmp)
        print(f"MD speed, deca-alanine, Reference platform, {args.steps} steps, best of {args.repeats}")
        print(f"{'run':<10} {'steps/s':>9} {'vs bare':>8}")
        for kind, v in speed.items():
            print(f"{kind:<10} {v:9.0f} {v / speed['bare']:8.3f}")
        print(
            f"pulling machinery cost: {100 * (1 - speed['pull'] / speed['bare']):.1f}% "
            f"(full replica with DCD + checkpoints: {100 * (1 - speed['replica'] / speed['bare']):.1f}%)"
        )
        system.save(tmp / "deca")
        rates = {w: replica_throughput(tmp / "deca", args.replicas, args.replica_ps, w, tmp) for w in (1, 2)}
        print(f"\nDask replica throughput, {args.replicas} replicas of {args.replica_ps:g} ps")
        for w, rate in rates.items():
            print(f"{w} worker(s): {rate:6.2f} replicas/min")
        print(f"speed-up with 2 workers: {rates[2] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
