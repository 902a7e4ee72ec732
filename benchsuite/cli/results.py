"""``benchsuite export``, ``report`` and ``compare``: what results files say."""

from __future__ import annotations

from pathlib import Path

import click

from benchsuite import api
from benchsuite.cli.common import group, percent
from benchsuite.errors import UsageError

RESULTS_ARG = click.Path(path_type=Path)


@group.command("export")
@click.argument("paths", nargs=-1, required=True, type=RESULTS_ARG)
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "json"]), default="csv",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write [default: standard output; parquet needs a file].")
def export_cmd(paths, fmt, output) -> int:
    """Results files or folders → one tidy table, a row per case (columns in the README)."""
    if fmt == "parquet" and output is None:
        raise UsageError("--format parquet needs -o FILE")
    data = api.export(list(paths), fmt, output)
    if output is None:
        click.echo(data, nl=False)
    return 0


@group.command("report")
@click.argument("paths", nargs=-1, required=True, type=RESULTS_ARG)
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              default=Path("report"), show_default=True)
@click.option("--baseline", default=None, help="Backend the speed-up table divides by "
              "[default: numpy when present].")
def report_cmd(paths, output, baseline) -> int:
    """Tables and plots → OUTPUT/index.html (self-contained), report.md, results.csv, PNGs."""
    from benchsuite import console

    written, parts = api.report(list(paths), output, baseline)
    console.print_tables(parts)
    for kind, path in written.items():
        click.echo(f"{kind}: {path}")
    return 0


@group.command("compare")
@click.argument("base", type=RESULTS_ARG)
@click.argument("new", type=RESULTS_ARG)
@click.option("--threshold", default=None, metavar="PCT",
              help="Smallest change that counts, e.g. 5% [default: max(5%, 2 x median CV)].")
@click.option("--calibration", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Per-case thresholds from benchsuite calibrate's file "
              "(measured with the same settings on this machine).")
@click.option("--markdown", is_flag=True, help="Print a GitHub Markdown table instead.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON instead.")
def compare_cmd(base, new, threshold, calibration, markdown, as_json) -> int:
    """Is NEW faster or slower than BASE? Exit 0: no significant regression; 1: regression."""
    from benchsuite import console
    from benchsuite.report import to_markdown

    if markdown and as_json:
        raise UsageError("--markdown and --json contradict each other: give one")
    result = api.compare([base], [new], percent(threshold), calibration)
    for line in result.warnings:
        click.echo(f"warning: {line}", err=True)
    if as_json:
        click.echo(console.comparison_json(result))
    elif markdown:
        click.echo(to_markdown(console.comparison_frame(result)))
        click.echo(f"\n{result.detectable_summary}")
    else:
        console.print_comparison(result)
    return 1 if len(result.regressions) else 0
