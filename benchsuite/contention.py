"""Contention accounting: how much CPU other processes took while a repeat was timed.

A threaded kernel (BLAS, oneDNN, XLA) that waits at a barrier for a thread the OS has
descheduled slows down far more than its share of the lost CPU, and nothing in its own step
times says so: a run beside one busy process measured torch's convnet 3.3× slower with a CV no
worse than a quiet run's. So every timed repeat is bracketed by two readings of the machine's
CPU counters (``/proc/stat`` through psutil) and of this process's own CPU time; what the
machine was busy with beyond this process is other processes' work (``others_cores``: the
mean number of cores they kept busy), plus the time the hypervisor gave our vCPUs to someone
else (``steal_cores``). A repeat is *contended* when either is above the threshold; the
measurement re-runs it (a bounded number of times), and a case that cannot get enough clean
repeats is recorded, shown and compared as contended.

Other processes count whatever the run's thread count: measured here with ``--threads 1`` and
one busy process beside it (so a core was left for that process), the mlp cases still ran
17–19% below their quiet one-thread numbers (the two vCPUs share more than their names say).
``--threads idle`` (the cores the idle check finds free) keeps the damage smaller — the cases
ran at 0.81–1.00 of their quiet one-thread numbers, where on every core they ran at 0.23–0.61
of their quiet all-core ones — but the repeats stay contended.

The counters tick at ``SC_CLK_TCK`` (100 Hz on Linux): a 50 ms repeat on 2 cores sees ten
ticks, so the threshold allows for ±1 tick per core of quantisation on top of
``OTHERS_CORES``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

try:
    import psutil
except ImportError:  # pragma: no cover - psutil is a dependency; other platforms degrade
    psutil = None

__all__ = ["OTHERS_CORES", "STEAL_CORES", "Reading", "Usage", "budget", "cores", "idle_check",
           "idle_threads", "idle_warning", "keep", "read", "summary", "timed_clean", "usage"]

#: A repeat is contended when other processes kept more than this many cores busy on average
#: (beyond the counters' quantisation). One busy co-tenant is 1.0; a quiet VM's daemons, the
#: driver and the shell stay around 0.02 (measured: docs/measurement.md).
OTHERS_CORES = 0.25
#: ... or when the hypervisor stole more than this many cores' worth of time. Not lower: on
#: this project's VM, with no co-tenant, repeats of TensorFlow and JAX (whose thread pools park
#: and wake their threads, and a woken vCPU waits for the host) show 0.05-0.5 cores of steal
#: while numpy's and torch's spinning threads show about 0.05 (docs/measurement.md).
STEAL_CORES = 0.5
#: Extra repeats a case may take to replace contended ones, as a multiple of ``--repeats``.
RERUN_FACTOR = 1.0


def _tick_s() -> float:
    try:
        return 1.0 / os.sysconf("SC_CLK_TCK")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 0.01


TICK_S = _tick_s()
OFF = ("off", "0", "no", "false")
T = TypeVar("T")


@dataclass(frozen=True)
class Reading:
    wall: float  # perf_counter seconds
    busy: float  # CPU-seconds the whole machine spent busy (all cores, excluding steal)
    steal: float  # CPU-seconds stolen by the hypervisor
    own: float  # this process's CPU-seconds (all its threads)


@dataclass(frozen=True)
class Usage:
    wall_s: float
    others_cores: float  # mean cores other processes kept busy
    steal_cores: float
    own_cores: float  # this process's CPU-time / wall ratio
    contended: bool


def enabled() -> bool:
    """False when ``BENCHSUITE_CONTENTION=off``: where the counters say nothing about the cores
    this process can use (a container shown the host's /proc/stat), or in tests that are
    about something else."""
    return os.environ.get("BENCHSUITE_CONTENTION", "").strip().lower() not in OFF


def read() -> Reading | None:
    """The counters now, or None where the machine does not expose them (or detection is off)."""
    if psutil is None or not enabled():
        return None
    try:
        t = psutil.cpu_times()
    except (OSError, RuntimeError):  # pragma: no cover - no /proc
        return None
    steal = float(getattr(t, "steal", 0.0) or 0.0)
    idle = t.idle + float(getattr(t, "iowait", 0.0) or 0.0)
    total = sum(float(v) for k, v in t._asdict().items() if k not in ("guest", "guest_nice"))
    return Reading(time.perf_counter(), total - idle - steal, steal, time.process_time())


def cores() -> int:
    """Every core of the machine, whether or not this process may use it."""
    return (psutil.cpu_count() if psutil is not None else os.cpu_count()) or 1


def idle_threads(check: dict[str, Any] | None, usable: int) -> int:
    """``--threads idle``: the usable cores the idle check did not find busy (at least 1)."""
    if not check:
        return usable
    busy = check["others_cores"] + check["steal_cores"]
    return max(1, min(usable, cores() - round(busy)))


def usage(before: Reading | None, after: Reading | None) -> Usage | None:
    """What other processes and the hypervisor took between two readings."""
    if before is None or after is None:
        return None
    wall = max(after.wall - before.wall, 1e-9)
    own = max(after.own - before.own, 0.0)
    others = max(after.busy - before.busy - own, 0.0)
    steal = max(after.steal - before.steal, 0.0)
    slack = cores() * TICK_S / wall  # one tick per core either way
    others_cores, steal_cores = others / wall, steal / wall
    contended = (others_cores > OTHERS_CORES + slack) or (steal_cores > STEAL_CORES + slack)
    return Usage(wall, others_cores, steal_cores, own / wall, contended)


IDLE_CHECK_S = 0.5
#: settle(): the window it samples in, the cores still busy below which the machine counts
#: as settled (one stray tick in a 50 ms window on 2 cores is 0.2), and how long it waits.
SETTLE_WINDOW_S = 0.05
SETTLE_IDLE_CORES = 0.4
SETTLE_MAX_S = 1.0


def settle(max_s: float = SETTLE_MAX_S) -> float:
    """Wait (at most ``max_s``) until the CPU other processes use drops below
    SETTLE_IDLE_CORES: a framework's thread pool spins for a while after its work (OpenBLAS's
    threads, measured here: about 0.1 s), and in turns that spinning would land on the next
    contestant's repeat. Returns the seconds waited (0 without counters)."""
    start = time.perf_counter()
    while True:
        before = read()
        if before is None:
            return 0.0
        time.sleep(SETTLE_WINDOW_S)
        used = usage(before, read())
        waited = time.perf_counter() - start
        if used is None or used.others_cores < SETTLE_IDLE_CORES or waited >= max_s:
            return waited


