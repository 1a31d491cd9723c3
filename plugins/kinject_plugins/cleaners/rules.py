"""``rules``: domain consistency checks declared in YAML; violations are flagged or dropped.

A rule pulls numbers out of the text with regexes, and checks an arithmetic condition on them
plus phrases that must or must not appear::

    rules:
      - id: deposit_cap
        description: a deposit above 20% of the contract price is flagged
        extract:                      # name: regex whose first group is a number
          deposit: '(?i)deposit of \\D{0,3}([\\d.,]+[万亿]?)'
          price: '(?i)contract price of \\D{0,3}([\\d.,]+[万亿]?)'
        when: deposit > 0.2 * price   # + - * / % ** comparisons and/or/not min max abs
        action: flag                  # flag (meta['flags']) or drop (reason rule:<id>)
      - id: boiling
        extract: {temp: '(-?\\d+(?:\\.\\d+)?)\\s*°C'}
        require: ['(?i)not boiling']  # every regex must match
        when: temp > 100

A rule applies only when all its ``extract`` regexes and ``require`` regexes match, none of its
``forbid`` regexes match, and ``applies_to`` (if given) matches. A variable is the first match.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kinject.components import RecordCleaner
from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.records import Record, Rejected
from kinject_plugins.cleaners.standardize import parse_number

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {"min": min, "max": max, "abs": abs}
_SCALE = {"万": 1e4, "亿": 1e8}


class RuleSpec(BaseModel):
    """One rule as written in YAML."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[\w.-]+$")
    description: str = ""
    applies_to: str | None = None
    extract: dict[str, str] = Field(default_factory=dict)
    require: list[str] = Field(default_factory=list)
    forbid: list[str] = Field(default_factory=list)
    when: str | None = None
    action: Literal["flag", "drop"] = "flag"


class RulesOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[dict[str, Any]] = Field(default_factory=list)
    #: a YAML file with a top-level ``rules:`` list (added to ``rules``)
    path: str | None = None


