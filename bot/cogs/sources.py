"""Moderators manage sources: /source add, list, remove, refresh."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import NO_MENTIONS, UserFacingError
from bot.formatting import DESCRIPTION_LIMIT, trim
from bot.views import ConfirmView, PasteSourceModal
from ingest.fetch import fetch
from ingest.loaders import SUPPORTED, LoadedSource, SourceError, load_bytes
from ingest.pipeline import Outcome, slugify

if TYPE_CHECKING:
    from bot.discord_app import CitebotBot

log = logging.getLogger(__name__)


class NotModerator(app_commands.CheckFailure):
    def __init__(self) -> None:
        super().__init__("Only moderators can manage sources.")


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class SourcesCog(commands.GroupCog, group_name="source", group_description="Manage the bot's sources"):
    def __init__(self, bot: CitebotBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:  # type: ignore[override]
        """Checked again on every use: hidden commands can still be invoked by id."""
        if not self.bot.is_moderator(interaction.user):
            raise NotModerator()
        return True

    # -- add -----------------------------------------------------------------------
    @app_commands.command(name="add", description="Add a source: attach a file, give a URL, or paste text")
    @app_commands.describe(
        file="A .txt, .md, .html or .pdf file",
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
            raise UserFacingError("Give a file or a URL, not both.")
        if file is None and url is None:
            await interaction.response.send_modal(
                PasteSourceModal(lambda inter, title, text: self._add_pasted(inter, title, text, source_id))
            )
            return
        await interaction.response.defer(thinking=True)
        if file is not None:
            self.bot.spawn(self._add_attachment(interaction, file, source_id), name=f"add {file.filename}")
        else:
            assert url is not None
            self.bot.spawn(self._add_url(interaction, url.strip(), source_id), name=f"add {url[:60]}")

    async def _add_pasted(self, interaction: discord.Interaction, title: str, text: str, source_id: str | None) -> None:
        await interaction.response.defer(thinking=True)
        loaded = LoadedSource(title=title.strip() or "Pasted text", text=text, kind="text")
        sid = source_id or slugify(title)[:60]
        self.bot.spawn(
            self._run_add(interaction, lambda: _normalised(loaded), sid, f"discord:pasted by {interaction.user.name}"),
            name=f"add pasted {sid}",
        )

    async def _add_attachment(
        self, interaction: discord.Interaction, file: discord.Attachment, source_id: str | None
    ) -> None:
        limit = min(self.bot.config.max_attachment_bytes, self.bot.settings.ingest.max_bytes)
        kind = SUPPORTED.get(Path(file.filename).suffix.lower())
        name = Path(file.filename).name  # never trust a path in an attachment name
        try:
            if kind is None:
                raise SourceError(f"{name}: unsupported file type; supported: {', '.join(sorted(SUPPORTED))}")
            if file.size > limit:
                raise SourceError(f"{name}: {file.size:,} bytes is over the limit of {limit:,} bytes")
            await self._progress(interaction, f"Reading `{name}` \u2026")
            data = await file.read()
        except (SourceError, discord.HTTPException) as exc:
            await self._progress(interaction, f"Could not add `{name}`: {exc}")
            return
        sid = source_id or slugify(Path(name).stem)
        await self._run_add(interaction, lambda: load_bytes(data, name, kind, limit), sid, f"discord:attachment {name}")

    async def _add_url(self, interaction: discord.Interaction, url: str, source_id: str | None) -> None:
        cfg = self.bot.config

        def load() -> LoadedSource:
            got = fetch(
                url,
                max_bytes=self.bot.settings.ingest.max_bytes,
                timeout=cfg.fetch_timeout,
                allow=cfg.fetch_allow_hosts,
            )
            return load_bytes(got.data, _url_name(got.url), got.kind, self.bot.settings.ingest.max_bytes)

        await self._progress(interaction, f"Fetching <{url[:300]}> \u2026")
        await self._run_add(interaction, load, source_id or slugify(_url_name(url)), url)

    async def _run_add(
        self,
        interaction: discord.Interaction,
        load: Callable[[], LoadedSource],
        source_id: str,
        origin: str,
        force: bool = False,
    ) -> None:
        """Load (in a thread), then ingest (in a thread, one job at a time), editing the reply."""
        loop = asyncio.get_running_loop()

        def stage(message: str) -> None:
            asyncio.run_coroutine_threadsafe(self._progress(interaction, f"`{source_id}`: {message} \u2026"), loop)

        who = f"{interaction.user.name} ({interaction.user.id})"
        try:
            loaded = await asyncio.to_thread(load)
            async with self.bot.ingest_lock:
                outcome = await asyncio.to_thread(
                    self.bot.ingestor.add_document,
                    loaded,
                    source_id=source_id,
                    origin=origin,
                    added_by=who,
                    force=force,
                    stage=stage,
                )
        except SourceError as exc:
            await self._progress(interaction, f"Could not add the source: {exc}")
            return
        except Exception:
            log.exception("adding source %s failed", source_id)
            await self._progress(interaction, "Adding the source failed on my side; the log has the details.")
            return
        await self._finish_add(interaction, outcome, load, origin)

    async def _finish_add(
        self, interaction: discord.Interaction, outcome: Outcome, load: Callable[[], LoadedSource], origin: str
    ) -> None:
        if outcome.status == "near-duplicate":

            async def add_anyway(confirm: discord.Interaction) -> None:
                await confirm.response.edit_message(content=f"Adding `{outcome.source_id}` anyway \u2026", view=None)
                await self._run_add(interaction, load, outcome.source_id, origin, force=True)

            view = ConfirmView(interaction.user.id, "Add anyway", add_anyway)
            await interaction.edit_original_response(
                content=f"Not added: `{outcome.source_id}` is {outcome.detail}. Add it anyway?",
                view=view,
                allowed_mentions=NO_MENTIONS,
            )
            return
        if outcome.status == "duplicate":
            await self._progress(interaction, f"Not added: `{outcome.source_id}` has the {outcome.detail}.")
            return
        if outcome.status == "unchanged":
            await self._progress(interaction, f"`{outcome.source_id}` is already here, unchanged.")
            return
        await self._progress(
            interaction,
            f"{outcome.status.capitalize()} **{outcome.title}** as `{outcome.source_id}` ({outcome.chunks} chunks).",
        )
        await self.bot.notify(
            self.bot.config.announce_channel,
            f"New source: **{outcome.title}** (`{outcome.source_id}`), added by {interaction.user.name}.",
        )

    async def _progress(self, interaction: discord.Interaction, text: str) -> None:
        try:
            await interaction.edit_original_response(content=trim(text, 1900), allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.warning("could not update the progress of a source job")

    # -- list / remove / refresh -------------------------------------------------------
    @app_commands.command(name="list", description="List the sources")
    async def list_sources(self, interaction: discord.Interaction) -> None:
        records = await asyncio.to_thread(self.bot.ingestor.store.registry.all)
        lines = [
            f"`{r.id}` \u2014 {trim(r.title, 80)} \u00b7 {r.chunk_count} chunks \u00b7 added {r.added_at[:10]}"
            for r in records
        ]
        text = ""
        for shown, line in enumerate(lines):
            if len(text) + len(line) + 40 > DESCRIPTION_LIMIT:
                text += f"\n\u2026 and {len(lines) - shown} more"
                break
            text += line + "\n"
        embed = discord.Embed(title=f"{len(records)} sources", description=text or "No sources yet.")
        await interaction.response.send_message(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="remove", description="Remove a source and its passages")
    @app_commands.describe(source="The source to remove")
    async def remove(self, interaction: discord.Interaction, source: str) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        async with self.bot.ingest_lock:
            outcome = await asyncio.to_thread(self.bot.ingestor.remove, source)
        await interaction.followup.send(
            f"Removed **{outcome.title}** (`{outcome.source_id}`, {outcome.chunks} chunks).",
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
        await self.bot.notify(
            self.bot.config.announce_channel,
            f"Source removed: **{outcome.title}** (`{outcome.source_id}`), by {interaction.user.name}.",
        )

    @app_commands.command(name="refresh", description="Fetch a URL source again and update it if it changed")
    @app_commands.describe(source="The URL source to refresh")
    async def refresh(self, interaction: discord.Interaction, source: str) -> None:
        record = self.bot.ingestor.store.registry.get(source)
        if record is None:
            raise UserFacingError(f"No source with id `{source}`.")
        if not record.origin.startswith(("http://", "https://")):
            raise UserFacingError(f"`{source}` was not added from a URL, so there is nothing to fetch again.")
        await interaction.response.defer(thinking=True)
        self.bot.spawn(self._add_url(interaction, record.origin, source), name=f"refresh {source}")

    @remove.autocomplete("source")
    @refresh.autocomplete("source")
    async def _source_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        records = await asyncio.to_thread(self.bot.ingestor.store.registry.all)
        needle = current.lower()
        found = [r for r in records if needle in r.id.lower() or needle in r.title.lower()]
        return [app_commands.Choice(name=trim(f"{r.title} ({r.id})", 100), value=r.id[:100]) for r in found[:25]]


def _normalised(loaded: LoadedSource) -> LoadedSource:
    from common.text import normalize_source_text

    text = normalize_source_text(loaded.text)
    if not text.strip():
        raise SourceError("no text to index (the pasted text is empty)")
    return LoadedSource(title=loaded.title, text=text, kind=loaded.kind)


def _url_name(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    tail = [p for p in parts.path.split("/") if p]
    return tail[-1] if tail else (parts.hostname or "page")
