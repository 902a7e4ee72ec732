"""The NumPy backend is the parity oracle: every gradient is checked by finite differences
(float64), and convolution against a naive loop written straight from its definition."""

from __future__ import annotations

import numpy as np
import pytest
from benchsuite_numpy import layers as L
from benchsuite_numpy.backend import NumpyBackend
from benchsuite_numpy.model import NumpyModel

from benchsuite import spec as S
from benchsuite.optim import SGD, Adam, softmax_cross_entropy

RNG = np.random.default_rng(1234)


def numeric_grad(f, x, eps=1e-6, max_entries=40):
    """Central differences of scalar ``f`` at (a sample of) the entries of ``x``."""
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    idx = np.arange(flat.size)
    if flat.size > max_entries:
        idx = RNG.choice(flat.size, max_entries, replace=False)
    for i in idx:
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        grad.reshape(-1)[i] = (up - down) / (2 * eps)
    return grad, idx


def assert_grad_close(analytic, numeric, idx, rtol=1e-6, atol=1e-9):
    a, n = analytic.reshape(-1)[idx], numeric.reshape(-1)[idx]
    np.testing.assert_allclose(a, n, rtol=rtol, atol=atol)


def check_layer(forward, backward, x, params=()):
    """d(sum(forward * R)) against ``backward(R)`` for the input and every parameter."""
    r = RNG.standard_normal(forward().shape)
    grads = backward(r)
    for target, g in zip((x, *params), grads):
        if g is None:
            continue
        num, idx = numeric_grad(lambda: float(np.sum(forward() * r)), target)
        assert_grad_close(g, num, idx)


def test_dense_gradients():
    x, w, b = RNG.standard_normal((5, 7)), RNG.standard_normal((7, 3)), RNG.standard_normal(3)
    check_layer(lambda: L.dense_forward(x, w, b), lambda r: L.dense_backward(x, w, r), x, (w, b))


@pytest.mark.parametrize("k", [1, 3, 4, 5])
def test_conv_gradients(k):
    x = RNG.standard_normal((2, 6, 5, 3))
    w, b = RNG.standard_normal((k, k, 3, 4)), RNG.standard_normal(4)

    def fwd():
        return L.conv_forward(x, w, b)[0]

    def bwd(r):
        return L.conv_backward(x.shape, L.conv_forward(x, w, b)[1], w, r)

    check_layer(fwd, bwd, x, (w, b))


def naive_conv_same(x, w, b):
    """Cross-correlation with 'same' padding, straight from the definition (odd pixel of
    padding at the bottom/right, as TensorFlow and PyTorch place it)."""
    n, h, wd, _ = x.shape
    k = w.shape[0]
    lo = (k - 1) // 2
    out = np.zeros((n, h, wd, w.shape[3]))
    for i in range(h):
        for j in range(wd):
            for di in range(k):
                for dj in range(k):
                    ii, jj = i + di - lo, j + dj - lo
                    if 0 <= ii < h and 0 <= jj < wd:
                        out[:, i, j, :] += x[:, ii, jj, :] @ w[di, dj]
    return out + b


@pytest.mark.parametrize("k", [2, 3, 5])
def test_conv_matches_definition(k):
    x = RNG.standard_normal((2, 7, 6, 3))
    w, b = RNG.standard_normal((k, k, 3, 2)), RNG.standard_normal(2)
    np.testing.assert_allclose(L.conv_forward(x, w, b)[0], naive_conv_same(x, w, b), rtol=1e-10)


def test_maxpool_forward_backward_and_odd_sizes():
    x = RNG.standard_normal((2, 5, 7, 3))
    y = L.maxpool_forward(x, 2)
    assert y.shape == (2, 2, 3, 3)
    assert y[1, 1, 2, 0] == x[1, 2:4, 4:6, 0].max()
    check_layer(lambda: L.maxpool_forward(x, 2),
                lambda r: (L.maxpool_backward(x, L.maxpool_forward(x, 2), r, 2),), x)


