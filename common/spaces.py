"""Spaces: one named knowledge base (sources, chunks, settings, conversations) per community.

Every Discord server gets its own space, named after the server's id; the terminal and
ingest commands take ``--space NAME`` and default to ``default``.
"""

from __future__ import annotations

import re

from common.errors import UsageError

DEFAULT_SPACE = "default"
# Chroma names a collection after its space, and wants it to end in a letter or digit too.
_NAME = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?")


def guild_space(guild_id: int) -> str:
    """The space that belongs to one Discord server."""
    return f"guild-{int(guild_id)}"


def check_space(name: str) -> str:
    """A valid space name, or a clear UsageError (lower-case letters, digits, '-', '_')."""
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"{name!r} is not a space name: use 1-63 lower-case letters, digits, '-' or '_', "
            "starting and ending with a letter or digit."
        )
    return name
