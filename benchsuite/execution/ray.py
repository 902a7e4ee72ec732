"""``benchsuite run --executor ray``: the job matrix on the nodes of a Ray cluster.

Placement. Each node taking part gets one :class:`NodeAgent`, a Ray actor pinned to it
(``NodeAffinitySchedulingStrategy(soft=False)``) that reserves *all* of the node's CPUs (and
GPUs): while the run lasts, Ray schedules nothing else of anyone's there, so timings stay clean.
An actor runs its calls one at a time, so a node never measures two jobs at once. Every job
is one actor call, which drives the same :class:`~benchsuite.execution.pool.WorkerPool` as a
local run: a spawned worker process per backend, with the crash/timeout/OOM handling of a
local run, and the framework imported once per node and backend. ``spread`` (default) hands
the next job to whichever node is free; ``per-node`` gives every node the whole suite
(a cross-hardware comparison). Nodes with no CPU (a ``--num-cpus 0`` head) take no part; when
some nodes declare the custom resource ``benchsuite``
(``ray start --resources '{"benchsuite": 1}'``), only
those do.

Streaming and faults. The driver waits on the calls in flight (``ray.wait``) and yields each
record as it arrives; :func:`benchsuite.recording.execute` appends it to the one results file and
saves it atomically, exactly as for a local run, so an interrupted driver keeps everything
received and ``--resume`` works the same. A node (or its agent) that dies mid-job turns the
job into a ``lost`` row; under ``spread`` the job is retried once on another live node,
under ``per-node`` there is nowhere else to run it, and the node's remaining jobs are ``lost``
too. Each record is tagged with its node (``node = {id, hostname, hardware, started,
finished, threads}``); the node's full environment fingerprint is in the run's ``nodes``.

Only this module imports Ray, and only when the executor is built.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from benchsuite.errors import UsageError
from benchsuite.execution import Job, WorkerSettings
from benchsuite.plugins import Registry

log = logging.getLogger(__name__)
INSTALL_HINT = "--executor ray needs Ray on this machine: pip install benchsuite[ray]"
OPT_IN_RESOURCE = "benchsuite"  # when any node declares it, only those nodes are used
AGENT_START_TIMEOUT = 120.0  # s for every agent to get its node (it waits for free CPUs)


def import_ray():
    try:
        import ray
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    return ray


def normal_priority() -> int:
    """Ray starts its workers at a low CPU priority (``worker_niceness``, 15) so that they
    yield to its own daemons; a benchmark at nice 15 on a node shared with anything else is
    measured against what the scheduler leaves it. Back to 0 where allowed (root or
    CAP_SYS_NICE); the niceness the jobs ran at goes into every record's node tag."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, 0)
    return os.getpriority(os.PRIO_PROCESS, 0)


class NodeAgent:
    """Lives on one node for the whole run and measures the jobs it is sent, one at a time,
    in the node's own worker processes (the local executor's code)."""

    def __init__(self, entry_points, settings: WorkerSettings, threads_from_node: bool) -> None:
        import ray

        from benchsuite.environment import fingerprint, hardware
        from benchsuite.execution.pool import WorkerPool, recorder
        from benchsuite.plugins import rebuild_registry

        ctx = ray.get_runtime_context()
        cpus = int(ctx.get_assigned_resources().get("CPU", 0)) or None
        if threads_from_node and cpus:  # no --threads: each node uses the cores it owns
            settings = replace(settings, threads=cpus)
        self.doc = {"environment": fingerprint()}
        self.node = {"id": ctx.get_node_id(), "hostname": socket.gethostname(),
                     "hardware": hardware(self.doc["environment"]),
                     "threads": settings.threads, "niceness": normal_priority()}
        self.pool = WorkerPool(rebuild_registry(entry_points), settings, recorder(self.doc))

    def describe(self) -> dict[str, Any]:
        return {"node": self.node, "environment": self.doc["environment"]}

    def run(self, job: Job) -> tuple[dict[str, Any], dict[str, Any]]:
        """The job's record, tagged with this node and when it ran here; and the backends'
        environment (filled in as this node's workers start)."""
        started = time.time()
        record = self.pool.run(job)
        record["node"] = {**self.node, "started": started, "finished": time.time()}
        return record, self.doc["environment"]["backends"]

    def close(self) -> None:
        self.pool.close()


