"""Preference pairs (prompt, chosen, rejected) for the reward model, from three places.

- ``preference`` Records in the training data (the ``negatives`` augmenter's confusable terms,
  perturbed numbers and dates, swapped entities);
- the domain rubric: from each QA record, the reference answer is *chosen* and a copy that breaks
  a rubric rule is *rejected*: a term swapped for one of its confusables, a number changed, a
  citation dropped. A rejected answer is kept only when the rubric really scores it lower;
- a user's JSONL file, one ``{"prompt" | "question", "chosen", "rejected"}`` object per line.

Prompts are ``format_prompt(question)`` and answers start with a space, the same text the ``sft``
trainer trains on, so the reward model scores exactly what the policy writes.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kinject.errors import ConfigError, InputError
from kinject.evaluation import format_prompt
from kinject.records import Record
from kinject.rubric import Rubric

_QUESTION = re.compile(r"Question:\s*(.*?)\s*\nAnswer:\s*$", re.DOTALL)


@dataclass(frozen=True)
class PreferencePair:
    """One comparison: ``prompt + chosen`` is better than ``prompt + rejected``."""

    prompt: str
    chosen: str
    rejected: str
    # : where it came from: ``negatives``, ``rubric:confusion``, ``rubric:number``,
    # ``rubric:citation``, ``file``
    origin: str = ""

    @property
    def question(self) -> str:
        return question_of(self.prompt)


@dataclass(frozen=True)
class PolicyPrompt:
    """A prompt for rollouts, with the question and reference answer the rubric scores against."""

    prompt: str
    question: str
    reference: str


def question_of(prompt: str) -> str:
    """The question inside a ``format_prompt`` prompt (the prompt itself when it has another
    form).
    """
    match = _QUESTION.search(prompt)
    return match.group(1) if match else prompt.strip()


def as_completion(text: str) -> str:
    """An answer as the policy writes it after ``Answer:``: one leading space."""
    return " " + text.strip()


def pairs_from_records(records: Iterable[Record]) -> Iterator[PreferencePair]:
    """Pairs from ``preference`` Records (``meta`` prompt, chosen, rejected)."""
    for record in records:
        if record.kind != "preference":
            continue
        prompt, chosen, rejected = (
            str(record.meta.get(k, "")).strip() for k in ("prompt", "chosen", "rejected")
        )
        if prompt and chosen and rejected and chosen != rejected:
            yield PreferencePair(
                prompt, as_completion(chosen), as_completion(rejected), "negatives"
            )


def qa_items(records: Iterable[Record]) -> Iterator[tuple[str, str]]:
    """(question, answer) of every complete QA record."""
    for record in records:
        if record.kind == "qa":
            question, answer = (
                str(record.meta.get("question", "")).strip(),
                str(record.meta.get("answer", "")).strip(),
            )
            if question and answer:
                yield question, answer


def pairs_from_rubric(
    records: Iterable[Record], rubric: Rubric, seed: int
) -> Iterator[PreferencePair]:
    """Reference answers (chosen) against copies that break a rubric rule (rejected)."""
    rng = random.Random(seed)
    for question, answer in qa_items(records):
        base = rubric.score(question, answer, answer).total
        for origin, broken in rule_breakers(answer, rubric, rng):
            if (
                broken.strip()
                and broken != answer
                and rubric.score(question, broken, answer).total < base
            ):
                yield PreferencePair(
                    format_prompt(question), as_completion(answer), as_completion(broken), origin
                )


def rule_breakers(answer: str, rubric: Rubric, rng: random.Random) -> Iterator[tuple[str, str]]:
    """Candidate wrong versions of ``answer``: a confusable term, a changed number, no citation."""
    from kinject_plugins.augmenters.negatives import perturb_number

    for term in rubric.terms.found_in(answer):
        for bad in rubric.terms.confusables.get(term, []):
            for form in rubric.terms.forms_of(term):
                swapped = rubric.terms.pattern(form).sub(bad, answer, count=1)
                if swapped != answer:
                    yield "rubric:confusion", swapped
                    break
    changed = perturb_number(answer, rng)
    if changed != answer:
        yield "rubric:number", changed
    for criterion in rubric.criteria:
        if criterion.check == "pattern":
            dropped = re.sub(
                r"\s{2,}", " ", re.sub(str(criterion.params["regex"]), "", answer)
            ).strip(" ,;")
            if dropped != answer:
                yield "rubric:citation", dropped


def read_pairs_file(path: Path, source: str = "trainer rlhf") -> list[PreferencePair]:
    """Pairs from a JSONL file; a bad line is an :class:`InputError` naming the file and the
    line.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"preferences file {path} does not exist", source=source)
    pairs = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                pairs.append(_pair_from_line(line, lineno, path))
    if not pairs:
        raise InputError("bad_preferences", "no preference pairs in the file", str(path))
    return pairs


