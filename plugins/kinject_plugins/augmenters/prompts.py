"""Prompts and frames of the generating augmenters, kept as YAML data
(``prompts/generate.<lang>.yaml``).

A file holds the system and user prompts of each task (``paraphrase``, ``qa``) and the generic
frames the offline rules use (``standalone_frames``, ``heading_frames``, ``qa_statement_frames``).
A domain pack or a user may ship their own file: keys it sets replace the built-in ones, keys it
leaves out fall back to the built-in file of the same language.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from kinject.errors import PluginError

PROMPTS_DIR = Path(__file__).parent / "prompts"
TASKS = ("paraphrase", "qa")
FRAME_KEYS = ("standalone_frames", "heading_frames", "qa_statement_frames")


@dataclass(frozen=True)
class Prompt:
    """The system and user message templates of one task."""

    system: str
    user: str

    def messages(self, **values: Any) -> list[dict[str, str]]:
        """Chat messages with the placeholders filled (a missing one is an error naming it)."""
        return [
            {"role": "system", "content": fill(self.system, values)},
            {"role": "user", "content": fill(self.user, values)},
        ]


@dataclass(frozen=True)
class Prompts:
    """Every prompt and frame of one language."""

    language: str
    tasks: dict[str, Prompt]
    frames: dict[str, list[str]] = field(default_factory=dict)
    source: str = ""

    def task(self, name: str) -> Prompt:
        if name not in self.tasks:
            raise PluginError(
                f"prompts {self.source}: no '{name}' prompt (known: "
                f"{', '.join(sorted(self.tasks))})"
            )
        return self.tasks[name]


def fill(template: str, values: dict[str, Any]) -> str:
    """``template`` with ``{name}`` placeholders filled; ``{name_lc}`` is the value with its first
    letter lower-cased (for a sentence continued after a frame)."""
    out: list[str] = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out.append(literal)
        if name is None:
            continue
        if name.endswith("_lc") and name[:-3] in values:
            out.append(lower_first(str(values[name[:-3]])))
        elif name in values:
            out.append(str(values[name]))
        else:
            raise PluginError(
                f"prompt placeholder {{{name}}} has no value (have: {', '.join(sorted(values))})"
            )
    return "".join(out)


def lower_first(text: str) -> str:
    """``The fee is ...`` -> ``the fee is ...``; an acronym or a name-like word ("EBITDA", "IBM's")
    keeps its case.
    """
    first = text.split(" ", 1)[0]
    if len(first) > 1 and (first[1:2].isupper() or any(c.isdigit() for c in first)):
        return text
    return text[:1].lower() + text[1:]


def placeholders(template: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(template) if name}


@lru_cache(maxsize=32)
def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise PluginError(f"cannot read prompts file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise PluginError(
            f"prompts file {path} is not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from exc
    if not isinstance(data, dict):
        raise PluginError(f"prompts file {path} must hold a mapping of tasks and frames")
    return data


def load_prompts(language: str = "en", path: str | Path | None = None) -> Prompts:
    """The built-in prompts of ``language`` (English when there is no file for it), overlaid with
    ``path`` when given."""
    builtin = PROMPTS_DIR / f"generate.{language}.yaml"
    if not builtin.exists():
        builtin = PROMPTS_DIR / "generate.en.yaml"
    data = dict(_read(builtin))
    source = str(builtin)
    if path:
        user_file = Path(path).expanduser()
        data.update(_read(user_file))
        source = str(user_file)
    tasks: dict[str, Prompt] = {}
    for name in TASKS:
        spec = data.get(name)
        if spec is None:
            continue
        if (
            not isinstance(spec, dict)
            or not isinstance(spec.get("system"), str)
            or not isinstance(spec.get("user"), str)
        ):
            raise PluginError(f"prompts file {source}: '{name}' needs 'system' and 'user' strings")
        tasks[name] = Prompt(spec["system"].strip(), spec["user"].strip())
    frames: dict[str, list[str]] = {}
    if not isinstance(data.get("cloze_frame", ""), str):
        raise PluginError(f"prompts file {source}: 'cloze_frame' must be a string")
    frames["cloze_frame"] = [data.get("cloze_frame", "")] if data.get("cloze_frame") else []
    for key in FRAME_KEYS:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise PluginError(f"prompts file {source}: '{key}' must be a list of strings")
        frames[key] = list(value)
    return Prompts(str(data.get("language", language)), tasks, frames, source)
