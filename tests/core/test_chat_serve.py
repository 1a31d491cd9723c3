"""``inject chat`` and ``inject serve`` on a finished run of the tiny model, over real HTTP."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_data_cmds import invoke

from kinject.chat import ChatModel, Sampling, _StopEmitter, open_chat
from kinject.cli.app import build_cli
from kinject.domains import DomainPack
from kinject.errors import ConfigError
from kinject.evaluation import EvalModel

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

QUESTION = "Within how many days does the Harbor Court hear appeals?"
#: a run of the sample pack: a few real LoRA steps on the tiny model, the stand-in evaluator
RUN_FLAGS = (
    "--domain",
    "sample",
    "--set",
    "evaluators=[count-params]",
    "--set",
    "exporters=[]",
    "--set",
    "forgetting=false",
    "--quiet",
)


def _run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model: Path, strategy: str, *settings: str
) -> Path:
    monkeypatch.setenv("KINJECT_HOME", str(tmp_path / "home"))
    run_dir = tmp_path / f"{strategy}-run"
    result = invoke(
        *RUN_FLAGS,
        "--strategy",
        strategy,
        "--base-model",
        str(tiny_model),
        "--run-dir",
        str(run_dir),
        *settings,
    )
    assert result.exit_code == 0, result.output
    return run_dir


@pytest.fixture
def sft_run(
    stand_ins: DomainPack, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A finished ``sft`` run: the tiny model plus a LoRA adapter."""
    return _run(
        tmp_path,
        monkeypatch,
        tiny_model,
        "sft",
        "--set",
        "trainer.max_steps=2",
        "--set",
        "trainer.batch_size=2",
        "--set",
        "trainer.report_to=[]",
    )


