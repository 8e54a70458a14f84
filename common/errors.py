"""The exceptions citebot raises on purpose, in one place.

Every error a person can cause (a bad config, a bad source, a busy store, a
wrong command line) derives from ``UserError``: its message is written to be
shown as it is, without a traceback.  Front ends decide how to show it (see
``bot/errors.py`` for Discord); anything that is not a ``UserError`` is a
fault of ours, logged with its traceback.
"""

from __future__ import annotations


class CitebotError(Exception):
    """Base of every exception citebot raises on purpose."""


class UserError(CitebotError):
    """An error whose message is fit to show a user as it is."""


class ConfigError(UserError, ValueError):
    """The configuration file or an override is invalid; the message says which key."""


class UsageError(UserError, ValueError):
    """A command used wrongly: a missing argument, an unreadable input file."""


class SourceError(UserError, ValueError):
    """A source that cannot be ingested (or found); the message says why."""


class UnknownSourceError(SourceError):
    """No source with this id (in this space). Front ends add where to look the ids up: the
    terminal names ``python -m ingest list``, Discord ``/source list``."""

    def __init__(self, source_id: str) -> None:
        super().__init__(f"no source with id {source_id!r}")
        self.source_id = source_id


class StoreBusyError(UserError, RuntimeError):
    """Another process is writing to this embedded store."""


class StoreError(UserError, RuntimeError):
    """The store is missing or damaged; the message names the file and the way to recover."""
