"""Template questions whose answer is one value of a fact sentence.

``questions_for(fact, value)`` turns "The Corvell Water Act was enacted on 14 March 2011." and
its date into several phrasings ("When was the Corvell Water Act enacted?", "The Corvell Water
Act was enacted on which date?", "Fill in the blank: ..."). Used by ``qa-generate`` for QA
records and by ``paraphrase`` for its question-and-answer forms.
"""

from __future__ import annotations

import re

from kinject_plugins.augmenters.facts import Fact, Value, short_form

_AUX = r"is|are|was|were|has|have|had|must|may|can|shall|will|should|cannot|might"
_FRONTABLE = re.compile(rf"^(?P<subj>.+?) (?P<aux>{_AUX})(?: (?P<rest>.*))?$")
_COPULA = {"is", "are", "was", "were"}
_CJK = re.compile(r"[\u4e00-\u9fff]")
_ZH_WH = {"date": "哪一天", "year": "哪一年", "quantity": "多少", "citation": "第几条", "name": "谁"}
_TRAILING_PREP = re.compile(r"\s*\b(on|in|at|of|since|from|by|until|under|to|for|within|than)$", re.I)
_LAW_WORDS = {"act", "law", "code", "regulation", "directive", "ordinance", "statute", "treaty", "decree", "rules"}
_COUNT_UNITS = re.compile(r"^[a-z]+s$")


def wh_phrase(value: Value, preposition: str = "") -> str:
    """The question word(s) that ask for ``value`` ("how many days", "which year", "whom")."""
    text = value.text
    if value.kind == "date":
        return "which year" if value.norm.endswith("--") else "which date"
    if value.kind == "citation":
        word = text.split()[0].rstrip(".").lower() if " " in text else "article"
        return f"which {'article' if word in ('art', '§') or not word.isalpha() else word}"
    if value.kind == "quantity":
        if "%" in text:
            return "what percentage"
        unit = text.split()[-1] if " " in text else ""
        if re.match(r"^[$€£¥]|^(USD|EUR|GBP|CNY|RMB)", text) or unit in ("million", "billion", "thousand"):
            return "how much"
        if _COUNT_UNITS.match(unit):
            return f"how many {unit}"
        return "what amount"
    words = {w.lower().rstrip(".") for w in text.split()}
    if words & _LAW_WORDS:
        return "which law"
    if short_form(text):
        return "which organisation"
    person = 2 <= len(text.split()) <= 3 and all(w[:1].isupper() for w in text.split())
    if person:
        return "whom" if preposition.lower() in ("by", "to", "with", "from", "for") else "who"
    return "what"


def _lower_first(text: str, names: list[Value]) -> str:
    """Lower-case the first letter unless the text starts with a name."""
    if any(text.startswith(v.text) for v in names if v.kind in ("name", "citation")):
        return text
    return text[:1].lower() + text[1:]


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _in_situ(sentence: str, value: Value) -> str:
    if _CJK.search(sentence):
        kind = "year" if value.norm.endswith("--") else value.kind
        return sentence[: value.start] + _ZH_WH[kind] + sentence[value.end :].rstrip("。.！!") + "？"
    before = re.sub(r"\b(the|The|a|A|an|An)$", "", sentence[: value.start].rstrip()).rstrip()
    after = sentence[value.end :].strip().rstrip(".。!")
    prep = before.rsplit(" ", 1)[-1] if before else ""
    wh = wh_phrase(value, prep)
    question = " ".join(p for p in (before, wh, after) if p)
    return _upper_first(re.sub(r"\s+([,;])", r"\1", question)) + "?"


def _fronted(fact: Fact, value: Value) -> str | None:
    sentence = fact.text
    before = sentence[: value.start].rstrip().rstrip(",")
    after = sentence[value.end :].strip().rstrip(".。!").lstrip(", ")
    match = _FRONTABLE.match(before)
    if value.start == 0 or match is None or _CJK.search(sentence) or "," in match.group("subj"):
        return None
    subj, aux, rest = match.group("subj"), match.group("aux"), match.group("rest") or ""
    if aux in _COPULA and not rest and not after:
        return f"{'Who' if wh_phrase(value) == 'who' else 'What'} {aux} {_lower_first(subj, fact.values)}?"
    prep_match = _TRAILING_PREP.search(rest)
    prep = prep_match.group(1) if prep_match else ""
    rest = _TRAILING_PREP.sub("", rest).strip()
    wh = wh_phrase(value, prep)
    if value.kind == "date":
        wh = "when" if prep.lower() in ("on", "in", "at", "") else f"{prep} {wh}"
    elif prep:
        wh = f"{prep} {wh}"
    if after.startswith("of "):
        # "give 30 days of notice" -> "How many days of notice must ... give?"
        of_phrase, after = " ".join(after.split()[:2]), " ".join(after.split()[2:])
        wh = f"{wh} {of_phrase}"
    subj = _lower_first(subj, fact.values)
    parts = [_upper_first(wh), aux, subj, rest, after] if rest or after else [_upper_first(wh), aux, subj]
    if not rest and not after and value.kind == "name":
        return None
    return " ".join(p for p in parts if p) + "?"


def _cloze(sentence: str, value: Value, lead: str) -> str:
    blanked = sentence[: value.start] + "___" + sentence[value.end :]
    return f"{lead}: {blanked.rstrip()}"


def questions_for(fact: Fact, value: Value) -> list[str]:
    """Distinct question phrasings for one value of a fact sentence, best first."""
    if value.text.endswith(("'s", "’s")):  # a possessive ("Pell's fever") is half of a name
        return []
    candidates = [_fronted(fact, value), _in_situ(fact.text, value)]
    if _CJK.search(fact.text):
        candidates += [_cloze(fact.text, value, "填空"), _cloze(fact.text, value, "请补全")]
    else:
        candidates.append(_cloze(fact.text, value, "Fill in the blank"))
        candidates.append(_cloze(fact.text, value, f"Give the missing {_value_noun(value)}"))
    seen: set[str] = set()
    out = []
    for question in candidates:
        if question and question not in seen and value.text not in question:
            seen.add(question)
            out.append(question)
    return out


def _value_noun(value: Value) -> str:
    return {"quantity": "figure", "date": "date", "citation": "provision", "name": "name"}[value.kind]
