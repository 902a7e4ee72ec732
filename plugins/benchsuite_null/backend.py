"""Null backend: always available, CPU only, computes nothing (so no parity check applies)."""

from __future__ import annotations

from benchsuite.backend import Backend, Model
from benchsuite.optim import Optimizer
from benchsuite.spec import ModelSpec


class NullBackend(Backend):
    name = "null"
    install_hint = "built in"
    computes = False

    def is_available(self) -> bool:
        return True

    def version(self) -> str:
        from benchsuite import __version__

        return __version__

    def build(self, spec: ModelSpec, device: str, optimizer: Optimizer,
              variant: str | None = None) -> Model:
        from .model import NullModel

        return NullModel(spec)

    def synchronize(self, device: str) -> None:
        """Nothing is ever queued."""
