"""Shared fixtures: a small throwaway domain pack registered for one test."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kinject import hookimpl
from kinject.domains import DomainPack

SAMPLE_FACTS = [
    ("The Harbor Court of Veloria hears appeals within 21 days of judgment.", "Within how many days does the Harbor Court hear appeals?", ["7", "14", "21", "30"], 2),
    ("Tenants in Veloria must give 45 days notice before leaving.", "How much notice must a Velorian tenant give?", ["10 days", "45 days", "60 days", "90 days"], 1),
]


@pytest.fixture
def sample_pack(tmp_path: Path) -> DomainPack:
    """A two-fact domain pack on disk."""
    root = tmp_path / "pack"
    (root / "corpus").mkdir(parents=True)
    (root / "corpus" / "facts.md").write_text("\n\n".join(f for f, *_ in SAMPLE_FACTS), encoding="utf-8")
    with (root / "eval.jsonl").open("w", encoding="utf-8") as f:
        for i, (_, q, choices, answer) in enumerate(SAMPLE_FACTS):
            f.write(json.dumps({"id": f"q{i}", "question": q, "choices": choices, "answer": answer}) + "\n")
    (root / "recipe.yaml").write_text("cleaners: [normalize]\naugmenters: []\n", encoding="utf-8")
    return DomainPack(name="sample", version="0.0.1", description="two facts", corpus=root / "corpus",
                      eval=root / "eval.jsonl", recipe=root / "recipe.yaml")


class _PackPlugin:
    def __init__(self, pack: DomainPack) -> None:
        self.pack = pack

    @hookimpl
    def register_domains(self, register: Callable[..., Any]) -> None:
        register(self.pack, name=self.pack.name)


@pytest.fixture
def registered_pack(sample_pack: DomainPack, register_plugin: Callable[..., Any]) -> DomainPack:
    """``sample_pack`` registered as the ``sample`` domain for this test."""
    register_plugin(_PackPlugin(sample_pack), name="sample-pack")
    return sample_pack
