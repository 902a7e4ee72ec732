"""The ``example`` backend: what it can do, and how it builds a model."""

from __future__ import annotations

from benchsuite import Activation, Backend, Dense, Flatten


class ExampleBackend(Backend):
    name = "example"
    install_hint = "pip install benchsuite-example-backend"
    # Declared honestly: no convolution or pooling, so convnet cases are skipped with a reason.
    supported_layers = frozenset({Flatten, Dense, Activation})
    supported_devices = ("cpu",)
    variants = ("float64",)

    def is_available(self) -> bool:
        return True  # needs only NumPy, which benchsuite itself requires

    def version(self) -> str:
        from importlib.metadata import version

        return version("benchsuite-example-backend")

    def set_threads(self, threads: int) -> dict[str, int]:
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(limits=threads)  # kept alive: the limit stays on
        return {"blas": threads}

    def build(self, spec, device, optimizer, variant=None):
        from benchsuite_example.model import TapeModel

        if device != "cpu":
            raise ValueError(f"example backend runs on cpu only, not {device}")
        return TapeModel(spec, optimizer)

    def synchronize(self, device: str) -> None:
        """Every call computes eagerly, so there is never queued work to wait for."""
