"""``paraphrase``: k diverse rewrites of every fact-bearing passage.

One fixed phrasing of a fact teaches a model little; several diverse, shuffled rewrites teach it
the fact (Allen-Zhu & Li, Physics of Language Models 3.1). Rewrite ``i`` of a passage states each
fact sentence in another variant (clauses reordered, active/passive, short and full entity
names, a well-formed question with its answer), names the article the passage comes from, and
shuffles the sentence order (a sentence starting "It ..." stays after the one it refers to).
A rule that does not apply cleanly is skipped; a rewrite identical to the source is not emitted.

Backends: ``rules`` (offline, deterministic with the run seed), ``endpoint`` (any
OpenAI-compatible chat endpoint) and ``local`` (the run's base model). Every rewrite, whichever
backend made it, passes the fact check: a rewrite that changes or drops a number, a date, a
citation or a name is rejected (and quarantined with reason ``fact_changed``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from kinject.records import Record
from kinject_plugins.augmenters.coverage import Coverage, merge_stats
from kinject_plugins.augmenters.endpoint import GeneratingAugmenter, GeneratorOptions, Request
from kinject_plugins.augmenters.facts import (
    Fact,
    extract_facts,
    fact_problems,
    name_aliases,
    split_passages,
)
from kinject_plugins.augmenters.ordering import is_generated, order_key, positions
from kinject_plugins.augmenters.prompts import fill, placeholders
from kinject_plugins.augmenters.rewrite_rules import sentence_variants, with_context
from kinject_plugins.augmenters.segment import Sentence, sentences
from kinject_plugins.augmenters.subject import Subject, document_key, resolve
from kinject_plugins.augmenters.tables import cell_sentence, table_cells

if TYPE_CHECKING:
    pass

PLUGIN = "paraphrase"
FAMILY_ORDER = ("structure", "qa", "short")
_ANAPHORA = re.compile(
    r"^(?:It|Its|They|Their|This|These|That|Those|Such|He|She|His|Her|Before that|After that|Any "
    r"other|Instead|However|Otherwise|Then|Both)\b"
)


class ParaphraseOptions(GeneratorOptions):
    #: rewrites per fact-bearing passage (each fact gets up to k distinct phrasings)
    k: int = 5
    #: shuffle sentence order inside each rewritten passage
    shuffle: bool = True
    #: record kinds to rewrite
    kinds: list[str] = ["document", "passage"]
    #: also read records made by earlier augmenters (rewrites); off: only source documents
    from_generated: bool = False
    #: state each numeric cell of a Markdown table as a sentence in the structural rewrites
    tables: bool = True
    #: where rewrites go in training order (see ``ordering``)
    position: Literal["interleave", "before"] = "interleave"


class Paraphrase(GeneratingAugmenter):
    """k fact-preserving rewrites per passage."""

    name = PLUGIN
    description = "k diverse, fact-checked rewrites of every fact-bearing passage"
    Options: ClassVar[type[ParaphraseOptions]] = ParaphraseOptions
    opts: ParaphraseOptions
    rules_per_document: ClassVar[bool] = True

    def reads(self, record: Record) -> bool:
        return record.kind in self.opts.kinds and (
            self.opts.from_generated or not is_generated(record)
        )

    def merge_stats(self, parts: list[dict[str, Any]]) -> dict[str, Any]:
        return merge_stats(parts)

    def augment(self, records: Sequence[Record]) -> Iterator[Record]:
        coverage = Coverage(self.opts.k)
        where = positions(records)
        produced = 0
        self._structural = 0
        # Lower-case words of the whole corpus: "Rent may ..." may become "..., rent may ...".
        corpus = self.corpus_of(records)
        words, subjects = corpus.words, corpus.subjects
        todo: list[tuple[Record, list[Fact]]] = []
        for record in records:
            if not self.reads(record):
                continue
            facts = [replace(fact, words=words) for fact in extract_facts(record)]
            if facts or (self.opts.tables and table_cells(record.text)):
                coverage.add_facts(facts)
                todo.append((record, facts))
        model = self._model_rewrites(todo, coverage, subjects) if self.completer else {}
        for record, facts in todo:
            order = order_key(
                *self.source_place(where[record.id], records), self.opts.position, step=0.25
            )
            if self.completer:
                rewrites = model.get(record.id)
            else:
                rewrites = self._rule_rewrites(record, facts, coverage) if facts else []
            rewrites = list(rewrites or [])
            rewrites += self._structural_rewrites(
                record,
                facts,
                subjects[document_key(record)],
                coverage,
                {text for text, _ in rewrites},
            )
            for i, (text, fact_ids) in enumerate(rewrites):
                produced += 1
                yield record.derive(
                    text,
                    PLUGIN,
                    meta={"rewrite": i, "facts": fact_ids, "order": order, "source_id": record.id},
                )
        facts_total = len(coverage.facts)
        self.stats = coverage.stats(
            rewrites=produced,
            backend=self.opts.backend,
            structural=self._structural,
            facts_at_k_share=round(1 - len(coverage.under_k()) / facts_total, 3)
            if facts_total
            else None,
            dropped=dict(coverage.rejected),
            **self.generation_stats(),
        )

    # -- rules ------------------------------------------------------------------------------

    def _rule_rewrites(
        self, record: Record, facts: list[Fact], coverage: Coverage
    ) -> list[tuple[str, list[str]]]:
        rng = random.Random(f"{self.seed}:{record.id}")
        aliases = name_aliases(record.text)
        by_text = {fact.text: fact for fact in facts}
        variants = {fact.id: self._checked_variants(fact, aliases, rng, coverage) for fact in facts}
        paragraphs: dict[int, list[Sentence]] = {}
        for sentence in sentences(record.text, str(record.meta.get("section", ""))):
            paragraphs.setdefault(sentence.paragraph, []).append(sentence)
        out: list[tuple[str, list[str]]] = []
        seen = {" ".join(s.text for para in paragraphs.values() for s in para)}
        for i in range(self.opts.k):
            picked = 0
            texts = []
            for para in paragraphs.values():
                units = anaphora_units([s.text for s in para])
                if self.opts.shuffle and i > 0:
                    rng.shuffle(units)
                rendered = []
                for text in (t for unit in units for t in unit):
                    fact = by_text.get(text)
                    if fact is not None:
                        text = self._render(fact, variants[fact.id], i, picked, aliases)
                        coverage.add(fact.id, text)
                        picked += 1
                    rendered.append(text)
                texts.append(" ".join(rendered))
            passage = "\n\n".join(texts)
            if passage not in seen:
                seen.add(passage)
                out.append((passage, [f.id for f in facts]))
        return out

    def _render(
        self,
        fact: Fact,
        options: list[str],
        rewrite: int,
        position: int,
        aliases: dict[str, set[str]],
    ) -> str:
        """The phrasing of a fact in rewrite ``rewrite``; the first fact of an article also names
        the article ("Under Article 15 (Return of the deposit) of the ...")."""
        cited = [w for style in range(3) if (w := self._cited(fact.text, fact, style, aliases))]
        choices = [fact.text, *options, *cited]
        # Rewrite i takes the fact's i-th variant (offset by the fact's position, so one rewrite
        # mixes forms): k rewrites give k distinct phrasings whenever the fact has k variants.
        text = choices[(rewrite + 1 + fact.index) % len(choices)]
        if position == 0 and text not in cited and "?" not in text and "？" not in text:
            return self._cited(text, fact, rewrite, aliases) or text
        return text

    @staticmethod
    def _cited(text: str, fact: Fact, style: int, aliases: dict[str, set[str]]) -> str | None:
        """``text`` naming the article it comes from, if that passes the fact check."""
        wrapped = with_context(text, fact, style)
        if wrapped and not fact_problems(fact.text, wrapped, aliases, allowed=_allowed(fact)):
            return wrapped
        return None

    def _checked_variants(
        self, fact: Fact, aliases: dict[str, set[str]], rng: random.Random, coverage: Coverage
    ) -> list[str]:
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
                    if fact_problems(fact.text, candidate, aliases, allowed=_allowed(fact)):
                        coverage.reject("fact_changed")
                    else:
                        chosen.append(candidate)
        return chosen

    # -- endpoint / local model -------------------------------------------------------------

    def _model_rewrites(
        self,
        todo: list[tuple[Record, list[Fact]]],
        coverage: Coverage,
        subjects: dict[str, Subject],
    ) -> dict[str, list[tuple[str, list[str]]]]:
        """k sampled rewrites of every fact-bearing passage, asked for in one batch; each kept only
        when it passes the fact check."""
        assert self.completer is not None
        prompt = self.prompts.task("paraphrase")
        jobs: list[tuple[Record, str, list[Fact]]] = []
        requests: list[Request] = []
        for record, facts in todo:
            title, section = _title(record), _section(record)
            subject = subjects[document_key(record)].label
            for passage in pieces(split_passages(record.text), MODEL_PIECE_WORDS):
                passage_facts = [f for f in facts if f.text in passage]
                if not passage_facts:
                    continue
                # a rewrite about as long as its source: longer ones are rejected anyway
                limit = int(MAX_GROWTH * TOKENS_PER_WORD * len(passage.split())) + 16
                for sample in range(self.opts.k):
                    jobs.append((record, passage, passage_facts))
                    requests.append(
                        Request.chat(
                            prompt.messages(
                                title=title or "(untitled)",
                                section=section or "-",
                                subject=subject or "-",
                                passage=passage,
                            ),
                            sample,
                            limit,
                        )
                    )
        replies = self.completer.complete_many(requests) if requests else []
        out: dict[str, list[tuple[str, list[str]]]] = {}
        aliases_of: dict[str, dict[str, set[str]]] = {}
        for (record, passage, passage_facts), candidate in zip(jobs, replies, strict=True):
            if record.id not in aliases_of:  # once per record, not once per sample
                aliases_of[record.id] = name_aliases(record.text)
            aliases = aliases_of[record.id]
            allowed = " ".join([_title(record), _section(record)])
            problems = rewrite_problems(passage, candidate)
            reason = "not_a_rewrite"
            if not problems:
                problems, reason = (
                    fact_problems(passage, candidate, aliases, allowed=allowed),
                    "fact_changed",
                )
            if problems:
                self._reject(record, candidate, problems, coverage, reason)
                continue
            for fact in passage_facts:
                coverage.add(fact.id, _fact_phrasing(candidate, fact))
            out.setdefault(record.id, []).append((candidate, [f.id for f in passage_facts]))
        return out

    # -- structural rewrites (any text, any backend) ------------------------------------------

    _structural = 0

    def _structural_rewrites(
        self,
        record: Record,
        facts: list[Fact],
        subject: Subject,
        coverage: Coverage,
        seen: set[str],
    ) -> list[tuple[str, list[str]]]:
        """Rewrites that apply to any passage, until every fact has k phrasings: the sentences in
        another order (a sentence starting "It ..." stays after its antecedent), "we"/"the Company"
        restated as the subject, each fact sentence under its document and section heading in
        another frame (Allen-Zhu & Li 2024: permuted, subject-restated and re-framed statements of
        a fact make it extractable)."""
        title, section = _title(record), _section(record)
        frames = [
            f
            for f in self.prompts.frames.get("heading_frames", [])
            if _usable(f, title, section, subject)
        ]
        if not frames:
            return []
        values = {"title": title, "section": section, "subject": subject.label}
        allowed = " ".join([title, section, subject.label])
        aliases = name_aliases(record.text)
        by_text = {fact.text: fact for fact in facts}
        rng = random.Random(f"{self.seed}:structural:{record.id}")
        paragraphs: dict[int, list[str]] = {}
        for sentence in sentences(record.text, str(record.meta.get("section", ""))):
            paragraphs.setdefault(sentence.paragraph, []).append(sentence.text)
        cells = [cell_sentence(c) for c in table_cells(record.text)] if self.opts.tables else []
        out: list[tuple[str, list[str]]] = []
        for j in range(2 * self.opts.k):
            if not any(coverage.count(f.id) < self.opts.k for f in facts) and not (
                cells and j < self.opts.k
            ):
                break
            texts = []
            for para in paragraphs.values():
                units = anaphora_units(para)
                rng.shuffle(units)
                rendered = []
                for text in (t for unit in units for t in unit):
                    fact = by_text.get(text)
                    restated = resolve(text, subject)
                    if fact is not None:
                        framed = fill(
                            frames[(j + fact.index) % len(frames)], {**values, "sentence": restated}
                        )
                        if not fact_problems(fact.text, framed, aliases, allowed=allowed):
                            restated = framed
                            coverage.add(fact.id, framed)
                    rendered.append(restated)
                texts.append(" ".join(rendered))
            if cells:
                # the table's values as sentences, in another order and frame in each rewrite
                order = list(range(len(cells)))
                rng.shuffle(order)
                texts.append(
                    " ".join(
                        fill(frames[(j + n) % len(frames)], {**values, "sentence": cells[i]})
                        if n == 0
                        else cells[i]
                        for n, i in enumerate(order)
                    )
                )
            passage = "\n\n".join(t for t in texts if t)
            if passage not in seen:
                seen.add(passage)
                self._structural += 1
                out.append((passage, [f.id for f in facts]))
        return out

    def _reject(
        self,
        record: Record,
        candidate: str,
        problems: list[str],
        coverage: Coverage,
        reason: str = "fact_changed",
    ) -> None:
        coverage.reject(reason)
        if self.context is not None:
            rejected = record.derive(candidate, PLUGIN)
            self.context.quarantine.add(
                PLUGIN, reason, "; ".join(problems), record.source.get("uri", ""), rejected
            )


def anaphora_units(texts: list[str]) -> list[list[str]]:
    """Sentences grouped so that one starting with "It"/"This"/"Such" stays after the sentence it
    refers to when sentence order is shuffled."""
    units: list[list[str]] = []
    for text in texts:
        if units and _ANAPHORA.match(text):
            units[-1].append(text)
        else:
            units.append([text])
    return units


def _allowed(fact: Fact) -> str:
    """Values a rewrite may add: the article heading's citation and law, defined long names."""
    return " ".join([fact.context.phrase(), *fact.aliases.values()])


