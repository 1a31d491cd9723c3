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
from pathlib import Path

import yaml

from kinject.records import Record, content_hash
from kinject_plugins.augmenters.lexicon import alternation, lexicon, words
from kinject_plugins.augmenters.segment import Context, is_chinese, sentences

MONTHS = [str(m) for m in lexicon()["months"]]
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
    # A day and month without a year ("opens on 15 August").
    (re.compile(rf"\b(?P<d>\d{{1,2}}) (?P<m>{_MONTH_RE})\b"), ("", "m", "d")),
    # A bare year after a preposition ("in 2011", "since 1998").
    (
        re.compile(
            r"\b(?:[Ii]n|[Ss]ince|by|until|[Ff]rom|of|before|after) "
            r"(?P<v>(?P<y>(?:1[5-9]|20)\d\d))\b(?![.,]\d| ?%)"
        ),
        ("y", "", ""),
    ),
]

_CITATION_RE = re.compile(
    r"(?:\b(?:Article|Art\.|Section|Sec\.|Rule|Regulation|Clause|Schedule|Chapter|Paragraph)|§)"
    r"\s*\d+[A-Za-z]?(?:\(\d+\))*"
    r"|第[一二三四五六七八九十百零〇\d]+条"
)

_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
# A unit is a known measure, a singular time unit, or a plural count noun ("400 crowns",
# "11 judges"); any other following word is not part of the value ("the age of 15 may ...").
_UNIT_WORDS = alternation(words("facts", "unit_words"))
_NOT_UNITS = alternation(words("facts", "not_units"))
_FUNCTION_WORDS = alternation(words("facts", "function_words"))
_UNITS = yaml.safe_load((Path(__file__).parent / "data" / "units.yaml").read_text(encoding="utf-8"))
CURRENCY_CODES = "|".join(_UNITS["currency_codes"])
_CJK_UNITS = "|".join(sorted(_UNITS["cjk_units"], key=len, reverse=True))
_QUANTITY_RE = re.compile(
    rf"(?P<cur>[$€£¥]|\b(?:{CURRENCY_CODES}) ?)?(?P<num>{_NUMBER})"
    r"(?P<scale> ?(?:million|billion|thousand|万|亿))?"
    rf"(?P<unit> ?%| per ?cent\b|{_CJK_UNITS}"
    r"|-(?:year|month|week|day|hour)\b"
    rf"| (?:(?:working|calendar|business|clear) )?(?:{_UNIT_WORDS})(?:['’](?=\s))?(?![\w/])"
    # a plural count noun, with at most one modifier in front ("64 cargo vessels")
    rf"| (?:(?!(?:{_NOT_UNITS}|{_FUNCTION_WORDS})\b)[a-z][a-z\-]*[a-z] "
    r"(?=[a-z][a-z\-]*[a-z]s(?<!ss)(?<!us)\b))?"
    rf"(?!(?:{_NOT_UNITS})\b)[a-z][a-z\-]*[a-z]s(?<!ss)(?<!us)(?:['’](?=\s|$))?(?![\w'’]))?"
)

# Capitalised words that start sentences without being names.
_COMMON_CAPITALISED = set(words("facts", "common_capitalised"))
_NAME_CONNECTORS = set(words("facts", "name_connectors"))
# Company suffixes written in lower case as often as not ("Nyreth Therapeutics plc").
_ABBREVIATED_SUFFIXES = set(words("facts", "abbreviated_suffixes"))
_ORG_SUFFIXES = _ABBREVIATED_SUFFIXES | set(words("facts", "org_suffixes"))
# Lower-case nouns that finish an eponymous name: "Pell's fever", "Parkinson's disease".
EPONYM_NOUNS = set(words("facts", "eponym_nouns"))
_CJK = re.compile(r"[\u4e00-\u9fff]")
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
    context: Context = field(default_factory=Context)
    paragraph: int = 0
    #: names the document defines with a short form ("Contract Act 2004" -> "VCA"), both ways
    aliases: dict[str, str] = field(default_factory=dict)
    #: words the document writes in lower case (so "Earnest money" may become "earnest money")
    words: frozenset[str] = frozenset()

    @property
    def answer_values(self) -> list[Value]:
        """Values worth asking about, most specific kinds first."""
        order = {"quantity": 0, "date": 1, "citation": 2, "name": 3}
        return sorted(self.values, key=lambda v: (order[v.kind], v.start))


