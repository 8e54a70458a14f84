"""The moderators' command groups (/source, /insights) share one permission model: hidden from
members by default (``default_permissions`` on each cog), and checked again on every use, since
a hidden command can still be invoked by id: the server's moderator role, or Manage Server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.errors import NotModerator

if TYPE_CHECKING:
    from bot.client import CitebotBot


class ModeratorsOnly:
    """Mixed into a cog: its ``interaction_check`` lets only moderators through, and raises
    ``refused`` (a check failure whose message the member is shown) for anyone else."""

    bot: CitebotBot
    refused: type[app_commands.CheckFailure] = NotModerator

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        config = await self.bot.guild_settings(interaction.guild)
        if not self.bot.is_moderator(interaction.user, config):
            raise self.refused()
        return True
