"""The NumPy backend: always available, CPU only, BLAS threads set through threadpoolctl."""

from __future__ import annotations

import numpy as np

from benchsuite.backend import Backend, Model
from benchsuite.errors import UsageError
from benchsuite.optim import Optimizer
from benchsuite.spec import ModelSpec


class NumpyBackend(Backend):
    name = "numpy"
    install_hint = "pip install numpy"
    packages = ("numpy",)
    #: ``float64`` computes in double precision: the exact reference of the parity checks.
    variants = ("default", "float64")

    def __init__(self) -> None:
        self._limiter = None

    def is_available(self) -> bool:
        return True

    def version(self) -> str:
        return np.__version__

    def set_threads(self, threads: int) -> dict[str, int]:
        from threadpoolctl import threadpool_info, threadpool_limits

        self._limiter = threadpool_limits(limits=threads)  # held for the process's lifetime
        return {f"{p['internal_api']}": p["num_threads"] for p in threadpool_info()}

    def environment(self) -> dict[str, object]:
        from threadpoolctl import threadpool_info

        blas = [{k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                for p in threadpool_info()]
        return {"version": self.version(), "blas": blas}

    def build(self, spec: ModelSpec, device: str, optimizer: Optimizer,
              variant: str | None = None) -> Model:
        from .model import NumpyModel

        if device != "cpu":
            raise UsageError(f"numpy backend runs on cpu only, not {device}")
        return NumpyModel(spec, optimizer,
                          dtype=np.float64 if variant == "float64" else np.float32)

    def matmul(self, device: str, n: int):
        rng = np.random.default_rng(0)
        a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
        return lambda: a @ b

    def synchronize(self, device: str) -> None:
        """NumPy computes eagerly: when a call returns, its work is done."""
