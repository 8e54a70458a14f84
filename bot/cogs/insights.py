"""Moderators see what members ask and what the sources miss: /insights show, /insights clear.

Same permission model as /source: hidden from members by default, checked again on every use,
replies private.  Clearing the record erases it for good, so it needs Manage Server and a
confirmation button.  What is recorded, and the report, are ``insights/``; this module is the
Discord side only: the report comes from the server's own space, and the chart is drawn in a
worker thread (a text table when it cannot be drawn).
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from typing import Literal, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import CitebotBot
from bot.insights_embed import CHART_NAME, report_embed
from bot.moderation import ModeratorsOnly
from bot.replies import NO_MENTIONS
from bot.spaces import space_name
from insights.chart import chart_png
from insights.report import PERIODS, SourceInfo

log = logging.getLogger(__name__)


class NotModerator(app_commands.CheckFailure):
    def __init__(self) -> None:
        super().__init__("Only moderators can see the insights.")


class NotAdmin(app_commands.CheckFailure):
    def __init__(self) -> None:
        super().__init__("Only members with the Manage Server permission can erase the question record.")


def draw(per_day: list[dict[str, object]]) -> bytes | None:
    """The chart as PNG bytes, or None when it cannot be drawn (say matplotlib is missing)."""
    try:
        return chart_png(per_day)
    except Exception:
        log.warning("the insights chart could not be drawn; sending a table", exc_info=True)
        return None


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class InsightsCog(
    ModeratorsOnly,
    commands.GroupCog,
    group_name="insights",
    group_description="What members ask and what the sources miss",
):
    refused = NotModerator

    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="show", description="Questions asked, what went unanswered, which sources are used")
    @app_commands.describe(period="The last 7 days (default), the last 30, or everything kept")
    async def show(self, interaction: discord.Interaction, period: Literal["7d", "30d", "all"] = "7d") -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        config = await self.bot.guild_settings(interaction.guild)
        async with self.bot.space(interaction.guild_id) as space:
            records = await asyncio.to_thread(space.sources.records)
        sources = [SourceInfo(r.id, r.title) for r in records if r.status == "ready"]
        now = discord.utils.utcnow().timestamp()
        report = await asyncio.to_thread(
            self.bot.insights.report,
            space.name,
            sources,
            days=PERIODS[period],
            recording=config.record_questions,
            now=now,
        )
        png = await asyncio.to_thread(draw, report["per_day"]) if report["questions"] else None
        embed = report_embed(report, chart=png is not None)
        if png is None:
            await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        chart = discord.File(io.BytesIO(png), filename=CHART_NAME)
        await interaction.followup.send(embed=embed, file=chart, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="clear", description="Erase every question recorded for this server")
    async def clear(self, interaction: discord.Interaction) -> None:
        check_admin(interaction.user)
        count = await asyncio.to_thread(self.bot.insights.records.count, space_name(interaction.guild_id))
        view = discord.ui.View(timeout=None)
        view.add_item(EraseButton(interaction.user.id))
        await interaction.response.send_message(
            f"This erases the {count} question(s) recorded for this server, for good. "
            "Recording goes on unless `/settings set record_questions:false` turns it off.",
            view=view,
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


def check_admin(user: discord.User | discord.Member) -> None:
    if not (isinstance(user, discord.Member) and user.guild_permissions.manage_guild):
        raise NotAdmin()


class EraseButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=r"cb:erase:(?P<owner>[0-9]+)"):
    """Erase, on /insights clear's prompt: persistent (it works after a restart), for the moderator
    who asked only, who must still have Manage Server; it erases the clicking server's record."""

    def __init__(self, owner_id: int) -> None:
        button: discord.ui.Button[discord.ui.View] = discord.ui.Button(
            label="Erase", style=discord.ButtonStyle.danger, custom_id=f"cb:erase:{owner_id}"
        )
        super().__init__(button)
        self.owner_id = owner_id

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction, item: discord.ui.Button[discord.ui.View], match: re.Match[str]
    ) -> EraseButton:
        return cls(int(match["owner"]))

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message("Only the moderator who started this can confirm.", ephemeral=True)
            return
        try:
            check_admin(interaction.user)
        except NotAdmin as exc:
            await interaction.response.send_message(str(exc), ephemeral=True)
            return
        bot = cast(CitebotBot, interaction.client)
        erased = await asyncio.to_thread(bot.insights.clear, space_name(interaction.guild_id))
        await interaction.response.edit_message(
            content=f"Erased {erased} recorded question(s) of this server.", view=None, allowed_mentions=NO_MENTIONS
        )


async def setup(bot: CitebotBot) -> None:
    await bot.add_cog(InsightsCog(bot))
    bot.add_dynamic_items(EraseButton)  # prompts of any earlier process too
