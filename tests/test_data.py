from __future__ import annotations

import numpy as np
import pytest

from benchsuite import data
from benchsuite.errors import DataError


def test_synthetic_is_seeded_nhwc_float32_and_learnable():
    x, y = data.synthetic((5, 4, 3), 7, 200, seed=1)
    x2, y2 = data.synthetic((5, 4, 3), 7, 200, seed=1)
    assert x.shape == (200, 5, 4, 3) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.array_equal(x, data.synthetic((5, 4, 3), 7, 200, seed=2)[0])
    assert len(np.unique(y)) > 3  # the teacher uses many classes
    with pytest.raises(DataError):
        data.synthetic((2, 2, 1), 3, 0)


def test_digits_split_is_fixed_stratified_and_scaled():
    ds = data.digits()
    assert ds.input_shape == (8, 8, 1) and ds.classes == 10
    assert len(ds.x_train) + len(ds.x_test) == 1797
    assert ds.x_train.min() >= 0.0 and ds.x_train.max() <= 1.0
    train_frac = np.bincount(ds.y_train) / np.bincount(np.concatenate([ds.y_train, ds.y_test]))
    assert np.allclose(train_frac, 0.75, atol=0.01)
    again = data.digits()
    assert np.array_equal(ds.y_test, again.y_test) and np.array_equal(ds.x_test, again.x_test)
    assert not np.array_equal(ds.y_test, data.digits(seed=1).y_test)


def test_stratified_split_disjoint_and_complete():
    y = np.repeat(np.arange(3), [10, 20, 30])
    tr, te = data.stratified_split(y, 0.2, seed=0)
    assert set(tr).isdisjoint(te) and len(tr) + len(te) == 60
    assert np.bincount(y[te]).tolist() == [2, 4, 6]


def test_batches_shared_order_and_drop_last():
    x, y = np.arange(10, dtype=np.float32)[:, None, None, None], np.arange(10)
    a = [b[1].tolist() for b in data.batches(x, y, 4, seed=3)]
    b = [b[1].tolist() for b in data.batches(x, y, 4, seed=3)]
    assert a == b and len(a) == 2 and all(len(part) == 4 for part in a)
    assert len(list(data.batches(x, y, 4, seed=3, drop_last=False))) == 3


def test_dataset_rejects_inconsistent_arrays():
    x = np.zeros((3, 2, 2, 1), np.float32)
    with pytest.raises(DataError, match="3 images but 2 labels"):
        data.Dataset("bad", x, np.zeros(2, int), x, np.zeros(3, int), 10)
    with pytest.raises(DataError, match="labels outside"):
        data.Dataset("bad", x, np.full(3, 10), x, np.zeros(3, int), 10)
