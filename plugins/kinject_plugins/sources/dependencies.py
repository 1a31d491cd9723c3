"""Optional packages and system programs a source needs, with errors that say how to get them."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from types import ModuleType

from kinject.errors import MissingDependencyError, PluginError


class MissingProgramError(MissingDependencyError):
    """A system program (tesseract, ffmpeg) is not installed; the message names the apt command."""

    def __init__(self, program: str, apt_package: str, what: str = "") -> None:
        purpose = f" for {what}" if what else ""
        PluginError.__init__(
            self, f"the program '{program}' is needed{purpose}: apt-get install -y {apt_package}"
        )
        self.package = apt_package


def require_module(
    module: str, package: str, extra: str | None = None, what: str = ""
) -> ModuleType:
    """Import ``module`` or raise a MissingDependencyError naming the pip package to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(package, extra, what) from None


def has_module(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    return importlib.util.find_spec(module) is not None


def require_program(program: str, apt_package: str, what: str = "") -> str:
    """The path of ``program`` on PATH, or a MissingProgramError naming the apt package."""
    path = shutil.which(program)
    if path is None:
        raise MissingProgramError(program, apt_package, what)
    return path
