"""benchsuite: the same models on every deep-learning framework, proven equal, measured fairly.

Public API for plugin authors: the ``hookimpl`` marker, the :class:`Backend`/:class:`Model`
contract, the spec layers and :class:`ModelSpec`, and the optimizers.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("benchsuite")

from benchsuite.backend import DEVICES, Backend, Model  # noqa: E402
from benchsuite.errors import BenchsuiteError  # noqa: E402
from benchsuite.optim import SGD, Adam  # noqa: E402
from benchsuite.spec import (  # noqa: E402
    Activation,
    Conv2D,
    Dense,
    Flatten,
    MaxPool2D,
    ModelSpec,
)

__all__ = [
    "DEVICES",
    "SGD",
    "Activation",
    "Adam",
    "Backend",
    "BenchsuiteError",
    "Conv2D",
    "Dense",
    "Flatten",
    "MaxPool2D",
    "Model",
    "ModelSpec",
    "__version__",
    "hookimpl",
]
