"""Writes a new plugin distribution (``inject plugin new``) from the scaffold's templates.

The distribution has a pyproject with the ``kinject`` entry point, one module, one test and a
README.
"""

from __future__ import annotations

import importlib.util
import re
from importlib import metadata
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
    if not problems:
        problems += clashes(name, kind)
    if problems:
        raise ConfigError(problems, source="inject plugin new")


def clashes(name: str, kind: str) -> list[str]:
    """What the new plugin would collide with once installed: a registered name, an entry point, a
    module.
    """
    from kinject.plugins import get_plugins

    registry = get_plugins().registry(kind)
    if name in registry:
        entry = registry.get(name)
        owner = f"{entry.distribution} {entry.version}".strip() or "not installed"
        return [
            f"{kind} '{name}' is already registered by plugin {entry.plugin} ({owner}); pick "
            "another name"
        ]
    taken = [ep for ep in metadata.entry_points(group="kinject") if ep.name == name]
    if taken:
        dist = taken[0].dist.name if taken[0].dist else "an unknown distribution"
        return [f"the entry point '{name}' is already used by {dist}; pick another name"]
    module = names_for(name, kind)["module"]
    if importlib.util.find_spec(module) is not None:
        return [f"a module named {module} is already importable; pick another name"]
    return []


def render(name: str, kind: str) -> dict[str, str]:
    """Relative path -> file text of the new distribution."""
    from kinject_plugins.scaffold import generated_tests, templates

    check_name(name, kind)
    values = names_for(name, kind)
    module = templates.HEADER + templates.MODULES[kind] + templates.HOOK
    test = generated_tests.TESTS[kind]
    registered = Template(generated_tests.REGISTERED).substitute(values)
    return {
        "pyproject.toml": Template(templates.PYPROJECT).substitute(values),
        "README.md": Template(templates.README).substitute(values),
        f"{values['module']}.py": Template(module).substitute(values),
        f"tests/test_{values['module']}.py": Template(test).substitute(
            values, registered=registered
        ),
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
