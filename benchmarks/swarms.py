"""A swarms-of-trajectories string for deca-alanine in phi/psi (vacuum), helix to extended, and its free energy.

Run from the repository root (about 40 minutes on two shared cores at the defaults)::

    nice -n 5 python benchmarks/swarms.py --out runs/swarms_deca --images 12 --budget-min 37

End states: capped deca-alanine (AMBER ff14SB, vacuum), the minimised ideal alpha-helix of
``MolecularSystem.from_sequence`` (CA1-CA10 14.1 A), and the end of a 100 ps stiff-spring pull
(7.2 kcal/mol/A^2, CA1-CA10 from 14.1 to 28 A, 300 K) minimised with the spring held at 28 A
(CA1-CA10 about 27.6 A): the two ends of the umbrella PMF along the CA-CA distance. The first
string is that pull's frames, evenly spaced in time. Then :class:`SwarmsString` iterates in
the 20 backbone torsions (HBonds constraints, 2 fs, 300 K; restraint 120 kcal/mol/rad^2,
2 ps restrained runs, swarms of 16 x 20 fs) until its test passes (``--convergence``: the
window test, W = 10 iterations, the window means moving by less than 0.25 rad RMS over the
images and the profile within 3 of its errors; or the profile test, stationary since its
transient to ``--precision`` kcal/mol) or the wall-clock budget is spent. Measured (2026-12-05,
``--swarm-size 32 --swarm-steps 20 --budget-min 110``): 1,023 iterations under the window test,
never met (iterations are correlated over about 100, so at W = 10 the window drift stays at
0.35 rad). ``--reassess runs/swarms_deca/swarms.json --convergence profile`` judges that history
by the profile test: met at iteration 713, F(extended) - F(helix) = 27.4 +- 0.5 kcal/mol.
A run with ``--convergence profile`` (the same command line; its history is not the first
record's, see the README) stopped at iteration 792 with 27.6 +- 0.5 kcal/mol.

Written to ``--out``: ``swarms.json`` (history: drift per iteration, profile per iteration;
the window-mean profile with errors; the free-energy difference of the ends), ``swarms.npz``,
``swarms.png`` (profile and drift history), ``benchmark.json`` (settings, timings, CA-CA of
the seeds and of the final images, versions). The free energy here is that of the 20 torsions
at the two end points (restrained, K = ``--k``), not the PMF along the CA-CA distance: the two
differ by the entropy of everything else at a given distance, so they are compared, not equated.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import openmm as mm
import openmm.unit as u

from openmm_bridge.collective_variables import backbone_names, resolve
from openmm_bridge.context import langevin, make_context
from openmm_bridge.execution import dask_client
from openmm_bridge.fileio import atomic_file
from openmm_bridge.provenance import versions
from openmm_bridge.swarms import (
    CONVERGENCE_TESTS,
    SwarmsConfig,
    SwarmsString,
    convergence_tests,
    first_convergence,
    meets_convergence,
    plot_swarms,
    profile_stationarity,
    write_swarms_result,
)
from openmm_bridge.system import MolecularSystem
from openmm_bridge.trajio import mdtraj_topology
from openmm_bridge.units import kcal_a2_to_kj_nm2


def pulled_path(
    deca: MolecularSystem,
    end_angstrom: float,
    length_ps: float,
    k_kcal_mol_a2: float,
    n_frames: int,
    seed: int,
) -> np.ndarray:
    """Frames (n_frames, n_atoms, 3), Angstrom, of a stiff-spring pull of CA1-CA10 from the helix to ``end_angstrom``.

    The first frame is the minimised helix, the last the final structure minimised with the spring
    held at ``end_angstrom`` (HBonds constraints, 2 fs, 300 K, Langevin 1/ps; 5 ps at the start first).
    """
    a, b = deca.end_to_end_atoms()
    system = deca.md_system("HBonds")
    spring = mm.CustomBondForce("0.5*kpull*(r - r0)^2")
    spring.addGlobalParameter("kpull", float(kcal_a2_to_kj_nm2(k_kcal_mol_a2)))
    start_angstrom = ca_distance(deca, deca.positions_angstrom())
    spring.addGlobalParameter("r0", start_angstrom / 10)
    spring.addBond(a, b, [])
    system.addForce(spring)
    context = make_context(system, "Reference", langevin(300.0, 1.0, 2.0, seed))
    context.setPositions(deca.positions)
    context.setVelocitiesToTemperature(300.0 * u.kelvin, seed)
    context.getIntegrator().step(2500)
    n_steps = int(round(length_ps / 0.002))
    chunk = max(n_steps // (n_frames - 1), 1)
    frames = [deca.positions_angstrom()]
    for i in range(1, n_frames):
        context.setParameter(
            "r0", (start_angstrom + (end_angstrom - start_angstrom) * i / (n_frames - 1)) / 10
        )
        context.getIntegrator().step(chunk)
        xyz = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.angstrom)
        frames.append(np.asarray(xyz))
    mm.LocalEnergyMinimizer.minimize(context, 1.0, 0)
    frames[-1] = np.asarray(
        context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.angstrom)
    )
    return np.array(frames)


def ca_distance(deca: MolecularSystem, xyz: np.ndarray) -> float:
    """CA1-CA10 distance (A) of one structure."""
    a, b = deca.end_to_end_atoms()
    return float(np.linalg.norm(xyz[a] - xyz[b]))


def model_check(out: Path, seed: int, convergence: str = "window") -> None:
    """The test's run on the curved double well, drawn: contours, exact path, first and final strings, profiles."""
    from openmm_bridge.collective_variables import cartesian
    from openmm_bridge.model_surfaces import (
        CurvedDoubleWell,
        distance_to_path,
        minimum_energy_path,
        structures,
    )
    from openmm_bridge.plots import plt, save_figure
    from openmm_bridge.swarms import free_energy_profile

    surface = CurvedDoubleWell()
    exact = minimum_energy_path(surface, 401)
    start = np.linspace(*surface.minima, 9)
    xy = [cartesian("x:0", 1), cartesian("y:0", 1)]
    cfg = SwarmsConfig(
        max_iterations=100, restraint_k_kcal_mol=100.0, equilibration_steps=400, sample_every_steps=5,
        swarm_size=48, swarm_steps=10, friction_per_ps=5.0, timestep_fs=2.0, smoothing=0.0,
        convergence_window=10, tol_drift=0.025, seed=seed, convergence=convergence,
    )  # fmt: skip
    t0 = time.time()
    result = SwarmsString(surface.system(mass_amu=4.0), structures(start), xy, cfg).run(
        n_workers=2, progress=False
    )
    wall = time.time() - t0
    force = surface.restrained_mean_force(result.z_mean, 100.0, 300.0)
    expected, _ = free_energy_profile(result.z_mean, force, np.zeros_like(force), np.zeros(2, bool))
    v = surface.energy(result.z_mean) - surface.energy(surface.minima[0])
    write_swarms_result(result, xy, out, cfg)
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    gx, gy = np.meshgrid(np.linspace(-1.5, 1.5, 200), np.linspace(-1.2, 0.6, 120))
    a.contour(
        gx,
        gy,
        surface.energy(np.stack([gx, gy], -1)),
        levels=np.arange(0, 8, 0.5),
        colors="0.75",
        linewidths=0.6,
    )
    a.plot(*exact.T, "k-", label="exact minimum energy path")
    a.plot(*start.T, "C1o--", ms=4, label="first string")
    a.plot(
        *result.z_mean.T, "C0o-", ms=5, label=f"swarms, mean of the last {cfg.convergence_window} iterations"
    )
    a.set_xlabel("x (A)")
    a.set_ylabel("y (A)")
    a.set_aspect("equal")
    a.legend(frameon=False, fontsize=8, loc="lower left")
    a.set_title(f"converged at iteration {result.iterations}" if result.converged else "not converged")
    b.errorbar(result.arc_length, result.profile_kcal_mol, yerr=result.profile_error_kcal_mol, fmt="C0o", capsize=2,
               label="swarms profile (window mean)")  # fmt: skip
    b.plot(
        result.arc_length, expected, "k.--", label="its exact expectation (restrained mean force, trapezoid)"
    )
    b.plot(result.arc_length, v, "k-", lw=0.8, label="V at the images")
    b.set_xlabel("arc length (A)")
    b.set_ylabel("free energy (kcal/mol)")
    b.legend(frameon=False, fontsize=8)
    save_figure(fig, out / "model.png")
    summary = {
        "convergence": convergence,
        "converged": result.converged,
        "iterations": result.iterations,
        "wall_s": wall,
        "max_distance_to_exact_path_angstrom": float(distance_to_path(result.z_mean, exact).max()),
        "max_abs_z_profile": float(
            np.max(np.abs((result.profile_kcal_mol - expected)[1:] / result.profile_error_kcal_mol[1:]))
        ),
        "estimator_bias_at_saddle_kcal_mol": float(expected[4] - v[4]),
        "versions": versions(),
    }
    with atomic_file(out / "model.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "versions"}, indent=1))


def reassess(path: Path, convergence: str, precision: float, umbrella: Path | None = None) -> None:
    """Replay a recorded history through another stopping test: where it would have stopped, and what it says then and at the end.

    Valid because the tests never feed back into the iterations (:func:`first_convergence`).
    Written beside the history as ``reassess-<convergence>.json``.
    """
    meta = json.loads(path.read_text())
    cfg = SwarmsConfig.from_dict(
        meta["config"] | {"convergence": convergence, "profile_precision_kcal_mol": precision}
    )
    # files written before "periodic" was recorded: every torsion name starts with its kind
    torsion = ("phi", "psi", "omega", "chi1", "chi2", "chi3", "chi4")
    names = meta["collective_variables"]
    periodic = np.array(meta.get("periodic") or [n.split(":")[0] in torsion for n in names])
    history = meta["history"]
    stop = first_convergence(history, cfg, periodic)

    def state(rows: list[dict]) -> dict:
        st = profile_stationarity(rows, periodic, cfg.tol_profile_kcal_mol, cfg.profile_sigmas, precision)
        out = {k: v for k, v in st.items() if not isinstance(v, np.ndarray)}
        return out | {
            "iterations": len(rows),
            "delta_f_kcal_mol": float(st["profile_kcal_mol"][-1]),
            "delta_f_error_kcal_mol": float(st["profile_error_kcal_mol"][-1]),
        }

    report = {
        "history": str(path),
        "convergence": convergence,
        "profile_precision_kcal_mol": precision,
        "stops_at_iteration": stop,
        "at_stop": state(history[:stop]) if stop else None,
        "at_end": state(history),
        "later_prefixes_passing_fraction": (
            float(np.mean([meets(history[:t], cfg, periodic) for t in range(stop, len(history) + 1, 10)]))
            if stop
            else None
        ),
        "versions": versions(),
    }
    with atomic_file(path.parent / f"reassess-{convergence}.json") as tmp:
        tmp.write_text(json.dumps(report, indent=1) + "\n")
    draw_reassessment(history, periodic, cfg, stop, path.parent / f"reassess-{convergence}.png")
    if umbrella is not None:
        draw_beside_umbrella(path, history, periodic, cfg, umbrella, path.parent / "beside_umbrella.png")
    print(json.dumps({k: v for k, v in report.items() if k != "versions"}, indent=1))


def draw_reassessment(
    history: list[dict], periodic: np.ndarray, cfg: SwarmsConfig, stop: int | None, png: Path
) -> None:
    """Three panels: the production's profile (at the stop and at the end), each iteration's
    end-to-end free energy with blocks of 100, and the string's distance to its recent mean."""
    from openmm_bridge.plots import plt, save_figure
    from openmm_bridge.swarms import arc_length, string_distance

    fig, (a, b, c) = plt.subplots(1, 3, figsize=(16, 4.2))
    ends = {"at the end": history} | ({f"at the stop (iteration {stop})": history[:stop]} if stop else {})
    for label, rows in ends.items():
        st = profile_stationarity(
            rows, periodic, cfg.tol_profile_kcal_mol, cfg.profile_sigmas, cfg.profile_precision_kcal_mol
        )
        a.errorbar(arc_length(st["z"], periodic), st["profile_kcal_mol"], yerr=st["profile_error_kcal_mol"],
                   marker=".", capsize=2, label=f"{label}: iterations {st['production_from_iteration']}-{len(rows)}")  # fmt: skip
    a.set(xlabel="arc length along the mean string (rad)", ylabel="free energy (kcal/mol)",
          title="profile: mean over the production")  # fmt: skip
    a.legend(frameon=False, fontsize=8)
    it = np.array([row["iteration"] for row in history])
    d_f = np.array([row["profile_kcal_mol"][-1] for row in history])
    b.plot(it, d_f, ".", ms=2, color="0.6", label="each iteration")
    n = len(d_f) // 100 * 100
    b.plot(it[:n].reshape(-1, 100).mean(1), d_f[:n].reshape(-1, 100).mean(1), "C0s-", label="blocks of 100")
    c.plot(it, string_distance(history, periodic), "C2-", lw=0.8)
    production = profile_stationarity(history, periodic, cfg.tol_profile_kcal_mol, cfg.profile_sigmas,
                                      cfg.profile_precision_kcal_mol)["production_from_iteration"]  # fmt: skip
    for ax in (b, c):
        ax.axvline(production, color="k", ls=":", lw=1, label=f"production from {production} (at the end)")
        if stop:
            ax.axvline(stop, color="C3", ls="--", lw=1, label=f"profile test met at {stop}")
    b.set(xlabel="iteration", ylabel="F(last image) - F(first) (kcal/mol)", title="end-to-end free energy")
    b.legend(frameon=False, fontsize=8)
    c.set(xlabel="iteration", ylabel="RMS distance (rad)", title="string to the mean of the last quarter")
    c.legend(frameon=False, fontsize=8)
    save_figure(fig, png)


def draw_beside_umbrella(
    path: Path, history: list[dict], periodic: np.ndarray, cfg: SwarmsConfig, umbrella: Path, png: Path
) -> None:
    """The swarms' production profile beside an umbrella PMF along CA1-CA10 (two panels, same energy scale).

    Left: the umbrella PMF against the distance, the swarms' images placed at the CA1-CA10 of
    their last restrained structures (``benchmark.json``; single structures, so only a guide).
    Right: the swarms' profile along its own arc length. The end-to-end differences are marked.
    """
    from openmm_bridge.plots import plt, save_figure
    from openmm_bridge.swarms import arc_length

    u_meta = json.loads(umbrella.read_text())
    x = np.asarray(u_meta["pmf"]["x"], dtype=float)
    f = np.asarray(u_meta["pmf"]["pmf_kcal_mol"], dtype=float)
    e = np.asarray(u_meta["pmf"]["pmf_err_kcal_mol"], dtype=float)
    f = f - np.nanmin(f)
    st = profile_stationarity(
        history, periodic, cfg.tol_profile_kcal_mol, cfg.profile_sigmas, cfg.profile_precision_kcal_mol
    )
    bench = json.loads((path.parent / "benchmark.json").read_text())
    ca = np.asarray(bench["ca_ca_of_images_angstrom"])
    ends = bench["ca_ca_angstrom"]
    ok = np.isfinite(f)
    f_ends = np.interp([ends["helix"], ends["extended"]], x[ok], f[ok])
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    a.errorbar(
        x, f, yerr=e, marker=".", ms=3, lw=1, label=f"umbrella/MBAR ({len(u_meta['windows'])} windows)"
    )
    a.plot(
        ca,
        f_ends[0] + st["profile_kcal_mol"],
        "C3o",
        ms=4,
        label="swarms images at their CA1-CA10 (last structures)",
    )
    for v in f_ends:
        a.axhline(v, color="0.6", lw=0.6, ls=":")
    a.set(xlabel="CA(1)-CA(10) distance (A)", ylabel="free energy (kcal/mol)",
          title=f"umbrella: F({ends['extended']:.1f} A) - F({ends['helix']:.1f} A) = {f_ends[1] - f_ends[0]:.1f} kcal/mol")  # fmt: skip
    a.legend(frameon=False, fontsize=8)
    b.errorbar(arc_length(st["z"], periodic), f_ends[0] + st["profile_kcal_mol"], yerr=st["profile_error_kcal_mol"],
               color="C3", marker="o", ms=4, capsize=2)  # fmt: skip
    b.set(xlabel="arc length along the swarms' mean string (rad)",
          title=f"swarms (iterations {st['production_from_iteration']}-{len(history)}): "
          f"{st['profile_kcal_mol'][-1]:.1f} +- {st['profile_error_kcal_mol'][-1]:.1f} kcal/mol")  # fmt: skip
    save_figure(fig, png)


def meets(history: list[dict], cfg: SwarmsConfig, periodic: np.ndarray) -> bool:
    """Whether the test passes on this much of the history."""
    return meets_convergence(convergence_tests(history, cfg, periodic), cfg)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("runs/swarms_deca"))
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--budget-min", type=float, default=40.0, help="wall clock for the iterations")
    parser.add_argument("--max-iterations", type=int, default=400)
    parser.add_argument("--equilibration-steps", type=int, default=1000)
    parser.add_argument("--swarm-size", type=int, default=16)
    parser.add_argument("--swarm-steps", type=int, default=10)
    parser.add_argument("--k", type=float, default=120.0, help="restraint, kcal/mol/rad^2")
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument(
        "--tol-drift", type=float, default=0.25, help="rad, RMS over images of the window means"
    )
    parser.add_argument("--end", type=float, default=28.0, help="CA1-CA10 of the extended end, A")
    parser.add_argument("--pull-ps", type=float, default=100.0, help="the seeding pull's length")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--platform", default="Reference")
    parser.add_argument("--model", action="store_true", help="only the analytic 2-D check (about a minute)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--convergence", choices=CONVERGENCE_TESTS, default="window", help="the stopping test"
    )
    parser.add_argument(
        "--precision", type=float, default=0.5, help='"profile": kcal/mol, the mean\'s largest error'
    )
    parser.add_argument("--beside", type=Path, metavar="UMBRELLA_JSON",
                        help="with --reassess: draw the profile beside this umbrella PMF along CA1-CA10 (umbrella.json)")  # fmt: skip
    parser.add_argument("--reassess", type=Path, metavar="SWARMS_JSON",
                        help="judge a recorded run's history by --convergence instead of running (writes reassess.json beside it)")  # fmt: skip
    args = parser.parse_args()
    if args.model:
        model_check(args.out, args.seed, args.convergence)
        return
    if args.reassess:
        reassess(args.reassess, args.convergence, args.precision, args.beside)
        return
    t0 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deca = MolecularSystem.from_sequence()
    seeds = pulled_path(deca, args.end, args.pull_ps, 7.2, args.images, seed=1)
    top = mdtraj_topology(deca)
    cvs = resolve(top, backbone_names(top))
    system = deca.md_system("HBonds")
    cfg = SwarmsConfig(
        max_iterations=args.max_iterations,
        restraint_k_kcal_mol=args.k,
        equilibration_steps=args.equilibration_steps,
        sample_every_steps=10,
        swarm_size=args.swarm_size,
        swarm_steps=args.swarm_steps,
        timestep_fs=2.0,
        convergence_window=args.window,
        tol_drift=args.tol_drift,
        convergence=args.convergence,
        profile_precision_kcal_mol=args.precision,
        platform=args.platform,
    )
    t_setup = time.time() - t0
    string = SwarmsString(system, seeds, cvs, cfg)
    converged = False
    t1 = time.time()
    with dask_client(None, args.workers) as client:
        for it in range(cfg.max_iterations):
            row = string.iterate(it, client=client)
            print(
                f"iteration {row['iteration']:4d}  {time.time() - t1:7.0f} s  move {row['rms_displacement_cv']:.3f} rad  "
                f"window drift {row['window_drift_cv'] or float('nan'):.3f} rad  "
                f"profile change {row['window_profile_change_sigmas'] or float('nan'):.2f} sigma  "
                f"dF {row['profile_kcal_mol'][-1]:7.2f} kcal/mol",
                flush=True,
            )
            if string.converged():
                converged = True
                break
            if time.time() - t1 > 60 * args.budget_min:
                break
    result = string.result(converged)
    write_swarms_result(result, cvs, args.out, cfg)
    plot_swarms(result, args.out / "swarms.png", "deca-alanine, phi/psi")
    d_f, d_f_err = result.delta_f_kcal_mol
    summary = {
        "converged": converged,
        "iterations": result.iterations,
        "delta_f_kcal_mol": d_f,
        "delta_f_error_kcal_mol": d_f_err,
        "barrier_kcal_mol": float(result.profile_kcal_mol.max()),
        "ca_ca_angstrom": {"helix": ca_distance(deca, seeds[0]), "extended": ca_distance(deca, seeds[-1])},
        "ca_ca_of_images_angstrom": [ca_distance(deca, x) for x in result.structures],
        "ca_ca_of_seeds_angstrom": [ca_distance(deca, x) for x in seeds],
        "images": args.images,
        "workers": args.workers,
        "setup_s": t_setup,
        "iterations_s": time.time() - t1,
        "config": cfg.to_dict(),
        "versions": versions(),
    }
    with atomic_file(args.out / "benchmark.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k not in ("config", "versions")}, indent=1))


if __name__ == "__main__":
    main()
