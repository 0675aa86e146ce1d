"""Atomic writes keep what was there when a write fails."""

from __future__ import annotations

import pytest

from openmm_bridge.fileio import atomic_directory, atomic_file


def test_failed_directory_write_leaves_old_folder(tmp_path):
    target = tmp_path / "out"
    with atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("one")
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as tmp:
            (tmp / "a.txt").write_text("two")
            raise RuntimeError("killed")
    assert (target / "a.txt").read_text() == "one"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_atomic_file(tmp_path):
    target = tmp_path / "x.csv"
    with atomic_file(target) as tmp:
        tmp.write_text("1")
    with pytest.raises(ValueError):
        with atomic_file(target) as tmp:
            tmp.write_text("2")
            raise ValueError
    assert target.read_text() == "1" and len(list(tmp_path.iterdir())) == 1
