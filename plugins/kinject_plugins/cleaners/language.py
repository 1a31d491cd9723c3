"""``language``: keep only Records in the languages the recipe names.

A light, offline detector: the script decides Chinese/Japanese/Korean (CJK, kana and hangul
shares); Latin-script text is scored against short stopword lists. Good enough to drop the
wrong-language page of a corpus; not meant for three-word snippets (those are ``und``).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kinject.components import RecordCleaner
from kinject.records import Record, Rejected

_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "of",
            "and",
            "to",
            "in",
            "is",
            "that",
            "for",
            "it",
            "with",
            "as",
            "was",
            "on",
            "be",
            "by",
            "this",
            "are",
            "or",
            "an",
            "at",
            "from",
            "which",
            "not",
            "have",
            "has",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "und",
            "das",
            "ist",
            "nicht",
            "mit",
            "den",
            "von",
            "zu",
            "sich",
            "des",
            "auf",
            "für",
            "im",
            "dem",
            "ein",
            "eine",
            "auch",
            "es",
            "an",
            "werden",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "et",
            "des",
            "est",
            "une",
            "un",
            "du",
            "que",
            "pour",
            "dans",
            "pas",
            "au",
            "sur",
            "qui",
            "ce",
            "il",
            "par",
            "avec",
            "sont",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "que",
            "de",
            "y",
            "en",
            "un",
            "una",
            "es",
            "por",
            "para",
            "con",
            "no",
            "del",
            "se",
            "al",
            "su",
            "lo",
            "como",
        ]
    ),
    "it": frozenset(
        [
            "il",
            "lo",
            "la",
            "gli",
            "le",
            "che",
            "di",
            "e",
            "è",
            "un",
            "una",
            "per",
            "non",
            "con",
            "del",
            "della",
            "sono",
            "nel",
            "anche",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "a",
            "os",
            "as",
            "que",
            "de",
            "e",
            "do",
            "da",
            "em",
            "um",
            "uma",
            "para",
            "com",
            "não",
            "por",
            "se",
            "dos",
            "das",
            "mais",
        ]
    ),
    "nl": frozenset(
        [
            "de",
            "het",
            "een",
            "en",
            "van",
            "is",
            "dat",
            "op",
            "te",
            "in",
            "niet",
            "zijn",
            "voor",
            "met",
            "die",
            "aan",
            "er",
            "ook",
        ]
    ),
}
_WORD = re.compile(r"[^\W\d_]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
SUPPORTED = ("zh", "ja", "ko", *_STOPWORDS)


def detect_language(text: str, min_stopwords: int = 2) -> str:
    """An ISO 639-1 code, or ``und`` when the text gives too little to go on."""
    letters = sum(1 for ch in text if ch.isalpha())
    if not letters:
        return "und"
    han, kana, hangul = (len(p.findall(text)) for p in (_HAN, _KANA, _HANGUL))
    if (han + kana + hangul) / letters >= 0.3:
        if hangul > han + kana:
            return "ko"
        return "ja" if kana >= 0.1 * (han + kana) else "zh"
    words = [w.lower() for w in _WORD.findall(text)]
    hits = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOPWORDS.items()}
    best = max(hits, key=lambda lang: hits[lang])
    return best if hits[best] >= min_stopwords else "und"


class LanguageOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: languages to keep (ISO 639-1: en, zh, ja, ko, de, fr, es, it, pt, nl)
    languages: list[str] = Field(default_factory=lambda: ["en", "zh"])
    #: keep Records too short to tell (``und``)
    keep_undetermined: bool = True

    @field_validator("languages")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in SUPPORTED]
        if unknown:
            raise ValueError(
                f"unsupported language(s) {unknown}; supported: {', '.join(SUPPORTED)}"
            )
        return value


class Language(RecordCleaner):
    """Drops Records detected in another language (reason ``language``); sets
    ``meta['language']``.
    """

    name = "language"
    description = "keep only the recipe's languages (script + stopword detector, offline)"
    Options = LanguageOptions
    opts: LanguageOptions

    def clean(self, record: Record) -> Record | Rejected:
        lang = detect_language(record.text)
        if lang == "und" and self.opts.keep_undetermined or lang in self.opts.languages:
            if record.meta.get("language") != lang:
                record.meta = {**record.meta, "language": lang}
            return record
        return Rejected(
            record, "language", self.name, f"detected {lang}, keeping {self.opts.languages}"
        )
