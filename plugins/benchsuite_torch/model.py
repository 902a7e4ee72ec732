"""A spec as a ``torch.nn.Sequential``, trained with ``torch.optim``.

Layouts: PyTorch convolves NCHW with OIHW kernels, so ``stage`` permutes NHWC batches to NCHW
(outside the timed region) when the model starts with convolution or pooling. Flatten then
flattens NCHW natively (``nn.Flatten``, as PyTorch code does), and the rows of the Dense kernel
after it are reordered from the canonical NHWC order to CHW order when weights are set (and
back when read). That is the same function as permuting activations to NHWC before flattening,
without a transpose copy per step in the forward and backward passes. Linear weights are
``(out, in)``: transposed at the edge.
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


def starts_spatial(spec: ModelSpec) -> bool:
    """Whether any Conv2D/MaxPool2D runs before the first Flatten (then inputs go NCHW)."""
    for layer in spec.layers:
        if isinstance(layer, Flatten):
            return False
        if isinstance(layer, (Conv2D, MaxPool2D)):
            return True
    return False


def translate(spec: ModelSpec) -> tuple[nn.Sequential, dict[int, tuple[int, int, int]]]:
    """The module, and for each Linear fed by an NCHW flatten (by module index) the (H, W, C)
    shape that was flattened, so its kernel rows can be reordered at the edge."""
    shapes, nchw, modules = spec.shapes(), starts_spatial(spec), []
    reorder: dict[int, tuple[int, int, int]] = {}
    flattened: tuple[int, int, int] | None = None
    for layer, shape in zip(spec.layers, shapes):
        if isinstance(layer, Dense):
            if flattened is not None:
                reorder[len(modules)], flattened = flattened, None
            modules.append(nn.Linear(shape[0], layer.units))
        elif isinstance(layer, Conv2D):
            modules.append(nn.Conv2d(shape[2], layer.filters, layer.kernel_size, padding="same"))
        elif isinstance(layer, MaxPool2D):
            modules.append(nn.MaxPool2d(layer.pool_size))
        elif isinstance(layer, Flatten):
            modules.append(nn.Flatten())
            flattened = tuple(shape) if nchw and len(shape) == 3 else None
            nchw = False
        elif isinstance(layer, Activation):
            modules.append(ACTIVATIONS[layer.fn]())
        else:
            raise SpecError(f"torch backend cannot translate {layer!r}")
    return nn.Sequential(*modules), reorder


def hwc_rows_to_chw(kernel: np.ndarray, hwc: tuple[int, int, int]) -> np.ndarray:
    """Reorder the rows of an ``(H·W·C, out)`` kernel from NHWC to NCHW flatten order."""
    h, w, c = hwc
    return kernel.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(h * w * c, -1)


def chw_rows_to_hwc(kernel: np.ndarray, hwc: tuple[int, int, int]) -> np.ndarray:
    h, w, c = hwc
    return kernel.reshape(c, h, w, -1).transpose(1, 2, 0, 3).reshape(h * w * c, -1)


def make_optimizer(opt: Optimizer, params) -> torch.optim.Optimizer:
    """torch.optim's SGD and Adam implement exactly the formulas in benchsuite.optim."""
    if isinstance(opt, SGD):
        return torch.optim.SGD(params, lr=opt.lr, momentum=opt.momentum,
                               weight_decay=opt.weight_decay)
    return torch.optim.Adam(params, lr=opt.lr, betas=(opt.beta1, opt.beta2), eps=opt.eps,
                            weight_decay=opt.weight_decay)


class TorchModel(Model):
    def __init__(self, spec: ModelSpec, device: str, optimizer: Optimizer, variant: str) -> None:
        self.spec, self.optimizer_spec = spec, optimizer
        self.device = torch.device(device)
        self.nchw = starts_spatial(spec)
        net, reorder = translate(spec)
        self.net = net.to(self.device)
        self.weighted = [m for m in self.net if isinstance(m, (nn.Linear, nn.Conv2d))]
        self.reorder = [reorder.get(i) for i, m in enumerate(self.net)
                        if isinstance(m, (nn.Linear, nn.Conv2d))]
        self.opt = make_optimizer(optimizer, self.net.parameters())
        self.forward = torch.compile(self.net) if variant == "compiled" else self.net

    def set_weights(self, weights: list[np.ndarray]) -> None:
        expected = [tuple(p.shape) for p in self.spec.parameters()]
        if [tuple(np.shape(w)) for w in weights] != expected:
            raise SpecError(f"weights do not match the spec's shapes {expected}")
        with torch.no_grad():
            for module, hwc, kernel, bias in zip(self.weighted, self.reorder, weights[::2],
                                                 weights[1::2]):
                if hwc is not None:
                    kernel = hwc_rows_to_chw(kernel, hwc)
                k = kernel.T if isinstance(module, nn.Linear) else kernel.transpose(3, 2, 0, 1)
                module.weight.copy_(torch.from_numpy(np.ascontiguousarray(k)))
                module.bias.copy_(torch.from_numpy(np.asarray(bias)))
        self.opt = make_optimizer(self.optimizer_spec, self.net.parameters())  # fresh state

    def get_weights(self) -> list[np.ndarray]:
        out = []
        for module, hwc in zip(self.weighted, self.reorder):
            w = module.weight.detach().cpu().numpy()
            w = w.T if isinstance(module, nn.Linear) else w.transpose(2, 3, 1, 0)
            if hwc is not None:
                w = chw_rows_to_hwc(w, hwc)
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
