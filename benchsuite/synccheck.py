"""The ``synchronize blocks`` contract check: every timer relies on ``synchronize()`` waiting
for the device's work, so a backend whose ``synchronize`` returns early must fail, on any
machine, however loaded (a false pass made CI fail at random)."""

from __future__ import annotations

import contextlib
import sys
import time

from benchsuite import contention
from benchsuite.checks import _batch, _built
from benchsuite.checkspec import CheckFailed, CheckSkipped, Context, Planned

SYNC_MIN_WORK_S = 0.1  # enough work that a synchronize that does not wait shows up clearly
SYNC_MAX_STEPS = 1 << 14
SYNC_ATTEMPTS = 3  # judged by majority
SYNC_MAX_TRIES = 9  # attempts taken at most, to get SYNC_ATTEMPTS uncontended ones
SYNC_LATE_FRACTION = 0.5  # failing: over half the work finished after synchronize returned
SYNC_LATE_FLOOR_S = 0.005  # ... and more than this (scheduler noise on a loaded machine)
#: While the check queues its steps, Python threads other than the caller wait this long for
#: the GIL (the default is 5 ms). A backend whose "device" is a Python thread would otherwise
#: run the queued work while the caller is still queuing, so the work is done by the time a
#: non-waiting synchronize returns and the attempt looks clean. Threads that release the GIL
#: (every real framework's kernels, a GPU) are not affected.
SYNC_QUEUE_SWITCH_S = 1.0


@contextlib.contextmanager
def _caller_keeps_the_gil():
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SYNC_QUEUE_SWITCH_S)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def sync_attempt(ctx: Context, model, batch, device: str, steps: int) -> tuple[float, float]:
    """(seconds until ``synchronize`` returned, seconds of work that finished after it).

    After ``synchronize`` returns, reading the loss and the weights must cost no more than
    reading them again once the device is certainly idle: anything beyond that is work
    ``synchronize`` did not wait for (the work a timer would have missed)."""
    sync = ctx.backend.synchronize
    with _caller_keeps_the_gil():
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = model.train_step(*batch)
        sync(device)
        t1 = time.perf_counter()
    model.to_numpy(loss)
    model.get_weights()
    t2 = time.perf_counter()
    sync(device)
    t3 = time.perf_counter()
    model.to_numpy(loss)
    model.get_weights()
    return t1 - t0, (t2 - t1) - (time.perf_counter() - t3)


def check_synchronize(ctx: Context, check: Planned) -> str:
    """Queue steps, time them up to ``synchronize`` and measure the work that finished after
    it. An attempt is late when that work exceeds SYNC_LATE_FRACTION of the steps' work,
    estimated as the least time any attempt took to finish them all (a stall of the caller
    inflates an attempt's times, never shrinks them, so a stall cannot hide late work).
    SYNC_ATTEMPTS attempts are judged by majority: one late attempt is a stall while
    reading, one clean attempt is luck. Only attempts during which no other process took the
    CPU count (:mod:`benchsuite.contention`); without enough of them the check is
    inconclusive (skipped, with why), never a pass."""
    (spec,) = check.specs
    model = _built(ctx, spec, check.device)
    batch = model.stage(*_batch(spec, n=64))
    sync_attempt(ctx, model, batch, check.device, 2)  # compilation, autotuning: not timed
    steps, timed, late = 1, *sync_attempt(ctx, model, batch, check.device, 1)
    while timed + late < SYNC_MIN_WORK_S and steps < SYNC_MAX_STEPS:
        steps *= 2
        timed, late = sync_attempt(ctx, model, batch, check.device, steps)
    attempts = clean_attempts(lambda: sync_attempt(ctx, model, batch, check.device, steps))
    work = min(timed + max(late, 0.0) for timed, late in attempts)
    bound = max(SYNC_LATE_FRACTION * work, SYNC_LATE_FLOOR_S)
    late_ones = sorted(late for _, late in attempts if late > bound)
    if 2 * len(late_ones) < len(attempts):
        timed, late = min(attempts, key=lambda a: a[1])
        return (f"{steps} steps of {spec.name}: timed {1e3 * timed:.1f} ms, "
                f"{1e3 * max(late, 0):.1f} ms finished after synchronize() "
                f"({len(attempts) - len(late_ones)} of {len(attempts)} attempts clean)")
    raise CheckFailed(f"synchronize() returned before the work was done: {steps} steps of "
                      f"{spec.name} take {1e3 * work:.1f} ms, but "
                      f"{1e3 * late_ones[len(late_ones) // 2]:.1f} ms of work finished after "
                      f"it ({len(late_ones)} of {len(attempts)} attempts)")


def clean_attempts(attempt, wanted: int = SYNC_ATTEMPTS, tries: int = SYNC_MAX_TRIES):
    """``wanted`` results of ``attempt()`` taken while no other process competed for the CPU,
    in at most ``tries`` calls; CheckSkipped (inconclusive) when the machine stayed busy."""
    kept, busiest = [], 0.0
    for _ in range(tries):
        before = contention.read()
        result = attempt()
        used = contention.usage(before, contention.read())
        if used is not None and used.contended:
            busiest = max(busiest, used.others_cores, used.steal_cores)
            continue
        kept.append(result)
        if len(kept) == wanted:
            return kept
    raise CheckSkipped(f"inconclusive: only {len(kept)} of {tries} attempts ran without other "
                       f"processes competing for the CPU (up to {busiest:.2f} cores busy); "
                       "run check-plugin again on a quiet machine")
