"""The pull protocol: the paper's defaults, steps and frames, the moving centre, groups, every check."""

from __future__ import annotations

import re

import openmm.unit as u
import pytest

from openmm_bridge.errors import PathganInputError
from openmm_bridge.protocol import PullProtocol


def _invalid(pattern: str, **changes) -> None:
    with pytest.raises(PathganInputError, match=re.escape(pattern)):
        PullProtocol.from_dict(changes, "pull")


def test_defaults_are_the_papers_protocol():
    p = PullProtocol()
    assert (p.c0_angstrom, p.c1_angstrom) == (12.0, 34.0)
    assert p.k_kcal_mol_a2 == 1.0 and p.length_ps == 1000.0 and p.temperature_k == 300.0
    assert p.timestep_fs == 2.0 and p.constraints == "HBonds" and p.platform == "Reference"
    assert p.group_a is None and p.group_b is None
    p.validate()  # the defaults pass every check
    assert PullProtocol.from_dict({}) == p


def test_steps_and_frames():
    p = PullProtocol()
    assert p.n_steps == 500_000  # 1000 ps at 2 fs
    assert p.n_frames == 10_001  # every 50 steps, step 0 included
    q = PullProtocol(length_ps=20.0, timestep_fs=1.0, frame_interval_steps=100)
    assert q.n_steps == 20_000 and q.n_frames == 201
    assert (
        PullProtocol(length_ps=1.005, timestep_fs=2.5).n_steps == 402
    )  # 401.99999999999994: rounded, not truncated


def test_centre_moves_linearly_from_c0_to_c1():
    p = PullProtocol()
    assert p.centre_at_t(0.0) == 12.0 and p.centre_at_t(1.0) == 34.0
    assert p.centre_at_t(0.5) == pytest.approx(23.0)
    assert p.centre_at_t(0.25) == pytest.approx(12.0 + 0.25 * 22.0)
    back = PullProtocol(c0_angstrom=30.0, c1_angstrom=10.0)  # pushing together works too
    assert back.centre_at_t(0.75) == pytest.approx(15.0)


def test_with_groups_fills_the_end_ca_atoms(deca):
    cas = [a.index for a in deca.topology.atoms() if a.name == "CA"]
    assert len(cas) == 10
    p = PullProtocol().with_groups(deca)
    assert p.group_a == [cas[0]] and p.group_b == [cas[-1]]
    residues = list(deca.topology.residues())
    atoms = list(deca.topology.atoms())
    assert (
        atoms[p.group_a[0]].residue == residues[1] and atoms[p.group_b[0]].residue == residues[-2]
    )  # ACE, NME caps
    assert PullProtocol().group_a is None  # a copy: the original keeps its defaults


def test_with_groups_keeps_given_groups_and_checks_them(deca):
    p = PullProtocol(group_a=[0, 1], group_b=[5]).with_groups(deca)
    assert p.group_a == [0, 1] and p.group_b == [5]
    half = PullProtocol(group_a=[3]).with_groups(deca)
    assert half.group_a == [3] and half.group_b == [deca.end_to_end_atoms()[1]]
    n = deca.n_atoms
    with pytest.raises(
        PathganInputError, match=re.escape(f"atom indices [{n}] of the second group are out of range")
    ):
        PullProtocol(group_b=[n]).with_groups(deca)
    with pytest.raises(PathganInputError, match=re.escape("the two atom groups share atoms [5]")):
        PullProtocol(group_a=[4, 5], group_b=[5, 6]).with_groups(deca)
    with pytest.raises(PathganInputError, match="the first atom group is empty"):
        PullProtocol(group_a=[]).with_groups(deca)
    with pytest.raises(PathganInputError, match=re.escape("pull.k_kcal_mol_a2: must be positive")):
        PullProtocol(k_kcal_mol_a2=-1.0).with_groups(deca)  # the protocol itself is validated too


