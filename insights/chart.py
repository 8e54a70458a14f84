"""The chart of questions and unanswered questions per day, as a small PNG.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no window, no global state),
so it may run in any worker thread.  ``chart_png`` raises if it cannot draw; callers show the
text table (``insights.text.day_table``) instead.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

ASKED_COLOUR = "#5865F2"  # Discord's blurple
MISSED_COLOUR = "#ED4245"


def chart_png(per_day: Sequence[dict[str, Any]], *, title: str = "") -> bytes:
    """A bar chart of ``per_day`` (rows of day, questions, unanswered): questions asked, and the
    part of them the sources did not answer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    days = [row["day"][5:] for row in per_day]  # MM-DD
    asked = [row["questions"] for row in per_day]
    missed = [row["unanswered"] for row in per_day]
    figure = Figure(figsize=(7.0, 2.6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = range(len(days))
    axes.bar(positions, asked, color=ASKED_COLOUR, label="questions")
    axes.bar(positions, missed, color=MISSED_COLOUR, label="not answered")
    step = max(1, len(days) // 10)
    axes.set_xticks(list(positions)[::step], days[::step], fontsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(axis="y", labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2)
    if title:
        axes.set_title(title, fontsize=9, loc="right")
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
