"""Text generators behind the model-backed augmenters: an OpenAI-compatible endpoint or the
local base model.

The endpoint client speaks the ``/chat/completions`` protocol that OpenAI, vLLM, Ollama,
llama.cpp's server and most gateways share, with plain :mod:`urllib` (no SDK dependency). The key
is read from the environment variable named in the options, never from the recipe.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from kinject.components import Augmenter
from kinject.errors import PluginError

if TYPE_CHECKING:
    from kinject.context import RunContext

Backend = Literal["rules", "endpoint", "local"]


class Generator(Protocol):
    """Anything that turns a system + user message into generated text."""

    def complete(self, system: str, user: str) -> str: ...


class GeneratorOptions(BaseModel):
    """Options shared by augmenters that can generate text with a model."""

    model_config = ConfigDict(extra="forbid")

    #: ``rules`` (offline templates), ``endpoint`` (OpenAI-compatible) or ``local`` (base model)
    backend: Backend = "rules"
    #: e.g. ``http://localhost:11434/v1`` (Ollama) or ``https://api.openai.com/v1``
    base_url: str = ""
    #: the endpoint's model name (``gpt-4o-mini``, ``llama3.1``, ...)
    model: str = ""
    #: name of the environment variable holding the API key (unset: no Authorization header)
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.7
    max_tokens: int = 512
    timeout: float = 60.0


class EndpointClient:
    """A minimal OpenAI-compatible chat client."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, temperature: float = 0.7,
                 max_tokens: int = 512, timeout: float = 60.0) -> None:
        if not base_url or not model:
            raise PluginError("the endpoint backend needs both 'base_url' and 'model' options")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout = timeout

    @classmethod
    def from_options(cls, opts: GeneratorOptions) -> EndpointClient:
        key = os.environ.get(opts.api_key_env) if opts.api_key_env else None
        return cls(opts.base_url, opts.model, key, opts.temperature, opts.max_tokens, opts.timeout)

    def complete(self, system: str, user: str) -> str:
        """The assistant message for one system + user prompt."""
        body = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, json.dumps(body).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload: dict[str, Any] = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:200]
            raise PluginError(f"endpoint {self.url} answered HTTP {exc.code}: {detail}") from exc
        except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
            raise PluginError(f"endpoint {self.url} failed: {exc}") from exc
        try:
            return str(payload["choices"][0]["message"]["content"]).strip()
        except (KeyError, IndexError, TypeError) as exc:
            raise PluginError(f"endpoint {self.url} returned no choices[0].message.content") from exc


class LocalModelGenerator:
    """The run's base model, prompted through its chat template (greedy is avoided: we want variety)."""

    def __init__(self, model_ref: str, temperature: float = 0.7, max_tokens: int = 256, seed: int = 0) -> None:
        from kinject.models import load_causal_lm, resolve_model

        self.model, self.tokenizer = load_causal_lm(resolve_model(model_ref))
        self.model.eval()
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed

    def complete(self, system: str, user: str) -> str:
        import torch

        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        if getattr(self.tokenizer, "chat_template", None):
            prompt = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            prompt = f"{system}\n\n{user}\n"
        inputs = self.tokenizer(prompt, return_tensors="pt")
        torch.manual_seed(self.seed)
        self.seed += 1
        with torch.no_grad():
            out = self.model.generate(**inputs, max_new_tokens=self.max_tokens, do_sample=True,
                                      temperature=self.temperature, pad_token_id=self.tokenizer.eos_token_id)
        return str(self.tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)).strip()


def make_generator(opts: GeneratorOptions, context: RunContext) -> Generator | None:
    """The generator for ``opts.backend`` (None for ``rules``)."""
    if opts.backend == "endpoint":
        return EndpointClient.from_options(opts)
    if opts.backend == "local":
        return LocalModelGenerator(context.config.base_model, opts.temperature, opts.max_tokens, context.seed)
    return None


def numbered_lines(text: str) -> list[str]:
    """Lines of a model answer with list markers (``1.``, ``-``, ``*``) removed, empty ones dropped."""
    import re

    lines = [re.sub(r"^\s*(?:\d+[.)]|[-*•])\s*", "", line).strip() for line in text.splitlines()]
    return [line for line in lines if line]


class GeneratingAugmenter(Augmenter):
    """An augmenter with an optional text generator (endpoint or local model) and the run's seed."""

    opts: GeneratorOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.seed = 0
        self.generator: Generator | None = None
        self.context: RunContext | None = None
        self.stats: dict[str, Any] = {}

    def setup(self, context: RunContext) -> None:
        self.seed = context.seed
        self.context = context
        self.generator = make_generator(self.opts, context)
