"""Numbers as statutes write them: Chinese numerals (第八十六条) and English number words.

Both directions are needed: citations are normalised to one form, and the statute splitter
stores article numbers as plain digits so ``Article 86`` and ``第八十六条`` compare equal.
"""

from __future__ import annotations

_ZH_DIGITS = "零一二三四五六七八九"
_ZH_DIGIT_VALUE = {ch: i for i, ch in enumerate(_ZH_DIGITS)} | {"〇": 0, "两": 2}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}

ZH_NUMERAL_CHARS = "零〇一二两三四五六七八九十百千"

_EN_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_EN_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

#: every English number word from one to ninety-nine, longest first (for regex alternation)
EN_NUMBER_WORDS: tuple[str, ...] = tuple(
    sorted(
        [*_EN_UNITS[1:], *_EN_TENS, *(f"{t}[- ]{u}" for t in _EN_TENS for u in _EN_UNITS[1:10])],
        key=len,
        reverse=True,
    )
)


def zh_to_int(text: str) -> int:
    """Parse a Chinese numeral up to 9999 (``八十六`` -> 86, ``十二`` -> 12, ``一百零五`` -> 105).

    Plain digits are accepted too. Raises ``ValueError`` on anything else.
    """
    text = text.strip()
    if text.isdigit():
        return int(text)
    if not text or any(ch not in ZH_NUMERAL_CHARS for ch in text):
        raise ValueError(f"not a Chinese numeral: {text!r}")
    total, digit = 0, None
    for ch in text:
        if ch in _ZH_UNITS:
            # a bare unit (十二) means one of it
            total += (1 if digit is None else digit) * _ZH_UNITS[ch]
            digit = None
        else:
            digit = _ZH_DIGIT_VALUE[ch]
    return total + (digit or 0)


def int_to_zh(number: int) -> str:
    """Write 0..9999 as a Chinese numeral the way statutes do (86 -> 八十六, 105 -> 一百零五)."""
    if not 0 <= number <= 9999:
        raise ValueError(f"out of range for a Chinese numeral: {number}")
    if number == 0:
        return "零"
    parts: list[str] = []
    pending_zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = number // value % 10
        if digit == 0:
            pending_zero = bool(parts)
            continue
        if pending_zero:
            parts.append("零")
            pending_zero = False
        # statutes write 十二, not 一十二, when ten leads
        if not (unit == "十" and digit == 1 and not parts):
            parts.append(_ZH_DIGITS[digit])
        parts.append(unit)
    return "".join(parts)


def words_to_int(text: str) -> int:
    """Parse an English number word from one to ninety-nine (``twenty-one`` -> 21)."""
    words = text.lower().replace("-", " ").split()
    if len(words) == 1 and words[0] in _EN_UNITS:
        return _EN_UNITS.index(words[0])
    if words and words[0] in _EN_TENS:
        tens = 20 + 10 * _EN_TENS.index(words[0])
        if len(words) == 1:
            return tens
        if len(words) == 2 and words[1] in _EN_UNITS[1:10]:
            return tens + _EN_UNITS.index(words[1])
    raise ValueError(f"not an English number word: {text!r}")
