"""Facts in text: fact-bearing sentences and the values that make them facts.

A *value* is what a closed-book question about a sentence would ask for: a quantity (number plus
unit or currency), a date, a citation (``Article 12``, ``第五条``) or a name. A sentence with at
least one value is *fact-bearing*. Augmenters use the values three ways: to pick sentences worth
rewriting, to turn a sentence into questions whose answer is a value, and to reject a rewrite that
changed a value (:func:`fact_problems`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from kinject.records import Record, content_hash

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"]
_MONTH_RE = "|".join(m.capitalize() for m in MONTHS)

# Dates: several surface forms normalise to the same (year, month, day) so a rewrite may reformat
# a date without being rejected.
_DATE_PATTERNS: list[tuple[re.Pattern[str], tuple[str, str, str]]] = [
    (re.compile(rf"\b(?P<d>\d{{1,2}}) (?P<m>{_MONTH_RE}) (?P<y>\d{{4}})\b"), ("y", "m", "d")),
    (re.compile(rf"\b(?P<m>{_MONTH_RE}) (?P<d>\d{{1,2}}),? (?P<y>\d{{4}})\b"), ("y", "m", "d")),
    (re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"), ("y", "m", "d")),
    (re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日"), ("y", "m", "d")),
    (re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月"), ("y", "m", "")),
    (re.compile(rf"\b(?P<m>{_MONTH_RE}) (?P<y>\d{{4}})\b"), ("y", "m", "")),
    (re.compile(r"(?P<y>\d{4})年"), ("y", "", "")),
    # A bare year after a preposition ("in 2011", "since 1998").
    (re.compile(r"\b(?:[Ii]n|[Ss]ince|by|until|[Ff]rom|of|before|after) (?P<v>(?P<y>(?:1[5-9]|20)\d\d))\b(?![.,]\d| ?%)"), ("y", "", "")),
]

_CITATION_RE = re.compile(
    r"(?:\b(?:Article|Art\.|Section|Sec\.|Rule|Regulation|Clause|Schedule|Chapter|Paragraph)|§)"
    r"\s*\d+[A-Za-z]?(?:\(\d+\))*"
    r"|第[一二三四五六七八九十百零〇\d]+条"
)

_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_QUANTITY_RE = re.compile(
    rf"(?P<cur>[$€£¥]|\b(?:USD|EUR|GBP|CNY|RMB) ?)?(?P<num>{_NUMBER})"
    r"(?P<scale> ?(?:million|billion|thousand|万|亿))?"
    r"(?P<unit> ?%|万元|亿元|元|美元|个月|天|日|年|岁|毫克|公斤|倍|(?: (?!(?:of|and|or|to|in|on|at|for|per|by|the|a|an|is|was|are|were|after|before|from|with|than|under|over|if|when|which|that)\b)[a-zμ°][a-zA-Z/²³μ°]*))?"
)

# Abbreviations that do not end a sentence ("Ltd." and "Inc." often do, so they are not here).
_ABBREVIATIONS = {"no", "art", "sec", "dr", "mr", "mrs", "ms", "st", "e.g", "i.e", "vs", "prof", "jr", "sr"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“(A-Z0-9\u4e00-\u9fff])|(?<=[。！？；])")

# Capitalised words that start sentences without being names.
_COMMON_CAPITALISED = set(
    ["the", "a", "an", "in", "on", "at", "under", "according", "after", "before", "during", "for", "from", "if", "it", "its", "this", "that", "these", "those", "each", "every", "all", "any", "no", "not", "when", "where", "while", "with", "without", "by", "as", "of", "to", "and", "or", "but", "however", "patients", "patient", "adults", "adult", "children", "employers", "employees", "tenants", "landlords", "holders", "there", "their", "they", "we", "you", "he", "she", "his", "her", "our", "note", "record", "fact", "question", "answer", "q", "a"]
)
_NAME_CONNECTORS = {"of", "for", "and", "&", "de", "la", "von", "van"}
_ORG_SUFFIXES = {
    "ltd", "ltd.", "inc", "inc.", "plc", "llc", "gmbh", "corp", "corp.", "corporation",
    "group", "holdings", "pharmaceuticals", "pharma", "labs", "laboratories", "bank", "company",
}
_CAPWORD = re.compile(r"[A-Z][\w'’.\-]*")


@dataclass(frozen=True)
class Value:
    """One fact value found in a text: ``kind`` is quantity, date, citation or name."""

    kind: str
    text: str
    start: int
    end: int
    norm: str


@dataclass
class Fact:
    """A fact-bearing sentence of a Record with its values."""

    id: str
    text: str
    record_id: str
    index: int
    values: list[Value] = field(default_factory=list)

    @property
    def answer_values(self) -> list[Value]:
        """Values worth asking about, most specific kinds first."""
        order = {"quantity": 0, "date": 1, "citation": 2, "name": 3}
        return sorted(self.values, key=lambda v: (order[v.kind], v.start))


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (English and Chinese punctuation; common abbreviations kept).

    Line breaks end sentences too, so a heading is never glued to the paragraph after it.
    """
    return [s for line in text.splitlines() for s in _split_line(line)]


