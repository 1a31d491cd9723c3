"""Asking a finished run's model questions (``inject chat``, ``inject serve``).

The run's trainer loads the model exactly as ``inject eval`` does (base + adapter, a full model,
or ``rag``'s base model with its index), and questions are put in the format the run trained and
was measured on (:func:`kinject.evaluation.format_prompt`, with the retrieved passages before it
for a ``rag`` run). Generation is greedy unless a temperature is given, stops at the next
``Question:`` line (as the ``ollama`` export's Modelfile does), at a stop string of the caller
(``\n``: the answer line the evaluation scores) or at the end-of-sequence token, and runs one
request at a time: one lock around the model.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kinject.errors import ConfigError

if TYPE_CHECKING:
    from kinject.evaluation import EvalModel
    from kinject.plugins import Plugins

#: where an answer in the training format ends: the model starting the next question
ANSWER_STOPS = ("\nQuestion:",)
#: chat roles whose messages are put before the conversation
SYSTEM_ROLES = ("system", "developer")


@dataclass
class Sampling:
    """How to continue a prompt: greedy when ``temperature`` is 0."""

    max_new_tokens: int = 128
    temperature: float = 0.0
    top_p: float = 1.0
    #: a sampled answer is the same for the same seed
    seed: int | None = None
    stop: tuple[str, ...] = ANSWER_STOPS
    #: an answer without the blank the model puts after ``Answer:`` and without trailing blanks
    trim: bool = True


@dataclass
class Generation:
    """A finished continuation with its token counts; ``finish_reason`` is ``stop`` or
    ``length``.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str


class ChatModel:
    """A run's trained model, answering one prompt at a time."""

    def __init__(self, handle: EvalModel, name: str, run_dir: Path | None = None) -> None:
        self.handle = handle
        self.name = name
        self.run_dir = run_dir
        self.lock = threading.Lock()

    @property
    def retrieval(self) -> bool:
        """Whether questions get the run's retrieved passages before them."""
        return self.handle.retrieve is not None

    def question_prompt(self, question: str) -> str:
        """One question as the run was trained and measured on it (with passages for ``rag``)."""
        return self.handle.prompt(question.strip())

    def messages_prompt(self, messages: Sequence[tuple[str, str]]) -> str:
        """Chat messages in the training format: system text, earlier turns, then the last
        question.
        """
        unknown = sorted(
            {role for role, _ in messages if role not in (*SYSTEM_ROLES, "user", "assistant")}
        )
        if unknown:
            raise ConfigError(
                f"unsupported role {', '.join(map(repr, unknown))} (system, user, assistant)",
                source="messages",
            )
        turns = [(role, text) for role, text in messages if role not in SYSTEM_ROLES]
        if not turns or turns[-1][0] != "user":
            raise ConfigError("the last message must be the user's question", source="messages")
        system = "\n\n".join(
            text.strip() for role, text in messages if role in SYSTEM_ROLES and text.strip()
        )
        history = "".join(
            f"Question: {text.strip()}\n" if role == "user" else f"Answer: {text.strip()}\n\n"
            for role, text in turns[:-1]
        )
        return (f"{system}\n\n" if system else "") + history + self.question_prompt(turns[-1][1])

    def generate(self, prompt: str, sampling: Sampling) -> Generation:
        """The whole continuation of ``prompt``."""
        stream = self.stream(prompt, sampling)
        for _ in stream:
            pass
        assert stream.result is not None
        return stream.result

    def stream(self, prompt: str, sampling: Sampling) -> TextStream:
        """The continuation of ``prompt`` piece by piece, as the model writes it."""
        return TextStream(self, prompt, sampling)


@dataclass
class TextStream:
    """Iterating gives the new text in pieces; ``result`` is set once the iteration ends.

    The model runs in a worker thread while the lock is held; leaving the iteration early (a
    client that went away) stops the generation at its next token.
    """

    model: ChatModel
    prompt: str
    sampling: Sampling
    result: Generation | None = None
    _cancel: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        # tokenized and checked now: a prompt that is too long fails before any answer is sent
        self._worker = _Worker(self.model.handle, self.prompt, self.sampling, self._cancel)

    def __iter__(self) -> Iterator[str]:
        with self.model.lock:
            worker = self._worker
            emitter = _StopEmitter(self.sampling.stop, self.sampling.trim)
            try:
                worker.start()
                for piece in worker.streamer:
                    out = emitter.add(piece)
                    if out:
                        yield out
                    if emitter.stopped:
                        break
                self._cancel.set()
                worker.join()
                rest = emitter.flush()
                if rest:
                    yield rest
            finally:
                self._cancel.set()
                worker.join()
            self.result = Generation(
                emitter.text,
                worker.prompt_tokens,
                worker.new_tokens,
                "length" if worker.hit_limit and not emitter.stopped else "stop",
            )


