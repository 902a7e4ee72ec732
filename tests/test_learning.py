"""benchsuite train: the gradient probe against exact gradients, shared shuffles, time to
target, the run (workers, crash rows, resume) and its report. Tiny budgets: the real numbers
are the product's job."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

from benchsuite import api, cli, data, learning, results, training
from benchsuite import spec as S
from benchsuite.errors import ResultsError
from benchsuite.execution.worker import Session
from benchsuite.optim import SGD
from benchsuite.plugins import load_registry
from benchsuite.report import learning as learnreport


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def session_of(registry, name):
    """What a worker hands a job function, here in the test process."""
    return Session(registry.backend(name), registry, {})


@pytest.fixture(scope="module")
def digits():
    return data.digits()


def exact_kernel_grad_norms(spec, weights, x, y):
    """float64 gradients from the NumPy oracle's own backward pass."""
    from benchsuite_numpy.model import NumpyModel

    model = NumpyModel(spec, SGD(), dtype=np.float64)
    model.set_weights(weights)
    _, grads = model.loss_and_grads(x.astype(np.float64), y)
    return [float(np.linalg.norm(g)) for g, p in zip(grads, spec.parameters())
            if p.name == "kernel"]


@pytest.mark.parametrize("backend", ["numpy", "torch", "tensorflow", "jax"])
def test_gradient_probe_matches_exact_gradients_even_when_they_vanish(backend, registry, digits):
    """The probe reads ∇ from one SGD step of lr 1e6; a sigmoid MLP of depth 12 has a first
    layer gradient ~1e-7 of its last, and both must come out right to 1e-3 relative (with
    lr 1 the first layer's change would drown in float32 rounding)."""
    b = registry.backend(backend)
    if not b.is_available():
        pytest.skip(f"{backend} not installed")
    spec = S.mlp((8, 8, 1), depth=12, width=16, activation="sigmoid")
    weights = spec.init_weights(3)
    x, y = digits.x_train[:64], digits.y_train[:64]
    probe = b.build(spec, "cpu", SGD(lr=training.PROBE_LR, momentum=0.0))
    got = training.gradient_norms(probe, spec, weights, *probe.stage(x, y))
    want = exact_kernel_grad_norms(spec, weights, x, y)
    assert want[0] / want[-1] < 1e-6  # the effect the experiment shows is really there
    np.testing.assert_allclose(got, want, rtol=1e-3)


def test_shift_moves_pixels_and_fills_zeros():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    down = data.shift(x, 1, 0)[0, ..., 0]
    assert down[0].tolist() == [0, 0, 0, 0] and down[1].tolist() == [0, 1, 2, 3]
    left2 = data.shift(x, 0, -2)[0, ..., 0]
    assert left2[:, :2].tolist() == [[2, 3], [6, 7], [10, 11], [14, 15]]
    assert not left2[:, 2:].any()


def settings(**kw):
    base = dict(backends=["numpy"], models=[("logreg", {})], epochs=2, seeds=(0,),
                threads=1, isolate=False)
    return learning.LearnSettings(**{**base, **kw})


def test_plan_orders_backends_innermost_and_builds_gradient_mlps(registry):
    s = settings(tasks=("gradients",), backends=["numpy", "torch"], seeds=(0, 1),
                 depths=(2, 5), activations=("sigmoid", "relu"))
    jobs = learning.plan(registry, s, (8, 8, 1), 10)
    assert len(jobs) == 2 * 2 * 2 * 2
    assert [j.backend for j in jobs[:4]] == ["numpy", "torch", "numpy", "torch"]
    assert {(j.spec.params["depth"], j.spec.params["activation"]) for j in jobs} == {
        (2, "sigmoid"), (5, "sigmoid"), (2, "relu"), (5, "relu")}
    assert all(j.epochs == 2 and j.optimizer.name == "sgd" for j in jobs)


def test_overrides_keep_what_they_do_not_name(registry):
    """--lr keeps the recipe's optimizer and L2 penalty; another optimizer keeps the penalty;
    --weight-decay replaces it."""
    logreg = learning.RECIPES["digits"]["logreg"].optimizer
    assert logreg.weight_decay > 0
    opt = learning.recipe("digits", "logreg", settings(lr=0.5)).optimizer
    assert (opt.name, opt.lr, opt.weight_decay) == ("adam", 0.5, logreg.weight_decay)
    opt = learning.recipe("digits", "logreg", settings(optimizer="sgd")).optimizer
    assert (opt.name, opt.weight_decay) == ("sgd", logreg.weight_decay)
    opt = learning.recipe("digits", "logreg", settings(weight_decay=0.0)).optimizer
    assert opt.weight_decay == 0.0 and opt.lr == logreg.lr