def _split_line(text: str) -> list[str]:
    pieces: list[str] = []
    buffer = ""
    for part in _SENTENCE_END.split(text.strip()):
        buffer = f"{buffer} {part}".strip() if buffer else part.strip()
        last = buffer.rstrip(".").rsplit(" ", 1)[-1].lower()
        if buffer.endswith(".") and last in _ABBREVIATIONS:
            continue
        if buffer:
            pieces.append(buffer)
        buffer = ""
    if buffer:
        pieces.append(buffer)
    return [p for p in pieces if p]


def split_passages(text: str) -> list[str]:
    """Paragraphs (blank-line separated) of a document, stripped, empty ones dropped."""
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _norm_number(raw: str) -> str:
    try:
        return format(Decimal(raw.replace(",", "")).normalize(), "f")
    except InvalidOperation:
        return raw


def _find_dates(text: str, taken: list[tuple[int, int]]) -> list[Value]:
    found: list[Value] = []
    for pattern, (_y, m, d) in _DATE_PATTERNS:
        span = "v" if "v" in pattern.groupindex else 0
        for match in pattern.finditer(text):
            start, end = match.span(span)
            if _overlaps(start, end, taken):
                continue
            month = match.group("m") if m else ""
            if month and not month.isdigit():
                month = str(MONTHS.index(month.lower()) + 1)
            parts = [match.group("y"), str(int(month)) if month else "", str(int(match.group("d"))) if d else ""]
            found.append(Value("date", match.group(span), start, end, "-".join(parts)))
            taken.append((start, end))
    return found


def _find_citations(text: str, taken: list[tuple[int, int]]) -> list[Value]:
    found = []
    for match in _CITATION_RE.finditer(text):
        if not _overlaps(match.start(), match.end(), taken):
            norm = re.sub(r"\s+", " ", match.group(0).lower().replace("art.", "article").replace("sec.", "section"))
            found.append(Value("citation", match.group(0), match.start(), match.end(), norm))
            taken.append((match.start(), match.end()))
    return found


def _find_quantities(text: str, taken: list[tuple[int, int]]) -> list[Value]:
    found = []
    for match in _QUANTITY_RE.finditer(text):
        start, end = match.start(), match.end()
        if _overlaps(start, end, taken) or (start > 0 and (text[start - 1].isascii() and (text[start - 1].isalnum() or text[start - 1] in "-_"))):
            continue
        unit = " ".join(match.group(g).strip().lower() for g in ("cur", "scale", "unit") if match.group(g))
        number = _norm_number(match.group("num"))
        norm = f"{number} {unit}".strip()
        found.append(Value("quantity", match.group(0).strip(), start, end, norm))
        taken.append((start, end))
    return found


def _find_names(text: str, taken: list[tuple[int, int]]) -> list[Value]:
    found = []
    tokens = list(re.finditer(r"[\w'’.&\-]+", text))
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not _is_name_word(tok, text) or _overlaps(tok.start(), tok.end(), taken):
            i += 1
            continue
        j = i
        while j + 2 < len(tokens) and tokens[j + 1].group(0).lower() in _NAME_CONNECTORS and _is_name_word(tokens[j + 2], text):
            j += 2
        # A name never runs on past a word ending in a full stop ("... Ltd. Quorvalin is").
        while j + 1 < len(tokens) and not tokens[j].group(0).endswith(".") and _is_name_word(tokens[j + 1], text) and tokens[j + 1].start() - tokens[j].end() == 1:
            j += 1
            while j + 2 < len(tokens) and tokens[j + 1].group(0).lower() in _NAME_CONNECTORS and _is_name_word(tokens[j + 2], text):
                j += 2
        start, end = tok.start(), tokens[j].end()
        surface = text[start:end]
        if surface.endswith(".") and surface.rstrip(".").rsplit(" ", 1)[-1].lower() + "." not in _ORG_SUFFIXES:
            surface, end = surface[:-1], end - 1
        if not _overlaps(start, end, taken):
            found.append(Value("name", surface, start, end, surface.lower()))
            taken.append((start, end))
        i = j + 1
    return found


