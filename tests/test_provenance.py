"""Versions recorded in outputs."""

from openmm_bridge.provenance import versions


def test_versions_name_the_stack():
    v = versions()
    assert v["torch"].startswith("2.9.1") and v["openmm"].startswith("8.")
    assert v["torchmd"] == "1.1.2" and v["python"].count(".") == 2