class _Worker:
    """``model.generate`` in a thread, feeding a text streamer; errors are raised on ``join``."""

    def __init__(
        self, handle: EvalModel, prompt: str, sampling: Sampling, cancel: threading.Event
    ) -> None:
        from transformers import TextIteratorStreamer

        self.handle = handle
        self.sampling = sampling
        self.cancel = cancel
        tokenizer = handle.tokenizer
        self.inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=True)
        self.prompt_tokens = int(self.inputs["input_ids"].shape[1])
        _check_length(handle.model, self.prompt_tokens, sampling.max_new_tokens)
        self.streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        self.new_tokens = 0
        self.hit_limit = False
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="kinject-generate", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self) -> None:
        if self.thread.ident is not None:  # started
            self.thread.join()
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def _run(self) -> None:
        import torch

        s = self.sampling
        model = self.handle.model
        device = next(model.parameters()).device
        settings: dict[str, Any] = {
            "do_sample": s.temperature > 0,
            "max_new_tokens": s.max_new_tokens,
        }
        if s.temperature > 0:
            settings.update(temperature=s.temperature, top_p=s.top_p)
            if s.seed is not None:
                torch.manual_seed(s.seed)
        try:
            with torch.no_grad():
                out = model.generate(
                    **{k: v.to(device) for k, v in self.inputs.items()},
                    **settings,
                    streamer=self.streamer,
                    stopping_criteria=[_Cancelled(self.cancel)],
                    pad_token_id=_pad_id(self.handle.tokenizer),
                )
            self.new_tokens = int(out.shape[1]) - self.prompt_tokens
            self.hit_limit = self.new_tokens >= s.max_new_tokens
        except BaseException as exc:  # raised again in the caller's thread
            self.error = exc
            self.streamer.end()


class _Cancelled:
    """A stopping criterion: true once the reader stopped reading."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        return torch.full(
            (input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device
        )


class _StopEmitter:
    """Passes text on, holding back what could be the start of a stop string, and ends at one.

    With ``trim``, leading blanks are dropped and trailing ones held back until more text follows.
    """

    def __init__(self, stops: Sequence[str], trim: bool) -> None:
        self.stops = [s for s in stops if s]
        self.trim = trim
        self.buffer = ""
        self.sent = 0
        self.stopped = False

    @property
    def text(self) -> str:
        return self.buffer[: self.sent]

    def add(self, piece: str) -> str:
        self.buffer += piece
        if self.trim and not self.sent:
            self.buffer = self.buffer.lstrip()
        found = [i for i in (self.buffer.find(s) for s in self.stops) if i >= 0]
        if found:
            self.stopped = True
            self.buffer = self.buffer[: min(found)]
            return self.flush()
        held = max(
            (k for s in self.stops for k in range(1, len(s)) if self.buffer.endswith(s[:k])),
            default=0,
        )
        end = len(self.buffer) - held
        if self.trim:  # blanks before what is held back may end the answer too
            end = len(self.buffer[:end].rstrip())
        return self._send(end)

    def flush(self) -> str:
        """The rest, once the model has stopped."""
        if self.trim:
            self.buffer = self.buffer.rstrip()
        return self._send(len(self.buffer))

    def _send(self, end: int) -> str:
        out, self.sent = self.buffer[self.sent : end], max(self.sent, end)
        return out


def _pad_id(tokenizer: Any) -> int:
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if candidate is not None:
            return int(candidate)
    return 0


def _check_length(model: Any, prompt_tokens: int, max_new_tokens: int) -> None:
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit and prompt_tokens + max_new_tokens > limit:
        raise ConfigError(
            f"{prompt_tokens} prompt tokens + {max_new_tokens} new tokens is over the model's "
            f"{limit}: ask a shorter question or lower max_new_tokens",
            source="prompt",
        )


def open_chat(run_dir: Path, rag: bool | None = None, plugins: Plugins | None = None) -> ChatModel:
    """The trained model of a finished run, loaded by the run's trainer.

    ``rag``: None keeps the run as it was measured (its index for a ``rag`` run); True insists
    on the index; False asks the model closed-book.
    """
    from kinject.commands import load_run_result, run_config
    from kinject.context import RunContext
    from kinject.plugins import get_plugins

    if not run_dir.is_dir():
        raise ConfigError("not a run directory", source=str(run_dir))
    config = run_config(run_dir)
    result = load_run_result(run_dir)
    plugins = plugins or get_plugins()
    trainer = plugins.create("trainer", config.strategy, config.trainer)
    context = RunContext(run_dir=run_dir, config=config, plugins=plugins, show_progress=False)
    handle = trainer.load_for_eval(result, context)
    if rag and handle.retrieve is None:
        raise ConfigError(
            f"--rag: this run has no retrieval index (strategy {config.strategy}; "
            "a run with --strategy rag has one)",
            source=str(run_dir),
        )
    if rag is False:
        handle.retrieve = None
    name = run_dir.resolve().name
    handle.label = name
    return ChatModel(handle, name, run_dir)
