"""What every planner shares: model names with parameters, specs, and whether a backend can run
a spec on a device in a variant. Used by speed cases, training runs, parity and conformance.

Planning happens in the parent process and imports no framework: the devices of anything but
the CPU are probed in a throwaway worker (:func:`benchsuite.execution.pool.probe_devices`).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field, replace
from typing import Any

from benchsuite.backend import DEVICES, Backend
from benchsuite.errors import SpecError, UsageError
from benchsuite.plugins import Registry
from benchsuite.spec import ModelSpec, size_before_building


@dataclass(frozen=True, kw_only=True)
class PlannedJob:
    """What every planned job of a model carries: its backend, variant and spec, why it cannot
    run here (None: it can), the settings of its run, and its backend's version (for the
    records written without a worker: skipped rows, dead workers)."""

    backend: str
    spec: ModelSpec
    variant: str | None = None
    skip_reason: str | None = None
    settings: Any = field(default=None, repr=False, compare=False)
    backend_version: str | None = field(default=None, compare=False)
    #: Why its backend is broken (its ``is_available()`` or ``version()`` raised): the job
    #: is recorded ``failed`` with this error, without a worker. None: it is not.
    broken: str | None = field(default=None, compare=False)
    #: ``{name, version}`` of the distributions that provided its backend and its model.
    backend_dist: dict[str, Any] | None = field(default=None, compare=False)
    model_dist: dict[str, Any] | None = field(default=None, compare=False)

    def dists(self) -> dict[str, Any]:
        """The record keys naming the distributions of its backend and model (those known)."""
        return {k: v for k, v in (("backend_dist", self.backend_dist),
                                  ("model_dist", self.model_dist)) if v is not None}


def parse_model(text: str) -> tuple[str, dict[str, Any]]:
    """``"mlp:depth=10,activation=sigmoid"`` → ``("mlp", {"depth": 10, "activation": "sigmoid"})``.

    Values are int, float, or strings; ``a/b/c`` gives a list of ints (convnet filters).
    """
    name, _, rest = text.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"bad model parameter {item!r} in {text!r} (expected key=value)")
        if key.strip() in params:
            raise UsageError(f"model parameter {key.strip()!r} given twice in {text!r}")
        params[key.strip()] = _parse_value(value.strip())
    return name.strip(), params


def _parse_value(value: str) -> Any:
    if "/" in value:
        return [_parse_value(v) for v in value.split("/")]
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def build_spec(registry: Registry, name: str, params: dict[str, Any],
               input_shape: tuple[int, int, int], classes: int,
               batch_size: int = 1) -> ModelSpec:
    """Registered model ``name`` with ``params``; unknown or bad parameters are a SpecError,
    and so is a model that cannot fit this machine's memory at ``batch_size`` (checked before
    building it where its size is known from the parameters: see :func:`check_fits`)."""
    entry = registry.model(name)
    accepted = inspect.signature(entry.factory).parameters
    unknown = sorted(set(params) - set(accepted) | ({"input_shape", "classes"} & set(params)))
    if unknown:
        valid = [p for p in accepted if p not in ("input_shape", "classes")]
        raise SpecError(f"model {name!r} has no parameter {', '.join(unknown)} "
                        f"(parameters: {', '.join(valid) or 'none'})")
    try:
        size = size_before_building(entry.factory, params, input_shape, classes)
        if size is not None:
            check_fits(name, params, *size, batch_size)
        spec = entry.factory(input_shape=input_shape, classes=classes, **params)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"model {name!r} with {params}: {exc}") from None
    check_fits(name, params, spec.n_params, spec.activations, batch_size)
    # Rows are recorded under the name the model was registered as, never under the name
    # its factory gave the spec (a plugin's model built from logreg() is not logreg).
    return spec if spec.name == name else replace(spec, name=name)


def machine_memory() -> int:
    """Bytes of memory this machine has (RAM, not counting swap)."""
    import psutil

    return psutil.virtual_memory().total


def check_fits(name: str, params: dict[str, Any], n_params: int, activations: int,
               batch_size: int) -> None:
    """A SpecError when even the least a model needs cannot fit this machine's memory: its
    float32 weights twice (the shared initial weights, the backend's copy) and one batch of
    its activations. Better refused at once than killed by the OOM killer minutes later."""
    need = 4 * (2 * n_params + batch_size * activations)
    have = machine_memory()
    if need > have:
        given = ",".join(f"{k}={v}" for k, v in params.items())
        raise SpecError(f"model {name}{':' + given if given else ''} cannot fit in memory: "
                        f"it needs at least {_bytes(need)} ({_count(n_params)} parameters, "
                        f"batch {batch_size}) and this machine has {_bytes(have)}")


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**9 else f"{n:.3g}"


def _bytes(n: float) -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    i = 0
    while n >= 1024 and i < len(units) - 1:
        n, i = n / 1024, i + 1
    return f"{n:.1f} {units[i]}"


def check_device(device: str, allow_all: bool = True) -> list[str]:
    """The devices ``device`` stands for ("all": every one), or a UsageError."""
    valid = (*DEVICES, "all") if allow_all else DEVICES
    if device not in valid:
        raise UsageError(f"unknown device {device!r} (valid: {', '.join(valid)})")
    return list(DEVICES) if device == "all" else [device]


def selected_backends(registry: Registry, names: list[str]) -> tuple[list[Backend], bool]:
    """The backends named (each once, in order), or every registered one; and whether they
    were named explicitly."""
    chosen = list(dict.fromkeys(names)) or list(registry.backends)
    return [registry.backend(n) for n in chosen], bool(names)


def variants(backends: list[Backend], wanted: tuple[str, ...]) -> dict[str, list[str]]:
    """Per backend the variants to run: its default, or each one asked for."""
    known = {v for b in backends for v in b.variants}
    for v in wanted:
        if v not in known:
            raise UsageError(f"unknown variant {v!r} (valid: {', '.join(sorted(known))})")
    return {b.name: list(wanted) or [b.variants[0]] for b in backends}


def devices(registry: Registry, backend: Backend, wanted: list[str], explicit: bool,
            every: bool = False) -> list[str]:
    """Devices of ``backend`` usable now. A backend named on the command line that is not
    installed, or lacks the one device asked for, is a usage error rather than a skip."""
    from benchsuite.execution.pool import probe_devices

    available, _, why = availability(backend)
    if not available:
        if explicit and not why:
            raise UsageError(f"backend {backend.name!r} is unavailable ({backend.install_hint})")
        return []
    static = list(backend.supported_devices)
    needs_probe = any(d != "cpu" and d in static for d in wanted)
    have = probe_devices(registry, backend.name) if needs_probe else [
        d for d in static if d == "cpu"]
    missing = [d for d in wanted if d not in have]
    if explicit and not every and missing:
        raise UsageError(f"backend {backend.name!r} has no {missing[0]} device here "
                         f"(available: {', '.join(have) or 'none'})")
    return have


def availability(backend: Backend) -> tuple[bool, str | None, str | None]:
    """``(available, version, broken)``: whether ``backend`` is installed, its version, and
    why it is broken when ``is_available()`` or ``version()`` raises (a broken plugin must
    not stop the plan, or the listing, of the others)."""
    from benchsuite.execution.failures import one_line

    try:
        if not backend.is_available():
            return False, None, None
    except Exception as exc:
        return False, None, f"is_available() raised {one_line(exc)}"
    try:
        return True, backend.version(), None
    except Exception as exc:
        return False, None, f"version() raised {one_line(exc)}"


def backend_version(backend: Backend) -> str | None:
    """``backend.version()`` when it is available and answers; None otherwise."""
    return availability(backend)[1]


def backend_facts(registry: Registry, backends: list[Backend]) -> dict[str, dict[str, Any]]:
    """Per backend the :class:`PlannedJob` fields a planner learns of it once: its version,
    why it is broken, and the distribution that provided it."""
    facts = {}
    for b in backends:
        _, version, why = availability(b)
        facts[b.name] = {"backend_version": version, "broken": why,
                         "backend_dist": registry.dist_of_backend(b.name)}
    return facts


def skip_reason(backend: Backend, spec: ModelSpec, device: str, have: list[str],
                variant: str) -> str | None:
    """Why ``backend`` cannot run ``spec`` on ``device`` in ``variant`` here, or None."""
    if not availability(backend)[0]:
        return f"unavailable ({backend.install_hint})"
    if device not in have:
        return f"{backend.name} has no {device} device here (available: {', '.join(have)})"
    if variant not in backend.variants:
        return f"{backend.name} has no variant {variant!r} ({', '.join(backend.variants)})"
    return backend.unsupported_reason(spec)
