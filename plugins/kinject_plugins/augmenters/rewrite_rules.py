"""Offline rewrites of one fact sentence, by family.

Each rule returns a rewrite or None when it does not apply. :func:`sentence_variants` applies
them (and simple compositions) and groups the results by family so the caller can pick diverse
ones: ``structure`` (clauses reordered, active/passive, copula inversion, date format), ``short``
(entity short forms, defined names) and ``qa`` (a well-formed question and its answer).
:func:`with_context` names the article a sentence comes from. A rule that cannot apply cleanly
returns None: a skipped rewrite is better than a broken sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from kinject_plugins.augmenters.clauses import IRREGULAR_PAST, parse_clause
from kinject_plugins.augmenters.facts import MONTHS, Fact, Value, short_form
from kinject_plugins.augmenters.questions import question_pairs
from kinject_plugins.augmenters.segment import is_chinese

QA_FORMS = ("Question: {q} Answer: {a}.", "Q: {q} A: {a}.", "{q} {A}.")
QA_FORMS_ZH = ("问：{q}答：{a}。", "{q}{a}。")
_PAST_TO_PARTICIPLE = {v: k for k, v in IRREGULAR_PAST.items()}
_ADVERBIAL_PREPS = "on|in|under|since|from|by|until|before|after|within"
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _lower_first(text: str, fact: Fact) -> str:
    first = text.split(" ", 1)[0]
    common = first.lower() in fact.words or first.lower() in (
        "the",
        "a",
        "an",
        "any",
        "each",
        "every",
        "no",
        "all",
    )
    if not common and any(
        text.startswith(v.text) for v in fact.values if v.kind in ("name", "citation")
    ):
        return text
    if first.isupper() and len(first) > 1:
        return text  # an acronym ("VAT", "CPA")
    return text[:1].lower() + text[1:]


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _body(sentence: str) -> str:
    return sentence.rstrip().rstrip(".")


def tidy(text: str) -> str:
    """Collapse the doubled full stop left when a sentence ends with ``Ltd.``; end with a stop."""
    text = re.sub(r"\.\.(?=\s|$)", ".", text.rstrip())
    return text if re.search(r"[.?!。？！]$", text) else text + "."


def front_adverbial(fact: Fact) -> str | None:
    """Move a trailing ``on <date>`` / ``under <article>`` phrase to the front."""
    body = _body(fact.text)
    for value in reversed(fact.values):
        if value.kind not in ("date", "citation"):
            continue
        match = re.search(rf"\s({_ADVERBIAL_PREPS}) {re.escape(value.text)}$", body)
        if match:
            rest = body[: match.start()].strip()
            return tidy(f"{_upper_first(match.group(1))} {value.text}, {_lower_first(rest, fact)}")
    return None


def front_clause(fact: Fact) -> str | None:
    """Move a trailing ``before leaving`` / ``if ...`` clause to the front."""
    match = re.match(
        r"^(?P<main>.+?) (?P<clause>(?:before|after|when|if|unless|during|once) [^,()]+)$",
        _body(fact.text),
    )
    if (
        not match
        or "," in match.group("main")
        or re.search(r"\b(?:and|or|but)\b", match.group("clause"))
    ):
        return None
    if parse_clause(match.group("main")) is None:
        return None  # the part left behind must still be a clause with its own verb
    return f"{_upper_first(match.group('clause'))}, {_lower_first(match.group('main'), fact)}."


def back_adverbial(fact: Fact) -> str | None:
    """Move a leading ``Under Article 12,`` phrase to the end."""
    match = re.match(
        rf"^((?:{_ADVERBIAL_PREPS}|{'|'.join(p.capitalize() for p in _ADVERBIAL_PREPS.split('|'))}) [^,]+), (.+)$",  # noqa: E501
        _body(fact.text),
    )
    if (
        not match
        or "," in match.group(2)
        or match.group(2).split(" ", 1)[0].lower() in ("it", "they", "this")
    ):
        return None
    return f"{_upper_first(match.group(2))} {match.group(1)[:1].lower()}{match.group(1)[1:]}."


def passive_to_active(fact: Fact) -> str | None:
    """``X was founded in 1998 by Y.`` -> ``Y founded X in 1998.``"""
    match = re.match(
        r"^(?P<obj>.+?) (?:was|were) (?P<verb>\w+)(?P<mid>(?: [^,]*?)?) by "
        r"(?P<agent>[A-Z][^,]*?)(?P<tail>(?: (?:in|on) .+)?)$",
        _body(fact.text),
    )
    if not match or not (
        match.group("verb").endswith("ed") or match.group("verb") in IRREGULAR_PAST
    ):
        return None
    verb = IRREGULAR_PAST.get(match.group("verb"), match.group("verb"))
    obj = _lower_first(match.group("obj"), fact)
    return f"{match.group('agent')} {verb} {obj}{match.group('mid')}{match.group('tail')}."


def active_to_passive(fact: Fact) -> str | None:
    """``Y founded X in 1998.`` -> ``X was founded by Y in 1998.`` (Y must be a name)."""
    names = [v for v in fact.values if v.kind == "name" and v.start == 0]
    if not names:
        return None
    rest = _body(fact.text)[names[0].end :].strip()
    match = re.match(
        r"^(?P<verb>\w+ed|"
        + "|".join(_PAST_TO_PARTICIPLE)
        + r") (?P<obj>.+?)(?P<tail>(?: (?:in|on) .+)?)$",
        rest,
    )
    if not match or match.group("verb") in ("used", "needed"):
        return None
    participle = _PAST_TO_PARTICIPLE.get(match.group("verb"), match.group("verb"))
    return (
        f"{_upper_first(match.group('obj'))} was {participle} by "
        f"{names[0].text}{match.group('tail')}."
    )


def invert_copula(fact: Fact) -> str | None:
    """``The maximum dose of X is 40 mg.`` -> ``40 mg is the maximum dose of X.``"""
    match = re.match(r"^(?P<subj>.+?) (?P<cop>is|are|was|were) (?P<pred>.+)$", _body(fact.text))
    if not match or not any(v.text == match.group("pred") for v in fact.values):
        return None
    return f"{match.group('pred')} {match.group('cop')} {_lower_first(match.group('subj'), fact)}."


def reformat_dates(fact: Fact) -> str | None:
    """``14 March 2011`` <-> ``March 14, 2011`` (the fact check normalises both)."""
    text, changed = fact.text, False
    for value in sorted((v for v in fact.values if v.kind == "date"), key=lambda v: -v.start):
        parts = value.norm.split("-")
        if not (parts[1] and parts[2]) or _CJK.search(value.text):
            continue
        month = MONTHS[int(parts[1]) - 1].capitalize()
        new = (
            f"{month} {parts[2]}, {parts[0]}"
            if value.text[0].isdigit()
            else f"{parts[2]} {month} {parts[0]}"
        )
        text, changed = text[: value.start] + new + text[value.end :], True
    return text if changed else None


def _in_case_name(fact: Fact, value: Value) -> bool:
    """Part of a case name ("Marren v Oskel Holdings (2011)"), which is never shortened."""
    return bool(
        re.search(r"\bv\.? $", fact.text[: value.start]) or fact.text[value.end :].startswith(" (")
    )


def shorten_names(fact: Fact) -> str | None:
    """Use an organisation's short form after introducing it: ``Orsa Labs Ltd.`` -> ``Orsa``."""
    text = fact.text
    for value in sorted((v for v in fact.values if v.kind == "name"), key=lambda v: -v.start):
        short = short_form(value.text) if not _in_case_name(fact, value) else None
        if short:
            text = text[: value.start] + short + text[value.end :]
    return tidy(text) if text != fact.text else None


