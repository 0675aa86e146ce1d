"""The report in a real browser: headless Chromium loads every image of report.html."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(
        "Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it where it can)"
    )


def test_report_renders_with_every_image(tiny_run, tmp_path):
    html = tiny_run / "report.html"
    text = html.read_text()
    assert "http://" not in text and "https://" not in text  # self-contained: nothing from the network
    assert "the TorchMD potential computes every force of the OpenMM System" in text
    browser = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [*browser, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    loaded = re.search(r'data-images-loaded="(\d+)"', dom)
    total = re.search(r'data-images-total="(\d+)"', dom)
    assert loaded and total, dom[:500]
    assert int(total.group(1)) >= 10 and loaded.group(1) == total.group(1)
    assert re.search(r'data-empty-elements="0"', dom), re.search(r'data-empty-elements="-?\d+"', dom)
    for heading in (
        "The candidate paths against held-out pulls, beside the baselines",
        "The best candidate and its refinement",
        "Structures along the path",
        "Free energy",
        "String convergence",
        "Versions",
    ):
        assert heading in dom
    shot = tmp_path / "report.png"
    subprocess.run(
        [*browser, "--window-size=1200,2400", f"--screenshot={shot}", html.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.stat().st_size > 50_000


def test_the_headline_shows_the_pulled_coordinates_own_deviation():
    from pathgan.report import HEADLINE, _headline

    torsion = {"label": "torsion phi:ALA2", "unit": "deg"}
    result = {"summary": {"max_coordinate_deviation_deg": 12.5, "max_end_to_end_deviation_angstrom": 0.3}}
    rows = _headline(result, torsion)
    keys = [k for k, _, _ in rows]
    assert "max_coordinate_deviation_deg" in keys and "max_end_to_end_deviation_angstrom" not in keys
    label = dict((k, lab) for k, lab, _ in rows)["max_coordinate_deviation_deg"]
    assert label == "max deviation of the pulled torsion phi:ALA2 from the reference mean (deg)"
    assert len(rows) == len(HEADLINE)
    # an older comparison without the coordinate's deviation keeps the end-to-end row
    assert _headline({"summary": {"max_end_to_end_deviation_angstrom": 0.3}}, torsion) == HEADLINE
