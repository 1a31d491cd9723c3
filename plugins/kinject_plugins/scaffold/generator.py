"""Writes a new plugin distribution: pyproject with the ``kinject`` entry point, one module,
one test, a README."""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from kinject.errors import ConfigError

PLUGIN_KINDS: dict[str, str] = {
    "source": "register_sources",
    "cleaner": "register_cleaners",
    "augmenter": "register_augmenters",
    "trainer": "register_trainers",
    "evaluator": "register_evaluators",
    "exporter": "register_exporters",
}

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


def names_for(name: str, kind: str) -> dict[str, str]:
    """The placeholders of the templates for plugin ``name`` of ``kind``."""
    words = name.split("-")
    return {
        "name": name,
        "module": "kinject_" + "_".join(words),
        "dist": f"kinject-{name}",
        "cls": "".join(w.capitalize() for w in words) + kind.capitalize(),
        "kind": kind,
        "hook": PLUGIN_KINDS[kind],
    }


def check_name(name: str, kind: str) -> None:
    """Every problem with the request at once, as one :class:`ConfigError`."""
    problems = []
    if not _NAME.match(name):
        problems.append(f"name '{name}' must be lower case letters and digits, words joined by '-'")
    if kind not in PLUGIN_KINDS:
        problems.append(f"kind '{kind}' is not one of {', '.join(PLUGIN_KINDS)}")
    if problems:
        raise ConfigError(problems, source="inject plugin new")


def render(name: str, kind: str) -> dict[str, str]:
    """Relative path -> file text of the new distribution."""
    from kinject_plugins.scaffold import templates

    check_name(name, kind)
    values = names_for(name, kind)
    module = templates.HEADER + templates.MODULES[kind] + templates.HOOK
    test = templates.TESTS[kind]
    return {
        "pyproject.toml": Template(templates.PYPROJECT).substitute(values),
        "README.md": Template(templates.README).substitute(values),
        f"{values['module']}.py": Template(module).substitute(values),
        f"tests/test_{values['module']}.py": Template(test).substitute(values),
    }


def scaffold(name: str, kind: str, directory: Path) -> Path:
    """Write the distribution into ``directory/kinject-NAME``; refuse to overwrite anything."""
    files = render(name, kind)
    root = directory / f"kinject-{name}"
    if root.exists() and any(root.iterdir()):
        raise ConfigError(f"{root} already exists and is not empty", source="inject plugin new")
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
