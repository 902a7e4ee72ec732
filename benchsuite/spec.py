"""Framework-neutral model specifications: layers, shapes, initial weights and FLOPs.

A model is data. A :class:`ModelSpec` lists layers plus an input shape ``(H, W, C)`` and a class
count; every backend translates the same spec, so "the same model" is true by construction.

Canonical layouts (what ``init_weights`` returns and ``Model.get_weights`` must return), in layer
order, ``kernel`` then ``bias`` for each layer with parameters:

* inputs: NHWC float32;
* ``Dense`` kernel ``(in, out)``, bias ``(out,)``;
* ``Conv2D`` kernel HWIO ``(kh, kw, in, out)``, bias ``(out,)``;
* ``Flatten`` flattens NHWC in C order (a framework that computes in NCHW must permute to NHWC
  before flattening so the following Dense kernel means the same thing).

FLOPs count one multiply-add as 2 FLOPs in Dense and Conv2D (plus one per bias add); activations,
pooling and the loss are left out: they are well under 1% of any canonical model.

The loss and the optimizers' update formulas, the other half of "the same model", are written
out (and implemented) in :mod:`benchsuite.optim`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from benchsuite.errors import SpecError
from benchsuite.layers import (  # noqa: F401  (re-exported: the spec's vocabulary)
    ACTIVATIONS,
    LAYER_TYPES,
    PARAM_LAYERS,
    Activation,
    Conv2D,
    Dense,
    Flatten,
    Layer,
    MaxPool2D,
    Shape,
    describe_layer,
)


@dataclass(frozen=True)
class ParamInfo:
    """One parameter array: which layer owns it, its name and canonical shape."""

    layer_index: int
    name: str
    shape: Shape
    init: str  # "he", "glorot" or "zeros"


@dataclass(frozen=True)
class Flops:
    """FLOPs per sample: one forward pass, and one training step (forward + backward)."""

    forward: int
    train: int


@dataclass(frozen=True)
class ModelSpec:
    """A model as data: layers applied in order to NHWC inputs, ending in ``classes`` logits."""

    name: str
    input_shape: tuple[int, int, int]
    classes: int
    layers: tuple[Layer, ...]
    params: Mapping[str, object] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if len(self.input_shape) != 3 or min(self.input_shape) < 1:
            raise SpecError(f"input shape must be (H, W, C) of positive sizes: {self.input_shape}")
        if self.classes < 2:
            raise SpecError(f"a classifier needs at least 2 classes, got {self.classes}")
        for layer in self.layers:
            if not isinstance(layer, LAYER_TYPES):
                raise SpecError(f"{type(layer).__name__} is not a spec layer")
        out = self.shapes()[-1]
        if out != (self.classes,):
            raise SpecError(f"model {self.name!r} ends in shape {out}, expected ({self.classes},)")

    def shapes(self) -> list[Shape]:
        """Per-sample shape entering each layer, then the output shape (len(layers) + 1)."""
        shapes: list[Shape] = [tuple(self.input_shape)]
        for layer in self.layers:
            shapes.append(layer.output_shape(shapes[-1]))
        return shapes

    def parameters(self) -> list[ParamInfo]:
        """Every parameter array in canonical order (kernel then bias, layer by layer)."""
        shapes, out = self.shapes(), []
        for i, layer in enumerate(self.layers):
            if isinstance(layer, PARAM_LAYERS):
                (kname, kshape), (bname, bshape) = layer.param_shapes(shapes[i])
                out.append(ParamInfo(i, kname, kshape, self._kernel_init(i)))
                out.append(ParamInfo(i, bname, bshape, "zeros"))
        return out

    def _kernel_init(self, i: int) -> str:
        nxt = self.layers[i + 1] if i + 1 < len(self.layers) else None
        return "he" if isinstance(nxt, Activation) and nxt.fn == "relu" else "glorot"

    @property
    def n_params(self) -> int:
        return sum(math.prod(p.shape) for p in self.parameters())

    @property
    def activations(self) -> int:
        """Floats per sample entering and leaving the layers (the input included)."""
        return sum(math.prod(shape) for shape in self.shapes())

    def layer_types(self) -> frozenset[type]:
        return frozenset(type(layer) for layer in self.layers)

    def init_weights(self, seed: int = 0) -> list[np.ndarray]:
        """Initial weights, drawn once in NumPy (float32, canonical layouts).

        He normal (std = sqrt(2 / fan_in)) for kernels feeding a relu, Glorot uniform
        (limit = sqrt(6 / (fan_in + fan_out))) otherwise, zero biases. Each array has its own
        stream derived from ``seed``, so the same layer gets the same weights however the
        rest of the model changes after it.
        """
        streams = np.random.SeedSequence(seed).spawn(len(self.parameters()))
        weights = []
        for info, stream in zip(self.parameters(), streams):
            rng = np.random.default_rng(stream)
            weights.append(_draw(info, rng))
        return weights

    def flops(self) -> Flops:
        """Per-sample FLOPs; training skips the input gradient of the first weighted layer."""
        shapes, fwd, bwd, seen_param = self.shapes(), 0, 0, False
        for layer, shape in zip(self.layers, shapes):
            if not isinstance(layer, PARAM_LAYERS):
                continue
            macs, bias = layer.macs(shape), math.prod(layer.output_shape(shape))
            fwd += 2 * macs + bias
            bwd += 2 * macs + bias + (2 * macs if seen_param else 0)
            seen_param = True
        return Flops(forward=fwd, train=fwd + bwd)

    def describe(self) -> str:
        return " → ".join(describe_layer(layer) for layer in self.layers)

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly summary recorded with every result."""
        flops = self.flops()
        return {
            "name": self.name,
            "params": dict(self.params),
            "input_shape": list(self.input_shape),
            "classes": self.classes,
            "layers": self.describe(),
            "n_params": self.n_params,
            "flops_forward": flops.forward,
            "flops_train": flops.train,
        }