class RayExecutor:
    """Streams ``(job, record)`` pairs from the cluster's nodes, as they finish."""

    def __init__(self, registry: Registry, settings: WorkerSettings, run: dict[str, Any],
                 placement: str = "spread", address: str | None = None,
                 threads_from_node: bool = False,
                 done_on_node: Callable[[Job, dict[str, Any], set[str]], bool] | None = None,
                 ) -> None:
        """``run`` is the results document (its ``nodes`` and ``executor`` blocks are written
        here); ``done_on_node(job, node, node_ids_now)`` says whether a resumed per-node run
        already has a record of ``job`` from that node."""
        self.ray = ray = import_ray()
        self.settings, self.run_doc, self.placement = settings, run, placement
        self.done_on_node = done_on_node
        self.owns_ray = not ray.is_initialized()
        if self.owns_ray:
            try:
                ray.init(address=address, log_to_driver=False,
                         logging_level="WARNING", configure_logging=True)
            except (ConnectionError, TimeoutError, ray.exceptions.RayError) as exc:
                where = address or "a new local cluster"
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise UsageError(f"cannot connect to Ray at {where}: {first}") from None
        self.dead: set[Any] = set()
        self.dispatched = 0
        # A resumed run keeps its first choice (its --threads, or each node's own cores).
        threads_from_node = (run.get("executor") or {}).get("threads_from_node",
                                                            threads_from_node)
        self.agents = self._start_agents(registry, threads_from_node)
        run["executor"] = {"kind": "ray", "placement": placement,
                           "ray_version": ray.__version__, "nodes": len(self.agents),
                           "threads_from_node": threads_from_node}

    def _start_agents(self, registry: Registry, threads_from_node: bool) -> dict[Any, dict]:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        ray = self.ray
        nodes = [n for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) >= 1]
        if any(OPT_IN_RESOURCE in n["Resources"] for n in nodes):
            nodes = [n for n in nodes if OPT_IN_RESOURCE in n["Resources"]]
        if not nodes:
            raise UsageError("the Ray cluster has no live node with a CPU to run cases on")
        remote = ray.remote(NodeAgent)
        pending = {}
        for n in nodes:
            res = n["Resources"]
            agent = remote.options(
                num_cpus=res["CPU"], num_gpus=res.get("GPU", 0), max_restarts=0,
                max_task_retries=0, name=None,
                scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False),
            ).remote(registry.entry_points, self.settings, threads_from_node)
            pending[agent.describe.remote()] = agent
        ready, late = ray.wait(list(pending), num_returns=len(pending),
                               timeout=AGENT_START_TIMEOUT)
        agents, nodes_doc = {}, self.run_doc.setdefault("nodes", {})
        for ref in ready:
            try:
                info = ray.get(ref)
            except ray.exceptions.RayError as exc:  # benchsuite missing there, node gone...
                log.warning("a Ray node takes no part: its benchsuite agent did not start "
                            "(%s)", str(exc).strip().splitlines()[-1] if str(exc) else exc)
                continue
            agents[pending[ref]] = info["node"]
            nodes_doc[info["node"]["id"]] = {**info["node"], "environment": info["environment"]}
        for ref in late:  # its node's CPUs stayed busy: leave it out rather than wait forever
            log.warning("a Ray node takes no part: its CPUs stayed busy for %g s",
                        AGENT_START_TIMEOUT)
            ray.kill(pending[ref])
        if not agents:
            raise UsageError(f"no Ray node was free to run cases within "
                             f"{AGENT_START_TIMEOUT:g} s (each needs a whole node's CPUs)")
        return agents

    def expected(self, jobs: list[Job]) -> int:
        """How many records ``stream`` will yield (before any retry)."""
        return len(jobs) * (len(self.agents) if self.placement == "per-node" else 1)

    def stream(self, jobs: list[Job], on_start: Callable[[int, Job], None] | None = None
               ) -> Iterator[tuple[Job, dict[str, Any]]]:
        ray = self.ray
        shared = collections.deque((c, 1) for c in jobs)
        queues = {a: shared if self.placement == "spread" else
                  collections.deque((c, 1) for c in jobs if not self._done_on(a, c))
                  for a in self.agents}
        idle, inflight = list(self.agents), {}
        while True:
            self._dispatch(idle, queues, inflight, on_start)
            if not inflight:
                break
            (ref,), _ = ray.wait(list(inflight), num_returns=1)
            agent, job, attempt = inflight.pop(ref)
            try:
                record, backends = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:  # the agent raised: a bug, not a death
                idle.append(agent)
                yield job, self._row(job, agent, "failed", f"benchsuite on the node: {exc}")
                continue
            except ray.exceptions.RayError as exc:
                yield from self._node_died(agent, job, attempt, exc, queues)
                continue
            self.run_doc["nodes"][self.agents[agent]["id"]]["environment"]["backends"].update(
                backends)
            idle.append(agent)
            yield job, record
        for agent, queue in queues.items():  # no live node left to take these
            while queue:
                job, _ = queue.popleft()
                yield job, self._row(job, agent, "lost", "no live Ray node left to run it")

    def _dispatch(self, idle: list, queues: dict, inflight: dict,
                  on_start: Callable[[int, Job], None] | None) -> None:
        """Each idle agent with work waiting takes its next job."""
        for agent in [a for a in idle if queues[a]]:
            job, attempt = queues[agent].popleft()
            idle.remove(agent)
            if on_start:
                on_start(self.dispatched, job)
            self.dispatched += 1
            inflight[agent.run.remote(job)] = (agent, job, attempt)

    def _node_died(self, agent, job: Job, attempt: int, exc: Exception, queues
                   ) -> Iterator[tuple[Job, dict[str, Any]]]:
        self.dead.add(agent)
        with contextlib.suppress(Exception):
            self.ray.kill(agent)
        live = [a for a in self.agents if a not in self.dead]
        retry = self.placement == "spread" and attempt == 1 and bool(live)
        why = f"node died mid-case ({type(exc).__name__})"
        record = self._row(job, agent, "lost",
                           why + ("; retried on another node" if retry else ""))
        record["retried"] = retry
        if retry:
            queues[agent].appendleft((job, attempt + 1))
        yield job, record
        if self.placement == "per-node":
            queue = queues[agent]
            while queue:
                later, _ = queue.popleft()
                yield later, self._row(later, agent, "lost", "its node died earlier in the run")

    def _row(self, job: Job, agent, status: str, error: str) -> dict[str, Any]:
        """A record for a job the node could not give one for."""
        record = job.record(status, error)
        record["node"] = dict(self.agents[agent])
        return record

    def _done_on(self, agent, job: Job) -> bool:
        """``--resume`` of a per-node run: this node already has a result for ``job``."""
        if self.done_on_node is None:
            return False
        ids_now = {n["id"] for n in self.agents.values()}
        return self.done_on_node(job, self.agents[agent], ids_now)

    def close(self) -> None:
        ray = self.ray
        live = [a for a in self.agents if a not in self.dead]
        with contextlib.suppress(Exception):
            ray.get([a.close.remote() for a in live], timeout=30)
        for agent in live:
            with contextlib.suppress(Exception):
                ray.kill(agent)
        if self.owns_ray:
            ray.shutdown()
