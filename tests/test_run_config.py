"""The configuration of ``pathgan run``: presets, YAML, every bad setting refused before any work."""

from __future__ import annotations

import pytest

from openmm_bridge.errors import PathganInputError
from pathgan.pipeline import Pipeline, run_pipeline
from pathgan.run_config import resolve_config


def test_configuration_errors(tmp_path):
    with pytest.raises(PathganInputError, match="unknown preset"):
        resolve_config("fast")
    with pytest.raises(PathganInputError, match=r"config: unknown settings \['smdd'\]"):
        resolve_config("quick", overrides={"smdd": {}})
    with pytest.raises(PathganInputError, match=r"config.generate: unknown settings \['frame'\]"):
        resolve_config("quick", overrides={"generate": {"frame": 3}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(PathganInputError, match="expected a mapping"):
        resolve_config("quick", bad)
    paper = resolve_config("paper")
    assert paper.smd.replicas == 50 and paper.smd.length_ps == 1000.0
    assert paper.train.pretrain_epochs == 5 and paper.train.epochs == 10 and paper.train.name == "pathgan"
    assert Pipeline(tmp_path, resolve_config()).key("train") != Pipeline(tmp_path, paper).key("train")
    with pytest.raises(PathganInputError, match=r"config.pathcv.k_s_kj_mol: was renamed 'k_s_kcal_mol'"):
        resolve_config("quick", overrides={"pathcv": {"k_s_kj_mol": 2000.0}})


def test_yaml_sections_and_the_train_seed(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("seed: 3\nsmd: {replicas: 6}\ntrain: {epochs: 7, model: {hidden: [16]}}\n")
    cfg = resolve_config("quick", f)
    assert cfg.seed == 3 and cfg.train.seed == 3 and cfg.smd.replicas == 6 and cfg.smd.length_ps == 120.0
    assert cfg.train.epochs == 7 and cfg.train.model.hidden == [16] and cfg.train.model.template_bins == 25
    assert cfg.smd.protocol().length_ps == 120.0 and cfg.refine.string_config().max_iterations == 1500


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"smd": {"replicas": -1}}, r"config.smd.replicas: must be at least 1, got -1"),
        ({"smd": {"replicas": "eight"}}, r"config.smd.replicas: expected int, got 'eight'"),
        ({"smd": {"length_ps": 0.0}}, "config.smd.length_ps: must be positive"),
        ({"smd": {"c0_angstrom": 20.0, "c1_angstrom": 20.0}}, "nothing would be pulled"),
        ({"smd": {"platform": "Nope"}}, "unknown OpenMM platform"),
        ({"smd": {"lenght_ps": 3.0}}, r"config.smd: unknown settings \['lenght_ps'\]"),
        ({"train": {"epochs": "many"}}, r"config.train.epochs: expected int"),
        ({"train": {"stride": 10_000}}, "leaves fewer than 2 of the 241 frames"),
        ({"train": {"learning_rate": 1.0}}, r"config.train: unknown settings \['learning_rate'\]"),
        ({"generate": {"frames": 600}}, "600 frames, more than the reference's 241"),
        ({"refine": {"images": 50}}, r"config.refine.images: 50; needs 3 to generate.frames \(20\)"),
        ({"pathcv": {"windows": 1}}, "config.pathcv.windows: must be at least 2"),
        ({"report": {"structure_t": [0.5, 1.5]}}, "config.report.structure_t: values must lie in"),
        ({"seed": 1.5}, "config.seed: expected int"),
        ({"smd": {"replicas": 4}}, "holds out 1 of 4 replicas; the comparison needs at least 2"),
        ({"refine": {"candidates": 40}}, r"config.refine.candidates: 40, more than generate.samples \(32\)"),
        ({"generate": {"truncation": -0.5}}, "config.generate.truncation: must be"),
    ],
)
def test_bad_configuration_fails_before_any_work(tmp_path, overrides, message):
    with pytest.raises(PathganInputError, match=message):
        run_pipeline(tmp_path / "never", "quick", overrides=overrides, progress=False)
    assert not (tmp_path / "never").exists()


