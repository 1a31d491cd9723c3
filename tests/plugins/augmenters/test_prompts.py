from pathlib import Path

import pytest

from kinject.errors import PluginError
from kinject_plugins.augmenters.prompts import (
    PROMPTS_DIR,
    TASKS,
    fill,
    load_prompts,
    lower_first,
    placeholders,
)

VALUES = {
    "title": "Annual Report 2019",
    "section": "Revenue",
    "subject": "Acme Inc.",
    "passage": "Revenue was $5 million.",
    "n": 4,
    "k": 3,
    "sentence": "Revenue was $5 million.",
    "question": "What was revenue?",
    "answer": "$5 million",
}


@pytest.mark.parametrize("path", sorted(PROMPTS_DIR.glob("generate.*.yaml")), ids=lambda p: p.name)
def test_every_prompt_file_loads_and_fills(path: Path) -> None:
    prompts = load_prompts(path.name.split(".")[1])
    for task in TASKS:
        messages = prompts.task(task).messages(**VALUES)
        assert [m["role"] for m in messages] == ["system", "user"]
        assert (
            "{" not in messages[1]["content"]
            and "Revenue was $5 million." in messages[1]["content"]
        )
    for key in ("standalone_frames", "heading_frames", "cloze_frame"):
        assert prompts.frames[key], key
        for frame in prompts.frames[key]:
            assert {p.removesuffix("_lc") for p in placeholders(frame)} <= set(VALUES), frame
            fill(frame, VALUES)


def test_a_user_file_replaces_what_it_sets(tmp_path: Path) -> None:
    own = tmp_path / "mine.yaml"
    own.write_text('qa:\n  system: "Ask about {subject}"\n  user: "{passage}"\n', encoding="utf-8")
    prompts = load_prompts("en", own)
    assert prompts.task("qa").messages(**VALUES)[0]["content"] == "Ask about Acme Inc."
    # the rest falls back
    assert prompts.task("paraphrase") == load_prompts("en").task("paraphrase")


def test_bad_prompt_files_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("qa: [unclosed", encoding="utf-8")
    with pytest.raises(PluginError, match="bad.yaml is not valid YAML"):
        load_prompts("en", bad)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("qa: {system: hi}\n", encoding="utf-8")
    with pytest.raises(PluginError, match="'qa' needs 'system' and 'user'"):
        load_prompts("en", wrong)
    with pytest.raises(PluginError, match="placeholder {nope}"):
        fill("{nope}", VALUES)


def test_an_unknown_language_falls_back_to_english() -> None:
    assert load_prompts("xx").task("qa") == load_prompts("en").task("qa")


def test_lower_first() -> None:
    assert lower_first("The fee is due.") == "the fee is due."
    assert lower_first("EBITDA rose.") == "EBITDA rose." and lower_first("3M grew.") == "3M grew."
