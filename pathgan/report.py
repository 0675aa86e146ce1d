"""``report.html``: one self-contained page (images embedded, no network) of a ``pathgan run``."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import openmm as mm
import yaml

from openmm_bridge.fileio import atomic_file
from openmm_bridge.force_table import describe_solvent
from openmm_bridge.plots import plt, save_figure
from openmm_bridge.provenance import versions
from openmm_bridge.trajio import read_trajectory

from .figures import progress_measure
from .landscape_report import landscape_section
from .run_system import system_title

#: Headline metrics: (key in compare's summary, label with unit, format).
HEADLINE = [
    ("t0_helix_fraction", "t=0 DSSP helix fraction", "{:.2f}"),
    ("t0_rmsd_to_reference_start_angstrom", "t=0 heavy-atom RMSD to the reference start (A)", "{:.2f}"),
    ("median_rmsd_same_t_angstrom", "median RMSD to the reference at the same t (A)", "{:.2f}"),
    ("spearman_best_match_vs_t", "Spearman correlation of best-matching frame with t", "{:.3f}"),
    ("max_end_to_end_deviation_angstrom", "max end-to-end deviation from the reference mean (A)", "{:.2f}"),
    ("max_bond_rms_deviation_angstrom", "max bond-length RMS deviation from r0 (A)", "{:.3f}"),
    ("min_nonbonded_distance_angstrom", "closest non-bonded contact (A)", "{:.2f}"),
    (
        "frames_with_inverted_centres",
        "frames with an inverted stereocentre (D where the system is L)",
        "{:d}",
    ),
    (
        "median_energy_excess_kcal_mol",
        "median OpenMM energy above the reference at the same t (kcal/mol)",
        "{:.1f}",
    ),
    (
        "max_energy_excess_kcal_mol",
        "max OpenMM energy above the reference at the same t (kcal/mol)",
        "{:.1f}",
    ),
]


#: The ensemble's metrics in the report: (key, label with unit, format).
ENSEMBLE_HEADLINE = [
    ("spread_ratio_median", "spread ratio (generated / held-out, median over t)", "{:.2f}"),
    ("precision", "precision (k=3)", "{:.2f}"),
    ("coverage", "coverage (k=3)", "{:.2f}"),
    ("jsd_phi_psi_bits", "phi/psi Jensen-Shannon divergence (bits)", "{:.3f}"),
    ("t0_helix_fraction", "t=0 DSSP helix fraction", "{:.2f}"),
    ("median_rmsd_same_t_mean_angstrom", "median RMSD at the same t, mean over replicas (A)", "{:.2f}"),
    ("max_bond_rms_deviation_angstrom", "max bond-length RMS deviation from r0 (A)", "{:.3f}"),
    ("median_energy_excess_kcal_mol", "median OpenMM energy above the held-out pulls' (kcal/mol)", "{:.1f}"),
    ("frames_with_inverted_centres", "frames with an inverted stereocentre", "{:d}"),
]


def _img(path: Path, alt: str) -> str:
    if not path.exists():
        return f'<p class="missing">({html.escape(alt)}: not produced)</p>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _solvent(system_xml: Path) -> str:
    """What the run's System has around the molecule: vacuum or an implicit-solvent model."""
    if not system_xml.exists():
        return "an unknown solvent (no system.xml)"
    return describe_solvent(mm.XmlSerializer.deserialize(system_xml.read_text()))