def idle_check(seconds: float = IDLE_CHECK_S) -> dict[str, Any] | None:
    """Sample the machine for ``seconds`` before a run (this process sleeps, so everything
    busy is someone else): the document's ``idle_check`` block, or None without counters."""
    before = read()
    if before is None:
        return None
    time.sleep(seconds)
    used = usage(before, read())
    if used is None:  # pragma: no cover - the counters vanished in between
        return None
    return {"busy": used.contended, "seconds": round(used.wall_s, 3),
            "others_cores": round(used.others_cores, 3),
            "steal_cores": round(used.steal_cores, 3)}


def idle_warning(check: dict[str, Any] | None) -> str | None:
    """The line to warn with when the idle check found the machine busy."""
    if not check or not check["busy"]:
        return None
    free = idle_threads(check, cores())
    return (f"the machine is busy before the run: other processes kept "
            f"{check['others_cores']:.2f} of {cores()} cores busy (steal "
            f"{check['steal_cores']:.2f}); repeats taken while it stays busy are re-run, and "
            f"cases that cannot get clean repeats are marked contended (--threads idle would "
            f"run on {free} of {cores()} cores)")


def budget(repeats: int, rerun_factor: float = RERUN_FACTOR) -> int:
    """How many takes (repeats, or rounds in turns) a case may use: ``repeats`` plus re-runs."""
    return repeats + round(repeats * rerun_factor)


def keep(busy: list[float | None], repeats: int) -> list[int]:
    """Which takes count, by index: the clean ones (``None`` in ``busy``) in order, then the
    least contended (lowest cores busy) to fill up to ``repeats``."""
    clean = [i for i, b in enumerate(busy) if b is None]
    dirty = sorted((i for i, b in enumerate(busy) if b is not None), key=lambda i: busy[i])
    return (clean + dirty)[:repeats]


def timed_clean(run_once: Callable[[], T], repeats: int,
                rerun_factor: float = RERUN_FACTOR) -> tuple[list[T], list[Usage | None]]:
    """Call ``run_once`` (one timed repeat, returning its sample) until ``repeats`` clean samples
    or :func:`budget` calls. Returns the kept samples (:func:`keep`) and the usage of every
    call made, in order."""
    values: list[T] = []
    used: list[Usage | None] = []
    while len(values) < budget(repeats, rerun_factor):
        before = read()
        values.append(run_once())
        used.append(usage(before, read()))
        if sum(1 for u in used if not _dirty(u)) >= repeats:
            break
    busy = [u.others_cores if _dirty(u) else None for u in used]
    return [values[i] for i in keep(busy, repeats)], used


def _dirty(u: Usage | None) -> bool:
    return u is not None and u.contended


def summary(usages: list[Usage | None], repeats: int) -> dict[str, Any] | None:
    """The ``contention`` block of a case: contended when fewer than ``repeats`` clean repeats
    could be had; the figures of every repeat taken (re-runs included)."""
    measured = [u for u in usages if u is not None]
    if not measured:
        return None
    clean = sum(1 for u in measured if not u.contended)
    return {
        "contended": clean < min(repeats, len(measured)),
        "repeats_taken": len(usages),
        "repeats_contended": len(measured) - clean,
        "others_cores": [round(u.others_cores, 3) for u in measured],
        "steal_cores": [round(u.steal_cores, 3) for u in measured],
        "own_cores": [round(u.own_cores, 3) for u in measured],
        "threshold": {"others_cores": OTHERS_CORES, "steal_cores": STEAL_CORES},
    }
