"""A hook name with a typo: pluggy's check_pending must catch it."""

from benchsuite import hookimpl


@hookimpl
def benchsuite_register_backend(register):  # missing "s"
    pass
