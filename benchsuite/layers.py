"""The layers a :class:`~benchsuite.spec.ModelSpec` is made of, framework-neutral: each knows
its output shape and its parameter shapes in the canonical layouts (see :mod:`benchsuite.spec`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from benchsuite.errors import SpecError

Shape = tuple[int, ...]
ACTIVATIONS = ("relu", "sigmoid", "tanh")


@dataclass(frozen=True)
class Dense:
    """Fully connected layer on a flat input: ``y = x @ kernel + bias``."""

    units: int

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 1:
            raise SpecError(f"Dense needs a flat input, got shape {shape} (add a Flatten)")
        return (self.units,)

    def param_shapes(self, shape: Shape) -> list[tuple[str, Shape]]:
        return [("kernel", (shape[0], self.units)), ("bias", (self.units,))]

    def macs(self, shape: Shape) -> int:
        return shape[0] * self.units


@dataclass(frozen=True)
class Conv2D:
    """2-D convolution, stride 1, 'same' padding (extra pad on the bottom/right for even k)."""

    filters: int
    kernel_size: int = 3

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 3:
            raise SpecError(f"Conv2D needs an (H, W, C) input, got shape {shape}")
        return (shape[0], shape[1], self.filters)

    def param_shapes(self, shape: Shape) -> list[tuple[str, Shape]]:
        k = self.kernel_size
        return [("kernel", (k, k, shape[2], self.filters)), ("bias", (self.filters,))]

    def macs(self, shape: Shape) -> int:
        return shape[0] * shape[1] * self.kernel_size**2 * shape[2] * self.filters


@dataclass(frozen=True)
class MaxPool2D:
    """Max pooling with window = stride = ``pool_size``; trailing rows/columns are dropped."""

    pool_size: int = 2

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != 3:
            raise SpecError(f"MaxPool2D needs an (H, W, C) input, got shape {shape}")
        h, w = shape[0] // self.pool_size, shape[1] // self.pool_size
        if h < 1 or w < 1:
            raise SpecError(f"MaxPool2D({self.pool_size}) on {shape[:2]} leaves nothing")
        return (h, w, shape[2])


@dataclass(frozen=True)
class Flatten:
    """NHWC → (N, H·W·C), C order."""

    def output_shape(self, shape: Shape) -> Shape:
        return (math.prod(shape),)


@dataclass(frozen=True)
class Activation:
    """Element-wise ``relu``, ``sigmoid`` or ``tanh``."""

    fn: str

    def __post_init__(self) -> None:
        if self.fn not in ACTIVATIONS:
            raise SpecError(f"unknown activation {self.fn!r} (valid: {', '.join(ACTIVATIONS)})")

    def output_shape(self, shape: Shape) -> Shape:
        return shape


Layer = Dense | Conv2D | MaxPool2D | Flatten | Activation
LAYER_TYPES: tuple[type, ...] = (Dense, Conv2D, MaxPool2D, Flatten, Activation)
PARAM_LAYERS: tuple[type, ...] = (Dense, Conv2D)


def describe_layer(layer: Layer) -> str:
    """Short human form, e.g. ``Conv2D(32, 5x5)`` or ``relu``."""
    if isinstance(layer, Dense):
        return f"Dense({layer.units})"
    if isinstance(layer, Conv2D):
        return f"Conv2D({layer.filters}, {layer.kernel_size}x{layer.kernel_size})"
    if isinstance(layer, MaxPool2D):
        return f"MaxPool2D({layer.pool_size})"
    if isinstance(layer, Activation):
        return layer.fn
    return type(layer).__name__
