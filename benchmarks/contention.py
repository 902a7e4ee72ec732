"""Does the contention detector catch what a co-tenant does to the numbers?

Runs the same `benchsuite run` matrix quiet, then with one busy process beside it (started and
stopped by this script), and tabulates per case: the quiet and loaded medians, loaded / quiet,
whether the loaded case was flagged contended, how many repeats were re-run, and whether the
case is *silently off*: more than 15% below its quiet throughput and not flagged.

    python benchmarks/contention.py                      # numpy, torch, tensorflow; mlp, convnet
    python benchmarks/contention.py --busy 2 --out /tmp/contention
    python benchmarks/contention.py --threads 1   # a core left spare for the busy process

Run it on an otherwise idle machine (no test suite, no other benchmark): the quiet run is the
reference. It prints the load average before each run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SILENT_LIMIT = 0.85  # loaded / quiet below this, unflagged, is a silent lie


def run(out: Path, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, "-m", "benchsuite", "run", "--mode", "train", "--no-parity",
           "-o", str(out)]
    for b in args.backends:
        cmd += ["-b", b]
    for m in args.models:
        cmd += ["-m", m]
    if args.quick:
        cmd.append("--quick")
    if args.threads:
        cmd += ["--threads", args.threads]
    print(f"load average {os.getloadavg()[0]:.2f}: {' '.join(cmd[1:])}", file=sys.stderr)
    subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL)
    (path,) = sorted(out.glob("*.json"))
    return json.loads(path.read_text())


def by_case(doc: dict) -> dict:
    return {(c["backend"], c["model"], c["mode"], c["batch_size"]): c for c in doc["cases"]
            if c["status"] == "ok"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", nargs="+", default=["numpy", "torch", "tensorflow"])
    ap.add_argument("--models", nargs="+", default=["mlp", "convnet"])
    ap.add_argument("--busy", type=int, default=1, help="busy co-tenant processes")
    ap.add_argument("--no-quick", dest="quick", action="store_false")
    ap.add_argument("--threads", default=None,
                    help="run's --threads for both runs (a count; default: all cores)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="contention-"))
    quiet = by_case(run(out / "quiet", args))
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(args.busy)]
    try:
        loaded_doc = run(out / "loaded", args)
    finally:
        for p in hogs:
            p.kill()
            p.wait()
    loaded = by_case(loaded_doc)
    print(f"idle check before the loaded run: {loaded_doc.get('idle_check')}")
    print("| backend | model | quiet samples/s | loaded samples/s | loaded / quiet | contended "
          "| repeats taken (contended) | silently off |")
    print("|---|---|--:|--:|--:|---|--:|---|")
    silent = 0
    for key in sorted(set(quiet) & set(loaded)):
        q, ld = quiet[key]["throughput"]["median"], loaded[key]["throughput"]["median"]
        block = loaded[key].get("contention") or {}
        flagged = bool(block.get("contended"))
        off = ld / q < SILENT_LIMIT and not flagged
        silent += off
        print(f"| {key[0]} | {key[1]} | {q:,.0f} | {ld:,.0f} | {ld / q:.2f} | "
              f"{'yes' if flagged else 'no'} | {block.get('repeats_taken', '')} "
              f"({block.get('repeats_contended', '')}) | {'**yes**' if off else 'no'} |")
    quiet_flagged = sum(bool((c.get("contention") or {}).get("contended"))
                        for c in quiet.values())
    print(f"\nquiet run: {quiet_flagged} of {len(quiet)} cases flagged contended; loaded run: "
          f"{silent} case(s) silently more than {100 * (1 - SILENT_LIMIT):.0f}% off")
    return 1 if silent else 0


if __name__ == "__main__":
    sys.exit(main())
