"""A scripted OpenAI-compatible chat server on loopback: the test seam for everything LLM in suture.

Tests queue the answers the "model" should give, point the real client stack (litellm -> openai SDK -> httpx)
at `server.base_url`, and afterwards inspect `server.requests` to see exactly what left the machine.

    with ScriptedOpenAIServer() as server:
        server.enqueue(rate_limited(retry_after=1), reply('{"verdict": "uncertain", ...}'))
        ...complete(ModelRequest(model="openai/test-model", api_base=server.base_url, ...))
        assert len(server.requests) == 2

Scripted answers (build them with the helpers below): `reply` (one or more choices, any finish_reason),
`truncated` (finish_reason "length"), `json_body` (any JSON body and status), `http_error` (status + headers,
e.g. 429 with Retry-After), `hang` (say nothing for N seconds), `malformed` (raw bytes that are not JSON),
`disconnect` (close the socket without answering), and `respond_with` (compute the answer from the request).
When the queue is empty the server answers 500 with a body saying so, and `server.unexpected` counts it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import pytest

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")


@dataclass
class RecordedRequest:
    """One request as it arrived: method, path, headers (lower-cased names) and the raw body bytes."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def messages(self) -> list[dict]:
        return self.json.get("messages", [])

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class Scripted:
    """One scripted answer. Build it with the module helpers rather than by hand."""

    kind: str  # "reply" | "json" | "raw" | "hang" | "disconnect" | "callable"
    texts: list[str] = field(default_factory=list)
    finish_reason: str = "stop"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    seconds: float = 0.0
    usage: dict[str, int] | None = None
    fn: Callable[[RecordedRequest], Scripted] | None = None


def reply(
    text: str | list[str], finish_reason: str = "stop", usage: dict[str, int] | None = None
) -> Scripted:
    """A normal chat completion. A list gives one choice per text; with a single text, `n` copies are returned."""
    texts = [text] if isinstance(text, str) else list(text)
    return Scripted("reply", texts=texts, finish_reason=finish_reason, usage=usage)


def truncated(text: str = "partial answer that was cut") -> Scripted:
    """A completion that stopped at max_tokens (finish_reason "length")."""
    return reply(text, finish_reason="length")


def json_body(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Scripted:
    """Any JSON body with any status, e.g. an OpenAI-style error object or a response missing fields."""
    return Scripted("json", body=body, status=status, headers=dict(headers or {}))


def http_error(
    status: int, message: str = "scripted error", headers: dict[str, str] | None = None
) -> Scripted:
    """An OpenAI-style error body with the given status and headers (e.g. 429 + Retry-After, 503)."""
    body = {"error": {"message": message, "type": "scripted_error", "code": str(status)}}
    return json_body(body, status=status, headers=headers)


def rate_limited(retry_after: float | None = None, message: str = "rate limit reached") -> Scripted:
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    return http_error(429, message, headers)


def malformed(raw: bytes = b'{"id": "chatcmpl-x", "choices": [', status: int = 200) -> Scripted:
    """A body that claims to be JSON but is not parseable."""
    return Scripted("raw", body=raw, status=status, headers={"Content-Type": "application/json"})


def hang(seconds: float) -> Scripted:
    """Accept the request and say nothing for `seconds` (then answer 504); ends early when the server stops."""
    return Scripted("hang", seconds=seconds)


def disconnect() -> Scripted:
    """Close the connection without writing a response."""
    return Scripted("disconnect")


def respond_with(fn: Callable[[RecordedRequest], Scripted]) -> Scripted:
    """Decide the answer from the request, e.g. echo the prompt back or vary by max_tokens."""
    return Scripted("callable", fn=fn)


def _rough_tokens(text: str) -> int:
    return max(1, len(text.split()))


class ScriptedOpenAIServer:
    """A threaded HTTP server on 127.0.0.1 (random free port) answering chat completions from a script."""

    def __init__(self, model_name: str = "test-model") -> None:
        self.model_name = model_name
        self.requests: list[RecordedRequest] = []
        self.unexpected = 0
        self._queue: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> ScriptedOpenAIServer:
        server = self

        class Handler(_ChatHandler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="scripted-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # script --------------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """The `api_base` to hand to the client: http://127.0.0.1:PORT/v1"""
        return f"http://127.0.0.1:{self.port}/v1"

    def enqueue(self, *answers: Scripted | str) -> ScriptedOpenAIServer:
        """Queue answers in order; a plain string is shorthand for `reply(text)`."""
        with self._lock:
            for answer in answers:
                self._queue.append(reply(answer) if isinstance(answer, str) else answer)
        return self

    @property
    def pending(self) -> int:
        """Answers still queued (a test that scripted exactly what it expected can assert this is 0)."""
        with self._lock:
            return len(self._queue)

    def _next(self) -> Scripted | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    # completion bodies ---------------------------------------------------------------------------------
    def completion_body(self, answer: Scripted, request: RecordedRequest) -> dict:
        payload = request.json if request.body else {}
        n = int(payload.get("n") or 1)
        texts = answer.texts if len(answer.texts) > 1 else answer.texts * n
        prompt_text = " ".join(str(m.get("content", "")) for m in payload.get("messages", []))
        usage = answer.usage or {
            "prompt_tokens": _rough_tokens(prompt_text),
            "completion_tokens": sum(_rough_tokens(t) for t in texts),
        }
        usage = {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}
        return {
            "id": f"chatcmpl-scripted-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": payload.get("model", self.model_name),
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": answer.finish_reason,
                }
                for i, text in enumerate(texts)
            ],
            "usage": usage,
        }


class _ChatHandler(BaseHTTPRequestHandler):
    owner: ScriptedOpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        return

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            self._send_json(
                200, {"object": "list", "data": [{"id": self.owner.model_name, "object": "model"}]}
            )
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = RecordedRequest(
            method="POST",
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            received_at=time.monotonic(),
        )
        if self.path.split("?")[0] not in CHAT_PATHS:
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        self.owner._record(request)
        answer = self.owner._next()
        if answer is None:
            self.owner.unexpected += 1
            self._send_json(500, {"error": {"message": "scripted server: no answer left in the queue"}})
            return
        self._answer(answer, request)

    def _answer(self, answer: Scripted, request: RecordedRequest) -> None:
        while answer.kind == "callable":
            assert answer.fn is not None
            answer = answer.fn(request)
        if answer.kind == "reply":
            self._send_json(200, self.owner.completion_body(answer, request))
        elif answer.kind == "json":
            self._send_json(answer.status, answer.body, answer.headers)
        elif answer.kind == "raw":
            self._send_bytes(answer.status, answer.body, answer.headers)
        elif answer.kind == "hang":
            if self.owner._stopping.wait(answer.seconds):
                self.close_connection = True  # server stopping: hang up without an answer
                return
            self._send_json(504, {"error": {"message": "scripted hang ended"}})
        elif answer.kind == "disconnect":
            self.close_connection = True
        else:
            raise ValueError(f"unknown scripted answer kind {answer.kind!r}")

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self._send_bytes(status, data, {"Content-Type": "application/json", **(headers or {})})

    def _send_bytes(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. its timeout fired)
            self.close_connection = True


@pytest.fixture
def openai_server() -> Iterator[ScriptedOpenAIServer]:
    """A started ScriptedOpenAIServer, stopped after the test."""
    with ScriptedOpenAIServer() as server:
        yield server
