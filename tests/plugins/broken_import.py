"""A plugin whose import fails, as when its framework is broken."""

import frobnicate_not_installed  # noqa: F401
