"""Buttons and modals attached to answers and moderators' jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord

from bot.errors import user_message
from bot.formatting import md, passages_text, trim
from bot.replies import NO_MENTIONS, send_private
from bot.spaces import space_name
from citebot.models import Answer

if TYPE_CHECKING:
    from bot.client import CitebotBot


class AnswerView(discord.ui.View):
    """Show passages (to the asker only) and helpful / not helpful feedback."""

    def __init__(
        self, bot: CitebotBot, answer: Answer, asker_id: int, guild_id: int | None, record_id: str | None = None
    ) -> None:
        super().__init__(timeout=900)
        self.bot = bot
        self.answer = answer
        self.asker_id = asker_id
        self.guild_id = guild_id  # the server asked in: its space keeps the feedback
        self.record_id = record_id  # the question's record for /insights, if it was recorded
        self.voted: set[int] = set()
        if not answer.citations:
            self.remove_item(self.show_passages)

    @discord.ui.button(label="Show passages", style=discord.ButtonStyle.primary)
    async def show_passages(self, interaction: discord.Interaction, _button: discord.ui.Button[AnswerView]) -> None:
        if interaction.user.id != self.asker_id:
            await interaction.response.send_message(
                "Only the person who asked can open these passages; ask your own question with /ask.",
                ephemeral=True,
            )
            return
        first, *rest = passages_text(self.answer)
        await interaction.response.send_message(first, ephemeral=True, allowed_mentions=NO_MENTIONS)
        for piece in rest:
            await interaction.followup.send(piece, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @discord.ui.button(label="Helpful", style=discord.ButtonStyle.success)
    async def helpful(self, interaction: discord.Interaction, _button: discord.ui.Button[AnswerView]) -> None:
        await self._vote(interaction, helpful=True)

    @discord.ui.button(label="Not helpful", style=discord.ButtonStyle.secondary)
    async def not_helpful(self, interaction: discord.Interaction, _button: discord.ui.Button[AnswerView]) -> None:
        await self._vote(interaction, helpful=False)

    async def _vote(self, interaction: discord.Interaction, *, helpful: bool) -> None:
        user = interaction.user
        if user.id in self.voted:
            await interaction.response.send_message("You already gave feedback on this answer.", ephemeral=True)
            return
        self.voted.add(user.id)
        await interaction.response.send_message("Thanks for the feedback.", ephemeral=True)
        who = f"{user.name} ({user.id})"
        space = space_name(self.guild_id)
        await asyncio.to_thread(self.bot.feedback.record, self.answer, user=who, helpful=helpful, space=space)
        await asyncio.to_thread(self.bot.insights.vote, space, self.record_id, helpful=helpful)
        if not helpful:
            config = await self.bot.guild_settings(interaction.guild)
            await self.bot.notify(
                interaction.guild,
                config.moderators_channel,
                f"**Not helpful** (from {md(user.name)}): {trim(md(self.answer.question), 300)}\n"
                f"Answer given: {trim(md(self.answer.text), 1200)}",
            )


class ConfirmView(discord.ui.View):
    """One button that runs an action for the moderator who started the job."""

    def __init__(self, owner_id: int, label: str, action: Callable[[discord.Interaction], Awaitable[None]]) -> None:
        super().__init__(timeout=600)
        self.owner_id = owner_id
        self.action = action
        self.confirm.label = label

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _button: discord.ui.Button[ConfirmView]) -> None:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message("Only the moderator who started this can confirm.", ephemeral=True)
            return
        self.stop()
        await self.action(interaction)


class PasteSourceModal(discord.ui.Modal, title="Add a source"):
    source_title: discord.ui.TextInput[PasteSourceModal] = discord.ui.TextInput(
        label="Title", custom_id="title", max_length=200, placeholder="Headline of the article"
    )
    text: discord.ui.TextInput[PasteSourceModal] = discord.ui.TextInput(
        label="Text",
        custom_id="text",
        style=discord.TextStyle.paragraph,
        max_length=4000,
        placeholder="Paste the article here",
    )

    def __init__(self, on_submit: Callable[[discord.Interaction, str, str], Awaitable[None]]) -> None:
        super().__init__()
        self._on_submit = on_submit

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self._on_submit(interaction, str(self.source_title.value), str(self.text.value))

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]
        await send_private(interaction, user_message(error, doing="adding pasted text"))