def use_defined_alias(fact: Fact) -> str | None:
    """A name the document defined ("the Residential Tenancy Act 2011 (the "RTA")") in its short
    form, or the short form spelled out; the aliases come with the fact (``fact.aliases``)."""
    for full, short in fact.aliases.items():
        if full in fact.text and short not in fact.text:
            return fact.text.replace(full, short, 1)
    return None


def define_short_name(fact: Fact) -> str | None:
    """``Orsa Labs Ltd. (Orsa) was founded ...``: full and short form together."""
    for value in fact.values:
        short = (
            short_form(value.text)
            if value.kind == "name" and not _in_case_name(fact, value)
            else None
        )
        if short:
            return fact.text[: value.end] + f' ("{short}")' + fact.text[value.end :]
    return None


STRUCTURE_RULES: tuple[Callable[[Fact], str | None], ...] = (
    front_adverbial,
    front_clause,
    back_adverbial,
    passive_to_active,
    active_to_passive,
    invert_copula,
    reformat_dates,
)


def _retarget(fact: Fact, text: str) -> Fact:
    from kinject_plugins.augmenters.facts import extract_values

    return replace(fact, text=text, values=extract_values(text))


def _qa_forms(fact: Fact, vocabulary: set[str] | None) -> list[str]:
    """Statement-to-question rewrites: a well-formed question followed by its answer."""
    pairs = [p for p in question_pairs(fact, vocabulary) if p.form not in ("cloze", "article")]
    forms = QA_FORMS_ZH if is_chinese(fact.text) else QA_FORMS
    return [
        tidy(forms[i % len(forms)].format(q=p.question, a=p.answer, A=_upper_first(p.answer)))
        for i, p in enumerate(pairs[:3])
    ]


