"""Timers (after pyperf and asv): warm-up, timed repeats, per-step latencies, peak RSS, the GEMM
peak.

A step is timed between two calls to ``synchronize`` so that asynchronous backends are
charged for all their work. Warm-up runs until step times settle; then each repeat runs enough
steps to last ``min_time`` seconds, and one throughput sample is kept per repeat. What the
samples become (median, bootstrap CI, IQR, CV, latency percentiles) is ``benchsuite.stats``;
its ``summarize`` and ``latency_summary`` are re-exported here for the code that times a case.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from benchsuite import contention
from benchsuite.stats import latency_summary, summarize

__all__ = ["Timing", "WarmUp", "gemm_gflops", "latency_summary", "measure", "one_repeat",
           "peak_rss_bytes", "reset_peak_rss", "summarize", "timed", "timed_repeats", "warm_up"]


@dataclass
class WarmUp:
    steps: int
    first_step_s: float
    step_s: float  # median of the settled window


@dataclass
class Timing:
    warmup: WarmUp
    steps_per_repeat: int
    throughput: list[float] = field(default_factory=list)  # samples/s, one per repeat


def timed(fn: Callable[[], object], sync: Callable[[], None]) -> float:
    """Seconds for one call of ``fn`` including the device work it queued."""
    t0 = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t0


def warm_up(
    step: Callable[[], object],
    sync: Callable[[], None],
    min_steps: int = 10,  # pyperf/asv practice: never fewer
    window: int = 5,
    tolerance: float = 0.10,
    max_seconds: float = 10.0,
    after_step: Callable[[], None] | None = None,
) -> WarmUp:
    """Run steps until the median of the last ``window`` is within ``tolerance`` of the median of
    the ``window`` before it (at least ``min_steps``; at most ``max_seconds``). ``after_step``
    runs after each step, outside its timing."""
    times: list[float] = []
    spent = 0.0
    while True:
        times.append(timed(step, sync))
        spent += times[-1]
        if after_step is not None:
            after_step()
        if len(times) >= max(min_steps, 2 * window):
            last = float(np.median(times[-window:]))
            prev = float(np.median(times[-2 * window:-window]))
            if abs(last - prev) <= tolerance * prev or spent > max_seconds:
                return WarmUp(len(times), times[0], last)


def measure(
    step: Callable[[], object],
    sync: Callable[[], None],
    batch_size: int,
    repeats: int,
    min_time: float = 0.2,
    after_repeat: Callable[[], None] | None = None,
) -> Timing:
    """Warm up, then ``repeats`` timed repeats of enough steps to last ``min_time`` each.
    ``after_repeat`` runs after every warm-up step and every repeat, outside the timing."""
    warm = warm_up(step, sync, after_step=after_repeat)
    steps = max(1, math.ceil(min_time / max(warm.step_s, 1e-9)))
    timing = Timing(warm, steps)
    timing.throughput, _ = timed_repeats(step, sync, batch_size, steps, repeats, after_repeat)
    return timing


def one_repeat(step: Callable[[], object], sync: Callable[[], None], batch_size: int,
               steps: int) -> float:
    """Throughput (samples/s) of ``steps`` steps run back to back, then one synchronize."""
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return steps * batch_size / (time.perf_counter() - t0)


def timed_repeats(step: Callable[[], object], sync: Callable[[], None], batch_size: int,
                  steps: int, repeats: int,
                  after_repeat: Callable[[], None] | None = None,
                  ) -> tuple[list[float], list[contention.Usage | None]]:
    """Throughput (samples/s) of ``repeats`` timed runs of ``steps`` steps each (warm already),
    a contended run replaced by another (bounded: :func:`contention.timed_clean`); and the
    contention of every run taken."""
    def once() -> float:
        sample = one_repeat(step, sync, batch_size, steps)
        if after_repeat is not None:
            after_repeat()
        return sample

    return contention.timed_clean(once, repeats)


# -- memory ----------------------------------------------------------------------------------

def reset_peak_rss() -> bool:
    """Reset this process's peak resident set size (Linux: clear_refs 5). False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int | None:
    """Peak resident set size since the last :func:`reset_peak_rss` (VmHWM), in bytes."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # lifetime peak
    except (ImportError, OSError):
        return None


def gemm_gflops(matmul: Callable[[], object], sync: Callable[[], None], n: int,
                min_time: float = 0.2, repeats: int = 3) -> float:
    """Best-of-repeats GFLOP/s of an n×n×n float32 matmul: the machine's peak as the framework
    sees it (2·n³ FLOPs per call)."""
    timing = measure(matmul, sync, batch_size=1, repeats=repeats, min_time=min_time)
    return 2 * n**3 * max(timing.throughput) / 1e9
