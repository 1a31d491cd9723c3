"""Convert MedQuAD question-answer pairs (consumer-health pages) into a knowledge suite.

    python bench/knowledge/medquad.py ../shared/data/medical/medquad_subset.json --out
    bench/results/suites/medquad
    python bench/knowledge/medquad.py FILE --out DIR --documents 40 --questions 80 --seed 0   # the
    defaults
    python bench/knowledge/medquad.py FILE --out DIR --full                                  # every
    page

A document is one page (the records of one ``file``; a focus can span several files, a file never
has two foci). ``corpus/medquad-<publisher>-<file number>.md`` holds ``# <focus>`` and the
paragraphs of the page's answers, each distinct answer once, in the file's order, whitespace
collapsed and NIDDK's glossary asterisks ("Cirrhosis* is") removed; the questions are not in the
corpus: they are the eval. Pages are long (median 13k characters), so by default a document keeps
only its first whole answers up to ``--max-chars`` (3,000; ``--full`` or 0: whole pages), which
keeps a 40-document suite near the TAT-QA one in tokens; only kept answers are asked about. The
focus loses a leading "What I need to know about" (the NIDDK booklets' page title, not the
condition); pages without a focus are skipped.

Eval: one item per (page, question): the first answer of a question that a page repeats is its
answer (the others answer narrower questions the subset has folded into the same wording). The
question is MedQuAD's, tidied (``"Who is at risk for X? ?"`` -> ``"Who is at risk for X?"``), with
the focus put in front (``About <focus>: ...``) when it does not name it. ``answer_text`` is the
first sentence of the answer (heading-like and bullet-list paragraphs skipped; a sentence of under
five words extended by the next); an answer whose first sentence runs over 60 words is skipped.

Distractors. First sentences of other answers on the same page would give the question away by
its type: "What are the symptoms of X?" is answered by the only sentence about symptoms. So the
distractors are first sentences of answers to the *same question type* (the question with its focus
taken out) on *other* pages, with that page's focus replaced by this page's, written as this page
writes it ("celiac disease" inside a sentence, capitalised at its start; "a"/"an" fixed). Each
choice then reads as an answer to this question about this condition, and only knowing the page
tells them apart. Left out: pages about a related condition (their foci share a word that is not
common to focus names: "Anemia" and "Aplastic Anemia", whose sentences may be true of each other);
a sentence that already speaks of this condition; one that still names something this page never
mentions (a word of its own focus, a capitalised word or an acronym absent from this page, which
would give it away); one equal to or sharing most words with the answer or another choice.
Preferred, in order: the same publisher (house style: SeniorHealth's headings run into the first
sentence, NHLBI's do not), naming the focus as the answer does (or not), a length close to the
answer's. A question type with fewer than 3 usable sentences is skipped and counted. Split by a
hash of the file; see :mod:`suite_format`. Source: MedQuAD (abachaa/MedQuAD, CC BY 4.0).
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# the sibling modules, when imported by path
sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite_format import (  # noqa: E402
    Conversion,
    SuiteDocument,
    converter_args,
    make_item,
    seeded,
    select,
    summary,
    write_suite,
)

_PAGE_PREFIX = re.compile(r"^what i need to know about\s+", re.I)
_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]*\s+(?=[A-Z0-9\"“(])")
_ABBREVIATIONS = {
    "dr",
    "mr",
    "mrs",
    "ms",
    "st",
    "no",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "u.s",
    "jr",
    "sr",
    "inc",
    "approx",
}
_TOKEN = re.compile(r"[a-z0-9]+")
_GLOSSARY_MARK = re.compile(r"(?<=\w)\*")
MAX_SENTENCE_WORDS = 60
MIN_SENTENCE_WORDS = 5


def squash(text: str) -> str:
    return " ".join(str(text).split())


def clean_focus(focus: str) -> str:
    return _PAGE_PREFIX.sub("", squash(focus))


def paragraphs(answer: str) -> list[str]:
    """Paragraphs, whitespace collapsed, without the glossary asterisks of NIDDK pages ("Cirrhosis*
    is").
    """
    return [
        p for p in (_GLOSSARY_MARK.sub("", squash(part)) for part in _PARAGRAPH.split(answer)) if p
    ]


def sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph; a full stop after an abbreviation or an initial does not end
    one.
    """
    out: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        before = paragraph[start : match.start()].rstrip('"”’)').split()
        last = before[-1].rstrip(".").lower() if before else ""
        if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
            continue
        out.append(paragraph[start : match.start()].strip())
        start = match.end()
    out.append(paragraph[start:].strip())
    return [s for s in out if s]


def reads_as_heading(paragraph: str) -> bool:
    return len(paragraph.split()) <= 8 and not paragraph.rstrip().endswith((".", "!", "?", ":"))


def is_list(paragraph: str) -> bool:
    return paragraph.startswith(("- ", "• ", "* "))


def first_sentence(answer: str) -> str:
    """The answer's first sentence (see the module docstring); empty when the answer has none."""
    body = [p for p in paragraphs(answer) if not reads_as_heading(p) and not is_list(p)]
    if not body:
        return ""
    parts = sentences(body[0])
    text = parts[0]
    for extra in parts[1:]:
        if len(text.split()) >= MIN_SENTENCE_WORDS:
            break
        text = f"{text} {extra}"
    return text


def tidy_question(question: str, raw_focus: str, focus: str) -> str:
    text = squash(question.replace(raw_focus, focus) if raw_focus else question)
    text = re.sub(r"\s+\?", "?", text)
    text = re.sub(r"\?(\s*\?)+", "?", text)
    return text if focus.lower() in text.lower() else f"About {focus}: {text}"


def question_type(question: str, raw_focus: str, focus: str) -> str:
    """The question with its focus taken out, in lower case: ``what are the symptoms of x``."""
    text = squash(question).lower()
    for name in sorted({raw_focus.lower(), focus.lower()} - {""}, key=len, reverse=True):
        text = text.replace(name, "x")
    return squash(text.replace("?", " "))


@dataclass
class Page:
    """One page: its focus, how its own text writes the focus mid-sentence, and its vocabulary."""

    file: str
    raw_focus: str
    focus: str
    form: str
    words: frozenset[str]

    @property
    def publisher(self) -> str:
        return doc_id(self.file).split("-")[1]


@dataclass
class Answer:
    """The first answer to one question of one page, with what distractor selection needs."""

    page: Page
    qtype: str
    question: str
    sentence: str
    url: str
    #: False beyond --max-chars: the answer is not in the corpus and serves only as a distractor
    in_corpus: bool = True

    def names_focus(self, common: set[str]) -> bool:
        """The sentence names the page's focus, or a distinctive word of it ("anemia")."""
        return self.page.focus.lower() in self.sentence.lower() or bool(
            focus_words(self.page, common) & words_of(self.sentence)
        )


def doc_id(file: str) -> str:
    """``5_NIDDK_QA/0000001.xml`` -> ``medquad-niddk-0000001``."""
    folder, name = (file.split("/", 1) + [""])[:2]
    publisher = (folder.split("_") + ["", ""])[1].lower() or folder.lower()
    return f"medquad-{publisher}-{Path(name).stem}"


def words_of(text: str) -> set[str]:
    """Lower-case words and numbers, apostrophes dropped ("Peyronie's" = "Peyronies"; "MEN1" stays
    whole).
    """
    return set(_TOKEN.findall(text.lower().replace("'", "").replace("’", "")))


def make_page(file: str, raw_focus: str, text: str) -> Page:
    focus = clean_focus(raw_focus)
    inside = [
        m.group(0)
        for m in re.finditer(re.escape(focus), text, re.I)
        if m.start() > 0 and text[m.start() - 2] not in ".!?"
    ]
    form = Counter(inside).most_common(1)[0][0] if inside else focus
    return Page(file, raw_focus, focus, form, frozenset(words_of(text)))


def convert(path: Path, seed: int, max_chars: int = 0) -> Conversion:
    """The suite's documents and items; ``max_chars`` keeps only a page's first whole answers that
    fit.
    """
    rows = json.loads(path.read_text(encoding="utf-8"))
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["file"], []).append(row)
    conversion = Conversion()
    answers: list[Answer] = []
    for file, records in grouped.items():
        raw_focus = squash(records[0].get("focus", ""))
        if not raw_focus:
            conversion.skipped["page without a focus"] += len(records)
            continue
        texts = list(dict.fromkeys(r["answer"] for r in records))
        page = make_page(file, raw_focus, "\n\n".join(squash(t) for t in texts))
        kept = kept_answers(texts, max_chars)
        body = [p for text in kept for p in paragraphs(text)]
        conversion.documents.append(
            SuiteDocument(doc_id(file), file, page.focus, "\n\n".join(body))
        )
        answers += page_answers(page, records, set(kept), conversion.skipped)
    by_type: dict[str, list[Answer]] = {}
    for answer in answers:
        by_type.setdefault(answer.qtype, []).append(answer)
    docs = {d.uid: d for d in conversion.documents}
    common = common_words([d.title for d in conversion.documents])
    for answer in (a for a in answers if a.in_corpus):
        others = distractors(answer, by_type[answer.qtype], common, seed)
        add_item(conversion, docs[answer.page.file], answer, others, seed)
    return conversion


