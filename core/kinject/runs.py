"""Setting up a run: its recipe, its directory, and the inputs every training reads.

A run is resolved (domain recipe < recipe file < command-line flags), given a directory named
after what it trains (``<domain>-<strategy>-<hash>``), and later reopened from that directory
(its ``manifest.json``, ``eval_set.jsonl`` and ``data/``) by the processes ``accelerate``
starts. ``kinject.pipeline``, ``kinject.compare`` and ``kinject.launch`` all start here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kinject.config import RunConfig, build_config, check_plugins, load_yaml, merge_recipe
from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.eval_set import EVAL_SET_FILE
from kinject.evaluation import EvalItem, load_eval_items
from kinject.plugins import Plugins, require_domain
from kinject.records import Record
from kinject.stages import fingerprint

if TYPE_CHECKING:
    from kinject.domains import DomainPack

#: the general text EWC and retention use when the recipe names no ``reference_set``
GENERAL_TEXT = Path(__file__).parent / "data" / "general_text.jsonl"


def resolve_config(
    plugins: Plugins,
    domain: str | None = None,
    config_path: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> tuple[RunConfig, DomainPack | None]:
    """Merge domain recipe < recipe file < CLI flags, then validate everything at once."""
    file_layer = load_yaml(config_path) if config_path else {}
    domain = domain or file_layer.get("domain")
    if domain is not None and not isinstance(domain, str):
        raise ConfigError(
            f"domain: expected the name of a domain pack, got {domain!r}", source=str(config_path)
        )
    pack = require_domain(plugins, domain) if domain else None
    pack_layer = pack.load_recipe() if pack else {}
    source = (
        str(config_path) if config_path else (f"recipe of domain {domain}" if domain else "config")
    )
    config = build_config(
        merge_recipe(pack_layer, file_layer, overrides or {}, {"domain": domain}), source
    )
    check_plugins(config, plugins, source)
    return config, pack


def run_id_for(config: RunConfig) -> str:
    """Same recipe, same run directory: that is what lets a re-run skip finished stages."""
    key = config.dump()
    # where the data stages run does not change what they make: same run, whichever runner
    for volatile in ("run_dir", "runs_root", "runner", "ray", "shard_records"):
        key.pop(volatile, None)
    return f"{config.domain or 'custom'}-{config.strategy}-{fingerprint(key)[:8]}"


def open_run(
    config: RunConfig, plugins: Plugins, pack: DomainPack | None, show_progress: bool = True
) -> RunContext:
    """The context of a new (or re-run) run: ``run_dir`` from the recipe, else ``runs/<run id>``."""
    run_dir = (
        Path(config.run_dir) if config.run_dir else Path(config.runs_root) / run_id_for(config)
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    # the eval set is chosen (or built from the corpus) by the data stages: kinject.eval_set
    return RunContext(
        run_dir=run_dir, config=config, plugins=plugins, domain=pack, show_progress=show_progress
    )


def reopen_run(run_dir: Path, plugins: Plugins, show_progress: bool = False) -> RunContext:
    """The context of a prepared run, rebuilt from its manifest and eval set (the recipe as
    resolved).
    """
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    config = RunConfig(**{**manifest["config"], "run_dir": str(run_dir)})
    pack = require_domain(plugins, config.domain) if config.domain else None
    context = open_run(config, plugins, pack, show_progress=show_progress)
    context.eval_items = load_eval_set(run_dir)
    return context


def load_eval_set(run_dir: Path) -> list[EvalItem]:
    """The questions the data stages wrote for a run (``eval_set.jsonl``); none before they ran."""
    path = run_dir / EVAL_SET_FILE
    return load_eval_items(path) if path.exists() else []


def load_reference(config: RunConfig) -> list[Record]:
    """General text for strategies that protect old knowledge (EWC Fisher, replay)."""
    path = Path(config.reference_set) if config.reference_set else GENERAL_TEXT
    if not path.exists():
        return []
    rows = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    return [
        Record(text=row["text"], source={"uri": str(path)}, lineage=["reference"]) for row in rows
    ]


def plugin_versions(plugins: Plugins) -> dict[str, Any]:
    """Each plugin's distribution, version and import error, as the manifest records them."""
    return {
        n: {"distribution": i.distribution, "version": i.version, "error": i.error}
        for n, i in plugins.info.items()
    }