def plot_profiles_together(
    generated: dict, refined: dict, path: Path, progress: tuple[str, str, str] | None = None
) -> None:
    """Energy, the pulled coordinate and helicity along t: generated, refined, reference.

    ``progress``: per-frame keys and label of the progress measure (``figures.progress_measure``;
    default the CA(1)-CA(N) distance).
    """
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    specs = [
        ("openmm_energy_kcal_mol", "reference_openmm_energy_same_t_kcal_mol", "OpenMM energy (kcal/mol)"),
        progress
        or ("end_to_end_angstrom", "reference_end_to_end_same_t_angstrom", "CA(1)-CA(N) distance (A)"),
        ("helix_fraction", "reference_helix_fraction_same_t", "DSSP helix fraction"),
    ]
    for ax, (key, ref_key, label) in zip(axes, specs, strict=True):
        for name, pf, style in (("generated", generated, "o-"), ("refined (string)", refined, "s-")):
            if not pf:
                continue
            y = pf[key]["total"] if isinstance(pf[key], dict) else pf[key]
            ax.plot(pf["t"], y, style, ms=4, label=name)
        if generated:
            y = generated[ref_key]["total"] if isinstance(generated[ref_key], dict) else generated[ref_key]
            ax.plot(generated["t"], y, "k--", label="reference (mean at same t)")
        ax.set_xlabel("t")
        ax.set_ylabel(label)
        ax.legend(frameon=False, fontsize=8)
    save_figure(fig, path)


