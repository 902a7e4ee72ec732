"""What a person sees first in a report: the Summary (fastest backend per case, by how much,
whether it is real), the Warnings, numbers to three figures with units, and figures of a
bounded size however many cases there are."""

from __future__ import annotations

import struct

import pytest

from benchsuite import measure, report, results, units
from benchsuite.report import alerts, speed_figures, style, summary
from tests.resultdocs import make_run, write


def _case(backend, scale, model="mlp", mode="train", bs=16, spread=0.01, **kw):
    base = scale * 1000
    return {"backend": backend, "model": model, "mode": mode, "batch_size": bs,
            "samples": [base * (1 + spread * k) for k in (-2, -1, 0, 1, 2)], **kw}


@pytest.mark.parametrize("value, text", [
    (1234, "1,230"), (0.0123, "0.0123"), (1.0, "1.00"), (9.996, "10.0"), (None, ""),
])
def test_three_significant_figures(value, text):
    assert units.sig(value) == text


@pytest.mark.parametrize("value, text", [
    (0.000452, "452 µs"), (0.0213, "21.3 ms"), (7.21, "7.21 s"), (4.5e-7, "450 ns"),
    (0.99951, "1.00 s"), (0.0, "0 s"),
])
def test_times_in_the_unit_that_fits(value, text):
    assert units.seconds(value) == text


def test_rates_and_ratios():
    assert units.rate(675172513) == "675M" and units.rate(3521) == "3.52k"
    assert units.times(8.731) == "8.73×" and units.times(1.0) == "1.00×"
    assert units.rate_ci(3521, 3500, 3550) == "3.52k [3.50k, 3.55k]"
    assert units.change(1.041) == "+4.1%" and units.change(0.5) == "-50.0%"
    assert units.change(None) == "" and units.change(float("nan")) == ""


def test_verdicts_in_plain_words():
    assert summary.verdict("torch", "tensorflow", 1.2412, 1.18, 1.30) == \
        "torch 1.24× faster than tensorflow [1.18, 1.30]"
    assert summary.verdict("torch", "numpy", 1.03, 0.97, 1.10) == summary.NOISE
    assert summary.verdict("torch", "numpy", 1.5, float("nan"), float("nan")) == summary.NOISE


def test_speedup_is_seeded_and_its_ci_brackets_the_ratio():
    fast, slow = [200.0, 204, 198, 202, 201], [100.0, 101, 99, 102, 98]
    ratio, low, high = summary.speedup(fast, slow)
    assert ratio == pytest.approx(2.01, abs=0.01) and low < ratio < high
    assert summary.speedup(fast, slow) == (ratio, low, high)  # same results, same report
    one = summary.speedup([2.0], [1.0])
    assert one[0] == 2.0 and summary.verdict("a", "b", *one) == summary.NOISE
    assert summary.verdict("a", "b", *summary.speedup([2.0, 2.1], [0.0, 0.0])) == summary.NOISE


def test_ranking_names_the_fastest_and_says_when_it_is_noise(tmp_path):
    run = make_run([_case("numpy", 1.0), _case("torch", 2.0), _case("jax", 1.02),
                    _case("numpy", 1.0, model="logreg"),
                    _case("torch", 1.01, model="logreg", spread=0.2)])
    df = results.load(write(run, tmp_path / "run.json"))
    fastest = summary.fastest_table(summary.speed_ranking(df)).set_index("case")
    mlp, logreg = fastest.loc["mlp train cpu b16"], fastest.loc["logreg train cpu b16"]
    assert mlp["fastest"] == "torch"
    assert mlp["against the runner-up"].startswith("torch 1.96× faster than jax [")
    assert logreg["against the runner-up"].startswith("no difference beyond noise with")


def test_backends_measured_in_turns_get_the_paired_ratio(tmp_path):
    """Drift shared by both sides (each round slower or faster for both) cancels in the paired
    ratio: its CI is far narrower than the independent one, and it is the per-round
    geometric mean, not the ratio of medians."""
    drift = [1.0, 0.6, 1.3, 0.8, 1.1, 0.7, 1.2]
    fast = [2000 * d * (1 + 0.01 * (-1) ** i) for i, d in enumerate(drift)]
    slow = [1000 * d for d in drift]
    pairing = {"group": "g1", "contestants": 2, "rounds": list(range(7))}
    run = make_run([_case("torch", 1.0), _case("numpy", 1.0)])
    for case, samples in zip(run["cases"], (fast, slow)):
        case["throughput"] = measure.summarize(samples)
        case["interleaving"] = pairing
    df = results.load(write(run, tmp_path / "run.json"))
    row = summary.speed_ranking(df).set_index("backend").loc["numpy"]
    assert row["ratio"] == pytest.approx(2.0, rel=0.01)
    assert row["high"] - row["low"] < 0.05
    independent = summary.speedup(fast, slow)
    assert independent[2] - independent[1] > 10 * (row["high"] - row["low"])
    assert row["verdict"].startswith("torch 2.00× faster than numpy [")
    for case in run["cases"]:
        case["interleaving"] = dict(pairing, group=case["backend"])  # not measured in turns
    df = results.load(write(run, tmp_path / "apart.json"))
    apart = summary.speed_ranking(df).set_index("backend").loc["numpy"]
    assert (apart["ratio"], apart["low"], apart["high"]) == pytest.approx(independent)


