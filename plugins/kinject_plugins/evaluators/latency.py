"""``latency``: time to first token and generation speed on the eval prompts.

Each prompt (the first ``max_items`` eval items) is generated alone, greedily, for exactly
``max_new_tokens`` tokens (no early stop), so base and trained models do the same work and
their numbers compare. ``ttft_ms`` is the time from calling ``generate`` to the first new token
(prompt processing plus one step); ``tokens_per_s`` counts the tokens after the first over the
time after the first, i.e. decoding speed. Wall-clock numbers depend on the machine and its
load: compare them within one run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Evaluator
from kinject.errors import ConfigError
from kinject_plugins.evaluators.generation import pad_token_id

if TYPE_CHECKING:
    from kinject.context import RunContext
    from kinject.evaluation import EvalItem, EvalModel


class LatencyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_items: int = Field(default=8, ge=1, description="prompts timed")
    max_new_tokens: int = Field(
        default=32, ge=2, le=1024, description="tokens generated per prompt"
    )
    warmup: int = Field(default=1, ge=0, description="untimed generations first")


class FirstTokenTimer:
    """A generate() streamer that records when the first new token arrives.

    ``generate`` hands the streamer the prompt first, then each new token.
    """

    def __init__(self) -> None:
        self.calls = 0
        self.first_token_at: float | None = None

    def put(self, value: Any) -> None:
        self.calls += 1
        if self.calls == 2 and self.first_token_at is None:
            self.first_token_at = time.perf_counter()

    def end(self) -> None:
        pass


class LatencyEvaluator(Evaluator):
    """Time to first token and decoding tokens per second, one prompt at a time."""

    name = "latency"
    description = "time to first token and tokens per second of greedy generation"
    Options = LatencyOptions
    opts: LatencyOptions

    def evaluate(
        self, model: EvalModel, items: Sequence[EvalItem], context: RunContext
    ) -> dict[str, Any]:
        prompts = [model.prompt(item.question) for item in items[: self.opts.max_items]]
        if not prompts:
            raise ConfigError("latency: no eval items to time", source="evaluators")
        for prompt in prompts[: self.opts.warmup]:
            self._time_one(model, prompt)
        timings = [self._time_one(model, prompt) for prompt in prompts]
        ttft = [t for t, _, _ in timings]
        decode_tokens = sum(n - 1 for _, n, _ in timings)
        decode_seconds = sum(total - first for first, _, total in timings)
        return {
            "ttft_ms": 1000 * statistics.mean(ttft),
            "ttft_ms_p50": 1000 * statistics.median(ttft),
            "ttft_ms_max": 1000 * max(ttft),
            "tokens_per_s": decode_tokens / decode_seconds if decode_seconds > 0 else 0.0,
            "n": len(timings),
            "new_tokens": self.opts.max_new_tokens,
        }

    def _time_one(self, model: EvalModel, prompt: str) -> tuple[float, int, float]:
        """(seconds to first token, new tokens, total seconds) for one greedy generation."""
        import torch

        encoded = model.tokenizer(prompt, return_tensors="pt", add_special_tokens=True)
        device = next(model.model.parameters()).device
        timer = FirstTokenTimer()
        n = self.opts.max_new_tokens
        with torch.no_grad():
            start = time.perf_counter()
            out = model.model.generate(
                input_ids=encoded["input_ids"].to(device),
                attention_mask=encoded["attention_mask"].to(device),
                do_sample=False,
                max_new_tokens=n,
                min_new_tokens=n,
                pad_token_id=pad_token_id(model.tokenizer),
                streamer=timer,
            )
            if device.type == "cuda":
                torch.cuda.synchronize()
            total = time.perf_counter() - start
        new_tokens = int(out.shape[1] - encoded["input_ids"].shape[1])
        first = (timer.first_token_at - start) if timer.first_token_at is not None else total
        return first, new_tokens, total
