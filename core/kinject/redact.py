"""Secrets kept out of every file a run writes: the manifest, quarantine, report, card and logs.

:func:`redact` masks, in a config or any JSON-like value, the value of every key named like a
secret (``password``, ``api_key``, ``token``, ``secret`` ...) and, in every string, credentials in
URLs (``postgresql://user:***@host/db``), secret-named ``key=value`` pairs, ``Bearer`` tokens and
the values of secret-named environment variables (``OPENAI_API_KEY``, ``HF_TOKEN``, the variable a
recipe names in ``api_key_env``). :func:`redact_text` does the string part alone.
"""

from __future__ import annotations

import os
import re
from typing import Any

MASK = "***"
#: a secret's name, matched on the lower-cased, ``_``-joined key
_SECRET_NAME = re.compile(
    r"password|passwd|passphrase|secret|api_?key|access_?key|private_?key|credential"
)
_SECRET_LAST = re.compile(r"(?:^|_)(?:token|auth|authorization|pwd|cookie)$")
#: ``pad_token``, ``max_tokens``: tokenizer and generation settings, not secrets
_PLAIN_TOKEN = re.compile(
    r"(?:^|_)(?:pad|eos|bos|unk|sep|cls|mask|special|chat|max|min|num|new|total)_token$"
)
_NAME = re.compile(r"[A-Za-z_][\w.\-]{0,63}")
_SECRET_ENV = re.compile(
    r"PASSWORD|PASSWD|SECRET|API_?KEY|ACCESS_KEY|PRIVATE_KEY|(?:^|_)TOKEN(?:$|_)"
)
#: ``scheme://user:password@``
_URL_CREDENTIALS = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s\"'<>]*):[^@/?#\s\"'<>]+@"
)
#: ``name=value``, ``name: value``, ``"name": "value"`` (a URL query parameter too)
_PAIR = re.compile(
    r"(?P<name>[A-Za-z_][\w.\-]*)(?P<q>[\"']?)(?P<sep>\s*[:=]\s*)(?P<vq>[\"']?)(?P<value>(?:(?:Bearer|Basic)\s+)?[^\s\"',;&?#}\]]+)"
)
#: an HTTP credential; it holds a digit or a symbol, which ``Basic authentication`` does not
_BEARER = re.compile(
    r"\b(?P<kind>Bearer|Basic)\s+(?=[A-Za-z]*[0-9._~+/=\-])[A-Za-z0-9._~+/=\-]{8,}"
)
#: shorter environment values (``1``, ``true``) are too common to mask everywhere
_MIN_SECRET_CHARS = 8

_remembered: set[str] = set()


def is_secret_key(name: str) -> bool:
    """True when an option or key named ``name`` holds a secret (``api_key_env`` names one)."""
    if not _NAME.fullmatch(name):  # a path or a URI used as a key is not an option name
        return False
    key = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().replace("-", "_")
    if key.endswith("_env"):
        return False
    if _SECRET_NAME.search(key):
        return True
    return bool(_SECRET_LAST.search(key)) and not _PLAIN_TOKEN.search(key)


def remember_secret(value: str) -> None:
    """Mask ``value`` wherever it appears in text redacted from now on (a key read at run time)."""
    if len(value) >= _MIN_SECRET_CHARS:
        _remembered.add(value)


def redact(value: Any) -> Any:
    """A copy of ``value`` (dicts, lists, strings) with every secret masked."""
    if isinstance(value, dict):
        return {
            redact_text(k) if isinstance(k, str) else k: _redact_item(str(k), v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_text(text: str) -> str:
    """``text`` with URL credentials, secret-named pairs, tokens and known secret values masked."""
    for secret in sorted(_known_secrets(), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['head']}:{MASK}@", text)
    text = _BEARER.sub(lambda m: f"{m['kind']} {MASK}", text)
    return _PAIR.sub(_masked_pair, text)


def _redact_item(key: str, value: Any) -> Any:
    if (
        key.lower().endswith("_env")
        and is_secret_key(key[: -len("_env")])
        and isinstance(value, str)
    ):
        remember_secret(os.environ.get(value, ""))  # the variable's value, not its name, is secret
    if is_secret_key(key) and value not in (None, "", [], {}) and not isinstance(value, bool):
        return MASK
    return redact(value)


def _masked_pair(match: re.Match[str]) -> str:
    if not is_secret_key(match["name"]) or match["value"] == MASK:
        return match.group()
    return f"{match['name']}{match['q']}{match['sep']}{match['vq']}{MASK}"


def _known_secrets() -> set[str]:
    found = {
        v
        for k, v in os.environ.items()
        if _SECRET_ENV.search(k.upper()) and len(v) >= _MIN_SECRET_CHARS
    }
    return found | _remembered
