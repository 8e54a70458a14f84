"""Server admins set the bot up for their server: /settings show, set, channel, reset.

Hidden from members (``default_permissions``) and checked again on every use (Manage Server):
a hidden command can still be invoked by id.  Replies are private.  The values are the server's
space's (``index_store/space_settings.py``); ``config.toml`` holds only the defaults.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import CitebotBot
from bot.formatting import md
from bot.replies import NO_MENTIONS
from common.space_settings import SETTING_NAMES, SettingsError, SpaceSettings
from common.spaces import guild_space


class NotAdmin(app_commands.CheckFailure):
    def __init__(self) -> None:
        super().__init__("Only members with the Manage Server permission can change the bot's settings.")


def _channel(channel_id: int | None) -> str:
    return f"<#{channel_id}>" if channel_id else "none"


def describe(config: SpaceSettings, guild: discord.Guild | None) -> str:
    role = config.moderator_role
    found = guild.get_role(int(role)) if guild is not None and role.isdigit() else None
    shown_role = f"@{md(found.name)}" if found is not None else (f"`{md(role)}`" if role else "none")
    allowed = ", ".join(_channel(c) for c in config.allowed_channels) or "every channel"
    forums = ", ".join(_channel(c) for c in config.forum_channels) or "none"
    resync = f"every {config.resync_hours:g} h" if config.resync_hours else "off"
    return "\n".join(
        [
            f"**Moderator role:** {shown_role}",
            f"**Moderators' channel** (unanswered questions, 'not helpful'): {_channel(config.moderators_channel)}",
            f"**Announce channel** (sources added, removed, changed): {_channel(config.announce_channel)}",
            f"**Members may ask in:** {allowed}",
            f"**Reply mode:** {config.reply_mode} "
            + ("(every message in the allowed channels)" if config.reply_mode == "channels" else "(/ask and mentions)"),
            f"**Forum channels answered:** {forums}",
            f"**Cooldown:** {config.cooldown_seconds:g} s between a member's questions",
            f"**URL sources re-synced:** {resync}",
            "**Questions recorded for /insights:** "
            + ("yes (the question, never who asked)" if config.record_questions else "no"),
        ]
    )


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class SettingsCog(commands.GroupCog, group_name="settings", group_description="Set the bot up for this server"):
    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:  # type: ignore[override]
        user = interaction.user
        if not (isinstance(user, discord.Member) and user.guild_permissions.manage_guild):
            raise NotAdmin()
        return True

    async def _change(
        self, interaction: discord.Interaction, changes: dict[str, Any], clear: tuple[str, ...] = ()
    ) -> None:
        """Apply changes (all or nothing) and show the result, privately."""
        assert interaction.guild is not None
        if not interaction.response.is_done():
            await interaction.response.defer(ephemeral=True, thinking=True)
        space = guild_space(interaction.guild.id)
        try:
            config = await asyncio.to_thread(self.bot.space_settings.update, space, changes, clear=clear)
        except SettingsError as exc:
            await interaction.followup.send(str(exc), ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        what = "Saved" if changes or clear else "Settings"
        await interaction.followup.send(
            f"{what}:\n{describe(config, interaction.guild)}", ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="show", description="Show this server's settings")
    async def show(self, interaction: discord.Interaction) -> None:
        await self._change(interaction, {})

    @app_commands.command(name="set", description="Change one or more settings")
    @app_commands.describe(
        moderator_role="Members with this role may manage sources",
        moderators_channel="Where unanswered questions and 'not helpful' feedback go",
        announce_channel="Where added, removed and changed sources are announced",
        reply_mode="mention: answer /ask and mentions; channels: also every message in the allowed channels",
        cooldown_seconds="Seconds a member waits between questions",
        resync_hours="Hours between re-syncs of URL sources (0: never)",
        record_questions="Keep the questions asked (never who asked) for moderators' /insights",
    )
    async def set_(  # noqa: PLR0917 (discord.py: one parameter an option)
        self,
        interaction: discord.Interaction,
        moderator_role: discord.Role | None = None,
        moderators_channel: discord.TextChannel | None = None,
        announce_channel: discord.TextChannel | None = None,
        reply_mode: Literal["mention", "channels"] | None = None,
        cooldown_seconds: app_commands.Range[float, 0, 3600] | None = None,
        resync_hours: app_commands.Range[float, 0, 720] | None = None,
        record_questions: bool | None = None,
    ) -> None:
        given = {
            "moderator_role": str(moderator_role.id) if moderator_role else None,
            "moderators_channel": moderators_channel.id if moderators_channel else None,
            "announce_channel": announce_channel.id if announce_channel else None,
            "reply_mode": reply_mode,
            "cooldown_seconds": cooldown_seconds,
            "resync_hours": resync_hours,
            "record_questions": record_questions,
        }
        await self._change(interaction, {k: v for k, v in given.items() if v is not None})

    @app_commands.command(name="channel", description="Where the bot listens: channels to ask in, forums to answer")
    @app_commands.describe(
        action="allow or disallow",
        channel="A text channel: members may ask there. A forum channel: its new posts are answered.",
    )
    async def channel(
        self,
        interaction: discord.Interaction,
        action: Literal["allow", "disallow"],
        channel: discord.TextChannel | discord.ForumChannel,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        name = "forum_channels" if isinstance(channel, discord.ForumChannel) else "allowed_channels"
        current = getattr(await self.bot.guild_settings(interaction.guild), name)
        ids = [c for c in current if c != channel.id] + ([channel.id] if action == "allow" else [])
        await self._change(interaction, {name: ids})

    @app_commands.command(name="reset", description="Put a setting (or all) back to the default")
    @app_commands.describe(setting="The setting to reset")
    @app_commands.choices(setting=[app_commands.Choice(name=n, value=n) for n in (*SETTING_NAMES, "all")])
    async def reset(self, interaction: discord.Interaction, setting: str) -> None:
        await self._change(interaction, {}, clear=SETTING_NAMES if setting == "all" else (setting,))


async def setup(bot: CitebotBot) -> None:
    await bot.add_cog(SettingsCog(bot))
