"""MD steps per second of deca-alanine on each OpenMM platform this machine has, same run.

The dynamics ``pathgan smd`` runs (Langevin middle, 2 fs, 300 K, 1/ps, bonds to hydrogen
constrained, no cutoff), of capped deca-alanine (AMBER ff14SB, 112 atoms) in vacuum and in OBC2
implicit solvent, on Reference, CPU (1 thread and all cores), CUDA (single and mixed precision)
and OpenCL, whichever load here. Each platform runs steps in chunks until ``--seconds`` have
passed; the best of ``--rounds`` interleaved rounds is kept, and each rate is given as a ratio to
the CPU platform on all cores in the same run (on one thread, or Reference, when that is left out).
``--only`` keeps the named variants and ``--systems`` the named systems, in the order given; the
markdown table is rewritten after each system, so a run cut short keeps what it finished.

    python benchmarks/gpu/openmm_platforms.py [--seconds 3] [--rounds 2] [--markdown FILE]
    python benchmarks/gpu/openmm_platforms.py --systems OBC2 vacuum \
        --only Reference "CPU 1 thread" "CUDA mixed" "OpenCL mixed"
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import openmm as mm
import openmm.unit as u

from openmm_bridge.context import available_platforms, get_platform, langevin
from openmm_bridge.system import MolecularSystem

SYSTEMS = {
    "vacuum": ("amber14-all.xml",),
    "OBC2": ("amber14-all.xml", "implicit/obc2.xml"),
}


def variants(cores: int) -> list[tuple[str, str, dict[str, str]]]:
    """(label, platform, properties) of every platform variant available here."""
    have = set(available_platforms())
    out = [("Reference", "Reference", {})]
    if "CPU" in have:
        out += [
            ("CPU 1 thread", "CPU", {"Threads": "1"}),
            (f"CPU {cores} threads", "CPU", {"Threads": str(cores)}),
        ]
    for gpu in ("CUDA", "OpenCL"):
        if gpu in have:
            out += [(f"{gpu} {p}", gpu, {"Precision": p}) for p in ("single", "mixed")]
    return out


def steps_per_s(context: mm.Context, integrator: mm.Integrator, seconds: float, chunk: int) -> float:
    """Steps per second over at least ``seconds`` (positions read back at the end, so a GPU has finished)."""
    n, t0 = 0, time.perf_counter()
    while True:
        integrator.step(chunk)
        n += chunk
        context.getState(getEnergy=True)  # waits for the device
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per platform and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=250, help="steps between reads of the state")
    parser.add_argument("--markdown", help="also write the table to this markdown file")
    parser.add_argument("--systems", nargs="+", choices=list(SYSTEMS), default=list(SYSTEMS))
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="LABEL",
        help="variants to run, e.g. Reference 'CPU 1 thread' 'CUDA mixed'",
    )
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    plan = variants(cores)
    notes = []
    if args.only:
        missing = [label for label in args.only if label not in {v[0] for v in plan}]
        notes += [f"not available here: {label}" for label in missing]
        plan = [v for v in plan if v[0] in args.only]
    labels = [v[0] for v in plan]
    bases = [b for b in (f"CPU {cores} threads", "CPU 1 thread", "Reference") if b in labels]
    base_label = (bases or labels or ["Reference"])[0]
    title = (
        f"OpenMM {mm.__version__}, deca-alanine (112 atoms), Langevin middle 2 fs, HBonds, no cutoff; "
        f"best of {args.rounds} rounds of {args.seconds:g} s; ratio to '{base_label}' in the same run"
    )
    print(title)
    for note in notes:
        print(" ", note)
    failures = [f for f in mm.Platform.getPluginLoadFailures() if "CUDA" in f or "OpenCL" in f]
    for f in failures:
        print("  plugin not loaded:", f)
    table = [["system", "platform", "steps/s", "ns/day", f"ratio to {base_label}"]]
    for solvent in args.systems:
        forcefield = SYSTEMS[solvent]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            system = MolecularSystem.from_sequence("AAAAAAAAAA", forcefield)
        md = system.md_system("HBonds")
        sims = {}
        for label, name, props in plan:
            platform, base = get_platform(name)
            integrator = langevin(300.0, 1.0, 2.0, seed=1)
            try:
                context = mm.Context(mm.XmlSerializer.clone(md), integrator, platform, {**base, **props})
            except mm.OpenMMException as err:  # a platform that loads but cannot run here
                print(f"  {solvent} {label}: {err}")
                continue
            context.setPositions(system.positions)
            context.setVelocitiesToTemperature(300.0 * u.kelvin, 1)
            integrator.step(100)  # warm-up: kernels compiled, buffers sized
            sims[label] = (context, integrator)
        best = dict.fromkeys(sims, 0.0)
        for _ in range(args.rounds):
            for label, (context, integrator) in sims.items():
                best[label] = max(best[label], steps_per_s(context, integrator, args.seconds, args.chunk))
        if not best:
            continue
        base_rate = best.get(base_label) or next(iter(best.values()))
        for label, rate in best.items():
            row = [solvent, label, f"{rate:.0f}", f"{rate * 2e-6 * 86400:.1f}", f"{rate / base_rate:.2f}x"]
            table.append(row)
            print(
                f"{solvent:>7} {label:<18} {rate:10.0f} steps/s {rate * 2e-6 * 86400:8.1f} ns/day {rate / base_rate:7.2f}x"
            )
        if args.markdown:
            write_markdown(args.markdown, title, table, notes, failures)


def write_markdown(
    path: str, title: str, table: list[list[str]], notes: list[str], failures: list[str]
) -> None:
    """The table so far, with the variants not available and the plugins that did not load."""
    lines = [f"{title}\n", "| " + " | ".join(table[0]) + " |", "|" + " --- |" * len(table[0])]
    lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
    if notes:
        lines += ["", *[f"- {n}" for n in notes]]
    if failures:
        lines += ["", "Plugins not loaded:", *[f"- {f}" for f in failures]]
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
