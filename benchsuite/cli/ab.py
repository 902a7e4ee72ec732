"""``benchsuite ab``: one matrix in two environments, in turns; a verdict per case.

Exit codes as ``compare``: 0 no case slower or failed, 1 some case slower or failed, 2 bad
input (a --python that cannot run benchsuite, a bad option).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import click

from benchsuite import api
from benchsuite.cli import common
from benchsuite.cli.common import group, percent
from benchsuite.cli.run import matrix_options, matrix_settings, precision_of, precision_options
from benchsuite.units import change, percent_or_none, rate

#: Rounds (timed repeats per side) and seconds per repeat: the default and --quick. Ten
#: rounds: the Wilcoxon test's smallest p is 2 / 2**rounds (0.002), which a Holm
#: correction over a handful of cases still leaves below 0.05; five could never be.
PRESETS = {"default": (10, 0.2), "quick": (10, 0.05)}
PYTHON = click.Path(dir_okay=False, path_type=Path)


@group.command("ab")
@click.option("--base-python", required=True, type=PYTHON, metavar="PATH",
              help="Python of the base environment (e.g. base/.venv/bin/python).")
@click.option("--python", "python", required=True, type=PYTHON, metavar="PATH",
              help="Python of the new environment; the same as --base-python: an A/A test.")
@matrix_options
@click.option("--quick", is_flag=True, help="Preset: 10 rounds of >= 0.05 s (CI gates).")
@click.option("--repeats", type=int, default=None,
              help="Rounds: timed repeats per case and environment, taken in turns "
                   "[default 10].")
@click.option("--min-time", type=float, default=None,
              help="Minimum seconds per timed repeat [default 0.2; --quick 0.05].")
@precision_options("default off")
@click.option("--margin", default="3%", show_default=True, metavar="PCT",
              help="Equivalence margin: 'same' only when the 95% CI of new/base lies "
                   "inside 1 +/- this.")
@click.option("--threads", default=None, metavar="N|idle",
              help="CPU threads for every backend [default: all usable cores]; idle: the "
                   "cores a short check finds free.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--variant", "variants", multiple=True, metavar="NAME")
@click.option("--timeout", default=900.0, show_default=True, type=float,
              help="Seconds one worker call may take before its worker is killed.")
@click.option("--markdown", is_flag=True, help="Print a GitHub Markdown table instead.")
@click.option("-o", "--output", default="results", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder for results.")
def ab_cmd(base_python, python, backends, models, batch_sizes, modes, device, quick, repeats,
           min_time, precision, max_repeats, margin, threads, seed, variants, timeout, markdown,
           output) -> int:
    """Is the new environment slower than the base one? The same cases in both, in turns.
    Exit 0: no case slower or failed; 1: some case slower or failed; 2: bad input."""
    p_repeats, p_min_time = PRESETS["quick" if quick else "default"]
    settings = matrix_settings(
        backends, models, batch_sizes, modes, device,
        p_repeats if repeats is None else repeats,
        p_min_time if min_time is None else min_time, threads, seed, variants,
        parity=False, timeout=timeout, gemm_size=512,
        precision=precision_of(precision, None), max_repeats=max_repeats)
    outcome = api.ab(settings, base_python, python, margin=percent(margin, "--margin"),
                     output=output, registry=common.registry())
    rows = outcome.document["ab"]["verdicts"]
    if markdown:
        from benchsuite.report import to_markdown

        click.echo(to_markdown(frame(rows)))
    else:
        width = max(80, shutil.get_terminal_size((80, 24)).columns)
        for line in table(rows, outcome.document["ab"]["margin"], width):
            click.echo(line)
    click.echo(f"results: {outcome.path}")
    return 1 if outcome.failed else 0


def _label(r: dict[str, Any]) -> str:
    """The case; its variant last, the first thing a narrow table cuts."""
    variant = f" [{r['variant']}]" if r.get("variant") not in (None, "default") else ""
    return f"{r['backend']} {r['model']} {r['mode']} b{r['batch_size']}{variant}"


def _ci(r: dict[str, Any]) -> str:
    if r.get("ci_low") is None:
        return ""
    return f"{change(r['ci_low'])}..{change(r['ci_high'])}"


def _p(v: float | None) -> str:
    return "" if v is None else f"{v:.3f}"


def _detectable(r: dict[str, Any]) -> str:
    """The smallest change the case could have caught; "none" when its rounds cannot."""
    if r.get("p_value") is None:
        return ""  # no statistics: nothing was judged
    return percent_or_none(r.get("detectable"))


def table(rows: list[dict[str, Any]], margin: float, width: int = 80) -> list[str]:
    """The verdicts as lines of at most ``width`` characters (the case label is shortened
    to fit), a line per case without statistics saying why, and the count of each verdict."""
    cells = [(_label(r), rate(r["base"]), rate(r["new"]), change(r["ratio"]), _ci(r),
              _p(r["p_adjusted"]), _detectable(r), r["verdict"]) for r in rows]
    head = ("case", "base/s", "new/s", "change", "95% CI", "p(adj)", "detect", "verdict")
    sizes = [max(len(c[i]) for c in [head, *cells]) for i in range(len(head))]
    sizes[0] = max(8, min(sizes[0], width - sum(sizes[1:]) - 2 * (len(sizes) - 1)))

    def line(c: tuple[str, ...]) -> str:
        first = c[0] if len(c[0]) <= sizes[0] else c[0][:sizes[0] - 1] + "…"
        parts = [first.ljust(sizes[0])] + [v.rjust(s) for v, s in zip(c[1:-1], sizes[1:-1])]
        return "  ".join([*parts, c[-1]]).rstrip()

    out = [line(head), *map(line, cells)]
    out += [f"  {_label(r)}: {r['error']}" for r in rows
            if r.get("error") and r["verdict"] != "skipped"]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    out.append(", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
               + f" (margin ±{100 * margin:g}%, Holm-adjusted Wilcoxon p < 0.05)")
    return out


def frame(rows: list[dict[str, Any]]):
    """The verdicts as a display table (for ``--markdown``)."""
    import pandas as pd

    return pd.DataFrame([{
        "backend": r["backend"], "variant": r.get("variant") or "", "model": r["model"],
        "mode": r["mode"], "device": r.get("device"), "batch": r.get("batch_size"),
        "base samples/s": rate(r["base"]), "new samples/s": rate(r["new"]),
        "change [95% CI]": "" if r["ratio"] is None else f"{change(r['ratio'])} [{_ci(r)}]",
        "p (Holm)": _p(r["p_adjusted"]), "rounds": r.get("rounds", 0),
        "detectable": _detectable(r), "verdict": r["verdict"]} for r in rows])
