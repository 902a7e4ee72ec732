"""Parity against the NumPy oracle: the proof that every backend computes the same model.

The reference is the NumPy oracle run in float64 (its ``float64`` variant): the exact
trajectory, free of float32 rounding. From identical initial weights and identical batches, a
backend and the reference are compared on the logits before any step, the loss returned by
step 1 and step N, and the weights after N steps. Deviations:

* loss: relative, ``|a - b| / |b|``;
* logits and weights: scale-relative, ``max|a - b| / max(max|b|, 1e-3)`` per array (the floor
  keeps arrays that start at zero, like biases, from dividing by almost nothing).

Gradients of max-pooling and ReLU are discontinuous: where two window entries (or a
pre-activation and zero) lie within float32 rounding of each other, a correct float32 backend
may route a gradient differently from the exact reference, and the trajectories part for good.
Such near-ties are rare but real (about one per ten steps of the full-size convnet), so every
check runs on several seeds (different batches) and is judged on the **median** deviation; the
worst seed is reported too. A wrong formula deviates on every seed and fails.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchsuite import data
from benchsuite.backend import Backend
from benchsuite.optim import Optimizer
from benchsuite.plugins import ORACLE  # noqa: F401 - the in-tree NumPy backend's name
from benchsuite.spec import ModelSpec

TOLERANCE = 1e-4
REFERENCE_VARIANT = "float64"
SCALE_FLOOR = 1e-3


@dataclass(frozen=True)
class Check:
    name: str
    deviation: float  # median over seeds
    worst: float  # max over seeds

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.deviation)) and self.deviation <= TOLERANCE


def scaled_deviation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b), initial=0.0) / max(float(np.max(np.abs(b))), SCALE_FLOOR))


def relative_deviation(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


def trace(backend: Backend, spec: ModelSpec, device: str, variant: str | None,
          optimizer: Optimizer, steps: int, batch_size: int, seed: int) -> dict[str, Any]:
    """Logits at step 0, every step's loss and the final weights of one backend."""
    model = backend.build(spec, device, optimizer, variant)
    model.set_weights(spec.init_weights(seed))
    x, y = data.synthetic(spec.input_shape, spec.classes, batch_size * steps, seed=seed + 1)
    batches = [model.stage(xb, yb) for xb, yb in data.batches(x, y, batch_size, seed=seed)]
    logits = model.to_numpy(model.predict(batches[0][0]))
    losses = [float(model.to_numpy(model.train_step(*b))) for b in batches]
    backend.synchronize(device)
    return {"logits": logits, "losses": losses, "weights": model.get_weights()}


def compare(got: dict[str, Any], ref: dict[str, Any]) -> dict[str, float]:
    """Deviation per check of one trace from the reference trace."""
    steps = len(ref["losses"])
    out = {"logits_step0": scaled_deviation(got["logits"], ref["logits"]),
           "loss_step1": relative_deviation(got["losses"][0], ref["losses"][0])}
    if steps > 1:
        out[f"loss_step{steps}"] = relative_deviation(got["losses"][-1], ref["losses"][-1])
    same = len(got["weights"]) == len(ref["weights"])
    out[f"weights_step{steps}"] = max(
        (scaled_deviation(a, b) for a, b in zip(got["weights"], ref["weights"])),
        default=0.0) if same else float("inf")
    return out


class Reference:
    """The oracle's float64 traces, computed once per (spec, optimizer, steps, batch, seed)."""

    def __init__(self, oracle: Backend) -> None:
        self.oracle = oracle
        self._cache: dict[tuple, dict[str, Any]] = {}

    def trace(self, spec: ModelSpec, optimizer: Optimizer, steps: int, batch_size: int,
              seed: int) -> dict[str, Any]:
        key = (spec, optimizer, steps, batch_size, seed)
        if key not in self._cache:
            self._cache[key] = trace(self.oracle, spec, "cpu", REFERENCE_VARIANT, optimizer,
                                     steps, batch_size, seed)
        return self._cache[key]


def reference_of(session: Any) -> Reference | None:
    """The oracle's reference kept by a worker ``session`` (computed traces are reused by
    every job of the worker), or None when the oracle backend is not installed."""
    if "reference" not in session.cache:
        oracle = session.registry.oracle()
        session.cache["reference"] = Reference(oracle) if oracle is not None else None
    return session.cache["reference"]


def check(backend: Backend, reference: Reference, spec: ModelSpec, device: str,
          variant: str | None, optimizer: Optimizer, steps: int = 10, batch_size: int = 16,
          seeds: tuple[int, ...] = (0, 1, 2)) -> list[Check]:
    """Run ``backend`` on the reference's trajectories, one per seed, and judge each check on
    the median deviation over seeds."""
    per_seed = []
    for seed in seeds:
        ref = reference.trace(spec, optimizer, steps, batch_size, seed)
        got = trace(backend, spec, device, variant, optimizer, steps, batch_size, seed)
        per_seed.append(compare(got, ref))
    return [Check(name, statistics.median(d[name] for d in per_seed),
                  max(d[name] for d in per_seed)) for name in per_seed[0]]


def summary(checks: list[Check]) -> dict[str, Any]:
    """JSON form recorded with each case (non-finite deviations become null)."""
    def finite(v: float) -> float | None:
        return float(v) if np.isfinite(v) else None

    return {"passed": all(c.passed for c in checks), "tolerance": TOLERANCE,
            "max_deviation": finite(max(c.deviation for c in checks)),
            "checks": {c.name: finite(c.deviation) for c in checks},
            "worst_seed": {c.name: finite(c.worst) for c in checks}}
