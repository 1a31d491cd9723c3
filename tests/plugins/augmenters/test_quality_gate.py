"""Quality gate over the domain packs' sample corpora: what the augmenters write must read well.

The checks are written out here rather than imported from the augmenters, so a change that lets
garbled text through fails here even if the generator's own filter changes with it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kinject.config import RunConfig
from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.ingest import ingest
from kinject.plugins import Plugins
from kinject.records import Record
from kinject_plugins.augmenters.facts import extract_facts, fact_problems, split_sentences

DOMAINS = Path(__file__).resolve().parents[3] / "domains"
PACKS = ["legal", "medical", "finance"]
# the prepositions a complement question may end on (written apart from the lexicon on purpose)
STRANDED = {"to", "as", "into", "of", "on", "in", "for", "at", "with", "from"}
DANGLING = {
    "on",
    "of",
    "and",
    "or",
    "to",
    "in",
    "at",
    "by",
    "for",
    "with",
    "the",
    "a",
    "an",
    "from",
    "than",
    "that",
}
STOP_WORDS = DANGLING | {
    "may",
    "must",
    "is",
    "are",
    "was",
    "were",
    "be",
    "has",
    "have",
    "which",
    "who",
    "it",
}
DOUBLED = re.compile(r"[,;:?!？，；]\s*[,.;:?!？。，；]|\.\s*[,;?]|\?\s*\.")
CLOZE = re.compile(
    r'^Fill in the blank(?: \([^"]*?\))?: "[A-Z(][^"]*___[^"]*\." What goes in the '
    r"blank\?$|^请填空：“[^”]*___[^”]*。”空白处应填什么？$"
)


def corpus_dir(pack: str) -> Path:
    path = DOMAINS / pack / f"kinject_{pack}" / "corpus"
    if not path.is_dir():
        pytest.skip(f"the {pack} domain pack is not in this checkout ({path})")
    return path


def augment(
    pack: str, tmp_path: Path, plugins: Plugins
) -> tuple[list[Record], dict[str, list[Record]]]:
    """The pack corpus read as a run reads it, then paraphrase, qa-generate and term-qa."""
    config = RunConfig(sources={"ingest": {"workers": 0}})
    context = RunContext(
        run_dir=tmp_path / pack, config=config, plugins=plugins, show_progress=False
    )
    root = DOMAINS / pack / f"kinject_{pack}"
    context.domain = DomainPack(
        pack, "0", "", root / "corpus", root / "eval.jsonl", terms=root / "terms.yaml"
    )
    records = list(ingest([str(corpus_dir(pack))], context))
    out: dict[str, list[Record]] = {}
    everything = list(records)
    for name in ("paraphrase", "qa-generate", "term-qa"):
        augmenter = plugins.create("augmenter", name, {})
        augmenter.setup(context)
        out[name] = list(augmenter.augment(everything))
        everything += out[name]
    return records, out


def question_problems(question: str, form: str = "") -> list[str]:
    problems = []
    if not question.endswith(("?", "？")):
        problems.append("does not end with a question mark")
    if "|" in question or "**" in question:
        problems.append("table or Markdown residue")
    if "___" in question and not CLOZE.match(question):
        problems.append("a blank outside a full-sentence cloze")
    if DOUBLED.search(question):
        problems.append("doubled punctuation")
    last = re.findall(r"[\w'-]+", question.rsplit('"', 1)[-1])
    # "What is X limited to?": a complement question ends on its preposition, no other form may
    stranded = form == "complement" and last and last[-1].lower() in STRANDED
    if last and last[-1].lower() in DANGLING and not stranded:
        problems.append(f"dangling '{last[-1]}' ending")
    # "In In re Pellow Street Tenants (2021)" is a preposition before a case name, not a stutter.
    if re.search(r"\b(\w+) \1\b(?! re\b)", question.lower()) and not re.search(
        r"\b(\d+|that|had) \1\b", question.lower()
    ):
        problems.append("repeated word")
    return problems


def answer_problems(answer: str) -> list[str]:
    words = answer.split()
    if not words:
        return ["empty answer"]
    problems = []
    # a definition
    sentence = answer[:1].isupper() and answer.endswith((".", "。")) and len(words) > 4
    if (
        not sentence
        and words[-1].lower().strip(".,;") in STOP_WORDS
        or words[0].lower() in {"and", "or", "of", "to"}
    ):
        problems.append("answer starts or ends with a stop word")
    if "|" in answer or "___" in answer:
        problems.append("table or blank in the answer")
    return problems


@pytest.fixture(scope="module")
def generated(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[list[Record], dict[str, list[Record]]]]:
    from kinject.plugins import build_plugins

    plugins = build_plugins(load_entry_points=False)
    tmp = tmp_path_factory.mktemp("gate")
    return {pack: augment(pack, tmp, plugins) for pack in PACKS if (DOMAINS / pack).is_dir()}


@pytest.mark.parametrize("pack", PACKS)
def test_every_question_and_answer_is_well_formed(pack: str, generated: dict) -> None:
    if pack not in generated:
        pytest.skip(f"the {pack} domain pack is not in this checkout")
    _, out = generated[pack]
    bad = []
    for record in out["qa-generate"] + out["term-qa"]:
        question, answer = record.meta["question"], record.meta["answer"]
        form = str(record.meta.get("value_kind") or "")
        problems = question_problems(question, form) + answer_problems(answer)
        if problems:
            bad.append(f"{problems}: {question} => {answer}")
    assert out["qa-generate"], "no questions at all"
    assert not bad, "\n".join(bad[:20])


@pytest.mark.parametrize("pack", PACKS)
def test_every_paraphrase_keeps_the_values_of_its_source(pack: str, generated: dict) -> None:
    if pack not in generated:
        pytest.skip(f"the {pack} domain pack is not in this checkout")
    records, out = generated[pack]
    by_id = {r.id: r for r in records}
    assert out["paraphrase"]
    for rewrite in out["paraphrase"]:
        source = by_id[rewrite.meta["source_id"]]
        facts = extract_facts(source)
        stated = " ".join(split_sentences(source.text, str(source.meta.get("section", ""))))
        allowed = " ".join(f.context.phrase() + " " + " ".join(f.aliases) for f in facts)
        # a rewrite may restate a fact under its document's title and section heading
        allowed += (
            " " + str(source.meta.get("title", "")) + " " + str(source.meta.get("section", ""))
        )
        # ... and state the values of its tables as sentences
        allowed += " " + " ".join(
            line for line in source.text.splitlines() if line.lstrip().startswith("|")
        )
        assert fact_problems(stated, rewrite.text, allowed=allowed) == [], rewrite.text
        assert "|" not in rewrite.text and "**" not in rewrite.text and "#" not in rewrite.text
        # Hard line breaks of the source are gone: only paragraph breaks remain.
        assert all(
            line.strip() for line in rewrite.text.split("\n\n")
        ) and "\n" not in rewrite.text.replace("\n\n", "")
        for question in re.findall(r"(?:Question|Q): (.+?\?)(?= (?:Answer|A): )", rewrite.text):
            assert question_problems(question) == [], question


def test_legal_volume_suits_a_cpu_demo(generated: dict) -> None:
    if "legal" not in generated:
        pytest.skip("the legal domain pack is not in this checkout")
    _, out = generated["legal"]
    total = sum(len(v) for v in out.values())
    assert 450 <= total <= 1200, {k: len(v) for k, v in out.items()}
    assert len(out["term-qa"]) <= 0.15 * total  # general definitions stay a small share
