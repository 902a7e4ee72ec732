"""Results documents built in tests, from the golden v1 file as a template."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from benchsuite import measure, results

GOLDEN = Path(__file__).parent / "data" / "results_v1.json"


def make_run(cases: list[dict], **env) -> dict:
    """A valid run whose cases are given as {backend, model, mode, samples, status?, error?}."""
    run = json.loads(GOLDEN.read_text())
    template = run["cases"][0]
    run["cases"] = []
    for spec in cases:
        case = copy.deepcopy(template)
        case.update(backend=spec["backend"], model=spec.get("model", "logreg"),
                    mode=spec.get("mode", "train"), variant=spec.get("variant", "default"),
                    batch_size=spec.get("batch_size", 16), status=spec.get("status", "ok"),
                    error=spec.get("error"))
        case["spec"]["params"] = spec.get("params", {})
        if "contended" in spec:
            case["contention"] = {"contended": spec["contended"], "repeats_taken": 10,
                                  "repeats_contended": 10 if spec["contended"] else 0}
        if "parity_dev" in spec:
            case["parity"] = {"passed": True, "tolerance": 1e-4,
                              "max_deviation": spec["parity_dev"], "checks": {}}
        if case["status"] == "ok":
            case["throughput"] = measure.summarize(spec["samples"])
            case["step_ms"] = 1000 * case["batch_size"] / case["throughput"]["median"]
        else:
            case["throughput"] = None
        run["cases"].append(case)
    run["environment"].update(env)
    return run


def write(run: dict, path: Path) -> Path:
    return results.save(run, path)
