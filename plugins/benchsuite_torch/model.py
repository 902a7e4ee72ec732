"""A spec as a ``torch.nn.Sequential``, trained with ``torch.optim``.

Layouts: PyTorch convolves NCHW with OIHW kernels, so ``stage`` permutes NHWC batches to NCHW
(outside the timed region) when the model starts with convolution or pooling, and ``Flatten``
permutes back to NHWC before flattening, so the next Dense kernel means what the canonical
``(in, out)`` kernel means. Linear weights are ``(out, in)``: transposed at the edge.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchsuite.backend import Model
from benchsuite.errors import SpecError
from benchsuite.optim import SGD, Optimizer
from benchsuite.spec import Activation, Conv2D, Dense, Flatten, MaxPool2D, ModelSpec

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


class FlattenNHWC(nn.Module):
    """Flatten in canonical NHWC order (permuting from NCHW first when needed)."""

    def __init__(self, from_nchw: bool) -> None:
        super().__init__()
        self.from_nchw = from_nchw

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.from_nchw:
            x = x.permute(0, 2, 3, 1)
        return x.reshape(x.shape[0], -1)


def starts_spatial(spec: ModelSpec) -> bool:
    """Whether any Conv2D/MaxPool2D runs before the first Flatten (then inputs go NCHW)."""
    for layer in spec.layers:
        if isinstance(layer, Flatten):
            return False
        if isinstance(layer, (Conv2D, MaxPool2D)):
            return True
    return False


def translate(spec: ModelSpec) -> nn.Sequential:
    shapes, nchw, modules = spec.shapes(), starts_spatial(spec), []
    for layer, shape in zip(spec.layers, shapes):
        if isinstance(layer, Dense):
            modules.append(nn.Linear(shape[0], layer.units))
        elif isinstance(layer, Conv2D):
            modules.append(nn.Conv2d(shape[2], layer.filters, layer.kernel_size, padding="same"))
        elif isinstance(layer, MaxPool2D):
            modules.append(nn.MaxPool2d(layer.pool_size))
        elif isinstance(layer, Flatten):
            modules.append(FlattenNHWC(nchw))
            nchw = False
        elif isinstance(layer, Activation):
            modules.append(ACTIVATIONS[layer.fn]())
        else:
            raise SpecError(f"torch backend cannot translate {layer!r}")
    return nn.Sequential(*modules)


def make_optimizer(opt: Optimizer, params) -> torch.optim.Optimizer:
    """torch.optim's SGD and Adam implement exactly the formulas in benchsuite.optim."""
    if isinstance(opt, SGD):
        return torch.optim.SGD(params, lr=opt.lr, momentum=opt.momentum)
    return torch.optim.Adam(params, lr=opt.lr, betas=(opt.beta1, opt.beta2), eps=opt.eps)


class TorchModel(Model):
    def __init__(self, spec: ModelSpec, device: str, optimizer: Optimizer, variant: str) -> None:
        self.spec, self.optimizer_spec = spec, optimizer
        self.device = torch.device(device)
        self.nchw = starts_spatial(spec)
        self.net = translate(spec).to(self.device)
        self.weighted = [m for m in self.net if isinstance(m, (nn.Linear, nn.Conv2d))]
        self.opt = make_optimizer(optimizer, self.net.parameters())
        self.forward = torch.compile(self.net) if variant == "compiled" else self.net

    def set_weights(self, weights: list[np.ndarray]) -> None:
        expected = [tuple(p.shape) for p in self.spec.parameters()]
        if [tuple(np.shape(w)) for w in weights] != expected:
            raise SpecError(f"weights do not match the spec's shapes {expected}")
        with torch.no_grad():
            for module, kernel, bias in zip(self.weighted, weights[::2], weights[1::2]):
                k = kernel.T if isinstance(module, nn.Linear) else kernel.transpose(3, 2, 0, 1)
                module.weight.copy_(torch.from_numpy(np.ascontiguousarray(k)))
                module.bias.copy_(torch.from_numpy(np.asarray(bias)))
        self.opt = make_optimizer(self.optimizer_spec, self.net.parameters())  # fresh state

    def get_weights(self) -> list[np.ndarray]:
        out = []
        for module in self.weighted:
            w = module.weight.detach().cpu().numpy()
            w = w.T if isinstance(module, nn.Linear) else w.transpose(2, 3, 1, 0)
            out += [np.ascontiguousarray(w, dtype=np.float32),
                    module.bias.detach().cpu().numpy().astype(np.float32)]
        return out

    def stage(self, x: np.ndarray, y: np.ndarray | None = None) -> tuple[Any, Any]:
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        if self.nchw:
            t = t.permute(0, 3, 1, 2)
        t = t.contiguous().to(self.device)
        labels = None if y is None else torch.from_numpy(np.asarray(y, np.int64)).to(self.device)
        return t, labels

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.forward(x), y)
        loss.backward()
        self.opt.step()
        return loss.detach()

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.forward(x)

    def to_numpy(self, value: Any) -> np.ndarray:
        if isinstance(value, torch.Tensor):
            return value.detach().cpu().numpy()
        return np.asarray(value)
