"""Shared fixtures: a small fictional corpus and a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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
    """Answers every chat request with ``reply(request_body)`` (an int: that HTTP error status);
    records the requests."""

    reply: Callable[[dict[str, Any]], str | int]
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    base_url: str = ""


@pytest.fixture
def fake_endpoint() -> Iterator[Callable[[Callable[[dict[str, Any]], str | int]], FakeEndpoint]]:
    servers: list[ThreadingHTTPServer] = []

    def start(reply: Callable[[dict[str, Any]], str | int]) -> FakeEndpoint:
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
                content = state.reply(body)
                if isinstance(content, int):
                    self.send_response(content)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                payload = {"choices": [{"message": {"role": "assistant", "content": content}}]}
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


def report(text: str) -> Record:
    """A one-document annual report of the fictional "Northwind Traders Inc." (the name the
    standalone filter resolves "we"/"our" to)."""
    title = "Northwind Traders Inc. annual report"
    return Record(text=text, source={"uri": "report.md"}, meta={"title": title})


def qa_pairs(context: Any, record: Record, **options: Any) -> list[dict[str, Any]]:
    """The meta (question, answer, value_kind, ...) of each QA pair qa-generate writes of
    ``record`` with ``options``."""
    augmenter = context.plugins.create("augmenter", "qa-generate", options)
    augmenter.setup(context)
    return [r.meta for r in augmenter.augment([record]) if r.kind == "qa"]


SHARED_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"


def tatqa_documents(half: str, limit: int) -> list[tuple[Record, list[dict[str, Any]]]]:
    """Real annual-report contexts (TAT-QA dev, ``../shared/data``) of one half of the benchmark's
    split by document (a hash of the table uid, as ``bench/knowledge/suite_format.py`` splits):
    paragraphs, then the table in Markdown, titled by position like the converter's documents; each
    with the questions people wrote about it."""
    path = SHARED_DATA / "finance" / "tatqa_dataset_dev.json"
    if not path.exists():
        pytest.skip(f"real-text data absent ({path})")
    contexts = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for position, context in enumerate(contexts):
        uid = context["table"]["uid"]
        if ("tune", "held_out")[int(hashlib.sha256(uid.encode()).hexdigest(), 16) % 2] != half:
            continue
        paragraphs = [
            " ".join(p["text"].split())
            for p in sorted(context["paragraphs"], key=lambda p: p["order"])
        ]
        rows = [
            "| " + " | ".join(" ".join(c.split()) for c in row) + " |"
            for row in context["table"]["table"]
        ]
        rows.insert(1, "|" + "---|" * len(context["table"]["table"][0]))
        text = "\n\n".join([*paragraphs, "\n".join(rows)])
        out.append(
            (
                Record(
                    text=text,
                    source={"uri": f"tatqa/{position:03d}.md"},
                    meta={"title": f"Annual report extract {position}"},
                ),
                context["questions"],
            )
        )
        if len(out) == limit:
            break
    return out


@pytest.fixture(scope="session")
def tatqa_held_out() -> list[tuple[Record, list[dict[str, Any]]]]:
    """Twenty held-out TAT-QA documents and their questions: text the rules and thresholds were
    not tuned on."""
    return tatqa_documents("held_out", 20)