@pytest.fixture
def rag_run(
    stand_ins: DomainPack, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A finished ``rag`` run: the tiny model and an index of the pack's two facts."""
    return _run(tmp_path, monkeypatch, tiny_model, "rag", "--set", "trainer.k=1")


def _trained_differs_from_base(model: ChatModel) -> bool:
    """The loaded model is one plain model (the adapter merged in) whose weights are not the
    base model's."""
    import torch

    from kinject.components import TrainResult
    from kinject.models import load_causal_lm

    loaded = model.handle.model
    assert model.run_dir is not None
    base, _ = load_causal_lm(TrainResult.load(model.run_dir).base_model)
    assert not hasattr(loaded, "peft_config")
    theirs = dict(base.named_parameters())
    return any(not torch.equal(p, theirs[n]) for n, p in loaded.named_parameters())


def _greedy(model: ChatModel, prompt: str, max_new_tokens: int, answer: bool = True) -> str:
    """The continuation computed apart from kinject.chat: plain greedy generate; an ``answer`` is
    cut at the next question, without the blank after ``Answer:``."""
    import torch

    tokenizer = model.handle.tokenizer
    inputs = tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        out = model.handle.model.generate(
            **inputs,
            do_sample=False,
            max_new_tokens=max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
        )
    text = tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    return str(text.split("\nQuestion:")[0].lstrip()) if answer else str(text)


# -- prompts and stop strings --------------------------------------------------------------------


def test_messages_are_put_in_the_training_format_with_passages_before_the_question() -> None:
    closed = ChatModel(EvalModel(None, None, "m"), "m")
    messages = [("system", "Be brief."), ("user", " q1 "), ("assistant", "a1"), ("user", "q2")]
    assert (
        closed.messages_prompt(messages)
        == "Be brief.\n\nQuestion: q1\nAnswer: a1\n\nQuestion: q2\nAnswer:"
    )
    rag = ChatModel(EvalModel(None, None, "m", retrieve=lambda q: [f"passage about {q}"]), "m")
    assert (
        rag.retrieval
        and rag.messages_prompt([("user", "q2")])
        == "Context:\n- passage about q2\n\nQuestion: q2\nAnswer:"
    )
    with pytest.raises(ConfigError, match="unsupported role 'tool'"):
        closed.messages_prompt([("tool", "x"), ("user", "q")])


def test_a_stop_string_split_across_pieces_is_held_back_then_cut() -> None:
    emitter = _StopEmitter(("\nQuestion:",), trim=True)
    sent = [emitter.add(piece) for piece in ["  The", " answer. ", "\n", "Ques", "tion: next?"]]
    assert (
        sent == ["The", " answer.", "", "", ""]
        and emitter.stopped
        and emitter.text == "The answer."
    )
    ended = _StopEmitter(("\nQuestion:",), trim=True)
    assert [ended.add(" two "), ended.add("words \n"), ended.flush()] == ["two", " words", ""]
    # --one-line: what the evaluation scores
    one_line = _StopEmitter(("\nQuestion:", "\n"), trim=True)
    assert (
        "".join(one_line.add(p) for p in ["\n", " first line", "\nsecond"]) == "first line"
        and one_line.stopped
    )
    almost = _StopEmitter(("\nQuestion:",), trim=False)
    sent = [almost.add(piece) for piece in [" a\n", "Quest", "ions remain"]]
    assert sent == [" a", "", "\nQuestions remain"] and not almost.stopped and almost.flush() == ""


# -- chat ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["chat", "serve"])
def test_commands_are_listed_and_documented(command: str) -> None:
    assert command in CliRunner().invoke(build_cli(), ["--help"]).output
    result = CliRunner().invoke(build_cli(), [command, "--help"])
    assert (
        result.exit_code == 0
        and "Examples:" in result.output
        and f"inject {command}" in result.output
    )


def test_chat_question_answers_in_the_training_format(sft_run: Path) -> None:
    result = invoke(
        "chat", str(sft_run), "--question", QUESTION, "--max-new-tokens", "12", "--show-prompt"
    )
    assert result.exit_code == 0, result.output
    assert f"Question: {QUESTION}\nAnswer:" in result.stderr
    model = open_chat(sft_run)
    # base + the run's adapter, merged as inject eval loads it: not the base model's weights
    assert _trained_differs_from_base(model)
    assert result.stdout == _greedy(model, model.question_prompt(QUESTION), 12) + "\n"


def test_a_run_trained_with_qlora_on_a_gpu_is_chatted_with_on_a_cpu(sft_run: Path) -> None:
    # loading needs no training hardware: chat and eval call load_for_eval without setup, whose
    # check would refuse qlora here
    manifest = sft_run / "manifest.json"
    data = json.loads(manifest.read_text())
    data["config"]["trainer"]["method"] = "qlora"
    manifest.write_text(json.dumps(data))
    model = open_chat(sft_run)
    assert _trained_differs_from_base(model)


def test_chat_at_a_prompt_goes_on_after_a_refused_question_and_leaves_on_exit(
    sft_run: Path,
) -> None:
    too_long = " ".join(["appeal"] * 400)
    result = CliRunner().invoke(
        build_cli(),
        ["chat", str(sft_run), "--max-new-tokens", "4"],
        input=f"{QUESTION}\n\n{too_long}\n{QUESTION}\nexit\nnever asked\n",
    )
    assert result.exit_code == 0, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "over the model's" in errors[0]
    model = open_chat(sft_run)
    answer = _greedy(model, model.question_prompt(QUESTION), 4)
    # the empty line asks nothing; exit ends it
    assert result.stdout == f"> {answer}\n> > > {answer}\n> "
    assert "closed-book" in result.stderr
    ended = CliRunner().invoke(build_cli(), ["chat", str(sft_run)], input="")  # Ctrl-D
    assert ended.exit_code == 0


def test_chat_of_a_rag_run_puts_the_retrieved_passage_first(rag_run: Path) -> None:
    shown = invoke(
        "chat", str(rag_run), "--question", QUESTION, "--max-new-tokens", "2", "--show-prompt"
    )
    assert shown.exit_code == 0, shown.output
    passages, question = shown.stderr.split("Question: ")
    assert (
        passages.startswith("Context:\n- ")
        and "hears appeals within 21 days of judgment" in passages
    )
    closed = invoke(
        "chat",
        str(rag_run),
        "--no-rag",
        "--question",
        QUESTION,
        "--max-new-tokens",
        "2",
        "--show-prompt",
    )
    assert closed.exit_code == 0 and "Context:" not in closed.stderr


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("sft", "--rag: this run has no retrieval index (strategy sft"),
        ("empty", "not a run directory (no manifest.json)"),
    ],
)
def test_chat_errors_are_one_line(sft_run: Path, target: str, message: str) -> None:
    run_dir = sft_run if target == "sft" else sft_run.parent / "empty"
    run_dir.mkdir(exist_ok=True)
    result = invoke("chat", str(run_dir), "--rag", "--question", QUESTION)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and "Traceback" not in result.output and message in lines[-1]


# -- serve --------------------------------------------------------------------------------------


@pytest.fixture
def served(sft_run: Path) -> Iterator[tuple[str, ChatModel]]:
    """``inject serve``'s app on a free local port, in a thread; shut down after the test."""
    from kinject.serve import create_app, listen, make_server

    model = open_chat(sft_run)
    server = make_server(create_app(model, Sampling(max_new_tokens=16)), log_level="warning")
    sock = listen("127.0.0.1", 0)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", model
    server.should_exit = True
    thread.join(timeout=30)
    assert not thread.is_alive()


def _events(response: Any) -> list[Any]:
    """The ``data:`` payloads of a server-sent event stream; the last must be ``[DONE]``."""
    data = [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]
    assert data and data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