def kept_answers(texts: list[str], max_chars: int) -> list[str]:
    """The first answers whose paragraphs fit in ``max_chars`` (at least one; 0: all)."""
    kept: list[str] = []
    size = 0
    for text in texts:
        size += sum(len(p) + 2 for p in paragraphs(text))
        if kept and max_chars and size > max_chars:
            break
        kept.append(text)
    return kept


def add_item(
    conversion: Conversion,
    doc: SuiteDocument,
    answer: Answer,
    others: list[tuple[str, str]],
    seed: int,
) -> None:
    if len(others) < 3:
        conversion.skipped["fewer than 3 distractors (same question type elsewhere)"] += 1
        return
    items = conversion.items.setdefault(doc.id, [])
    items.append(
        make_item(
            f"{doc.id}-q{len(items) + 1:02d}",
            answer.question,
            answer.sentence,
            [t for t, _ in others],
            doc,
            answer.qtype,
            seed,
            question_type=answer.qtype,
            publisher=answer.page.publisher,
            url=answer.url,
            distractor_pages=[f for _, f in others],
            source="MedQuAD",
        )
    )


def page_answers(
    page: Page, records: list[dict[str, Any]], kept: set[str], skipped: Counter[str]
) -> list[Answer]:
    """The page's usable answers; those beyond ``kept`` are marked (they only serve as
    distractors).
    """
    out: list[Answer] = []
    seen: set[str] = set()
    for row in records:
        question = tidy_question(row["question"], page.raw_focus, page.focus)
        if question in seen:
            skipped["question repeated on its page (its first answer kept)"] += 1
            continue
        seen.add(question)
        sentence = first_sentence(row["answer"])
        if not sentence:
            skipped["answer without a sentence"] += 1
            continue
        if len(sentence.split()) > MAX_SENTENCE_WORDS:
            skipped[f"first sentence over {MAX_SENTENCE_WORDS} words"] += 1
            continue
        if row["answer"] not in kept:
            skipped["answer beyond --max-chars"] += 1
        out.append(
            Answer(
                page,
                question_type(row["question"], page.raw_focus, page.focus),
                question,
                sentence,
                row.get("url", ""),
                in_corpus=row["answer"] in kept,
            )
        )
    return out


