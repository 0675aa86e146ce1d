"""pathgan: conditional-GAN transition paths of proteins, scored with a batched TorchMD potential.

The upper of pathgan's two packages (it builds on ``openmm_bridge``). Its main entry points
are importable from the package itself, loaded on first use::

    from pathgan import TorchMDPotential, TrainingConfig, train, load_model, generate_path, run_pipeline
"""

from __future__ import annotations

from openmm_bridge.lazy import lazy_exports

#: Public name -> module that defines it.
_EXPORTS = {
    "TorchMDPotential": "potential",
    "EndToEndRestraint": "restraint",
    "CoordinateRestraint": "coordinate_restraint",
    "TorsionSet": "torsions",
    "TrainingConfig": "config",
    "ReferenceSet": "data",
    "GAN": "gan",
    "load_model": "gan",
    "Trainer": "trainer",
    "train": "trainer",
    "generate_path": "paths",
    "load_path": "paths",
    "write_path": "paths",
    "compare_path": "compare",
    "run_pipeline": "pipeline",
    "RunConfig": "run_config",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
