"""What torchmd reads: molecule, parameters, 1-4 completion."""

from __future__ import annotations

import parmed

from openmm_bridge import torchmd_input


def test_every_14_pair_has_a_torsion(deca):
    mol = deca.torchmd_molecule()
    pairs = {frozenset((int(d[0]), int(d[3]))) for d in mol.dihedrals}
    # every 1-4 pair of the bond graph is reachable through a proper torsion
    struct = deca.structure
    graph_14 = {frozenset((a.idx, c.idx)) for a in struct.atoms for c in a.dihedral_partners}
    assert graph_14 <= pairs
    assert torchmd_input.complete_14_torsions(struct) == 0  # idempotent
    assert len(mol.impropers) > 0 and mol.numAtoms == 112


def test_unsupported_terms_listed(deca):
    s = deca.structure.copy(parmed.Structure)
    assert torchmd_input.unsupported_terms(s) == []
    a = s.atoms
    s.cmaps.append(parmed.Cmap(a[0], a[1], a[2], a[3], a[4]))  # computed from the CMAPTorsionForce
    assert torchmd_input.unsupported_terms(s) == []
    s.rb_torsions.append(parmed.Dihedral(a[0], a[1], a[2], a[3]))
    assert torchmd_input.unsupported_terms(s) == ["Ryckaert-Bellemans torsions"]


def test_charges_come_from_the_system_and_must_agree(deca):
    import numpy as np
    import pytest

    from openmm_bridge.errors import MissingParameterError

    mol = deca.torchmd_molecule()
    q = torchmd_input.system_charges(deca.system, mol.charge, "deca")
    np.testing.assert_allclose(q, mol.charge, atol=1e-12)
    wrong = mol.charge.copy()
    wrong[3] += 0.1
    with pytest.raises(MissingParameterError, match="deca: the System's charges differ .* by up to 0.1 e"):
        torchmd_input.system_charges(deca.system, wrong, "deca")
