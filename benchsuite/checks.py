"""The contract checks themselves: one function per row of ``benchsuite check-plugin``.

Each takes the shared :class:`~benchsuite.conformance.Context` and its
:class:`~benchsuite.conformance.Planned` arguments, returns the detail shown for a pass, and
raises :class:`CheckFailed` with the reason (or :class:`CheckSkipped`). Shapes are small, like
``benchsuite verify``: 8×8×1 inputs, batch 8, 3 steps, 3 seeds judged on the median (see
:mod:`benchsuite.parity`), so a whole run takes seconds.
"""

from __future__ import annotations

import json

import numpy as np

from benchsuite import data, parity
from benchsuite.backend import DEVICES, Backend
from benchsuite.checkspec import CheckFailed, Context, Planned
from benchsuite.optim import SGD, Adam
from benchsuite.spec import (
    LAYER_TYPES,
    Conv2D,
    Dense,
    Flatten,
    MaxPool2D,
    ModelSpec,
    logreg,
    mlp,
)

INPUT, CLASSES, BATCH, STEPS, SEEDS = (8, 8, 1), 10, 8, 3, (0, 1, 2)
OPTIMIZERS = {"sgd+momentum": SGD(lr=0.01, momentum=0.9), "adam": Adam(lr=0.001)}
#: Checked on one model only: a strong L2 penalty, so a backend that ignores weight_decay is
#: off by far more than the tolerance within the check's 3 steps.
L2_OPTIMIZER = {"sgd+l2": SGD(lr=0.05, momentum=0.9, weight_decay=0.2),
                "adam+l2": Adam(lr=0.01, weight_decay=0.5)}  # L2 in the gradient, not AdamW
DETERMINISM_TOLERANCE = 1e-6


def layer_probes() -> dict[str, ModelSpec]:
    """The smallest spec that exercises each layer (forward and backward) after a Dense head."""
    def spec(name, *layers):
        return ModelSpec(name, INPUT, CLASSES, (*layers, Flatten(), Dense(CLASSES)))

    return {
        "Flatten+Dense": logreg(INPUT, CLASSES),
        **{f"Activation {fn}": mlp(INPUT, CLASSES, depth=1, width=8, activation=fn)
           for fn in ("relu", "sigmoid", "tanh")},
        "Conv2D 3x3": spec("conv3", Conv2D(4, 3)),
        "Conv2D 2x2 (even kernel)": spec("conv2", Conv2D(4, 2)),
        "MaxPool2D": spec("pool", Conv2D(4, 3), MaxPool2D(2)),
    }


def _require(ok: bool, reason: str) -> None:
    if not ok:
        raise CheckFailed(reason)


def check_registration(ctx: Context, check: Planned) -> str:
    b = ctx.backend
    _require(isinstance(b, Backend), f"{b!r} is not a benchsuite.Backend")
    _require(isinstance(b.name, str) and bool(b.name), "name must be a non-empty string")
    _require(bool(b.install_hint), "install_hint is empty (shown when the framework is missing)")
    _require(b.is_available() is True,
             f"is_available() is {b.is_available()!r} (install: {b.install_hint})")
    version = b.version()
    _require(isinstance(version, str) and bool(version),
             f"version() must be a string when available, got {version!r}")
    where = (f"entry point {ctx.registered_by!r}" if ctx.registered_by
             else "given directly (not looked up in the 'benchsuite' entry-point group)")
    return f"{b.name} {version}, {where}"


def check_capabilities(ctx: Context, check: Planned) -> str:
    b = ctx.backend
    layers = frozenset(b.supported_layers)
    _require(bool(layers) and layers <= set(LAYER_TYPES),
             f"supported_layers must be a non-empty subset of {[t.__name__ for t in LAYER_TYPES]}")
    _require(bool(b.supported_devices) and set(b.supported_devices) <= set(DEVICES),
             f"supported_devices {b.supported_devices!r} must be a non-empty subset of {DEVICES}")
    _require(bool(b.variants) and all(isinstance(v, str) and v for v in b.variants)
             and len(set(b.variants)) == len(b.variants),
             f"variants {b.variants!r} must be unique non-empty strings")
    _require(ctx.variant is None or ctx.variant in b.variants,
             f"variant {ctx.variant!r} is not one of {b.variants}")
    _require(isinstance(b.computes, bool), "computes must be a bool")
    found = ctx.devices()
    _require(set(found) <= set(b.supported_devices),
             f"devices() {found} lists devices not in supported_devices {b.supported_devices}")
    threads = b.set_threads(1)
    _require(isinstance(threads, dict), f"set_threads() must return a dict, got {threads!r}")
    try:
        json.dumps(b.environment())
    except TypeError as exc:
        raise CheckFailed(f"environment() is not JSON-serialisable: {exc}") from None
    refused = _refusals(b, layers, check.specs)
    names = ", ".join(sorted(t.__name__ for t in layers))
    return (f"layers {names}; refuses {', '.join(refused) or 'nothing'}; devices "
            f"{list(b.supported_devices)} (here: {found}); variants {list(b.variants)}")


