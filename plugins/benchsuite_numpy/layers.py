"""Forward and backward passes of every spec layer in plain NumPy, NHWC.

Each function keeps the dtype of its inputs (float32 in benchmarks, float64 in gradient
checks). Convolution is im2col through a strided view plus one GEMM; its input gradient
scatters back with one vectorised add per kernel offset (k² adds, never a loop over samples
or pixels).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided


def dense_forward(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return x @ kernel + bias


def dense_backward(x, kernel, dy, need_dx=True):
    """Gradients (dx, dkernel, dbias) of ``x @ kernel + bias``."""
    dx = dy @ kernel.T if need_dx else None
    return dx, x.T @ dy, dy.sum(axis=0)


def _pads(k: int) -> tuple[int, int]:
    """'same' padding as TensorFlow and PyTorch do it: the odd pixel goes bottom/right."""
    return (k - 1) // 2, k - 1 - (k - 1) // 2


def im2col(x: np.ndarray, k: int) -> np.ndarray:
    """(N, H, W, C) → (N·H·W, k·k·C) patches of the 'same'-padded input, HWC order."""
    n, h, w, c = x.shape
    lo, hi = _pads(k)
    xp = np.pad(x, ((0, 0), (lo, hi), (lo, hi), (0, 0)))
    s = xp.strides
    patches = as_strided(xp, (n, h, w, k, k, c), (s[0], s[1], s[2], s[1], s[2], s[3]),
                         writeable=False)
    return patches.reshape(n * h * w, k * k * c)


def conv_forward(x, kernel, bias):
    """Returns (y, cols); ``cols`` is kept for the backward pass."""
    n, h, w, _ = x.shape
    k, _, _, out = kernel.shape
    cols = im2col(x, k)
    y = cols @ kernel.reshape(-1, out) + bias
    return y.reshape(n, h, w, out), cols


def conv_backward(x_shape, cols, kernel, dy, need_dx=True):
    """Gradients (dx, dkernel, dbias) of :func:`conv_forward`."""
    n, h, w, c = x_shape
    k, _, _, out = kernel.shape
    dy2 = dy.reshape(-1, out)
    dkernel = (cols.T @ dy2).reshape(kernel.shape)
    dbias = dy2.sum(axis=0)
    if not need_dx:
        return None, dkernel, dbias
    dcols = (dy2 @ kernel.reshape(-1, out).T).reshape(n, h, w, k, k, c)
    lo, hi = _pads(k)
    dxp = np.zeros((n, h + lo + hi, w + lo + hi, c), dtype=dy.dtype)
    for i in range(k):
        for j in range(k):
            dxp[:, i:i + h, j:j + w, :] += dcols[:, :, :, i, j, :]
    return dxp[:, lo:lo + h, lo:lo + w, :], dkernel, dbias


def _windows(x: np.ndarray, p: int) -> list[np.ndarray]:
    """The p·p strided views of ``x`` (N, H, W, C), one per offset in the pooling window,
    in row-major order; each has the pooled shape (trailing rows/columns dropped)."""
    ho, wo = x.shape[1] // p, x.shape[2] // p
    return [x[:, i:ho * p:p, j:wo * p:p, :] for i in range(p) for j in range(p)]


def maxpool_forward(x: np.ndarray, p: int) -> np.ndarray:
    views = _windows(x, p)
    y = views[0].copy()
    for v in views[1:]:
        np.maximum(y, v, out=y)
    return y


def maxpool_backward(x: np.ndarray, y: np.ndarray, dy: np.ndarray, p: int) -> np.ndarray:
    """Each window's gradient goes to its first maximum, as in the frameworks."""
    dx = np.zeros_like(x, dtype=dy.dtype)
    taken = np.zeros(y.shape, dtype=bool)
    for xv, dxv in zip(_windows(x, p), _windows(dx, p)):
        hit = (xv == y) & ~taken
        taken |= hit
        dxv[...] = dy * hit
    return dx


def activation_forward(fn: str, x: np.ndarray) -> np.ndarray:
    if fn == "relu":
        return np.maximum(x, 0)
    if fn == "tanh":
        return np.tanh(x)
    # Logistic sigmoid via tanh: no overflow for large |x| and stays in x's dtype.
    return 0.5 * (np.tanh(0.5 * x) + 1)


def activation_backward(fn: str, x: np.ndarray, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Gradient through the activation, from its input ``x`` and output ``y``."""
    if fn == "relu":
        return dy * (x > 0)
    if fn == "tanh":
        return dy * (1 - y * y)
    return dy * (y * (1 - y))