# ---------------------------------------------------------------------- the system's sources
def _files(folder, *names):
    """Empty files ``names`` in ``folder`` (the configuration checks only that they exist)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(f"{name}\n")
    return folder


def _system_folder(folder):
    """Just enough of a system folder for the configuration (``metadata.json``)."""
    return _files(folder, "metadata.json", "system.xml")


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "system: {sequence: AAAA, caps: false}",
            {"sequence": "AAAA", "caps": False, "forcefield": ["amber14-all.xml"]},
        ),
        (
            "system: {pdb: in/p.pdb, forcefield: [amber14-all.xml, implicit/obc2.xml, in/my.xml]}",
            {"pdb": "in/p.pdb", "forcefield": ["amber14-all.xml", "implicit/obc2.xml", "in/my.xml"]},
        ),
        ("system: {pdb: in/p.pdb}", {"pdb": "in/p.pdb", "forcefield": ["amber14-all.xml"]}),
        (
            "system: {prmtop: in/p.prmtop, inpcrd: in/p.inpcrd, allow_cis_peptides: true}",
            {"prmtop": "in/p.prmtop", "inpcrd": "in/p.inpcrd", "allow_cis_peptides": True},
        ),
        (
            "system: {psf: in/p.psf, charmm_params: [in/top.rtf, in/par.prm], coordinates: in/p.crd,"
            " allow_d_residues: true, allow_unrepresented_forces: true}",
            {
                "psf": "in/p.psf",
                "charmm_params": ["in/top.rtf", "in/par.prm"],
                "coordinates": "in/p.crd",
                "allow_d_residues": True,
                "allow_unrepresented_forces": True,
            },
        ),
        ("system: {folder: ../deca}", {"folder": "../deca"}),
    ],
    ids=["sequence", "pdb", "pdb-default-forcefield", "prmtop", "psf", "folder"],
)
def test_each_system_source_resolves_against_the_yaml_folder(tmp_path, monkeypatch, yaml_text, expected):
    from pathgan.run_system import SOURCES

    conf = tmp_path / "conf"
    _files(conf / "in", "p.pdb", "my.xml", "p.prmtop", "p.inpcrd", "p.psf", "top.rtf", "par.prm", "p.crd")
    _system_folder(tmp_path / "deca")
    (conf / "run.yaml").write_text(yaml_text + "\n")
    monkeypatch.chdir(tmp_path)  # elsewhere than the YAML file: its paths are relative to its folder
    system = resolve_config("quick", "conf/run.yaml").system
    (source,) = [s for s in SOURCES if s in expected]
    assert system.source == source
    for name, value in system.to_dict().items():
        want = expected.get(name)
        if name in ("pdb", "prmtop", "inpcrd", "psf", "coordinates", "folder") and want is not None:
            want = str((conf / want).resolve())
        elif name == "charmm_params" and want is not None:
            want = [str(conf / p) for p in want]
        elif name == "forcefield" and want is not None:
            want = [str(conf / p) if p.startswith("in/") else p for p in want]  # bundled names kept
        elif want is None:  # not given (the preset's sequence and caps give way to another source)
            want = False if name.startswith("allow_") else None
        assert value == want, name


def test_override_paths_are_relative_to_the_current_folder_and_replace_the_yaml_source(tmp_path, monkeypatch):
    _files(tmp_path / "conf", "p.pdb", "my.xml")
    _files(tmp_path / "here", "p.prmtop", "p.inpcrd")
    (tmp_path / "conf" / "run.yaml").write_text("system: {pdb: p.pdb, forcefield: [my.xml]}\n")
    monkeypatch.chdir(tmp_path / "here")
    system = resolve_config("quick", overrides={"system": {"pdb": "../conf/p.pdb"}}).system
    assert system.pdb == str(tmp_path / "conf" / "p.pdb") and system.forcefield == ["amber14-all.xml"]
    # an override's source replaces the YAML's, with the settings that went with it (forcefield)
    overrides = {"system": {"prmtop": "p.prmtop", "inpcrd": "p.inpcrd"}}
    system = resolve_config("quick", tmp_path / "conf" / "run.yaml", overrides).system
    assert (system.source, system.pdb, system.forcefield) == ("prmtop", None, None)
    assert system.inpcrd == str(tmp_path / "here" / "p.inpcrd")
    # no source anywhere: the preset's deca-alanine, and the defaults of the section alone
    assert resolve_config().system.sequence == "AAAAAAAAAA"
    assert (lambda s: (s.sequence, s.caps, s.forcefield))(resolve_config().system) == (
        "AAAAAAAAAA",
        True,
        ["amber14-all.xml"],
    )


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "system: {pdb: p.pdb, prmtop: p.prmtop}",
            r"config.system: give one of sequence, pdb, prmtop, psf, folder \(got pdb and prmtop\)",
        ),
        (
            "system: {sequence: AAA, psf: p.psf, folder: .}",
            r"config.system: give one of sequence, pdb, prmtop, psf, folder \(got sequence, psf and folder\)",
        ),
        ("system: {prmtop: p.prmtop}", "config.system: prmtop needs inpcrd"),
        ("system: {psf: p.psf}", "config.system: psf needs charmm_params and coordinates"),
        ("system: {psf: p.psf, charmm_params: [par.prm]}", "config.system: psf needs coordinates"),
        (
            "system: {pdb: p.pdb, inpcrd: p.inpcrd}",
            "config.system.inpcrd: goes with prmtop only, not with pdb",
        ),
        ("system: {pdb: p.pdb, caps: false}", "config.system.caps: goes with sequence only, not with pdb"),
        (
            "system: {prmtop: p.prmtop, inpcrd: p.inpcrd, forcefield: [amber14-all.xml]}",
            "config.system.forcefield: goes with sequence and pdb only, not with prmtop",
        ),
        (
            "system: {sequence: AAA, allow_d_residues: true}",
            "config.system.allow_d_residues: goes with pdb, prmtop and psf only, not with sequence",
        ),
        ("system: {pdb: {CONF}/nope.pdb}", "config.system.pdb: {CONF}/nope.pdb not found"),
        ("system: {pdb: nope.pdb}", "config.system.pdb: {CONF}/nope.pdb not found"),
        (
            "system: {prmtop: p.prmtop, inpcrd: sub/p.rst7}",
            "config.system.inpcrd: {CONF}/sub/p.rst7 not found",
        ),
        (
            "system: {psf: p.psf, charmm_params: [par.prm, top.rtf], coordinates: p.pdb}",
            "config.system.charmm_params: {CONF}/top.rtf not found",
        ),
        (
            "system: {pdb: p.pdb, forcefield: [amber14-all.xml, mine.xml]}",
            "config.system.forcefield: {CONF}/mine.xml not found, nor among OpenMM's bundled",
        ),
        ("system: {folder: ..}", "config.system.folder: {ROOT} is not a pathgan system folder"),
        ("system: {pdb: [p.pdb]}", r"config.system.pdb: expected str \| None"),
    ],
)
def test_bad_system_sources_are_refused_naming_the_setting(tmp_path, yaml_text, message):
    import re

    conf = _files(tmp_path / "conf", "p.pdb", "p.prmtop", "p.inpcrd", "p.psf", "par.prm")
    (conf / "run.yaml").write_text(yaml_text.replace("{CONF}", str(conf)) + "\n")
    message = message.replace("{CONF}", re.escape(str(conf))).replace("{ROOT}", re.escape(str(tmp_path)))
    with pytest.raises(PathganInputError, match=message):
        resolve_config("quick", conf / "run.yaml")


def test_an_end_state_without_a_coordinate_makes_targeted_md(tmp_path, monkeypatch):
    """``system.end_state`` and no ``smd.coordinate``: an RMSD pull to it, from the start (c0: null) to 0."""
    from pathgan.run_config import TARGETED_K_KCAL_MOL_A2

    _files(tmp_path / "conf", "start.pdb", "end.pdb")
    (tmp_path / "conf" / "run.yaml").write_text("system: {pdb: start.pdb, end_state: end.pdb}\n")
    monkeypatch.chdir(tmp_path)
    config = resolve_config("quick", "conf/run.yaml")
    end = str((tmp_path / "conf" / "end.pdb").resolve())
    assert config.system.end_state == end
    assert config.smd.coordinate == {"kind": "rmsd", "target": end}
    assert (config.smd.c0_angstrom, config.smd.c1_angstrom) == (None, 0.0)
    assert config.smd.k_kcal_mol_a2 == TARGETED_K_KCAL_MOL_A2
    with pytest.raises(PathganInputError, match="c0_angstrom: null needs the system"):
        config.smd.protocol()
    # what the user sets is kept
    kept = resolve_config("quick", "conf/run.yaml", {"smd": {"k_kcal_mol_a2": 5.0, "c0_angstrom": 3.0}})
    assert (kept.smd.k_kcal_mol_a2, kept.smd.c0_angstrom, kept.smd.c1_angstrom) == (5.0, 3.0, 0.0)
    torsion = {"kind": "torsion", "torsion": "phi:ALA2"}
    own = resolve_config("quick", "conf/run.yaml", {"smd": {"coordinate": torsion, "c0_angstrom": -60.0}})
    assert own.smd.coordinate == torsion and own.smd.k_kcal_mol_a2 == 1.0
    # a preset's own pulling idea stays too
    assert resolve_config("alanine-dipeptide-quick", "conf/run.yaml").smd.coordinate == torsion
    # without an end state nothing changes
    assert resolve_config("quick").smd.coordinate is None


def test_the_alanine_dipeptide_preset():
    config = resolve_config("alanine-dipeptide-quick")
    assert (
        config.system.sequence == "A"
        and config.system.caps
        and config.system.forcefield == ["amber99sbildn.xml"]
    )
    assert config.smd.coordinate == {"kind": "torsion", "torsion": "phi:ALA2"}
    assert (config.smd.c0_angstrom, config.smd.c1_angstrom) == (-80.0, 70.0)  # through phi = 0
    assert config.landscape.enabled and config.landscape.torsions == ["phi:ALA2", "psi:ALA2"]
    assert config.landscape.end_basin == [[30.0, 100.0], [-110.0, -20.0]]  # the C7ax box
    assert not resolve_config("quick").landscape.enabled
    ff14sb = resolve_config(
        "alanine-dipeptide-quick", overrides={"system": {"forcefield": ["amber14-all.xml"]}}
    )
    assert ff14sb.system.forcefield == ["amber14-all.xml"] and ff14sb.system.sequence == "A"
    with pytest.raises(PathganInputError, match="config.landscape: give both start_basin and end_basin"):
        resolve_config("alanine-dipeptide-quick", overrides={"landscape": {"start_basin": None}})
