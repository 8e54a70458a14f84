"""Plain-text rendering of answers for the terminal."""

from __future__ import annotations

import textwrap

from citebot.models import Answer


def render_answer(answer: Answer, width: int = 88) -> str:
    lines = [textwrap.fill(answer.text, width=width)]
    if answer.note:
        lines += ["", f"({answer.note})"]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(f"  [{c.n}] {c.title} ({c.source}), paragraph {c.paragraph}")
    return "\n".join(lines)
