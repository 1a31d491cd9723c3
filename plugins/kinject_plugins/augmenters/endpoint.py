"""Text generators behind the generating augmenters: a local causal LM or an OpenAI-compatible
endpoint, with one cache.

- ``model``: any local causal LM through transformers (the run's base model by default, or
  ``augment.model`` / the ``model`` option: an alias, a directory or a hub id in the local cache),
  prompted through its chat template, in left-padded batches.
- ``endpoint``: any server speaking ``/chat/completions`` (OpenAI, vLLM, Ollama, llama.cpp's
  server), with plain :mod:`urllib`; the key comes from the environment variable named by
  ``api_key_env``, never from the recipe; failed calls are retried with backoff; requests run
  ``concurrency`` at a time.

Both answer :meth:`Completer.complete_many` for a list of :class:`Request` (chat messages plus a
sample number, so k samples of one prompt differ and each is cached on its own). Replies are cached
in ``$KINJECT_HOME/cache/generations.sqlite`` keyed by the backend, the messages and the sampling
settings: a re-run makes no new calls.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kinject.components import Augmenter
from kinject.errors import PluginError

if TYPE_CHECKING:
    from kinject.context import RunContext
    from kinject.records import Record
    from kinject_plugins.augmenters.subject import Subject

Backend = Literal["rules", "model", "endpoint"]
#: HTTP answers worth another try (rate limit, overload, gateway errors)
RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


class GeneratorOptions(BaseModel):
    """Options shared by augmenters that can generate text with a model.

    Any option left unset takes the recipe's ``augment:`` value (``--set augment.backend=model``).
    """

    model_config = ConfigDict(extra="forbid")

    # : ``rules`` (offline, deterministic), ``model`` (a local causal LM) or ``endpoint``
    # (OpenAI-compatible)
    backend: Backend = "rules"
    #: endpoint: e.g. ``http://localhost:11434/v1`` (Ollama) or ``https://api.openai.com/v1``
    base_url: str = ""
    # : endpoint: the served model's name; model backend: an alias, directory or hub id (default:
    # the base model)
    model: str = ""
    #: name of the environment variable holding the API key (unset: no Authorization header)
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.7
    max_tokens: int = 256
    timeout: float = 60.0
    #: endpoint: attempts after the first for a failed call (backoff 1 s, 2 s, 4 s, ...)
    retries: int = Field(3, ge=0)
    #: endpoint: requests in flight at once
    concurrency: int = Field(4, ge=1)
    #: model backend: prompts generated together
    batch_size: int = Field(8, ge=1)
    #: keep replies in ``$KINJECT_HOME/cache/generations.sqlite`` (a re-run makes no new calls)
    cache: bool = True
    # : a prompts YAML file replacing some or all of the built-in prompts (see
    # ``prompts/generate.en.yaml``)
    prompts: str | None = None

    @field_validator("backend", mode="before")
    @classmethod
    def _local_is_model(cls, value: Any) -> Any:
        return "model" if value == "local" else value  # the 0.1 name of the model backend


@dataclass(frozen=True)
class Request:
    """One generation: chat messages and which sample of them this is."""

    messages: tuple[tuple[str, str], ...]
    sample: int = 0
    #: at most this many new tokens for this request (0: the backend's ``max_tokens``)
    max_tokens: int = 0

    @classmethod
    def chat(
        cls, messages: Sequence[dict[str, str]], sample: int = 0, max_tokens: int = 0
    ) -> Request:
        return cls(tuple((m["role"], m["content"]) for m in messages), sample, max_tokens)

    def as_dicts(self) -> list[dict[str, str]]:
        return [{"role": role, "content": content} for role, content in self.messages]


class Completer(Protocol):
    """Anything that answers chat requests; ``identity`` names it in cache keys."""

    identity: str

    def complete_many(self, requests: Sequence[Request]) -> list[str]: ...


class EndpointClient:
    """A minimal OpenAI-compatible chat client with retries and a thread pool."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        temperature: float = 0.7,
        max_tokens: int = 256,
        timeout: float = 60.0,
        retries: int = 3,
        concurrency: int = 4,
    ) -> None:
        if not base_url or not model:
            raise PluginError("the endpoint backend needs both 'base_url' and 'model' options")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.retries = retries
        self.concurrency = concurrency
        self.identity = f"endpoint:{self.url}:{model}:{temperature}:{max_tokens}"
        self.calls = 0
        self._lock = threading.Lock()

    @classmethod
    def from_options(cls, opts: GeneratorOptions) -> EndpointClient:
        key = os.environ.get(opts.api_key_env) if opts.api_key_env else None
        return cls(
            opts.base_url,
            opts.model,
            key,
            opts.temperature,
            opts.max_tokens,
            opts.timeout,
            opts.retries,
            opts.concurrency,
        )

    def complete(self, system: str, user: str) -> str:
        """The assistant message for one system + user prompt."""
        return self.chat([{"role": "system", "content": system}, {"role": "user", "content": user}])

    def complete_many(self, requests: Sequence[Request]) -> list[str]:
        if len(requests) <= 1 or self.concurrency == 1:
            return [self.chat(r.as_dicts(), r.sample, r.max_tokens) for r in requests]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(
                pool.map(lambda r: self.chat(r.as_dicts(), r.sample, r.max_tokens), requests)
            )

    def chat(self, messages: list[dict[str, str]], sample: int = 0, max_tokens: int = 0) -> str:
        limit = min(max_tokens, self.max_tokens) if max_tokens else self.max_tokens
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "max_tokens": limit,
        }
        if sample:
            body["seed"] = sample  # servers that honour it return a different sample per number
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        payload = self._post(json.dumps(body).encode(), headers)
        try:
            return str(payload["choices"][0]["message"]["content"]).strip()
        except (KeyError, IndexError, TypeError) as exc:
            raise PluginError(
                f"endpoint {self.url} returned no choices[0].message.content"
            ) from exc

    def _post(self, data: bytes, headers: dict[str, str]) -> dict[str, Any]:
        for attempt in range(self.retries + 1):
            with self._lock:
                self.calls += 1
            request = urllib.request.Request(self.url, data, headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    return dict(json.loads(response.read().decode("utf-8")))
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode("utf-8", "replace")[:200]
                if exc.code not in RETRY_STATUS or attempt == self.retries:
                    raise PluginError(
                        f"endpoint {self.url} answered HTTP {exc.code}: {detail}"
                    ) from exc
            except urllib.error.URLError as exc:
                if attempt == self.retries:
                    raise PluginError(f"endpoint {self.url} failed: {exc.reason}") from exc
            except (TimeoutError, ConnectionError, json.JSONDecodeError) as exc:
                if attempt == self.retries:
                    raise PluginError(f"endpoint {self.url} failed: {exc}") from exc
            time.sleep(min(2.0**attempt, 30.0))
        raise AssertionError("unreachable")


class LocalModel:
    """A local causal LM answering chat requests in left-padded batches, sampled with a seed per
    request so the same request always gets the same reply."""

    def __init__(
        self,
        model_ref: str,
        temperature: float = 0.7,
        max_tokens: int = 256,
        batch_size: int = 8,
        seed: int = 0,
    ) -> None:
        from kinject.models import resolve_model

        self.path = resolve_model(model_ref)
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.seed = seed
        self.identity = f"model:{self.path}:{temperature}:{max_tokens}:{seed}"
        self.calls = 0
        self._loaded: tuple[Any, Any] | None = None

    def _load(self) -> tuple[Any, Any]:
        """The model and tokenizer, loaded on first use (a fully cached re-run never loads them)."""
        if self._loaded is None:
            from kinject.models import load_causal_lm

            model, tokenizer = load_causal_lm(self.path)
            model.eval()
            tokenizer.padding_side = "left"
            self._loaded = model, tokenizer
        return self._loaded

    def _prompt(self, tokenizer: Any, messages: list[dict[str, str]]) -> str:
        if getattr(tokenizer, "chat_template", None):
            return str(
                tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            )
        return "\n\n".join(m["content"] for m in messages) + "\n"

    def complete_many(self, requests: Sequence[Request]) -> list[str]:
        import torch

        model, tokenizer = self._load()
        prompts = [self._prompt(tokenizer, r.as_dicts()) for r in requests]
        # batches of similar length waste less on padding; replies come back in request order
        order = sorted(range(len(requests)), key=lambda i: len(prompts[i]))
        out: dict[int, str] = {}
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            inputs = tokenizer([prompts[i] for i in batch], return_tensors="pt", padding=True)
            limit = max((requests[i].max_tokens or self.max_tokens) for i in batch)
            # one seed per batch, from its requests: the same batch gives the same replies
            torch.manual_seed(
                int(
                    hashlib.sha256(
                        repr((self.seed, [requests[i] for i in batch])).encode()
                    ).hexdigest()[:8],
                    16,
                )
            )
            with torch.no_grad():
                generated = model.generate(
                    **inputs,
                    max_new_tokens=min(limit, self.max_tokens),
                    do_sample=self.temperature > 0,
                    temperature=self.temperature or None,
                    top_p=0.95 if self.temperature > 0 else None,
                    pad_token_id=tokenizer.pad_token_id,
                )
            self.calls += len(batch)
            width = inputs["input_ids"].shape[1]
            for i, row in zip(batch, generated, strict=True):
                out[i] = str(tokenizer.decode(row[width:], skip_special_tokens=True)).strip()
        return [out[i] for i in range(len(requests))]


class GenerationCache:
    """Replies by request key in one SQLite file (safe across threads and processes)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, reply TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    @staticmethod
    def key(identity: str, request: Request) -> str:
        return hashlib.sha256(
            json.dumps([identity, request.messages, request.sample, request.max_tokens]).encode()
        ).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._lock, self._connect() as db:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                found.update(
                    db.execute(
                        f"SELECT key, reply FROM replies WHERE key IN ({marks})", chunk
                    ).fetchall()
                )  # noqa: S608
        return found

    def put_many(self, items: dict[str, str]) -> None:
        with self._lock, self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO replies VALUES (?, ?)", list(items.items()))


class CachedCompleter:
    """A completer whose replies are looked up in, and added to, a :class:`GenerationCache`.

    Misses are generated ``chunk`` at a time and each chunk is cached as soon as it is done, so an
    interrupted run keeps what it generated; ``progress`` (``context.progress``) shows the chunks.
    """

    def __init__(
        self,
        inner: Completer,
        cache: GenerationCache,
        chunk: int = 32,
        progress: Callable[[Iterable[Any], str, int], Iterable[Any]] | None = None,
    ) -> None:
        self.inner = inner
        self.cache = cache
        self.identity = inner.identity
        self.chunk = chunk
        self.progress = progress
        self.hits = 0
        self.misses = 0

    def complete_many(self, requests: Sequence[Request]) -> list[str]:
        keys = [GenerationCache.key(self.identity, r) for r in requests]
        found = self.cache.get_many(keys)
        todo = [i for i, key in enumerate(keys) if key not in found]
        self.hits += len(requests) - len(todo)
        self.misses += len(todo)
        chunks: Iterable[list[int]] = [
            todo[i : i + self.chunk] for i in range(0, len(todo), self.chunk)
        ]
        if self.progress is not None and len(todo) > self.chunk:
            chunks = self.progress(
                chunks,
                f"generating ({len(todo)} requests, {self.chunk} per step)",
                -(-len(todo) // self.chunk),
            )
        for part in chunks:
            replies = self.inner.complete_many([requests[i] for i in part])
            fresh = {keys[i]: reply for i, reply in zip(part, replies, strict=True)}
            self.cache.put_many(fresh)
            found.update(fresh)
        return [found[key] for key in keys]


def cache_path() -> Path:
    from kinject.context import kinject_home

    return kinject_home() / "cache" / "generations.sqlite"


def make_completer(opts: GeneratorOptions, context: RunContext) -> Completer | None:
    """The completer for ``opts.backend`` (None for ``rules``), cached unless ``cache: false``."""
    inner: Completer
    if opts.backend == "endpoint":
        inner = EndpointClient.from_options(opts)
    elif opts.backend == "model":
        inner = LocalModel(
            opts.model or context.config.base_model,
            opts.temperature,
            opts.max_tokens,
            opts.batch_size,
            context.seed,
        )
    else:
        return None
    if not opts.cache:
        return inner
    chunk = max(opts.batch_size, opts.concurrency) * 4
    return CachedCompleter(
        inner,
        GenerationCache(cache_path()),
        chunk,
        lambda items, description, total: context.progress(items, description, total=total),
    )


def numbered_lines(text: str) -> list[str]:
    """Lines of a model answer with list markers (``1.``, ``-``, ``*``) removed, empty ones
    dropped.
    """
    import re

    lines = [re.sub(r"^\s*(?:\d+[.)]|[-*•])\s*", "", line).strip() for line in text.splitlines()]
    return [line for line in lines if line]


@dataclass(frozen=True)
class CorpusState:
    """What the rules backends read of the whole input, beyond the passages they write from: its
    lower-case words ("rent", not "Rent": whether a sentence's first word may be lowered inside
    another one) and the subject of each document (from all of its Records, rewrites included)."""

    words: frozenset[str]
    subjects: dict[str, Subject]

    @classmethod
    def of(cls, records: Sequence[Record]) -> CorpusState:
        from kinject_plugins.augmenters.subject import document_subjects

        words = frozenset(w for r in records for w in re.findall(r"\b[a-z][a-z'’-]*\b", r.text))
        return cls(words, document_subjects(records))


class GeneratingAugmenter(Augmenter):
    """An augmenter with an optional completer (local model or endpoint), the run's seed, its
    prompts, and the recipe's ``augment:`` defaults for any option it leaves unset."""

    opts: GeneratorOptions
    #: the rules backend reads only each document and the corpus state of :meth:`prepare_corpus`:
    #: a runner may hand it one group of documents at a time (a model or endpoint backend stays in
    #: the driver, where the model or the connection is)
    rules_per_document: ClassVar[bool] = False

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.completer: Completer | None = None
        #: what the rules read of the whole input (vocabulary, document subjects), set by
        #: :meth:`prepare_corpus` before the runner hands out groups
        self.corpus: CorpusState | None = None

    def prepare_corpus(self, records: Sequence[Record] | None) -> None:
        self.corpus = None if records is None else CorpusState.of(records)

    def corpus_of(self, records: Sequence[Record]) -> CorpusState:
        """The whole input's state when the runner prepared it, else that of ``records``."""
        return self.corpus if self.corpus is not None else CorpusState.of(records)

    def source_place(self, position: int, records: Sequence[Record]) -> tuple[int, int]:
        """(position in the stage's whole input, its length) of the Record at ``position`` of
        ``records``."""
        if self.input_positions is not None:
            return self.input_positions[position], self.input_total
        return self.input_offset + position, self.input_total or len(records)

    def setup(self, context: RunContext) -> None:
        from kinject_plugins.augmenters.prompts import load_prompts

        defaults: dict[str, Any] = getattr(context.config, "augment", None) or {}
        unset = {
            k: v
            for k, v in defaults.items()
            if k in type(self.opts).model_fields and k not in self.opts.model_fields_set
        }
        if unset:
            self.opts = type(self.opts).model_validate(
                {**self.opts.model_dump(exclude_unset=True), **unset}
            )
        pack_prompts = context.domain.extra.get("prompts") if context.domain is not None else None
        self.prompts = load_prompts("en", self.opts.prompts or pack_prompts)
        self.completer = make_completer(self.opts, context)
        self.per_document = self.rules_per_document and self.completer is None

    def generation_stats(self) -> dict[str, Any]:
        """Calls made and cache hits of the completer (empty for rules)."""
        completer = self.completer
        if completer is None:
            return {}
        out: dict[str, Any] = {}
        if isinstance(completer, CachedCompleter):
            out.update(cache_hits=completer.hits, generated=completer.misses)
            completer = completer.inner
        out["calls"] = getattr(completer, "calls", 0)
        return out
