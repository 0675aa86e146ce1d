"""Errors raised for bad input, each naming the file or the shapes at fault."""

from __future__ import annotations


class PathganInputError(ValueError):
    """Input that cannot be used as given: wrong shapes, NaN, mismatched atoms, missing files."""


class MissingParameterError(PathganInputError):
    """A force-field parameter needed for a bond, angle, torsion or atom type is absent."""
