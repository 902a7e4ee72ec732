from __future__ import annotations

import math

import numpy as np
import pytest

from benchsuite import spec as S
from benchsuite.errors import SpecError


def test_canonical_defaults_match_the_issue():
    assert S.logreg().describe() == "Flatten → Dense(10)"
    assert S.mlp().describe() == "Flatten → Dense(256) → relu → Dense(256) → relu → Dense(10)"
    assert S.convnet().describe() == (
        "Conv2D(32, 5x5) → relu → MaxPool2D(2) → Conv2D(64, 5x5) → relu → MaxPool2D(2)"
        " → Flatten → Dense(128) → relu → Dense(10)")


def test_parameter_counts_by_hand():
    assert S.logreg().n_params == 784 * 10 + 10
    assert S.mlp().n_params == (784 * 256 + 256) + (256 * 256 + 256) + (256 * 10 + 10)
    conv = (5 * 5 * 1 * 32 + 32) + (5 * 5 * 32 * 64 + 64) + (7 * 7 * 64 * 128 + 128) + 1290
    assert S.convnet().n_params == conv


def test_shapes_and_canonical_layouts():
    spec = S.convnet()
    assert spec.shapes()[:4] == [(28, 28, 1), (28, 28, 32), (28, 28, 32), (14, 14, 32)]
    params = spec.parameters()
    assert [(p.name, p.shape) for p in params[:4]] == [
        ("kernel", (5, 5, 1, 32)), ("bias", (32,)), ("kernel", (5, 5, 32, 64)), ("bias", (64,))]
    assert params[4].shape == (7 * 7 * 64, 128)  # Dense kernel (in, out)


def test_odd_input_pooling_drops_trailing_rows():
    spec = S.convnet(input_shape=(9, 7, 3), classes=4, filters=(2,), kernel_size=3, dense=4)
    assert spec.shapes()[3] == (4, 3, 2)


def test_mlp_depth_width_activation():
    spec = S.mlp(depth=12, width=32, activation="sigmoid")
    assert sum(isinstance(layer, S.Dense) for layer in spec.layers) == 13
    assert {layer.fn for layer in spec.layers if isinstance(layer, S.Activation)} == {"sigmoid"}


def test_init_is_seeded_and_per_array_stable():
    a, b = S.mlp().init_weights(3), S.mlp().init_weights(3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    c = S.mlp().init_weights(4)
    assert not np.array_equal(a[0], c[0])
    assert all(w.dtype == np.float32 for w in a)
    # The first layer's weights do not depend on what comes after it.
    deeper = S.mlp(depth=5).init_weights(3)
    assert np.array_equal(a[0], deeper[0])


def test_he_for_relu_glorot_otherwise():
    relu = S.mlp(width=512).init_weights(0)
    assert relu[0].std() == pytest.approx(math.sqrt(2 / 784), rel=0.02)
    assert not relu[1].any()  # zero bias
    sig = S.mlp(width=512, activation="sigmoid").init_weights(0)
    limit = math.sqrt(6 / (784 + 512))
    assert np.abs(sig[0]).max() <= limit
    assert sig[0].std() == pytest.approx(limit / math.sqrt(3), rel=0.02)
    # The output layer has no activation after it: Glorot.
    assert np.abs(relu[-2]).max() <= math.sqrt(6 / (256 + 10))


def test_conv_init_fans_use_receptive_field():
    w = S.convnet().init_weights(0)[2]  # 5x5x32x64, followed by relu
    assert w.std() == pytest.approx(math.sqrt(2 / (5 * 5 * 32)), rel=0.02)


def test_flops_by_hand():
    f = S.logreg().flops()
    assert f.forward == 2 * 784 * 10 + 10
    assert f.train == f.forward + (2 * 784 * 10 + 10)  # no input gradient for the first layer
    f = S.mlp(depth=1, width=8).flops()
    fwd = (2 * 784 * 8 + 8) + (2 * 8 * 10 + 10)
    assert f.forward == fwd
    assert f.train == fwd + (2 * 784 * 8 + 8) + (2 * 2 * 8 * 10 + 10)
    conv1 = 28 * 28 * 25 * 1 * 32
    assert S.convnet().flops().forward > 2 * conv1


@pytest.mark.parametrize("make, message", [
    (lambda: S.ModelSpec("x", (4, 4, 1), 3, (S.Dense(3),)), "Flatten"),
    (lambda: S.ModelSpec("x", (4, 4, 1), 3, (S.Flatten(), S.Dense(5))), "expected (3,)"),
    (lambda: S.mlp(activation="gelu"), "unknown activation"),
    (lambda: S.mlp(depth=0), "depth"),
    (lambda: S.convnet(input_shape=(2, 2, 1)), "leaves nothing"),
    (lambda: S.logreg(classes=1), "at least 2 classes"),
    (lambda: S.ModelSpec("x", (4, 4), 3, (S.Flatten(), S.Dense(3))), "input shape"),
])
def test_bad_specs_are_spec_errors(make, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_to_dict_is_json_ready():
    import json

    d = S.convnet().to_dict()
    assert json.loads(json.dumps(d))["n_params"] == S.convnet().n_params
