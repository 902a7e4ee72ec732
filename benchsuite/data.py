"""Datasets, always handed to backends as NHWC float32 images and int64 labels.

* :func:`synthetic` — seeded pixel-like data of any shape, labelled by a random linear
  "teacher" so that models can actually learn it;
* :func:`digits` — scikit-learn's bundled 8×8 handwritten digits (1,797 real images, shipped
  inside the package: no download), with a fixed stratified train/test split.

Batches come from :func:`batches` in a shuffle order fixed by a seed, so every backend sees the
same samples in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from benchsuite.errors import DataError


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

    def __post_init__(self) -> None:
        parts = ((self.x_train, self.y_train, "train"), (self.x_test, self.y_test, "test"))
        for x, y, part in parts:
            if x.ndim != 4 or x.dtype != np.float32:
                raise DataError(f"{self.name} {part} images must be NHWC float32, got "
                                f"{x.dtype} {x.shape}")
            if len(x) != len(y):
                raise DataError(f"{self.name} {part}: {len(x)} images but {len(y)} labels")
            if not len(x):
                raise DataError(f"{self.name} {part}: no images")
            if len(y) and (y.min() < 0 or y.max() >= self.classes):
                raise DataError(f"{self.name} {part}: labels outside 0..{self.classes - 1}")


def synthetic(
    input_shape: tuple[int, int, int], classes: int, n: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images with pixel-like values uniform in [0, 1) (the scale of real image data, where
    training is well-conditioned), labelled by a fixed random linear teacher."""
    if n < 1:
        raise DataError(f"synthetic data needs at least one sample, got {n}")
    rng = np.random.default_rng(seed)
    x = rng.random((n, *input_shape), dtype=np.float32)
    teacher = rng.standard_normal((math.prod(input_shape), classes), dtype=np.float32)
    y = ((x.reshape(n, -1) - 0.5) @ teacher).argmax(axis=1).astype(np.int64)
    return x, y


def stratified_split(
    y: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices holding ``test_fraction`` of every class in the test part."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        k = round(len(idx) * test_fraction)
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def digits(test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """The 8×8 digits (pixel values 0..16 scaled to 0..1), split per class with ``seed``."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / 16.0)[..., None]
    y = bunch.target.astype(np.int64)
    tr, te = stratified_split(y, test_fraction, seed)
    return Dataset("digits", x[tr], y[tr], x[te], y[te], classes=10)


def batches(
    x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, drop_last: bool = True
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of batches in the shuffle order fixed by ``seed``."""
    order = np.random.default_rng(seed).permutation(len(x))
    stop = len(x) - len(x) % batch_size if drop_last else len(x)
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield x[idx], y[idx]


#: Data sets the learning experiments can train on; all but digits are read from files.
NAMED = ("digits", "mnist", "fashion-mnist", "cifar10")


def load(name: str, data_dir: str | None = None, check: bool = True,
         limit: int | None = None) -> Dataset:
    """A data set by name: bundled digits, or MNIST/Fashion-MNIST/CIFAR-10 from files
    (checksummed, see :mod:`benchsuite.datafiles`). ``limit`` keeps the first N training
    images, for quick runs on the big sets."""
    if name == "digits":
        ds = digits()
    else:
        from benchsuite import datafiles

        x_train, y_train, x_test, y_test = datafiles.load(name, data_dir, check)
        ds = Dataset(name, x_train, y_train, x_test, y_test, classes=10)
    if limit is not None:
        if limit < 1:
            raise DataError(f"--limit must be a positive number of images, got {limit}")
        ds = Dataset(ds.name, ds.x_train[:limit], ds.y_train[:limit], ds.x_test, ds.y_test,
                     ds.classes)
    return ds


def shift(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """NHWC images moved ``dy`` pixels down and ``dx`` right (negative: up/left), with the
    uncovered border filled with zeros (the background of digit images)."""
    out = np.zeros_like(x)
    h, w = x.shape[1:3]
    src_y, dst_y = slice(max(0, -dy), h - max(0, dy)), slice(max(0, dy), h - max(0, -dy))
    src_x, dst_x = slice(max(0, -dx), w - max(0, dx)), slice(max(0, dx), w - max(0, -dx))
    out[:, dst_y, dst_x] = x[:, src_y, src_x]
    return out
