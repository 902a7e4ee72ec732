"""``benchsuite verify``, ``check-plugin`` and ``new-backend``: is a backend right?"""

from __future__ import annotations

import json
from pathlib import Path

import click

from benchsuite import api
from benchsuite.cases import Settings
from benchsuite.cli import common
from benchsuite.cli.common import group
from benchsuite.environment import usable_cores
from benchsuite.errors import UsageError
from benchsuite.planning import parse_model
from benchsuite.verify import DEFAULT_TIMEOUT_S


@group.command("verify")
@click.option("-b", "--backend", "backends", multiple=True, metavar="NAME",
              help="Backend to check (repeatable; default: every installed backend).")
@click.option("-m", "--model", "models", multiple=True, metavar="NAME[:K=V,...]",
              help="Model (repeatable; default: all).")
@click.option("--device", default="cpu", show_default=True, metavar="cpu|cuda|all")
@click.option("--variant", "variants", multiple=True, metavar="NAME",
              help="Execution mode to check (repeatable; default: each backend's default).")
@click.option("--steps", default=10, show_default=True, type=int, help="Training steps.")
@click.option("--batch-size", default=16, show_default=True, type=int)
@click.option("--seeds", default=3, show_default=True, type=int,
              help="Trajectories per check; each check is judged on the median.")
@click.option("--full-size", is_flag=True,
              help="Use the 28x28 benchmark input instead of the compact 8x8 digits shape.")
@click.option("--threads", type=int, default=None, help="CPU threads [default: all cores].")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--timeout", default=DEFAULT_TIMEOUT_S, show_default=True, type=float,
              help="Seconds one case's verification may take before its worker is killed "
                   "(a hang becomes a 'timeout' row).")
@click.option("--in-process", is_flag=True,
              help="Debugging: run the backends in this process instead of a worker each.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def verify_cmd(backends, models, device, variants, steps, batch_size, seeds, full_size, threads,
               seed, timeout, in_process, as_json) -> int:
    """Check every backend computes what the NumPy oracle computes (exit 1 on any failure)."""
    from benchsuite import console

    settings = Settings(
        backends=list(backends), models=[parse_model(m) for m in models], device=device,
        batch_sizes=(batch_size,), seed=seed,
        threads=usable_cores() if threads is None else threads,
        data="synthetic" if full_size else "digits", variants=tuple(variants),
        isolate=not in_process)
    rows = api.verify(settings, steps=steps, seeds=seeds, timeout=timeout,
                      registry=common.registry())
    if as_json:
        click.echo(json.dumps(rows, indent=1))
    else:
        console.print_verify(rows)
    return 1 if any(r["passed"] is False for r in rows) else 0


@group.command("check-plugin")
@click.argument("name")
@click.option("--device", "devices", multiple=True, metavar="cpu|cuda|all",
              help="Device to check on (repeatable; default: every declared device present).")
@click.option("--variant", default=None, metavar="NAME",
              help="Execution mode to check [default: the backend's default].")
@click.option("--timeout", default=300.0, show_default=True, type=float,
              help="Seconds one check may take before its worker is killed.")
@click.option("--in-process", is_flag=True,
              help="Debugging: run the checks in this process instead of a worker.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def check_plugin_cmd(name, devices, variant, timeout, in_process, as_json) -> int:
    """Check a backend against the plugin contract; exit 1 if a check fails.

    Registration, capabilities, weight layouts, shapes, determinism, gradients, synchronize,
    and parity with the NumPy oracle on every layer and model (docs/plugins.md)."""
    from benchsuite import console

    def progress(result):
        click.echo(f"{result.name}: {result.status}", err=True)

    results = api.check_plugin(name, devices=list(devices), variant=variant, timeout=timeout,
                               isolate=not in_process, registry=common.registry(),
                               on_result=None if as_json else progress)
    rows = [r.to_dict() for r in results]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
    else:
        console.print_checks(name, rows)
    return 1 if any(r["status"] == "fail" for r in rows) else 0


@group.command("new-backend")
@click.argument("name")
@click.option("-o", "--output", default=".", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder in which to create benchsuite-NAME/.")
def new_backend_cmd(name, output) -> int:
    """Write a skeleton backend plugin package that passes check-plugin.

    pyproject with the entry point, a working minimal backend (NumPy, Flatten and Dense),
    and a test using benchsuite.testing; see docs/plugins.md."""
    from benchsuite import scaffold

    taken = common.registry().backends.get(name)
    if taken is not None:
        raise UsageError(f"a backend named {name!r} is already installed "
                         f"({taken.install_hint}); choose another name")
    root = scaffold.write(name, output)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        click.echo(str(path))
    click.echo(f"next: pip install -e {root} && benchsuite check-plugin {name}")
    return 0
