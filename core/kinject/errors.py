"""One error hierarchy; the CLI turns any :class:`KinjectError` into a one-line message."""

from __future__ import annotations


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
