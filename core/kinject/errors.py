"""One error hierarchy; the CLI turns any :class:`KinjectError` into a one-line message."""

from __future__ import annotations

#: The standard reason codes of a quarantined input (code -> when it applies), as the builtin
#: sources and the ingest stage use them. A plugin reuses the code that names its problem, and
#: makes up its own (``not_a_feed``) only for a problem none of these names.
REASON_CODES: dict[str, str] = {
    # set by the engine, before ``Source.read`` is called or around it
    "unsupported_type": "no source reads this suffix or URI scheme",
    "empty_file": "the file is 0 bytes (refused before read)",
    "file_too_large": "the file is over sources.ingest.max_file_mb (refused before read)",
    "unreadable": "no permission, or the file vanished (refused before read)",
    "timeout": "read took longer than sources.ingest.timeout_s; its worker was stopped",
    "worker_crashed": "the parser killed its worker process (a segfault, the out-of-memory killer)",
    "out_of_memory": "the parse worker went over sources.ingest.max_memory_mb of resident memory "
    "and was stopped",
    "parse_error": "read raised an exception that is not an InputError",
    # raised by a source (InputError for the whole input, report_issue for a part of it)
    "empty_document": "the input parsed but holds no text",
    "bad_encoding": "the text is in no encoding the source was told to try",
    "binary_content": "binary data where text was expected",
    "encrypted": "the input is encrypted and no password was given",
    "malformed_json": "not valid JSON",
    "malformed_xml": "not valid XML",
    "malformed_csv": "not valid CSV",
    "malformed_row": "one row or entry of the input cannot be read (the others are kept)",
    "missing_text": "a row or entry, or the whole input, has no text field",
    "blank_page": "a page, frame or part with no text (the others are kept)",
    "too_many_pages": "over the source's page limit",
    "decompression_bomb": "the input unpacks to more than the source's limit",
}
#: the codes of :data:`REASON_CODES` the engine sets itself: a source need not check for these
ENGINE_REASON_CODES: frozenset[str] = frozenset(
    {
        "unsupported_type",
        "empty_file",
        "file_too_large",
        "unreadable",
        "timeout",
        "worker_crashed",
        "out_of_memory",
        "parse_error",
    }
)


class KinjectError(Exception):
    """Base class of every error kinject reports to a user."""


class ConfigError(KinjectError):
    """A recipe or a command line that cannot be run; lists every problem at once."""

    def __init__(self, problems: list[str] | str, source: str = "config") -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        super().__init__(self._message())

    def _message(self) -> str:
        if len(self.problems) == 1:
            return f"{self.source}: {self.problems[0]}"
        lines = "; ".join(self.problems)
        return f"{self.source}: {len(self.problems)} problems: {lines}"


class PluginError(KinjectError):
    """A plugin that cannot be loaded, clashes with another, or is not installed."""


class InputError(KinjectError):
    """One input (file, row, record) that a plugin cannot handle.

    The engine catches it per item and quarantines the item with ``reason`` as the reason code;
    the rest of the batch carries on.
    """

    def __init__(self, reason: str, message: str, uri: str | None = None) -> None:
        self.reason = reason
        self.uri = uri
        super().__init__(f"{uri}: {message}" if uri else message)


class MissingDependencyError(PluginError):
    """An optional dependency is missing; the message says what to install."""

    def __init__(self, package: str, extra: str | None = None, what: str = "") -> None:
        hint = f"pip install 'kinject[{extra}]'" if extra else f"pip install {package}"
        purpose = f" for {what}" if what else ""
        super().__init__(f"{package} is needed{purpose}: {hint}")
        self.package = package
