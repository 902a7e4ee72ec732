"""``benchsuite run --executor ray`` against a real local Ray cluster: a head and a worker node,
each a raylet of its own on loopback (``ray.cluster_utils.Cluster``), one CPU each. Checks
placement (a node never measures two cases at once), one merged results file with node tags,
``--per-node``, the report's per-machine grouping, and a node killed mid-case (a ``lost`` row,
then the case retried on another node). Skipped where Ray is not installed; ``-m "not ray"``
deselects them."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pytest

from benchsuite import cli, results
from tests.test_reliability import sigint_default

# Node deaths are noticed within ~1.5 s instead of Ray's default ~15-30 s.
FAST_HEALTH = {"health_check_period_ms": 500, "health_check_failure_threshold": 3,
               "health_check_initial_delay_ms": 0}
QUICK = ["-b", "numpy", "-m", "logreg", "-m", "mlp", "--batch-size", "8", "--repeats", "2",
         "--min-time", "0.01", "--no-parity", "--gemm-size", "64"]


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    # Ray keeps sockets and its address file under RAY_TMPDIR: a short private folder
    # (socket paths have a length limit), never the machine-wide /tmp/ray.
    tmp = tempfile.mkdtemp(prefix="bsray-")
    saved = {k: os.environ.get(k) for k in ("RAY_TMPDIR", "RAY_USAGE_STATS_ENABLED")}
    os.environ.update(RAY_TMPDIR=tmp, RAY_USAGE_STATS_ENABLED="0")
    c = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "include_dashboard": False, "_system_config": FAST_HEALTH})
    try:
        c.add_node(num_cpus=1)
        c.wait_for_nodes()
        yield c
    finally:
        c.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def run_cli(cluster, out: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "benchsuite", "run", "--executor", "ray", "--ray-address",
           cluster.address, *args, "-o", str(out)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def only_file(out: Path) -> dict:
    (path,) = out.glob("*.json")
    return results.read(path)


def assert_one_case_at_a_time_per_node(cases: list[dict]) -> dict[str, list[dict]]:
    by_node = defaultdict(list)
    for c in cases:
        if c["status"] != "lost":
            by_node[c["node"]["id"]].append(c["node"])
    for spans in by_node.values():
        spans.sort(key=lambda s: s["started"])
        for before, after in itertools.pairwise(spans):
            assert after["started"] >= before["finished"], (before, after)
    return by_node


@pytest.mark.ray
def test_spread_runs_the_matrix_over_the_nodes_into_one_file(cluster, tmp_path):
    done = run_cli(cluster, tmp_path, *QUICK)
    assert done.returncode == 0, done.stderr
    doc = only_file(tmp_path)
    assert doc["status"] == "complete" and doc["executor"]["kind"] == "ray"
    cases = doc["cases"]
    assert sorted((c["model"], c["mode"]) for c in cases) == sorted(
        (m, mode) for m in ("logreg", "mlp") for mode in ("train", "infer"))
    assert all(c["status"] == "ok" and c["throughput"]["median"] > 0 for c in cases)
    by_node = assert_one_case_at_a_time_per_node(cases)
    assert len(by_node) == 2  # both nodes were free at the start: each took a case
    assert set(doc["nodes"]) == set(by_node)
    for node in doc["nodes"].values():  # each node's own fingerprint, its worker included
        assert node["environment"]["cpu"] and "numpy" in node["environment"]["backends"]
        assert node["threads"] == 1  # no --threads: the one CPU each node owns
        # Ray's workers start at nice 15; the agent puts them back at 0 where it may (root).
        assert node["niceness"] == 0 or os.geteuid() != 0


@pytest.mark.ray
def test_per_node_runs_everything_on_every_node_and_the_report_compares_them(cluster,
                                                                             tmp_path):
    out = tmp_path / "out"
    done = run_cli(cluster, out, *QUICK, "--per-node", "--mode", "train")
    assert done.returncode == 0, done.stderr
    doc = only_file(out)
    by_node = assert_one_case_at_a_time_per_node(doc["cases"])
    assert len(by_node) == 2 and all(len(spans) == 2 for spans in by_node.values())

    df = results.load(out)
    assert df["node_id"].nunique() == 2 and (df["hardware"].str.len() > 0).all()
    assert cli.main(["report", str(out), "-o", str(tmp_path / "report")]) == 0
    md = (tmp_path / "report" / "report.md").read_text()
    assert "## Machines" in md
    # Same host name, two nodes: each column is backend@host/node-id.
    header = next(line for line in md.splitlines() if line.startswith("| mode"))
    assert header.count("numpy@") == 2


@pytest.mark.ray
def test_a_node_killed_mid_case_gives_a_lost_row_and_a_retry_elsewhere(cluster, tmp_path):
    victim = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    proc = start_run(cluster, tmp_path)
    try:
        time.sleep(1.0)  # each of the 3 nodes is in its first case now
        cluster.remove_node(victim, allow_graceful=False)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    doc = only_file(tmp_path)
    assert doc["status"] == "complete", err
    lost = [c for c in doc["cases"] if c["status"] == "lost"]
    assert len(lost) == 1, [(c["status"], c["error"]) for c in doc["cases"]]
    assert lost[0]["node"]["id"] == victim.node_id and lost[0]["retried"] is True
    assert "node died mid-case" in lost[0]["error"]
    retry = [c for c in doc["cases"] if c["status"] == "ok" and (c["model"], c["mode"]) == (
        lost[0]["model"], lost[0]["mode"])]
    assert len(retry) == 1 and retry[0]["node"]["id"] != victim.node_id
    assert sum(c["status"] == "ok" for c in doc["cases"]) == 4  # every case has its result
    assert proc.returncode == 0  # the retry speaks for the lost case
    assert_one_case_at_a_time_per_node(doc["cases"])


def test_executor_ray_without_ray_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError
    code = cli.main(["run", "--executor", "ray", *QUICK, "-o", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "pip install benchsuite[ray]" in err[0], err
    assert not list(tmp_path.glob("*.json"))


def test_an_unreachable_cluster_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path):
    """What ray.init raises when it cannot reach or join a cluster becomes a usage error."""
    from types import SimpleNamespace

    from benchsuite.execution import ray as ray_executor

    def refuse(**kwargs):
        raise ConnectionError("Failed to connect to Ray cluster at 10.9.9.9:6379.\nmore text")
    fake = SimpleNamespace(is_initialized=lambda: False, init=refuse,
                           exceptions=SimpleNamespace(RayError=RuntimeError))
    monkeypatch.setattr(ray_executor, "import_ray", lambda: fake)
    code = cli.main(["run", "--executor", "ray", "--ray-address", "10.9.9.9:6379", *QUICK,
                     "-o", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "cannot connect to Ray at 10.9.9.9:6379: Failed to connect" in err[0]


def test_per_node_needs_the_ray_executor(capsys, tmp_path):
    assert cli.main(["run", "--per-node", *QUICK, "-o", str(tmp_path)]) == 2
    assert "need --executor ray" in capsys.readouterr().err


def test_lost_rows_are_valid_and_resume_runs_them_again(tmp_path):
    from benchsuite import cases, planning, recording
    from benchsuite.plugins import load_registry
    from tests.resultdocs import make_run

    run = make_run([{"backend": "numpy", "model": "logreg", "samples": [1.0, 2.0, 3.0]},
                    {"backend": "numpy", "model": "mlp", "status": "lost",
                     "error": "node died mid-case (ActorDiedError)"}])
    s = cases.Settings(backends=["numpy"], models=[("logreg", {}), ("mlp", {})],
                        modes=("train",), batch_sizes=(16,))
    run["settings"], run["status"] = s.to_dict(), "interrupted"
    for case in run["cases"]:
        case["spec"] = planning.build_spec(load_registry(), case["model"], {}, (28, 28, 1),
                                         10).to_dict()
    path = results.save(run, tmp_path / "r.json")
    assert results.load(path)["status"].tolist() == ["ok", "lost"]
    doc = recording.reopen(path)
    remaining = cases.remaining(cases.plan(load_registry(), s), doc)
    assert [c.spec.name for c in remaining] == ["mlp"]
    assert json.loads(json.dumps(cases.Settings.from_dict(run["settings"]).to_dict())) == \
        run["settings"]


def start_run(cluster, out: Path, *args: str) -> subprocess.Popen:
    """A long-cased quick suite in the background (each case > 1 s), and the moment its
    results file exists (the agents hold their nodes then)."""
    slow = [a if a != "0.01" else "0.3" for a in QUICK]
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchsuite", "run", "--executor", "ray", "--ray-address",
         cluster.address, *slow, "--repeats", "3", *args, "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=sigint_default)
    deadline = time.monotonic() + 90
    while not list(out.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    return proc


@pytest.mark.ray
def test_per_node_interrupted_then_resumed_completes_each_node(cluster, tmp_path):
    proc = start_run(cluster, tmp_path, "--per-node", "--mode", "train")
    try:
        (path,) = tmp_path.glob("*.json")
        deadline = time.monotonic() + 60
        while not results.read(path)["cases"] and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err, err
    kept = results.read(path)
    assert kept["status"] == "interrupted" and 1 <= len(kept["cases"]) < 4
    done = subprocess.run([sys.executable, "-m", "benchsuite", "run", "--resume", str(path),
                           "--ray-address", cluster.address],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    final = results.read(path)
    assert final["status"] == "complete" and final["cases"][:len(kept["cases"])] == kept["cases"]
    per_node = defaultdict(list)
    for c in final["cases"]:
        per_node[c["node"]["id"]].append(c["model"])
    assert len(per_node) == 2 and all(sorted(m) == ["logreg", "mlp"] for m in per_node.values())


@pytest.mark.ray
def test_per_node_a_dead_node_has_nowhere_else_to_go_its_cases_are_lost(cluster, tmp_path):
    victim = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    proc = start_run(cluster, tmp_path, "--per-node", "--mode", "train")
    try:
        time.sleep(1.0)
        cluster.remove_node(victim, allow_graceful=False)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 1, err  # lost cases that could not be retried
    doc = only_file(tmp_path)
    on_victim = [c for c in doc["cases"] if c["node"]["id"] == victim.node_id]
    assert [c["status"] for c in on_victim] == ["lost", "lost"]
    assert "mid-case" in on_victim[0]["error"] and not on_victim[0]["retried"]
    assert "died earlier" in on_victim[1]["error"]
    others = [c for c in doc["cases"] if c["node"]["id"] != victim.node_id]
    assert len(others) == 4 and all(c["status"] == "ok" for c in others)


def test_results_from_two_machines_are_never_pooled_in_the_report(tmp_path):
    from benchsuite import report
    from tests.resultdocs import make_run, write

    for host, scale in (("fast", 2.0), ("slow", 1.0)):
        cases = [{"backend": "numpy", "samples": [scale * 100 + i for i in range(5)]}]
        write(make_run(cases, hostname=host), tmp_path / f"{host}.json")
    titles = dict(report.tables(results.load(tmp_path)))
    tp = titles["Throughput, samples/s [95% CI of the median]"]
    assert sorted(tp.columns) == ["numpy@fast", "numpy@slow"]
    machines = titles["Machines"].reset_index()
    assert machines["machine"].tolist() == ["fast", "slow"] and machines["ok"].tolist() == [1, 1]
    one = dict(report.tables(results.load(tmp_path / "fast.json")))
    assert "Machines" not in one and list(one["Throughput, samples/s [95% CI of the median]"]
                                          .columns) == ["numpy"]
