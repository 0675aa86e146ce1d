"""Package-level exports loaded on first use (PEP 562), for both of pathgan's packages.

``import openmm_bridge`` then costs nothing and fixes no import order (openmm-torch needs
torch loaded before OpenMM's plugins), while ``from openmm_bridge import MolecularSystem`` works.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` of ``package`` for ``exports`` (public name -> its module)."""

    def getattr_(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def dir_() -> list[str]:
        return sorted(exports)

    return getattr_, dir_