def evaluate(node: ast.AST, names: dict[str, float]) -> Any:
    """Evaluate a checked expression tree (see :func:`check_expression`)."""
    if isinstance(node, ast.Expression):
        return evaluate(node.body, names)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](evaluate(node.left, names), evaluate(node.right, names))
    if isinstance(node, ast.UnaryOp):
        value = evaluate(node.operand, names)
        return (not value) if isinstance(node.op, ast.Not) else -value
    if isinstance(node, ast.BoolOp):
        values = (evaluate(v, names) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        left = evaluate(node.left, names)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = evaluate(comparator, names)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return _FUNCTIONS[node.func.id](*(evaluate(a, names) for a in node.args))
    raise ValueError(f"unsupported expression element {type(node).__name__}")


def check_expression(source: str, variables: set[str]) -> tuple[ast.Expression | None, list[str]]:
    """Parse ``source``; list every disallowed construct or unknown name."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        return None, [f"cannot parse {source!r}: {exc.msg}"]
    allowed = (
        ast.Expression,
        ast.Constant,
        ast.Name,
        ast.Load,
        ast.BinOp,
        ast.UnaryOp,
        ast.BoolOp,
        ast.Compare,
        ast.Call,
        ast.And,
        ast.Or,
        ast.Not,
        ast.USub,
        ast.UAdd,
        *_BINARY,
        *_COMPARE,
    )
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            problems.append(f"{type(node).__name__} is not allowed in {source!r}")
        elif isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            problems.append(f"only numbers may be constants in {source!r}")
        elif isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
        ):
            problems.append(f"only {sorted(_FUNCTIONS)} may be called in {source!r}")
        elif isinstance(node, ast.Name) and node.id not in variables and node.id not in _FUNCTIONS:
            problems.append(f"unknown name {node.id!r} in {source!r} (extract it first)")
    return tree, problems


class CompiledRule:
    """A validated rule, ready to check texts."""

    def __init__(self, spec: RuleSpec) -> None:
        self.spec = spec
        self.applies_to = re.compile(spec.applies_to) if spec.applies_to else None
        self.extract = {name: re.compile(rx) for name, rx in spec.extract.items()}
        self.require = [re.compile(rx) for rx in spec.require]
        self.forbid = [re.compile(rx) for rx in spec.forbid]
        self.when: ast.Expression | None = None
        if spec.when:
            self.when, _ = check_expression(spec.when, set(spec.extract))

    def violated(self, text: str) -> dict[str, float] | None:
        """The extracted values when ``text`` breaks the rule, else None."""
        if self.applies_to and not self.applies_to.search(text):
            return None
        if not all(r.search(text) for r in self.require) or any(
            r.search(text) for r in self.forbid
        ):
            return None
        values: dict[str, float] = {}
        for name, regex in self.extract.items():
            match = regex.search(text)
            if match is None:
                return None
            value = _number(match.group(1) if match.groups() else match.group(0))
            if value is None:
                return None
            values[name] = value
        if self.when is not None:
            try:
                if not evaluate(self.when, values):
                    return None
            except (ZeroDivisionError, OverflowError, TypeError):
                return None
        return values


def _number(raw: str) -> float | None:
    raw = raw.strip()
    scale = _SCALE.get(raw[-1:], 1.0) if raw else 1.0
    value = parse_number(raw.rstrip("万亿")) if raw else None
    return None if value is None else value * scale


def compile_rules(entries: list[dict[str, Any]], source: str) -> list[CompiledRule]:
    """Validate every rule and report every problem at once (:class:`ConfigError`)."""
    problems: list[str] = []
    specs: list[RuleSpec] = []
    for i, entry in enumerate(entries):
        label = f"rule {entry.get('id', i)!s}" if isinstance(entry, dict) else f"rule {i}"
        try:
            spec = RuleSpec.model_validate(entry)
        except ValidationError as exc:
            problems += [
                f"{label}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            ]
            continue
        for rx in [spec.applies_to or "", *spec.extract.values(), *spec.require, *spec.forbid]:
            try:
                re.compile(rx)
            except re.error as exc:
                problems.append(f"{label}: bad regex {rx!r}: {exc}")
        if spec.when:
            problems += [f"{label}: {p}" for p in check_expression(spec.when, set(spec.extract))[1]]
        specs.append(spec)
    ids = [s.id for s in specs]
    problems += [f"rule id {i!r} used twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        raise ConfigError(problems, source=source)
    return [CompiledRule(s) for s in specs]


def load_rules_file(path: Path) -> list[dict[str, Any]]:
    """The ``rules:`` list of a YAML file (a bad file is a ConfigError naming it)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(str(exc).splitlines()[0], source=str(path)) from exc
    entries = data.get("rules") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ConfigError("expected a top-level 'rules:' list", source=str(path))
    return entries


class Rules(RecordCleaner):
    """Checks each Record against YAML rules; ``flag`` rules add their id to ``meta['flags']``,
    ``drop`` rules drop the Record with reason ``rule:<id>``. Without ``rules``/``path``, a domain
    pack's ``extra['rules']`` file is used."""

    name = "rules"
    description = "domain consistency checks declared in YAML (flag or drop)"
    Options = RulesOptions
    opts: RulesOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        entries = list(self.opts.rules)
        if self.opts.path:
            entries += load_rules_file(Path(self.opts.path))
        self.compiled = compile_rules(entries, source=self.opts.path or "rules")

    def setup(self, context: RunContext) -> None:
        domain_rules = context.domain.extra.get("rules") if context.domain else None
        if not self.compiled and domain_rules:
            path = Path(domain_rules)
            self.compiled = compile_rules(load_rules_file(path), source=str(path))

    def clean(self, record: Record) -> Record | Rejected:
        flags: list[str] = []
        for rule in self.compiled:
            values = rule.violated(record.text)
            if values is None:
                continue
            if rule.spec.action == "drop":
                shown = ", ".join(f"{k}={v:g}" for k, v in values.items())
                return Rejected(
                    record, f"rule:{rule.spec.id}", self.name, rule.spec.description or shown
                )
            flags.append(rule.spec.id)
        if not flags:
            return record
        new_flags = [f for f in flags if f not in record.meta.get("flags", [])]
        if new_flags:
            record.meta = {**record.meta, "flags": [*record.meta.get("flags", []), *new_flags]}
        return record
