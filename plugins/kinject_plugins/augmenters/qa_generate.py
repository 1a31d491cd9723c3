"""``qa-generate``: question-answer pairs from passages, several phrasings per fact.

Offline (``backend: rules``) questions are built from a parse of each fact sentence (see
:mod:`.questions`): every value of the sentence (a quantity, a date, a citation, a name) becomes
the complete answer of well-formed questions (fronted, in situ, "which article", cloze), at most
``max_per_fact`` per sentence; a sentence that yields no well-formed question yields none. With
``backend: model`` (a local causal LM) or ``endpoint`` (an OpenAI-compatible server) a model writes
the pairs from the ``qa`` prompt of ``prompts/generate.<lang>.yaml``. Whichever backend wrote them,
the pairs pass the same filters (:mod:`.filters`: grounded, standalone, well-formed, diverse), so a
model cannot invent facts and every question names its subject. Output Records are ``kind="qa"``
with
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
from kinject_plugins.augmenters.complements import complement_pairs
from kinject_plugins.augmenters.coverage import Coverage, merge_stats
from kinject_plugins.augmenters.endpoint import GeneratingAugmenter, GeneratorOptions, Request
from kinject_plugins.augmenters.facts import Fact, extract_facts, extract_values, split_sentences
from kinject_plugins.augmenters.filters import Candidate, FilterOptions, QAFilter
from kinject_plugins.augmenters.measures import measure_pairs
from kinject_plugins.augmenters.ordering import QAPosition, is_generated, order_key, positions
from kinject_plugins.augmenters.questions import QuestionPair, question_pairs
from kinject_plugins.augmenters.reasons import reason_pairs
from kinject_plugins.augmenters.statements import capitalised_inside, statement_pairs
from kinject_plugins.augmenters.subject import Subject, document_key
from kinject_plugins.augmenters.tables import cell_question, table_cells

if TYPE_CHECKING:
    pass

PLUGIN = "qa-generate"


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
    #: rules: also ask each numeric cell of a Markdown table ("What was Total sales in 2019?")
    table_questions: bool = True
    #: rules: also ask what a term is and what causes it, answered by the defining sentence
    #: ("What is celiac disease?" -> "Celiac disease is an immune disorder ...")
    statement_questions: bool = True
    #: rules: also ask why and under what condition, answered by the clause that says so
    #: ("Why did net sales increase in 2019?" -> "primarily due to higher volumes"); needs
    #: ``statement_questions``
    reason_questions: bool = True
    #: rules: also ask what a passive verb's preposition points to, answered by that phrase
    #: ("What is our ongoing involvement limited to?" -> "the remittance of customer payments");
    #: needs ``statement_questions``
    complement_questions: bool = True
    #: rules: also ask an amount a sentence states by its measure and period, answered by the
    #: amount ("What was the goodwill impairment charge in the fourth quarter of 2019?" ->
    #: "$1.9 million")
    measure_questions: bool = True
    #: model backends: pairs asked for per passage (at most)
    pairs_per_passage: int = Field(8, ge=1)
    #: the checks every pair passes (grounded, standalone, well-formed, diverse)
    filters: FilterOptions = Field(default_factory=FilterOptions)


def make_qa_record(source: Record, question: str, answer: str, plugin: str, **meta: Any) -> Record:
    """A ``kind="qa"`` Record trained as ``format_prompt(question) + " " + answer``."""
    return source.derive(
        f"{format_prompt(question)} {answer}",
        plugin,
        kind="qa",
        meta={"question": question, "answer": answer, "source_id": source.id, **meta},
    )


class QAGenerate(GeneratingAugmenter):
    """Question-answer pairs from passages (rules offline, a local model or an endpoint), all
    through the same filters."""

    name = PLUGIN
    description = "question-answer pairs from passages, several phrasings per fact"
    Options: ClassVar[type[QAGenerateOptions]] = QAGenerateOptions
    opts: QAGenerateOptions
    rules_per_document: ClassVar[bool] = True

    def augment(self, records: Sequence[Record]) -> Iterator[Record]:
        coverage = Coverage(self.opts.phrasings)
        where = positions(records)
        corpus = self.corpus_of(records)
        vocabulary, subjects = set(corpus.words), corpus.subjects
        frames = self.prompts.frames
        qa_filter = QAFilter(
            self.opts.filters,
            frames.get("standalone_frames", []),
            next(iter(frames.get("cloze_frame", [])), ""),
        )
        passages = [r for r in records if self.reads(r)]
        facts = {r.id: extract_facts(r) for r in passages}
        for record in passages:
            coverage.add_facts(facts[record.id])
        raw = (
            self._model_pairs(passages, facts, subjects)
            if self.completer
            else self._rule_pairs(passages, facts, vocabulary, subjects)
        )
        checked = []
        for candidate in raw:
            kept_one = qa_filter.check(candidate)
            if kept_one is not None:
                checked.append(kept_one)
            elif self.completer is not None and self.context is not None:
                # what a model wrote and the checks refused, for the user to read
                origin = candidate.payload["record"]
                uri = origin.source.get("uri", "") if isinstance(origin, Record) else ""
                self.context.quarantine.add(
                    PLUGIN,
                    qa_filter.last_reason,
                    f"{candidate.question} -> {candidate.answer}",
                    uri,
                )
        kept = qa_filter.diverse(checked)
        asked: set[tuple[str, str, str]] = set()
        for c in kept:
            source, fact, kind = c.payload["record"], c.payload["fact"], c.payload["kind"]
            if not isinstance(source, Record):
                raise TypeError("a candidate without its record")
            if (c.document, c.question, c.answer) in asked:
                continue  # the same article question from two sentences of one article
            asked.add((c.document, c.question, c.answer))
            if isinstance(fact, Fact):
                coverage.add(fact.id, c.question)
            order = order_key(*self.source_place(where[source.id], records), self.opts.qa_position)
            yield make_qa_record(
                source,
                c.question,
                c.answer,
                PLUGIN,
                fact=fact.id if isinstance(fact, Fact) else None,
                value_kind=kind,
                order=order,
            )
        for reason, n in qa_filter.dropped.items():
            coverage.rejected[reason] += n
        self.stats = coverage.stats(
            qa_records=len(asked),
            backend=self.opts.backend,
            **qa_filter.stats(kept),
            **self.generation_stats(),
        )

    def reads(self, record: Record) -> bool:
        return record.kind in self.opts.kinds and (
            self.opts.from_generated or not is_generated(record)
        )

    def merge_stats(self, parts: list[dict[str, Any]]) -> dict[str, Any]:
        return merge_stats(parts)

    def _rule_pairs(
        self,
        passages: list[Record],
        facts: dict[str, list[Fact]],
        vocabulary: set[str],
        subjects: dict[str, Subject],
    ) -> Iterator[Candidate]:
        """Up to ``max_per_fact`` well-formed pairs per fact, over up to ``values_per_fact`` values,
        different forms first (fronted, in situ, article, cloze); then the statement questions and
        the table cells of each passage."""
        own = {r.id: split_sentences(r.text, str(r.meta.get("section") or "")) for r in passages}
        sentences: dict[str, list[str]] = {}
        for record in passages:
            sentences.setdefault(document_key(record), []).extend(own[record.id])
        proper = {document: capitalised_inside(texts) for document, texts in sentences.items()}
        for record in passages:
            document = document_key(record)
            for fact in facts[record.id]:
                pairs = [
                    p
                    for p in question_pairs(fact, vocabulary)
                    if self.opts.cloze or p.form != "cloze"
                ]
                answers: list[str] = []
                for pair in pairs:
                    if pair.answer not in answers:
                        answers.append(pair.answer)
                keep = set(answers[: self.opts.values_per_fact])
                for pair in _spread([p for p in pairs if p.answer in keep])[
                    : self.opts.max_per_fact
                ]:
                    yield Candidate(
                        pair.question,
                        pair.answer,
                        record.text,
                        document,
                        subjects[document],
                        {"record": record, "fact": fact, "kind": pair.kind},
                    )
            if self.opts.statement_questions:
                yield from self._statement_pairs(
                    record,
                    subjects[document],
                    own[record.id],
                    sentences[document],
                    proper[document],
                    vocabulary,
                )
            if self.opts.measure_questions:
                for sentence in own[record.id]:
                    for measure in measure_pairs(sentence, proper[document]):
                        yield Candidate(
                            measure.question,
                            measure.answer,
                            record.text,
                            document,
                            subjects[document],
                            {
                                "record": record,
                                "fact": None,
                                "kind": "measure",
                                "names_nothing": True,
                            },
                        )
            if self.opts.table_questions:
                for cell in table_cells(record.text):
                    yield Candidate(
                        cell_question(cell),
                        cell.value,
                        record.text,
                        document,
                        subjects[document],
                        {"record": record, "fact": None, "kind": "table", "names_nothing": True},
                    )

    def _statement_pairs(
        self,
        record: Record,
        subject: Subject,
        own: list[str],
        document_sentences: list[str],
        proper: set[str],
        vocabulary: set[str],
    ) -> Iterator[Candidate]:
        """What each defined term of the passage is (or what causes it), answered by the sentence
        (see :mod:`.statements`), why or under what condition something happens, answered by
        the clause that says so (see :mod:`.reasons`), and what a passive verb's preposition
        points to (see :mod:`.complements`); ``own`` are the passage's sentences,
        ``document_sentences`` the whole document's, ``proper`` the words its sentences capitalise
        inside, ``vocabulary`` the lower-case words of the record set."""
        topic = f"{subject.title} {record.meta.get('section') or ''}"
        for sentence in own:
            pairs = statement_pairs(sentence, topic, document_sentences, proper)
            if self.opts.reason_questions:
                pairs = pairs + reason_pairs(sentence, vocabulary, proper)
            if self.opts.complement_questions:
                pairs = pairs + complement_pairs(sentence, vocabulary, proper)
            for pair in pairs:
                yield Candidate(
                    pair.question,
                    pair.answer,
                    record.text,
                    document_key(record),
                    subject,
                    {"record": record, "fact": None, "kind": pair.form, "statement": True},
                )

    def _model_pairs(
        self, passages: list[Record], facts: dict[str, list[Fact]], subjects: dict[str, Subject]
    ) -> Iterator[Candidate]:
        assert self.completer is not None
        prompt = self.prompts.task("qa")
        requests = []
        for record in passages:
            subject = subjects[document_key(record)]
            n = min(
                self.opts.pairs_per_passage, max(1, len(facts[record.id])) * self.opts.phrasings
            )
            requests.append(
                Request.chat(
                    prompt.messages(
                        title=subject.title or "(untitled)",
                        section=record.meta.get("section") or "-",
                        subject=subject.label or "(unknown)",
                        passage=record.text,
                        n=n,
                    )
                )
            )
        replies = self.completer.complete_many(requests) if requests else []
        for record, reply in zip(passages, replies, strict=True):
            document = document_key(record)
            pairs = parse_qa_lines(reply)
            if not pairs and self.context is not None:
                self.context.quarantine.add(
                    PLUGIN, "unparsed_reply", reply[:200], record.source.get("uri", "")
                )
            for question, answer in pairs:
                fact = next((f for f in facts[record.id] if answer.lower() in f.text.lower()), None)
                values = extract_values(answer)
                yield Candidate(
                    question,
                    answer,
                    record.text,
                    document,
                    subjects[document],
                    {"record": record, "fact": fact, "kind": values[0].kind if values else "span"},
                )


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
        best = next(
            (p for p in rest if p.answer not in used_answers and p.form not in used_forms), None
        )
        best = best or next((p for p in rest if p.form not in used_forms), rest[0])
        out.append(best)
        rest.remove(best)
    return out
