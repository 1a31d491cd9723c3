"""The rules backend's word lists are language data: strings only, and no domain pack's terms."""

from __future__ import annotations

from typing import Any

from kinject.plugins import get_plugins
from kinject_plugins.augmenters.lexicon import alternation, lexicon


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [x for k, v in node.items() for x in (k, *_leaves(v))]
    if isinstance(node, list):
        return [x for v in node for x in _leaves(v)]
    return [node]


def test_every_entry_is_a_string() -> None:
    # YAML reads bare on/no/yes as booleans: such an entry would silently stop matching its word
    odd = [x for x in _leaves(lexicon()) if not isinstance(x, str)]
    assert odd == []


def test_no_domain_pack_term_is_in_the_generic_lexicon() -> None:
    # units of measure (mg, bp, IU) and the words that open a citation (Article, Section) are
    # shared by every domain's documents; a pack may list them as terms too
    shared = {"unit_words", "citation_heads"}
    words = {
        x.lower()
        for section in lexicon().values()
        if isinstance(section, dict)
        for name, entries in section.items()
        if name not in shared
        for x in _leaves(entries)
    }
    for entry in get_plugins().domains():
        terms = {t.term.lower() for t in entry.obj.load_terms()}
        assert not terms & words, f"{entry.name} terms in english.yaml: {sorted(terms & words)}"


def test_alternation_tries_the_longest_form_first() -> None:
    assert alternation(["m", "mm", "mL/min"]) == r"mL/min|mm|m"
