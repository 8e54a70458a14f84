"""Members ask: /ask, mentions (answered in a thread), thread follow-ups, a message menu.

Every answer comes from the space of the server it is asked in (``CitebotBot.space``)."""

from __future__ import annotations

import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import CitebotBot
from bot.drafts import DraftEditor
from bot.errors import user_message
from bot.formatting import answer_embed, md, trim
from bot.replies import NO_MENTIONS, send_private
from bot.views import AnswerView
from citebot.engine import Conversation
from citebot.models import Answer


def strip_mentions(content: str, bot_id: int) -> str:
    return " ".join(re.sub(rf"<@!?{bot_id}>", " ", content).split())


class AskCog(commands.Cog):
    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        self.threads: dict[int, Conversation] = {}  # thread id -> the conversation held in it
        self.menu = app_commands.ContextMenu(name="Ask about this message", callback=self.ask_about_message)
        bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    # -- interactions ----------------------------------------------------------
    @app_commands.command(name="ask", description="Ask a question about the sources; the answer cites them.")
    @app_commands.describe(question="What you want to know")
    async def ask(self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 4000]) -> None:
        await self._answer_interaction(interaction, question)

    async def ask_about_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        await self._answer_interaction(interaction, message.content)

    async def _answer_interaction(self, interaction: discord.Interaction, question: str) -> None:
        if not self.bot.channel_allowed(interaction.channel):
            await send_private(interaction, "I don't answer questions in this channel.")
            return
        self.bot.check_question(question)
        wait = self.bot.cooldowns.retry_after(interaction.user.id)
        if wait:
            await send_private(interaction, f"You're asking quickly; try again in {wait:.0f} s.")
            return
        await interaction.response.defer(thinking=True)
        space = await self.bot.space(interaction.guild_id)

        async def show(draft: str) -> None:
            await interaction.edit_original_response(content=draft, allowed_mentions=NO_MENTIONS)

        async with DraftEditor(show) as drafts:
            answer = await self.bot.answer(space, question, on_text=drafts.push if self.bot.streams else None)
        view = AnswerView(self.bot, answer, interaction.user.id, interaction.guild_id)
        if drafts.edits:
            await interaction.edit_original_response(
                content=None, embed=answer_embed(answer), view=view, allowed_mentions=NO_MENTIONS
            )
        else:
            await interaction.followup.send(embed=answer_embed(answer), view=view, allowed_mentions=NO_MENTIONS)
        await self._report_gap(answer, interaction.user, interaction.guild_id)

    # -- mentions and threads ----------------------------------------------------
    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if me is None or message.author.bot or message.guild is None:
            return
        channel = message.channel
        ours = isinstance(channel, discord.Thread) and channel.id in self.threads
        if not (ours or me in message.mentions) or not self.bot.channel_allowed(channel):
            return
        question = strip_mentions(message.content, me.id)
        if not question:
            return
        try:
            await self._answer_message(message, question)
        except Exception as exc:
            await message.reply(user_message(exc, doing="answering a message"), allowed_mentions=NO_MENTIONS)

    async def _answer_message(self, message: discord.Message, question: str) -> None:
        self.bot.check_question(question)
        guild_id = message.guild.id if message.guild is not None else None
        wait = self.bot.cooldowns.retry_after(message.author.id)
        if wait:
            await self._tell_privately(message, f"You're asking quickly; try again in {wait:.0f} s.")
            return
        if isinstance(message.channel, discord.Thread):
            thread = message.channel
        else:
            thread = await message.create_thread(name=trim(question, 90), auto_archive_duration=1440)
        space = await self.bot.space(guild_id)
        conversation = self.threads.setdefault(thread.id, space.engine.conversation())
        draft_message: discord.Message | None = None

        async def show(draft: str) -> None:
            nonlocal draft_message
            if draft_message is None:
                draft_message = await thread.send(draft, allowed_mentions=NO_MENTIONS)
            else:
                await draft_message.edit(content=draft, allowed_mentions=NO_MENTIONS)

        async with thread.typing(), DraftEditor(show) as drafts:
            answer = await self.bot.answer(
                space, question, conversation, on_text=drafts.push if self.bot.streams else None
            )
        view = AnswerView(self.bot, answer, message.author.id, guild_id)
        if draft_message is not None:
            await draft_message.edit(content=None, embed=answer_embed(answer), view=view, allowed_mentions=NO_MENTIONS)
        else:
            await thread.send(embed=answer_embed(answer), view=view, allowed_mentions=NO_MENTIONS)
        await self._report_gap(answer, message.author, guild_id)

    async def _tell_privately(self, message: discord.Message, text: str) -> None:
        try:
            await message.author.send(text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            await message.reply(text, delete_after=10, allowed_mentions=NO_MENTIONS)

    async def _report_gap(self, answer: Answer, user: discord.abc.User, guild_id: int | None) -> None:
        if not answer.answered:
            await self.bot.notify(
                self.bot.config.moderators_channel,
                f"**Unanswered** (from {md(user.name)}): {trim(md(answer.question), 500)}",
                guild_id,
            )


async def setup(bot: CitebotBot) -> None:
    await bot.add_cog(AskCog(bot))
