"""What the GPU machine gives pathgan: versions, torch's CUDA device, OpenMM's platforms.

Prints the versions of Python and every package pathgan imports, torch's CUDA build and device,
OpenMM's platforms (and the plugins that did not load, with why), and, for each GPU platform, the
properties of a Context on it. Exits non-zero when a package pathgan needs does not import.

    python benchmarks/gpu/env_report.py
"""

from __future__ import annotations

import importlib
import platform
import sys

NEEDED = [
    "numpy",
    "scipy",
    "torch",
    "openmm",
    "torchmd",
    "mdtraj",
    "parmed",
    "pdbfixer",
    "pymbar",
    "dask",
    "distributed",
]
OPTIONAL = ["openmmtorch", "matplotlib", "yaml", "tqdm", "networkx", "numexpr", "pandas"]


def main() -> int:
    print(f"python {platform.python_version()} at {sys.executable}")
    missing = []
    for name in NEEDED + OPTIONAL:
        try:
            module = importlib.import_module(name)
            where = getattr(module, "__file__", "") or ""
            print(f"  {name:<12} {getattr(module, '__version__', '?'):<22} {where}")
        except Exception as err:  # noqa: BLE001 - any import failure is what we report
            print(f"  {name:<12} NOT IMPORTED: {type(err).__name__}: {str(err)[:300]}")
            if name in NEEDED:
                missing.append(name)
    import torch

    print(
        f"torch {torch.__version__}, CUDA build {torch.version.cuda}, cuda available: {torch.cuda.is_available()}"
    )
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        print(
            f"  device 0: {p.name}, {p.total_memory / 2**30:.0f} GiB, {p.multi_processor_count} SMs, cc {p.major}.{p.minor}"
        )
        print(f"  torch threads {torch.get_num_threads()}")
    try:
        import openmm as mm
    except ImportError:
        return 1
    names = [mm.Platform.getPlatform(i).getName() for i in range(mm.Platform.getNumPlatforms())]
    print(f"OpenMM {mm.__version__} platforms: {names}")
    for failure in mm.Platform.getPluginLoadFailures():
        print(f"  plugin not loaded: {failure}")
    for name in ("CUDA", "OpenCL"):
        if name not in names:
            continue
        system = mm.System()
        system.addParticle(1.0)
        try:
            ctx = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName(name))
            plat = ctx.getPlatform()
            props = {k: plat.getPropertyValue(ctx, k) for k in plat.getPropertyNames()}
            print(f"  {name} context: {props}")
        except Exception as err:  # noqa: BLE001
            print(f"  {name} context FAILED: {err}")
    if missing:
        print(f"missing packages: {missing}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
