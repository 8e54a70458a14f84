"""Replies that can never ping anyone, and the private (ephemeral) message a user is told things with."""

from __future__ import annotations

import logging

import discord

from bot.formatting import trim

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
PUBLIC_FAILURE = "Sorry, I couldn't finish that."


async def send_private(interaction: discord.Interaction, message: str) -> None:
    """A short ephemeral message, whether or not the interaction was answered already."""
    text = trim(message, 1900)
    try:
        if interaction.response.is_done():
            if interaction.response.type == discord.InteractionResponseType.deferred_channel_message:
                # A "thinking..." placeholder is filled by the first follow-up, whatever its flags.
                # A private one takes the message itself; a public one is closed with a neutral
                # line, and the details are said privately.
                placeholder = await interaction.original_response()
                if not placeholder.flags.ephemeral:
                    await interaction.edit_original_response(content=PUBLIC_FAILURE, embed=None, view=None)
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException:
        log.exception("could not tell the user about an error")


async def edit_reply(interaction: discord.Interaction, text: str) -> None:
    """Replace the text of an interaction's (deferred) reply: how a background job reports progress."""
    try:
        await interaction.edit_original_response(content=trim(text, 1900), allowed_mentions=NO_MENTIONS)
    except discord.HTTPException:
        log.warning("could not update the progress of a source job")
