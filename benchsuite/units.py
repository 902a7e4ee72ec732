"""Numbers as a person reads them: three significant figures, with units, times in the unit
that fits (ns/µs/ms/s), rates with k/M/G. The one formatting helper of the report
(``benchsuite.report``) and the terminal (``benchsuite.runview``), so a number reads the same
in both.

A leaf in pure Python (it imports nothing from benchsuite, nor pandas): the terminal uses it
without loading the report's tables.
"""

from __future__ import annotations

import math

_PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"))
_TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def sig(value: float | None, digits: int = 3) -> str:
    """``value`` to ``digits`` significant figures, without an exponent in the usual range
    (1234 → "1,230", 0.0123 → "0.0123", 1.0 → "1.00"); "" when missing."""
    if _missing(value):
        return ""
    v = float(value)
    if v == 0:
        return "0"
    if not math.isfinite(v):
        return str(v)
    magnitude = math.floor(math.log10(abs(v)))
    if magnitude < -4 or magnitude > 15:
        return f"{v:.{digits - 1}e}"
    places = digits - 1 - magnitude  # negative: round to tens, hundreds, ...
    rounded = round(v, places)
    if rounded != 0 and math.floor(math.log10(abs(rounded))) > magnitude:  # 9.996 → 10.0
        places -= 1
        rounded = round(v, places)
    return f"{rounded:,.{max(places, 0)}f}"


def seconds(value: float | None) -> str:
    """A duration in the unit that fits: 0.000452 → "452 µs", 0.0213 → "21.3 ms", 7.21 →
    "7.21 s"; "" when missing."""
    if _missing(value):
        return ""
    v = float(value)
    if v == 0:
        return "0 s"
    for scale, unit in _TIME_UNITS:
        if abs(v) >= scale * 0.9995:  # 0.99951 s rounds to "1.00 s", not "1,000 ms"
            return f"{sig(v / scale)} {unit}"
    return f"{sig(v / 1e-9)} ns"


def rate(value: float | None, unit: str = "") -> str:
    """A rate with a k/M/G prefix, three figures: 675172513 → "675M", 3521 → "3.52k";
    ``unit`` appended after a space ("samples/s")."""
    if _missing(value):
        return ""
    v = float(value)
    text = sig(v)
    for scale, prefix in _PREFIXES:
        if abs(v) >= scale * 0.9995:
            text = f"{sig(v / scale)}{prefix}"
            break
    return f"{text} {unit}" if unit else text


def rate_ci(median: float | None, low: float | None, high: float | None) -> str:
    """"3.52k [3.50k, 3.55k]": a median rate with its interval."""
    if _missing(median):
        return ""
    return f"{rate(median)} [{rate(low)}, {rate(high)}]"


def percent(fraction: float | None) -> str:
    """0.0912 → "9.12%"."""
    return "" if _missing(fraction) else f"{sig(100 * float(fraction))}%"


def percent_or_none(fraction: float | None) -> str:
    """A change to one decimal, 0.123 → "12.3%"; "none" where there is none to give (None,
    NaN or infinite: a smallest detectable change when nothing could have been detected)."""
    if fraction is None or not math.isfinite(float(fraction)):
        return "none"
    return f"{100 * float(fraction):.1f}%"


def change(ratio: float | None) -> str:
    """A ratio new/old as a signed change, one decimal: 1.041 → "+4.1%", 0.5 → "-50.0%"."""
    return "" if _missing(ratio) else f"{100 * (float(ratio) - 1):+.1f}%"


def times(ratio: float | None) -> str:
    """A speed ratio: 1.2412 → "1.24×", 8.731 → "8.73×"."""
    return "" if _missing(ratio) else f"{sig(ratio)}×"
