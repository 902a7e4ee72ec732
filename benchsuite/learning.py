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

This module plans the runs and drives them (parent process); :mod:`benchsuite.training` is
what a worker does with one of them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from benchsuite import data, planning
from benchsuite.errors import UsageError
from benchsuite.execution import WorkerSettings
from benchsuite.optim import OPTIMIZERS, SGD, Adam, Optimizer, make_optimizer, optimizer_dict
from benchsuite.plugins import Registry
from benchsuite.records import new_training_record
from benchsuite.spec import ModelSpec
from benchsuite.values import as_tuple, check_number, check_numbers

TASKS = ("accuracy", "gradients")


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
    weight_decay: float | None = None
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
            kw[key] = as_tuple(kw.get(key, ()))
        kw["models"] = [(n, p) for n, p in d.get("models", [])]
        return cls(**kw)

    def worker_settings(self) -> WorkerSettings:
        """What a worker process needs of a run: threads, timeout, memory limit."""
        return WorkerSettings(self.threads, self.timeout, self.memory_limit_gib, self.isolate)


@dataclass(frozen=True)
class Job(planning.PlannedJob):
    """One training run: a task, a backend, a model spec, a seed, and how to train it."""

    task: str
    seed: int
    optimizer: Optimizer
    epochs: int
    target: float | None = None

    @property
    def label(self) -> str:
        model = self.spec.name
        if self.task == "gradients":
            model += f"[depth={self.spec.params['depth']},{self.spec.params['activation']}]"
        return f"{self.task} {self.backend} {model} seed {self.seed}"

    def key(self) -> tuple:
        return job_key(self.task, self.backend, self.variant, self.spec.name,
                       dict(self.spec.params), self.seed)

    def call(self) -> tuple[str, tuple[Any, ...]]:
        return "benchsuite.training:run_job", (self, self.settings)

    def record(self, status: str, error: str | None) -> dict[str, Any]:
        """A training run's record: the skeleton, with ``status`` and ``error``."""
        s = self.settings
        record = dict(new_training_record(
            self.task, self.backend, self.spec.name, self.spec.to_dict(),
            backend_version=self.backend_version, variant=self.variant, device=s.device,
            dataset=s.dataset, seed=self.seed, optimizer=optimizer_dict(self.optimizer),
            batch_size=s.batch_size, epochs=self.epochs, target=self.target), **self.dists())
        record["status"], record["error"] = status, error
        return record


def job_key(task, backend, variant, model, params, seed) -> tuple:
    return (task, backend, variant, model, json.dumps(params, sort_keys=True), seed)


def record_key(r: dict[str, Any]) -> tuple:
    return job_key(r["task"], r["backend"], r.get("variant"), r["model"],
                   (r.get("spec") or {}).get("params", {}), r["seed"])


# -- planning (parent process) -----------------------------------------------------------

def recipe(dataset: str, model: str, settings: LearnSettings) -> Recipe:
    """The data set's recipe for ``model``, with the command line's overrides applied."""
    base = RECIPES.get(dataset, {}).get(model, DEFAULT_RECIPE)
    return replace(base, optimizer=_optimizer(base.optimizer, settings),
                   epochs=settings.epochs or base.epochs,
                   target=settings.targets.get(model, base.target))


def _optimizer(base: Optimizer, settings: LearnSettings) -> Optimizer:
    """The recipe's optimizer with --optimizer, --lr and --weight-decay applied: another
    optimizer starts from its own defaults but keeps the recipe's penalty."""
    name = settings.optimizer or base.name
    opt = base if name == base.name else replace(make_optimizer(name),
                                                  weight_decay=base.weight_decay)
    if settings.lr is not None:
        opt = replace(opt, lr=settings.lr)
    if settings.weight_decay is not None:
        opt = replace(opt, weight_decay=settings.weight_decay)
    return opt


