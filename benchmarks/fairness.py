"""Fairness check: is benchsuite's number for a framework as good as that framework's own
tutorial-style training loop?

For each framework × model × batch size (training, CPU) this times two step functions with the
same timer (benchsuite.measure: warm-up until stable, repeats of >= --min-time s):

* standalone: the model and loop written the way the framework's own tutorials write them
  (torch: nn.Sequential in NCHW with nn.Flatten, torch.optim.SGD, zero_grad/backward/step;
  TensorFlow: a Keras Sequential, keras.optimizers.SGD and a @tf.function train step with
  GradientTape and apply_gradients, as in "Writing a training loop from scratch"; JAX: a
  pure predict function over (w, b) pairs, optax.sgd and one @jax.jit update step, as the JAX
  and optax tutorials write it);
* suite: the benchsuite backend's model built from the spec, as `benchsuite run` builds it.

Both run in the same worker process per framework. Each is warmed up once; then, for
--rounds rounds, each runs --repeats timed repeats, alternating (A B, B A, ...) so neither
always goes first. The ratio of a round compares two measurements taken seconds apart, so
machine drift cancels; the reported ratio is the median over rounds (with its min..max), and
the throughputs are the medians over all repeats.

    python benchmarks/fairness.py                       # torch, tensorflow, jax; all models
    python benchmarks/fairness.py --frameworks torch --models mlp --batch-sizes 128
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from benchsuite import data, measure
from benchsuite.environment import usable_cores
from benchsuite.optim import SGD
from benchsuite.spec import CANONICAL_MODELS

OPT = SGD(lr=0.01, momentum=0.9)


def torch_standalone(spec, x, y):
    """The PyTorch tutorial way: NCHW tensors, nn.Sequential with nn.Flatten."""
    import torch
    from torch import nn

    c = spec.input_shape[2]
    if spec.name == "logreg":
        net = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(spec.input_shape)), 10))
    elif spec.name == "mlp":
        net = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(spec.input_shape)), 256),
                            nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    else:
        h = spec.input_shape[0] // 4
        net = nn.Sequential(nn.Conv2d(c, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Flatten(), nn.Linear(64 * h * h, 128), nn.ReLU(),
                            nn.Linear(128, 10))
    opt = torch.optim.SGD(net.parameters(), lr=OPT.lr, momentum=OPT.momentum)
    loss_fn = nn.CrossEntropyLoss()
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    yt = torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = loss_fn(net(xt), yt)
        loss.backward()
        opt.step()
        return loss

    return step


def tensorflow_standalone(spec, x, y):
    """The TensorFlow guide's way: Keras Sequential, Keras SGD, @tf.function train step."""
    from benchsuite_tensorflow.backend import import_tf

    tf = import_tf()
    import keras
    from keras import layers

    if spec.name == "logreg":
        body = [layers.Flatten(), layers.Dense(10)]
    elif spec.name == "mlp":
        body = [layers.Flatten(), layers.Dense(256, activation="relu"),
                layers.Dense(256, activation="relu"), layers.Dense(10)]
    else:
        body = [layers.Conv2D(32, 5, padding="same", activation="relu"), layers.MaxPooling2D(),
                layers.Conv2D(64, 5, padding="same", activation="relu"), layers.MaxPooling2D(),
                layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10)]
    net = keras.Sequential([keras.Input(shape=spec.input_shape), *body])
    opt = keras.optimizers.SGD(learning_rate=OPT.lr, momentum=OPT.momentum)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    xt, yt = tf.constant(x), tf.constant(y)

    @tf.function
    def train_step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, net(xb, training=True))
        grads = tape.gradient(loss, net.trainable_weights)
        opt.apply_gradients(zip(grads, net.trainable_weights))
        return loss

    return lambda: train_step(xt, yt)


