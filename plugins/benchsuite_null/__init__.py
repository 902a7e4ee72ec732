"""The null backend: steps that do nothing, so a run measures the harness's own cost per step
(the closure call, the batch rotation, the bookkeeping) next to the real backends."""

from __future__ import annotations

from benchsuite import hookimpl


@hookimpl
def benchsuite_register_backends(register):
    from .backend import NullBackend

    register(NullBackend())
