"""Per-space settings and thread histories in the embedded store (no model needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.settings import BotSettings
from common.space_settings import SettingsError
from index_store.kv import SqliteKV
from index_store.space_settings import SpaceSettingsStore
from index_store.threads import ThreadHistories


def test_settings_are_defaults_plus_validated_overrides(tmp_path: Path) -> None:
    defaults = BotSettings(cooldown_seconds=5, allowed_channels=[1])
    store = SpaceSettingsStore(SqliteKV(tmp_path / "s.sqlite3"), lambda: defaults)
    assert store.get("guild-1").cooldown_seconds == 5
    store.update("guild-1", {"cooldown_seconds": 30, "forum_channels": [9]})
    with pytest.raises(SettingsError, match="cooldown_seconds"):
        store.update("guild-1", {"cooldown_seconds": -1, "announce_channel": 3})
    with pytest.raises(SettingsError, match="no setting called token"):
        store.update("guild-1", {"token": "x"})
    with pytest.raises(SettingsError, match="allow one first"):
        store.update("guild-1", {"reply_mode": "channels", "allowed_channels": []})
    got = store.get("guild-1")
    assert (got.cooldown_seconds, got.announce_channel, got.forum_channels) == (30, None, [9])
    defaults.cooldown_seconds = 7  # a default changes: servers that never set it follow
    assert store.get("guild-2").cooldown_seconds == 7 and store.get("guild-1").cooldown_seconds == 30
    store.update("guild-1", {}, clear=("cooldown_seconds",))
    assert store.get("guild-1").cooldown_seconds == 7 and store.overrides("guild-1") == {"forum_channels": [9]}


def test_thread_histories_are_bounded_and_expire(tmp_path: Path) -> None:
    now = [1000.0]
    kv = SqliteKV(tmp_path / "t.sqlite3")
    threads = ThreadHistories(kv, turns=lambda: 2, max_age_hours=lambda: 1, clock=lambda: now[0])
    assert threads.get("a", 1) is None
    for question in ("one", "two", "three"):
        threads.record("a", 1, threads.get("a", 1) or [], question)
    threads.record("b", 1, [], "other space")
    assert threads.get("a", 1) == ["two", "three"] and threads.get("b", 1) == ["other space"]
    now[0] += 1800
    threads.record("b", 2, [], "newer")
    now[0] += 1900  # "a"/1 and "b"/1 are now idle for more than an hour
    assert threads.prune() == 2
    assert threads.get("a", 1) is None and threads.get("b", 2) == ["newer"]
    threads.drop("b", 2)
    assert kv.items() == []