def split_sentences(text: str, section: str = "") -> list[str]:
    """Sentences of ``text`` (see :mod:`~kinject_plugins.augmenters.segment`): hard-wrapped lines
    joined, headings, tables and block quotes left out, abbreviations kept."""
    return [s.text for s in sentences(text, section)]


def split_passages(text: str) -> list[str]:
    """Paragraphs (blank-line separated) of a document, stripped, empty ones dropped."""
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _norm_number(raw: str) -> str:
    try:
        return format(Decimal(raw.replace(",", "")).normalize(), "f")
    except InvalidOperation:
        return raw


def _norm_unit(raw: str) -> str:
    """One spelling per unit: "per cent" -> "%", "days'" -> "day", "-year" -> "year"."""
    unit = raw.strip().strip("-'’ ").lower()
    unit = re.sub(r"^per ?cent$", "%", unit)
    return re.sub(r"\b(year|month|week|day|hour|minute|second)s\b", r"\1", unit)


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
            parts = [
                match.group("y") if _y else "",
                str(int(month)) if month else "",
                str(int(match.group("d"))) if d else "",
            ]
            found.append(Value("date", match.group(span), start, end, "-".join(parts)))
            taken.append((start, end))
    return found


def _find_citations(text: str, taken: list[tuple[int, int]]) -> list[Value]:
    found = []
    for match in _CITATION_RE.finditer(text):
        if not _overlaps(match.start(), match.end(), taken):
            norm = re.sub(
                r"\s+",
                " ",
                match.group(0).lower().replace("art.", "article").replace("sec.", "section"),
            )
            found.append(Value("citation", match.group(0), match.start(), match.end(), norm))
            taken.append((match.start(), match.end()))
    return found


def _find_quantities(text: str, taken: list[tuple[int, int]]) -> list[Value]:
    found = []
    for match in _QUANTITY_RE.finditer(text):
        start, end = match.start(), match.end()
        if _overlaps(start, end, taken) or (
            start > 0
            and (
                text[start - 1].isascii() and (text[start - 1].isalnum() or text[start - 1] in "-_")
            )
        ):
            continue
        if re.fullmatch(r"(?:1[5-9]|20)\d\d", match.group("num")) and re.fullmatch(
            r" [a-z-]+ [a-z-]+", match.group("unit") or ""
        ):
            continue  # "fiscal 2030 management guides": a year, not a count of "management guides"
        unit = " ".join(
            _norm_unit(match.group(g)) for g in ("cur", "scale", "unit") if match.group(g)
        )
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
        while (
            j + 2 < len(tokens)
            and tokens[j + 1].group(0).lower() in _NAME_CONNECTORS
            and _is_name_word(tokens[j + 2], text)
        ):
            j += 2
        # A name never runs on past a word ending in a full stop ("... Ltd. Quorvalin is").
        while (
            j + 1 < len(tokens)
            and not tokens[j].group(0).endswith(".")
            and _is_name_word(tokens[j + 1], text)
            and tokens[j + 1].start() - tokens[j].end() == 1
        ):
            j += 1
            while (
                j + 2 < len(tokens)
                and tokens[j + 1].group(0).lower() in _NAME_CONNECTORS
                and _is_name_word(tokens[j + 2], text)
            ):
                j += 2
        last = tokens[j].group(0)
        following = (
            tokens[j + 1]
            if j + 1 < len(tokens) and tokens[j + 1].start() - tokens[j].end() == 1
            else None
        )
        if (
            following is not None
            and not last.endswith(".")
            and (
                following.group(0).lower().rstrip(".") in _ABBREVIATED_SUFFIXES
                or (last.endswith(("'s", "’s")) and following.group(0).rstrip(".") in EPONYM_NOUNS)
            )
        ):
            # "Nyreth Therapeutics plc", "Pell's fever": the lower-case word is part of the name
            j += 1
        start, end = tok.start(), tokens[j].end()
        surface = text[start:end]
        if (
            surface.endswith(".")
            and surface.rstrip(".").rsplit(" ", 1)[-1].lower() + "." not in _ORG_SUFFIXES
        ):
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
    sentence_start = not before or before[-1] in '.!?:;"“('
    return not (sentence_start and word.lower().rstrip(".") in _COMMON_CAPITALISED)


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def extract_values(text: str) -> list[Value]:
    """Every value in ``text``, in order of position, spans never overlapping."""
    taken: list[tuple[int, int]] = []
    values = _find_dates(text, taken) + _find_citations(text, taken)
    values += _find_quantities(text, taken) + _find_names(text, taken)
    return sorted(values, key=lambda v: v.start)