def validate(settings: LearnSettings, models: list[str] | None = None) -> None:
    """Every value that cannot make sense, as one UsageError: the command line's and those
    read back from a results file by ``--resume`` alike. ``models``: the registered model
    names, which ``--target`` must name."""
    planning.check_device(settings.device, allow_all=False)
    check_number("--threads", settings.threads, integer=True, minimum=1)
    check_number("--timeout", settings.timeout, exclusive=True)
    if settings.memory_limit_gib is not None:
        check_number("--memory-limit", settings.memory_limit_gib, exclusive=True)
    if not isinstance(settings.tasks, list | tuple):
        raise UsageError(f"--task must be a list of tasks, got {settings.tasks!r}")
    bad = [t for t in settings.tasks if t not in TASKS]
    if bad or not settings.tasks:
        raise UsageError(f"unknown task {bad[0] if bad else ''!r} (valid: {', '.join(TASKS)})")
    if settings.dataset not in data.NAMED:
        raise UsageError(f"unknown data set {settings.dataset!r} "
                         f"(valid: {', '.join(data.NAMED)})")
    check_number("--batch-size", settings.batch_size, integer=True, minimum=1)
    for option, value in (("--epochs", settings.epochs), ("--limit", settings.limit)):
        if value is not None:
            check_number(option, value, integer=True, minimum=1)
    if isinstance(settings.seeds, tuple) and not settings.seeds:
        raise UsageError("--seeds must be >= 1")
    check_numbers("--seed", settings.seeds, integer=True)
    if settings.lr is not None:
        check_number("--lr", settings.lr, exclusive=True)
    if settings.weight_decay is not None:
        check_number("--weight-decay", settings.weight_decay)
    if settings.optimizer and settings.optimizer not in OPTIMIZERS:
        raise UsageError(f"unknown optimizer {settings.optimizer!r} "
                         f"(valid: {', '.join(OPTIMIZERS)})")
    check_numbers("--depths", settings.depths, integer=True, minimum=1)
    if not isinstance(settings.targets, dict):
        raise UsageError(f"--target must map models to accuracies, got {settings.targets!r}")
    for model, target in settings.targets.items():
        if models is not None and model not in models:
            raise UsageError(f"--target {model}={target}: unknown model {model!r} "
                             f"(valid: {', '.join(sorted(models))})")
        check_number(f"--target {model}", target, exclusive=True, maximum=1)


def check_data(settings: LearnSettings, ds: data.Dataset) -> None:
    """What the settings ask of the data set it has: a batch no larger than its training
    images (otherwise an epoch has no step)."""
    if settings.batch_size > len(ds.x_train):
        raise UsageError(f"--batch-size {settings.batch_size} is larger than the "
                         f"{len(ds.x_train)} training images of {ds.name}")


def plan(registry: Registry, settings: LearnSettings, shape: tuple[int, int, int],
         classes: int) -> list[Job]:
    """Every job, backend innermost so that backends alternate (drift hits all alike)."""
    validate(settings, list(registry.models))
    backends, explicit = planning.selected_backends(registry, settings.backends)
    backends = [b for b in backends if b.computes or explicit]  # the null backend learns nothing
    have = {b.name: planning.devices(registry, b, [settings.device], explicit)
            for b in backends}
    variants = planning.variants(backends, settings.variants)
    specs: list[tuple[str, ModelSpec, Recipe]] = []
    if "accuracy" in settings.tasks:
        models = settings.models or [(n, {}) for n in registry.models]
        for name, params in models:
            r = recipe(settings.dataset, name, settings)
            spec = planning.build_spec(registry, name, {**r.params, **params}, shape, classes,
                                      settings.batch_size)
            specs.append(("accuracy", spec, r))
    if "gradients" in settings.tasks:
        g = replace(GRADIENT_RECIPE, epochs=settings.epochs or GRADIENT_RECIPE.epochs,
                    optimizer=_optimizer(GRADIENT_RECIPE.optimizer, settings))
        for activation in settings.activations:
            for depth in settings.depths:
                params = {**g.params, "depth": depth, "activation": activation}
                spec = planning.build_spec(registry, "mlp", params, shape, classes,
                                          settings.batch_size)
                specs.append(("gradients", spec, g))
    facts = planning.backend_facts(registry, backends)
    return [Job(task, seed, r.optimizer, r.epochs, r.target, backend=b.name, spec=spec,
                variant=var, settings=settings, model_dist=registry.dist_of_model(spec.name),
                skip_reason=planning.skip_reason(b, spec, settings.device, have[b.name], var),
                **facts[b.name])
            for task, spec, r in specs for seed in settings.seeds
            for b in backends for var in variants[b.name]]


def dataset_block(ds: data.Dataset) -> dict[str, Any]:
    """What a learning document records of its data set."""
    return {"name": ds.name, "train": len(ds.x_train), "test": len(ds.x_test),
            "input_shape": list(ds.input_shape), "classes": ds.classes}


def remaining(jobs: list[Job], doc: dict[str, Any]) -> list[Job]:
    """The jobs ``doc`` (an interrupted run) has no record of yet."""
    done = {record_key(r) for r in doc.get("learning", [])}
    return [j for j in jobs if j.key() not in done]
