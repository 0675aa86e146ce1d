"""pathgan's errors: one base class, so that a caller (and the command line) can catch them all.

- :class:`PathganInputError` (also a ``ValueError``): input that cannot be used as given, each
  message naming the file, setting or shapes at fault;
- :class:`MissingParameterError`: a force-field parameter is absent;
- :class:`PathganDataError`: data on disk that is damaged or inconsistent (a truncated
  trajectory, an unreadable checkpoint);
- :class:`PathganConvergenceError` (also a ``RuntimeError``): a computation that ran but did not
  reach a usable result (training diverged).
"""

from __future__ import annotations


class PathganError(Exception):
    """Base of every error pathgan raises on purpose."""


class PathganInputError(PathganError, ValueError):
    """Input that cannot be used as given: wrong shapes, NaN, mismatched atoms, missing files, bad settings."""


class MissingParameterError(PathganInputError):
    """A force-field parameter needed for a bond, angle, torsion or atom type is absent."""


class UnrepresentedForceError(PathganInputError):
    """The System has forces the batched potential cannot compute, and the user did not accept the difference."""


class PathganDataError(PathganInputError):
    """Files that exist but are damaged or inconsistent (truncated trajectories, unreadable checkpoints)."""


class PathganConvergenceError(PathganError, RuntimeError):
    """A computation that ran but did not reach a usable result (e.g. training diverged to NaN)."""
