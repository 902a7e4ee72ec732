"""Learning quality: what each backend learns, not only how fast it steps (``benchsuite train``).

Every backend trains in its own worker process (as in ``benchsuite run``), from the same initial
weights, on the same batches in the same shuffled order. Two experiments:

* **accuracy** — each model trained for a fixed number of epochs. Per epoch: training wall time
  (between ``synchronize`` calls; evaluation is not counted), mean training loss, train and test
  accuracy. *Time to target* is the training time up to the end of the first epoch whose test
  accuracy reaches the model's target (MLPerf's "time to train"). At the end, the test accuracy
  on the test images shifted by 1 and 2 pixels (mean over up, down, left, right): how much of
  what a model learned survives a translation it never saw.
* **gradients** — MLPs of several depths × activations (the vanishing-gradient experiment): the
  gradient norm of every Dense kernel at initialisation and after one epoch, and the test
  accuracy after the budget.

Gradients are measured through the plugin contract alone, so every backend (third-party ones
too) gets them without new code: one plain-SGD step (momentum 0) with learning rate η moves a
parameter by −η·∇, so ∇ = (w_before − w_after) / η. η = 1e6 makes a gradient of 1e-12 move a
float32 weight of 0.1 by 1e-6, far above its rounding (~1e-8).
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from benchsuite import __version__, data, results
from benchsuite.backend import DEVICES, Backend, Model
from benchsuite.bench import NonFinite, classify
from benchsuite.environment import fingerprint
from benchsuite.errors import UsageError
from benchsuite.optim import OPTIMIZERS, SGD, Adam, Optimizer, optimizer_dict
from benchsuite.plugins import Registry
from benchsuite.spec import ModelSpec

TASKS = ("accuracy", "gradients")
EVAL_BATCH = 500
PROBE_LR = 1e6
PROBE_BATCH = 256
SHIFTS = (1, 2)


@dataclass(frozen=True)
class Recipe:
    """How a model is trained on a data set: its parameters, optimizer, budget and target."""

    params: dict[str, Any]
    optimizer: Optimizer
    epochs: int
    target: float | None = None


#: Tuned once on digits with the NumPy backend, then used unchanged for every backend: logreg's
#: learning rate, L2 penalty and budget on a validation split of the training images (without
#: the penalty it overfits: 95.3% test, like scikit-learn's unpenalised fit); the convnet's shape
#: among 8 candidates (3x3 kernels and more filters suit 8x8 images; its 5x5 default is for
#: 28x28). The targets are the issue's.
RECIPES: dict[str, dict[str, Recipe]] = {
    "digits": {
        "logreg": Recipe({}, Adam(lr=0.01, weight_decay=3e-4), 60, 0.96),
        "mlp": Recipe({}, Adam(lr=0.001), 30, 0.975),
        "convnet": Recipe({"filters": [64, 128], "kernel_size": 3}, Adam(lr=0.001), 30, 0.985),
    },
}
DEFAULT_RECIPE = Recipe({}, Adam(lr=0.001), 5, None)
#: The vanishing-gradient experiment: plain SGD (Adam's per-parameter scaling would hide
#: the effect being shown), a fixed budget, one MLP per depth × activation.
GRADIENT_RECIPE = Recipe({"width": 128}, SGD(lr=0.01, momentum=0.9), 20, None)


@dataclass
class LearnSettings:
    """Everything that defines a ``benchsuite train`` run; recorded in the results file."""

    tasks: tuple[str, ...] = ("accuracy",)
    backends: list[str] = field(default_factory=list)
    models: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    dataset: str = "digits"
    data_dir: str | None = None
    limit: int | None = None
    epochs: int | None = None  # None: each recipe's
    batch_size: int = 32
    optimizer: str | None = None  # None: each recipe's
    lr: float | None = None
    seeds: tuple[int, ...] = (0, 1, 2)
    targets: dict[str, float] = field(default_factory=dict)
    depths: tuple[int, ...] = (2, 4, 8, 16)
    activations: tuple[str, ...] = ("sigmoid", "tanh", "relu")
    device: str = "cpu"
    variants: tuple[str, ...] = ()
    threads: int = 1
    timeout: float = 3600.0
    isolate: bool = True
    memory_limit_gib: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["models"] = [[n, p] for n, p in self.models]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LearnSettings:
        kw = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        for key in ("tasks", "seeds", "depths", "activations", "variants"):
            kw[key] = tuple(kw.get(key, ()))
        kw["models"] = [(n, p) for n, p in d.get("models", [])]
        return cls(**kw)

    def worker_settings(self):
        """What a worker process needs of a run: threads, timeout, memory limit."""
        from benchsuite.runner import Settings

        return Settings(threads=self.threads, timeout=self.timeout, isolate=self.isolate,
                        memory_limit_gib=self.memory_limit_gib, parity=False)


@dataclass(frozen=True)
class Job:
    """One training run: a task, a backend, a model spec, a seed, and how to train it."""

    task: str
    backend: str
    variant: str | None
    spec: ModelSpec
    seed: int
    optimizer: Optimizer
    epochs: int
    target: float | None = None
    skip_reason: str | None = None

    @property
    def label(self) -> str:
        model = self.spec.name
        if self.task == "gradients":
            model += f"[depth={self.spec.params['depth']},{self.spec.params['activation']}]"
        return f"{self.task} {self.backend} {model} seed {self.seed}"

    def key(self) -> tuple:
        return job_key(self.task, self.backend, self.variant, self.spec.name,
                       dict(self.spec.params), self.seed)


def job_key(task, backend, variant, model, params, seed) -> tuple:
    return (task, backend, variant, model, json.dumps(params, sort_keys=True), seed)


def record_key(r: dict[str, Any]) -> tuple:
    return job_key(r["task"], r["backend"], r.get("variant"), r["model"],
                   (r.get("spec") or {}).get("params", {}), r["seed"])


# -- planning (parent process) -----------------------------------------------------------

def recipe(dataset: str, model: str, settings: LearnSettings) -> Recipe:
    """The data set's recipe for ``model``, with the command line's overrides applied."""
    base = RECIPES.get(dataset, {}).get(model, DEFAULT_RECIPE)
    optimizer = base.optimizer
    if settings.optimizer or settings.lr:
        from benchsuite.optim import make_optimizer

        optimizer = make_optimizer(settings.optimizer or base.optimizer.name, settings.lr)
    return replace(base, optimizer=optimizer, epochs=settings.epochs or base.epochs,
                   target=settings.targets.get(model, base.target))


def validate(settings: LearnSettings) -> None:
    bad = [t for t in settings.tasks if t not in TASKS]
    if bad or not settings.tasks:
        raise UsageError(f"unknown task {bad[0] if bad else ''!r} (valid: {', '.join(TASKS)})")
    if settings.dataset not in data.NAMED:
        raise UsageError(f"unknown data set {settings.dataset!r} "
                         f"(valid: {', '.join(data.NAMED)})")
    if settings.batch_size < 1 or (settings.epochs is not None and settings.epochs < 1):
        raise UsageError("--batch-size and --epochs must be >= 1")
    if not settings.seeds:
        raise UsageError("--seeds must be >= 1")
    if settings.optimizer and settings.optimizer not in OPTIMIZERS:
        raise UsageError(f"unknown optimizer {settings.optimizer!r} "
                         f"(valid: {', '.join(OPTIMIZERS)})")
    if any(d < 1 for d in settings.depths):
        raise UsageError("--depths must be positive integers")
    for model, target in settings.targets.items():
        if not 0 < target <= 1:
            raise UsageError(f"target for {model} must be an accuracy in (0, 1], got {target}")


def plan(registry: Registry, settings: LearnSettings, shape: tuple[int, int, int],
         classes: int) -> list[Job]:
    """Every job, backend innermost so that backends alternate (drift hits all alike)."""
    from benchsuite import runner

    validate(settings)
    explicit = bool(settings.backends)
    names = list(dict.fromkeys(settings.backends)) or list(registry.backends)
    backends = [registry.backend(n) for n in names]
    backends = [b for b in backends if b.computes or explicit]  # the null backend learns nothing
    if settings.device not in DEVICES:
        raise UsageError(f"unknown device {settings.device!r} (valid: {', '.join(DEVICES)})")
    have = {b.name: runner._devices(registry, b, [settings.device], explicit, False)
            for b in backends}
    variants = runner._variants(backends, settings.variants)
    specs: list[tuple[str, ModelSpec, Recipe]] = []
    if "accuracy" in settings.tasks:
        models = settings.models or [(n, {}) for n in registry.models]
        for name, params in models:
            r = recipe(settings.dataset, name, settings)
            spec = runner.build_spec(registry, name, {**r.params, **params}, shape, classes)
            specs.append(("accuracy", spec, r))
    if "gradients" in settings.tasks:
        g = replace(GRADIENT_RECIPE, epochs=settings.epochs or GRADIENT_RECIPE.epochs)
        if settings.optimizer or settings.lr:
            from benchsuite.optim import make_optimizer

            g = replace(g, optimizer=make_optimizer(settings.optimizer or "sgd", settings.lr))
        for activation in settings.activations:
            for depth in settings.depths:
                params = {**g.params, "depth": depth, "activation": activation}
                spec = runner.build_spec(registry, "mlp", params, shape, classes)
                specs.append(("gradients", spec, g))
    return [Job(task, b.name, var, spec, seed, r.optimizer, r.epochs, r.target,
                runner._skip(b, spec, settings.device, have[b.name], var))
            for task, spec, r in specs for seed in settings.seeds
            for b in backends for var in variants[b.name]]


# -- one job (worker process) --------------------------------------------------------------

_DATASETS: dict[tuple, data.Dataset] = {}


def _dataset(settings: LearnSettings) -> data.Dataset:
    """The run's data set, loaded once per worker (checksums were verified by the parent)."""
    key = (settings.dataset, settings.data_dir, settings.limit)
    if key not in _DATASETS:
        _DATASETS[key] = data.load(settings.dataset, settings.data_dir, check=False,
                                   limit=settings.limit)
    return _DATASETS[key]