def _draw(info: ParamInfo, rng: np.random.Generator) -> np.ndarray:
    if info.init == "zeros":
        return np.zeros(info.shape, dtype=np.float32)
    receptive = math.prod(info.shape[:-2]) if len(info.shape) > 2 else 1
    fan_in, fan_out = info.shape[-2] * receptive, info.shape[-1] * receptive
    if info.init == "he":
        w = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=info.shape)
    else:
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, size=info.shape)
    return w.astype(np.float32)


# --- canonical models ---------------------------------------------------------------------

DEFAULT_INPUT: tuple[int, int, int] = (28, 28, 1)


def _positive(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SpecError(f"{name} must be a positive integer, got {value!r}")
    return value


def logreg(input_shape: tuple[int, int, int] = DEFAULT_INPUT, classes: int = 10) -> ModelSpec:
    """Multinomial logistic regression: Flatten → Dense(classes). The "regular ML" baseline."""
    return ModelSpec("logreg", tuple(input_shape), classes, (Flatten(), Dense(classes)), {})


def mlp(
    input_shape: tuple[int, int, int] = DEFAULT_INPUT,
    classes: int = 10,
    depth: int = 2,
    width: int = 256,
    activation: str = "relu",
) -> ModelSpec:
    """Flatten → ``depth`` × (Dense(width) → activation) → Dense(classes)."""
    _positive("depth", depth)
    _positive("width", width)
    hidden: list[Layer] = []
    for _ in range(depth):
        hidden += [Dense(width), Activation(activation)]
    params = {"depth": depth, "width": width, "activation": activation}
    layers = (Flatten(), *hidden, Dense(classes))
    return ModelSpec("mlp", tuple(input_shape), classes, layers, params)


def convnet(
    input_shape: tuple[int, int, int] = DEFAULT_INPUT,
    classes: int = 10,
    filters: tuple[int, ...] = (32, 64),
    kernel_size: int = 5,
    dense: int = 128,
    activation: str = "relu",
) -> ModelSpec:
    """Per entry of ``filters``: Conv2D(f, k×k) → activation → MaxPool2D(2); then
    Flatten → Dense(dense) → activation → Dense(classes)."""
    filters = (filters,) if isinstance(filters, int) else tuple(filters)
    for f in filters:
        _positive("filters", f)
    _positive("kernel_size", kernel_size)
    _positive("dense", dense)
    layers: list[Layer] = []
    for f in filters:
        layers += [Conv2D(f, kernel_size), Activation(activation), MaxPool2D(2)]
    layers += [Flatten(), Dense(dense), Activation(activation), Dense(classes)]
    params = {"filters": list(filters), "kernel_size": kernel_size, "dense": dense,
              "activation": activation}
    return ModelSpec("convnet", tuple(input_shape), classes, tuple(layers), params)


CANONICAL_MODELS = {"logreg": logreg, "mlp": mlp, "convnet": convnet}


def size_before_building(factory: object, params: Mapping[str, object],
                         input_shape: tuple[int, int, int], classes: int
                         ) -> tuple[int, int] | None:
    """``(n_params, activations)`` of the spec ``factory(**params)`` would build, without
    building it, for a model whose layer count is a parameter (mlp's ``depth``: a billion
    layers are too many objects to build just to find that they cannot fit). Every hidden
    block costs the same, so a depth-1 and a depth-2 spec give the cost of any depth.
    None: building is cheap (the caller sizes the built spec)."""
    depth = params.get("depth")
    if factory is not mlp or not isinstance(depth, int) or isinstance(depth, bool) or depth < 3:
        return None
    one, two = (mlp(input_shape, classes, **{**params, "depth": d}) for d in (1, 2))
    return (one.n_params + (depth - 1) * (two.n_params - one.n_params),
            one.activations + (depth - 1) * (two.activations - one.activations))
