"""The ``benchsuite`` command line: list, run, verify, check-plugin, new-backend, train, data,
export, report, compare.

Any :class:`~benchsuite.errors.BenchsuiteError` or bad option is printed as one line and exits
with code 2 (``--debug`` shows the traceback instead). ``run`` exits 1 when a case failed.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click

from benchsuite import __version__, environment
from benchsuite.data import NAMED
from benchsuite.environment import usable_cores
from benchsuite.errors import BenchsuiteError, UsageError
from benchsuite.optim import OPTIMIZERS, make_optimizer
from benchsuite.plugins import Registry, load_registry
from benchsuite.runner import DATASETS, DEFAULT_MODES, Settings, parse_model

EXIT_FAILED_CASES = 1


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="benchsuite")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def cli(debug: bool) -> None:
    """Run the same models on every framework, check they agree, and measure them fairly."""


def _registry() -> Registry:
    return load_registry()


# -- list ----------------------------------------------------------------------------------

def _listing(reg: Registry, probe: bool) -> dict[str, Any]:
    from benchsuite.spec import DEFAULT_INPUT

    backends, gpus = [], environment.gpu_names() if probe else []
    for name, b in reg.backends.items():
        available = b.is_available()
        found = b.devices() if probe and available else None
        backends.append({
            "name": name, "available": available,
            "status": "available" if available else f"unavailable ({b.install_hint})",
            "version": b.version() if available else None,
            "devices": list(b.supported_devices),
            "devices_found": found,
            "gpu_note": environment.gpu_blind_reason(name, found, gpus, b.supported_devices),
            "variants": list(b.variants),
            "plugin": next((p.name for p in reg.plugins.values() if name in p.backends), None),
        })
    models = []
    for name, entry in reg.models.items():
        spec = entry.factory(input_shape=DEFAULT_INPUT, classes=10)
        flops = spec.flops()
        models.append({"name": name, "plugin": entry.plugin, "description": entry.description,
                       "layers": spec.describe(), "input_shape": list(spec.input_shape),
                       "n_params": spec.n_params, "flops_forward": flops.forward,
                       "flops_train": flops.train})
    plugins = [{"name": p.name, "status": p.status, "source": p.source, "error": p.error,
                "backends": p.backends, "models": p.models} for p in reg.plugins.values()]
    return {"backends": backends, "models": models, "plugins": plugins}


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--probe", is_flag=True,
              help="Import each framework to find the devices present (slow).")
def list_cmd(as_json: bool, probe: bool) -> int:
    """Backends (availability, version, devices), models (parameters, FLOPs) and plugins.

    Without --probe no framework is imported, so this is instant."""
    listing = _listing(_registry(), probe)
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return 0
    from benchsuite import console

    console.print_listing(listing)
    return 0


# -- run -----------------------------------------------------------------------------------

def _resume_and_output(what: str):
    """The --resume FILE and -o/--output DIR options of commands that write a results file."""
    def decorate(fn):
        fn = click.option("-o", "--output", default="results", show_default=True,
                          type=click.Path(file_okay=False, path_type=Path),
                          help="Folder for results.")(fn)
        return click.option("--resume", type=click.Path(dir_okay=False, path_type=Path),
                            default=None,
                            help=f"Complete an interrupted {what}: its settings, its file.")(fn)
    return decorate


PRESETS = {  # repeats, min-time (s), GEMM size for the peak calibration, worker processes
    "default": (5, 0.2, 2048, 1),
    # CI smoke runs: short repeats, but 5 of them: with 3 a Mann-Whitney test on 3 vs 3
    # samples cannot go below p = 0.1, and compare could never call anything slower.
    "quick": (5, 0.05, 1024, 1),
    "rigorous": (10, 0.5, 2048, 3),  # each case in 3 fresh workers, samples pooled
}


@cli.command("run")
@click.option("-b", "--backend", "backends", multiple=True, metavar="NAME",
              help="Backend to run (repeatable; default: every installed backend).")
@click.option("-m", "--model", "models", multiple=True, metavar="NAME[:K=V,...]",
              help="Model, optionally with parameters, e.g. mlp:depth=10,activation=sigmoid "
                   "(repeatable; default: all).")
@click.option("--batch-size", "batch_sizes", multiple=True, type=int, metavar="N",
              help="Batch size (repeatable; default 128).")
@click.option("--mode", "modes", multiple=True, metavar="train|infer|latency",
              help="What to time (repeatable; default: train and infer). latency: predict at "
                   "batch 1 with every step timed (p50/p90/p99).")
@click.option("--device", default="cpu", show_default=True, metavar="cpu|cuda|all")
@click.option("--quick", "preset", flag_value="quick",
              help="Preset: 5 repeats of >= 0.05 s (CI smoke runs).")
@click.option("--rigorous", "preset", flag_value="rigorous",
              help="Preset: 10 repeats of >= 0.5 s in each of 3 fresh worker processes.")
@click.option("--processes", type=int, default=None,
              help="Run every case in this many fresh workers and pool the samples "
                   "[default 1; --rigorous 3].")
@click.option("--repeats", type=int, default=None,
              help="Timed repeats per case [default 5; --quick 5; --rigorous 10 per process].")
@click.option("--min-time", type=float, default=None,
              help="Minimum seconds per timed repeat "
                   "[default 0.2; --quick 0.05; --rigorous 0.5].")
@click.option("--threads", type=int, default=None,
              help="CPU threads for every backend [default: all usable cores].")
@click.option("--optimizer", default="sgd", show_default=True, metavar="|".join(OPTIMIZERS))
@click.option("--lr", type=float, default=None, help="Learning rate [default: optimizer's].")
@click.option("--data", default="synthetic", show_default=True, metavar="|".join(DATASETS),
              help="synthetic 28x28x1 inputs, or the bundled 8x8 digits.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Seed of the shared initial weights and data.")
@click.option("--variant", "variants", multiple=True, metavar="NAME",
              help="Execution mode, e.g. compiled (torch.compile) or xla (repeatable; "
                   "default: each backend's fast path).")
@click.option("--timeout", default=900.0, show_default=True, type=float,
              help="Seconds one case may take before its worker is killed.")
@click.option("--memory-limit", type=float, default=None, metavar="GIB",
              help="Memory limit per worker process (RLIMIT_DATA); beyond it a case is 'oom'.")
@click.option("--gemm-size", type=int, default=None,
              help="n of the n x n matmul that calibrates each framework's peak GFLOP/s.")
@click.option("--no-parity", is_flag=True, help="Skip the quick parity check per case.")
@click.option("--in-process", is_flag=True,
              help="Debugging: run backends in this process instead of one worker each.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local",
              show_default=True, help="Where cases run: here, or on the nodes of a Ray cluster "
              "(pip install benchsuite[ray]).")
@click.option("--ray-address", default=None, metavar="ADDR",
              help="Ray cluster to run on, e.g. 10.0.0.1:6379 [default: RAY_ADDRESS, else a "
                   "new one-node cluster here]; may be given again with --resume.")
@click.option("--per-node", is_flag=True,
              help="Ray: run the whole suite on every node (compare machines) instead of "
                   "spreading the cases over them.")
@_resume_and_output("run")
@click.pass_context
def run_cmd(ctx, backends, models, batch_sizes, modes, device, preset, processes, repeats,
            min_time, threads, optimizer, lr, data, seed, variants, timeout, memory_limit,
            gemm_size, no_parity, in_process, executor, ray_address, per_node, resume,
            output) -> int:
    """Run the benchmark matrix and write one results file."""
    from benchsuite import console, runner

    reg = _registry()
    if resume is not None:
        _no_other_options(ctx, allowed={"resume", "ray_address"})
        run, path, cases, settings = runner.resume(reg, resume)
        settings.ray_address = ray_address or settings.ray_address
    else:
        p_repeats, p_min_time, p_gemm, p_processes = PRESETS[preset or "default"]
        settings = Settings(
            backends=list(backends), models=[parse_model(m) for m in models],
            modes=tuple(modes) or DEFAULT_MODES, device=device,
            batch_sizes=tuple(batch_sizes) or (128,),
            repeats=p_repeats if repeats is None else repeats,
            min_time=p_min_time if min_time is None else min_time,
            threads=threads or usable_cores(), seed=seed,
            optimizer=make_optimizer(optimizer, lr), data=data, variants=tuple(variants),
            parity=not no_parity, isolate=not in_process, timeout=timeout,
            memory_limit_gib=memory_limit, gemm_size=gemm_size or p_gemm,
            processes=p_processes if processes is None else processes, executor=executor,
            placement="per-node" if per_node else "spread", ray_address=ray_address)
        cases = runner.plan(reg, settings)
        run = runner.new_run(settings)
        path = runner.output_path(output, run)
    pool = None
    if settings.executor == "ray":  # Ray is imported only here, only when asked for
        from benchsuite.ray_executor import RayExecutor

        pool = RayExecutor(reg, settings, run, threads_from_node=threads is None)
    total = pool.expected(cases) if pool else len(cases)
    if not _until_interrupted(total, lambda p: runner.execute(
            reg, cases, settings, path, run, on_case=p.done, on_start=p.start, executor=pool),
            lambda: f"{len(run['cases'])} finished case(s) kept in {path}; "
                    f"complete it with: benchsuite run --resume {path}"):
        return 130
    console.print_results(run)
    click.echo(f"results: {path}")
    # A lost case that was retried on another node has that retry's row to speak for it.
    failed = [c for c in run["cases"] if (c["status"] not in ("ok", "skipped")
              and not c.get("retried")) or (c.get("parity") or {}).get("passed") is False]
    return EXIT_FAILED_CASES if failed else 0


def _until_interrupted(total: int, work, kept) -> bool:
    """``work(progress)`` under a progress display, SIGTERM acting like Ctrl-C. False when
    interrupted, after saying on stderr what ``kept()`` describes (what is on disk)."""
    from benchsuite import console

    progress = console.Progress(total)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with progress:
            work(progress)
    except KeyboardInterrupt:
        click.echo(f"interrupted: {kept()}", err=True)
        return False
    finally:
        signal.signal(signal.SIGTERM, previous)
    return True


def _terminate(signum, frame):
    """SIGTERM stops a run like Ctrl-C: finished cases are kept."""
    raise KeyboardInterrupt


def _no_other_options(ctx: click.Context, allowed: set[str]) -> None:
    from click.core import ParameterSource

    from benchsuite.errors import UsageError

    given = [p.opts[-1] for p in ctx.command.params
             if p.name not in allowed and ctx.get_parameter_source(p.name) is not None
             and ctx.get_parameter_source(p.name) != ParameterSource.DEFAULT]
    if given:
        raise UsageError(f"--resume takes every setting from the results file; "
                         f"drop {', '.join(given)}")


# -- verify --------------------------------------------------------------------------------

@cli.command("verify")
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
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def verify_cmd(backends, models, device, variants, steps, batch_size, seeds, full_size, threads,
               seed, as_json) -> int:
    """Check every backend computes what the NumPy oracle computes (exit 1 on any failure)."""
    from benchsuite import console
    from benchsuite.errors import UsageError
    from benchsuite.verify import run_verify

    if steps < 1 or seeds < 1:
        raise UsageError("--steps and --seeds must be >= 1")
    settings = Settings(
        backends=list(backends), models=[parse_model(m) for m in models], device=device,
        batch_sizes=(batch_size,), threads=threads or usable_cores(), seed=seed,
        data="synthetic" if full_size else "digits", variants=tuple(variants))
    rows = run_verify(_registry(), settings, steps, seeds)
    if as_json:
        click.echo(json.dumps(rows, indent=1))
    else:
        console.print_verify(rows)
    return 1 if any(r["passed"] is False for r in rows) else 0


# -- backend authors: check-plugin, new-backend ----------------------------------------------

@cli.command("check-plugin")
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
    from benchsuite.backend import DEVICES
    from benchsuite.errors import UsageError
    from benchsuite.testing import check_backend

    reg = _registry()
    backend = reg.backend(name)
    bad = [d for d in devices if d not in (*DEVICES, "all")]
    if bad:
        raise UsageError(f"unknown device {bad[0]!r} (valid: {', '.join(DEVICES)}, all)")
    if not timeout > 0:
        raise UsageError("--timeout must be > 0")
    wanted = list(backend.supported_devices) if "all" in devices else list(devices) or None

    def progress(result):
        click.echo(f"{result.name}: {result.status}", err=True)

    results = check_backend(name, registry=reg, devices=wanted, variant=variant,
                            isolate=not in_process, timeout=timeout,
                            on_result=None if as_json else progress)
    rows = [r.to_dict() for r in results]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
    else:
        console.print_checks(name, rows)
    return 1 if any(r["status"] == "fail" for r in rows) else 0


@cli.command("new-backend")
@click.argument("name")
@click.option("-o", "--output", default=".", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder in which to create benchsuite-NAME/.")
def new_backend_cmd(name, output) -> int:
    """Write a skeleton backend plugin package that passes check-plugin.

    pyproject with the entry point, a working minimal backend (NumPy, Flatten and Dense),
    and a test using benchsuite.testing; see docs/plugins.md."""
    from benchsuite import scaffold
    from benchsuite.errors import UsageError

    taken = _registry().backends.get(name)
    if taken is not None:
        raise UsageError(f"a backend named {name!r} is already installed "
                         f"({taken.install_hint}); choose another name")
    root = scaffold.write(name, output)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        click.echo(str(path))
    click.echo(f"next: pip install -e {root} && benchsuite check-plugin {name}")
    return 0


# -- train: learning quality --------------------------------------------------------------

@cli.command("train")
@click.option("--task", "tasks", multiple=True, metavar="accuracy|gradients|all",
              help="accuracy: time to target accuracy and shift robustness per model; "
                   "gradients: gradient norm by layer for MLPs of several depths and "
                   "activations (repeatable; default: accuracy).")
@click.option("-b", "--backend", "backends", multiple=True, metavar="NAME",
              help="Backend (repeatable; default: every installed backend that computes).")
@click.option("-m", "--model", "models", multiple=True, metavar="NAME[:K=V,...]",
              help="Model for the accuracy task, parameters override the recipe's "
                   "(repeatable; default: all).")
@click.option("--dataset", default="digits", show_default=True, metavar="|".join(NAMED),
              help="digits is bundled; the others are read from --data-dir.")
@click.option("--data-dir", default=None, metavar="DIR",
              help="Folder holding mnist/, fashion-mnist/, cifar10/ "
                   "[default: $BENCHSUITE_DATA, else ~/.cache/benchsuite/data].")
@click.option("--limit", type=int, default=None, metavar="N",
              help="Train on the first N training images only (quick runs on big sets).")
@click.option("--epochs", type=int, default=None, help="Epochs [default: each recipe's].")
@click.option("--batch-size", default=32, show_default=True, type=int)
@click.option("--optimizer", default=None, metavar="|".join(OPTIMIZERS),
              help="[default: each recipe's]")
@click.option("--lr", type=float, default=None, help="Learning rate [default: the recipe's].")
@click.option("--weight-decay", type=float, default=None,
              help="L2 penalty added to every gradient [default: the recipe's].")
@click.option("--seeds", default=3, show_default=True, type=int,
              help="Runs per backend x model, each from its own initial weights and shuffle.")
@click.option("--seed", default=0, show_default=True, type=int, help="First seed.")
@click.option("--target", "targets", multiple=True, metavar="MODEL=ACC",
              help="Target test accuracy, e.g. mlp=0.975 (repeatable; digits has defaults).")
@click.option("--depths", default="2,4,8,16", show_default=True,
              help="Hidden layers of the gradients task's MLPs.")
@click.option("--activations", default="sigmoid,tanh,relu", show_default=True)
@click.option("--device", default="cpu", show_default=True, metavar="cpu|cuda")
@click.option("--variant", "variants", multiple=True, metavar="NAME")
@click.option("--threads", type=int, default=None, help="CPU threads [default: all cores].")
@click.option("--timeout", default=3600.0, show_default=True, type=float,
              help="Seconds one training run may take before its worker is killed.")
@click.option("--in-process", is_flag=True, help="Debugging: no worker processes.")
@_resume_and_output("training run")
@click.pass_context
def train_cmd(ctx, tasks, backends, models, dataset, data_dir, limit, epochs, batch_size,
              optimizer, lr, weight_decay, seeds, seed, targets, depths, activations, device,
              variants, threads, timeout, in_process, resume, output) -> int:
    """Train every model on every backend on real data: what each one learns, how fast."""
    from benchsuite import console, data, learning, runner

    reg = _registry()
    if resume is not None:
        _no_other_options(ctx, allowed={"resume"})
        doc, settings = runner.reopen(resume, learning.LearnSettings, kind="learning")
        path = resume
    else:
        if seeds < 1:
            raise UsageError("--seeds must be >= 1")
        task_list = tuple(dict.fromkeys(
            t for name in (tasks or ("accuracy",))
            for t in (learning.TASKS if name == "all" else (name,))))
        settings = learning.LearnSettings(
            tasks=task_list, backends=list(backends),
            models=[parse_model(m) for m in models], dataset=dataset,
            data_dir=str(data_dir) if data_dir else None, limit=limit, epochs=epochs,
            batch_size=batch_size, optimizer=optimizer, lr=lr, weight_decay=weight_decay,
            seeds=tuple(range(seed, seed + seeds)), targets=_targets(targets),
            depths=_ints(depths, "--depths"), activations=_words(activations),
            device=device, variants=tuple(variants), threads=threads or usable_cores(),
            timeout=timeout, isolate=not in_process)
    learning.validate(settings)
    ds = data.load(settings.dataset, settings.data_dir, check=True, limit=settings.limit)
    jobs = learning.plan(reg, settings, ds.input_shape, ds.classes)
    if resume is not None:
        jobs = learning.remaining(jobs, doc)
    else:
        doc = learning.new_doc(settings, ds)
        path = runner.output_path(output, doc)
    if not _until_interrupted(len(jobs), lambda p: learning.execute(
            reg, jobs, settings, path, doc, on_start=p.start, on_done=p.done),
            lambda: f"{len(doc['learning'])} finished training run(s) kept in {path}; "
                    f"complete it with: benchsuite train --resume {path}"):
        return 130
    missed = console.print_learning(doc)
    click.echo(f"results: {path}")
    failed = [r for r in doc["learning"] if r["status"] not in ("ok", "skipped")]
    return EXIT_FAILED_CASES if failed or missed else 0


def _targets(items: tuple[str, ...]) -> dict[str, float]:
    out = {}
    for item in items:
        model, eq, value = item.partition("=")
        try:
            out[model.strip()] = float(value)
        except ValueError:
            raise UsageError(f"--target must look like mlp=0.975, got {item!r}") from None
        if not eq or not model.strip():
            raise UsageError(f"--target must look like mlp=0.975, got {item!r}")
    return out


def _ints(text: str, option: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in _words(text))
    except ValueError:
        raise UsageError(f"{option} must be comma-separated integers, got {text!r}") from None


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split(",") if w.strip())


# -- data: real datasets from files --------------------------------------------------------

@cli.group("data")
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
    from benchsuite import datafiles

    folder = datafiles.download(name, data_dir, mirror, log=click.echo)
    click.echo(f"{name}: ready in {folder}")
    return 0


# -- results: export, report, compare -----------------------------------------------------

RESULTS_ARG = click.Path(path_type=Path)


@cli.command("export")
@click.argument("paths", nargs=-1, required=True, type=RESULTS_ARG)
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "json"]), default="csv",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write [default: standard output; parquet needs a file].")
def export_cmd(paths, fmt, output) -> int:
    """Results files or folders → one tidy table, a row per case (columns in the README)."""
    from benchsuite import results
    from benchsuite.errors import UsageError

    df = results.load(list(paths))
    if fmt == "parquet":
        if output is None:
            raise UsageError("--format parquet needs -o FILE")
        try:
            df.to_parquet(output, index=False)
        except ImportError:
            raise UsageError("parquet needs pyarrow: pip install pyarrow") from None
    elif fmt == "csv":
        text = df.to_csv(index=False)
        output.write_text(text) if output else click.echo(text, nl=False)
    else:
        text = df.to_json(orient="records", indent=1)
        output.write_text(text) if output else click.echo(text)
    return 0


@cli.command("report")
@click.argument("paths", nargs=-1, required=True, type=RESULTS_ARG)
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              default=Path("report"), show_default=True)
@click.option("--baseline", default=None, help="Backend the speed-up table divides by "
              "[default: numpy when present].")
def report_cmd(paths, output, baseline) -> int:
    """Tables and plots → OUTPUT/index.html (self-contained), report.md, results.csv, PNGs."""
    from benchsuite import console
    from benchsuite.report import write_report

    written, parts = write_report(list(paths), output, baseline)
    console.print_tables(parts)
    for kind, path in written.items():
        click.echo(f"{kind}: {path}")
    return 0


@cli.command("compare")
@click.argument("base", type=RESULTS_ARG)
@click.argument("new", type=RESULTS_ARG)
@click.option("--threshold", default=None, metavar="PCT",
              help="Smallest change that counts, e.g. 5% [default: max(5%, 2 x median CV)].")
@click.option("--markdown", is_flag=True, help="Print a GitHub Markdown table instead.")
def compare_cmd(base, new, threshold, markdown) -> int:
    """Is NEW faster or slower than BASE? Exit 0: no significant regression; 1: regression."""
    from benchsuite import console
    from benchsuite.compare import compare
    from benchsuite.report import to_markdown

    result = compare([base], [new], _percent(threshold))
    for line in result.warnings:
        click.echo(f"warning: {line}", err=True)
    if markdown:
        click.echo(to_markdown(console.comparison_frame(result)))
    else:
        console.print_comparison(result)
    return 1 if len(result.regressions) else 0


def _percent(text: str | None) -> float | None:
    from benchsuite.errors import UsageError

    if text is None:
        return None
    try:
        value = float(text.strip().rstrip("%")) / (100 if text.strip().endswith("%") else 1)
    except ValueError:
        raise UsageError(f"--threshold must look like 5% or 0.05, got {text!r}") from None
    if not 0 <= value < 10:
        raise UsageError(f"--threshold out of range: {text}")
    return value


# -- entry point ---------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: returns the exit code (0 ok, 1 failed cases, 2 errors)."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING, stream=sys.stderr)
    try:
        rv = cli.main(args=args, prog_name="benchsuite", standalone_mode=False)
    except click.exceptions.UsageError as exc:
        click.echo(f"benchsuite: error: {exc.format_message()}", err=True)
        return 2
    except click.exceptions.Abort:
        return 130
    except BenchsuiteError as exc:
        if debug:
            raise
        click.echo(f"benchsuite: error: {exc}", err=True)
        return exc.exit_code
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
