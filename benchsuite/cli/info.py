"""``benchsuite list``, ``data`` and ``schema``: what is installed, what data is here, what
a results file holds."""

from __future__ import annotations

import json
from typing import Any

import click

from benchsuite.cli import common
from benchsuite.cli.common import group
from benchsuite.plugins import Registry


def _listing(reg: Registry, probe: bool) -> dict[str, Any]:
    from benchsuite import environment
    from benchsuite.execution.pool import probe_devices
    from benchsuite.planning import availability
    from benchsuite.spec import DEFAULT_INPUT

    backends, gpus = [], environment.gpu_names() if probe else []
    for name, b in reg.backends.items():
        available, version, why = availability(b)
        # In a throwaway worker: the framework's import chatter (CUDA probing, absl's
        # "failed call to cuInit") goes to the worker's log, not over this listing.
        found = probe_devices(reg, name) if probe and available else None
        status = "available" if available else f"unavailable ({b.install_hint})"
        backends.append({
            "name": name, "available": available,
            "status": f"broken ({why})" if why else status, "version": version,
            "devices": list(b.supported_devices),
            "devices_found": found,
            "gpu_note": environment.gpu_blind_reason(name, found, gpus, b.supported_devices),
            "variants": list(b.variants),
            "plugin": next((p.name for p in reg.plugins.values() if name in p.backends), None),
        })
    for p in reg.plugins.values():  # an in-tree backend that did not load is still listed
        if p.builtin and p.status != "ok" and p.name not in reg.backends:
            status = p.error if p.status == "blocked" else f"broken ({p.error})"
            backends.append({"name": p.name, "available": False, "status": status,
                             "version": None, "devices": [], "devices_found": None,
                             "gpu_note": None, "variants": [], "plugin": p.name})
    models = []
    for name, entry in reg.models.items():
        spec = entry.factory(input_shape=DEFAULT_INPUT, classes=10)
        flops = spec.flops()
        models.append({"name": name, "plugin": entry.plugin, "description": entry.description,
                       "layers": spec.describe(), "input_shape": list(spec.input_shape),
                       "n_params": spec.n_params, "flops_forward": flops.forward,
                       "flops_train": flops.train})
    plugins = [{"name": p.name, "status": p.status, "source": p.source, "version": p.version,
                "error": p.error,
                "backends": p.backends, "models": p.models} for p in reg.plugins.values()]
    return {"backends": backends, "models": models, "plugins": plugins}


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--probe", is_flag=True,
              help="Import each framework, in a worker process of its own, to find the devices "
                   "present (slow).")
def list_cmd(as_json: bool, probe: bool) -> int:
    """Backends (availability, version, devices), models (parameters, FLOPs) and plugins.

    Without --probe no framework is imported, so this is instant."""
    listing = _listing(common.registry(), probe)
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return 0
    from benchsuite import console

    console.print_listing(listing)
    return 0


@group.group("data")
def data_group() -> None:
    """MNIST, Fashion-MNIST and CIFAR-10: where they are looked for, and download."""


@data_group.command("list")
@click.option("--data-dir", default=None, metavar="DIR")
def data_list_cmd(data_dir) -> int:
    """Each data set: its folder, and whether its files are there and pass their checks."""
    from benchsuite import datafiles

    click.echo("digits: bundled (scikit-learn), always available")
    for name in datafiles.SOURCES:
        info = datafiles.describe(name, data_dir)
        click.echo(f"{name}: {info['folder']}: {info['status']}")
    return 0


@data_group.command("download")
@click.argument("name")
@click.option("--data-dir", default=None, metavar="DIR")
@click.option("--mirror", default=None, metavar="URL",
              help="Base URL to fetch the published files from instead of the usual mirrors.")
def data_download_cmd(name, data_dir, mirror) -> int:
    """Fetch data set NAME's published files, check their SHA-256, write SHA256SUMS."""

    from benchsuite.download import download

    folder = download(name, data_dir, mirror, log=click.echo)
    click.echo(f"{name}: ready in {folder}")
    return 0


@group.command("schema")
def schema_cmd() -> int:
    """Print the JSON Schema of results files (both kinds: run and train)."""
    from benchsuite import api

    click.echo(json.dumps(api.schema(), indent=2))
    return 0
