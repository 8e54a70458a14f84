"""Moderators manage sources: /source add, list, remove, refresh.

Only Discord input and output live here: what a source is, how it is
checked, fetched, named and written is ``ingest/sources.py``.  Every command reads and
writes only the space of the server it is used in (``CitebotBot.space``).
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict
from typing import cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import CitebotBot
from bot.errors import user_message
from bot.formatting import DESCRIPTION_LIMIT, link, md, plural, trim
from bot.moderation import ModeratorsOnly
from bot.replies import NO_MENTIONS, edit_reply
from bot.spaces import Space, space_name
from bot.views import GONE, PasteSourceModal, TokenButton
from common.errors import UserError
from index_store.kept import TOKEN_PATTERN
from index_store.registry import SourceRecord
from ingest.loaders import SUPPORTED, LoadedSource
from ingest.resync import NOT_MODIFIED
from ingest.sources import Incoming, Sources
from ingest.writer import Outcome

AUTOCOMPLETE_WAIT = 2.0  # seconds autocomplete waits for a server's space to open (Discord allows 3)
PENDING = "pending"  # the kind of record an "Add anyway" button finds in the store


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class SourcesCog(ModeratorsOnly, commands.GroupCog, group_name="source", group_description="Manage the bot's sources"):
    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        super().__init__()

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(AddAnywayButton)

    def _space(self, interaction: discord.Interaction, wait: float | None = None) -> AbstractAsyncContextManager[Space]:
        """The space of the server the command (or button) was used in, open while it is used."""
        return self.bot.space(interaction.guild_id, wait)

    @property
    def _incoming(self) -> Sources:
        """For making an ``Incoming`` (which belongs to no space until it is added)."""
        return self.bot.spaces.default.sources

    # -- add -----------------------------------------------------------------------
    @app_commands.command(name="add", description="Add a source: attach a file, give a URL, or paste text")
    @app_commands.describe(
        file=f"A {', '.join(sorted(SUPPORTED))} file",
        url="An http(s) link to an article",
        source_id="Id for the source (default: from the file name or URL)",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        file: discord.Attachment | None = None,
        url: str | None = None,
        source_id: str | None = None,
    ) -> None:
        if file and url:
            raise UserError("Give a file or a URL, not both.")
        if file is None and url is None:
            await interaction.response.send_modal(
                PasteSourceModal(lambda inter, title, text: self._add_pasted(inter, title, text, source_id))
            )
            return
        if file is not None:
            await interaction.response.defer(thinking=True)
            self.bot.spawn(self._add_attachment(interaction, file, source_id), name=f"add {file.filename}")
        else:
            assert url is not None
            incoming = self._incoming.from_url(url, source_id=source_id)  # a malformed URL is refused privately
            await interaction.response.defer(thinking=True)
            self.bot.spawn(self._add_url(interaction, incoming), name=f"add {incoming.origin[:60]}")

    async def _add_pasted(self, interaction: discord.Interaction, title: str, text: str, source_id: str | None) -> None:
        await interaction.response.defer(thinking=True)
        origin = f"discord:pasted by {interaction.user.name}"
        incoming = self._incoming.from_text(title, text, origin=origin, source_id=source_id)
        self.bot.spawn(self._run_add(interaction, incoming), name=f"add pasted {incoming.source_id}")

    async def _add_attachment(
        self, interaction: discord.Interaction, file: discord.Attachment, source_id: str | None
    ) -> None:
        limit = min(self.bot.config.max_attachment_bytes, self.bot.settings.ingest.max_bytes)
        try:
            name = self._incoming.check_upload(file.filename, file.size, limit)
            await edit_reply(interaction, f"Reading `{name}` \u2026")
            data = await file.read()
            incoming = self._incoming.from_upload(
                name, data, limit=limit, origin=f"discord:attachment {name}", source_id=source_id
            )
        except Exception as exc:
            await edit_reply(interaction, f"Could not add the file: {user_message(exc, doing='reading an upload')}")
            return
        await self._run_add(interaction, incoming)

    async def _add_url(self, interaction: discord.Interaction, incoming: Incoming) -> None:
        await edit_reply(interaction, f"Fetching {link(incoming.origin)} \u2026")
        await self._run_add(interaction, incoming)

    async def _run_add(self, interaction: discord.Interaction, incoming: Incoming, force: bool = False) -> None:
        """Read (in a thread), then write (in a thread, one job at a time), editing the reply."""
        loop = asyncio.get_running_loop()
        source_id = incoming.source_id

        def stage(message: str) -> None:
            asyncio.run_coroutine_threadsafe(edit_reply(interaction, f"`{source_id}`: {message} \u2026"), loop)

        who = f"{interaction.user.name} ({interaction.user.id})"
        try:
            async with self._space(interaction) as space:
                loaded = await asyncio.to_thread(incoming.read)
                async with self.bot.ingest_lock:
                    outcome = await asyncio.to_thread(
                        space.sources.add, incoming, added_by=who, force=force, stage=stage, loaded=loaded
                    )
        except Exception as exc:
            await edit_reply(
                interaction, f"Could not add the source: {user_message(exc, doing=f'adding source {source_id}')}"
            )
            return
        await self._finish_add(interaction, outcome, incoming, loaded)

    async def _finish_add(
        self, interaction: discord.Interaction, outcome: Outcome, incoming: Incoming, loaded: LoadedSource
    ) -> None:
        if outcome.status == "near-duplicate":
            # what "Add anyway" needs is kept in the store: the button works after a restart too
            pending = {
                "source_id": incoming.source_id,
                "origin": incoming.origin,
                "fetch_url": incoming.fetch_url,
                "loaded": asdict(loaded),
                "owner": interaction.user.id,
            }
            space = space_name(interaction.guild_id)
            token = await asyncio.to_thread(self.bot.kept.put, space, PENDING, pending)
            view = discord.ui.View(timeout=None)
            view.add_item(AddAnywayButton(token))
            await interaction.edit_original_response(
                content=f"Not added: `{outcome.source_id}` is {outcome.detail}. Add it anyway?",
                view=view,
                allowed_mentions=NO_MENTIONS,
            )
            return
        if outcome.status == "duplicate":
            await edit_reply(interaction, f"Not added: `{outcome.source_id}` has the {outcome.detail}.")
            return
        await self._report_written(interaction, outcome.status, outcome.title, outcome.source_id, outcome.chunks)

    async def add_anyway(self, interaction: discord.Interaction, token: str) -> None:
        """The "Add anyway" click on a near-duplicate prompt: only its moderator's, and only while
        the source it holds is kept (``bot.buttons_keep_hours``)."""
        space = space_name(interaction.guild_id)
        pending = await asyncio.to_thread(self.bot.kept.get, space, PENDING, token)
        if pending is None:
            await interaction.response.send_message(GONE, ephemeral=True)
            return
        if interaction.user.id != pending.get("owner"):
            await interaction.response.send_message("Only the moderator who started this can confirm.", ephemeral=True)
            return
        await asyncio.to_thread(self.bot.kept.delete, space, PENDING, token)
        loaded = LoadedSource(**pending["loaded"])
        incoming = Incoming(pending["source_id"], pending["origin"], lambda: loaded, pending.get("fetch_url"))
        await interaction.response.edit_message(content=f"Adding `{incoming.source_id}` anyway \u2026", view=None)
        await self._run_add(interaction, incoming, force=True)

    async def _report_written(
        self, interaction: discord.Interaction, status: str, title: str, source_id: str, chunks: int
    ) -> None:
        """Say how a source was written (added, replaced, unchanged), and announce a change."""
        if status == "unchanged":
            await edit_reply(interaction, f"`{source_id}` is already here, unchanged.")
            return
        await edit_reply(
            interaction, f"{status.capitalize()} **{md(title)}** as `{source_id}` ({plural(chunks, 'chunk')})."
        )
        what, by = ("New source", "added") if status == "added" else ("Source updated", "updated")
        who = md(interaction.user.name)
        await self.announce(interaction, f"{what}: **{md(title)}** (`{source_id}`), {by} by {who}.")

    async def announce(self, interaction: discord.Interaction, text: str) -> None:
        config = await self.bot.guild_settings(interaction.guild)
        await self.bot.notify(interaction.guild, config.announce_channel, text)

    # -- list / remove / refresh -------------------------------------------------------
    @app_commands.command(name="list", description="List the sources")
    async def list_sources(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        async with self._space(interaction) as space:
            records = await asyncio.to_thread(space.sources.records)
        lines = [
            f"`{r.id}` \u2014 {md(trim(r.title, 80))} \u00b7 {plural(r.chunk_count, 'chunk')} \u00b7 "
            f"added {r.added_at[:10]}"
            for r in records
        ]
        text = ""
        for shown, line in enumerate(lines):
            if len(text) + len(line) + 40 > DESCRIPTION_LIMIT:
                text += f"\n\u2026 and {len(lines) - shown} more"
                break
            text += line + "\n"
        embed = discord.Embed(title=plural(len(records), "source"), description=text or "No sources yet.")
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="remove", description="Remove a source and its passages")
    @app_commands.describe(source="The source to remove")
    async def remove(self, interaction: discord.Interaction, source: str) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        async with self._space(interaction) as space, self.bot.ingest_lock:
            outcome = await asyncio.to_thread(space.ingestor.remove, source)
        await interaction.followup.send(
            f"Removed **{md(outcome.title)}** (`{outcome.source_id}`, {plural(outcome.chunks, 'chunk')}).",
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
        await self.announce(
            interaction,
            f"Source removed: **{md(outcome.title)}** (`{outcome.source_id}`), by {md(interaction.user.name)}.",
        )

    @app_commands.command(name="refresh", description="Fetch a URL source again and update it if it changed")
    @app_commands.describe(source="The URL source to refresh")
    async def refresh(self, interaction: discord.Interaction, source: str) -> None:
        # A mistake (an unknown id, not a URL source) is answered privately, before the reply is
        # deferred, unless the server's space must be opened first (that may take longer than
        # Discord waits for a first response).
        if self.bot.spaces.ready(space_name(interaction.guild_id)) is None:
            await interaction.response.defer(thinking=True)
        try:
            async with self._space(interaction) as space:
                record = await asyncio.to_thread(space.sources.url_record, source)
        except UserError as exc:
            if not interaction.response.is_done():
                raise
            await edit_reply(interaction, f"Could not refresh: {user_message(exc, doing='refreshing a source')}")
            return
        if not interaction.response.is_done():
            await interaction.response.defer(thinking=True)
        self.bot.spawn(self._refresh(interaction, record), name=f"refresh {source}")

    async def _refresh(self, interaction: discord.Interaction, record: SourceRecord) -> None:
        """The re-sync's two steps (ingest/resync.py): a conditional fetch outside the write lock,
        so an unchanged page costs no body, then the write of what changed, under it."""
        await edit_reply(interaction, f"Fetching {link(record.origin)} \u2026")
        who = f"{interaction.user.name} ({interaction.user.id})"
        resyncer = self.bot.resyncer
        try:
            async with self._space(interaction) as space:
                checked = await asyncio.to_thread(resyncer.check, space.sources, record)
                async with self.bot.ingest_lock:
                    result = await asyncio.to_thread(resyncer.apply, space.sources, checked, who)
        except Exception as exc:
            await edit_reply(interaction, f"Could not refresh: {user_message(exc, doing=f'refreshing {record.id}')}")
            return
        if result.status in ("failed", "gone"):
            await edit_reply(interaction, f"Could not refresh: {md(result.detail)}")
        elif result.status == "not-modified":
            await edit_reply(interaction, f"`{record.id}` is unchanged: {NOT_MODIFIED}.")
        else:
            await self._report_written(interaction, result.status, result.title, result.source_id, result.chunks)

    @remove.autocomplete("source")
    @refresh.autocomplete("source")
    async def _source_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        try:
            async with self._space(interaction, wait=AUTOCOMPLETE_WAIT) as space:
                records = await asyncio.to_thread(space.sources.records)
        except TimeoutError:  # the space is still opening (its first use): no choices this time
            return []
        needle = current.lower()
        found = [r for r in records if needle in r.id.lower() or needle in r.title.lower()]
        return [app_commands.Choice(name=trim(f"{r.title} ({r.id})", 100), value=r.id[:100]) for r in found[:25]]


class AddAnywayButton(TokenButton, template=rf"cb:add:(?P<token>{TOKEN_PATTERN})"):
    """Add anyway, on a near-duplicate prompt: persistent, its custom id carries the kept source's token."""

    PREFIX, LABEL, STYLE = "cb:add", "Add anyway", discord.ButtonStyle.danger

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        cog = cast(CitebotBot, interaction.client).get_cog(SourcesCog.__cog_name__)
        assert isinstance(cog, SourcesCog)
        await cog.add_anyway(interaction, self.token)


async def setup(bot: CitebotBot) -> None:
    await bot.add_cog(SourcesCog(bot))
    bot.add_dynamic_items(AddAnywayButton)  # prompts of any earlier process too
