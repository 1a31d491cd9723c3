from __future__ import annotations

import pytest

from kinject.records import Record, Rejected
from kinject_plugins.cleaners.language import Language, detect_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The tenant shall pay the deposit to the landlord within a week.", "en"),
        ("租客应当在签约时向房东支付押金。", "zh"),
        ("東京は日本の首都です。", "ja"),
        ("임차인은 보증금을 지불해야 합니다.", "ko"),
        ("Der Mieter zahlt die Kaution an den Vermieter, und das ist nicht verhandelbar.", "de"),
        ("Le locataire paie la caution au propriétaire dans les délais.", "fr"),
        ("ok 42", "und"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_keeps_recipe_languages_and_tags_them() -> None:
    cleaner = Language(languages=["en", "zh"])
    out = cleaner.clean(Record("定金不得超过主合同标的额的百分之二十。"))
    assert isinstance(out, Record) and out.meta["language"] == "zh"
    out = cleaner.clean(Record("Le locataire paie la caution au propriétaire dans les délais."))
    assert isinstance(out, Rejected) and out.reason == "language" and "fr" in out.detail


def test_undetermined_can_be_dropped() -> None:
    assert isinstance(Language(keep_undetermined=False).clean(Record("42")), Rejected)


def test_unknown_language_option_is_an_error() -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        Language(languages=["xx"])
