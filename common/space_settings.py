"""The settings of one space (one Discord server): who moderates, where the bot speaks and listens.

``config.toml``'s ``[bot]`` section holds only the defaults of a new server; what a server's
admins changed with ``/settings`` is kept as overrides (``index_store/space_settings.py``), so a
later change of a default reaches every server that never set that value.  Every change is
validated as a whole: a bad one is a ``SettingsError`` saying why, and changes nothing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from common.errors import UserError
from common.settings import BotSettings


class SettingsError(UserError, ValueError):
    """A server setting that cannot be taken; the message says which and why."""


class SpaceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    moderator_role: str = Field("", max_length=100)
    moderators_channel: int | None = None
    announce_channel: int | None = None
    allowed_channels: list[int] = Field(default_factory=list, max_length=50)
    reply_mode: Literal["mention", "channels"] = "mention"
    forum_channels: list[int] = Field(default_factory=list, max_length=50)
    cooldown_seconds: float = Field(10.0, ge=0, le=3600)
    resync_hours: float = Field(0.0, ge=0, le=720)
    record_questions: bool = True

    @model_validator(mode="after")
    def _channels_mode_needs_channels(self) -> SpaceSettings:
        if self.reply_mode == "channels" and not self.allowed_channels:
            raise ValueError("reply mode 'channels' answers every message in the allowed channels: allow one first")
        return self

    @classmethod
    def effective(cls, defaults: BotSettings, overrides: dict[str, Any]) -> SpaceSettings:
        """The defaults of ``config.toml`` with a server's overrides on top (bad ones: SettingsError)."""
        base = {name: getattr(defaults, name) for name in cls.model_fields}
        try:
            return cls.model_validate(base | overrides)
        except ValidationError as exc:
            raise SettingsError(describe(exc)) from None


SETTING_NAMES = tuple(SpaceSettings.model_fields)


def describe(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "Not changed: " + "; ".join(problems)
