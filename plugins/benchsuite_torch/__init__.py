"""PyTorch backend. Importing this module does not import torch: the hook imports the backend
class, whose methods import torch only when they need it."""

from __future__ import annotations

from benchsuite import hookimpl


@hookimpl
def benchsuite_register_backends(register):
    from .backend import TorchBackend

    register(TorchBackend())
