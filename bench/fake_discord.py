"""A small fake of Discord's REST API and gateway, on loopback, for benchmarks.

The unmodified discord.py client talks to it over real HTTP and a real
WebSocket (point ``bot.api_base`` at ``http://127.0.0.1:PORT/api/v10``).  It
implements what a slash-command bot needs: login, application info, the
gateway (HELLO, IDENTIFY, READY, GUILD_CREATE, heartbeats), command sync,
INTERACTION_CREATE, interaction callbacks and follow-ups.  Unlike simcord it
lets a benchmark send many interactions at once, and it records when every
heartbeat and reply arrives.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = "100000000000000001"
BOT_ID = APP_ID
GUILD_ID = "200000000000000001"
CHANNEL_ID = "300000000000000001"
USER_ID = "400000000000000001"


@dataclass
class Reply:
    token: str
    at: float
    payload: dict[str, Any]


@dataclass
class FakeDiscord:
    heartbeat_ms: int = 100
    port: int = 0
    started: float = field(default_factory=time.monotonic)
    ready_at: float | None = None
    synced_at: float | None = None
    heartbeats: list[float] = field(default_factory=list)
    callbacks: dict[str, float] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    answered: dict[str, asyncio.Event] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(500000000000000001))
    _ws: web.WebSocketResponse | None = None
    _seq: int = 0
    _runner: web.AppRunner | None = None
    synced: asyncio.Event = field(default_factory=asyncio.Event)
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/", self._gateway)
        api = "/api/v10"
        app.router.add_get(f"{api}/users/@me", self._me)
        app.router.add_get(f"{api}/oauth2/applications/@me", self._application)
        app.router.add_get(f"{api}/gateway/bot", self._gateway_bot)
        app.router.add_get(f"{api}/gateway", self._gateway_bot)
        app.router.add_put(f"{api}/applications/{{app}}/commands", self._sync)
        app.router.add_put(f"{api}/applications/{{app}}/guilds/{{guild}}/commands", self._sync)
        app.router.add_post(f"{api}/interactions/{{iid}}/{{token}}/callback", self._callback)
        app.router.add_post(f"{api}/webhooks/{{app}}/{{token}}", self._followup)
        app.router.add_patch(f"{api}/webhooks/{{app}}/{{token}}/messages/@original", self._edit_original)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{self.port}/api/v10"

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- driving -----------------------------------------------------------------
    async def ask(self, question: str) -> str:
        """Send a /ask interaction over the gateway; returns its token."""
        iid = str(next(self._ids))
        token = f"tok{iid}"
        self.answered[token] = asyncio.Event()
        await self._dispatch(
            "INTERACTION_CREATE",
            {
                "id": iid,
                "application_id": APP_ID,
                "type": 2,
                "token": token,
                "version": 1,
                "attachment_size_limit": 10_485_760,
                "guild_id": GUILD_ID,
                "channel_id": CHANNEL_ID,
                "channel": {"id": CHANNEL_ID, "type": 0, "guild_id": GUILD_ID, "name": "general"},
                "app_permissions": "2248473465835073",
                "entitlements": [],
                "authorizing_integration_owners": {"0": GUILD_ID},
                "context": 0,
                "locale": "en-US",
                "guild_locale": "en-US",
                "member": {
                    "user": _user(USER_ID, f"user{iid[-4:]}"),
                    "roles": [],
                    "joined_at": _now(),
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                    "permissions": "2248473465835073",
                },
                "data": {
                    "id": self.command_ids.get("ask", "1"),
                    "name": "ask",
                    "type": 1,
                    "options": [{"name": "question", "type": 3, "value": question}],
                },
            },
        )
        return token

    command_ids: dict[str, str] = field(default_factory=dict)

    # -- gateway -------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_ms}, "s": None, "t": None}))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if data["op"] == 1:
                self.heartbeats.append(time.monotonic())
                await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
            elif data["op"] == 2:
                await self._dispatch("READY", _ready(self.port))
                await self._dispatch("GUILD_CREATE", _guild())
                self.ready_at = time.monotonic()
                self.ready.set()
        return ws

    async def _dispatch(self, event: str, payload: dict[str, Any]) -> None:
        assert self._ws is not None
        self._seq += 1
        await self._ws.send_str(json.dumps({"op": 0, "t": event, "s": self._seq, "d": payload}))

    async def _me(self, _request: web.Request) -> web.Response:
        return _json(_user(BOT_ID, "citebot", bot=True))

    async def _application(self, _request: web.Request) -> web.Response:
        return _json(_app())

    async def _gateway_bot(self, _request: web.Request) -> web.Response:
        return _json(
            {
                "url": f"ws://127.0.0.1:{self.port}",
                "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1},
            }
        )

    # -- REST ------------------------------------------------------------------------
    async def _sync(self, request: web.Request) -> web.Response:
        commands = await request.json()
        out = []
        for cmd in commands:
            cid = str(next(self._ids))
            self.command_ids[cmd["name"]] = cid
            out.append(
                {"type": 1, "description": "", "options": [], "nsfw": False}
                | cmd
                | {"id": cid, "application_id": APP_ID, "version": cid, "default_member_permissions": None}
            )
        self.synced_at = time.monotonic()
        self.synced.set()
        return _json(out)

    async def _callback(self, request: web.Request) -> web.Response:
        body = await request.json()
        token = request.match_info["token"]
        self.callbacks[token] = time.monotonic()
        message = self._message(body.get("data") or {}) if body["type"] == 4 else None
        resource: dict[str, Any] = {"type": body["type"]}
        if message:
            resource["message"] = message
        return _json(
            {
                "interaction": {
                    "id": request.match_info["iid"],
                    "type": 2,
                    "response_message_id": message["id"] if message else None,
                    "response_message_loading": body["type"] == 5,
                    "response_message_ephemeral": bool((body.get("data") or {}).get("flags", 0) & 64),
                },
                "resource": resource,
            }
        )

    async def _followup(self, request: web.Request) -> web.Response:
        return await self._reply(request)

    async def _edit_original(self, request: web.Request) -> web.Response:
        return await self._reply(request)

    async def _reply(self, request: web.Request) -> web.Response:
        payload = await request.json()
        token = request.match_info["token"]
        self.replies.append(Reply(token, time.monotonic(), payload))
        if payload.get("embeds") and token in self.answered:
            self.answered[token].set()
        return _json(self._message(payload))

    async def _unknown(self, request: web.Request) -> web.Response:
        return _json({"message": f"fake Discord has no {request.method} {request.path}"}, status=404)

    def _message(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(next(self._ids)),
            "channel_id": CHANNEL_ID,
            "author": _user(BOT_ID, "citebot", bot=True),
            "content": payload.get("content") or "",
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": payload.get("flags", 0),
            "webhook_id": APP_ID,
        }


def _json(payload: Any, status: int = 200) -> web.Response:
    """Exactly 'application/json', as Discord sends it (discord.py compares the header as is)."""
    return web.Response(body=json.dumps(payload).encode(), status=status, headers={"Content-Type": "application/json"})


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _user(uid: str, name: str, bot: bool = False) -> dict[str, Any]:
    return {"id": uid, "username": name, "discriminator": "0", "global_name": name, "avatar": None, "bot": bot}


def _app() -> dict[str, Any]:
    return {
        "id": APP_ID,
        "name": "citebot",
        "icon": None,
        "description": "",
        "rpc_origins": [],
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": _user(USER_ID, "owner"),
        "summary": "",
        "verify_key": "0" * 64,
        "team": None,
        "flags": 0,
    }


def _ready(port: int) -> dict[str, Any]:
    return {
        "v": 10,
        "user": _user(BOT_ID, "citebot", bot=True),
        "guilds": [{"id": GUILD_ID, "unavailable": True}],
        "session_id": "fake-session",
        "resume_gateway_url": f"ws://127.0.0.1:{port}",
        "application": {"id": APP_ID, "flags": 0},
        "shard": [0, 1],
    }


def _guild() -> dict[str, Any]:
    return {
        "id": GUILD_ID,
        "name": "Bench Guild",
        "icon": None,
        "owner_id": USER_ID,
        "roles": [
            {
                "id": GUILD_ID,
                "name": "@everyone",
                "permissions": "2248473465835073",
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }
        ],
        "channels": [{"id": CHANNEL_ID, "type": 0, "name": "general", "position": 0, "permission_overwrites": []}],
        "members": [],
        "member_count": 2,
        "emojis": [],
        "stickers": [],
        "features": [],
        "unavailable": False,
        "large": False,
        "threads": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "system_channel_flags": 0,
        "verification_level": 0,
        "explicit_content_filter": 0,
        "default_message_notifications": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "afk_timeout": 300,
        "joined_at": _now(),
    }