def test_the_report_opens_with_the_summary_then_the_warnings(tmp_path):
    cases = [_case("numpy", 1.0), _case("torch", 2.0), _case("torch", 2.0, model="logreg"),
             _case("null", 500.0), {"backend": "mxnet", "model": "mlp", "status": "skipped",
                                    "error": "unavailable (pip install mxnet)"}]
    run = make_run(cases)
    run["cases"][1]["efficiency"] = 1.64
    run["cases"][1]["contention"] = {"contended": True}  # written by runs that measure it
    run["cases"][3]["null_backend"] = True
    written, _ = report.write_report([write(run, tmp_path / "r.json")], tmp_path / "rep")
    md = written["md"].read_text()
    sections = [line for line in md.splitlines() if line.startswith("## ")]
    assert sections[:3] == ["## Summary", "## Warnings", "## Details"]
    summary_text = md.split("## Warnings")[0]
    assert "| mlp train cpu b16 | torch |" in summary_text
    assert "torch 2.00× faster than numpy [" in summary_text and "null" not in summary_text
    warnings = md.split("## Warnings")[1].split("## Details")[0]
    assert "torch mlp train cpu b16: contended" in warnings
    assert "efficiency 164% of the measured GEMM peak" in warnings
    assert "mxnet mlp train cpu b16: skipped: unavailable (pip install mxnet)" in warnings
    page = written["html"].read_text()
    assert page.index("<h2>Summary</h2>") < page.index("<h2>Warnings</h2>") < page.index(
        "<h2>Details</h2>")
    assert "speedups.png" in md and "&quot;" not in md and '{"' not in md


def test_warnings_are_cut_with_a_count():
    lines = [f"line {i}" for i in range(alerts.LIMIT + 5)]
    cut = alerts._cut(lines, "things")
    assert len(cut) == alerts.LIMIT + 1 and cut[-1].startswith("… and 5 more things")


def _png_size(path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])


def test_figures_stay_bounded_however_many_cases(tmp_path, monkeypatch):
    """issue 13: 34,000 cases drew a figure 5 inches wide per panel and died at 3.3 GB. Here
    a few hundred cases and a lower panel limit: every figure stays within the bound."""
    monkeypatch.setattr(speed_figures, "MAX_PANELS", 4)
    cases = [_case(b, s, mode=mode, bs=bs) for b, s in (("numpy", 1.0), ("torch", 1.5))
             for mode in ("train", "infer") for bs in range(1, 31)]
    report.write_report([write(make_run(cases), tmp_path / "big.json")],
                                     tmp_path / "rep")
    limit_w = (style.MAX_WIDTH + 3) * style.DPI  # tight cropping adds titles and captions
    limit_h = (style.MAX_HEIGHT + 3) * style.DPI
    sizes = {p.name: _png_size(p) for p in (tmp_path / "rep").glob("*.png")}
    assert {"throughput.png", "speedups.png", "phases.png"} <= set(sizes)
    for name, (w, h) in sizes.items():
        assert w <= limit_w and h <= limit_h, (name, w, h)
    assert sizes["throughput.png"][0] <= 4 * 4.5 * style.DPI + 3 * style.DPI


def test_learning_is_ranked_by_time_to_target_with_a_verdict():
    import pandas as pd

    rows = [{"task": "accuracy", "status": "ok", "dataset": "digits", "model": "mlp",
             "backend": b, "seed": s, "final_test_accuracy": acc,
             "time_to_target_s": t * (1 + 0.01 * s) if t else None}
            for b, t, acc in (("numpy", 2.0, 0.97), ("torch", 1.0, 0.96), ("jax", None, 0.90))
            for s in range(5)]
    table = summary.learning_table(pd.DataFrame(rows))
    assert table["backend"].tolist() == ["torch", "numpy", "jax"]
    assert table["verdict"].tolist() == [
        "first to target", "torch 2.00× quicker to target than numpy [1.94, 2.06]",
        "target not reached (median seed)"]
    assert table["time to target (median)"].tolist() == ["1.02 s", "2.04 s", ""]
    assert table["test accuracy % (median)"].tolist() == ["96.0", "97.0", "90.0"]