def test_maxpool_ties_go_to_first_maximum():
    x = np.zeros((1, 2, 2, 1))
    dx = L.maxpool_backward(x, L.maxpool_forward(x, 2), np.ones((1, 1, 1, 1)), 2)
    assert dx[0, :, :, 0].tolist() == [[1.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize("fn", ["relu", "sigmoid", "tanh"])
def test_activation_gradients(fn):
    x = RNG.standard_normal((4, 6))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from relu's kink

    def fwd():
        return L.activation_forward(fn, x)

    check_layer(fwd, lambda r: (L.activation_backward(fn, x, fwd(), r),), x)


def test_sigmoid_is_stable_and_float32():
    x = np.array([-1000.0, 0.0, 1000.0], dtype=np.float32)
    y = L.activation_forward("sigmoid", x)
    assert y.dtype == np.float32 and y.tolist() == [0.0, 0.5, 1.0]


def test_softmax_cross_entropy_value_and_gradient():
    logits, labels = RNG.standard_normal((6, 4)), RNG.integers(0, 4, 6)
    loss, grad = softmax_cross_entropy(logits.copy(), labels)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(6), labels])))
    num, idx = numeric_grad(lambda: softmax_cross_entropy(logits, labels)[0], logits)
    assert_grad_close(grad, num, idx)
    big = softmax_cross_entropy(np.array([[1e4, 0.0]], dtype=np.float32), np.array([1]))[0]
    assert np.isfinite(big) and big == pytest.approx(1e4)


def check_model(model, x, y, max_entries):
    """Backprop against central differences of the whole loss, for every parameter array."""
    _, grads = model.loss_and_grads(x, y)
    assert len(grads) == len(model.params)
    for p, g in zip(model.params, grads):
        num, idx = numeric_grad(lambda: model.loss_and_grads(x, y)[0], p, max_entries=max_entries)
        assert_grad_close(g, num, idx, rtol=1e-5, atol=1e-8)


def test_whole_model_gradients(tiny_specs):
    for spec in tiny_specs:
        model = NumpyModel(spec, SGD(), dtype=np.float64)
        model.set_weights(spec.init_weights(7))
        x = RNG.standard_normal((5, *spec.input_shape))
        y = RNG.integers(0, spec.classes, 5)
        check_model(model, x, y, max_entries=40)


def test_canonical_models_gradients_at_real_size_float64():
    """The three default models (28x28), a few entries of every parameter each."""
    for make in (S.logreg, S.mlp, S.convnet):
        spec = make()
        model = NumpyModel(spec, SGD(), dtype=np.float64)
        model.set_weights(spec.init_weights(0))
        x, y = RNG.standard_normal((2, 28, 28, 1)), np.array([3, 7])
        check_model(model, x, y, max_entries=3)


def test_weights_round_trip_and_shape_check(tiny_convnet):
    model = NumpyBackend().build(tiny_convnet, "cpu", SGD())
    w = tiny_convnet.init_weights(1)
    model.set_weights(w)
    got = model.get_weights()
    assert all(a.dtype == np.float32 and np.array_equal(a, b) for a, b in zip(got, w))
    with pytest.raises(Exception, match="do not match"):
        model.set_weights(w[:-1])


@pytest.mark.parametrize("opt", [SGD(lr=0.05, momentum=0.9), Adam(lr=0.01)])
def test_training_reduces_loss_in_float32(opt):
    from benchsuite.data import digits

    ds = digits()
    spec = S.convnet(input_shape=ds.input_shape, filters=(4, 8), kernel_size=3, dense=16)
    model = NumpyBackend().build(spec, "cpu", opt)
    model.set_weights(spec.init_weights(0))
    x, y = ds.x_train[:64], ds.y_train[:64]
    first = model.train_step(x, y)
    for _ in range(60):
        last = model.train_step(x, y)
    assert last < 0.5 * first
    assert model.predict(x).dtype == np.float32


def test_backend_facts():
    b = NumpyBackend()
    assert b.is_available() and b.devices() == ["cpu"] and b.version() == np.__version__
    assert b.unsupported_reason(S.convnet()) is None
    with pytest.raises(Exception, match="cpu only"):
        b.build(S.logreg(), "cuda", SGD())
    in_effect = b.set_threads(1)
    assert in_effect and set(in_effect.values()) == {1}


@pytest.mark.parametrize("opt", [SGD(lr=0.1, momentum=0.9, weight_decay=0.3),
                                 Adam(lr=0.01, weight_decay=0.3)])
def test_weight_decay_adds_the_l2_gradient(opt):
    """g ← ∇ + λ·p, then the plain update: the same as a decay-free step on that gradient."""
    from dataclasses import replace

    from benchsuite.optim import OptimizerState, apply_update

    rng = np.random.default_rng(0)
    p = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    g = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    decayed, plain = [a.copy() for a in p], [a.copy() for a in p]
    s1, s2 = OptimizerState(decayed), OptimizerState(plain)
    for _ in range(3):
        g_l2 = [gi + 0.3 * pi for gi, pi in zip(g, plain)]
        apply_update(opt, decayed, g, s1)
        apply_update(replace(opt, weight_decay=0.0), plain, g_l2, s2)
    for a, b in zip(decayed, plain):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert not np.allclose(decayed[0], p[0])
