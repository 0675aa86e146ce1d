"""What every ``pathgan`` command shares: output options, tables, loading a system folder."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from openmm_bridge.errors import PathganInputError

if TYPE_CHECKING:
    from openmm_bridge.system import MolecularSystem

#: The logger every pathgan message goes through (``--quiet``: warnings only; ``--verbose``: debug).
log = logging.getLogger("pathgan")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--quiet`` and ``--verbose``, for every command."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quiet", action="store_true", help="no progress bars, only warnings and errors")
    group.add_argument("--verbose", action="store_true", help="more detail (debug messages, every warning)")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a message comes (it may be replaced after set-up)."""

    @property
    def stream(self):  # noqa: D102
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_output(args: argparse.Namespace) -> None:
    """Messages of the ``pathgan`` logger to standard error, at the level ``--quiet`` / ``--verbose`` ask for.

    Only pathgan's own logger gets a handler: the libraries' loggers (Dask's scheduler and
    workers, pymbar) keep Python's default, warnings and errors only.
    """
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False
    if args.verbose:
        logging.basicConfig(format="%(name)s: %(message)s", level=logging.INFO, force=True)
    else:
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)


def progress(args: argparse.Namespace) -> bool:
    """Whether to show progress bars."""
    return not args.quiet


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: right-aligned columns, floats with 4 decimals."""
    cells = [[str(h) for h in header]] + [
        [f"{v:.4f}" if isinstance(v, float) else str(v) for v in r] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def load_system(path: str | None, fallback: str | None, what: str) -> MolecularSystem:
    """The system folder ``path``, or the one recorded (``fallback``), warnings quietened."""
    from openmm_bridge.system import MolecularSystem

    folder = path or fallback
    if folder is None:
        raise PathganInputError(f"{what}: no system folder recorded; pass --system DIR")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MolecularSystem.load(folder)


def path_system(args: argparse.Namespace) -> MolecularSystem:
    """The system of ``args.path`` (``--system``, or the one a path folder records)."""
    recorded = None
    meta = Path(args.path) / "path.json"
    if meta.exists():
        recorded = json.loads(meta.read_text()).get("provenance", {}).get("system_dir")
    return load_system(args.system, recorded, args.path)


def evenly(frames: np.ndarray, n: int) -> np.ndarray:
    """``n`` frames chosen evenly along ``frames`` (all of them when there are fewer)."""
    return frames[np.round(np.linspace(0, len(frames) - 1, min(n, len(frames)))).astype(int)]