def base_record(job: Job, version: str | None, settings: LearnSettings) -> dict[str, Any]:
    return {
        "task": job.task, "backend": job.backend, "backend_version": version,
        "variant": job.variant, "model": job.spec.name, "spec": job.spec.to_dict(),
        "device": settings.device, "dataset": settings.dataset, "seed": job.seed,
        "optimizer": optimizer_dict(job.optimizer), "batch_size": settings.batch_size,
        "epochs": job.epochs, "target": job.target, "status": "skipped",
        "error": job.skip_reason,
    }


def run_job(backend: Backend, job: Job, settings: LearnSettings) -> dict[str, Any]:
    """Train one job in this process; whatever goes wrong becomes the record's status."""
    record = base_record(job, backend.version(), settings)
    if job.skip_reason:
        return record
    try:
        ds = _dataset(settings)
        task = accuracy_task if job.task == "accuracy" else gradients_task
        record.update(task(backend, job, ds, settings))
        record["status"], record["error"] = "ok", None
    except Exception as exc:
        record["status"], record["error"] = classify(exc), f"{type(exc).__name__}: {exc}"
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
    curve, elapsed = [], 0.0
    for epoch in range(1, job.epochs + 1):
        staged = [model.stage(x, y) for x, y in data.batches(
            ds.x_train, ds.y_train, settings.batch_size, seed=shuffle_seed(job.seed, epoch))]
        if not staged:
            raise UsageError(f"--batch-size {settings.batch_size} exceeds the "
                             f"{len(ds.x_train)} training images")
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
    return {"curve": curve, "final_test_accuracy": curve[-1]["test_accuracy"],
            "final_loss": curve[-1]["loss"], "train_s": curve[-1]["train_s"],
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
    return {"curve": curve, "final_test_accuracy": curve[-1]["test_accuracy"],
            "final_loss": curve[-1]["loss"], "train_s": curve[-1]["train_s"],
            "depth": job.spec.params["depth"], "activation": job.spec.params["activation"],
            "grad_norms_init": norms["init"], "grad_norms_epoch1": norms.get("epoch1")}


# -- the run (parent process) --------------------------------------------------------------

def new_doc(settings: LearnSettings, ds: data.Dataset) -> dict[str, Any]:
    return {
        "schema_version": results.SCHEMA_VERSION, "kind": "learning",
        "run_id": uuid.uuid4().hex[:12], "benchsuite_version": __version__,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "finished": None,
        "status": "running", "settings": settings.to_dict(),
        "dataset": {"name": ds.name, "train": len(ds.x_train), "test": len(ds.x_test),
                    "input_shape": list(ds.input_shape), "classes": ds.classes},
        "environment": fingerprint(), "cases": [], "learning": [],
    }


def execute(registry: Registry, jobs: list[Job], settings: LearnSettings, path: Path,
            doc: dict[str, Any], on_start: Callable[[int, Job], None] | None = None,
            on_done: Callable[[int, Job, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run ``jobs`` in order in per-backend workers, saving ``doc`` after each one (the same
    saving, interruption and resume as ``benchsuite run``)."""
    from benchsuite import runner

    return runner.execute(registry, jobs, settings.worker_settings(), path, doc,
                          on_case=on_done, on_start=on_start,
                          executor=_Trainer(registry, settings, doc), records="learning")


class _Trainer:
    """The executor of training jobs: each one in its backend's worker process."""

    def __init__(self, registry: Registry, settings: LearnSettings, doc: dict[str, Any]) -> None:
        from benchsuite.runner import _Workers

        self.registry, self.settings = registry, settings
        self.pool = _Workers(registry, settings.worker_settings(), doc)

    def stream(self, jobs: list[Job], on_start: Callable[[int, Job], None] | None = None):
        for i, job in enumerate(jobs):
            if on_start:
                on_start(i, job)
            yield job, self._run(job)

    def _run(self, job: Job) -> dict[str, Any]:
        if not job.skip_reason:
            kind, payload = self.pool.call(job.backend, run_job, job, self.settings)
            if kind == "result":
                return payload
        record = base_record(job, self.registry.backend(job.backend).version(), self.settings)
        if not job.skip_reason:
            record["status"], record["error"] = kind, payload
        return record

    def close(self) -> None:
        self.pool.close()


def remaining(jobs: list[Job], doc: dict[str, Any]) -> list[Job]:
    """The jobs ``doc`` (an interrupted run) has no record of yet."""
    done = {record_key(r) for r in doc.get("learning", [])}
    return [j for j in jobs if j.key() not in done]
