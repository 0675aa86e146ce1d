"""``pathgan train``, ``generate`` and ``compare`` from the command line, end to end on tiny settings."""

from __future__ import annotations

import json

from pathgan.cli import main


def test_train_generate_compare(small_pull, tmp_path, capsys):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(
        "stride: 4\nbatch_size: 32\npretrain_epochs: 1\nepochs: 2\nenergy_steps: 2\n"
        "model:\n  hidden: [32, 32]\n  template_bins: 4\n"
    )
    run = tmp_path / "run"
    assert (
        main(["train", "--reference", str(small_pull), "--out", str(run), "--config", str(cfg), "--quiet"])
        == 0
    )
    assert "trained pathgan (3 epochs, seed 0)" in capsys.readouterr().out
    path = tmp_path / "path"
    argv = ["generate", "--model", str(run), "--frames", "7", "--samples", "2", "--truncation", "0.9"]
    assert main([*argv, "--out", str(path)]) == 0
    meta = json.loads((path / "path.json").read_text())
    assert meta["n_frames"] == 7 and meta["provenance"]["config"] == "pathgan" and meta["truncation"] == 0.9
    cmp = tmp_path / "cmp"
    argv = [
        "compare",
        "--path",
        str(path),
        "--reference",
        str(small_pull),
        "--stride",
        "10",
        "--out",
        str(cmp),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "spearman_best_match_vs_t" in out
    summary = json.loads((cmp / "metrics.json").read_text())["summary"]
    # the path names its model, so it is judged on the replica the model did not train on (1 of 3)
    assert "judged on the model's held-out replicas" in out
    assert summary["n_frames"] == 7 and summary["n_reference_trajectories"] == 1
    ensemble = json.loads((cmp / "ensemble.json").read_text())
    assert ensemble["generated"]["n_paths"] == 2 and "template" in ensemble["baselines"]
    # training again with the same options resumes from the checkpoint: nothing left to do
    assert (
        main(["train", "--reference", str(small_pull), "--out", str(run), "--config", str(cfg), "--quiet"])
        == 0
    )


def test_bad_input(small_pull, tmp_path, capsys):
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    assert main(["generate", "--model", str(tmp_path / "bad.pt"), "--out", str(tmp_path / "p")]) == 2
    assert "bad.pt: unreadable model" in capsys.readouterr().err
    assert (
        main(["train", "--reference", str(tmp_path), "--out", str(tmp_path / "r"), "--system", str(tmp_path)])
        == 2
    )
    assert "not a pathgan system folder" in capsys.readouterr().err
    (tmp_path / "c.yaml").write_text("learning_rate: 3\n")
    argv = [
        "train",
        "--reference",
        str(small_pull),
        "--out",
        str(tmp_path / "r"),
        "--config",
        str(tmp_path / "c.yaml"),
    ]
    assert main(argv) == 2
    assert "unknown settings ['learning_rate']" in capsys.readouterr().err


def test_preset_and_config_file_combine(tmp_path):
    from pathgan.cli import build_parser
    from pathgan.cli.gan import training_config

    split = tmp_path / "split.yaml"
    split.write_text("validation_fraction: 0.34\n")
    parse = build_parser().parse_args
    for preset in ("paper", "ablation"):
        args = parse(["train", "--reference", "x", "--out", "y", "--preset", preset, "--config", str(split)])
        cfg = training_config(args)
        assert cfg.name == preset and cfg.validation_fraction == 0.34
    args = parse(["train", "--reference", "x", "--out", "y", "--config", str(split), "--seed", "4"])
    assert training_config(args).name == "pathgan" and training_config(args).seed == 4
