"""The ``benchsuite`` command line: a thin layer over :mod:`benchsuite.api`.

One module per command group (:mod:`~benchsuite.cli.run`: run, train;
:mod:`~benchsuite.cli.checks`: verify, check-plugin, new-backend; :mod:`~benchsuite.cli.results`:
export, report, compare; :mod:`~benchsuite.cli.info`: list, data, schema;
:mod:`~benchsuite.cli.ab`: ab; :mod:`~benchsuite.cli.calibrate`: calibrate). A command parses
its options, calls the API and prints. Any :class:`~benchsuite.errors.BenchsuiteError` or bad
option is one line and exit code 2 (``--debug`` shows the traceback instead); Ctrl-C or
SIGTERM during a run is one line and exit 130, with every finished record kept.
"""

from __future__ import annotations

import logging
import signal
import sys

import click

from benchsuite.cli import (  # noqa: F401  (registers them)
    ab,
    calibrate,
    checks,
    common,
    info,
    results,
    run,
)
from benchsuite.errors import BenchsuiteError, Interrupted

cli = common.group


def _terminate(signum, frame):
    """SIGTERM stops a run like Ctrl-C: finished records are kept."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: returns the exit code (0 ok, 1 failed cases, 2 errors,
    130 interrupted)."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING, stream=sys.stderr)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        rv = cli.main(args=args, prog_name="benchsuite", standalone_mode=False)
    except click.exceptions.UsageError as exc:
        click.echo(f"benchsuite: error: {exc.format_message()}", err=True)
        return 2
    except (click.exceptions.Abort, KeyboardInterrupt):
        return 130
    except Interrupted as exc:
        click.echo(f"interrupted: {exc}", err=True)
        return exc.exit_code
    except BenchsuiteError as exc:
        if debug:
            raise
        click.echo(f"benchsuite: error: {exc}", err=True)
        return exc.exit_code
    finally:
        signal.signal(signal.SIGTERM, previous)
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