def test_plan_uses_the_recipe_and_leaves_out_the_null_backend(registry):
    jobs = learning.plan(registry, settings(backends=[], models=[], epochs=None),
                         (8, 8, 1), 10)
    assert "null" not in {j.backend for j in jobs}
    convnet = next(j for j in jobs if j.spec.name == "convnet")
    assert convnet.spec.params["kernel_size"] == 3 and convnet.target == 0.985
    assert convnet.epochs == learning.RECIPES["digits"]["convnet"].epochs


def test_two_backends_learn_the_same_thing_from_the_same_start(registry, digits):
    """Same weights, same shuffle: NumPy and torch (when present) give the same curve."""
    names = [n for n in ("numpy", "torch") if registry.backend(n).is_available()]
    s = settings(backends=names, targets={"logreg": 0.5})
    jobs = learning.plan(registry, s, (8, 8, 1), 10)
    records = [training.run_job(session_of(registry, j.backend), j, s) for j in jobs]
    assert all(r["status"] == "ok" for r in records), records
    for r in records:
        curve = r["curve"]
        assert [p["epoch"] for p in curve] == [1, 2]
        assert 0 < curve[0]["train_s"] < curve[1]["train_s"]
        assert curve[1]["test_accuracy"] > 0.5  # it learns, from 10% at chance
        reached = next(p for p in curve if p["test_accuracy"] >= 0.5)
        assert r["time_to_target_s"] == reached["train_s"]
        assert set(r["shifted_accuracy"]) == {"1", "2"}
    if len(records) == 2:
        a, b = (r["curve"] for r in records)
        assert [p["test_accuracy"] for p in a] == pytest.approx(
            [p["test_accuracy"] for p in b], abs=1 / 450)
        assert [p["loss"] for p in a] == pytest.approx([p["loss"] for p in b], rel=1e-4)


def test_unreached_target_has_no_time(registry):
    s = settings(targets={"logreg": 0.9999}, epochs=1)
    job = learning.plan(registry, s, (8, 8, 1), 10)[0]
    r = training.run_job(session_of(registry, "numpy"), job, s)
    assert r["status"] == "ok" and r["time_to_target_s"] is None and r["epochs_to_target"] is None


@pytest.fixture
def fakes(monkeypatch):
    eps = [EntryPoint("numpy", "benchsuite_numpy", "benchsuite"),
           EntryPoint("fakes", "tests.plugins.fake_backends", "benchsuite")]
    reg = load_registry(eps)
    monkeypatch.setattr(cli.common, "registry", lambda: reg)
    return reg


def test_a_crashing_backend_is_a_row_and_nothing_else_is_lost(fakes, tmp_path):
    s = settings(backends=["fake-abort", "numpy"], isolate=True, epochs=1)
    ds = data.digits()
    outcome = api.train(s, output=tmp_path, registry=fakes)
    doc, path = outcome.document, outcome.path
    assert len(doc["learning"]) == len(learning.plan(fakes, s, ds.input_shape, ds.classes))
    on_disk = results.read(path)
    statuses = {r["backend"]: r["status"] for r in on_disk["learning"]}
    assert statuses == {"fake-abort": "crashed", "numpy": "ok"}
    assert "SIGABRT" in next(r["error"] for r in doc["learning"] if r["backend"] == "fake-abort")
    assert on_disk["status"] == "complete"


def run_cli(capsys, *args):
    code = cli.main(["train", *args])
    return code, capsys.readouterr()


def the_file(folder: Path) -> Path:
    (path,) = folder.glob("*.json")
    return path


