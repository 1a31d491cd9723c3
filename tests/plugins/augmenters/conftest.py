"""Shared fixtures: a small fictional corpus and a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kinject.records import Record

PASSAGE = (
    "The Corvell Water Act was enacted on 14 March 2011. Under Article 12, a well permit costs "
    "450 crowns.\n\n"
    "Veltrane Pharmaceuticals Ltd. was founded in 1998 by Mira Okafor. The maximum daily dose of "
    "Veltrane is 40 mg. A tenant must give 30 days of notice before leaving."
)


@pytest.fixture
def corpus() -> list[Record]:
    return [Record(text=PASSAGE, source={"uri": "corpus/facts.txt"})]


@dataclass
class FakeEndpoint:
    """Answers every chat request with ``reply(request_body)``; records the requests."""

    reply: Callable[[dict[str, Any]], str]
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    base_url: str = ""


@pytest.fixture
def fake_endpoint() -> Iterator[Callable[[Callable[[dict[str, Any]], str]], FakeEndpoint]]:
    servers: list[ThreadingHTTPServer] = []

    def start(reply: Callable[[dict[str, Any]], str]) -> FakeEndpoint:
        state = FakeEndpoint(reply)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                state.requests.append(body)
                state.headers.append(dict(self.headers))
                if self.path != "/v1/chat/completions":
                    self.send_response(404)
                    self.end_headers()
                    return
                payload = {"choices": [{"message": {"role": "assistant", "content": state.reply(body)}}]}
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
