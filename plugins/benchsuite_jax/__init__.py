"""JAX backend. Importing this module does not import JAX: the hook imports the backend class,
whose methods import JAX only when they need it."""

from __future__ import annotations

from benchsuite import hookimpl


@hookimpl
def benchsuite_register_backends(register):
    from .backend import JaxBackend

    register(JaxBackend())
