"""``benchsuite run`` and ``benchsuite train``: parse, call :mod:`benchsuite.api`, print."""

from __future__ import annotations

import click

from benchsuite import api
from benchsuite.cases import DATASETS, DEFAULT_MODES, Settings
from benchsuite.cli import common
from benchsuite.cli.common import (
    EXIT_FAILED,
    group,
    ints,
    no_other_options,
    resume_and_output,
    words,
)
from benchsuite.cli.common import targets as parse_targets
from benchsuite.data import NAMED
from benchsuite.environment import usable_cores
from benchsuite.errors import UsageError
from benchsuite.learning import TASKS, LearnSettings
from benchsuite.optim import OPTIMIZERS, make_optimizer
from benchsuite.planning import parse_model

PRESETS = {  # repeats, min-time (s), GEMM size for the peak calibration, worker processes,
    # precision (CI half-width the paired ratios are measured to; None: just the repeats)
    "default": (5, 0.2, 2048, 1, 0.05),
    # CI smoke runs: short repeats, but 5 of them: with 3 a Mann-Whitney test on 3 vs 3
    # samples cannot go below p = 0.1, and compare could never call anything slower.
    "quick": (5, 0.05, 1024, 1, None),
    "rigorous": (10, 0.5, 2048, 3, None),  # each case in 3 fresh workers, samples pooled
}


def preset(quick: bool, rigorous: bool) -> str:
    """The preset the flags name; both at once is a usage error, not the last one winning."""
    if quick and rigorous:
        raise UsageError("--quick and --rigorous contradict each other: give one")
    return "quick" if quick else "rigorous" if rigorous else "default"


def matrix_settings(backends, models, batch_sizes, modes, device, repeats, min_time, threads,
                    seed, variants, **rest) -> Settings:
    """The Settings of a case matrix from the options ``run`` and ``ab`` share (threads: a
    number, None for every usable core, or ``idle`` for the cores a short check finds free)."""
    threads = resolve_threads(threads)
    return Settings(
        backends=list(backends), models=[parse_model(m) for m in models],
        modes=tuple(modes) or DEFAULT_MODES, device=device,
        batch_sizes=tuple(batch_sizes) or (128,), repeats=repeats, min_time=min_time,
        threads=usable_cores() if threads is None else threads, seed=seed,
        variants=tuple(variants), **rest)


#: The options that pick a case matrix (what :func:`matrix_settings` takes), shared by
#: ``run``, ``ab`` and ``calibrate``.
MATRIX_OPTIONS = [
    click.option("-b", "--backend", "backends", multiple=True, metavar="NAME",
                 help="Backend (repeatable; default: every installed backend)."),
    click.option("-m", "--model", "models", multiple=True, metavar="NAME[:K=V,...]",
                 help="Model, optionally with parameters, e.g. mlp:depth=10,activation=sigmoid "
                      "(repeatable; default: all)."),
    click.option("--batch-size", "batch_sizes", multiple=True, type=int, metavar="N",
                 help="Batch size (repeatable; default 128)."),
    click.option("--mode", "modes", multiple=True, metavar="train|infer|latency",
                 help="What to time (repeatable; default: train and infer). latency: predict "
                      "at batch 1 with every step timed (p50/p90/p99)."),
    click.option("--device", default="cpu", show_default=True, metavar="cpu|cuda|all"),
]


def matrix_options(f):
    """Add :data:`MATRIX_OPTIONS` to a command."""
    for option in reversed(MATRIX_OPTIONS):
        f = option(f)
    return f


def precision_options(defaults: str):
    """``--precision`` and ``--max-repeats``, for the commands that measure in turns."""
    def add(f):
        f = click.option("--max-repeats", type=int, default=None,
                         help="The most rounds a case takes chasing --precision "
                              "[default 2 x --repeats].")(f)
        return click.option("--precision", default=None, metavar="PCT|off",
                            help="In turns: more rounds until every paired ratio's 95% CI is "
                                 f"within this [{defaults}].")(f)
    return add


def precision_of(text: str | None, default: float | None) -> float | None:
    """``--precision``: a percent or fraction, ``off`` (None), or left out (``default``)."""
    if text is None:
        return default
    return None if text.strip().lower() == "off" else common.percent(text, "--precision")


def resolve_threads(text: str | int | None) -> int | None:
    """``--threads``: a count (checked with the other settings), None (every usable core),
    or ``idle``: the usable cores that a 0.5 s look at the machine finds free (at least 1),
    said on one line. Beside a busy process its numbers stay closer to quiet ones than an
    all-cores run's, though still contended (:mod:`benchsuite.contention`)."""
    if text is None or isinstance(text, int):
        return text
    if text.strip().lower() == "idle":
        from benchsuite import contention

        check = contention.idle_check()
        usable = usable_cores()
        threads = contention.idle_threads(check, usable)
        busy = f"{check['others_cores']:.2f}" if check else "unknown"
        click.echo(f"--threads idle: {threads} of {usable} usable cores (other processes kept "
                   f"{busy} cores busy)", err=True)
        return threads
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"--threads must be an integer >= 1 or 'idle', got {text!r}") from None


