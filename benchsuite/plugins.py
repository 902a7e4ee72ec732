"""Plugin discovery: entry points in the ``benchsuite`` group, loaded one by one.

Each entry point is imported and registered in its own try/except: a plugin that fails to
import, declares a misspelled hook, or raises while registering is logged and listed as
``broken`` (its partial registrations are dropped) and the rest load normally.

Environment variables:

* ``BENCHSUITE_DISABLE_PLUGINS=a,b`` — entry-point names not to load (listed as ``blocked``);
* ``BENCHSUITE_STRICT_PLUGINS=1`` — re-raise the first plugin error instead (for debugging).

The in-tree backends (:data:`BUILTIN_PLUGINS`) load before any other plugin and their names
are theirs: another plugin registering a backend called ``numpy`` is broken, whatever its
entry point is called, and the oracle (:meth:`Registry.oracle`) is the in-tree NumPy backend
by identity. A second entry point under a name already taken is listed broken under
``NAME (DISTRIBUTION)``, never in the place of the first.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from benchsuite import __version__, builtin, hookspecs
from benchsuite.backend import Backend
from benchsuite.errors import PluginError, UnknownNameError

ENTRY_POINT_GROUP = "benchsuite"
#: The backends shipped with benchsuite: entry-point name (= backend name) → module.
BUILTIN_PLUGINS = {"numpy": "benchsuite_numpy", "torch": "benchsuite_torch",
                   "tensorflow": "benchsuite_tensorflow", "jax": "benchsuite_jax",
                   "null": "benchsuite_null"}
#: The backend every other one is checked against.
ORACLE = "numpy"
log = logging.getLogger("benchsuite.plugins")


@dataclass
class PluginInfo:
    """What ``benchsuite list`` shows about one plugin."""

    name: str
    status: str  # "ok", "broken" or "blocked"
    source: str = ""
    error: str = ""
    version: str | None = None  # the version of the distribution ``source``
    backends: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    builtin: bool = False  # one of BUILTIN_PLUGINS, loaded from its in-tree module


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
            info = self.plugins.get(name)
            if info is not None and info.status == "blocked":
                raise PluginError(f"backend {name!r} is blocked by BENCHSUITE_DISABLE_PLUGINS")
            if info is not None and info.status == "broken":
                raise PluginError(f"backend {name!r} is broken: {info.error}")
            raise UnknownNameError("backend", name, list(self.backends))
        return self.backends[name]

    def oracle(self) -> Backend | None:
        """The in-tree NumPy backend, or None when it did not load (never a plugin's
        backend that calls itself numpy)."""
        info = self.plugins.get(ORACLE)
        if info is None or not info.builtin or ORACLE not in info.backends:
            return None
        return self.backends.get(ORACLE)

    def dist_of_backend(self, name: str) -> dict[str, str | None]:
        """``{name, version}`` of the distribution whose plugin registered backend ``name``."""
        return _dist(next((p for p in self.plugins.values() if name in p.backends), None))

    def dist_of_model(self, name: str) -> dict[str, str | None]:
        """``{name, version}`` of the distribution whose plugin registered model ``name``."""
        return _dist(self.plugins.get(self.models[name].plugin) if name in self.models else None)

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
    reg.plugins["builtin"] = PluginInfo("builtin", "ok", "benchsuite", version=__version__,
                                        builtin=True)
    disabled = _env_names("BENCHSUITE_DISABLE_PLUGINS")
    found = entry_points(group=ENTRY_POINT_GROUP) if eps is None else eps
    for ep in sorted(found, key=lambda ep: not _is_builtin(ep)):  # stable: built-ins first
        info = _info(ep)
        if info.name in reg.plugins:
            info.name = f"{ep.name} ({info.source})"
            _broken(reg, info, PluginError(f"entry point name {ep.name!r} is already taken "
                                           f"by {reg.plugins[ep.name].source}"))
            continue
        if ep.name in disabled:
            info.status, info.error = "blocked", "blocked by BENCHSUITE_DISABLE_PLUGINS"
            reg.plugins[ep.name] = info
            continue
        try:
            pm.register(ep.load(), name=ep.name)
            pm.check_pending()
        except Exception as exc:
            if pm.has_plugin(ep.name):
                pm.unregister(name=ep.name)
            _broken(reg, info, exc)
            continue
        reg.plugins[ep.name] = info
    for name in list(reg.plugins):
        if reg.plugins[name].status == "ok":
            _register_from(reg, name)
    return reg


def _is_builtin(ep: EntryPoint) -> bool:
    return BUILTIN_PLUGINS.get(ep.name) == ep.value


def _info(ep: EntryPoint) -> PluginInfo:
    """An ``ok`` entry for ``ep``, naming its distribution (or, without one, its module; an
    in-tree plugin's distribution is benchsuite's)."""
    dist = getattr(ep, "dist", None)
    if dist is not None:
        return PluginInfo(ep.name, "ok", dist.name, version=dist.version,
                          builtin=_is_builtin(ep))
    if _is_builtin(ep):
        return PluginInfo(ep.name, "ok", "benchsuite", version=__version__, builtin=True)
    return PluginInfo(ep.name, "ok", ep.value)


def _dist(info: PluginInfo | None) -> dict[str, str | None]:
    return {"name": info.source if info else None, "version": info.version if info else None}


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
        if backend.name in BUILTIN_PLUGINS and not (info.builtin and plugin == backend.name):
            raise PluginError(f"backend {backend.name!r} is reserved for the built-in one")
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
