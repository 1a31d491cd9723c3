"""Print samples of what the augmenters make from a corpus, so a person can read them.

    python bench/knowledge/show_samples.py domains/legal/kinject_legal/corpus
    python bench/knowledge/show_samples.py domains/medical/kinject_medical/corpus -n 20 --augmenters
    qa-generate
    python bench/knowledge/show_samples.py corpus/ --domain legal --seed 3

The corpus is read with the same sources as ``inject`` (one Record per Markdown section), then
each augmenter runs on the Records (each sees the earlier ones' output, as in a run). Prints the
record count per augmenter, then N random outputs of each: rewrites as text, QA pairs as
``Q: ... => A: ...``.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

from kinject.config import RunConfig
from kinject.context import RunContext
from kinject.ingest import ingest
from kinject.plugins import build_plugins, require_domain
from kinject.records import Record

DEFAULT_AUGMENTERS = ["paraphrase", "qa-generate", "term-qa"]


def domain_of(corpus: Path) -> str | None:
    """The domain pack a pack corpus belongs to (``domains/legal/kinject_legal/corpus`` ->
    legal).
    """
    parent = corpus.resolve().parent.name
    return parent.removeprefix("kinject_") if parent.startswith("kinject_") else None


def augment(
    records: list[Record], names: list[str], context: RunContext
) -> dict[str, list[Record]]:
    """Each augmenter's new Records, run in order over the growing list (as the engine does)."""
    out: dict[str, list[Record]] = {}
    everything = list(records)
    for name in names:
        augmenter = context.plugins.create("augmenter", name, {})
        augmenter.setup(context)
        out[name] = list(augmenter.augment(everything))
        everything += out[name]
    return out


def render(record: Record) -> str:
    if record.kind == "qa":
        return f"Q: {record.meta['question']}  =>  A: {record.meta['answer']}"
    return record.text.replace("\n\n", "\n    ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="a file or folder of documents")
    parser.add_argument("-n", type=int, default=10, help="samples per augmenter")
    parser.add_argument("--augmenters", nargs="+", default=DEFAULT_AUGMENTERS)
    parser.add_argument(
        "--domain", default=None, help="domain pack for term lists (default: from the path)"
    )
    parser.add_argument("--seed", type=int, default=0, help="which random samples to show")
    args = parser.parse_args(argv)

    plugins = build_plugins()
    run_dir = Path(tempfile.mkdtemp(prefix="kinject-samples-"))
    context = RunContext(run_dir=run_dir, config=RunConfig(), plugins=plugins, show_progress=False)
    domain = args.domain or domain_of(args.corpus)
    if domain:
        context.domain = require_domain(plugins, domain)
    records = list(ingest([str(args.corpus)], context))
    produced = augment(records, args.augmenters, context)
    total = sum(len(v) for v in produced.values())
    print(
        f"{len(records)} input records; {total} generated: "
        + ", ".join(f"{k} {len(v)}" for k, v in produced.items())
    )
    rng = random.Random(args.seed)
    for name, new in produced.items():
        print(f"\n===== {name} ({len(new)} records, {min(args.n, len(new))} shown)")
        for record in rng.sample(new, min(args.n, len(new))):
            print(f"- {render(record)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
