"""Interleaved measurement: the contestants of a case take turns, repeat by repeat.

The contestants of a case are the run's cases that differ only in backend or variant (same
model and parameters, mode, device, batch size). All of them are built and warmed up in their
workers first; then each *round* takes one timed repeat of every contestant, in an order that
rotates (A B C, then B C A, then C A B …), so drift and a neighbour's load fall on all of them
within the same seconds and no one always goes first. A round during which any contestant saw
other processes take the CPU (:mod:`benchsuite.contention`) is contended: rounds are re-run
until ``--repeats`` clean ones or ``--repeats`` extra rounds, and a case left without enough
clean rounds is recorded contended. Every record keeps the rounds its samples came from
(``interleaving``), so two contestants' samples pair up round by round
(:func:`benchsuite.stats.paired_ratio`).

With a precision target (``--precision``), the rounds go on past ``--repeats`` clean ones
until every pair of contestants has its paired ratio known to within the target (the 95% CI's
half-width, as the report computes it), or ``--max-repeats`` clean rounds: the rounds go where
the noise is, not to every case alike. The stopping rule looks only at the CI's width, never at
the ratio itself, so stopping early does not favour one verdict.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from benchsuite import contention, stats
from benchsuite.cases import Case
from benchsuite.execution.pool import WorkerPool


def contest(case: Case) -> tuple:
    """What contestants share: everything that defines a case but its backend and variant;
    in ``benchsuite ab`` (cases with an ``env``) everything but the environment."""
    key = case.key()
    return key if case.env is not None else key[2:]


def groups(jobs: list[Case]) -> Iterator[list[Case]]:
    """Consecutive jobs of one contest (the plan puts backends innermost)."""
    for _, group in itertools.groupby(jobs, key=contest):
        yield list(group)


def rotation(contestants: list[Any], round_no: int) -> list[Any]:
    """The order of round ``round_no``: the contestants rotated by one place per round."""
    if not contestants:
        return []
    k = round_no % len(contestants)
    return contestants[k:] + contestants[:k]


class InterleavedExecutor:
    """Runs a plan's cases contest by contest, contestants in turns, through a pool (one
    worker per backend). Cases that need fresh workers (``--processes`` > 1) run one after
    another instead."""

    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool

    def expected(self, jobs: list[Any]) -> int:
        return len(jobs)

    def close(self) -> None:
        self.pool.close()

    def stream(self, jobs: list[Case], on_start: Callable[[int, Any], None] | None = None
               ) -> Iterator[tuple[Case, dict[str, Any]]]:
        index = itertools.count()
        for group in groups(jobs):
            numbered = [(next(index), job) for job in group]
            if any(job.processes > 1 for job in group):
                for i, job in numbered:
                    if on_start:
                        on_start(i, job)
                    yield job, self.pool.run(job)
                continue
            yield from self._contest(numbered, on_start)

    def _call(self, job: Case, fn: str, *args: Any) -> tuple[str, Any]:
        return self.pool.call(self.pool.key(job), f"benchsuite.bench:{fn}", args)

    def _contest(self, numbered: list[tuple[int, Case]],
                 on_start: Callable[[int, Any], None] | None
                 ) -> Iterator[tuple[Case, dict[str, Any]]]:
        live: list[Case] = []
        for i, job in numbered:
            if on_start:
                on_start(i, job)
            refused = self.pool.refused(job)
            if refused is not None:
                yield job, refused
                continue
            kind, payload = self._call(job, "start_case", job, job.settings)
            if kind != "result":
                yield job, job.record(kind, payload)
            elif payload is not None:
                yield job, payload
            else:
                live.append(job)
        if not live:
            return
        settings = live[0].settings
        repeats = settings.repeats
        most = settings.most_rounds()
        budget = contention.budget(repeats) + most - repeats
        usage: dict[int, list[contention.Usage]] = {}  # round → what each contestant saw
        samples: dict[Case, dict[int, float]] = {job: {} for job in live}  # round → samples/s
        clean: list[int] = []
        stopped: list[Case] = []  # failed mid-way: their records say why, at the end
        round_no = 0
        patience = contention.SETTLE_MAX_S
        while (len(clean) < most and round_no < budget and len(stopped) < len(live)
               and not (len(clean) >= repeats
                        and precise(samples, clean, settings.precision))):
            seen = usage.setdefault(round_no, [])
            for job in rotation([j for j in live if j not in stopped], round_no):
                # The last one's threads may still spin: wait for them. A machine that stayed
                # busy through a whole wait is busy (a co-tenant): from then on only glance.
                waited = contention.settle(patience)
                patience = (contention.SETTLE_MAX_S if waited < patience
                            else 2 * contention.SETTLE_WINDOW_S)
                kind, payload = self._call(job, "repeat_case", job.key())
                if kind != "result":  # the worker died or timed out: its record now
                    live.remove(job)
                    del samples[job]
                    yield job, job.record(kind, payload)
                elif payload == "failed":
                    stopped.append(job)
                    del samples[job]
                else:
                    taken, value = _taken(payload)
                    if value is not None:
                        samples[job][round_no] = value
                    if taken is not None:
                        seen.append(taken)
            if not any(u.contended for u in seen):
                clean.append(round_no)
            round_no += 1
        keep = sorted(contention.keep(
            [None if r in clean else max((u.others_cores for u in usage.get(r, [])), default=0.0)
             for r in range(round_no)], max(repeats, len(clean))))
        block = _block(usage, clean, round_no, repeats)
        pairing = {"group": uuid.uuid4().hex[:12], "contestants": len(live)}
        for job in live:
            kind, payload = self._call(job, "finish_case", job.key(), keep, block, pairing)
            yield job, payload if kind == "result" else job.record(kind, payload)


def _taken(payload: Any) -> tuple[contention.Usage | None, float | None]:
    """What a repeat returned: its usage and throughput. A worker of an older benchsuite
    (the base side of ``benchsuite ab``) returns the usage alone."""
    if isinstance(payload, tuple):
        return payload
    return payload, None


def precise(samples: dict[Case, dict[int, float]], rounds: list[int],
            target: float | None) -> bool:
    """Whether every pair of contestants has its paired ratio over ``rounds`` known to within
    ``target`` (the 95% CI's half-width, relative). No target: always. Contestants without
    samples are left out: the null backend, which computes nothing, and a worker of an older
    benchsuite; a contest of one has no pair, so nothing more to learn from its rounds."""
    if not target:
        return True
    measured = [got for got in samples.values() if got]
    for a, b in itertools.combinations(measured, 2):
        common = [r for r in rounds if r in a and r in b]
        got = stats.paired_ratio([a[r] for r in common], common, [b[r] for r in common], common)
        if got is None or stats.half_width(*got[:3]) > target:
            return False
    return True


def _block(usage: dict[int, list[contention.Usage]], clean: list[int], rounds: int,
           repeats: int) -> dict[str, Any] | None:
    """The contention block every contestant records: the rounds, judged together."""
    measured = [max(seen, key=lambda u: u.others_cores) for r in range(rounds)
                if (seen := usage.get(r))]
    if not measured:
        return None
    block = contention.summary(measured, repeats)
    assert block is not None
    block["contended"] = len(clean) < repeats
    block["repeats_contended"] = rounds - len(clean)
    block["repeats_taken"] = rounds
    return block
