"""JAX backend: ``jit`` (the whole train step compiled by XLA) by default, ``eager`` = the same
functions without ``jit`` (op by op, for comparison only); CPU and CUDA (the ``jax[cuda12]``
or ``jax[cuda13]`` plugin wheels).

Threads: XLA sizes its CPU thread pool once, when the CPU client starts, from the process's
CPU affinity; ``XLA_FLAGS``' intra-op settings were ignored by jaxlib 0.10 (a worker asked for
1 thread used 1.85 CPU-seconds per wall second). So ``set_threads`` narrows the affinity to
the number of CPUs asked, starts the client, and widens it again for every thread of the
process: the pool keeps the size it was given, and its threads are not pinned to cores.

On a GPU, XLA takes 75% of the device's memory when its client starts, unless told otherwise:
the backends of a run share the GPU while they take turns, so the worker asks XLA to allocate
on demand (``XLA_PYTHON_CLIENT_PREALLOCATE=false``) unless the user set that variable.

There is no device barrier in JAX: ``synchronize`` blocks on every output the backend's
models returned since the last call (``block_until_ready``).
"""

from __future__ import annotations

import importlib.util
import os
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from benchsuite.backend import Backend, Model
from benchsuite.optim import Optimizer
from benchsuite.spec import ModelSpec


def jax_device(device: str):
    """The first JAX device of a benchsuite device kind."""
    import jax

    return jax.devices("cuda" if device == "cuda" else "cpu")[0]


def allocate_on_demand() -> None:
    """Before JAX's clients start: no preallocation of the GPU's memory (the module doc says
    why), unless the user chose otherwise."""
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")


def _client_started() -> bool:
    try:
        from jax._src import xla_bridge
    except ImportError:  # pragma: no cover - a JAX without the module: assume not started
        return False
    return xla_bridge.backends_are_initialized()


def start_client(threads: int) -> int:
    """Start JAX's clients with the CPU pool sized for ``threads`` CPUs; returns that size.

    Where the affinity cannot be set (not Linux) the pool takes every CPU, and that is
    what is returned."""
    import jax

    allocate_on_demand()
    if not hasattr(os, "sched_setaffinity"):  # pragma: no cover - not Linux
        jax.devices("cpu")
        return os.cpu_count() or 1
    cpus = sorted(os.sched_getaffinity(0))
    size = max(1, min(threads, len(cpus)))
    os.sched_setaffinity(0, cpus[:size])
    try:
        jax.devices("cpu")  # the client starts here and sizes its pool from the affinity
    finally:
        for tid in os.listdir("/proc/self/task"):  # the pool's threads inherited the mask
            try:
                os.sched_setaffinity(int(tid), cpus)
            except OSError:  # a thread that has exited since listing
                pass
    return size


class Pending:
    """The latest outputs of each model (and matmul), until ``synchronize`` waits for them."""

    def __init__(self) -> None:
        self.outputs: dict[Any, Any] = {}

    def note(self, key: Any, value: Any) -> None:
        self.outputs[key] = value  # a model's newest step depends on all of its earlier ones

    def wait(self) -> None:
        import jax

        arrays = [a for a in jax.tree_util.tree_leaves(list(self.outputs.values()))
                  if hasattr(a, "block_until_ready") and not a.is_deleted()]
        self.outputs.clear()
        jax.block_until_ready(arrays)


class JaxBackend(Backend):
    name = "jax"
    install_hint = "pip install benchsuite[jax]"
    packages = ("jax", "jaxlib")
    variants = ("jit", "eager")
    supported_devices = ("cpu", "cuda")

    def __init__(self) -> None:
        self.pending = Pending()
        self.pool: int | None = None  # CPUs XLA sized its pool from, once the client started

    def is_available(self) -> bool:
        return all(importlib.util.find_spec(m) is not None for m in ("jax", "jaxlib", "optax"))

    def version(self) -> str | None:
        try:
            return version("jax")
        except PackageNotFoundError:
            return None

    def devices(self) -> list[str]:
        import jax

        allocate_on_demand()
        try:
            gpus = jax.devices("cuda")
        except RuntimeError:  # no CUDA plugin, or it found no device
            gpus = []
        return ["cpu", "cuda"] if gpus else ["cpu"]

    def set_threads(self, threads: int) -> dict[str, int]:
        if self.pool is None:
            if _client_started():  # someone started JAX first: its pool took the affinity then
                self.pool = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
                    else os.cpu_count() or 1
            else:
                self.pool = start_client(threads)
        return {"intra_op": self.pool}

    def environment(self) -> dict[str, object]:
        import jax
        import jaxlib

        info: dict[str, object] = {
            "version": jax.__version__, "jaxlib": jaxlib.__version__,
            "optax": version("optax"), "default_backend": jax.default_backend(),
            "xla_cpu_pool_cpus": self.pool,
            "xla_flags": os.environ.get("XLA_FLAGS", ""),
            "gpu_preallocate": os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE"),
        }
        if "cuda" in self.devices():
            gpus = jax.devices("cuda")
            info["gpu"] = {"name": gpus[0].device_kind, "count": len(gpus)}
        return info

    def build(self, spec: ModelSpec, device: str, optimizer: Optimizer,
              variant: str | None = None) -> Model:
        from .model import JaxModel

        return JaxModel(spec, jax_device(device), optimizer, variant or self.variants[0],
                        self.pending)

    def matmul(self, device: str, n: int):
        import jax
        import jax.numpy as jnp

        dev = jax_device(device)
        a, b = (jax.device_put(jnp.ones((n, n), jnp.float32) * s, dev) for s in (0.5, 0.25))
        mm = jax.jit(lambda p, q: jnp.matmul(p, q, precision=jax.lax.Precision.HIGHEST))

        def run():
            out = mm(a, b)
            self.pending.note("matmul", out)
            return out

        return run

    def peak_memory(self, device: str) -> int | None:
        """None: JAX has no way to reset the allocator's peak, and a peak since the process
        started would be the largest case's, not this one's."""
        return None

    def synchronize(self, device: str) -> None:
        """Block on every output returned since the last call: JAX dispatches asynchronously
        on the CPU as on GPUs, and has no device-wide barrier."""
        self.pending.wait()