def jax_standalone(spec, x, y):
    """The JAX tutorials' way: parameters as a list of (w, b) pairs, a pure ``predict``, an
    optax optimizer and one ``@jax.jit`` update step returning the new state and the loss;
    ``jax.nn.relu`` and ``lax.reduce_window`` max-pooling (what Flax's ``max_pool`` is)."""
    import jax
    import jax.numpy as jnp
    import optax
    from jax import lax

    def dense(key, n_in, n_out):
        return (jax.random.normal(key, (n_in, n_out)) * jnp.sqrt(2.0 / n_in), jnp.zeros(n_out))

    def conv(key, c_in, c_out):
        w = jax.random.normal(key, (5, 5, c_in, c_out)) * jnp.sqrt(2.0 / (25 * c_in))
        return w, jnp.zeros(c_out)

    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    n_in, c, h = int(np.prod(spec.input_shape)), spec.input_shape[2], spec.input_shape[0] // 4
    if spec.name == "logreg":
        params = [dense(keys[0], n_in, 10)]
    elif spec.name == "mlp":
        params = [dense(keys[0], n_in, 256), dense(keys[1], 256, 256), dense(keys[2], 256, 10)]
    else:
        params = [conv(keys[0], c, 32), conv(keys[1], 32, 64), dense(keys[2], 64 * h * h, 128),
                  dense(keys[3], 128, 10)]

    def pool(a):
        return lax.reduce_window(a, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def predict(params, images):
        a = images
        for w, b in params:
            if w.ndim == 4:
                a = pool(jax.nn.relu(lax.conv_general_dilated(
                    a, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")) + b))
        a = a.reshape(a.shape[0], -1)
        dense_params = [(w, b) for w, b in params if w.ndim == 2]
        for w, b in dense_params[:-1]:
            a = jax.nn.relu(a @ w + b)
        w, b = dense_params[-1]
        return a @ w + b

    def loss_fn(params, images, labels):
        logits = predict(params, images)
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

    optimizer = optax.sgd(OPT.lr, momentum=OPT.momentum)
    opt_state = optimizer.init(params)

    @jax.jit
    def update(params, opt_state, images, labels):
        loss, grads = jax.value_and_grad(loss_fn)(params, images, labels)
        updates, opt_state = optimizer.update(grads, opt_state)
        return optax.apply_updates(params, updates), opt_state, loss

    xt, yt = jnp.asarray(x), jnp.asarray(y)
    state = {"params": params, "opt_state": opt_state}

    def step():
        state["params"], state["opt_state"], loss = update(state["params"], state["opt_state"],
                                                           xt, yt)
        return loss

    return step


STANDALONE = {"torch": torch_standalone, "tensorflow": tensorflow_standalone,
              "jax": jax_standalone}


def suite_step(backend, spec, x, y):
    model = backend.build(spec, "cpu", OPT)
    model.set_weights(spec.init_weights(0))
    xs, ys = model.stage(x, y)
    return lambda: model.train_step(xs, ys)


def worker(framework, models, batch_sizes, threads, rounds, repeats, min_time, conn):
    from benchsuite.plugins import load_registry

    backend = load_registry().backend(framework)
    backend.set_threads(threads)
    rows = []
    for name in models:
        spec = CANONICAL_MODELS[name]()
        for bs in batch_sizes:
            x, y = data.synthetic(spec.input_shape, spec.classes, bs, seed=0)
            steps = {"standalone": STANDALONE[framework](spec, x, y),
                     "suite": suite_step(backend, spec, x, y)}
            last = {}  # each side's latest output: what JAX's sync must wait for
            steps = {k: (lambda s=s, k=k, last=last: last.__setitem__(k, s()))
                     for k, s in steps.items()}

            def sync(last=last):
                backend.synchronize("cpu")  # the suite's own barrier
                for value in last.values():  # the standalone loop's: JAX has no global one
                    if hasattr(value, "block_until_ready"):
                        value.block_until_ready()

            n_steps = {}
            for kind, step in steps.items():
                warm = measure.warm_up(step, sync)
                n_steps[kind] = max(1, round(min_time / warm.step_s))
            samples = {k: [] for k in steps}
            ratios, order = [], list(steps)
            for _ in range(rounds):
                order.reverse()  # A B, B A, A B, ...: neither side always goes first
                got = {k: measure.timed_repeats(steps[k], sync, bs, n_steps[k], repeats)[0]
                       for k in order}
                for k, v in got.items():
                    samples[k] += v
                ratios.append(statistics.median(got["suite"])
                              / statistics.median(got["standalone"]))
            med = {k: statistics.median(v) for k, v in samples.items()}
            rows.append({"framework": framework, "model": name, "batch_size": bs,
                         "standalone": med["standalone"], "suite": med["suite"],
                         "ratio": statistics.median(ratios), "ratio_min": min(ratios),
                         "ratio_max": max(ratios)})
            print(f"{framework} {name} b{bs}: suite {med['suite']:,.0f} / standalone "
                  f"{med['standalone']:,.0f} samples/s, ratio {rows[-1]['ratio']:.3f} "
                  f"({min(ratios):.2f}..{max(ratios):.2f})", file=sys.stderr, flush=True)
    conn.send(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frameworks", nargs="+", default=["torch", "tensorflow", "jax"])
    ap.add_argument("--models", nargs="+", default=list(CANONICAL_MODELS))
    ap.add_argument("--batch-sizes", nargs="+", type=int, default=[128, 512])
    ap.add_argument("--threads", type=int, default=usable_cores())
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=0.2)
    ap.add_argument("--output", type=Path, default=Path("results"))
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    rows = []
    for fw in args.frameworks:
        parent, child = ctx.Pipe()
        p = ctx.Process(target=worker, args=(fw, args.models, args.batch_sizes, args.threads,
                                             args.rounds, args.repeats, args.min_time, child))
        p.start()
        rows += parent.recv()
        p.join()
    print(f"\n{args.threads} threads; median samples/s over {args.rounds} rounds x "
          f"{args.repeats} repeats\n")
    print("| framework | model | batch | standalone samples/s | suite samples/s "
          "| suite / standalone (min..max over rounds) |")
    print("|---|---|--:|--:|--:|--:|")
    for r in rows:
        print(f"| {r['framework']} | {r['model']} | {r['batch_size']} | {r['standalone']:,.0f} "
              f"| {r['suite']:,.0f} | {r['ratio']:.3f} "
              f"({r['ratio_min']:.2f}..{r['ratio_max']:.2f}) |")
    args.output.mkdir(parents=True, exist_ok=True)
    out = args.output / f"fairness-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"threads": args.threads, "rows": rows}, indent=1))
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