def write_report(run_dir: Path, config: dict, stages: dict) -> dict[str, Any]:
    """Write ``run_dir/report.html`` (and its pictures in ``run_dir/report/``); return the metrics."""
    from .render import render_strip

    run_dir = Path(run_dir)
    rep = run_dir / "report"
    rep.mkdir(parents=True, exist_ok=True)
    gen = _load(run_dir / "compare" / "generated" / "metrics.json")
    ref = _load(run_dir / "compare" / "refined" / "metrics.json")
    ensemble = _load(run_dir / "compare" / "ensemble.json")
    string = _load(run_dir / "refine" / "string.json")
    pmf = _load(run_dir / "pmf" / "pmf.json")
    umbrella = _load(run_dir / "pathcv" / "umbrella.json")
    model = run_dir / "train" / "losses.csv"
    progress = progress_measure(gen) if "coordinate" in ref.get("per_frame", {}) or not ref else None
    plot_profiles_together(gen.get("per_frame", {}), ref.get("per_frame", {}), rep / "profiles.png", progress)
    # pictures of the structures along the paths
    trajs = []
    path_dir, string_dcd = run_dir / "path", run_dir / "refine" / "string.dcd"
    if (path_dir / "path.dcd").exists():
        trajs.append(("generated", read_trajectory(path_dir / "path.dcd", str(path_dir / "path.pdb"))))
    if string_dcd.exists():
        trajs.append(("refined", read_trajectory(string_dcd, str(run_dir / "refine" / "string.pdb"))))
    replica = run_dir / "smd" / "replica_000" / "trajectory.dcd"
    if replica.exists():
        trajs.append(("reference", read_trajectory(replica, str(run_dir / "smd" / "start.pdb"))))
    if trajs:
        render_strip(trajs, config["report"]["structure_t"], rep / "structures.png")
    system_meta = _load(run_dir / "system" / "metadata.json")
    stereo = system_meta.get("stereochemistry", {})
    stereo = "passed" if stereo.get("passed") else "not recorded" if not stereo else "FAILED"
    left_out = system_meta.get("potential", {}).get("unrepresented_forces", [])
    potential = (
        f"the TorchMD potential leaves out, by the user's choice: {'; '.join(left_out)}"
        if left_out
        else "the TorchMD potential computes every force of the OpenMM System"
    )
    solvent = _solvent(run_dir / "system" / "system.xml")
    plane = landscape_section(run_dir, rep / "landscape.png")
    pmf_s = umbrella.get("pmf", {})
    metrics: dict[str, Any] = {
        "solvent": solvent,
        "heldout_replicas": ensemble.get("heldout_replicas"),
        "generated": _without_bins(ensemble.get("generated", {})),
        "baselines": {k: _without_bins(v) for k, v in ensemble.get("baselines", {}).items()},
        "best_candidate": gen.get("summary", {}),
        "refined": ref.get("summary", {}),
        "string": {
            "converged": string.get("converged"),
            "iterations": string.get("iterations"),
            "force_evaluations": string.get("force_evaluations"),
            "highest_energy_above_start_kcal_mol": string.get("barrier_kcal_mol"),
        },
        "pulls": {
            "replicas": len(pmf.get("replicas", [])),
            "final_mean_work_kcal_mol": pmf.get("final_mean_work_kcal_mol"),
            "final_pmf_cumulant_kcal_mol": pmf.get("final_pmf_cumulant_kcal_mol"),
            "coordinate": gen.get("coordinate") or {"label": "CA(1)-CA(N) distance", "unit": "A"},
        },
        "pmf_along_path": {
            "s": pmf_s.get("s"),
            "pmf_kcal_mol": pmf_s.get("pmf_kcal_mol"),
            "max_pmf_kcal_mol": None
            if not pmf_s.get("pmf_kcal_mol")
            else float(np.nanmax(np.array(pmf_s["pmf_kcal_mol"], dtype=float))),
        },
        "landscape": plane,
        "stage_seconds": {k: v.get("seconds") for k, v in stages.items()},
        "versions": versions(),
        "config": config,
    }
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{_fmt(gen, key, fmt)}</td><td>{_fmt(ref, key, fmt)}</td></tr>"
        for key, label, fmt in _headline(gen, metrics["pulls"]["coordinate"])
    )
    columns = ["generated", *metrics["baselines"]]
    blocks = {"generated": metrics["generated"], **metrics["baselines"]}
    ensemble_rows = "".join(
        f"<tr><td>{html.escape(label)}</td>"
        + "".join(f"<td>{_fmt({'summary': blocks[c]}, key, fmt)}</td>" for c in columns)
        + "</tr>"
        for key, label, fmt in ENSEMBLE_HEADLINE
    )
    ensemble_header = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    heldout_names = ", ".join(Path(p).parent.name for p in metrics["heldout_replicas"] or [])
    s = metrics["string"]
    stage_rows = "".join(f"<tr><td>{k}</td><td>{v.get('seconds', '')}</td></tr>" for k, v in stages.items())
    vers = "".join(f"<tr><td>{k}</td><td>{html.escape(str(v))}</td></tr>" for k, v in versions().items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pathgan report</title>
<style>
body {{ font-family: sans-serif; max-width: 1200px; margin: 2em auto; color: #222; }}
img {{ max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }}
table {{ border-collapse: collapse; margin: 0.5em 0; }}
td, th {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
.missing {{ color: #a00; }}
</style></head>
<body data-images-loaded="0" data-images-total="0" data-empty-elements="-1">
<h1>pathgan: {html.escape(system_title(config["system"]))}, preset {html.escape(config.get("preset", ""))}</h1>
<p>Reference steered MD, the cGAN's generated path, its string-method refinement and the comparison with the
reference pulls. Energies in kcal/mol, distances in Angstrom.</p>

<h2>The candidate paths against held-out pulls, beside the baselines</h2>
<p>{ensemble.get("generated", {}).get("n_paths", "-")} candidate paths, judged on the held-out replicas
{html.escape(heldout_names)} (never trained on). Deterministic baselines count as that many copies of one path;
"heldout replica" is one held-out pull scored against the others, "heldout half" half of them against the other
half (the floor finite data allow). Path metrics are medians over the paths.</p>
<table><tr><th>metric</th>{ensemble_header}</tr>{ensemble_rows}</table>
{_img(run_dir / "compare" / "ensemble.png", "candidates against the held-out pulls")}

<h2>The best candidate and its refinement</h2>
<table><tr><th>metric</th><th>best candidate</th><th>refined</th></tr>{rows}</table>
<p>String: converged {s["converged"]}, {s["iterations"]} iterations, {s["force_evaluations"]} force evaluations,
highest energy {_num(s["highest_energy_above_start_kcal_mol"])} kcal/mol above the start.
Pulls along {html.escape(metrics["pulls"]["coordinate"]["label"])}: {metrics["pulls"]["replicas"]} replicas, mean final work {_num(metrics["pulls"]["final_mean_work_kcal_mol"])} kcal/mol;
reference frames with an inverted stereocentre: {gen.get("summary", {}).get("reference_frames_with_inverted_centres", "-")}.
System: {html.escape(str(config.get("system", {})))}, in {html.escape(solvent)}, stereochemistry {html.escape(stereo)};
{html.escape(potential)}.</p>

{_landscape_html(plane, rep / "landscape.png")}
<h2>Structures along the path</h2>
{_img(rep / "structures.png", "structures along the path")}

<h2>Energy, pulled coordinate and helicity along the path</h2>
{_img(rep / "profiles.png", "profiles along t")}

<h2>RMSD to the reference (the paper's Figure 2)</h2>
{_img(run_dir / "compare" / "generated" / "rmsd_heatmap.png", "RMSD heatmap, generated")}
{_img(run_dir / "compare" / "generated" / "rmsd_curves.png", "RMSD curves, generated")}
{_img(run_dir / "compare" / "refined" / "rmsd_heatmap.png", "RMSD heatmap, refined")}

<h2>Training</h2>
{_img(run_dir / "train" / "losses.png", "loss curves")}
<p>Losses by epoch: <code>{html.escape(str(model))}</code>.</p>

<h2>Free energy</h2>
{_img(run_dir / "pmf" / "pmf.png", "PMF from the pulls")}
{_img(run_dir / "pmf" / "work.png", "work of the pulls")}
{_img(run_dir / "pathcv" / "pmf_s.png", "PMF along the path")}

<h2>String convergence</h2>
{_img(run_dir / "refine" / "string.png", "string convergence")}

<h2>Run</h2>
<table><tr><th>stage</th><th>seconds</th></tr>{stage_rows}</table>
<h3>Versions</h3><table>{vers}</table>
<h3>Configuration</h3><pre>{html.escape(yaml.safe_dump(config, sort_keys=False))}</pre>
<script>
window.addEventListener("load", function () {{
  var imgs = document.querySelectorAll("img"), ok = 0;
  imgs.forEach(function (im) {{ if (im.complete && im.naturalWidth > 0) ok++; }});
  document.body.dataset.imagesLoaded = ok;
  document.body.dataset.imagesTotal = imgs.length;
  var empty = 0;
  document.body.querySelectorAll("*").forEach(function (el) {{
    if (["IMG", "BR", "SCRIPT", "STYLE"].indexOf(el.tagName) >= 0) return;
    if (el.children.length === 0 && el.textContent.trim() === "") empty++;
  }});
  document.body.dataset.emptyElements = empty;
}});
</script>
</body></html>
"""
    with atomic_file(run_dir / "report.html") as tmp:
        tmp.write_text(page)
    return metrics


#: The plane section's numbers: (key, label with unit, format).
LANDSCAPE_ROWS = [
    ("free_energy_difference_kcal_mol", "free energy, end basin - start basin (kcal/mol)", "{:.2f}"),
    (
        "free_energy_difference_phi_positive_kcal_mol",
        "free energy, x in (0, 131.8) - the rest (kcal/mol)",
        "{:.2f}",
    ),
    ("barrier_via_x0_kcal_mol", "free-energy barrier through x = 0 (kcal/mol)", "{:.2f}"),
    ("barrier_via_x180_kcal_mol", "free-energy barrier through x = 180 (kcal/mol)", "{:.2f}"),
    (
        "metadynamics_half_vs_full_kcal_mol",
        "largest change, half run vs whole run (kcal/mol, F < 10)",
        "{:.2f}",
    ),
    ("candidates_start_in_start_basin", "candidates starting in the start basin", "{:.2f}"),
    ("candidates_end_in_end_basin", "candidates ending in the end basin", "{:.2f}"),
    ("pulls_end_in_end_basin", "reference pulls ending in the end basin", "{:.2f}"),
    (
        "string_highest_free_energy_kcal_mol",
        "highest free energy along the refined string (kcal/mol)",
        "{:.2f}",
    ),
    (
        "string_max_energy_above_start_kcal_mol",
        "highest potential energy of the string above its start (kcal/mol)",
        "{:.2f}",
    ),
    (
        "string_barrier_kcal_mol",
        "string's barrier: its highest image above the lowest one before it (kcal/mol)",
        "{:.2f}",
    ),
    ("string_max_energy_kj_mol", "highest potential energy of the string, absolute (kJ/mol)", "{:.1f}"),
    (
        "pulls_max_energy_kj_mol",
        "highest potential energy along each 300 K pull, mean and s.d. (kJ/mol)",
        "{:.1f} +- {:.1f}",
    ),
    (
        "candidates_max_energy_kj_mol",
        "highest potential energy along each candidate, mean and s.d. (kJ/mol)",
        "{:.1f} +- {:.1f}",
    ),
]


def _landscape_html(plane: dict[str, Any] | None, png: Path) -> str:
    """The section of the paths on the plane of two torsions (empty when the landscape stage was off)."""
    if plane is None:
        return ""
    x, y = plane["torsions"]
    rows = "".join(
        f"<tr><td>{html.escape(label.replace('x =', f'{x} =').replace('x in', f'{x} in'))}</td>"
        f"<td>{_fmt({'summary': plane}, key, fmt)}</td></tr>"
        for key, label, fmt in LANDSCAPE_ROWS
        if key in plane
    )
    where = ""
    if "saddle_via_x0_deg" in plane:
        sx, sy = plane["string_highest_free_energy_at_deg"]
        where = (
            f"<p>The string's highest free energy is at ({sx:.0f}, {sy:.0f}) degrees; the surface's saddles are at "
            f"({plane['saddle_via_x0_deg'][0]:.0f}, {plane['saddle_via_x0_deg'][1]:.0f}) through {x} = 0 and "
            f"({plane['saddle_via_x180_deg'][0]:.0f}, {plane['saddle_via_x180_deg'][1]:.0f}) through 180.</p>"
        )
    return f"""<h2>The paths on the ({html.escape(x)}, {html.escape(y)}) plane</h2>
<p>Free energy from well-tempered metadynamics (the <code>landscape</code> stage), the reference pulls (held-out
ones in white), the generated candidates and the refined string. The string is a 0 K minimum-energy path: its
potential energies are not free energies and not the energies of 300 K paths.</p>
{_img(png, "paths on the torsion plane")}
<table><tr><th>quantity</th><th>value</th></tr>{rows}</table>
{where}
"""


def _headline(result: dict[str, Any], coordinate: dict[str, str]) -> list[tuple[str, str, str]]:
    """The headline rows, the end-to-end row replaced by the pulled coordinate's own deviation when it has one."""
    unit = coordinate.get("unit", "A")
    key = f"max_coordinate_deviation_{'deg' if unit == 'deg' else 'angstrom'}"
    if key not in result.get("summary", {}):
        return HEADLINE
    label = f"max deviation of the pulled {coordinate.get('label', 'coordinate')} from the reference mean ({unit})"
    return [
        (key, label, "{:.2f}") if k == "max_end_to_end_deviation_angstrom" else (k, lab, f)
        for k, lab, f in HEADLINE
    ]


def _without_bins(block: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k not in ("per_bin", "energy_by_bin")}


def _num(v) -> str:
    return "-" if v is None else f"{v:.1f}"


def _fmt(result: dict, key: str, fmt: str) -> str:
    v = result.get("summary", {}).get(key)
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    return fmt.format(*v) if isinstance(v, list) else fmt.format(v)
