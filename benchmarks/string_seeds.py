"""What a generated path is worth as a seed: zero-temperature string cost from three starting paths.

Run from the repository root with a pull folder and a generated path of the same system::

    python benchmarks/string_seeds.py --path runs/path --reference runs/quick_smd [--images 20]

Three strings with the same end states and the same settings, in one run:

- generated: the path's frames (``pathgan generate``);
- linear: linear interpolation (Cartesian, after superposition) between the end states;
- steered MD: evenly spaced frames of the first reference replica.

The end states are the generated path's first and last frames after a restrained
minimisation (their end-to-end distance held); they replace the ends of the other two
paths. Printed: iterations and OpenMM force evaluations to convergence, the ratios to the
generated path's, and the highest energy along each converged path above its start.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from openmm_bridge.export import relax_on_path
from openmm_bridge.stereochemistry import centre_signs, chirality_guard_force, inverted_centres, stereocentres
from openmm_bridge.string_method import StringConfig, ZeroTemperatureString
from openmm_bridge.superpose import superpose
from openmm_bridge.system import MolecularSystem
from pathgan.data import ReferenceSet
from pathgan.paths import load_path


def evenly(frames: np.ndarray, n: int) -> np.ndarray:
    """``n`` frames evenly spaced over ``frames``."""
    return frames[np.round(np.linspace(0, len(frames) - 1, n)).astype(int)]


def with_ends(frames: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``frames`` with its first and last frame replaced by ``a`` and ``b`` (superposed on the old ends)."""
    out = frames.copy()
    out[0] = superpose(a, frames[0])
    out[-1] = superpose(b, frames[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--path", required=True, help="generated path folder")
    parser.add_argument("--reference", required=True, help="pull folder")
    parser.add_argument("--system", help="system folder (default: the pull's)")
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--max-iterations", type=int, default=3000)
    args = parser.parse_args()
    import json
    from pathlib import Path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        system = MolecularSystem.load(
            args.system or json.loads((Path(args.reference) / "smd.json").read_text())["system"]
        )
    _, generated = load_path(args.path, system)
    generated = evenly(generated, args.images)
    ends = relax_on_path(system, generated[[0, -1]])
    a, b = ends[0], superpose(ends[1], ends[0])
    linear = np.array([a + w * (b - a) for w in np.linspace(0.0, 1.0, args.images)])
    smd = evenly(ReferenceSet.from_smd(args.reference, system).frames[0], args.images)
    seeds = {
        "generated": with_ends(generated, a, b),
        "linear interpolation": linear,
        "steered MD frames": with_ends(smd, a, b),
    }
    config = StringConfig(max_iterations=args.max_iterations)
    guard = chirality_guard_force(system.topology, system.positions_angstrom())  # as `pathgan refine` does
    centres = stereocentres(system.topology)
    signs = centre_signs(system.positions_angstrom(), centres)
    results = {}
    for name, images in seeds.items():
        t0 = time.perf_counter()
        results[name] = ZeroTemperatureString(system.system, images, config, guard).run()
        results[name].wall = time.perf_counter() - t0
    base = results["generated"].force_evaluations
    print(
        f"zero-temperature string, {args.images} images, fixed ends, tolerances "
        f"{config.tol_displacement_angstrom} A / {config.tol_energy_kcal_mol} kcal/mol, "
        f"at most {config.max_iterations} iterations"
    )
    print(
        "| start | converged | iterations | force evaluations | ratio to generated | highest energy above start "
        "(kcal/mol) | inverted centres | wall (s) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        flipped = inverted_centres(r.images, centres, signs).any(axis=0).sum()
        print(
            f"| {name} | {'yes' if r.converged else 'no'} | {r.iterations} | {r.force_evaluations} | "
            f"{r.force_evaluations / base:.2f} | {r.barrier_kcal_mol:.1f} | {flipped} | {r.wall:.1f} |"
        )


if __name__ == "__main__":
    main()
