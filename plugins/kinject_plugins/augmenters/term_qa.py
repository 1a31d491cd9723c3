"""``term-qa``: question-answer pairs from a domain term list.

For every :class:`kinject.domains.Term`: definition questions, synonym questions, and contrast
questions between confusable terms (定金 vs 订金: earnest money vs advance payment), written in the
term's own language (``en`` and ``zh`` templates; other languages fall back to English).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Augmenter
from kinject.domains import DomainPack, Term
from kinject.records import Record, content_hash
from kinject_plugins.augmenters.coverage import Coverage
from kinject_plugins.augmenters.facts import Fact
from kinject_plugins.augmenters.ordering import QAPosition
from kinject_plugins.augmenters.qa_generate import make_qa_record

if TYPE_CHECKING:
    from kinject.context import RunContext

PLUGIN = "term-qa"

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "definition": ("What does the term '{term}' mean?", "What is meant by '{term}'?"),
        "synonym": ("What is another term for '{term}'?",),
        "synonym_meaning": ("What does '{synonym}' mean?",),
        "contrast": (
            "What is the difference between {term} and {other}?",
            "Is {term} the same as {other}?",
        ),
    },
    "zh": {
        "definition": ("什么是{term}？", "{term}是什么意思？"),
        "synonym": ("{term}的同义词是什么？",),
        "synonym_meaning": ("{synonym}是什么意思？",),
        "contrast": ("{term}和{other}有什么区别？", "{term}与{other}是一回事吗？"),
    },
}
CONTRAST_ANSWERS = {
    "en": (
        "'{Term}' means {definition}, whereas '{other}' means {other_definition}.",
        "No. '{Term}' means {definition}, whereas '{other}' means {other_definition}.",
    ),
    "zh": (
        "{term}是指{definition}；{other}是指{other_definition}。",
        "不是。{term}是指{definition}；{other}是指{other_definition}。",
    ),
}
CONTRAST_UNKNOWN = {
    "en": "No. '{Term}' means {definition}; it is not the same as '{other}'.",
    "zh": "不是。{term}是指{definition}，与{other}不同。",
}


class TermQAOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: a term list YAML to use instead of (or without) the domain pack's
    terms_file: str | None = None
    definitions: bool = True
    synonyms: bool = True
    contrasts: bool = True
    #: phrasings wanted per term (coverage reports terms with fewer)
    k: int = 3
    #: at most this many pairs in all (terms that occur in the corpus and confusable pairs first);
    #: definitions of general terms should stay a small share of the training data
    limit: int | None = Field(60, ge=0)
    qa_position: QAPosition = "interleave"


class TermQA(Augmenter):
    """Definition, synonym and contrast questions from the domain's term list."""

    name = PLUGIN
    description = "definition, synonym and confusable-contrast QA from the term list"
    Options: ClassVar[type[TermQAOptions]] = TermQAOptions
    opts: TermQAOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.terms: list[Term] = []

    def setup(self, context: RunContext) -> None:
        self.terms = load_term_list(context, self.opts.terms_file)

    def augment(self, records: Sequence[Record]) -> Iterator[Record]:
        coverage = Coverage(self.opts.k)
        by_name = {t.term: t for t in self.terms}
        source = Record(text="", kind="document", source={"uri": "terms"})
        order = {"order": -2.0} if self.opts.qa_position == "before" else {}
        produced = 0
        for term, question, answer in self.ranked_pairs(records, by_name):
            fact = Fact(content_hash("term", term.term), term.term, "terms", 0)
            coverage.add_facts([fact])
            coverage.add(fact.id, question)
            produced += 1
            yield make_qa_record(
                source,
                question,
                answer,
                PLUGIN,
                term=term.term,
                language=term.language,
                fact=fact.id,
                **order,
            )
        self.stats = coverage.stats(qa_records=produced, terms=len(self.terms))

    def ranked_pairs(
        self, records: Sequence[Record], by_name: dict[str, Term]
    ) -> list[tuple[Term, str, str]]:
        """Pairs of all terms, round-robin over terms (one phrasing of each before a second),
        terms with confusables and terms the corpus uses first, cut at ``limit``."""
        corpus = " ".join(r.text for r in records).lower()

        def rank(term: Term) -> tuple[int, int]:
            return (0 if term.term.lower() in corpus else 1, 0 if term.confusables else 1)

        per_term = [(term, self.pairs(term, by_name)) for term in sorted(self.terms, key=rank)]
        out = [
            (term, q, a)
            for i in range(max((len(p) for _, p in per_term), default=0))
            for term, pairs in per_term
            if i < len(pairs)
            for q, a in [pairs[i]]
        ]
        return out if self.opts.limit is None else out[: self.opts.limit]

    def pairs(self, term: Term, by_name: dict[str, Term]) -> list[tuple[str, str]]:
        """(question, answer) pairs for one term."""
        lang = term.language if term.language in TEMPLATES else "en"
        tpl = TEMPLATES[lang]
        out: list[tuple[str, str]] = []
        if self.opts.definitions and term.definition:
            out += [
                (q.format(term=term.term), _sentence(term.definition, lang))
                for q in tpl["definition"][:1]
            ]
        if self.opts.contrasts and term.definition:
            for other in term.confusables:
                out += self._contrast(term, other, by_name.get(other), lang)
        if self.opts.definitions and term.definition:
            out += [
                (q.format(term=term.term), _sentence(term.definition, lang))
                for q in tpl["definition"][1:]
            ]
        if self.opts.synonyms:
            for synonym in term.synonyms:
                out += [(q.format(term=term.term), synonym) for q in tpl["synonym"]]
                if term.definition:
                    out += [
                        (q.format(synonym=synonym), _sentence(term.definition, lang))
                        for q in tpl["synonym_meaning"]
                    ]
        return out

    def _contrast(
        self, term: Term, other: str, other_term: Term | None, lang: str
    ) -> list[tuple[str, str]]:
        questions = [q.format(term=term.term, other=other) for q in TEMPLATES[lang]["contrast"]]
        definition = term.definition.rstrip("。.")
        if other_term is None or not other_term.definition:
            answer = CONTRAST_UNKNOWN[lang].format(
                term=term.term, Term=_cap(term.term), definition=definition, other=other
            )
            return [(questions[-1], answer)]
        values = {
            "term": term.term,
            "Term": _cap(term.term),
            "definition": definition,
            "other": other,
            "other_definition": other_term.definition.rstrip("。."),
        }
        return [
            (q, a.format(**values)) for q, a in zip(questions, CONTRAST_ANSWERS[lang], strict=True)
        ]


def load_term_list(context: RunContext, terms_file: str | None) -> list[Term]:
    """Terms from ``terms_file`` when given, else the run's domain pack (empty without one)."""
    if terms_file:
        pack = DomainPack("terms", "", "", Path("."), Path("."), terms=Path(terms_file))
        return pack.load_terms()
    return context.domain.load_terms() if context.domain is not None else []


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentence(definition: str, lang: str) -> str:
    """A definition as an answer: capitalised and ending with a full stop."""
    text = definition.strip()
    if lang == "zh":
        return text if text.endswith("。") else text + "。"
    return _cap(text) if text.endswith(".") else _cap(text) + "."
