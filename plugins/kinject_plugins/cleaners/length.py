"""``length``: drop Records too short or too long to teach anything."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import RecordCleaner
from kinject.records import Record, Rejected
from kinject_plugins.cleaners.tokens import tokenize


class LengthOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: fewest tokens (English words / Chinese characters) a Record needs
    min_tokens: int = Field(default=5, ge=0)
    #: most tokens allowed (None: no limit)
    max_tokens: int | None = Field(default=None, ge=1)
    min_chars: int = Field(default=0, ge=0)
    max_chars: int | None = Field(default=None, ge=1)


class Length(RecordCleaner):
    """Drops Records under ``min_tokens``/``min_chars`` (``too_short``) or over the maxima
    (``too_long``). Tokens are English words and single Chinese characters."""

    name = "length"
    description = "drop Records that are too short or too long"
    Options = LengthOptions
    opts: LengthOptions

    def clean(self, record: Record) -> Record | Rejected:
        chars = len(record.text)
        tokens = len(tokenize(record.text))
        o = self.opts
        if tokens < o.min_tokens or chars < o.min_chars:
            return Rejected(record, "too_short", self.name, f"{tokens} tokens, {chars} characters")
        if (o.max_tokens is not None and tokens > o.max_tokens) or (
            o.max_chars is not None and chars > o.max_chars
        ):
            return Rejected(record, "too_long", self.name, f"{tokens} tokens, {chars} characters")
        return record
