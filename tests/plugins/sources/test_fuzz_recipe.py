"""Hostile recipes for the recipe loader: any file gives a run config or one ConfigError.

A recipe is read by :func:`kinject.runs.resolve_config` (YAML, merged with the defaults,
validated, every plugin and option checked). Whatever the file holds, the only exception allowed
out of it is a :class:`kinject.errors.KinjectError`, whose message names the file.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import strategies as st

from kinject.errors import KinjectError
from kinject.plugins import build_plugins
from kinject.runs import resolve_config

KEYS = [
    "corpus",
    "base_model",
    "sources",
    "cleaners",
    "augmenters",
    "strategy",
    "trainer",
    "evaluators",
    "exporters",
    "eval_set",
    "chunk",
    "eval_questions",
    "augment",
    "holdout_fraction",
    "decontaminate",
    "forgetting",
    "strategy_options",
    "launcher",
    "num_processes",
    "seed",
    "run_dir",
    "domain",
    "nope",
]
PLUGIN_NAMES = [
    "normalize",
    "exact-dedup",
    "paraphrase",
    "sft",
    "rag",
    "knowledge-qa",
    "adapter",
    "nope",
    "",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(PLUGIN_NAMES)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(KEYS + PLUGIN_NAMES + ["name", "k", "max_steps"]), inner, max_size=3
        )
    ),
    max_leaves=12,
)
recipes = st.one_of(
    st.dictionaries(st.sampled_from(KEYS), values, max_size=6).map(
        lambda d: yaml.safe_dump(d, allow_unicode=True)
    ),
    st.lists(
        st.sampled_from(
            [
                *"abc:-[]{}&*!|>'\"#%@` \n\t0.,?~",
                "corpus",
                "trainer: ",
                "\x00",
                "\ufeff",
                "!!python/object:os.system",
            ]
        ),
        max_size=40,
    ).map("".join),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
)


def recipe_target() -> tuple[st.SearchStrategy[str], Callable[[str], str]]:
    """The strategy of recipe texts and the check of one (``loaded`` or the error's class)."""
    folder = Path(tempfile.mkdtemp(prefix="kinject-fuzz-recipe-"))
    plugins = build_plugins(load_entry_points=False)

    def check(text: str) -> str:
        path = folder / "recipe.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            resolve_config(
                plugins, None, path, {"corpus": [str(folder)]} if "corpus" not in text else {}
            )
        except KinjectError as exc:
            assert "\n" not in str(exc).strip(), str(exc)
            return type(exc).__name__
        return "loaded"

    return recipes, check


@functools.cache
def _fuzz() -> Callable[..., dict[str, int]]:
    from test_fuzz_sources import fuzz

    return fuzz


def test_hostile_recipes_load_or_fail_in_one_line() -> None:
    assert sum(_fuzz()("recipe loader", 25).values()) >= 1


@pytest.mark.long
def test_hostile_recipes_long() -> None:
    from test_fuzz_sources import LONG_EXAMPLES

    assert sum(_fuzz()("recipe loader", LONG_EXAMPLES).values()) >= 1
