"""Plain-text rendering of answers for the terminal."""

from __future__ import annotations

import re
import textwrap

from citebot.models import Answer

# C0/C1 control characters (ESC, BEL, CSI, ...) but tab and newline, and the bidirectional overrides
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without characters a terminal acts on: source text must never set the window
    title, clear the screen or colour the output."""
    return _UNPRINTABLE.sub("", text)


def render_answer(answer: Answer, width: int = 88) -> str:
    lines = [textwrap.fill(answer.text, width=width)]
    if answer.note:
        lines += ["", f"({answer.note})"]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(f"  [{c.n}] {c.title} ({c.source}), paragraph {c.paragraph}")
    return printable("\n".join(lines))
