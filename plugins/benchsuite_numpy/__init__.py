"""Reference backend: pure NumPy, hand-written forward and backward; the parity oracle.

Importing this module stays cheap: the backend class is imported when the hook runs.
"""

from __future__ import annotations

from benchsuite import hookimpl


@hookimpl
def benchsuite_register_backends(register):
    from .backend import NumpyBackend

    register(NumpyBackend())
