"""Members ask: /ask, mentions (answered in a thread), forum posts, thread follow-ups, a message menu.

Every answer comes from the space of the server it is asked in (``CitebotBot.space``). What the
bot listens to is each server's settings (``/settings``): the channels members may ask in, the
reply mode (mentions only, or every message in the allowed channels) and the forum channels
whose new posts it answers.  A thread's conversation (its earlier questions) is kept in the
store, per space, so a follow-up is understood after a restart too.
"""

from __future__ import annotations

import asyncio
import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import CitebotBot
from bot.drafts import DraftEditor
from bot.errors import user_message
from bot.formatting import answer_embed, md, trim
from bot.replies import NO_MENTIONS, send_private
from bot.spaces import space_name
from bot.views import PassagesButton, VoteButton, answer_view
from citebot.models import Answer
from common.space_settings import SpaceSettings
from common.spaces import guild_space


def strip_mentions(content: str, bot_id: int) -> str:
    return " ".join(re.sub(rf"<@!?{bot_id}>", " ", content).split())


class AskCog(commands.Cog):
    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(name="Ask about this message", callback=self.ask_about_message)
        bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)
        self.bot.remove_dynamic_items(PassagesButton, VoteButton)

    # -- interactions ----------------------------------------------------------
    @app_commands.command(name="ask", description="Ask a question about the sources; the answer cites them.")
    @app_commands.describe(question="What you want to know")
    async def ask(self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 4000]) -> None:
        await self._answer_interaction(interaction, question, where="slash")

    async def ask_about_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        await self._answer_interaction(interaction, message.content, where="menu")

    async def _answer_interaction(self, interaction: discord.Interaction, question: str, *, where: str) -> None:
        config = await self.bot.guild_settings(interaction.guild)
        if not self.bot.channel_allowed(interaction.channel, config):
            await send_private(interaction, "I don't answer questions in this channel.")
            return
        self.bot.check_question(question)
        wait = self.bot.cooldowns.retry_after(interaction.user.id, config.cooldown_seconds, server=interaction.guild_id)
        if wait:
            await send_private(interaction, f"You're asking quickly; try again in {wait:.0f} s.")
            return
        await interaction.response.defer(thinking=True)

        async def show(draft: str) -> None:
            await interaction.edit_original_response(content=draft, allowed_mentions=NO_MENTIONS)

        async with DraftEditor(show) as drafts:
            on_text = drafts.push if self.bot.streams else None
            answer = await self.bot.answer(interaction.guild_id, question, on_text=on_text)
        space = space_name(interaction.guild_id)
        recorded = await self._record(space, answer, where, config)
        view, _token = await asyncio.to_thread(answer_view, self.bot.kept, space, answer, interaction.user.id, recorded)
        if drafts.edits:
            await interaction.edit_original_response(
                content=None, embed=answer_embed(answer), view=view, allowed_mentions=NO_MENTIONS
            )
        else:
            await interaction.followup.send(embed=answer_embed(answer), view=view, allowed_mentions=NO_MENTIONS)
        await self._report_gap(answer, interaction.user, config, interaction.guild)

    # -- mentions, forum posts and threads ------------------------------------------
    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if me is None or message.author.bot or message.guild is None:
            return
        question = strip_mentions(message.content, me.id)
        channel = message.channel
        space = guild_space(message.guild.id)
        history = None
        if isinstance(channel, discord.Thread):
            history = await asyncio.to_thread(self.bot.histories.get, space, channel.id)
        config = await self.bot.guild_settings(message.guild)
        forum_post = (
            isinstance(channel, discord.Thread) and history is None and channel.parent_id in config.forum_channels
        )
        if forum_post and isinstance(channel, discord.Thread):
            title = " ".join(channel.name.split())
            question = question or title
            history = [title] if title and title.lower() not in question.lower() else []
        in_listed = config.reply_mode == "channels" and channel.id in config.allowed_channels
        asked = history is not None or me in message.mentions or in_listed
        if not asked or not question or not self.bot.channel_allowed(channel, config):
            return
        try:
            await self._answer_message(message, question, config, history or [], forum=forum_post)
        except Exception as exc:
            await message.reply(user_message(exc, doing="answering a message"), allowed_mentions=NO_MENTIONS)

    @commands.Cog.listener()
    async def on_thread_update(self, before: discord.Thread, after: discord.Thread) -> None:
        """An archived thread's conversation is over: forget it."""
        if after.archived and not before.archived:
            await asyncio.to_thread(self.bot.histories.drop, guild_space(after.guild.id), after.id)

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        await asyncio.to_thread(self.bot.histories.drop, guild_space(payload.guild_id), payload.thread_id)

    async def _answer_message(
        self, message: discord.Message, question: str, config: SpaceSettings, history: list[str], *, forum: bool
    ) -> None:
        self.bot.check_question(question)
        guild_id = message.guild.id if message.guild is not None else None
        wait = self.bot.cooldowns.retry_after(message.author.id, config.cooldown_seconds, server=guild_id)
        if wait:
            await self._tell_privately(message, f"You're asking quickly; try again in {wait:.0f} s.")
            return
        if isinstance(message.channel, discord.Thread):
            thread = message.channel
        else:
            thread = await message.create_thread(name=trim(question, 90), auto_archive_duration=1440)
        draft_message: discord.Message | None = None

        async def show(draft: str) -> None:
            nonlocal draft_message
            if draft_message is None:
                draft_message = await thread.send(draft, allowed_mentions=NO_MENTIONS)
            else:
                await draft_message.edit(content=draft, allowed_mentions=NO_MENTIONS)

        async with thread.typing(), DraftEditor(show) as drafts:
            answer = await self.bot.answer(
                guild_id, question, history, on_text=drafts.push if self.bot.streams else None
            )
        space = space_name(guild_id)
        await asyncio.to_thread(self.bot.histories.record, space, thread.id, history, answer.question)
        where = "forum" if thread.parent_id in config.forum_channels else "mention"
        recorded = await self._record(space, answer, where, config)
        view, _token = await asyncio.to_thread(answer_view, self.bot.kept, space, answer, message.author.id, recorded)
        note = None
        if forum and not answer.answered:
            told = " I've passed it on to the moderators." if config.moderators_channel else ""
            note = f"I couldn't find this in my sources.{told}"
        if draft_message is not None:
            await draft_message.edit(content=note, embed=answer_embed(answer), view=view, allowed_mentions=NO_MENTIONS)
        else:
            await thread.send(note, embed=answer_embed(answer), view=view, allowed_mentions=NO_MENTIONS)
        await self._report_gap(answer, message.author, config, message.guild, where=thread)

    async def _record(self, space: str, answer: Answer, where: str, config: SpaceSettings) -> str | None:
        """Keep the question for the server's /insights, unless it turned recording off (never who
        asked); the record's id, for the votes on the answer."""
        if not config.record_questions:
            return None
        at = discord.utils.utcnow().timestamp()
        return await asyncio.to_thread(self.bot.insights.record, space, answer, where, at=at)

    async def _tell_privately(self, message: discord.Message, text: str) -> None:
        try:
            await message.author.send(text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            await message.reply(text, delete_after=10, allowed_mentions=NO_MENTIONS)

    async def _report_gap(
        self,
        answer: Answer,
        user: discord.abc.User,
        config: SpaceSettings,
        config_guild: discord.Guild | None,
        where: discord.Thread | None = None,
    ) -> None:
        if not answer.answered:
            place = f" in {where.mention}" if where is not None else ""
            await self.bot.notify(
                config_guild,
                config.moderators_channel,
                f"**Unanswered** (from {md(user.name)}{place}): {trim(md(answer.question), 500)}",
            )


async def setup(bot: CitebotBot) -> None:
    await bot.add_cog(AskCog(bot))
    # answers' buttons, whenever (and by whichever process) their message was sent: setup_hook
    # loads this extension, so they are registered before the first click can arrive
    bot.add_dynamic_items(PassagesButton, VoteButton)
