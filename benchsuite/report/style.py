"""What every report figure shares: the Agg backend, the theme, one colour per backend across
all figures, and saving a PNG that is the same bytes for the same input.

The leaf of the figure modules (it imports nothing from benchsuite). They take ``plt`` and
``sns`` from here, so that the Agg backend is chosen before anything imports pyplot (seaborn
does). The table and renderer modules do not import it: reading results or printing tables
never loads matplotlib.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display, same output everywhere

import matplotlib.pyplot as plt
import seaborn as sns

DPI = 110
#: The largest figure drawn, inches: a report of 34,000 cases once drew a figure 5 inches wide
#: per panel and died at 3.3 GB. Figures draw at most MAX_PANELS panels (or MAX_ROWS rows)
#: and say how many they left out; this bound holds whatever a figure function does.
MAX_WIDTH, MAX_HEIGHT = 16.0, 14.0
MAX_PANELS = 12
MAX_ROWS = 40
_CAPTION: ContextVar[str | None] = ContextVar("caption", default=None)


@contextmanager
def captioned(text: str | None) -> Iterator[None]:
    """Every figure saved inside this block carries ``text`` (the machine it ran on) under it."""
    token = _CAPTION.set(text)
    try:
        yield
    finally:
        _CAPTION.reset(token)


def first(items: list, limit: int, what: str) -> tuple[list, str]:
    """The first ``limit`` items, and a note for the title when some were left out."""
    if len(items) <= limit:
        return items, ""
    return items[:limit], f" (first {limit} of {len(items)} {what}; all are in the tables)"


def set_theme() -> None:
    """The seaborn theme of every report figure (set once per report, before drawing)."""
    sns.set_theme(style="whitegrid", context="notebook")


def palette(labels: Iterable[str]) -> dict[str, tuple]:
    """One colour per name (colour-blind palette, names sorted: the same name gets the same
    colour in every figure of a report)."""
    names = sorted(set(labels))
    return dict(zip(names, sns.color_palette("colorblind", max(len(names), 1))))


def save(fig, path: Path, crop: bool = False) -> Path:
    """Write ``fig`` as a PNG without a timestamp or software tag (same input, same bytes) and
    close it. ``crop``: cut to what is drawn, for facet grids whose title sits above and
    legend beside the axes (a plain tight layout cuts those off). The figure is shrunk to at
    most MAX_WIDTH × MAX_HEIGHT inches first, and captioned inside :func:`captioned`."""
    width, height = fig.get_size_inches()
    if width > MAX_WIDTH or height > MAX_HEIGHT:
        fig.set_size_inches(min(width, MAX_WIDTH), min(height, MAX_HEIGHT))
    if not crop:
        fig.tight_layout()
    caption = _CAPTION.get()
    if caption:  # under the axes: the saved picture is cut to what is drawn, caption included
        fig.text(0.5, 0, f"measured on {caption}", ha="center", va="top", fontsize=8,
                 color="0.35")
    fig.savefig(path, dpi=DPI, bbox_inches="tight" if crop or caption else None,
                metadata={"Software": None})
    plt.close(fig)
    return path


def drawn(made: dict[str, tuple[str, Path | None]]) -> dict[str, tuple[str, Path]]:
    """name → (title, PNG) of the figures that were drawn (a figure function returns None
    when the results hold nothing for it)."""
    return {k: (title, p) for k, (title, p) in made.items() if p is not None}
