"""Lazy package exports: both packages' names resolve to the defining objects; ``import openmm_bridge`` is cheap."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import openmm_bridge
import pathgan
from openmm_bridge.lazy import lazy_exports

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("package", [openmm_bridge, pathgan], ids=lambda p: p.__name__)
def test_every_export_is_the_object_its_module_defines(package):
    exports = package._EXPORTS
    assert exports and sorted(exports) == package.__all__
    for name, module in exports.items():
        obj = getattr(package, name)
        defining = importlib.import_module(f"{package.__name__}.{module}")
        assert obj is getattr(defining, name), name
        # the module named is where it is defined, not one that re-exports it
        assert obj.__module__ == defining.__name__, (name, obj.__module__)
        assert obj.__name__ == name


def test_some_exports_by_hand():
    from openmm_bridge.errors import PathganInputError
    from openmm_bridge.protocol import PullProtocol
    from openmm_bridge.system import MolecularSystem
    from pathgan.config import TrainingConfig
    from pathgan.pipeline import run_pipeline

    assert openmm_bridge.MolecularSystem is MolecularSystem
    assert openmm_bridge.PullProtocol is PullProtocol
    assert openmm_bridge.PathganInputError is PathganInputError
    assert pathgan.TrainingConfig is TrainingConfig
    assert pathgan.run_pipeline is run_pipeline
    from openmm_bridge import ConstantVelocityPull  # the `from` form goes through __getattr__ too
    from pathgan import TorchMDPotential

    assert ConstantVelocityPull.__module__ == "openmm_bridge.pulling"
    assert TorchMDPotential.__module__ == "pathgan.potential"


@pytest.mark.parametrize("package", [openmm_bridge, pathgan], ids=lambda p: p.__name__)
def test_unknown_names_raise_attribute_error(package):
    with pytest.raises(AttributeError, match=f"module '{package.__name__}' has no attribute 'NoSuchThing'"):
        package.NoSuchThing  # noqa: B018 - the attribute access is the test
    assert not hasattr(package, "no_such_thing")
    assert getattr(package, "no_such_thing", 42) == 42
    with pytest.raises(ImportError):
        exec(f"from {package.__name__} import NoSuchThing", {})


@pytest.mark.parametrize("package", [openmm_bridge, pathgan], ids=lambda p: p.__name__)
def test_dir_lists_the_exports(package):
    assert dir(package) == sorted(package._EXPORTS) == package.__all__
    namespace: dict = {}
    exec(f"from {package.__name__} import *", namespace)
    assert set(package.__all__) <= set(namespace)


def test_lazy_exports_on_its_own():
    getattr_, dir_ = lazy_exports("openmm_bridge", {"read_manifest": "pull_folder", "value_in": "units"})
    from openmm_bridge.pull_folder import read_manifest
    from openmm_bridge.units import value_in

    assert getattr_("read_manifest") is read_manifest and getattr_("value_in") is value_in
    assert dir_() == ["read_manifest", "value_in"]
    with pytest.raises(AttributeError, match="module 'openmm_bridge' has no attribute 'MolecularSystem'"):
        getattr_("MolecularSystem")  # only the names it was given
    broken, _ = lazy_exports("openmm_bridge", {"missing": "units"})
    with pytest.raises(AttributeError):  # a name its module lacks: an error, not None
        broken("missing")


def _modules_after(code: str) -> dict[str, bool]:
    """Which heavy modules a fresh interpreter has loaded after running ``code``."""
    probe = (
        "import sys, json; print(json.dumps({m: m in sys.modules for m in ('torch', 'openmm', 'pathgan')}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\n{probe}"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_openmm_bridge_loads_neither_torch_nor_openmm():
    assert _modules_after("import openmm_bridge") == {"torch": False, "openmm": False, "pathgan": False}
    # the probe sees what an export loads: the pull protocol needs OpenMM, still not torch
    assert _modules_after("import openmm_bridge\nopenmm_bridge.PullProtocol") == {
        "torch": False,
        "openmm": True,
        "pathgan": False,
    }
