"""Plugin discovery: entry points in the ``benchsuite`` group, loaded one by one.

Each entry point is imported and registered in its own try/except: a plugin that fails to
import, declares a misspelled hook, or raises while registering is logged and listed as
``broken`` (its partial registrations are dropped) and the rest load normally.

Environment variables:

* ``BENCHSUITE_DISABLE_PLUGINS=a,b`` — entry-point names not to load (listed as ``blocked``);
* ``BENCHSUITE_STRICT_PLUGINS=1`` — re-raise the first plugin error instead (for debugging).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from benchsuite import builtin, hookspecs
from benchsuite.backend import Backend
from benchsuite.errors import PluginError, UnknownNameError

ENTRY_POINT_GROUP = "benchsuite"
log = logging.getLogger("benchsuite.plugins")


@dataclass
class PluginInfo:
    """What ``benchsuite list`` shows about one plugin."""

    name: str
    status: str  # "ok", "broken" or "blocked"
    source: str = ""
    error: str = ""
    backends: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)


@dataclass
class ModelEntry:
    name: str
    factory: Callable[..., Any]
    description: str
    plugin: str


@dataclass
class Registry:
    """Everything the loaded plugins registered."""

    pm: pluggy.PluginManager
    backends: dict[str, Backend] = field(default_factory=dict)
    models: dict[str, ModelEntry] = field(default_factory=dict)
    plugins: dict[str, PluginInfo] = field(default_factory=dict)
    #: The entry points given to :func:`load_registry` as (name, value, group), or None when
    #: they were discovered; worker processes rebuild the same registry from this.
    entry_points: list[tuple[str, str, str]] | None = None

    def backend(self, name: str) -> Backend:
        if name not in self.backends:
            raise UnknownNameError("backend", name, list(self.backends))
        return self.backends[name]

    def model(self, name: str) -> ModelEntry:
        if name not in self.models:
            raise UnknownNameError("model", name, list(self.models))
        return self.models[name]


def _env_names(var: str) -> set[str]:
    return {n.strip() for n in os.environ.get(var, "").split(",") if n.strip()}


def _strict() -> bool:
    return os.environ.get("BENCHSUITE_STRICT_PLUGINS", "") not in ("", "0", "false", "no")


def load_registry(eps: Iterable[EntryPoint] | None = None) -> Registry:
    """Load the core plugin and every entry point (or ``eps``), then run the register hooks."""
    pm = pluggy.PluginManager("benchsuite")
    pm.add_hookspecs(hookspecs)
    reg = Registry(pm)
    if eps is not None:
        eps = list(eps)
        reg.entry_points = [(ep.name, ep.value, ep.group) for ep in eps]
    pm.register(builtin, name="builtin")
    reg.plugins["builtin"] = PluginInfo("builtin", "ok", source="benchsuite")
    disabled = _env_names("BENCHSUITE_DISABLE_PLUGINS")
    for ep in entry_points(group=ENTRY_POINT_GROUP) if eps is None else eps:
        source = ep.dist.name if getattr(ep, "dist", None) else ep.value
        if ep.name in disabled:
            reg.plugins[ep.name] = PluginInfo(ep.name, "blocked", source,
                                              "blocked by BENCHSUITE_DISABLE_PLUGINS")
            continue
        try:
            pm.register(ep.load(), name=ep.name)
            pm.check_pending()
        except Exception as exc:
            if pm.has_plugin(ep.name):
                pm.unregister(name=ep.name)
            _broken(reg, PluginInfo(ep.name, "broken", source), exc)
            continue
        reg.plugins[ep.name] = PluginInfo(ep.name, "ok", source)
    for name in list(reg.plugins):
        if reg.plugins[name].status == "ok":
            _register_from(reg, name)
    return reg


def rebuild_registry(entry_points: list[tuple[str, str, str]] | None) -> Registry:
    """The registry a parent process described with ``Registry.entry_points``."""
    if entry_points is None:
        return load_registry()
    return load_registry([EntryPoint(n, v, g) for n, v, g in entry_points])


def _broken(reg: Registry, info: PluginInfo, exc: Exception) -> None:
    if _strict():
        raise exc
    info.status, info.error = "broken", f"{type(exc).__name__}: {exc}"
    reg.plugins[info.name] = info
    log.warning("plugin %r is broken and was skipped: %s", info.name, info.error)


def _register_from(reg: Registry, plugin: str) -> None:
    """Run one plugin's register hooks; on any error drop what it registered."""
    info = reg.plugins[plugin]
    backends: dict[str, Backend] = {}
    models: dict[str, ModelEntry] = {}

    def register_backend(backend: Backend) -> None:
        if not isinstance(backend, Backend) or not backend.name:
            raise PluginError(f"register() needs a named Backend instance, got {backend!r}")
        if backend.name in reg.backends or backend.name in backends:
            owner = _owner(reg.plugins, "backends", backend.name) or plugin
            raise PluginError(f"backend {backend.name!r} is already registered by {owner!r}")
        backends[backend.name] = backend

    def register_model(name: str, factory: Callable[..., Any], description: str = "") -> None:
        if not isinstance(name, str) or not name or not callable(factory):
            raise PluginError(f"register() needs a name and a factory, got {name!r}")
        if name in reg.models or name in models:
            owner = reg.models[name].plugin if name in reg.models else plugin
            raise PluginError(f"model {name!r} is already registered by {owner!r}")
        models[name] = ModelEntry(name, factory, description, plugin)

    callbacks = {"benchsuite_register_backends": register_backend,
                 "benchsuite_register_models": register_model}
    try:
        for hook_name, callback in callbacks.items():
            for impl in getattr(reg.pm.hook, hook_name).get_hookimpls():
                if impl.plugin_name == plugin:
                    impl.function(register=callback)
    except Exception as exc:
        _broken(reg, info, exc)
        return
    reg.backends.update(backends)
    reg.models.update(models)
    info.backends, info.models = list(backends), list(models)


def _owner(plugins: dict[str, PluginInfo], attr: str, name: str) -> str | None:
    return next((p.name for p in plugins.values() if name in getattr(p, attr)), None)
