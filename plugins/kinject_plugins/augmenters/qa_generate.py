"""``qa-generate``: question-answer pairs from passages, several phrasings per fact.

Offline (``backend: rules``) questions are built from a parse of each fact sentence (see
:mod:`.questions`): every value of the sentence (a quantity, a date, a citation, a name) becomes
the complete answer of well-formed questions (fronted, in situ, "which article", cloze), at most
``max_per_fact`` per sentence; a sentence that yields no well-formed question yields none. With ``backend: endpoint`` (or
``local``) a model writes the pairs; a pair is kept only when its answer is copied from the source
passage, so a model cannot invent facts. Output Records are ``kind="qa"`` with
``meta = {question, answer, source_id, fact, order}`` and the training text
``format_prompt(question) + " " + answer``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from kinject.evaluation import format_prompt
from kinject.records import Record
from kinject_plugins.augmenters.coverage import Coverage
from kinject_plugins.augmenters.endpoint import GeneratingAugmenter, GeneratorOptions
from kinject_plugins.augmenters.facts import Fact, extract_facts, extract_values
from kinject_plugins.augmenters.ordering import QAPosition, is_generated, order_key, positions
from kinject_plugins.augmenters.questions import QuestionPair, question_pairs

if TYPE_CHECKING:
    pass

PLUGIN = "qa-generate"
SYSTEM = (
    "You write exam questions about a passage. Every answer must be copied exactly from the "
    "passage: a number with its unit, a date, a name or an article. Ask each fact in several "
    "different phrasings. Reply only with lines 'Q: <question>' and 'A: <answer>'."
)


class QAGenerateOptions(GeneratorOptions):
    #: question phrasings wanted per fact (coverage reports facts with fewer)
    phrasings: int = 3
    #: at most this many question-answer pairs per fact sentence (volume control)
    max_per_fact: int = Field(5, ge=1)
    #: values asked about per fact sentence (most specific first: quantity, date, citation, name)
    values_per_fact: int = 3
    #: fill-in-the-blank questions (a complete value blanked in a complete sentence) allowed
    cloze: bool = True
    #: ``interleave``: QA after its document; ``before``: all QA before the documents
    qa_position: QAPosition = "interleave"
    #: record kinds read as passages
    kinds: list[str] = ["document", "passage"]
    #: also read records made by earlier augmenters (rewrites); off: only source documents
    from_generated: bool = False


def make_qa_record(source: Record, question: str, answer: str, plugin: str, **meta: Any) -> Record:
    """A ``kind="qa"`` Record trained as ``format_prompt(question) + " " + answer``."""
    return source.derive(
        f"{format_prompt(question)} {answer}",
        plugin,
        kind="qa",
        meta={"question": question, "answer": answer, "source_id": source.id, **meta},
    )


class QAGenerate(GeneratingAugmenter):
    """Question-answer pairs from passages (templates offline, a model through an endpoint)."""

    name = PLUGIN
    description = "question-answer pairs from passages, several phrasings per fact"
    Options: ClassVar[type[QAGenerateOptions]] = QAGenerateOptions
    opts: QAGenerateOptions

    def augment(self, records: Sequence[Record]) -> Iterator[Record]:
        coverage = Coverage(self.opts.phrasings)
        where = positions(records)
        vocabulary = {w for r in records for w in re.findall(r"\b[a-z][a-z'’-]*\b", r.text)}
        asked: set[tuple[str, str]] = set()
        produced = 0
        for record in records:
            if record.kind not in self.opts.kinds or (is_generated(record) and not self.opts.from_generated):
                continue
            facts = extract_facts(record)
            coverage.add_facts(facts)
            order = order_key(where[record.id], len(records), self.opts.qa_position)
            pairs = self._model_pairs(record, facts, coverage) if self.generator else self._template_pairs(facts, vocabulary)
            for fact, question, answer, kind in pairs:
                if (question, answer) in asked:
                    continue  # the same article question from two sentences of one article
                asked.add((question, answer))
                coverage.add(fact.id, question)
                produced += 1
                yield make_qa_record(record, question, answer, PLUGIN, fact=fact.id, value_kind=kind, order=order)
        self.stats = coverage.stats(qa_records=produced, backend=self.opts.backend)

    def _template_pairs(self, facts: list[Fact], vocabulary: set[str]) -> Iterator[tuple[Fact, str, str, str]]:
        """Up to ``max_per_fact`` well-formed pairs per fact, over up to ``values_per_fact`` values,
        different forms first (fronted, in situ, article, cloze)."""
        for fact in facts:
            pairs = [p for p in question_pairs(fact, vocabulary) if self.opts.cloze or p.form != "cloze"]
            answers: list[str] = []
            for pair in pairs:
                if pair.answer not in answers:
                    answers.append(pair.answer)
            keep = set(answers[: self.opts.values_per_fact])
            for pair in _spread([p for p in pairs if p.answer in keep])[: self.opts.max_per_fact]:
                yield fact, pair.question, pair.answer, pair.kind

    def _model_pairs(self, record: Record, facts: list[Fact], coverage: Coverage) -> Iterator[tuple[Fact, str, str, str]]:
        assert self.generator is not None
        n = max(1, len(facts)) * self.opts.phrasings
        reply = self.generator.complete(SYSTEM, f"Passage:\n{record.text}\n\nWrite {n} question-answer pairs.")
        for question, answer in parse_qa_lines(reply):
            fact = next((f for f in facts if answer.lower() in f.text.lower()), None)
            if fact is None or not extract_values(answer):
                coverage.reject("answer_not_in_source")
                if self.context is not None:
                    self.context.quarantine.add(PLUGIN, "answer_not_in_source", f"{question} -> {answer}", record.source.get("uri", ""))
                continue
            kinds = [v.kind for v in extract_values(answer)]
            yield fact, question, answer, kinds[0]


def parse_qa_lines(text: str) -> list[tuple[str, str]]:
    """``Q: ...`` / ``A: ...`` pairs from a model reply (numbering and bold markers tolerated)."""
    pairs: list[tuple[str, str]] = []
    question = ""
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:\d+[.)]\s*)?[*_]*", "", line).strip()
        match = re.match(r"^(Q|A|Question|Answer)[*_]*\s*[:：]\s*(.+)$", line, re.I)
        if not match:
            continue
        tag, body = match.group(1)[0].upper(), match.group(2).strip().strip("*_ ")
        if tag == "Q":
            question = body
        elif question:
            pairs.append((question, body.rstrip(".")))
            question = ""
    return pairs


def _spread(pairs: list[QuestionPair]) -> list[QuestionPair]:
    """Pairs reordered so that the first ones differ in answer and in form."""
    out: list[QuestionPair] = []
    rest = list(pairs)
    while rest:
        used_answers = {p.answer for p in out[-2:]}
        used_forms = {p.form for p in out[-1:]}
        best = next((p for p in rest if p.answer not in used_answers and p.form not in used_forms), None)
        best = best or next((p for p in rest if p.form not in used_forms), rest[0])
        out.append(best)
        rest.remove(best)
    return out
