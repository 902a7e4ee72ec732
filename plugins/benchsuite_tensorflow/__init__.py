"""TensorFlow backend (Keras 3 layers). Importing this module does not import TensorFlow: the
hook imports the backend class, whose methods import TensorFlow only when they need it."""

from __future__ import annotations

from benchsuite import hookimpl


@hookimpl
def benchsuite_register_backends(register):
    from .backend import TensorFlowBackend

    register(TensorFlowBackend())
