"""``paraphrase``: k diverse rewrites of every fact-bearing passage.

One fixed phrasing of a fact teaches a model little; several diverse, shuffled rewrites teach it
the fact (Allen-Zhu & Li, Physics of Language Models 3.1). Rewrite ``i`` of a passage states each
fact sentence in its ``i``-th variant (clauses reordered, active/passive, short and full entity
names, question-and-answer form, different lead-ins) and shuffles the sentence order.

Backends: ``rules`` (offline, deterministic with the run seed), ``endpoint`` (any
OpenAI-compatible chat endpoint) and ``local`` (the run's base model). Every rewrite, whichever
backend made it, passes the fact check: a rewrite that changes or drops a number, a date, a
citation or a name is rejected (and quarantined with reason ``fact_changed``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from kinject.components import Augmenter
from kinject.records import Record
from kinject_plugins.augmenters.coverage import Coverage
from kinject_plugins.augmenters.endpoint import Generator, GeneratorOptions, make_generator
from kinject_plugins.augmenters.facts import (
    Fact,
    extract_facts,
    fact_problems,
    name_aliases,
    split_passages,
    split_sentences,
)
from kinject_plugins.augmenters.ordering import order_key, positions
from kinject_plugins.augmenters.rewrite_rules import sentence_variants

if TYPE_CHECKING:
    from kinject.context import RunContext

PLUGIN = "paraphrase"
FAMILY_ORDER = ("structure", "short", "qa", "lead")
SYSTEM = (
    "Rewrite the user's passage so it says exactly the same facts in different words: change "
    "sentence order, sentence structure (active/passive, clause order) and wording. Copy every "
    "number, unit, date and name exactly. Reply with the rewritten passage only."
)


class ParaphraseOptions(GeneratorOptions):
    #: rewrites per fact-bearing passage (each fact gets up to k distinct phrasings)
    k: int = 5
    #: shuffle sentence order inside each rewritten passage
    shuffle: bool = True
    #: record kinds to rewrite
    kinds: list[str] = ["document", "passage"]
    #: where rewrites go in training order (see ``ordering``)
    position: Literal["interleave", "before"] = "interleave"


class Paraphrase(Augmenter):
    """k fact-preserving rewrites per passage."""

    name = PLUGIN
    description = "k diverse, fact-checked rewrites of every fact-bearing passage"
    Options: ClassVar[type[ParaphraseOptions]] = ParaphraseOptions
    opts: ParaphraseOptions

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

    def augment(self, records: Sequence[Record]) -> Iterator[Record]:
        coverage = Coverage(self.opts.k)
        where = positions(records)
        produced = 0
        for record in records:
            if record.kind not in self.opts.kinds:
                continue
            facts = extract_facts(record)
            if not facts:
                continue
            coverage.add_facts(facts)
            order = order_key(where[record.id], len(records), self.opts.position, step=0.25)
            rewrites = self._model_rewrites(record, facts, coverage) if self.generator else self._rule_rewrites(record, facts, coverage)
            for i, (text, fact_ids) in enumerate(rewrites):
                produced += 1
                yield record.derive(text, PLUGIN, meta={"rewrite": i, "facts": fact_ids, "order": order})
        self.stats = coverage.stats(rewrites=produced, backend=self.opts.backend)

    # -- rules ------------------------------------------------------------------------------

    def _rule_rewrites(self, record: Record, facts: list[Fact], coverage: Coverage) -> list[tuple[str, list[str]]]:
        rng = random.Random(f"{self.seed}:{record.id}")
        aliases = name_aliases(record.text)
        by_text = {fact.text: fact for fact in facts}
        variants = {fact.id: self._checked_variants(fact, aliases, rng, coverage) for fact in facts}
        passages = [split_sentences(p) for p in split_passages(record.text)]
        out = []
        for i in range(self.opts.k):
            texts = []
            for sentences in passages:
                rewritten = []
                for sentence in sentences:
                    fact = by_text.get(sentence)
                    options = variants[fact.id] if fact else []
                    if fact and options:
                        sentence = options[i % len(options)]
                        coverage.add(fact.id, sentence)
                    rewritten.append(sentence)
                if self.opts.shuffle:
                    rng.shuffle(rewritten)
                texts.append(" ".join(rewritten))
            out.append(("\n\n".join(texts), [f.id for f in facts]))
        return out

    def _checked_variants(self, fact: Fact, aliases: dict[str, set[str]], rng: random.Random, coverage: Coverage) -> list[str]:
        """Up to k fact-checked variants, taken round-robin across families for diversity."""
        families = sentence_variants(fact)
        pools = []
        for family in FAMILY_ORDER:
            pool = list(families.get(family, []))
            rng.shuffle(pool)
            pools.append(pool)
        chosen: list[str] = []
        while len(chosen) < self.opts.k and any(pools):
            for pool in pools:
                if pool and len(chosen) < self.opts.k:
                    candidate = pool.pop()
                    if fact_problems(fact.text, candidate, aliases):
                        coverage.reject("fact_changed")
                    else:
                        chosen.append(candidate)
        return chosen

    # -- endpoint / local model -------------------------------------------------------------

    def _model_rewrites(self, record: Record, facts: list[Fact], coverage: Coverage) -> list[tuple[str, list[str]]]:
        assert self.generator is not None
        aliases = name_aliases(record.text)
        out = []
        for passage in split_passages(record.text):
            passage_facts = [f for f in facts if f.text in passage]
            if not passage_facts:
                continue
            for _ in range(self.opts.k):
                candidate = self.generator.complete(SYSTEM, passage)
                problems = fact_problems(passage, candidate, aliases) if candidate else ["empty reply"]
                if problems:
                    self._reject(record, candidate, problems, coverage)
                    continue
                for fact in passage_facts:
                    coverage.add(fact.id, candidate)
                out.append((candidate, [f.id for f in passage_facts]))
        return out

    def _reject(self, record: Record, candidate: str, problems: list[str], coverage: Coverage) -> None:
        coverage.reject("fact_changed")
        if self.context is not None:
            rejected = record.derive(candidate, PLUGIN)
            self.context.quarantine.add(PLUGIN, "fact_changed", "; ".join(problems), record.source.get("uri", ""), rejected)