def _refusals(b: Backend, layers: frozenset, specs: tuple[ModelSpec, ...]) -> list[str]:
    """Undeclared layers must be refused with a reason naming them; declared ones must not."""
    refused = []
    for layer in sorted(set(LAYER_TYPES) - layers, key=lambda t: t.__name__):
        probe = next((s for s in layer_probes().values() if layer in s.layer_types()), None)
        reason = b.unsupported_reason(probe) if probe else None
        _require(bool(reason) and layer.__name__ in str(reason),
                 f"a spec with {layer.__name__} (undeclared) is not refused with a reason "
                 f"naming it: {reason!r}")
        refused.append(layer.__name__)
    for spec in specs:
        reason = b.unsupported_reason(spec)
        _require(reason is None or not spec.layer_types() <= layers,
                 f"{spec.name} uses only declared layers but is refused: {reason}")
    return refused


def _built(ctx: Context, spec: ModelSpec, device: str, opt: str = "sgd+momentum", seed=0):
    model = ctx.backend.build(spec, device, OPTIMIZERS[opt], ctx.variant)
    model.set_weights(spec.init_weights(seed))
    return model


def _batch(spec: ModelSpec, seed: int = 1, n: int = BATCH):
    return data.synthetic(spec.input_shape, spec.classes, n, seed=seed)


def check_weights(ctx: Context, check: Planned) -> str:
    for spec in check.specs:
        model = ctx.backend.build(spec, check.device, OPTIMIZERS["sgd+momentum"], ctx.variant)
        given = spec.init_weights(0)
        kept = [w.copy() for w in given]
        model.set_weights(given)
        got = model.get_weights()
        canon = spec.parameters()
        _require(len(got) == len(canon), f"{spec.name}: get_weights() returned {len(got)} "
                 f"arrays, the spec has {len(canon)} (kernel then bias per weighted layer)")
        for i, (w, info, ref) in enumerate(zip(got, canon, kept)):
            what = f"{spec.name}: weights[{i}] (layer {info.layer_index} {info.name})"
            w = np.asarray(w)
            _require(w.shape == info.shape, f"{what} has shape {w.shape}, canonical is "
                     f"{info.shape} (Dense kernel (in, out), Conv2D HWIO, bias (out,))")
            _require(w.dtype == np.float32, f"{what} is {w.dtype}, must be float32")
            _require(np.array_equal(w, ref), f"{what} differs from what set_weights got "
                     f"(max |diff| {float(np.max(np.abs(w - ref))):.3g}): layout converted "
                     "one way only?")
        model.train_step(*model.stage(*_batch(spec)))
        ctx.backend.synchronize(check.device)
        _require(all(np.array_equal(a, b) for a, b in zip(given, kept)),
                 f"{spec.name}: training changed the arrays passed to set_weights (copy them)")
        _require(all(np.array_equal(np.asarray(a), b) for a, b in zip(got, kept)),
                 f"{spec.name}: training changed arrays returned earlier by get_weights "
                 "(return copies, not views of live parameters)")
    return f"{len(check.specs)} model(s): canonical shapes, float32, exact round trip, copies"


def check_steps(ctx: Context, check: Planned) -> str:
    for spec in check.specs:
        model = _built(ctx, spec, check.device)
        x, y = model.stage(*_batch(spec))
        logits = np.asarray(model.to_numpy(model.predict(x)))
        want = (BATCH, spec.classes)
        _require(logits.shape == want, f"{spec.name}: predict() gave shape {logits.shape}, "
                 f"expected {want}")
        _require(np.issubdtype(logits.dtype, np.floating),
                 f"{spec.name}: predict() gave dtype {logits.dtype}, expected floating point")
        _require(bool(np.isfinite(logits).all()), f"{spec.name}: predict() is not finite")
        before = model.get_weights()
        again = np.asarray(model.to_numpy(model.predict(x)))
        _require(np.array_equal(again, logits) and all(
            np.array_equal(a, b) for a, b in zip(before, model.get_weights())),
            f"{spec.name}: predict() changed the model (a second call or the weights differ)")
        loss = np.asarray(model.to_numpy(model.train_step(x, y)))
        _require(loss.size == 1 and np.issubdtype(loss.dtype, np.floating),
                 f"{spec.name}: train_step() must return a scalar float loss, got "
                 f"{loss.dtype} of shape {loss.shape}")
        _require(bool(np.isfinite(loss).all()), f"{spec.name}: loss {loss} is not finite")
        changed = any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
        _require(changed or not ctx.backend.computes,
                 f"{spec.name}: train_step() did not change any weight")
    return (f"{len(check.specs)} model(s): logits ({BATCH}, classes) float, scalar finite "
            "loss, predict side-effect free, train_step updates")


