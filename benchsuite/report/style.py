"""What every report figure shares: the Agg backend, the theme, one colour per backend across
all figures, and saving a PNG that is the same bytes for the same input.

The leaf of the figure modules (it imports nothing from benchsuite). They take ``plt`` and
``sns`` from here, so that the Agg backend is chosen before anything imports pyplot (seaborn
does). The table and renderer modules do not import it: reading results or printing tables
never loads matplotlib.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display, same output everywhere

import matplotlib.pyplot as plt
import seaborn as sns

DPI = 110


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
    legend beside the axes (a plain tight layout cuts those off)."""
    if crop:
        fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    else:
        fig.tight_layout()
        fig.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return path


def drawn(made: dict[str, tuple[str, Path | None]]) -> dict[str, tuple[str, Path]]:
    """name → (title, PNG) of the figures that were drawn (a figure function returns None
    when the results hold nothing for it)."""
    return {k: (title, p) for k, (title, p) in made.items() if p is not None}
