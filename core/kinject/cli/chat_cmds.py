"""``inject chat`` and ``inject serve``: ask a finished run's model, at a prompt or over HTTP.

The model is loaded in :mod:`kinject.chat`, the server is :mod:`kinject.serve`; this module
parses options and prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from kinject.chat import ChatModel, Sampling

#: words that end an interactive chat (as Ctrl-D does)
EXIT_WORDS = {"exit", "quit", ":q"}


def _model_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``chat`` and ``serve`` share: which model, and how it generates."""
    for option in reversed(
        [
            click.argument(
                "run_dir", type=click.Path(path_type=Path, file_okay=False, exists=True)
            ),
            click.option(
                "--rag/--no-rag",
                "rag",
                default=None,
                help="Put the run's retrieved passages before each question (insist on the "
                "index), or ask "
                "closed-book. Default: as the run was measured (retrieval for a rag run).",
            ),
            click.option(
                "--max-new-tokens",
                type=click.IntRange(1),
                default=128,
                show_default=True,
                metavar="N",
                help="Answer length budget, in tokens.",
            ),
            click.option(
                "--temperature",
                type=click.FloatRange(0.0, 2.0),
                default=0.0,
                show_default=True,
                help="0 answers greedily; above 0 samples.",
            ),
            click.option(
                "--seed",
                type=int,
                default=None,
                help="With --temperature: the same seed gives the same answer.",
            ),
            click.option(
                "--one-line",
                is_flag=True,
                help="End each answer at its first line break (the answer line the evaluation "
                "scores).",
            ),
            click.option(
                "--verbose",
                "-v",
                is_flag=True,
                help="Show the libraries' raw logs (default: RUN_DIR/logs/).",
            ),
        ]
    ):
        command = option(command)
    return command


@contextmanager
def _session(run_dir: Path, rag: bool | None, verbose: bool) -> Iterator[ChatModel]:
    """The run's model, with library logs and bars in RUN_DIR/logs/ while it answers (a rag
    run's embedder loads at the first question)."""
    from kinject.chat import open_chat
    from kinject.console import library_output

    with library_output(run_dir, verbose=verbose, quiet=True):
        yield open_chat(run_dir, rag)


def _sampling(
    max_new_tokens: int, temperature: float, seed: int | None, one_line: bool
) -> Sampling:
    from kinject.chat import ANSWER_STOPS, Sampling

    stops = (*ANSWER_STOPS, "\n") if one_line else ANSWER_STOPS
    return Sampling(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed, stop=stops)


def _describe(model: ChatModel) -> str:
    info = model.handle.info
    if model.retrieval:
        return (
            f"{model.name} (with the run's index: {info.get('k', '?')} of "
            f"{info.get('passages', '?')} passages per question)"
        )
    return f"{model.name} (closed-book)"


# -- chat ---------------------------------------------------------------------------------------


@click.command(
    "chat",
    epilog="\b\nExamples:\n  inject chat runs/legal-sft-1a2b3c4d\n"
    "  inject chat runs/legal-sft-1a2b3c4d --question 'What is a deposit for?'\n"
    "  inject chat runs/legal-rag-5e6f7a8b --show-prompt",
)
@_model_options
@click.option(
    "--question",
    "-Q",
    metavar="TEXT",
    help="Ask one question, print the answer and exit (for scripts).",
)
@click.option(
    "--show-prompt",
    is_flag=True,
    help="Print the prompt the model is given (retrieved passages included).",
)
def chat_cmd(
    run_dir: Path,
    rag: bool | None,
    max_new_tokens: int,
    temperature: float,
    seed: int | None,
    one_line: bool,
    verbose: bool,
    question: str | None,
    show_prompt: bool,
) -> None:
    """Ask the trained model of a finished run questions, at a prompt.

    Each question is put in the format the run trained on and was measured with (`Question:
    ... Answer:`), on its own; for a rag run the retrieved passages come first. The answer is
    printed as it is written; Ctrl-C stops an answer. Ctrl-D or `exit` leaves.
    """
    sampling = _sampling(max_new_tokens, temperature, seed, one_line)
    with _session(run_dir, rag, verbose) as model:
        if question is not None:
            _answer(model, question, sampling, show_prompt)
            return
        click.echo(f"Chatting with {_describe(model)}. Ctrl-D or 'exit' leaves.", err=True)
        _prompt_loop(model, sampling, show_prompt)


def _prompt_loop(model: ChatModel, sampling: Sampling, show_prompt: bool) -> None:
    while True:
        try:
            line = input("> ")
        except (EOFError, KeyboardInterrupt):
            click.echo("", err=True)
            return
        if line.strip().lower() in EXIT_WORDS:
            return
        if line.strip():
            _ask(model, line, sampling, show_prompt)


def _ask(model: ChatModel, question: str, sampling: Sampling, show_prompt: bool) -> None:
    """One question of an interactive chat: a refused question is one line, Ctrl-C stops the
    answer, and the chat goes on."""
    from kinject.errors import KinjectError

    try:
        _answer(model, question, sampling, show_prompt)
    except KinjectError as exc:
        click.secho(f"Error: {exc}", fg="red", err=True)
    except KeyboardInterrupt:
        click.echo("\n(stopped)", err=True)


def _answer(model: ChatModel, question: str, sampling: Sampling, show_prompt: bool) -> None:
    prompt = model.question_prompt(question)
    if show_prompt:
        click.secho(prompt, dim=True, err=True)
    for piece in model.stream(prompt, sampling):
        click.echo(piece, nl=False)
    click.echo()


# -- serve --------------------------------------------------------------------------------------


@click.command(
    "serve",
    epilog="\b\nExamples:\n  inject serve runs/legal-sft-1a2b3c4d\n"
    "  inject serve runs/legal-rag-5e6f7a8b --port 8080\n"
    "  curl http://127.0.0.1:8000/v1/chat/completions -H 'Content-Type: application/json' \\\n"
    '    -d \'{"messages": [{"role": "user", "content": "What is a deposit for?"}]}\'',
)
@_model_options
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback is open to the network without a key.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
def serve_cmd(
    run_dir: Path,
    rag: bool | None,
    max_new_tokens: int,
    temperature: float,
    seed: int | None,
    one_line: bool,
    verbose: bool,
    host: str,
    port: int,
) -> None:
    """Serve the trained model of a finished run over an OpenAI-compatible HTTP API.

    POST /v1/chat/completions and /v1/completions (with "stream": true for server-sent events),
    GET /v1/models. Chat messages are put in the format the run trained on, with the run's
    retrieved passages for a rag run. One request is answered at a time; the others wait.
    The options give the defaults for what a request leaves out. Ctrl-C stops.
    """
    from kinject.serve import create_app, listen, make_server

    sock = listen(host, port)
    with _session(run_dir, rag, verbose) as model:
        server = make_server(
            create_app(model, _sampling(max_new_tokens, temperature, seed, one_line)),
            "info" if verbose else "warning",
        )
        if host not in ("127.0.0.1", "localhost", "::1"):
            click.secho(
                f"Listening on {host}: anyone who can reach it can use the model (there is no API "
                "key).",
                fg="yellow",
                err=True,
            )
        where = f"[{host}]" if ":" in host else host
        click.echo(
            f"Serving {_describe(model)} at http://{where}:{sock.getsockname()[1]}/v1 "
            "(chat/completions, completions, models; one request at a time). Ctrl-C stops.",
            err=True,
        )
        server.run(sockets=[sock])
