"""The ``benchsuite`` command line: ``list`` and ``run``.

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

from benchsuite import __version__
from benchsuite.environment import usable_cores
from benchsuite.errors import BenchsuiteError
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

    backends = []
    for name, b in reg.backends.items():
        available = b.is_available()
        backends.append({
            "name": name, "available": available,
            "status": "available" if available else f"unavailable ({b.install_hint})",
            "version": b.version() if available else None,
            "devices": list(b.supported_devices),
            "devices_found": b.devices() if probe and available else None,
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
@click.option("--resume", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Complete an interrupted run: its settings, its file.")
@click.option("-o", "--output", default="results", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder for results.")
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
    progress = console.Progress(pool.expected(cases) if pool else len(cases))
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with progress:
            runner.execute(reg, cases, settings, path, run, on_case=progress.done,
                           on_start=progress.start, executor=pool)
    except KeyboardInterrupt:
        click.echo(f"interrupted: {len(run['cases'])} finished case(s) kept in {path}; "
                   f"complete it with: benchsuite run --resume {path}", err=True)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    console.print_results(run)
    click.echo(f"results: {path}")
    # A lost case that was retried on another node has that retry's row to speak for it.
    failed = [c for c in run["cases"] if (c["status"] not in ("ok", "skipped")
              and not c.get("retried")) or (c.get("parity") or {}).get("passed") is False]
    return EXIT_FAILED_CASES if failed else 0


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