def check_determinism(ctx: Context, check: Planned) -> str:
    opt = OPTIMIZERS["sgd+momentum"]
    worst = 0.0
    for spec in check.specs:
        runs = [parity.trace(ctx.backend, spec, check.device, ctx.variant, opt, STEPS, BATCH, 0)
                for _ in range(2)]
        devs = parity.compare(*runs)
        name, dev = max(devs.items(), key=lambda kv: kv[1])
        _require(dev <= DETERMINISM_TOLERANCE, f"{spec.name}: two runs from the same weights "
                 f"and batches differ in {name} by {dev:.2g} (tolerance "
                 f"{DETERMINISM_TOLERANCE:g}): state shared between models, or unseeded "
                 "randomness?")
        worst = max(worst, dev)
    return f"{len(check.specs)} model(s) twice: largest difference {worst:.1g}"


def check_gradients(ctx: Context, check: Planned) -> str:
    """One plain SGD step with lr 1 moves each weight by exactly its gradient: compare that
    step, array by array, with the oracle's, and name the first array that is wrong."""
    opt, ref_of = SGD(lr=1.0, momentum=0.0), ctx.reference()
    for spec in check.specs:
        ref = ref_of.trace(spec, opt, 1, BATCH, 0)["weights"]
        got = parity.trace(ctx.backend, spec, check.device, ctx.variant, opt, 1, BATCH, 0)
        compare_step(spec, spec.init_weights(0), ref, got["weights"])
    return f"{len(check.specs)} spec(s): one SGD step per weight array matches the oracle"


def compare_step(spec: ModelSpec, start: list[np.ndarray], ref: list[np.ndarray],
                 got: list[np.ndarray], why: str = "") -> None:
    """Raise :class:`CheckFailed` naming the first weight array whose change in one plain SGD
    step of lr 1 from ``start`` (its gradient) differs from the oracle's (``ref``); ``why``
    ends the reason (what the inputs were chosen to test)."""
    for i, info in enumerate(spec.parameters()):
        layer = type(spec.layers[info.layer_index]).__name__
        what = (f"{spec.name}: gradient of weights[{i}] ({layer} {info.name} of layer "
                f"{info.layer_index})")
        after = np.asarray(got[i], np.float64)
        if after.shape != info.shape:
            raise CheckFailed(f"{what}: get_weights() gave shape {after.shape}, canonical "
                              f"is {info.shape}")
        g_ref, g = start[i] - np.asarray(ref[i], np.float64), start[i] - after
        dev = parity.scaled_deviation(g, g_ref)
        if dev <= parity.TOLERANCE:
            continue
        if not g.any() and g_ref.any():
            raise CheckFailed(f"{what} is missing: the array never changes{why}")
        if float(np.vdot(g, g_ref)) < -0.9 * float(np.linalg.norm(g) * np.linalg.norm(g_ref)):
            raise CheckFailed(f"{what} has the wrong sign (deviation {dev:.2g}){why}")
        raise CheckFailed(f"{what} deviates from the oracle's by {dev:.2g} "
                          f"(tolerance {parity.TOLERANCE:g}){why}")


def check_parity(ctx: Context, check: Planned) -> str:
    (spec,) = check.specs
    optimizer = {**OPTIMIZERS, **L2_OPTIMIZER}[check.optimizer]
    checks = parity.check(ctx.backend, ctx.reference(), spec, check.device, ctx.variant,
                          optimizer, steps=STEPS, batch_size=BATCH, seeds=SEEDS)
    bad = [c for c in checks if not c.passed]
    worst = max(checks, key=lambda c: c.deviation)
    if bad:
        raise CheckFailed("deviates from the float64 oracle: " + ", ".join(
            f"{c.name} {c.deviation:.2g}" for c in bad) + f" (tolerance {parity.TOLERANCE:g})")
    return f"largest deviation {worst.deviation:.1g} ({worst.name})"
