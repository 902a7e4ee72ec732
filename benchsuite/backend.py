"""The backend contract: what a plugin implements so the harness can run a spec on it.

A :class:`Backend` describes a framework (is it installed, which devices, which layers) and
builds a :class:`Model` from a :class:`~benchsuite.spec.ModelSpec`. The harness then loads the
shared initial weights with ``set_weights``, feeds the core's batches, and times steps between
calls to ``synchronize``. Framework imports belong inside methods, never at plugin import time,
so that listing plugins stays instant and a missing framework is reported, not raised.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from benchsuite.optim import Optimizer
from benchsuite.spec import LAYER_TYPES, ModelSpec

DEVICES = ("cpu", "cuda")


class Model(ABC):
    """One built model on one device, with its optimizer state.

    ``train_step`` and ``predict`` may return framework-native values and may run
    asynchronously: the harness calls ``Backend.synchronize`` before reading a clock, and
    ``to_numpy`` only outside timed regions.
    """

    @abstractmethod
    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Load parameters given in canonical order and layout (see ``benchsuite.spec``)."""

    @abstractmethod
    def get_weights(self) -> list[np.ndarray]:
        """Current parameters as float32 NumPy arrays in canonical order and layout."""

    @abstractmethod
    def train_step(self, x: Any, y: Any) -> Any:
        """One optimizer step on a batch; returns the batch's mean loss (scalar, maybe native)."""

    @abstractmethod
    def predict(self, x: Any) -> Any:
        """Logits ``(N, classes)`` for a batch, without updating anything."""

    def stage(self, x: np.ndarray, y: np.ndarray | None = None) -> tuple[Any, Any]:
        """Move a host batch (NHWC float32, int labels) to where the model computes.

        Called outside timed regions; the result is what ``train_step``/``predict`` receive.
        """
        return x, y

    def to_numpy(self, value: Any) -> np.ndarray:
        """A value returned by ``train_step`` or ``predict`` as a NumPy array."""
        return np.asarray(value)


class Backend(ABC):
    """A framework that can build and run specs. Subclass, then register it from a plugin."""

    #: Unique short name, used on the command line (``-b NAME``).
    name: str = ""
    #: What to install when the framework is missing, e.g. ``pip install benchsuite[torch]``.
    install_hint: str = ""
    #: Distributions of the framework, e.g. ``("jax", "jaxlib")``: their installed versions
    #: are recorded in every results file's ``environment.packages``.
    packages: tuple[str, ...] = ()
    #: Spec layer classes this backend can translate.
    supported_layers: frozenset[type] = frozenset(LAYER_TYPES)
    #: Device kinds this backend can use where the hardware exists (``devices()`` probes).
    supported_devices: tuple[str, ...] = ("cpu",)
    #: Execution modes (``--variant``); the first is the default, the framework's fast path.
    variants: tuple[str, ...] = ("default",)
    #: False for backends that compute nothing real (the null backend): no parity check.
    computes: bool = True

    @abstractmethod
    def is_available(self) -> bool:
        """Whether the framework is installed. Must stay cheap and must not import the
        framework (``importlib.util.find_spec`` is the usual answer)."""

    def version(self) -> str | None:
        """Framework version string, or None when unavailable."""
        return None

    def devices(self) -> list[str]:
        """Devices usable on this machine, a subset of ``DEVICES`` (may import the framework)."""
        return ["cpu"]

    def set_threads(self, threads: int) -> dict[str, int]:
        """Limit the framework's CPU threads; returns the thread counts actually in effect."""
        return {}

    def environment(self) -> dict[str, object]:
        """Framework facts for the results' environment block (versions, BLAS, devices)."""
        return {"version": self.version()}

    @abstractmethod
    def build(self, spec: ModelSpec, device: str, optimizer: Optimizer,
              variant: str | None = None) -> Model:
        """Translate ``spec`` into a model on ``device`` that trains with ``optimizer``, run in
        execution mode ``variant`` (one of ``variants``; None means the default)."""

    @abstractmethod
    def synchronize(self, device: str) -> None:
        """Block until all work queued on ``device`` has finished. Mandatory: timers rely on it."""

    def matmul(self, device: str, n: int):
        """Optional: a callable doing one n×n×n float32 matmul on ``device`` (operands already
        there), used to calibrate the machine's peak GFLOP/s in this framework. None: no peak."""
        return None

    def reset_peak_memory(self, device: str) -> None:  # noqa: B027 - optional hook
        """Optional: reset the device's peak-memory counter (GPU backends)."""

    def peak_memory(self, device: str) -> int | None:
        """Optional: peak device memory in bytes since the last reset (None on CPU)."""
        return None

    def unsupported_reason(self, spec: ModelSpec) -> str | None:
        """Why this backend cannot run ``spec``, or None when it can."""
        missing = [t for t in spec.layer_types() if t not in self.supported_layers]
        if missing:
            names = ", ".join(sorted(t.__name__ for t in missing))
            return f"{self.name} does not support layer(s): {names}"
        return None


__all__ = ["DEVICES", "Backend", "Model"]
