"""What every command shares: the click group, the registry, the options of commands that
write results files, and the option parsers that turn text into values (or a UsageError)."""

from __future__ import annotations

import math
from pathlib import Path

import click

from benchsuite import __version__
from benchsuite.errors import UsageError
from benchsuite.plugins import Registry, load_registry

EXIT_FAILED = 1


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="benchsuite")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def group(debug: bool) -> None:
    """Run the same models on every framework, check they agree, and measure them fairly."""


def debugging() -> bool:
    """Whether ``benchsuite --debug`` was given."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("debug"))


def show_tracebacks(records: list[dict]) -> None:
    """With ``--debug``: the traceback tail each failed row kept from its worker, on stderr
    after the table (without it, the table's one-line error is all that is shown)."""
    if not debugging():
        return
    for r in records:
        if r.get("traceback"):
            what = " ".join(str(r[k]) for k in ("task", "backend", "model", "mode", "device",
                                                "batch_size", "seed") if k in r)
            click.echo(f"--- {what}: {r['status']}\n{r['traceback']}", err=True)


def registry() -> Registry:
    """The plugins installed here (tests replace this function)."""
    return load_registry()


def resume_and_output(what: str):
    """The --resume FILE and -o/--output DIR options of commands that write a results file."""
    def decorate(fn):
        fn = click.option("-o", "--output", default="results", show_default=True,
                          type=click.Path(file_okay=False, path_type=Path),
                          help="Folder for results.")(fn)
        return click.option("--resume", type=click.Path(dir_okay=False, path_type=Path),
                            default=None,
                            help=f"Complete an interrupted {what}: its settings, its file.")(fn)
    return decorate


def no_other_options(ctx: click.Context, allowed: set[str]) -> None:
    """--resume takes every setting from the file: any other option given is an error."""
    from click.core import ParameterSource

    given = [p.opts[-1] for p in ctx.command.params
             if p.name not in allowed and ctx.get_parameter_source(p.name) is not None
             and ctx.get_parameter_source(p.name) != ParameterSource.DEFAULT]
    if given:
        raise UsageError(f"--resume takes every setting from the results file; "
                         f"drop {', '.join(given)}")


def words(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split(",") if w.strip())


def ints(text: str, option: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in words(text))
    except ValueError:
        raise UsageError(f"{option} must be comma-separated integers, got {text!r}") from None


def targets(items: tuple[str, ...]) -> dict[str, float]:
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


def percent(text: str | None, option: str = "--threshold") -> float | None:
    """``--threshold``: a percent (``5%``) or a fraction of at most 1 (``0.05``). A bare number
    above 1 is refused rather than read as hundreds of percent (``5`` would mean 500%)."""
    if text is None:
        return None
    is_percent = text.strip().endswith("%")
    try:
        value = float(text.strip().rstrip("%")) / (100 if is_percent else 1)
    except ValueError:
        raise UsageError(f"{option} must look like 5% or 0.05, got {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"{option} out of range: {text}")
    if not is_percent and value > 1:
        raise UsageError(f"{option} {text} is ambiguous: give a percent ({text}%) or a "
                         f"fraction <= 1 ({value / 100:g})")
    if not 0 <= value < 10:
        raise UsageError(f"{option} out of range: {text}")
    return value
