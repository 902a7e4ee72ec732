"""The contract checks that random inputs and a single fresh model cannot see.

The checks in :mod:`benchsuite.checks` build a fresh model per test and feed it uniform random
pixels: a backend could pass them all and still break ``benchsuite train`` or digits. These
checks use the inputs and call sequences that expose what they miss:

* ``stage returns a pair`` — ``stage(x)`` alone, as the evaluation of ``benchsuite train``
  calls it, returns ``(x, None)``;
* ``set_weights resets optimizer`` — a step after ``set_weights`` equals the same step on a
  fresh model (momentum, Adam's moments and step count start afresh);
* ``relu'(0) = 0`` — pre-activations that are exactly zero (zero pixels, zero biases, zero
  kernel columns: what digits has) get no gradient through relu;
* ``max-pool ties`` — windows whose values are exactly equal send the gradient to their first
  maximum in row-major order (not the last, not shared);
* ``training epoch`` — one tiny epoch through :func:`benchsuite.training.accuracy_task`, the
  code a ``benchsuite train`` worker runs, evaluation in batches of another size included.
"""

from __future__ import annotations

import numpy as np

from benchsuite import data, parity, training
from benchsuite.backend import Backend
from benchsuite.checks import (
    BATCH,
    CLASSES,
    DETERMINISM_TOLERANCE,
    INPUT,
    OPTIMIZERS,
    _batch,
    _built,
    _require,
    compare_step,
    layer_probes,
)
from benchsuite.checkspec import CheckFailed, Context, Planned
from benchsuite.learning import Job, LearnSettings
from benchsuite.optim import SGD
from benchsuite.spec import Activation, Conv2D, Dense, Flatten, ModelSpec, mlp

PLAIN_SGD = SGD(lr=1.0, momentum=0.0)  # one step moves each weight by exactly its gradient
EPOCH_TRAIN, EPOCH_TEST = 48, 16  # images: 6 steps of BATCH; evaluated in one batch of each
TIED_FILTERS = 2  # of the pool probe's 4 conv filters: zero kernels, so each window is a tie


def relu_probes() -> dict[str, ModelSpec]:
    """relu after a Dense layer and after a Conv2D layer, each followed by a Dense head."""
    conv = ModelSpec("conv-relu", INPUT, CLASSES,
                     (Conv2D(4, 3), Activation("relu"), Flatten(), Dense(CLASSES)))
    return {"Dense": mlp(INPUT, CLASSES, depth=1, width=8, activation="relu"), "Conv2D": conv}


def pool_probe() -> ModelSpec:
    return layer_probes()["MaxPool2D"]


def check_stage(ctx: Context, check: Planned) -> str:
    for spec in check.specs:
        model = _built(ctx, spec, check.device)
        x, y = _batch(spec)
        alone = model.stage(x)
        _require(_is_pair(alone) and alone[1] is None,
                 f"{spec.name}: stage(x) returned {_describe(alone)}; it must return the pair "
                 "(x, None): `benchsuite train` evaluates with `x, _ = model.stage(x)`")
        both = model.stage(x, y)
        _require(_is_pair(both) and both[1] is not None,
                 f"{spec.name}: stage(x, y) returned {_describe(both)}; it must return the "
                 "pair (x, y)")
        a, b = (np.asarray(model.to_numpy(model.predict(s[0]))) for s in (alone, both))
        _require(np.array_equal(a, b), f"{spec.name}: predict() of stage(x)[0] and of "
                 "stage(x, y)[0] differ")
    return f"{len(check.specs)} model(s): stage(x) is (x, None), stage(x, y) is (x, y)"


def _is_pair(value) -> bool:
    return isinstance(value, (tuple, list)) and len(value) == 2


def _describe(value) -> str:
    what, shape = type(value).__name__, getattr(value, "shape", None)
    if shape is not None:
        return f"{what} of shape {tuple(shape)}"
    return f"{what} of length {len(value)}" if isinstance(value, (tuple, list)) else what


def check_resets(ctx: Context, check: Planned) -> str:
    """Train a step, set the weights back, train a step on another batch: the same weights as
    that step on a fresh model, for each optimizer (Adam's state is caught only because the
    second batch differs: on the same gradient its update repeats)."""
    for spec in check.specs:
        start, first, second = spec.init_weights(0), _batch(spec, 1), _batch(spec, 2)
        for name, opt in OPTIMIZERS.items():
            model = ctx.backend.build(spec, check.device, opt, ctx.variant)
            model.set_weights(start)
            model.train_step(*model.stage(*first))
            model.set_weights(start)
            model.train_step(*model.stage(*second))
            fresh = ctx.backend.build(spec, check.device, opt, ctx.variant)
            fresh.set_weights(start)
            fresh.train_step(*fresh.stage(*second))
            ctx.backend.synchronize(check.device)
            dev = max(parity.scaled_deviation(a, b)
                      for a, b in zip(model.get_weights(), fresh.get_weights()))
            _require(dev <= DETERMINISM_TOLERANCE, f"{spec.name} ({name}): a step after "
                     f"set_weights differs from the same step on a fresh model by {dev:.2g} "
                     f"(tolerance {DETERMINISM_TOLERANCE:g}): set_weights must reset the "
                     "optimizer state (velocities, moments, step count)")
    return f"{len(check.specs)} model(s), {' and '.join(OPTIMIZERS)}: state starts afresh"


