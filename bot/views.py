"""Buttons and modals attached to answers and moderators' jobs.

The buttons on answers outlive the message's interaction and the bot process: they are dynamic
items (persistent: no timeout) whose custom id carries a token, and what a click needs is kept in
the store (``index_store/kept.py``) under the space of the server it was sent in; a click on a
message whose record is gone (too old) gets a short private note.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

import discord

from bot.errors import user_message
from bot.formatting import md, passages_text, trim
from bot.replies import NO_MENTIONS, send_private
from bot.spaces import space_name
from citebot.models import Answer, Citation
from index_store.kept import TOKEN_PATTERN, Kept

if TYPE_CHECKING:
    from bot.client import CitebotBot

ANSWER = "answer"  # the kind of record an answer's buttons find in the store


# What a click on an answer's (or a prompt's) button gets when the store no longer keeps what it needs.
GONE = "This message is too old: what its buttons need is no longer kept. Ask again (or add the source again)."


def answer_view(
    kept: Kept, space: str, answer: Answer, asker_id: int, record_id: str | None = None
) -> tuple[discord.ui.View, str]:
    """The buttons of an answer (Show passages to its asker, Helpful, Not helpful) and the token
    they carry: persistent (no timeout; custom ids ``cb:passages:TOKEN``, ``cb:vote:y|n:TOKEN``,
    registered in ``CitebotBot.setup_hook``), working after a restart while the answer is kept.
    ``record_id`` is the question's record for /insights, if it was recorded (votes reach it).
    Call in a worker thread (it writes the answer to the store)."""
    record = {
        "answer": answer.to_json(),
        "confidence": answer.confidence,
        "asker": asker_id,
        "voters": [],
        "record": record_id,
    }
    token = kept.put(space, ANSWER, record)
    view = discord.ui.View(timeout=None)
    if answer.citations:
        view.add_item(PassagesButton(token))
    view.add_item(VoteButton(token, helpful=True))
    view.add_item(VoteButton(token, helpful=False))
    return view, token


def kept_answer(record: dict[str, Any]) -> Answer:
    """The answer a kept record holds (``Answer.to_json`` read back)."""
    data = record["answer"]
    return Answer(
        question=str(data["question"]),
        answered=bool(data["answered"]),
        text=str(data["answer"]),
        citations=[Citation(**c) for c in data["citations"]],
        note=str(data.get("note", "")),
        confidence=float(record.get("confidence", 0.0)),
    )


async def _kept(interaction: discord.Interaction, token: str) -> dict[str, Any] | None:
    """The kept answer a click is about (in the clicking server's space only), or None after
    telling the user, privately, that it is gone."""
    bot = cast("CitebotBot", interaction.client)
    record = await asyncio.to_thread(bot.kept.get, space_name(interaction.guild_id), ANSWER, token)
    if record is None:
        await interaction.response.send_message(GONE, ephemeral=True)
    return record


class TokenButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=r"(?!)"):
    """A persistent button whose custom id is ``PREFIX:token``. A subclass names its prefix (and
    the template that reads it back: ``PREFIX:(?P<token>...)``), its label and style, and handles
    the click in ``callback``."""

    PREFIX: ClassVar[str]
    LABEL: ClassVar[str]
    STYLE: ClassVar[discord.ButtonStyle]

    def __init__(self, token: str) -> None:
        super().__init__(discord.ui.Button(label=self.LABEL, style=self.STYLE, custom_id=f"{self.PREFIX}:{token}"))
        self.token = token

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction, item: discord.ui.Button[discord.ui.View], match: re.Match[str]
    ) -> Self:
        return cls(match["token"])


class PassagesButton(TokenButton, template=rf"cb:passages:(?P<token>{TOKEN_PATTERN})"):
    """Show passages: the quoted passages, privately, to the person who asked."""

    PREFIX, LABEL, STYLE = "cb:passages", "Show passages", discord.ButtonStyle.primary

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        record = await _kept(interaction, self.token)
        if record is None:
            return
        if interaction.user.id != record.get("asker"):
            await interaction.response.send_message(
                "Only the person who asked can open these passages; ask your own question with /ask.",
                ephemeral=True,
            )
            return
        first, *rest = passages_text(kept_answer(record))
        await interaction.response.send_message(first, ephemeral=True, allowed_mentions=NO_MENTIONS)
        for piece in rest:
            await interaction.followup.send(piece, ephemeral=True, allowed_mentions=NO_MENTIONS)


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=rf"cb:vote:(?P<verdict>[yn]):(?P<token>{TOKEN_PATTERN})",
):
    """Helpful / Not helpful: stored with the answer's space; 'not helpful' reaches the moderators."""

    def __init__(self, token: str, *, helpful: bool) -> None:
        verdict = "y" if helpful else "n"
        label, style = (
            ("Helpful", discord.ButtonStyle.success) if helpful else ("Not helpful", discord.ButtonStyle.secondary)
        )
        button: discord.ui.Button[discord.ui.View] = discord.ui.Button(
            label=label, style=style, custom_id=f"cb:vote:{verdict}:{token}"
        )
        super().__init__(button)
        self.token = token
        self.helpful = helpful

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction, item: discord.ui.Button[discord.ui.View], match: re.Match[str]
    ) -> VoteButton:
        return cls(match["token"], helpful=match["verdict"] == "y")

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        bot = cast("CitebotBot", interaction.client)
        record = await _kept(interaction, self.token)
        if record is None:
            return
        user = interaction.user
        voters = list(record.get("voters", []))
        if user.id in voters:
            await interaction.response.send_message("You already gave feedback on this answer.", ephemeral=True)
            return
        space = space_name(interaction.guild_id)
        await asyncio.to_thread(bot.kept.update, space, ANSWER, self.token, record | {"voters": [*voters, user.id]})
        await interaction.response.send_message("Thanks for the feedback.", ephemeral=True)
        answer = kept_answer(record)
        who = f"{user.name} ({user.id})"
        await asyncio.to_thread(bot.feedback.record, answer, user=who, helpful=self.helpful, space=space)
        await asyncio.to_thread(bot.insights.vote, space, record.get("record"), helpful=self.helpful)
        if not self.helpful:
            config = await bot.guild_settings(interaction.guild)
            await bot.notify(
                interaction.guild,
                config.moderators_channel,
                f"**Not helpful** (from {md(user.name)}): {trim(md(answer.question), 300)}\n"
                f"Answer given: {trim(md(answer.text), 1200)}",
            )


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
