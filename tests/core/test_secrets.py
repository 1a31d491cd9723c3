"""No secret a run is given reaches a file it writes: passwords in URLs, API keys, tokens."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from click.testing import CliRunner

from kinject import hookimpl
from kinject.components import Evaluator
from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.evaluation import EvalItem, EvalModel
from kinject.redact import is_secret_key, redact, redact_text

PASSWORD = "Pw-s3cret-4242"
ENV_KEY = "sk-from-the-environment-0123"
RECIPE_KEY = "sk-written-in-the-recipe-4567"
SECRETS = (PASSWORD, ENV_KEY, RECIPE_KEY)


class LeakyEvaluator(Evaluator):
    """Logs what an HTTP or database library may log: a request header, a URL with a password."""

    name = "leaky"

    def evaluate(
        self, model: EvalModel, items: Sequence[EvalItem], context: RunContext
    ) -> dict[str, Any]:
        logging.getLogger("urllib3.connectionpool").debug(
            "POST /v1/chat headers={'Authorization': 'Bearer %s'}", ENV_KEY
        )
        logging.getLogger("kinject.leaky").warning(
            "could not reach postgresql://kuser:%s@db.example/notes", PASSWORD
        )
        context.quarantine.add(
            "leaky", "endpoint_failed", f"GET https://api.example/v1?api_key={RECIPE_KEY} failed"
        )
        return {"score": 1.0}


class _Leaky:
    @hookimpl
    def register_evaluators(self, register: Callable[..., Any]) -> None:
        register(LeakyEvaluator)


@pytest.fixture
def leaky(stand_ins: DomainPack, register_plugin: Callable[..., Any]) -> DomainPack:
    register_plugin(_Leaky(), name="leaky")
    return stand_ins


def test_a_run_writes_no_secret_anywhere(leaky, tiny_model, tmp_path, monkeypatch):
    from kinject.cli import main

    # a name that does not look secret: api_key_env tells
    monkeypatch.setenv("KINJECT_TEST_LLM", ENV_KEY)
    run_dir = tmp_path / "run"
    args = [
        "--domain", "sample", "-m", str(tiny_model), "--run-dir", str(run_dir),
        "--corpus", str(leaky.corpus), "--corpus", f"sql+sqlite://kuser:{PASSWORD}@/{tmp_path}/missing.db?table=t",
        "--set", "strategy=copy", "--set", "evaluators=[leaky]", "--set", "exporters=[card]",
        "--set", "forgetting=false", "--set", "augmenters=[]",
        "--set", f"sources.sql.url=postgresql://kuser:{PASSWORD}@db.example/notes",
        "--set", "augment.api_key_env=KINJECT_TEST_LLM", "--set", f"augment.api_key={RECIPE_KEY}",
    ]  # fmt: skip
    # the manifest and the logs record the command
    monkeypatch.setattr(sys, "argv", ["inject", *args])

    class Main:
        name = "inject"

        def main(self, args: list[str], **_: Any) -> None:
            main(args)

    result = CliRunner().invoke(Main(), args, catch_exceptions=False)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    written = [p for p in run_dir.rglob("*") if p.is_file()]
    names = {p.relative_to(run_dir).as_posix() for p in written}
    assert {
        "manifest.json",
        "quarantine.jsonl",
        "report.md",
        "report.html",
        "logs/kinject.log",
        "logs/libraries.log",
    } <= names
    assert any(n.endswith("README.md") for n in names)  # the model card
    for path in written:
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, f"{secret} in {path.relative_to(run_dir)}"
    for secret in SECRETS:
        assert secret not in result.output
    quarantined = [
        json.loads(line) for line in (run_dir / "quarantine.jsonl").read_text().splitlines()
    ]
    assert "kuser:***@" in next(
        q["uri"] for q in quarantined if q["reason"] == "database_not_found"
    )
    config = json.loads((run_dir / "manifest.json").read_text())["config"]
    assert config["sources"]["sql"]["url"] == "postgresql://kuser:***@db.example/notes"
    assert config["augment"] == {"api_key_env": "KINJECT_TEST_LLM", "api_key": "***"}
    assert (
        "could not reach postgresql://kuser:***@db.example/notes"
        in (run_dir / "logs" / "kinject.log").read_text()
    )


@pytest.mark.parametrize(
    ("name", "secret"),
    [("password", True), ("api_key", True), ("HF_TOKEN", True), ("clientSecret", True),
     ("access_token", True), ("api_key_env", False), ("max_tokens", False), ("pad_token", False),
     ("key_column", False), ("tokenizer", False)],
)  # fmt: skip
def test_which_names_hold_secrets(name, secret):
    assert is_secret_key(name) is secret


def test_redaction_keeps_what_is_not_secret():
    url = "mysql://me:pw@host/db?charset=utf8&password=x"
    hidden = "mysql://me:***@host/db?charset=utf8&password=***"
    given = {"url": url, "max_tokens": 64, "token": None}
    assert redact(given) == {"url": hidden, "max_tokens": 64, "token": None}
    plain = "time=12:30 user@host postgresql://me@host/db Basic authentication, max_tokens: 256"
    assert redact_text(plain) == plain
    assert (
        redact_text('{"hf_token": "hf_abcdefgh"} Authorization: Bearer abcdefgh123')
        == '{"hf_token": "***"} Authorization: ***'
    )
