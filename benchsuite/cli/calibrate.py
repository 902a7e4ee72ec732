"""``benchsuite calibrate``: the same matrix run K times, back to back, as separate runs; what
compare's threshold must be on this machine, and what its default rule gets wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from benchsuite import api
from benchsuite.cli import common
from benchsuite.cli.common import group
from benchsuite.cli.run import (
    PRESETS,
    matrix_options,
    matrix_settings,
    precision_of,
    precision_options,
    preset,
)
from benchsuite.errors import UsageError
from benchsuite.units import percent_or_none


def runs_count(text: str) -> int:
    """``--runs``: an integer of at least 2 (one run has no spread), else one line."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = None
    if value is None or value < 2:
        raise UsageError(f"--runs must be an integer >= 2, got {text!r}")
    return value


@group.command("calibrate")
@click.option("--runs", "runs", default="3", show_default=True, metavar="K",
              help="Separate runs of the matrix, back to back (at least 2).")
@matrix_options
@click.option("--quick", is_flag=True, help="Preset: 5 repeats of >= 0.05 s, as run --quick.")
@click.option("--rigorous", is_flag=True, help="Preset: as run --rigorous.")
@click.option("--processes", type=int, default=None,
              help="Fresh workers per case, samples pooled [default 1; --rigorous 3].")
@click.option("--repeats", type=int, default=None,
              help="Timed repeats per case [default 5; --rigorous 10 per process].")
@click.option("--min-time", type=float, default=None,
              help="Minimum seconds per timed repeat [default 0.2; --quick 0.05].")
@precision_options("default 5%; --quick, --rigorous: off")
@click.option("--threads", type=int, default=None,
              help="CPU threads for every backend [default: all usable cores].")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--variant", "variants", multiple=True, metavar="NAME")
@click.option("--timeout", default=900.0, show_default=True, type=float,
              help="Seconds one case may take before its worker is killed.")
@click.option("--gemm-size", type=int, default=None,
              help="n of the n x n matmul that calibrates each framework's peak GFLOP/s.")
@click.option("-o", "--output", default="calibration", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the calibration file (the runs go to OUTPUT/runs/).")
def calibrate_cmd(runs, backends, models, batch_sizes, modes, device, quick, rigorous,
                  processes, repeats, min_time, precision, max_repeats, threads, seed, variants,
                  timeout, gemm_size, output) -> int:
    """Run the matrix K times as separate runs; per case, the noise between runs, the compare
    threshold that keeps A/A false alarms at 1%, and the smallest detectable change."""
    from benchsuite import runview

    k = runs_count(runs)
    p_repeats, p_min_time, p_gemm, p_processes, p_precision = PRESETS[preset(quick, rigorous)]
    settings = matrix_settings(
        backends, models, batch_sizes, modes, device,
        p_repeats if repeats is None else repeats,
        p_min_time if min_time is None else min_time, threads, seed, variants,
        parity=False, timeout=timeout, gemm_size=p_gemm if gemm_size is None else gemm_size,
        processes=p_processes if processes is None else processes,
        precision=precision_of(precision, p_precision), max_repeats=max_repeats)
    doc, path = api.calibrate(settings, k, output=output, registry=common.registry(),
                              progress=runview.Progress)
    for line in table(doc):
        click.echo(line)
    click.echo(f"calibration: {path}")
    return 0


def table(doc: dict[str, Any]) -> list[str]:
    """The cases (within-run CV, between-run sd, threshold, A/A alarms, detectable) and the
    machine-level summary, as lines."""
    head = ("case", "cv", "between", "threshold", "A/A alarms", "detectable")
    cells = [(f"{c['backend']} {c['model']} {c['mode']} b{c['batch_size']}"
              + (f" [{c['variant']}]" if c.get("variant") not in (None, "default") else ""),
              percent_or_none(c["within_cv"]), percent_or_none(c["between_sd"]),
              percent_or_none(c["threshold"]), f"{c['aa_false_alarms']}/{c['aa_pairs']}",
              percent_or_none(c["detectable"]))
             for c in doc["cases"]]
    sizes = [max(len(row[i]) for row in [head, *cells]) for i in range(len(head))]
    out = ["  ".join([r[0].ljust(sizes[0]), *(v.rjust(s) for v, s in zip(r[1:], sizes[1:]))])
           for r in [head, *cells]]
    s = doc["summary"]
    out.append(f"{doc['runs']} runs: drift between runs {percent_or_none(s['drift_sd'])} "
               f"({s['degrees_of_freedom']} degrees of freedom); median threshold "
               f"{percent_or_none(s['median_threshold'])} (A/A false alarms at most 1% a case)")
    out.append(f"compare's default rule on the {doc['runs'] * (doc['runs'] - 1) // 2} pairs "
               f"of runs: {s['aa_false_alarms']} false alarms in {s['aa_verdicts']} case "
               "verdicts")
    if s.get("left_out"):
        out.append(f"{s['left_out']} case(s) left out: fewer than 2 runs ok and uncontended")
    return out
