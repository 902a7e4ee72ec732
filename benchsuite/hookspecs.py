"""Every hook a benchsuite plugin can implement. This file is the plugin author's reference.

A plugin is a module (or object) with functions decorated by ``benchsuite.hookimpl`` whose names
and argument names match the specs below; it is found through the ``benchsuite`` entry-point
group. Hooks hand the plugin a ``register`` callback rather than collecting return values, so
one plugin can register several things and the harness can name the plugin in any error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from benchsuite.backend import Backend
    from benchsuite.spec import ModelSpec

hookspec = pluggy.HookspecMarker("benchsuite")

ModelFactory = Callable[..., "ModelSpec"]


@hookspec
def benchsuite_register_backends(register: Callable[[Backend], None]) -> None:
    """Register backends: call ``register(backend)`` once per :class:`benchsuite.Backend`
    instance. Backend names must be unique across all plugins."""


@hookspec
def benchsuite_register_models(register: Callable[..., None]) -> None:
    """Register models: call ``register(name, factory, description="")``. ``factory`` takes
    ``input_shape=(H, W, C)``, ``classes=int`` and its own keyword parameters, and returns a
    :class:`benchsuite.ModelSpec`. Model names must be unique across all plugins."""
