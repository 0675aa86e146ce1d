"""The ``pathgan`` command line: one module per command group, sharing :mod:`.common`.

=========================  ==========================================
module                     commands
=========================  ==========================================
:mod:`.system`             ``build``, ``energy``
:mod:`.smd`                ``smd``, ``pmf``
:mod:`.gan`                ``train``, ``generate``, ``compare``
:mod:`.refine`             ``refine``, ``pathcv``
:mod:`.run`                ``run``
:mod:`.umbrella`           ``umbrella``
=========================  ==========================================

Commands only parse and print: the work is done by ``openmm_bridge`` and ``pathgan``. Every
error pathgan raises on purpose (:class:`~openmm_bridge.errors.PathganError`) ends the command
with a one-line message naming the file or setting: exit code 2 for bad input or data, 1 for
a computation that did not converge.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from openmm_bridge.errors import PathganConvergenceError, PathganError

from . import gan, refine, run, smd, system, umbrella
from .common import configure_output

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``pathgan`` argument parser with every command."""
    parser = argparse.ArgumentParser(
        prog="pathgan",
        description="Low-energy transition paths of proteins: cGAN + TorchMD potential + OpenMM bridge.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (system, smd, gan, refine, run, umbrella):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pathgan`` console script."""
    args = build_parser().parse_args(argv)
    configure_output(args)
    try:
        return args.handler(args)
    except PathganConvergenceError as err:
        print(f"pathgan {args.command}: did not converge: {err}", file=sys.stderr)
        return 1
    except PathganError as err:
        print(f"pathgan {args.command}: error: {err}", file=sys.stderr)
        return 2
