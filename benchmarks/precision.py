"""How precisely does a run know each paired speed-up, and at what cost in time?

Runs `benchsuite run` once per setting below (the default matrix unless -b/-m narrow it) and
tabulates, per case and pair of backends (torch/tensorflow by default), the paired ratio's 95%
CI half-width (the one the report shows), the rounds the case took, and the run's wall time:

    python benchmarks/precision.py                          # off, then the default (5%)
    python benchmarks/precision.py --setting "--precision 2% --max-repeats 30"

Run it on an otherwise idle machine; it prints the load average before each run.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchsuite import stats

SETTINGS = ["--precision off", ""]  # 5 rounds of >= 0.2 s; the default (5%, at most 15)


def run(out: Path, setting: str, args: argparse.Namespace) -> tuple[dict, float]:
    cmd = [sys.executable, "-m", "benchsuite", "run", "-o", str(out), *shlex.split(setting),
           *shlex.split(args.extra)]
    for b in args.backends:
        cmd += ["-b", b]
    for m in args.models:
        cmd += ["-m", m]
    print(f"load average {os.getloadavg()[0]:.2f}: {' '.join(cmd[3:])}", file=sys.stderr)
    start = time.perf_counter()
    subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    (path,) = sorted(out.glob("*.json"))
    return json.loads(path.read_text()), wall


def half_widths(doc: dict, a: str, b: str) -> dict[tuple, tuple[float, int]]:
    """(model, mode, batch) → (half-width of b/a's paired ratio, rounds paired)."""
    cases = {}
    for c in doc["cases"]:
        if c["status"] == "ok" and c.get("interleaving"):
            cases.setdefault((c["model"], c["mode"], c["batch_size"]), {})[c["backend"]] = c
    out = {}
    for key, by in sorted(cases.items()):
        if a in by and b in by:
            ca, cb = by[a], by[b]
            got = stats.paired_ratio(ca["throughput"]["samples"], ca["interleaving"]["rounds"],
                                     cb["throughput"]["samples"], cb["interleaving"]["rounds"])
            if got is not None:
                out[key] = (stats.half_width(*got[:3]), got[3])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--setting", action="append", default=None,
                    help="run options of one setting (repeatable; default: off, then default)")
    ap.add_argument("--pair", nargs=2, default=["torch", "tensorflow"], metavar=("A", "B"))
    ap.add_argument("--backends", nargs="*", default=[])
    ap.add_argument("--models", nargs="*", default=[])
    ap.add_argument("--extra", default="", help="run options for every setting")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="precision-"))
    print(f"| setting | wall s | cases | {args.pair[1]}/{args.pair[0]} CI half-width: median "
          "(range) | rounds: median (range) |")
    print("|---|--:|--:|---|---|")
    for i, setting in enumerate(args.setting or SETTINGS):
        doc, wall = run(out / str(i), setting, args)
        hw = half_widths(doc, *args.pair)
        widths = [w for w, _ in hw.values()]
        rounds = [len(c["interleaving"]["rounds"]) for c in doc["cases"]
                  if c["status"] == "ok" and c.get("interleaving")]
        if not widths:
            print(f"| `{setting or 'default'}` | {wall:.0f} | 0 | - | - |")
            continue
        print(f"| `{setting or 'default'}` | {wall:.0f} | {len(doc['cases'])} | "
              f"{100 * statistics.median(widths):.1f}% ({100 * min(widths):.1f}–"
              f"{100 * max(widths):.1f}%) | {statistics.median(rounds):g} ({min(rounds)}–"
              f"{max(rounds)}) |")
        for key, (w, n) in hw.items():
            print(f"|   {' '.join(map(str, key))} | | | {100 * w:.1f}% | {n} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