def test_models_and_chat_completions_as_the_openai_api_has_them(
    served: tuple[str, ChatModel],
) -> None:
    url, model = served
    listed = httpx.get(f"{url}/v1/models").json()
    assert listed["object"] == "list" and [m["id"] for m in listed["data"]] == [model.name]
    messages = [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": QUESTION},
    ]
    reply = httpx.post(
        f"{url}/v1/chat/completions", json={"model": model.name, "messages": messages}, timeout=60
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (
        body["object"] == "chat.completion"
        and body["model"] == model.name
        and body["id"].startswith("chatcmpl-")
    )
    (choice,) = body["choices"]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] in (
        "stop",
        "length",
    )
    prompt = f"Answer briefly.\n\nQuestion: {QUESTION}\nAnswer:"
    assert choice["message"]["content"] == _greedy(model, prompt, 16)
    usage = body["usage"]
    assert usage["prompt_tokens"] == len(model.handle.tokenizer(prompt)["input_ids"])
    assert (
        usage["total_tokens"]
        == usage["prompt_tokens"] + usage["completion_tokens"]
        > usage["prompt_tokens"]
    )

    with httpx.stream(
        "POST",
        f"{url}/v1/chat/completions",
        timeout=60,
        json={"messages": messages, "stream": True, "stream_options": {"include_usage": True}},
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        chunks = _events(stream)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(
        c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks
    )
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == choice["message"]["content"]
    assert (
        chunks[-2]["choices"][0]["finish_reason"] == choice["finish_reason"]
        and chunks[-1]["usage"] == usage
    )


def test_a_sampled_answer_is_the_same_for_the_same_seed(served: tuple[str, ChatModel]) -> None:
    def answer(seed: int) -> str:
        body = {
            "messages": [{"role": "user", "content": QUESTION}],
            "temperature": 1.0,
            "seed": seed,
        }
        return str(
            httpx.post(f"{served[0]}/v1/chat/completions", json=body, timeout=60).json()["choices"][
                0
            ]["message"]["content"]
        )

    assert answer(7) == answer(7) != answer(8)


def test_completions_continue_the_prompt_as_given(served: tuple[str, ChatModel]) -> None:
    url, model = served
    prompt = "The Harbor Court of Veloria"
    body = httpx.post(
        f"{url}/v1/completions", json={"prompt": prompt, "max_tokens": 5}, timeout=60
    ).json()
    assert body["object"] == "text_completion"
    (choice,) = body["choices"]
    assert body["usage"]["completion_tokens"] <= 5
    assert choice["finish_reason"] == (
        "length" if body["usage"]["completion_tokens"] == 5 else "stop"
    )
    assert choice["text"] == _greedy(model, prompt, 5, answer=False)
    with httpx.stream(
        "POST",
        f"{url}/v1/completions",
        json={"prompt": [prompt], "max_tokens": 5, "stream": True},
        timeout=60,
    ) as stream:
        chunks = _events(stream)
    assert "".join(c["choices"][0]["text"] for c in chunks) == choice["text"]
    assert chunks[-1]["choices"][0]["finish_reason"] == choice["finish_reason"]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("chat/completions", {"messages": []}, "messages"),
        (
            "chat/completions",
            {"messages": [{"role": "assistant", "content": "hi"}]},
            "the last message must be the user's",
        ),
        ("chat/completions", {"messages": [{"role": "user", "content": "hi"}], "n": 2}, "n:"),
        ("completions", {"prompt": "x" * 5000}, "over the model's"),
    ],
)
def test_bad_requests_get_an_openai_error(
    served: tuple[str, ChatModel], path: str, body: dict[str, Any], message: str
) -> None:
    reply = httpx.post(f"{served[0]}/v1/{path}", json=body, timeout=60)
    assert reply.status_code == 400 and message in reply.json()["error"]["message"]


def test_the_endpoint_augmenter_backend_can_use_the_served_run_as_its_teacher(
    served: tuple[str, ChatModel],
) -> None:
    from kinject_plugins.augmenters.endpoint import EndpointClient, Request

    url, model = served
    client = EndpointClient(
        f"{url}/v1", model.name, temperature=0.0, max_tokens=8, retries=0, concurrency=3
    )
    direct = client.complete("Answer briefly.", QUESTION)
    assert direct == _greedy(model, f"Answer briefly.\n\nQuestion: {QUESTION}\nAnswer:", 8).strip()
    questions = [QUESTION, "How much notice must a Velorian tenant give?", QUESTION]
    requests = [Request.chat([{"role": "user", "content": q}]) for q in questions]
    together = client.complete_many(requests)  # three at once: the server answers them one by one
    assert together[0] == together[2] and together == [client.chat(r.as_dicts()) for r in requests]


def test_the_openai_client_reads_the_replies(served: tuple[str, ChatModel]) -> None:
    openai = pytest.importorskip("openai")
    url, model = served
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused")
    assert [m.id for m in client.models.list()] == [model.name]
    messages = [{"role": "user", "content": QUESTION}]
    reply = client.chat.completions.create(model=model.name, messages=messages, max_tokens=6)
    streamed = client.chat.completions.create(
        model=model.name, messages=messages, max_tokens=6, stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices)
    assert (
        reply.choices[0].message.content
        == text
        == _greedy(model, model.question_prompt(QUESTION), 6)
    )
    assert reply.usage.completion_tokens == 6 and reply.choices[0].finish_reason == "length"


def test_serve_on_a_taken_port_is_one_line(sft_run: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = invoke("serve", str(sft_run), "--port", str(taken.getsockname()[1]))
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and "cannot listen on 127.0.0.1:" in lines[-1]
