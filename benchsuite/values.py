"""The one check of a numeric setting: its type, finiteness and range, and one message.

Settings come from two places, the command line and a results file read back by ``--resume``
(which may have been edited); both go through the same checks, so a bad value gives the same
line whichever way it came: ``--timeout must be a finite number > 0, got inf``.
"""

from __future__ import annotations

import math
from typing import Any

from benchsuite.errors import UsageError


def check_number(option: str, value: Any, *, integer: bool = False, minimum: float = 0,
                 exclusive: bool = False, maximum: float | None = None) -> None:
    """Raise a UsageError naming ``option`` unless ``value`` is a number (an int when
    ``integer``; never a bool, NaN or infinity) >= ``minimum`` (> when ``exclusive``) and
    <= ``maximum`` when given."""
    if integer:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
              and math.isfinite(value))
    ok = ok and (value > minimum if exclusive else value >= minimum) and (
        maximum is None or value <= maximum)
    if not ok:
        kind = "an integer" if integer else "a finite number"
        bound = f"{'>' if exclusive else '>='} {minimum:g}"
        if maximum is not None:
            bound += f" and <= {maximum:g}"
        raise UsageError(f"{option} must be {kind} {bound}, got {value!r}")


def check_numbers(option: str, values: Any, **kw: Any) -> None:
    """:func:`check_number` on each item of a list or tuple (and a non-empty one)."""
    if not isinstance(values, (list, tuple)) or not values:
        raise UsageError(f"{option} must be a non-empty list of numbers, got {values!r}")
    for v in values:
        check_number(option, v, **kw)


def as_tuple(value: Any) -> Any:
    """A list read back from a results file as a tuple; anything else unchanged, for the
    settings' checks to name (a string is not a list of its characters)."""
    return tuple(value) if isinstance(value, list | tuple) else value