def _one_step(backend: Backend, spec: ModelSpec, device: str, variant: str | None,
              weights: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    model = backend.build(spec, device, PLAIN_SGD, variant)
    model.set_weights([w.copy() for w in weights])
    model.train_step(*model.stage(x.copy(), y.copy()))
    backend.synchronize(device)
    return model.get_weights()


def _matches_oracle(ctx: Context, check: Planned, case, why: str) -> None:
    oracle = ctx.reference().oracle
    for spec in check.specs:
        weights, x, y = case(spec)
        ref = _one_step(oracle, spec, "cpu", parity.REFERENCE_VARIANT, weights, x, y)
        got = _one_step(ctx.backend, spec, check.device, ctx.variant, weights, x, y)
        compare_step(spec, weights, ref, got, why)


def zero_preactivations(spec: ModelSpec):
    """Weights and a batch where many relu inputs are exactly 0: the left half of every image
    is 0, the first layer's bias is 0, and half of a first Dense layer's columns are 0."""
    weights, (x, y) = spec.init_weights(0), _batch(spec)
    x[:, :, : x.shape[2] // 2] = 0.0
    first = next(i for i, p in enumerate(spec.parameters()) if p.name == "kernel")
    weights[first + 1][:] = 0.0
    if isinstance(spec.layers[spec.parameters()[first].layer_index], Dense):
        weights[first][:, : weights[first].shape[1] // 2] = 0.0
    return weights, x, y


def check_relu(ctx: Context, check: Planned) -> str:
    _matches_oracle(ctx, check, zero_preactivations,
                    ": with relu inputs exactly 0, relu'(0) must be 0 (not 1/2, not 1)")
    return f"{len(check.specs)} spec(s) with exact-zero pre-activations: gradients match"


def tied_windows(spec: ModelSpec):
    """Weights where the first TIED_FILTERS conv filters have zero kernels: their outputs are
    their bias everywhere, so every pooling window of theirs is an exact tie."""
    weights, (x, y) = spec.init_weights(0), _batch(spec)
    weights[0][..., :TIED_FILTERS] = 0.0
    weights[1][:TIED_FILTERS] = np.linspace(-0.5, 0.5, TIED_FILTERS, dtype=np.float32)
    return weights, x, y


def check_maxpool(ctx: Context, check: Planned) -> str:
    _matches_oracle(ctx, check, tied_windows, ": in a pooling window of equal values the "
                    "gradient must go to the first maximum in row-major order (not the last, "
                    "not shared)")
    return f"{TIED_FILTERS} filters with every window tied: gradients match the oracle"


def check_epoch(ctx: Context, check: Planned) -> str:
    (spec,) = check.specs
    x, y = data.synthetic(spec.input_shape, spec.classes, EPOCH_TRAIN + EPOCH_TEST, seed=3)
    ds = data.Dataset("synthetic", x[:EPOCH_TRAIN], y[:EPOCH_TRAIN], x[EPOCH_TRAIN:],
                      y[EPOCH_TRAIN:], spec.classes)
    settings = LearnSettings(backends=[ctx.backend.name], batch_size=BATCH, epochs=1,
                             seeds=(0,), device=check.device)
    job = Job(backend=ctx.backend.name, spec=spec, variant=ctx.variant, settings=settings,
              task="accuracy", seed=0, optimizer=OPTIMIZERS["adam"], epochs=1)
    try:
        out = training.accuracy_task(ctx.backend, job, ds, settings)
    except Exception as exc:
        raise CheckFailed(f"{spec.name}: an epoch as `benchsuite train` runs it raised "
                          f"{type(exc).__name__}: {exc}") from None
    point = out["curve"][-1]
    shares = [point["train_accuracy"], point["test_accuracy"], *out["shifted_accuracy"].values()]
    _require(all(0.0 <= a <= 1.0 for a in shares), f"{spec.name}: accuracies {shares} are "
             "not shares of the images")
    return (f"{spec.name}: 1 epoch of {EPOCH_TRAIN // BATCH} steps as `benchsuite train` runs "
            f"it, evaluated in batches of {EPOCH_TRAIN} and {EPOCH_TEST} (loss "
            f"{point['loss']:.3g})")