def common_words(foci: list[str]) -> set[str]:
    """Words in at least 5% of the foci ("disease", "kidney", "syndrome"): they relate no two
    pages.
    """
    counts = Counter(w for focus in set(foci) for w in words_of(focus))
    return {w for w, n in counts.items() if n >= 0.05 * len(set(foci))}


def related(a: Page, b: Page, common: set[str]) -> bool:
    """Pages about related conditions ("Anemia" and "Aplastic Anemia"): one's sentence may be true
    of the other, so neither gives the other distractors."""
    return a.focus.lower() == b.focus.lower() or bool(
        focus_words(a, common) & focus_words(b, common)
    )


def focus_words(page: Page, common: set[str]) -> set[str]:
    return {w for w in words_of(page.focus) if len(w) >= 4} - common


def distractors(
    answer: Answer, same_type: list[Answer], common: set[str], seed: int
) -> list[tuple[str, str]]:
    """Up to 3 (sentence, page) from other pages' answers to the same question type."""
    rng = seeded(seed, f"{answer.page.file}:{answer.question}")
    scored = []
    for other in same_type:
        if other.page.file == answer.page.file or related(other.page, answer.page, common):
            continue
        if focus_words(answer.page, common) & words_of(other.sentence):
            # it already speaks of this condition ("Angina is a symptom of coronary heart disease")
            continue
        text = retarget(other, answer.page)
        if foreign(text, other.page, answer.page) or _close(text, answer.sentence):
            continue
        named = text != other.sentence and answer.page.form.lower() in text.lower()
        length = abs(math.log(len(text) / max(1, len(answer.sentence))))
        key = (
            other.page.publisher != answer.page.publisher,
            named != answer.names_focus(common),
            length + 0.3 * rng.random(),
        )
        scored.append((key, text, other.page.file))
    out: list[tuple[str, str]] = []
    for _, text, file in sorted(scored):
        if not any(_close(text, t) for t, _ in out):
            out.append((text, file))
        if len(out) == 3:
            break
    return out