def _is_name_word(tok: re.Match[str], text: str) -> bool:
    word = tok.group(0)
    if not _CAPWORD.fullmatch(word) or word.lower().rstrip(".") in MONTHS:
        return False
    before = text[: tok.start()].rstrip()
    sentence_start = not before or before[-1] in ".!?:;\"“("
    return not (sentence_start and word.lower().rstrip(".") in _COMMON_CAPITALISED)


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def extract_values(text: str) -> list[Value]:
    """Every value in ``text``, in order of position, spans never overlapping."""
    taken: list[tuple[int, int]] = []
    values = _find_dates(text, taken) + _find_citations(text, taken)
    values += _find_quantities(text, taken) + _find_names(text, taken)
    return sorted(values, key=lambda v: v.start)


def extract_facts(record: Record) -> list[Fact]:
    """The fact-bearing sentences of a Record (ids stable across runs)."""
    facts = []
    for index, sentence in enumerate(split_sentences(record.text)):
        if sentence.startswith("#"):  # a Markdown heading names a topic; it states no fact
            continue
        values = extract_values(sentence)
        if any(v.kind != "name" for v in values) or len(values) >= 2:
            facts.append(Fact(content_hash(record.id, sentence), sentence, record.id, index, values))
    return facts


def name_aliases(text: str) -> dict[str, set[str]]:
    """Short forms of names that a rewrite may use: ``Orsa Labs Ltd.`` -> ``Orsa``, plus
    definitions written as ``Full Name ("Short")``."""
    aliases: dict[str, set[str]] = {}
    for value in (v for sentence in split_sentences(text) for v in extract_values(sentence)):
        if value.kind != "name":
            continue
        words = value.text.split()
        core = [w for w in words if w.lower() not in _ORG_SUFFIXES]
        if 0 < len(core) < len(words):
            aliases.setdefault(value.norm, set()).add(" ".join(core))
    for match in re.finditer(r"([A-Z][\w.&' -]+?) \(\"?“?([A-Z][\w.&' -]*?)\"?”?\)", text):
        aliases.setdefault(match.group(1).strip().lower(), set()).add(match.group(2).strip())
    return aliases


def short_form(name: str) -> str | None:
    """The name without its organisation suffix, or None when it has none."""
    words = name.split()
    core = [w for w in words if w.lower() not in _ORG_SUFFIXES]
    return " ".join(core) if 0 < len(core) < len(words) else None


def fact_problems(source: str, candidate: str, aliases: dict[str, set[str]] | None = None) -> list[str]:
    """Why ``candidate`` does not state the same facts as ``source`` (empty: it does).

    Every quantity, date, citation and name of the source must appear in the candidate (a name
    may appear in a known short form), and the candidate may not add a quantity or a date.
    """
    aliases = aliases if aliases is not None else name_aliases(source)
    src, cand = extract_values(source), extract_values(candidate)
    problems: list[str] = []
    for kind in ("quantity", "date", "citation"):
        # A bare year may be written as a number or as a date ("2011" / "in 2011").
        cand_norms = {v.norm for v in cand if v.kind == kind} | _years(cand)
        allowed = {v.norm for v in src if v.kind == kind} | _years(src) | _date_parts(src)
        for value in src:
            if value.kind == kind and value.norm not in cand_norms:
                problems.append(f"{kind} '{value.text}' missing or changed")
        if kind != "citation":
            problems += [f"new {kind} '{v.text}'" for v in cand if v.kind == kind and v.norm not in allowed]
    lowered = candidate.lower()
    for value in src:
        if value.kind != "name" or value.norm.rstrip(".") in lowered:
            continue
        if not any(alias.lower() in lowered for alias in aliases.get(value.norm, ())):
            problems.append(f"name '{value.text}' missing or changed")
    return problems


def _years(values: list[Value]) -> set[str]:
    """Bare years in both spellings: quantity ``2011`` and date ``2011--``."""
    years = {v.norm for v in values if v.kind == "quantity" and re.fullmatch(r"(1[5-9]|20)\d\d", v.norm)}
    years |= {v.norm[:4] for v in values if v.kind == "date" and v.norm.endswith("--")}
    return years | {f"{y}--" for y in years}


def _date_parts(values: list[Value]) -> set[str]:
    # "In 2011" may restate the year of "14 March 2011"; allow its components as numbers.
    return {part for v in values if v.kind == "date" for part in v.norm.split("-") if part}
