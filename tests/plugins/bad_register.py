"""Passes something that is not a Backend to register()."""

from benchsuite import hookimpl


@hookimpl
def benchsuite_register_backends(register):
    register("not a backend")
