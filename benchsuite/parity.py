"""Parity against the NumPy oracle: the proof that every backend computes the same model.

From identical initial weights and identical batches, a backend and the oracle are compared on
the logits before any step, the loss returned by steps 1 and N, and the weights after N steps.
Deviations, all in float32:

* loss: relative, ``|a - b| / |b|``;
* logits and weights: scale-relative, ``max|a - b| / max(max|b|, 1e-3)`` per array (the floor
  keeps arrays that start at zero, like biases, from dividing by almost nothing).

Every check passes at ``TOLERANCE`` (1e-4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from benchsuite import data
from benchsuite.backend import Backend
from benchsuite.optim import Optimizer
from benchsuite.spec import ModelSpec

TOLERANCE = 1e-4
ORACLE = "numpy"
SCALE_FLOOR = 1e-3


@dataclass(frozen=True)
class Check:
    name: str
    deviation: float

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.deviation)) and self.deviation <= TOLERANCE


def scaled_deviation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), SCALE_FLOOR))


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


def compare(got: dict[str, Any], ref: dict[str, Any]) -> list[Check]:
    """The checks of one trace against the oracle's trace."""
    steps = len(ref["losses"])
    checks = [Check("logits_step0", scaled_deviation(got["logits"], ref["logits"])),
              Check("loss_step1", relative_deviation(got["losses"][0], ref["losses"][0]))]
    if steps > 1:
        checks.append(Check(f"loss_step{steps}",
                            relative_deviation(got["losses"][-1], ref["losses"][-1])))
    worst = max((scaled_deviation(a, b) for a, b in zip(got["weights"], ref["weights"])),
                default=0.0) if len(got["weights"]) == len(ref["weights"]) else float("inf")
    checks.append(Check(f"weights_step{steps}", worst))
    return checks


def check(backend: Backend, oracle: Backend, spec: ModelSpec, device: str,
          variant: str | None, optimizer: Optimizer, steps: int = 10, batch_size: int = 16,
          seed: int = 0) -> list[Check]:
    """Run ``backend`` and the oracle on the same trajectory and compare them."""
    ref = trace(oracle, spec, "cpu", None, optimizer, steps, batch_size, seed)
    got = trace(backend, spec, device, variant, optimizer, steps, batch_size, seed)
    return compare(got, ref)


def summary(checks: list[Check]) -> dict[str, Any]:
    """JSON form recorded with each case."""
    def finite(v: float) -> float | None:  # JSON has no inf/nan
        return float(v) if np.isfinite(v) else None

    return {"passed": all(c.passed for c in checks), "tolerance": TOLERANCE,
            "max_deviation": finite(max(c.deviation for c in checks)),
            "checks": {c.name: finite(c.deviation) for c in checks}}