def test_cli_train_writes_a_learning_file_and_a_report(tmp_path, capsys):
    code, out = run_cli(capsys, "-b", "numpy", "-m", "logreg", "--epochs", "2", "--seeds", "2",
                        "--target", "logreg=0.5", "--threads", "1", "-o", str(tmp_path / "r"))
    assert code == 0, out.err
    doc = results.read(the_file(tmp_path / "r"))
    assert doc["kind"] == "learning" and len(doc["learning"]) == 2
    assert "time to target" in out.out
    assert cli.main(["report", str(tmp_path / "r"), "-o", str(tmp_path / "rep")]) == 0
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "Learning: test accuracy and time to target" in report
    first = report.split("## Warnings")[0]  # the Summary ranks the learning results too
    assert "### Learning: backends ranked by time to the target accuracy" in first
    assert "| digits | logreg | 1 | numpy |" in first
    assert (tmp_path / "rep" / "learning_curves.png").stat().st_size > 0
    assert (tmp_path / "rep" / "time_to_target.png").exists()
    # same results, same figures, byte for byte
    assert cli.main(["report", str(tmp_path / "r"), "-o", str(tmp_path / "again")]) == 0
    for png in ("learning_curves.png", "accuracy_vs_time.png", "time_to_target.png"):
        assert (tmp_path / "rep" / png).read_bytes() == (tmp_path / "again" / png).read_bytes()


def test_cli_train_exits_1_when_a_target_is_missed(tmp_path, capsys):
    code, out = run_cli(capsys, "-b", "numpy", "-m", "logreg", "--epochs", "1", "--seeds", "1",
                        "--target", "logreg=0.999", "--in-process", "-o", str(tmp_path))
    assert code == 1
    assert "target missed: numpy logreg" in out.out


def test_cli_gradients_show_sigmoid_vanishing_and_relu_not(tmp_path, capsys):
    code, out = run_cli(capsys, "--task", "gradients", "-b", "numpy", "--depths", "2,10",
                        "--activations", "sigmoid,relu", "--epochs", "1", "--seeds", "1",
                        "--in-process", "-o", str(tmp_path))
    assert code == 0, out.err
    df = learnreport.frame(results.load_runs(tmp_path)[1])
    ratio = df.set_index(["activation", "depth"])["grad_ratio_init"]
    assert ratio[("sigmoid", 10)] < 1e-4 < ratio[("sigmoid", 2)]
    assert 0.1 < ratio[("relu", 10)] < 10
    norms = json.loads(the_file(tmp_path).read_text())["learning"]
    assert all(len(r["grad_norms_init"]) == r["spec"]["params"]["depth"] + 1 for r in norms)
    assert all(len(r["grad_norms_epoch1"]) == len(r["grad_norms_init"]) for r in norms)


def test_cli_resume_completes_an_interrupted_run(tmp_path, capsys):
    code, _ = run_cli(capsys, "-b", "numpy", "-m", "logreg", "--epochs", "1", "--seeds", "3",
                      "--target", "logreg=0.5", "--in-process", "-o", str(tmp_path))
    path = the_file(tmp_path)
    doc = json.loads(path.read_text())
    kept = doc["learning"][0]
    doc["learning"], doc["status"] = [kept], "interrupted"
    path.write_text(json.dumps(doc))
    code, out = run_cli(capsys, "--resume", str(path))
    assert code == 0, out.err
    done = results.read(path)
    assert done["status"] == "complete" and len(done["learning"]) == 3
    assert done["learning"][0] == kept and [r["seed"] for r in done["learning"]] == [0, 1, 2]
    assert run_cli(capsys, "--resume", str(path), "--epochs", "3")[0] == 2
    code, out = run_cli(capsys, "--resume", str(path))
    assert code == 2 and "this run is complete; nothing to resume" in out.err
    # each command resumes only its own kind of results file, and says which one to use
    doc["status"] = "interrupted"
    path.write_text(json.dumps(doc))
    assert cli.main(["run", "--resume", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "resume it with benchsuite train" in err[0], err


@pytest.mark.parametrize("args, message", [
    (["--task", "dreaming"], "unknown task"),
    (["--target", "mlp=high"], "--target must look like"),
    (["--depths", "2,x"], "--depths must be comma-separated integers"),
    (["--dataset", "imagenet"], "unknown data set"),
    (["--seeds", "0"], "--seeds must be >= 1"),
    (["-b", "nope"], "unknown backend"),
])
def test_cli_bad_options_are_one_line(args, message, capsys, tmp_path):
    code, out = run_cli(capsys, *args, "-o", str(tmp_path))
    lines = out.err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0], out.err


def test_learning_documents_are_validated(tmp_path):
    doc = {"schema_version": 1, "kind": "learning", "cases": [],
           "learning": [{"task": "accuracy", "backend": "numpy", "model": "logreg"}]}
    with pytest.raises(ResultsError, match="training run 0 lacks seed, status, error"):
        results.validate(doc)
    doc["learning"][0].update(seed=0, status="exploded", error=None)
    with pytest.raises(ResultsError, match="unknown status 'exploded'"):
        results.validate(doc)
