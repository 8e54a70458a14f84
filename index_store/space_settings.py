"""Where each space's settings are kept: its overrides of the ``config.toml`` defaults, by space name.

Read fresh on every call (one small read), so a change made by another bot process on the same
Chroma server applies to the next question.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from common.settings import BotSettings
from common.space_settings import SETTING_NAMES, SettingsError, SpaceSettings
from index_store.kv import KeyValue

log = logging.getLogger(__name__)


def _key(space: str) -> str:
    return f"{space}/settings"


class SpaceSettingsStore:
    def __init__(self, kv: KeyValue, defaults: Callable[[], BotSettings]) -> None:
        self.kv = kv
        self._defaults = defaults  # read at each call: the config's defaults as they are now

    def overrides(self, space: str) -> dict[str, Any]:
        stored = self.kv.get(_key(space)) or {}
        return {k: v for k, v in stored.items() if k in SETTING_NAMES}

    def get(self, space: str) -> SpaceSettings:
        overrides = self.overrides(space)
        try:
            return SpaceSettings.effective(self._defaults(), overrides)
        except SettingsError as exc:  # a default changed under a stored override: the defaults win
            log.warning("settings of space %s no longer valid, using the defaults: %s", space, exc)
            return SpaceSettings.effective(self._defaults(), {})

    def update(self, space: str, changes: dict[str, Any], *, clear: tuple[str, ...] = ()) -> SpaceSettings:
        """Apply ``changes`` (and drop the overrides named in ``clear``) if the result is valid;
        otherwise raise SettingsError and change nothing."""
        unknown = sorted((set(changes) | set(clear)) - set(SETTING_NAMES))
        if unknown:
            raise SettingsError(f"Not changed: no setting called {', '.join(unknown)}")
        overrides = {k: v for k, v in self.overrides(space).items() if k not in clear} | changes
        result = SpaceSettings.effective(self._defaults(), overrides)
        if changes or clear:
            self.kv.put(_key(space), overrides)
        return result