#: a model rewrite longer than this many times its source is rambling or repeating itself
MAX_GROWTH = 1.8
#: model backends rewrite runs of paragraphs up to about this many words at a time
MODEL_PIECE_WORDS = 150
#: a generous tokens-per-word for English under BPE tokenizers (a limit, not a count)
TOKENS_PER_WORD = 1.6


def pieces(paragraphs: list[str], max_words: int) -> list[str]:
    """Consecutive paragraphs joined (blank line between) into pieces of at most ``max_words``
    words; a longer paragraph is a piece of its own."""
    out: list[str] = []
    size = 0
    for paragraph in paragraphs:
        words = len(paragraph.split())
        if out and size + words <= max_words:
            out[-1] += "\n\n" + paragraph
            size += words
        else:
            out.append(paragraph)
            size = words
    return out


def rewrite_problems(source: str, candidate: str) -> list[str]:
    """Why a model's rewrite is not a rewrite: empty, a copy of the source (or the source with
    more around it), or much longer than the source."""
    flat_source, flat = " ".join(source.split()).lower(), " ".join(candidate.split()).lower()
    if not flat:
        return ["empty reply"]
    if flat_source in flat:
        return ["copies the source"]
    if len(flat.split()) > MAX_GROWTH * len(flat_source.split()) + 10:
        return ["much longer than the source"]
    return []


def _title(record: Record) -> str:
    return str(record.meta.get("title") or "").strip()


def _section(record: Record) -> str:
    """The passage's own heading (the last part of a ``Title > Chapter > Article`` path)."""
    return str(record.meta.get("section") or "").split(" > ")[-1].strip()


def _usable(frame: str, title: str, section: str, subject: Subject) -> bool:
    """A frame whose every placeholder has a value for this passage."""
    have = {
        "sentence",
        "title" if title else "",
        "section" if section else "",
        "subject" if subject.label else "",
    }
    return {p.removesuffix("_lc") for p in placeholders(frame)} <= have


def _fact_phrasing(rewrite: str, fact: Fact) -> str:
    """The sentence of ``rewrite`` that states ``fact`` (the one holding most of its values)."""
    best, score = rewrite, 0
    for part in re.split(r"(?<=[.!?])\s+", rewrite):
        hits = sum(v.text in part for v in fact.values)
        if hits > score:
            best, score = part, hits
    return best
