"""A local fake of an OpenAI-compatible chat endpoint (loopback only).

It speaks the real wire format: POST /v1/chat/completions with JSON bodies,
and for ``"stream": true`` server-sent events of ``chat.completion.chunk``
objects ending in ``data: [DONE]``.  Replies are scripted by the test.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from httpserver import on_loopback

PASSAGE = re.compile(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', re.S)


def passages(request: dict[str, Any]) -> dict[int, str]:
    """The numbered passages the client put in its prompt."""
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    return {int(n): text for n, text in PASSAGE.findall(user)}


def passage_with(request: dict[str, Any], needle: str) -> int:
    return next(n for n, text in passages(request).items() if needle in text)


@dataclass
class Script:
    reply: Callable[[dict[str, Any]], str] = lambda _req: "NO_ANSWER"
    delay: float = 0.0  # seconds before answering
    chunk_delay: float = 0.0  # seconds between streamed chunks
    requests: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def fake_openai(script: Script) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.requests.append(body)
            if self.path != "/v1/chat/completions":
                self._json(404, {"error": {"message": "not found"}})
                return
            time.sleep(script.delay)
            content = script.reply(body)
            if body.get("stream"):
                self._stream(body["model"], content)
            else:
                self._json(200, _completion(body["model"], content))

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, model: str, content: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            words = re.findall(r"\S+\s*", content)
            for i, word in enumerate(words):
                delta = {"role": "assistant", "content": word} if i == 0 else {"content": word}
                self._event(_chunk(model, delta, None))
                time.sleep(script.chunk_delay)
            self._event(_chunk(model, {}, "stop"))
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

        def _event(self, payload: dict[str, Any]) -> None:
            self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
            self.wfile.flush()

        def log_message(self, *_args: object) -> None:
            return

    with on_loopback(Handler) as base:
        yield f"{base}/v1"


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
