"""Spaces: one named knowledge base (sources, chunks, settings, conversations) per community.

Every Discord server gets its own space, named after the server's id; the terminal and
ingest commands take ``--space NAME`` and default to ``default``.
"""

from __future__ import annotations

import re

from common.errors import UsageError

DEFAULT_SPACE = "default"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def guild_space(guild_id: int) -> str:
    """The space that belongs to one Discord server."""
    return f"guild-{int(guild_id)}"


def check_space(name: str) -> str:
    """A valid space name, or a clear UsageError (lower-case letters, digits, '-', '_')."""
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"{name!r} is not a space name: use 1-63 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit."
        )
    return name
