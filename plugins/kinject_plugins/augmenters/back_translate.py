"""``back-translate``: rewrites by translating to a pivot language and back.

Needs a translator: an OpenAI-compatible endpoint (``base_url`` + ``model``) or local
sequence-to-sequence translation models (``model_path`` for source -> pivot and
``reverse_model_path`` for pivot -> source, e.g. two MarianMT directories). Without either it
refuses at setup; it never produces fake output. Every result passes the same fact check as
``paraphrase`` (numbers, dates, citations and names unchanged).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from kinject.components import Augmenter
from kinject.errors import PluginError
from kinject.records import Record
from kinject_plugins.augmenters.coverage import Coverage
from kinject_plugins.augmenters.endpoint import EndpointClient, GeneratorOptions
from kinject_plugins.augmenters.facts import (
    extract_facts,
    fact_problems,
    name_aliases,
    split_passages,
)
from kinject_plugins.augmenters.ordering import order_key, positions

if TYPE_CHECKING:
    from kinject.context import RunContext

PLUGIN = "back-translate"
UNAVAILABLE = (
    "back-translate needs an endpoint or a translation model: set 'base_url' and 'model' "
    "(an OpenAI-compatible endpoint) or 'model_path' and 'reverse_model_path' (local translation "
    "models)"
)


class BackTranslateOptions(GeneratorOptions):
    #: ``endpoint`` or ``model``; chosen from the other options when not set
    backend: Literal["endpoint", "model"] | None = None  # type: ignore[assignment]
    #: the pivot language, as the endpoint is told it ("German", "French", "Chinese")
    pivot: str = "German"
    #: local translation model, source language -> pivot
    model_path: str | None = None
    #: local translation model, pivot -> source language
    reverse_model_path: str | None = None
    kinds: list[str] = ["document", "passage"]


class Seq2SeqTranslator:
    """A local transformers translation model (e.g. MarianMT) loaded from a directory."""

    def __init__(self, path: str) -> None:
        if not Path(path).is_dir():
            raise PluginError(f"back-translate: translation model directory not found: {path}")
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(path).eval()

    def translate(self, text: str) -> str:
        import torch

        inputs = self.tokenizer(text, return_tensors="pt", truncation=True)
        with torch.no_grad():
            out = self.model.generate(**inputs, max_new_tokens=512, num_beams=4)
        return str(self.tokenizer.decode(out[0], skip_special_tokens=True))


class BackTranslate(Augmenter):
    """Round-trip translation through a pivot language, fact-checked."""

    name = PLUGIN
    description = "rewrites by translation to a pivot language and back (endpoint or local models)"
    Options: ClassVar[type[BackTranslateOptions]] = BackTranslateOptions
    opts: BackTranslateOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._round_trip: Any = None

    def setup(self, context: RunContext) -> None:
        backend = self.opts.backend or (
            "endpoint" if self.opts.base_url else "model" if self.opts.model_path else None
        )
        if backend == "endpoint":
            client = EndpointClient.from_options(self.opts)
            self._round_trip = lambda text: self._via_endpoint(client, text)
        elif backend == "model" and self.opts.model_path and self.opts.reverse_model_path:
            there, back = (
                Seq2SeqTranslator(self.opts.model_path),
                Seq2SeqTranslator(self.opts.reverse_model_path),
            )
            self._round_trip = lambda text: back.translate(there.translate(text))
        else:
            raise PluginError(UNAVAILABLE)

    def _via_endpoint(self, client: EndpointClient, text: str) -> str:
        system = (
            "You are a translator. Reply with the translation only; copy numbers, dates and "
            "names exactly."
        )
        pivot = client.complete(system, f"Translate into {self.opts.pivot}:\n\n{text}")
        return client.complete(
            system,
            "Translate into the language of the original text (English unless it is clearly "
            f"another):\n\n{pivot}",
        )

    def augment(self, records: Sequence[Record]) -> Iterator[Record]:
        if self._round_trip is None:
            raise PluginError(UNAVAILABLE)
        coverage = Coverage(1)
        where = positions(records)
        for record in records:
            if record.kind not in self.opts.kinds:
                continue
            facts = extract_facts(record)
            coverage.add_facts(facts)
            aliases = name_aliases(record.text)
            order = order_key(where[record.id], len(records), "interleave", step=0.35)
            for passage in split_passages(record.text):
                result = self._round_trip(passage).strip()
                problems = (
                    fact_problems(passage, result, aliases) if result else ["empty translation"]
                )
                if problems:
                    coverage.reject("fact_changed")
                    if self.context is not None:
                        self.context.quarantine.add(
                            PLUGIN,
                            "fact_changed",
                            "; ".join(problems),
                            record.source.get("uri", ""),
                            record.derive(result, PLUGIN),
                        )
                    continue
                for fact in facts:
                    if fact.text in passage:
                        coverage.add(fact.id, result)
                yield record.derive(result, PLUGIN, meta={"pivot": self.opts.pivot, "order": order})
        self.stats = coverage.stats(backend=self.opts.backend or "auto")