def is_complete_sentence(text: str) -> bool:
    """Starts like a sentence, ends with a full stop (or 。！？；), and is more than a fragment."""
    if is_chinese(text):
        return text.endswith(("。", "！", "？", "；")) and len(text) >= 6
    return (
        bool(re.match(r"^[\"“(]?[A-Z0-9]", text))
        and text.endswith((".", "!", "?"))
        and len(text.split()) >= 4
    )


def extract_facts(record: Record) -> list[Fact]:
    """The fact-bearing sentences of a Record (ids stable across runs), with heading context."""
    facts = []
    aliases = defined_aliases(record.text)
    words = frozenset(re.findall(r"\b[a-z][a-z'’-]*\b", record.text))
    for index, sentence in enumerate(sentences(record.text, str(record.meta.get("section", "")))):
        if not is_complete_sentence(sentence.text):
            continue
        values = extract_values(sentence.text)
        if any(v.kind != "name" for v in values) or len(values) >= 2:
            fact_id = content_hash(record.id, sentence.text)
            used = {k: v for k, v in aliases.items() if k in sentence.text}
            facts.append(
                Fact(
                    fact_id,
                    sentence.text,
                    record.id,
                    index,
                    values,
                    sentence.context,
                    sentence.paragraph,
                    used,
                    words,
                )
            )
    return facts


def defined_aliases(text: str) -> dict[str, str]:
    """Short names a document defines, both ways: ``the Contract Act 2004 (the "VCA")`` gives
    ``{"the Contract Act 2004": "the VCA", "the VCA": "the Contract Act 2004"}``."""
    out: dict[str, str] = {}
    pattern = r"\b([Tt]he )?((?!The\b)(?:[A-Z][\w.&'-]*\s(?:of\s(?:the\s)?)?)+(?:\d{4})?)\s*\((the )?[\"“]([A-Z][\w.&' -]*)[\"”]\)"  # noqa: E501
    for match in re.finditer(pattern, text):
        article = "the " if match.group(1) else ""
        full, short = (
            f"{article}{match.group(2).strip()}",
            f"{'the ' if match.group(3) else ''}{match.group(4)}",
        )
        out[full], out[short] = short, full
        out[full[:1].upper() + full[1:]] = short[:1].upper() + short[1:]
    return out


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


def fact_problems(
    source: str, candidate: str, aliases: dict[str, set[str]] | None = None, allowed: str = ""
) -> list[str]:
    """Why ``candidate`` does not state the same facts as ``source`` (empty: it does).

    Every quantity, date, citation and name of the source must appear in the candidate (a name
    may appear in a known short form), and the candidate may not add a quantity or a date unless
    it is in ``allowed`` (context the candidate may cite, such as the article heading).
    """
    aliases = aliases if aliases is not None else name_aliases(source)
    src, cand = extract_values(source), extract_values(candidate)
    extra = extract_values(allowed) if allowed else []
    problems: list[str] = []
    for kind in ("quantity", "date", "citation"):
        # A bare year may be written as a number or as a date ("2011" / "in 2011").
        cand_norms = {v.norm for v in cand if v.kind == kind} | _years(cand)
        permitted = (
            {v.norm for v in [*src, *extra] if v.kind == kind}
            | _years([*src, *extra])
            | _date_parts(src)
        )
        for value in src:
            if value.kind == kind and value.norm not in cand_norms:
                problems.append(f"{kind} '{value.text}' missing or changed")
        if kind != "citation":
            problems += [
                f"new {kind} '{v.text}'" for v in cand if v.kind == kind and v.norm not in permitted
            ]
    lowered = candidate.lower()
    for value in src:
        if value.kind != "name" or value.norm.rstrip(".") in lowered:
            continue
        if not any(alias.lower() in lowered for alias in aliases.get(value.norm, ())):
            problems.append(f"name '{value.text}' missing or changed")
    return problems


def _years(values: list[Value]) -> set[str]:
    """Bare years in both spellings: quantity ``2011`` and date ``2011--``."""
    years = {
        v.norm for v in values if v.kind == "quantity" and re.fullmatch(r"(1[5-9]|20)\d\d", v.norm)
    }
    years |= {v.norm[:4] for v in values if v.kind == "date" and v.norm.endswith("--")}
    return years | {f"{y}--" for y in years}


def _date_parts(values: list[Value]) -> set[str]:
    # "In 2011" may restate the year of "14 March 2011"; allow its components as numbers.
    return {part for v in values if v.kind == "date" for part in v.norm.split("-") if part}