def retarget(other: Answer, page: Page) -> str:
    """``other``'s sentence about its focus, made about ``page``'s focus, written as that page
    writes it (capitalised at the start of a sentence)."""
    text = other.sentence
    for name in sorted({other.page.raw_focus, other.page.focus}, key=len, reverse=True):
        text = re.sub(
            rf"\b{re.escape(name)}\b",
            lambda m: _form_at(page.form, m.string, m.start()),
            text,
            flags=re.I,
        )
    # "a" or "an" before the new name, by its first letter
    return re.sub(
        rf"\b([Aa])n?(\s+)(?={re.escape(page.form)})",
        lambda m: m.group(1) + ("n" if page.form[:1].lower() in "aeiou" else "") + m.group(2),
        text,
        flags=re.I,
    )


def _form_at(form: str, text: str, start: int) -> str:
    at_start = start == 0 or text[:start].rstrip()[-1:] in ".!?"
    return form[0].upper() + form[1:] if at_start else form


def foreign(text: str, other: Page, page: Page) -> bool:
    """The sentence still names something this page never mentions: a word of the other page's
    focus, a capitalised word inside the sentence or an acronym."""
    words = text.split()
    names = {w for w in words[1:] if w[:1].isupper()} | {
        w for w in words if sum(c.isupper() for c in w) >= 2
    }
    focus_words = {w for w in words_of(other.focus) if len(w) >= 3}
    suspects = (focus_words | words_of(" ".join(names))) - words_of(page.focus)
    return bool(suspects - page.words)


def _close(a: str, b: str) -> bool:
    """Equal, or sharing at least 60% of their words."""
    wa, wb = words_of(a), words_of(b)
    return a.lower() == b.lower() or len(wa & wb) / max(1, len(wa | wb)) >= 0.6


def main(argv: list[str] | None = None) -> int:
    args = converter_args(__doc__.splitlines()[0], argv, max_chars=3000)
    conversion = convert(args.file, args.seed, 0 if args.full else args.max_chars)
    documents, items = select(conversion, args.documents, args.questions, args.seed, args.full)
    write_suite(args.out, documents, items)
    print(summary("medquad", conversion, documents, items))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
