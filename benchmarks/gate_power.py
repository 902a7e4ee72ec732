"""How good a gate is ``benchsuite ab``? False alarms in A/A trials, detection of injected
slowdowns, quiet and beside one busy process.

Each trial is one ``benchsuite ab`` (through :func:`benchsuite.api.ab`) of ``--cases`` cases
of the ``burn`` backend (benchmarks/gate/gate_backend.py: a NumPy matmul per step, plus
``GATE_SLOWDOWN`` × the step's own time of spinning), base = this Python, new = a wrapper
script that sets ``GATE_SLOWDOWN`` (0: an A/A trial; 0.05, 0.10: a 5% and 10% slowdown) and
runs this Python. Every condition runs ``--trials`` trials quiet, then the same with one busy
co-tenant (``python -c "while True: pass"``, started and stopped here). It prints a Markdown
table: per condition, the share of case verdicts that were slower / faster / same /
inconclusive / contended, the share of trials the gate failed (exit 1: some case slower), and
the mean seconds per trial, with the load average before each condition.

    python benchmarks/gate_power.py                      # 20 trials each, 4 cases a trial
    python benchmarks/gate_power.py --trials 2 --no-busy # a smoke test (about a minute)
    python benchmarks/gate_power.py --quick-suite        # also: ab --quick vs run --quick
    python benchmarks/gate_power.py --precision 0.02 --max-rounds 40   # rounds until +-2%

A quiet trial takes about 10 s; beside the busy co-tenant about 30 s (contended rounds are
re-run, and after one full settle wait the turns only glance at the CPU): the default full
measurement is about 15 minutes quiet and 30 busy (``--trials`` and ``--cases`` trade
precision for time).

Targets (issue 14): quiet false alarms <= 1% of case verdicts; a 10% slowdown fails the gate
in >= 95% of trials, 5% in >= 80%; ``ab --quick`` <= 2.5x one ``run --quick``. Run it on an
otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from importlib.metadata import EntryPoint
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VERDICTS = ("slower", "faster", "same", "inconclusive", "contended", "failed")


def wrapper(folder: Path, slowdown: float) -> Path:
    """A 'python' that is this one with GATE_SLOWDOWN set."""
    path = folder / f"python-slowdown-{slowdown:g}"
    path.write_text(f'#!/bin/sh\nGATE_SLOWDOWN={slowdown:g} exec "{sys.executable}" "$@"\n')
    path.chmod(0o755)
    return path


def trial(registry, python: Path, args: argparse.Namespace, out: Path) -> tuple[list, float]:
    from benchsuite import api
    from benchsuite.cases import Settings

    settings = Settings(backends=["burn"], models=[("logreg", {})], modes=("train",),
                        batch_sizes=tuple(16 * (i + 1) for i in range(args.cases)),
                        repeats=args.rounds, min_time=args.min_time, threads=1,
                        parity=False, gemm_size=64, precision=args.precision,
                        max_repeats=args.max_rounds)
    t0 = time.perf_counter()
    outcome = api.ab(settings, sys.executable, python, margin=args.margin, output=out,
                     registry=registry)
    return outcome.document["ab"]["verdicts"], time.perf_counter() - t0


def condition(registry, python: Path, args, out: Path) -> dict:
    counts = dict.fromkeys(VERDICTS, 0)
    failed_gate, seconds = 0, []
    for _ in range(args.trials):
        verdicts, took = trial(registry, python, args, out)
        seconds.append(took)
        for v in verdicts:
            counts[v["verdict"]] = counts.get(v["verdict"], 0) + 1
        failed_gate += any(v["verdict"] in ("slower", "failed") for v in verdicts)
    return {"counts": counts, "cases": sum(counts.values()), "failed_gate": failed_gate,
            "seconds": sum(seconds) / len(seconds)}


def quick_suite(folder: Path) -> str:
    """``benchsuite run --quick`` and ``benchsuite ab --quick`` (A/A) on the installed
    backends, timed."""
    times = {}
    for name, cmd in (("run --quick", ["run", "--quick", "--no-parity"]),
                      ("ab --quick", ["ab", "--quick", "--base-python", sys.executable,
                                      "--python", sys.executable])):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "benchsuite", *cmd, "-o", str(folder / "q")],
                       check=False, stdout=subprocess.DEVNULL)
        times[name] = time.perf_counter() - t0
    ratio = times["ab --quick"] / times["run --quick"]
    return (f"quick suite: run --quick {times['run --quick']:.1f} s, ab --quick "
            f"{times['ab --quick']:.1f} s: {ratio:.2f}x (target <= 2.5x)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=20, help="trials per condition [20]")
    p.add_argument("--cases", type=int, default=4, help="cases per trial [4]")
    p.add_argument("--rounds", type=int, default=10, help="ab --repeats [10]")
    p.add_argument("--min-time", type=float, default=0.05,
                   help="seconds per repeat [0.05, as ab --quick]")
    p.add_argument("--margin", type=float, default=0.03, help="ab --margin [0.03]")
    p.add_argument("--precision", type=float, default=None,
                   help="ab --precision as a fraction: rounds past --rounds until the CI is "
                        "this narrow [off]")
    p.add_argument("--max-rounds", type=int, default=None,
                   help="ab --max-repeats [2 x --rounds with --precision]")
    p.add_argument("--slowdowns", default="0,0.05,0.10", help="injected slowdowns [0,0.05,0.10]")
    p.add_argument("--no-busy", action="store_true", help="skip the busy co-tenant half")
    p.add_argument("--quick-suite", action="store_true",
                   help="also time ab --quick against run --quick on the installed backends")
    args = p.parse_args()
    # The workers of the two 'pythons' import the burn backend and this checkout from here.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [
        str(HERE / "gate"), str(ROOT), os.environ.get("PYTHONPATH")]))
    sys.path[:0] = [str(HERE / "gate"), str(ROOT)]
    from benchsuite.plugins import load_registry

    registry = load_registry([EntryPoint("gate", "gate_backend", "benchsuite")])
    rows = []
    with tempfile.TemporaryDirectory(prefix="gate-power-") as tmp:
        folder = Path(tmp)
        slowdowns = [float(s) for s in args.slowdowns.split(",")]
        for load in ("quiet",) if args.no_busy else ("quiet", "busy"):
            busy = None
            if load == "busy":
                busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                time.sleep(1)
            try:
                for s in slowdowns:
                    loadavg = os.getloadavg()[0]
                    print(f"{load}, slowdown {s:.0%}: {args.trials} trials "
                          f"(load average {loadavg:.2f})", file=sys.stderr)
                    result = condition(registry, wrapper(folder, s), args, folder / "out")
                    rows.append((load, s, loadavg, result))
            finally:
                if busy is not None:
                    busy.terminate()
                    busy.wait(10)
        suite = quick_suite(folder) if args.quick_suite else None
    print(table(rows, args))
    if suite:
        print(f"\n{suite}")
    return 0


def table(rows, args) -> str:
    head = ("| load | injected | load avg | trials | case verdicts | slower | faster | same | "
            "inconclusive | contended | gate failed (trials) | s / trial |")
    rounds = (f"{args.rounds} rounds" if args.precision is None else
              f"{args.rounds} rounds, then more (at most {args.max_rounds or 2 * args.rounds}) "
              f"until the CI is within ±{100 * args.precision:g}%")
    lines = [f"{args.cases} cases a trial, {rounds} of >= {args.min_time:g} s, "
             f"margin ±{100 * args.margin:g}%\n", head, "|" + "---|" * 12]
    for load, s, loadavg, r in rows:
        n = r["cases"] or 1
        pct = {k: f"{100 * r['counts'].get(k, 0) / n:.1f}%" for k in VERDICTS}
        lines.append(f"| {load} | {s:.0%} | {loadavg:.2f} | {args.trials} | {r['cases']} | "
                     f"{pct['slower']} | {pct['faster']} | {pct['same']} | "
                     f"{pct['inconclusive']} | {pct['contended']} | "
                     f"{100 * r['failed_gate'] / args.trials:.0f}% | {r['seconds']:.1f} |")
    lines.append("\nA/A rows: slower + faster is the false-alarm rate (target <= 1% quiet); "
                 "slowdown rows: 'gate failed' is the detection rate (targets: 10% >= 95%, "
                 "5% >= 80%).")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
