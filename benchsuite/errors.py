"""The one exception hierarchy of benchsuite.

Every error a user can cause (a bad option, an unknown name, a broken results file) is a
:class:`BenchsuiteError`; the CLI prints its message on one line and exits with ``exit_code``.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class BenchsuiteError(Exception):
    """Base class: a problem the user can fix, reported as one line."""

    exit_code = 2


class UsageError(BenchsuiteError):
    """A bad option value or combination of options."""


class UnknownNameError(UsageError):
    """A backend, model or other name that is not registered."""

    def __init__(self, kind: str, name: str, valid: list[str] | tuple[str, ...]) -> None:
        listing = ", ".join(sorted(valid)) or "none"
        super().__init__(f"unknown {kind} {name!r} (valid: {listing})")
        self.kind, self.name, self.valid = kind, name, list(valid)


class PluginError(BenchsuiteError):
    """A plugin could not be loaded or broke the registration contract."""


class SpecError(BenchsuiteError):
    """A model specification that cannot be built (bad shapes, bad parameters)."""


class ResultsError(BenchsuiteError):
    """A results file that is missing, malformed or of an unsupported schema version."""


class DataError(BenchsuiteError):
    """A dataset that is missing, corrupt or inconsistent."""


class Interrupted(BenchsuiteError):
    """Ctrl-C or SIGTERM stopped a run; everything finished is in the results file."""

    exit_code = 130

    def __init__(self, message: str, path=None) -> None:
        super().__init__(message)
        self.path = path


class SaveError(ResultsError):
    """A results file that could not be written (a full disk, a read-only folder): the file
    on disk is still its last complete save."""
