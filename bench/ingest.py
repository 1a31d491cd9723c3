"""Ingestion benchmark: a generated mixed corpus, 1 worker vs 2 workers, per source.

    python bench/ingest.py [--scale 1] [--workers 1,2] [--no-audio]
    python bench/ingest.py --pdf ../shared/data/pdfs/long/ltnews.pdf [--json PATH]

Prints, per source and for the whole mixed corpus: files, pages (PDF pages, TIFF frames; one per
file elsewhere), files/s and pages/s with each worker count, the speed-up of the most workers over
one, and the peak resident memory of a worker process. Times include starting the workers.

``--pdf FILE`` times one PDF instead: plain single-threaded pdfplumber (``extract_text`` of every
page, in this process) against kinject's ingest with each worker count (page-parallel when the
PDF is over ``sources.pdf.page_parallel_min_kb``), in the same run, and checks that every worker
count gives the same Record ids. ``--json PATH`` writes the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kinject.config import RunConfig
from kinject.context import RunContext
from kinject.ingest import IngestStats, ingest
from kinject.plugins import build_plugins

WORDS = [
    "tenant",
    "landlord",
    "notice",
    "appeal",
    "court",
    "deadline",
    "contract",
    "clause",
    "party",
    "payment",
    "deposit",
    "term",
    "breach",
    "remedy",
    "damages",
    "liability",
    "statute",
    "filing",
    "judgment",
    "hearing",
    "evidence",
]


def sentence(i: int, n: int = 12) -> str:
    words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(n)]
    return " ".join(words).capitalize() + f" number {i}."


def paragraph(i: int, sentences: int = 5) -> str:
    return " ".join(sentence(i * 10 + k) for k in range(sentences))


def make_corpus(root: Path, scale: int, audio_model: Path | None) -> dict[str, list[str]]:
    """Write the corpus; returns corpus entries per source."""
    entries: dict[str, list[str]] = {}
    groups = {
        name: root / name for name in ("text", "structured", "pdf", "ocr", "docx", "html", "audio")
    }
    for folder in groups.values():
        folder.mkdir(parents=True)
    for i in range(40 * scale):
        sections = "\n\n".join(
            f"## Part {k}\n\n{paragraph(i + k)}\n\n{paragraph(i + k + 1)}" for k in range(3)
        )
        (groups["text"] / f"doc{i:03}.md").write_text(f"# Document {i}\n\n{sections}\n")
    for i in range(10 * scale):
        rows = [json.dumps({"text": paragraph(i * 50 + r, 2), "row": r}) for r in range(50)]
        (groups["structured"] / f"rows{i:03}.jsonl").write_text("\n".join(rows) + "\n")
    _pdfs(groups["pdf"], 10 * scale, pages=5)
    _scans(groups["ocr"], 3 * scale)
    _docx(groups["docx"], 10 * scale)
    for i in range(20 * scale):
        body = "".join(
            f"<h2>Part {k}</h2><p>{paragraph(i + k)}</p><ul><li>{sentence(k)}</li></ul>"
            for k in range(3)
        )
        page = (
            "<html><head><script>var "
            f"x=1;</script></head><body><nav>menu</nav><main>{body}</main></body></html>"
        )
        (groups["html"] / f"page{i:03}.html").write_text(page)
    db = root / "records.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT, body TEXT)")
        conn.executemany(
            "INSERT INTO notes VALUES (?, ?, ?)",
            [(i, f"Note {i}", paragraph(i, 2)) for i in range(500 * scale)],
        )
    for name in ("text", "structured", "pdf", "ocr", "docx", "html"):
        entries[name] = [str(groups[name])]
    entries["sql"] = [f"sql+sqlite:///{db}?table=notes"]
    if audio_model is not None:
        _wavs(groups["audio"], 2 * scale)
        entries["audio"] = [str(groups["audio"])]
    return entries


def _pdfs(folder: Path, count: int, pages: int) -> None:
    from fpdf import FPDF

    for i in range(count):
        pdf = FPDF()
        pdf.set_font("Helvetica", size=11)
        for p in range(pages):
            pdf.add_page()
            pdf.multi_cell(0, 6, "\n\n".join(paragraph(i * 100 + p * 10 + k) for k in range(4)))
            if p % 2 == 0:
                with pdf.table() as table:
                    for r in range(4):
                        cells = table.row()
                        for c in range(3):
                            cells.cell(f"{WORDS[(r + c) % len(WORDS)]} {r}{c}")
        pdf.output(str(folder / f"doc{i:03}.pdf"))


def _scans(folder: Path, count: int) -> None:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=36)
    for i in range(count):
        image = Image.new("RGB", (1700, 1100), "white")
        lines = "\n".join(sentence(i * 10 + k, 7) for k in range(12))
        ImageDraw.Draw(image).multiline_text((60, 60), lines, fill="black", font=font, spacing=24)
        image.save(folder / f"scan{i:03}.png")


def _docx(folder: Path, count: int) -> None:
    import docx

    for i in range(count):
        document = docx.Document()
        for k in range(3):
            document.add_heading(f"Part {k}", level=1)
            document.add_paragraph(paragraph(i + k))
        table = document.add_table(rows=3, cols=3)
        for r, row in enumerate(table.rows):
            for c, cell in enumerate(row.cells):
                cell.text = f"{WORDS[(r + c) % len(WORDS)]} {r}{c}"
        document.save(str(folder / f"doc{i:03}.docx"))


def _wavs(folder: Path, count: int) -> None:
    import wave

    import numpy as np

    for i in range(count):
        t = np.arange(16000 * 5) / 16000
        signal = 0.4 * np.sin(2 * np.pi * (300 + 50 * i) * t)
        with wave.open(str(folder / f"talk{i:03}.wav"), "wb") as f:
            f.setnchannels(1)
            f.setsampwidth(2)
            f.setframerate(16000)
            f.writeframes((signal * 32767).astype("<i2").tobytes())


def tiny_whisper(folder: Path) -> Path | None:
    """A random-weight Whisper checkpoint (timing of the plumbing, not of a real model)."""
    try:
        import torch
        from whisper.model import ModelDimensions, Whisper
    except ImportError:
        return None
    dims = ModelDimensions(80, 1500, 64, 2, 1, 51865, 448, 64, 2, 1)
    torch.manual_seed(0)
    path = folder / "tiny-whisper.pt"
    torch.save({"dims": vars(dims), "model_state_dict": Whisper(dims).state_dict()}, path)
    return path


def run(entries: list[str], workers: int, sources: dict[str, Any], run_dir: Path) -> IngestStats:
    config = RunConfig(sources={**sources, "ingest": {"workers": workers, "timeout_s": 300}})
    context = RunContext(
        run_dir=run_dir,
        config=config,
        plugins=build_plugins(load_entry_points=False),
        show_progress=False,
    )
    stats = IngestStats()
    start = time.perf_counter()
    for _ in ingest(entries, context, stats):
        pass
    stats.seconds = time.perf_counter() - start
    return stats


def plain_pdfplumber(path: Path) -> tuple[float, int]:
    """Seconds plain pdfplumber takes for the text of every page, and the pages with text."""
    import pdfplumber

    start = time.perf_counter()
    pages = 0
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            pages += bool((page.extract_text() or "").strip())
            page.close()
    return time.perf_counter() - start, pages


def bench_pdf(path: Path, counts: list[int], repeats: int) -> dict[str, Any]:
    """One PDF: plain pdfplumber and kinject at each worker count, best of ``repeats``."""
    root = Path(tempfile.mkdtemp(prefix="kinject-bench-pdf-"))
    sources: dict[str, Any] = {"pdf": {"ocr": False}}
    try:
        plain: list[float] = []
        ours: dict[int, list[float]] = {w: [] for w in counts}
        ids: dict[int, list[str]] = {}
        for r in range(repeats):  # alternated, so a busy moment costs every side alike
            seconds, pages = plain_pdfplumber(path)
            plain.append(seconds)
            for w in counts:
                run_dir = root / f"run-{w}-{r}"
                stats, ids[w] = _ingest_ids([str(path)], w, sources, run_dir)
                ours[w].append(stats.seconds)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    best = {w: min(v) for w, v in ours.items()}
    most = counts[-1]
    return {
        "pdf": str(path),
        "pages": pages,
        "size_kb": round(path.stat().st_size / 1024),
        "repeats": repeats,
        "plain_pdfplumber_s": round(min(plain), 3),
        "kinject_s": {str(w): round(s, 3) for w, s in best.items()},
        "workers": most,
        "ratio": round(min(plain) / best[most], 3),
        "ratio_by_workers": {str(w): round(min(plain) / s, 3) for w, s in best.items()},
        "records": len(ids[most]),
        "same_ids": all(v == ids[counts[0]] for v in ids.values()),
    }


def _ingest_ids(
    entries: list[str], workers: int, sources: dict[str, Any], run_dir: Path
) -> tuple[IngestStats, list[str]]:
    config = RunConfig(sources={**sources, "ingest": {"workers": workers, "timeout_s": 3600}})
    context = RunContext(
        run_dir=run_dir,
        config=config,
        plugins=build_plugins(load_entry_points=False),
        show_progress=False,
    )
    stats = IngestStats()
    start = time.perf_counter()
    ids = [r.id for r in ingest(entries, context, stats)]
    stats.seconds = time.perf_counter() - start
    return stats, ids


def _print_pdf(row: dict[str, Any]) -> None:
    print(f"{row['pdf']}: {row['pages']} pages, {row['size_kb']} KiB, best of {row['repeats']}")
    print(f"plain pdfplumber, 1 thread   {row['plain_pdfplumber_s']:8.2f} s")
    for w, seconds in row["kinject_s"].items():
        print(
            f"kinject ingest, {w} worker(s)  {seconds:8.2f} s   x{row['ratio_by_workers'][w]:.2f}"
        )
    print(
        f"ratio (plain / {row['workers']} workers): x{row['ratio']:.2f}; same Record ids: "
        f"{row['same_ids']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--no-audio", action="store_true")
    parser.add_argument("--pdf", type=Path, help="time this one PDF against plain pdfplumber")
    parser.add_argument("--repeats", type=int, default=1, help="with --pdf: best of N")
    parser.add_argument("--json", type=Path, help="with --pdf: write the figures here")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    if args.pdf is not None:
        row = bench_pdf(args.pdf, counts, max(1, args.repeats))
        _print_pdf(row)
        if args.json:
            args.json.write_text(json.dumps(row, indent=2) + "\n", encoding="utf-8")
        return
    root = Path(tempfile.mkdtemp(prefix="kinject-bench-"))
    try:
        model = None if args.no_audio else tiny_whisper(root)
        entries = make_corpus(root / "corpus", args.scale, model)
        sources: dict[str, Any] = {"sql": {"template": "{title}\n\n{body}"}}
        if model is not None:
            no_filter = {
                "no_speech_threshold": None,
                "logprob_threshold": None,
                "compression_ratio_threshold": None,
            }
            sources["audio"] = {"model": str(model), "temperature": [0.0], **no_filter}
        groups = {**entries, "mixed": [e for v in entries.values() for e in v]}
        rows = []
        for name, group in groups.items():
            results = {w: run(group, w, sources, root / f"run-{name}-{w}") for w in counts}
            rows.append(_row(name, results, counts))
            print(_format(rows[-1], counts), file=sys.stderr, flush=True)
        _print_table(rows, counts)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _row(name: str, results: dict[int, IngestStats], counts: list[int]) -> dict[str, Any]:
    first = results[counts[0]]
    per = first.sources.values()
    files, pages = sum(s.files for s in per), sum(s.pages for s in per)
    row: dict[str, Any] = {
        "source": name,
        "files": files,
        "pages": pages,
        "records": sum(s.records for s in per),
    }
    for w in counts:
        seconds = results[w].seconds
        row[f"files/s@{w}"] = files / seconds
        row[f"pages/s@{w}"] = pages / seconds
        row[f"s@{w}"] = seconds
    row["speedup"] = results[counts[0]].seconds / results[counts[-1]].seconds
    row["peak_mb"] = max(s.peak_rss_mb for r in results.values() for s in r.sources.values())
    row["quarantined"] = sum(first.quarantined.values())
    return row


def _format(row: dict[str, Any], counts: list[int]) -> str:
    cells = [
        f"{row['source']:<11}",
        f"{row['files']:>5}",
        f"{row['pages']:>5}",
        f"{row['records']:>7}",
    ]
    for w in counts:
        cells += [
            f"{row[f's@{w}']:>7.1f}",
            f"{row[f'files/s@{w}']:>8.2f}",
            f"{row[f'pages/s@{w}']:>8.2f}",
        ]
    cells += [f"{row['speedup']:>6.2f}x", f"{row['peak_mb']:>8.0f}", f"{row['quarantined']:>4}"]
    return " | ".join(cells)


def _print_table(rows: list[dict[str, Any]], counts: list[int]) -> None:
    head = ["source     ", "files", "pages", "records"]
    for w in counts:
        head += [f"s @{w}w".rjust(7), f"files/s@{w}".rjust(8), f"pages/s@{w}".rjust(8)]
    head += [f"{counts[-1]}w/{counts[0]}w".rjust(7), "peak MB".rjust(8), "quar"]
    print(" | ".join(head))
    for row in rows:
        print(_format(row, counts))


if __name__ == "__main__":
    main()
