"""The report side: tables from results (pandas), figures (seaborn), and the renderers that
write the ``benchsuite report`` folder.

Modules, each importing only those above it in this list:

- ``style``: the figure leaf (Agg backend, theme, palette, captions, the size bound, saving
  PNGs deterministically);
- ``speed``: which case rows ran, their labels, and the speed tables;
- ``learning``: learning runs as frames, and the learning tables;
- ``summary``: the Summary (backends ranked per case, speed-ups with CIs, verdicts);
  ``alerts``: the Warnings;
- ``forest``, ``speed_figures``, ``learning_figures``: the figures;
- ``render``: Markdown/HTML renderers, the environment summary, ``write_report``.

The names below are the report API callers use (``from benchsuite.report import
write_report, to_markdown``). Importing this package does not load matplotlib: only
``write_report`` draws.
"""

from __future__ import annotations

from benchsuite.report.render import (
    environment_summary,
    to_html,
    to_markdown,
    write_report,
)
from benchsuite.report.speed import (
    KEYS,
    labels,
    machines,
    machines_table,
    ok_rows,
    speedup_table,
    tables,
    throughput_table,
)

__all__ = ["KEYS", "environment_summary", "labels", "machines", "machines_table", "ok_rows",
           "speedup_table", "tables", "throughput_table", "to_html", "to_markdown",
           "write_report"]