def _pair_from_line(line: str, lineno: int, path: Path) -> PreferencePair:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(
            "bad_preferences", f"line {lineno}: not JSON ({exc.msg})", str(path)
        ) from exc
    if not isinstance(data, dict):
        raise InputError("bad_preferences", f"line {lineno}: expected an object", str(path))
    prompt = str(data.get("prompt") or "").strip()
    if not prompt and data.get("question"):
        prompt = format_prompt(str(data["question"]).strip())
    chosen, rejected = (
        str(data.get("chosen") or "").strip(),
        str(data.get("rejected") or "").strip(),
    )
    missing = [
        name
        for name, value in (
            ("prompt or question", prompt),
            ("chosen", chosen),
            ("rejected", rejected),
        )
        if not value
    ]
    if missing:
        raise InputError(
            "bad_preferences", f"line {lineno}: missing {', '.join(missing)}", str(path)
        )
    return PreferencePair(prompt, as_completion(chosen), as_completion(rejected), "file")


def collect_pairs(
    records: Iterable[Record],
    rubric: Rubric | None,
    seed: int,
    *,
    rubric_pairs: bool = True,
    preferences: Path | None = None,
    source: str = "trainer rlhf",
) -> list[PreferencePair]:
    """Every pair of the three sources, without repeats: ``preference`` records, the rubric's
    pairs (when ``rubric_pairs`` and there is a rubric) and the ``preferences`` file."""
    records = list(records)
    pairs = list(pairs_from_records(records))
    if rubric is not None and rubric_pairs:
        pairs += pairs_from_rubric(records, rubric, seed)
    if preferences is not None:
        pairs += read_pairs_file(preferences, source)
    return unique(pairs)


def unique(pairs: Iterable[PreferencePair]) -> list[PreferencePair]:
    """Pairs without repeats (same prompt, chosen and rejected), first one kept."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for pair in pairs:
        key = (pair.prompt, pair.chosen, pair.rejected)
        if key not in seen:
            seen.add(key)
            out.append(pair)
    return out


def split_by_prompt(
    pairs: list[PreferencePair], held_out: float, seed: int
) -> tuple[list[PreferencePair], list[PreferencePair]]:
    """Train and held-out pairs; all pairs of one prompt fall on the same side, so held-out
    accuracy measures prompts the reward model has not seen."""
    prompts = sorted({p.prompt for p in pairs})
    random.Random(seed).shuffle(prompts)
    n_held = round(len(prompts) * held_out)
    if held_out > 0 and n_held == 0 and len(prompts) >= 2:
        n_held = 1
    held = set(prompts[:n_held])
    return [p for p in pairs if p.prompt not in held], [p for p in pairs if p.prompt in held]


def policy_prompts(
    records: Iterable[Record], pairs: Iterable[PreferencePair] = ()
) -> list[PolicyPrompt]:
    """Rollout prompts: every QA question (its answer as reference), then preference prompts
    whose question no QA record asks (their chosen answer as reference)."""
    out: dict[str, PolicyPrompt] = {}
    for question, answer in qa_items(records):
        out.setdefault(question, PolicyPrompt(format_prompt(question), question, answer))
    for pair in pairs:
        out.setdefault(pair.question, PolicyPrompt(pair.prompt, pair.question, pair.chosen.strip()))
    return list(out.values())
