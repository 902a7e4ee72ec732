"""The core's own plugin: registers the canonical models (logreg, mlp, convnet)."""

from __future__ import annotations

from benchsuite import hookimpl
from benchsuite.spec import CANONICAL_MODELS

_DESCRIPTIONS = {
    "logreg": "multinomial logistic regression, the regular-ML baseline",
    "mlp": "multi-layer perceptron (depth, width, activation)",
    "convnet": "two conv+pool stages then a dense layer (filters, kernel_size, dense)",
}


@hookimpl
def benchsuite_register_models(register):
    for name, factory in CANONICAL_MODELS.items():
        register(name, factory, _DESCRIPTIONS[name])