@group.command("run")
@matrix_options
@click.option("--quick", is_flag=True,
              help="Preset: 5 repeats of >= 0.05 s (CI smoke runs).")
@click.option("--rigorous", is_flag=True,
              help="Preset: 10 repeats of >= 0.5 s in each of 3 fresh worker processes.")
@click.option("--processes", type=int, default=None,
              help="Run every case in this many fresh workers and pool the samples "
                   "[default 1; --rigorous 3].")
@click.option("--repeats", type=int, default=None,
              help="Timed repeats per case [default 5; --quick 5; --rigorous 10 per process].")
@click.option("--min-time", type=float, default=None,
              help="Minimum seconds per timed repeat "
                   "[default 0.2; --quick 0.05; --rigorous 0.5].")
@precision_options("default 5%; --quick, --rigorous: off")
@click.option("--threads", default=None, metavar="N|idle",
              help="CPU threads for every backend [default: all usable cores]; idle: the "
                   "cores a short check finds free.")
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
@resume_and_output("run")
@click.pass_context
def run_cmd(ctx, backends, models, batch_sizes, modes, device, quick, rigorous, processes, repeats,
            min_time, precision, max_repeats, threads, optimizer, lr, data, seed, variants,
            timeout, memory_limit, gemm_size, no_parity, in_process, executor, ray_address,
            per_node, resume, output) -> int:
    """Run the benchmark matrix and write one results file."""
    from benchsuite import runview

    settings = None
    if resume is not None:
        no_other_options(ctx, allowed={"resume", "ray_address"})
    else:
        p_repeats, p_min_time, p_gemm, p_processes, p_precision = \
            PRESETS[preset(quick, rigorous)]
        repeats = p_repeats if repeats is None else repeats
        p_precision = precision_of(precision, p_precision)
        settings = matrix_settings(
            backends, models, batch_sizes, modes, device,
            repeats, p_min_time if min_time is None else min_time, threads, seed, variants,
            optimizer=make_optimizer(optimizer, lr), data=data,
            parity=not no_parity, isolate=not in_process, timeout=timeout,
            memory_limit_gib=memory_limit, gemm_size=p_gemm if gemm_size is None else gemm_size,
            processes=p_processes if processes is None else processes, executor=executor,
            precision=p_precision, max_repeats=max_repeats,
            placement="per-node" if per_node else "spread", ray_address=ray_address)
    outcome = api.run(settings, output=output, resume=resume, registry=common.registry(),
                      progress=runview.Progress, threads_from_node=threads is None,
                      ray_address=ray_address)
    runview.print_results(outcome.document)
    common.show_tracebacks(outcome.document["cases"])
    click.echo(f"results: {outcome.path}")
    return EXIT_FAILED if outcome.failed else 0


@group.command("train")
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
@resume_and_output("training run")
@click.pass_context
def train_cmd(ctx, tasks, backends, models, dataset, data_dir, limit, epochs, batch_size,
              optimizer, lr, weight_decay, seeds, seed, targets, depths, activations, device,
              variants, threads, timeout, in_process, resume, output) -> int:
    """Train every model on every backend on real data: what each one learns, how fast."""
    from benchsuite import console, runview

    settings = None
    if resume is not None:
        no_other_options(ctx, allowed={"resume"})
    else:
        task_list = tuple(dict.fromkeys(
            t for name in (tasks or ("accuracy",))
            for t in (TASKS if name == "all" else (name,))))
        settings = LearnSettings(
            tasks=task_list, backends=list(backends),
            models=[parse_model(m) for m in models], dataset=dataset,
            data_dir=str(data_dir) if data_dir else None, limit=limit, epochs=epochs,
            batch_size=batch_size, optimizer=optimizer, lr=lr, weight_decay=weight_decay,
            seeds=tuple(range(seed, seed + seeds)), targets=parse_targets(targets),
            depths=ints(depths, "--depths"), activations=words(activations),
            device=device, variants=tuple(variants),
            threads=usable_cores() if threads is None else threads,
            timeout=timeout, isolate=not in_process)
    outcome = api.train(settings, output=output, resume=resume, registry=common.registry(),
                        progress=runview.Progress)
    missed = console.print_learning(outcome.document)
    common.show_tracebacks(outcome.document["learning"])
    click.echo(f"results: {outcome.path}")
    return EXIT_FAILED if outcome.failed or missed else 0

