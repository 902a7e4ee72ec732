"""The JAX backend's own lessons (issue 15): threads really limited, relu'(0) = 0, max-pool
gradient to the first maximum, compiled steps cached and compiled only in the first step,
synchronize waiting for every output. Parity with the oracle is in test_framework_parity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

jax = pytest.importorskip("jax")
pytest.importorskip("optax")

import jax.numpy as jnp  # noqa: E402
from benchsuite_jax import model as M  # noqa: E402
from benchsuite_jax.backend import JaxBackend  # noqa: E402
from benchsuite_numpy import layers as oracle  # noqa: E402

from benchsuite import spec as S  # noqa: E402
from benchsuite.environment import usable_cores  # noqa: E402
from benchsuite.optim import SGD, Adam  # noqa: E402
from tests import test_framework_parity as P  # noqa: E402

BACKEND = JaxBackend()

# A fresh interpreter: XLA sizes its CPU pool once per process, when the client starts. It
# times a jitted matmul chain for ~1 s and reports CPU seconds per thread of the process.
THREAD_PROBE = textwrap.dedent("""
    import json, os, sys, time
    from benchsuite_jax.backend import JaxBackend
    backend, asked = JaxBackend(), int(sys.argv[1])
    effect = backend.set_threads(asked) if asked else {}
    import jax, jax.numpy as jnp
    def per_thread():
        out = {}
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[tid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return out
    a = jnp.ones((768, 768), jnp.float32)
    f = jax.jit(lambda a: jnp.tanh(a @ a) @ a)
    f(a).block_until_ready()
    before, t0, c0 = per_thread(), time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < 1.0:
        f(a).block_until_ready()
    wall, cpu, after = time.perf_counter() - t0, time.process_time() - c0, per_thread()
    busy = sorted((after[t] - before.get(t, 0.0) for t in after), reverse=True)
    print(json.dumps({"effect": effect, "ratio": cpu / wall, "busy": busy}))
""")


def probe_threads(asked: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", THREAD_PROBE, str(asked)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def computing_threads(busy: list[float]) -> int:
    """Threads that did at least a fifth of the busiest thread's work: robust to load from
    other processes (which lowers every thread's share alike)."""
    return sum(b >= 0.2 * busy[0] for b in busy) if busy and busy[0] > 0 else 0


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_set_threads_one_really_computes_on_one_thread():
    """XLA_FLAGS' intra-op setting is ignored by jaxlib 0.10; the affinity at client start is
    what sizes the pool. Without set_threads, the same loop computes on several threads
    (the control shows the measurement can tell them apart)."""
    got = probe_threads(1)
    assert got["effect"] == {"intra_op": 1}
    assert computing_threads(got["busy"]) == 1, got["busy"][:6]
    assert got["ratio"] < 1.3, got  # the symptom: 1.85 CPU-s per wall second
    if usable_cores() >= 2:
        free = probe_threads(0)
        assert computing_threads(free["busy"]) >= 2, free["busy"][:6]


def test_set_threads_after_the_client_started_reports_what_it_has():
    jax.devices("cpu")  # the client runs in this process already (pytest imported JAX)
    got = JaxBackend().set_threads(1)
    assert list(got) == ["intra_op"] and got["intra_op"] == len(os.sched_getaffinity(0))


def test_relu_gradient_at_zero_is_zero():
    h = jnp.array([-1.0, 0.0, 2.0])
    grad = jax.grad(lambda v: M.relu(v).sum())(h)
    np.testing.assert_array_equal(np.asarray(grad), [0.0, 0.0, 1.0])
    # what the hand-written rule is for: XLA splits the gradient of maximum at a tie
    assert float(jax.grad(lambda v: jnp.maximum(v, 0.0).sum())(h)[1]) == 0.5


def test_max_pool_gradient_goes_to_the_first_maximum():
    x = np.array([[3, 5, 7, 7, 9], [5, 1, 7, 7, 9], [2, 2, 0, 0, 9]], np.float32)[None, :, :, None]
    dx = jax.grad(lambda v: (M.max_pool(v, 2) * jnp.array([[[[1.0], [10.0]]]])).sum())(x)
    want = np.zeros_like(x)
    want[0, 0, 1, 0], want[0, 0, 2, 0] = 1.0, 10.0  # ties: the first in row-major order wins
    np.testing.assert_array_equal(np.asarray(dx), want)  # trailing row and column: no gradient


def test_max_pool_matches_the_oracle_with_many_ties():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(4, 7, 9, 3)).astype(np.float32)  # ties everywhere
    dy = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    y, vjp = jax.vjp(lambda v: M.max_pool(v, 3), x)
    np.testing.assert_array_equal(np.asarray(y), oracle.maxpool_forward(x, 3))
    np.testing.assert_array_equal(np.asarray(vjp(jnp.asarray(dy))[0]),
                                  oracle.maxpool_backward(x, np.asarray(y), dy, 3))


def count_compiles(fn) -> int:
    """How many XLA compilations ``fn()`` triggers."""
    events = []

    def listen(event, duration, **kw):
        if event == "/jax/core/compile/backend_compile_duration":
            events.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        fn()
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    return len(events)


def test_compile_happens_in_the_first_step_and_is_cached_per_spec_optimizer_and_shape():
    spec = S.mlp(input_shape=(5, 5, 1), classes=3, depth=1, width=7)
    opt = SGD(lr=0.05, momentum=0.5)
    key = (spec.layers, spec.input_shape, spec.classes, opt, "jit")
    x, y = np.ones((4, 5, 5, 1), np.float32), np.arange(4) % 3
    model = BACKEND.build(spec, "cpu", opt)
    batch = model.stage(x, y)
    assert M.TRACES[key] == 0  # build and set_weights compile no step

    def step():
        model.train_step(*batch)
        BACKEND.synchronize("cpu")

    assert count_compiles(step) >= 1 and M.TRACES[key] == 1  # the first step compiles
    assert count_compiles(lambda: [step() for _ in range(3)]) == 0  # steady state: never
    renamed = S.ModelSpec("other-name", spec.input_shape, spec.classes, spec.layers)
    again = BACKEND.build(renamed, "cpu", opt)
    again.set_weights(spec.init_weights(1))
    assert count_compiles(lambda: again.train_step(*again.stage(x, y))) == 0
    assert M.TRACES[key] == 1  # same structure and optimizer: the executable is reused
    assert count_compiles(lambda: again.train_step(*again.stage(x[:2], y[:2]))) >= 1
    assert M.TRACES[key] == 2  # a new batch shape compiles once more
    other = BACKEND.build(spec, "cpu", Adam())
    count_compiles(lambda: other.train_step(*other.stage(x, y)))
    assert M.TRACES[key] == 2 and M.TRACES[(*key[:3], Adam(), "jit")] == 1


def test_synchronize_waits_for_every_output_even_after_donation():
    spec = S.convnet(input_shape=(8, 8, 1), classes=3, filters=(4, 4), kernel_size=3, dense=8)
    model = BACKEND.build(spec, "cpu", SGD())
    x, y = model.stage(np.ones((16, 8, 8, 1), np.float32), np.arange(16) % 3)
    losses = [model.train_step(x, y) for _ in range(3)]  # each step donates the last params
    logits = model.predict(x)
    BACKEND.synchronize("cpu")
    assert all(a.is_ready() for a in [*losses, logits, *model.params])
    assert BACKEND.pending.outputs == {}  # nothing held beyond the barrier
    BACKEND.synchronize("cpu")  # nothing pending: returns


def test_set_weights_resets_the_optimizer_state():
    spec = P.MODELS["logreg"]
    model = BACKEND.build(spec, "cpu", Adam(lr=0.01))
    x, y = model.stage(np.random.default_rng(0).random((8, 8, 8, 1), dtype=np.float32),
                       np.arange(8) % 10)
    weights = spec.init_weights(0)
    model.set_weights(weights)
    first = float(model.to_numpy(model.train_step(x, y)))
    after_one = model.get_weights()
    model.train_step(x, y)
    model.set_weights(weights)
    assert float(model.to_numpy(model.train_step(x, y))) == first
    for a, b in zip(model.get_weights(), after_one):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_eager_variant_matches_the_oracle():
    P.assert_parity(BACKEND, P.MODELS["convnet"], SGD(), variant="eager", steps=3)


def test_facts():
    assert BACKEND.is_available() and BACKEND.version() == jax.__version__
    assert "cpu" in BACKEND.devices() and set(BACKEND.devices()) <= {"cpu", "cuda"}
    env = BACKEND.environment()
    assert env["version"] == jax.__version__ and env["jaxlib"] and env["optax"]
    json.dumps(env)


@pytest.mark.parametrize("preset, kept", [(None, "false"), ("true", "true")])
def test_the_gpu_is_not_preallocated_unless_the_user_asks(monkeypatch, preset, kept):
    """The backends of a run share the GPU while they take turns: XLA must not take 75% of
    its memory when its client starts (verified on an H200: the JAX worker recorded
    gpu_preallocate 'false' and torch's cases beside it ran). A user's own choice stays."""
    if preset is None:
        monkeypatch.delenv("XLA_PYTHON_CLIENT_PREALLOCATE", raising=False)
    else:
        monkeypatch.setenv("XLA_PYTHON_CLIENT_PREALLOCATE", preset)
    JaxBackend().devices()
    assert os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] == kept
    assert JaxBackend().environment()["gpu_preallocate"] == kept
