"""openmm_bridge: the OpenMM side of pathgan (systems, steered MD, strings, path CVs, free energies).

The lower of pathgan's two packages: it never imports ``pathgan``. Its main entry points are
importable from the package itself (loaded on first use, so ``import openmm_bridge`` is cheap
and does not fix the order in which openmm and torch are loaded)::

    from openmm_bridge import MolecularSystem, centroid_distance_force, ConstantVelocityPull
"""

from __future__ import annotations

from .lazy import lazy_exports

#: Public name -> module that defines it.
_EXPORTS = {
    "MolecularSystem": "system",
    "StereochemistryWarning": "system",
    "check_structure": "stereochemistry",
    "PullProtocol": "protocol",
    "centroid_distance_force": "pull_forces",
    "PullCoordinate": "pull_coordinates",
    "resolve_coordinate": "pull_coordinates",
    "classify_forces": "force_table",
    "unrepresented_forces": "force_table",
    "ConstantVelocityPull": "pulling",
    "PullDataReporter": "pulling",
    "MovingParameter": "work",
    "ParameterWork": "work",
    "DCDFrameReporter": "reporters",
    "AtomicCheckpointReporter": "reporters",
    "run_pull": "steered_md",
    "OpenMMEvaluator": "energies",
    "ZeroTemperatureString": "string_method",
    "StringConfig": "string_method",
    "SwarmsString": "swarms",
    "SwarmsConfig": "swarms",
    "PathCV": "pathcv",
    "path_cv_force": "pathcv",
    "PathPull": "pathcv_md",
    "PathCVProtocol": "pathcv_md",
    "umbrella_along_path": "umbrella",
    "jarzynski_pmf": "jarzynski",
    "hummer_szabo_pmf": "jarzynski",
    "exponential_average": "jarzynski",
    "cumulant_estimate": "jarzynski",
    "PathganError": "errors",
    "PathganInputError": "errors",
    "PathganDataError": "errors",
    "PathganConvergenceError": "errors",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