def test_each_check_has_its_message():
    _invalid("pull: c0 = c1 = 20.0 A; nothing would be pulled", c0_angstrom=20.0, c1_angstrom=20.0)
    _invalid(
        "pull: frame interval 50 is not a multiple of the centre's update interval 20",
        update_interval_steps=20,
    )
    _invalid(
        "pull: checkpoint interval 1025 is not a multiple of the frame interval 50",
        checkpoint_interval_steps=1025,
    )
    _invalid(
        "pull: 25 steps (0.05 ps at 2.0 fs) is not a positive multiple of the frame interval 50",
        length_ps=0.05,
        checkpoint_interval_steps=50,
    )
    _invalid("pull: 0 steps (0.0001 ps at 2.0 fs) is not a positive multiple", length_ps=0.0001)
    _invalid("unknown OpenMM platform 'Nope'; available:", platform="Nope")
    _invalid("pull: the two atom groups share atoms [3]", group_a=[3], group_b=[3])
    _invalid("pull: atom indices [-1] of the first group are out of range", group_a=[-1], group_b=[3])


def test_field_constraints():
    _invalid("pull.k_kcal_mol_a2: must be positive, got 0", k_kcal_mol_a2=0)
    _invalid("pull.length_ps: must be positive, got -5.0", length_ps=-5.0)
    _invalid("pull.temperature_k: must be positive", temperature_k=0.0)
    _invalid("pull.timestep_fs: must be positive", timestep_fs=0)
    _invalid("pull.constraints: must be one of ['HBonds', None], got 'AllBonds'", constraints="AllBonds")
    _invalid("pull.minimize_steps: must be >= 0, got -1", minimize_steps=-1)
    _invalid("pull.frame_interval_steps: expected int, got 50.0", frame_interval_steps=50.0)
    _invalid("pull: unknown settings ['c2_angstrom']", c2_angstrom=1.0)
    assert PullProtocol.from_dict({"constraints": None, "minimize_steps": 0}).constraints is None


def test_a_valid_change_passes():
    p = PullProtocol.from_dict(
        {
            "c0_angstrom": 14,
            "c1_angstrom": 24,
            "length_ps": 20,
            "frame_interval_steps": 50,
            "checkpoint_interval_steps": 2000,
        }
    )
    assert p.n_steps == 10_000 and p.n_frames == 201 and p.c0_angstrom == 14


def test_quantities_are_accepted():
    p = PullProtocol(
        length_ps=1 * u.nanosecond,
        c0_angstrom=1.2 * u.nanometer,
        c1_angstrom=3.4 * u.nanometer,
        k_kcal_mol_a2=418.4 * u.kilojoule_per_mole / u.nanometer**2,
        temperature_k=310 * u.kelvin,
        timestep_fs=0.002 * u.picosecond,
        friction_per_ps=1 / u.picosecond,
    )
    assert p.length_ps == pytest.approx(1000.0) and p.n_steps == 500_000
    assert p.c0_angstrom == pytest.approx(12.0) and p.c1_angstrom == pytest.approx(34.0)
    assert p.k_kcal_mol_a2 == pytest.approx(1.0) and p.temperature_k == pytest.approx(310.0)
    assert p.timestep_fs == pytest.approx(2.0) and p.friction_per_ps == pytest.approx(1.0)
    assert not any(u.is_quantity(v) for v in p.to_dict().values())
    p.validate()
    with pytest.raises(TypeError, match="length_ps: .* is not convertible to picosecond"):
        PullProtocol(length_ps=1 * u.angstrom)


def test_round_trip_through_a_dict(deca):
    p = PullProtocol(c0_angstrom=14.0, length_ps=20.0).with_groups(deca)
    assert PullProtocol.from_dict(p.to_dict()) == p


def test_equilibration_before_the_pulls():
    p = PullProtocol()
    assert p.equilibration_ps == 500.0 and p.equilibration_steps == 250_000  # the paper preset's starts
    assert p.to_dict()["equilibration_ps"] == 500.0  # always recorded, 0 included
    old = PullProtocol(equilibration_ps=0.0)
    assert old.equilibration_steps == 0 and old.to_dict()["equilibration_ps"] == 0.0
    old.validate()  # 0: no equilibration, the old protocol
    assert PullProtocol(equilibration_ps=2 * u.nanosecond).equilibration_ps == pytest.approx(2000.0)
    _invalid("pull.equilibration_ps: must be >= 0, got -1.0", equilibration_ps=-1.0)
    _invalid(
        "pull.equilibration_ps: 55 steps (0.11 ps at 2.0 fs) is not a positive multiple of the frame interval 50",
        equilibration_ps=0.11,
    )
    _invalid("pull.equilibration_ps: expected float, got '10'", equilibration_ps="10")
