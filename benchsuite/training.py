"""The worker side of ``benchsuite train``: one training run, in the backend's own process.

See :mod:`benchsuite.learning` for the experiments. Everything here goes through the plugin
contract (``build``, ``set_weights``, ``stage``, ``train_step``, ``predict``, ``get_weights``,
``synchronize``) and nothing else, so every backend, third-party ones too, can be trained.

Gradients are measured through that contract as well: one plain-SGD step (momentum 0) with
learning rate η moves a parameter by −η·∇, so ∇ = (w_before − w_after) / η. η = 1e6 makes a
gradient of 1e-12 move a float32 weight of 0.1 by 1e-6, far above its rounding (~1e-8).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchsuite import data
from benchsuite.backend import Backend, Model
from benchsuite.bench import NonFinite, failure
from benchsuite.execution.worker import Session
from benchsuite.learning import Job, LearnSettings, check_data
from benchsuite.optim import SGD
from benchsuite.spec import ModelSpec

EVAL_BATCH = 500
PROBE_LR = 1e6
PROBE_BATCH = 256
SHIFTS = (1, 2)


def _dataset(session: Session, settings: LearnSettings) -> data.Dataset:
    """The run's data set, loaded once per worker (checksums were verified by the parent)."""
    key = ("dataset", settings.dataset, settings.data_dir, settings.limit)
    if key not in session.cache:
        session.cache[key] = data.load(settings.dataset, settings.data_dir, check=False,
                                       limit=settings.limit)
    return session.cache[key]


def run_job(session: Session, job: Job, settings: LearnSettings) -> dict[str, Any]:
    """A job function: train one job in this worker; whatever goes wrong becomes the
    record's status."""
    backend = session.backend
    record = job.record("skipped", job.skip_reason)
    record["backend_version"] = backend.version()
    if job.skip_reason:
        return record
    try:
        ds = _dataset(session, settings)
        task = accuracy_task if job.task == "accuracy" else gradients_task
        record.update(task(backend, job, ds, settings))
        record["status"], record["error"] = "ok", None
    except Exception as exc:
        record.update(failure(exc))
    return record


def shuffle_seed(seed: int, epoch: int) -> int:
    """The shuffle of ``epoch`` for ``seed``: the same on every backend."""
    return seed * 100_003 + epoch


def accuracy(model: Model, x: np.ndarray, y: np.ndarray) -> float:
    """Share of ``x`` classified as ``y``, predicted in fixed-size chunks."""
    correct = 0
    for start in range(0, len(x), EVAL_BATCH):
        xb, _ = model.stage(x[start:start + EVAL_BATCH])
        logits = model.to_numpy(model.predict(xb))
        correct += int((logits.argmax(axis=1) == y[start:start + EVAL_BATCH]).sum())
    return correct / len(x)


def train(backend: Backend, model: Model, ds: data.Dataset, job: Job, settings: LearnSettings,
          after_epoch: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """``job.epochs`` epochs; per epoch the curve point (cumulative training seconds, mean
    loss, train/test accuracy). Staging and evaluation happen outside the timed region."""
    check_data(settings, ds)  # the planner checked it too: here for direct callers
    curve, elapsed = [], 0.0
    for epoch in range(1, job.epochs + 1):
        staged = [model.stage(x, y) for x, y in data.batches(
            ds.x_train, ds.y_train, settings.batch_size, seed=shuffle_seed(job.seed, epoch))]
        backend.synchronize(settings.device)
        t0 = time.perf_counter()
        losses = [model.train_step(x, y) for x, y in staged]
        backend.synchronize(settings.device)
        elapsed += time.perf_counter() - t0
        loss = float(np.mean([model.to_numpy(v) for v in losses]))
        if not math.isfinite(loss):
            raise NonFinite(f"training loss became NaN/inf in epoch {epoch}")
        curve.append({"epoch": epoch, "train_s": elapsed, "loss": loss,
                      "train_accuracy": accuracy(model, ds.x_train, ds.y_train),
                      "test_accuracy": accuracy(model, ds.x_test, ds.y_test)})
        if after_epoch:
            after_epoch(epoch)
    return curve


def _summary(curve: list[dict[str, Any]]) -> dict[str, Any]:
    """What every task records of its training curve."""
    last = curve[-1]
    return {"curve": curve, "final_test_accuracy": last["test_accuracy"],
            "final_loss": last["loss"], "train_s": last["train_s"]}


def _fresh(backend: Backend, job: Job, settings: LearnSettings) -> Model:
    model = backend.build(job.spec, settings.device, job.optimizer, job.variant)
    model.set_weights(job.spec.init_weights(job.seed))
    return model


def accuracy_task(backend: Backend, job: Job, ds: data.Dataset,
                  settings: LearnSettings) -> dict[str, Any]:
    model = _fresh(backend, job, settings)
    curve = train(backend, model, ds, job, settings)
    reached = next((p for p in curve if job.target is not None
                    and p["test_accuracy"] >= job.target), None)
    shifted = {str(k): float(np.mean([accuracy(model, data.shift(ds.x_test, dy, dx), ds.y_test)
                                      for dy, dx in ((k, 0), (-k, 0), (0, k), (0, -k))]))
               for k in SHIFTS}
    return {**_summary(curve),
            "time_to_target_s": reached["train_s"] if reached else None,
            "epochs_to_target": reached["epoch"] if reached else None,
            "shifted_accuracy": shifted}


def gradient_norms(probe: Model, spec: ModelSpec, weights: list[np.ndarray],
                   x: Any, y: Any) -> list[float]:
    """‖∂loss/∂kernel‖ of every weighted layer, first to last, at ``weights``, measured as
    the change one plain-SGD step of learning rate PROBE_LR makes (see the module doc)."""
    probe.set_weights(weights)
    probe.train_step(x, y)
    after = probe.get_weights()
    kernels = [i for i, p in enumerate(spec.parameters()) if p.name == "kernel"]
    return [float(np.linalg.norm((weights[i].astype(np.float64) - after[i]) / PROBE_LR))
            for i in kernels]


def gradients_task(backend: Backend, job: Job, ds: data.Dataset,
                   settings: LearnSettings) -> dict[str, Any]:
    probe = backend.build(job.spec, settings.device, SGD(lr=PROBE_LR, momentum=0.0),
                          job.variant)
    pick = np.random.default_rng(job.seed).permutation(len(ds.x_train))[:PROBE_BATCH]
    xp, yp = probe.stage(ds.x_train[pick], ds.y_train[pick])
    weights = job.spec.init_weights(job.seed)
    norms = {"init": gradient_norms(probe, job.spec, weights, xp, yp)}
    model = _fresh(backend, job, settings)

    def after_epoch(epoch: int) -> None:
        if epoch == 1:
            norms["epoch1"] = gradient_norms(probe, job.spec, model.get_weights(), xp, yp)

    curve = train(backend, model, ds, job, settings, after_epoch)
    return {**_summary(curve), "depth": job.spec.params["depth"],
            "activation": job.spec.params["activation"], "grad_norms_init": norms["init"],
            "grad_norms_epoch1": norms.get("epoch1")}
