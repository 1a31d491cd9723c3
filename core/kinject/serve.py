"""An OpenAI-compatible HTTP server for a run's model (``inject serve``), on FastAPI + uvicorn.

``POST /v1/chat/completions`` puts the messages in the format the run trained on (system text,
earlier turns as ``Question:``/``Answer:`` lines, the last user message as the question, the
run's retrieved passages before it for a ``rag`` run); ``POST /v1/completions`` continues the
prompt as given; ``GET /v1/models`` names the one model. ``"stream": true`` sends server-sent
events (``data: {...}`` chunks, then ``data: [DONE]``). One model answers one request at a time
(:class:`kinject.chat.ChatModel` holds a lock): the others wait their turn. Any ``model`` name in
a request is answered by the served model.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from kinject.chat import Generation, Sampling
from kinject.errors import ConfigError, KinjectError, MissingDependencyError

if TYPE_CHECKING:
    from kinject.chat import ChatModel, TextStream


class _Request(BaseModel):
    """What both completion endpoints accept; other OpenAI fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = ""
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    n: int = Field(1, ge=1, le=1, description="one choice per request")

    def sampling(self, defaults: Sampling, stops: tuple[str, ...], trim: bool) -> Sampling:
        extra = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        return replace(
            defaults,
            max_new_tokens=self.max_tokens or defaults.max_new_tokens,
            temperature=defaults.temperature if self.temperature is None else self.temperature,
            top_p=self.top_p or defaults.top_p,
            seed=self.seed if self.seed is not None else defaults.seed,
            stop=(*stops, *extra),
            trim=trim,
        )

    @property
    def usage_in_stream(self) -> bool:
        return bool((self.stream_options or {}).get("include_usage"))


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    #: a string, or a list of parts of which the ``text`` ones are read
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(
                str(part.get("text", "")) for part in self.content if part.get("type") == "text"
            )
        return self.content or ""


class ChatRequest(_Request):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)


class CompletionRequest(_Request):
    prompt: str | list[str]

    def text(self) -> str:
        if isinstance(self.prompt, str):
            return self.prompt
        if len(self.prompt) != 1:
            raise ConfigError("one prompt per request", source="prompt")
        return self.prompt[0]


def create_app(model: ChatModel, defaults: Sampling | None = None) -> Any:
    """The FastAPI application serving ``model``; ``defaults`` for what a request leaves out."""
    try:
        from fastapi import FastAPI, Request
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import JSONResponse, StreamingResponse
    except ImportError as exc:
        raise MissingDependencyError("fastapi", "serve", what="inject serve") from exc

    base = defaults or Sampling()
    app = FastAPI(title=f"kinject: {model.name}", docs_url=None, redoc_url=None)

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        return _error(JSONResponse, 400, problems)

    @app.exception_handler(KinjectError)
    def _refused(request: Request, exc: KinjectError) -> JSONResponse:
        return _error(JSONResponse, 400, str(exc))

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [model_entry(model)]}

    @app.post("/v1/chat/completions")
    def chat_completions(body: ChatRequest) -> Any:
        prompt = model.messages_prompt([(m.role, m.text()) for m in body.messages])
        body.max_tokens = body.max_completion_tokens or body.max_tokens
        stream = model.stream(prompt, body.sampling(base, base.stop, trim=True))
        if body.stream:
            return StreamingResponse(
                _events(chat_chunks(model.name, stream, body.usage_in_stream)),
                media_type="text/event-stream",
            )
        return chat_response(model.name, _finish(stream))

    @app.post("/v1/completions")
    def completions(body: CompletionRequest) -> Any:
        stream = model.stream(body.text(), body.sampling(base, (), trim=False))
        if body.stream:
            return StreamingResponse(
                _events(completion_chunks(model.name, stream, body.usage_in_stream)),
                media_type="text/event-stream",
            )
        return completion_response(model.name, _finish(stream))

    return app


def _error(response: Any, status: int, message: str) -> Any:
    return response(
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        },
        status_code=status,
    )


def _finish(stream: TextStream) -> Generation:
    for _ in stream:
        pass
    assert stream.result is not None
    return stream.result


def model_entry(model: ChatModel) -> dict[str, Any]:
    return {
        "id": model.name,
        "object": "model",
        "created": int(time.time()),
        "owned_by": "kinject",
        "retrieval": model.retrieval,
    }


def _usage(result: Generation) -> dict[str, int]:
    return {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "total_tokens": result.prompt_tokens + result.completion_tokens,
    }


def _head(kind: str, prefix: str, name: str) -> dict[str, Any]:
    return {
        "id": f"{prefix}-{uuid.uuid4().hex[:24]}",
        "object": kind,
        "created": int(time.time()),
        "model": name,
    }


def chat_response(name: str, result: Generation) -> dict[str, Any]:
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": result.text},
        "logprobs": None,
        "finish_reason": result.finish_reason,
    }
    return {
        **_head("chat.completion", "chatcmpl", name),
        "choices": [choice],
        "usage": _usage(result),
    }


def completion_response(name: str, result: Generation) -> dict[str, Any]:
    choice = {
        "index": 0,
        "text": result.text,
        "logprobs": None,
        "finish_reason": result.finish_reason,
    }
    return {**_head("text_completion", "cmpl", name), "choices": [choice], "usage": _usage(result)}


def chat_chunks(name: str, stream: TextStream, usage: bool) -> Iterator[dict[str, Any]]:
    """The role first, then a delta per piece of text, then the finish reason (and usage)."""
    head = _head("chat.completion.chunk", "chatcmpl", name)

    def chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
        return {
            **head,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    yield chunk({"role": "assistant", "content": ""})
    for piece in stream:
        yield chunk({"content": piece})
    assert stream.result is not None
    yield chunk({}, stream.result.finish_reason)
    if usage:
        yield {**head, "choices": [], "usage": _usage(stream.result)}


def completion_chunks(name: str, stream: TextStream, usage: bool) -> Iterator[dict[str, Any]]:
    """A chunk per piece of text, then the finish reason (and usage)."""
    head = _head("text_completion", "cmpl", name)

    def chunk(text: str, finish: str | None = None) -> dict[str, Any]:
        return {
            **head,
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}],
        }

    for piece in stream:
        yield chunk(piece)
    assert stream.result is not None
    yield chunk("", stream.result.finish_reason)
    if usage:
        yield {**head, "choices": [], "usage": _usage(stream.result)}


def _events(chunks: Iterator[dict[str, Any]]) -> Iterator[str]:
    """Server-sent events; a failure after the first chunk is sent as an error event."""
    try:
        for chunk in chunks:
            yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
    except Exception as exc:  # the status line is already sent: tell the client in the stream
        yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'server_error'}})}\n\n"
    yield "data: [DONE]\n\n"


def listen(host: str = "127.0.0.1", port: int = 8000) -> socket.socket:
    """A socket bound to ``host:port`` (port 0: a free one); a taken port is one line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", source="inject serve"
        ) from exc
    return sock


def make_server(app: Any, log_level: str = "info") -> Any:
    """A ``uvicorn.Server`` for ``app``: ``.run(sockets=[listen(...)])`` serves until Ctrl-C or
    until ``should_exit`` is set."""
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingDependencyError("uvicorn", "serve", what="inject serve") from exc
    return uvicorn.Server(uvicorn.Config(app, log_level=log_level))