def with_context(sentence: str, fact: Fact, style: int) -> str | None:
    """The sentence with the article it comes from: "Under Article 86 (Earnest money) of the
    Contract Act 2004, earnest money ...", "... provides that ...", or a trailing citation."""
    phrase = fact.context.phrase()
    if (
        not phrase
        or re.search(r"\b(?:Article|Section|Rule)\s+\d", sentence)
        or _CJK.search(sentence[:1])
    ):
        return None
    if sentence.split(" ", 1)[0].lower() in ("it", "they", "this", "these", "such", "its"):
        return None  # a pronoun needs the sentence before it, not a citation
    body = _body(sentence)
    lowered = _lower_first(body, _retarget(fact, body))
    if style % 3 == 0:
        return tidy(f"Under {phrase}, {lowered}")
    if style % 3 == 1:
        return tidy(f"{phrase} provides that {lowered}")
    citation = fact.context.citation + (f" of the {fact.context.law}" if fact.context.law else "")
    return tidy(f"{body} ({citation})")


def sentence_variants(fact: Fact, vocabulary: set[str] | None = None) -> dict[str, list[str]]:
    """Rewrites of a fact sentence grouped by family (duplicates and the original removed):
    ``structure`` (clause order, voice, copula, date format), ``short`` (short or defined names),
    ``qa`` (question and answer). A rule that does not apply cleanly gives nothing."""
    families = {"qa": _qa_forms(fact, vocabulary)}
    if (
        is_chinese(fact.text)
        or re.search(r"[;:]|\b(?:and|or|except)\b", fact.text)
        or len(fact.text.split()) > 30
    ):
        return families  # the reordering rules read English clauses one at a time
    structure = [tidy(r) for rule in STRUCTURE_RULES if (r := rule(fact))]
    # One level of composition: a reformatted date in a reordered sentence, and so on.
    structure += [
        tidy(r2)
        for r in list(structure)
        for rule in STRUCTURE_RULES
        if (r2 := rule(_retarget(fact, r)))
    ]
    short = [
        tidy(s)
        for s in (shorten_names(fact), define_short_name(fact), use_defined_alias(fact))
        if s
    ]
    short += [tidy(s) for r in structure if (s := shorten_names(_retarget(fact, r)))]
    families.update(structure=structure, short=short)
    seen = {fact.text}
    out: dict[str, list[str]] = {}
    for family, texts in families.items():
        out[family] = [t for t in texts if not (t in seen or seen.add(t))]  # type: ignore[func-returns-value]
    return out
