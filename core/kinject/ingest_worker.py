"""Worker processes for ingestion: each file is parsed in a process that can be stopped.

A :class:`WorkerPool` keeps a few long-lived worker processes (so a parser library or a speech
model is loaded once per worker, not once per file). Each task has a deadline: a worker that
runs past it is killed and replaced, and the file is reported as ``timeout``; one whose resident
memory goes over the pool's limit is stopped the same way (``out_of_memory``). A worker that dies
(a segfault in a native parser, the kernel's out-of-memory killer) costs only its file.

Sources report problems with a part of a file (a blank page, a malformed row) through
``self.report_issue`` (:meth:`kinject.components.Source.report_issue`); the issues travel back
with the file's Records and end in quarantine.

A :class:`PagedSource` (the PDF source) can read one big file in parts, every ``parts``-th page
from a different start, each part in its own worker; :func:`merge_parts` puts the parts' Records
back in page order, so the file's Records and their ids are the same as from one worker.
"""

from __future__ import annotations

import os
import re
import resource
import socket
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from kinject.errors import InputError, PluginError

if TYPE_CHECKING:
    from kinject.components import Source
    from kinject.records import Record

#: which part of an input a task reads: ``(part, parts)``, or None for the whole input
Part = tuple[int, int] | None
#: what a worker is sent: ``(index, source, uri, part)``
Task = tuple[int, "Source", str, Part]


@runtime_checkable
class PagedSource(Protocol):
    """A source that can read one input in parts, each in its own worker (a long PDF)."""

    def parts(self, uri: str, workers: int) -> int:
        """How many parts to read ``uri`` in when ``workers`` workers are free (1: whole)."""

    def read_part(self, uri: str, part: int, parts: int) -> Iterator[Record]:
        """The Records of part ``part`` (0-based) of ``parts``, in page order."""


@dataclass
class Issue:
    """A problem with part of an input (``uri`` may carry a ``#page=3`` or ``#row=7`` fragment)."""

    reason: str
    detail: str
    uri: str


@dataclass
class Outcome:
    """What parsing one input produced: Records (as dicts) or an error, plus part-issues."""

    index: int
    records: list[dict[str, Any]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    #: reason code when the whole input failed (``timeout``, ``encrypted``, ...)
    reason: str = ""
    detail: str = ""
    #: set when the source cannot work at all (missing package or model): the run stops
    fatal: str = ""
    seconds: float = 0.0
    peak_rss_mb: float = 0.0


_sink: list[Issue] | None = None
#: seconds a fresh worker may take to start before its first task's time limit begins
_START_ALLOWANCE_S = 120.0
#: seconds between looks at the busy workers' resident memory
_MEMORY_POLL_S = 0.05


def report_issue(reason: str, detail: str, uri: str) -> None:
    """Deprecated (removed in 0.2): a source calls ``self.report_issue(reason, detail, uri)``.

    Kept so third-party sources written against 0.1 still quarantine their skipped parts.
    """
    warnings.warn(
        "kinject.ingest.report_issue is deprecated: call self.report_issue(reason, "
        "detail, uri) in the source (removed in 0.2)",
        DeprecationWarning,
        stacklevel=2,
    )
    if _sink is not None:
        _sink.append(Issue(reason, detail, uri))


def parse(index: int, source: Source, uri: str, part: Part = None) -> Outcome:
    """Read one input (or one ``part`` of it) with ``source`` in this process, catching all."""
    global _sink
    issues: list[Issue] = []
    source.issues = _sink = issues  # this input's issues only (a worker reads many)
    start = time.perf_counter()
    outcome = Outcome(index=index, issues=issues)
    try:
        records = source.read(uri) if part is None else _read_part(source, uri, part)
        outcome.records = [_stamp(r.to_dict(), source.name) for r in records]
    except InputError as exc:
        outcome.reason, outcome.detail = exc.reason, _message(exc)
    except PluginError as exc:  # a missing package or model: every such input would fail alike
        outcome.fatal = str(exc)
    except MemoryError:
        outcome.reason, outcome.detail = "out_of_memory", "the parser ran out of memory"
    except Exception as exc:  # a parser bug on a strange file must cost only that file
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f" at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
        outcome.reason, outcome.detail = "parse_error", f"{type(exc).__name__}: {exc}{where}"
    finally:
        _sink = None
    outcome.seconds = time.perf_counter() - start
    outcome.peak_rss_mb = peak_rss_mb()
    return outcome


def _read_part(source: Source, uri: str, part: tuple[int, int]) -> Iterator[Record]:
    if not isinstance(source, PagedSource):
        raise TypeError(f"source {source.name!r} cannot read an input in parts")
    return source.read_part(uri, *part)


def merge_parts(index: int, parts: list[Outcome]) -> Outcome:
    """One Outcome from the Outcomes of an input's parts (in part order): Records in page order.

    The first failed part fails the whole input, as a failure while reading it whole would.
    """
    merged = Outcome(
        index=index,
        seconds=sum(p.seconds for p in parts),
        peak_rss_mb=max((p.peak_rss_mb for p in parts), default=0.0),
    )
    failed = next((p for p in parts if p.fatal or p.reason), None)
    issues = (i for p in parts for i in p.issues)
    merged.issues = sorted(issues, key=lambda i: _fragment_page(i.uri))
    if failed is not None:
        merged.reason, merged.detail, merged.fatal = failed.reason, failed.detail, failed.fatal
        return merged
    # sorted() is stable: Records of one page keep the order the source gave them
    records = (r for p in parts for r in p.records)
    merged.records = sorted(records, key=lambda r: r["source"].get("page") or 0)
    return merged


def _fragment_page(uri: str) -> int:
    found = re.search(r"#page=(\d+)", uri)
    return int(found.group(1)) if found else 0


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB.

    ``VmHWM`` first: Linux keeps ``ru_maxrss`` across exec, so a worker started from a big parent
    would report the parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def resident_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MiB; None where ``/proc`` cannot tell."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _message(exc: InputError) -> str:
    """The message without the URI prefix: the quarantine entry carries the URI already."""
    text = str(exc)
    prefix = f"{exc.uri}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _stamp(record: dict[str, Any], source_name: str) -> dict[str, Any]:
    if not record["lineage"]:
        record["lineage"] = [source_name]
    return record


def _worker_main(fd: int) -> None:
    """Loop of one worker process: receive a :data:`Task`, send back an Outcome."""
    conn = Connection(fd)
    path = conn.recv()
    sys.path[:] = path  # the parent's path: sources defined in its modules unpickle here
    conn.send("ready")
    while True:
        try:
            task = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if task is None:
            return
        conn.send(parse(*task))


@dataclass
class _Slot:
    """One worker process and the task it is running, if any."""

    process: subprocess.Popen[bytes]
    conn: Connection
    task: Task | None = None
    deadline: float = 0.0
    #: the worker said it started; one that dies before is a broken setup, not a bad file
    ready: bool = False


class WorkerPool:
    """A few worker processes that parse inputs with a per-input time and memory limit.

    ``memory_mb`` bounds each worker's resident memory (0: no bound), watched from this process:
    an address-space limit would also count what torch or a thread pool only reserves. Workers are
    fresh interpreters (``python -m kinject.ingest_worker``), never forks: a fork of
    a parent holding torch or OpenMP threads can deadlock, and multiprocessing's spawn would
    re-import the caller's main script.
    """

    def __init__(self, workers: int, timeout_s: float, memory_mb: int = 0) -> None:
        self.size = max(1, workers)
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self._slots: list[_Slot] = []

    def _start(self) -> _Slot:
        """Start a worker without waiting for it: its first task queues while it imports."""
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        # Tesseract and torch use OpenMP: N workers each with all cores would just oversubscribe
        env.setdefault("OMP_THREAD_LIMIT", str(max(1, (os.cpu_count() or 1) // self.size)))
        process = subprocess.Popen(
            [sys.executable, "-m", "kinject.ingest_worker", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env=env,
        )
        theirs.close()
        conn = Connection(ours.detach())
        conn.send(list(sys.path))
        return _Slot(process, conn)

    def run(
        self, tasks: Iterator[Task], can_submit: Callable[[int], bool]
    ) -> Generator[Outcome, None, None]:
        """Run tasks, yielding Outcomes as they finish; ``can_submit(index)`` bounds read-ahead."""
        pending = next(tasks, None)
        try:
            while True:
                while pending is not None and (can_submit(pending[0]) or not self._busy()):
                    slot = self._idle_slot()
                    if slot is None:
                        break
                    self._submit(slot, pending)
                    pending = next(tasks, None)
                busy = self._busy()
                if not busy:
                    return
                yield from self._collect(busy)
        finally:
            self.close()

    def _busy(self) -> list[_Slot]:
        return [s for s in self._slots if s.task is not None]

    def _idle_slot(self) -> _Slot | None:
        for slot in self._slots:
            if slot.task is None:
                return slot
        if len(self._slots) < self.size:
            self._slots.append(self._start())
            return self._slots[-1]
        return None

    def _submit(self, slot: _Slot, task: Task) -> None:
        slot.task = task
        # a worker still importing gets its start-up time on top: the limit is for parsing
        slot.deadline = (
            time.monotonic() + self.timeout_s + (0 if slot.ready else _START_ALLOWANCE_S)
        )
        slot.conn.send(task)

    def _collect(self, busy: list[_Slot]) -> Iterator[Outcome]:
        timeout = max(0.0, min(s.deadline for s in busy) - time.monotonic())
        wait(
            [s.conn for s in busy],
            timeout=min(timeout, _MEMORY_POLL_S) if self.memory_mb else timeout,
        )
        for slot in busy:
            assert slot.task is not None
            index = slot.task[0]
            if slot.conn.poll():
                try:
                    message = slot.conn.recv()
                except (EOFError, OSError):
                    self._check_started(slot)
                    yield self._replace(slot, index, "worker_crashed", self._crash_detail(slot))
                    continue
                if message == "ready":
                    slot.ready = True
                    slot.deadline = time.monotonic() + self.timeout_s
                    continue
                slot.task = None
                yield message
            elif slot.process.poll() is not None:
                self._check_started(slot)
                yield self._replace(slot, index, "worker_crashed", self._crash_detail(slot))
            elif self._over_memory(slot):
                detail = (
                    f"the worker went over {self.memory_mb} MiB of resident memory and was stopped"
                    " (sources.ingest.max_memory_mb)"
                )
                yield self._replace(slot, index, "out_of_memory", detail)
            elif time.monotonic() >= slot.deadline:
                detail = f"parsing took longer than {self.timeout_s:g} s; the worker was stopped"
                yield self._replace(slot, index, "timeout", detail)

    def _over_memory(self, slot: _Slot) -> bool:
        if not self.memory_mb:
            return False
        used = resident_mb(slot.process.pid)
        return used is not None and used > self.memory_mb

    def _check_started(self, slot: _Slot) -> None:
        if not slot.ready:
            code = slot.process.wait()
            self.close()
            raise PluginError(
                f"an ingest worker process could not start (exit code {code}); see the error above"
            )

    def _crash_detail(self, slot: _Slot) -> str:
        try:
            code = slot.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            code = None
        hint = " (killed: out of memory?)" if code == -9 else ""
        return f"the worker process died with exit code {code}{hint}"

    def _replace(self, slot: _Slot, index: int, reason: str, detail: str) -> Outcome:
        self._stop(slot)
        self._slots.remove(slot)
        return Outcome(index=index, reason=reason, detail=detail)

    def _stop(self, slot: _Slot) -> None:
        if slot.process.poll() is None:
            slot.process.kill()
        slot.process.wait(timeout=10)
        slot.conn.close()

    def close(self) -> None:
        """Stop every worker (idle ones politely, busy ones at once)."""
        for slot in self._slots:
            if slot.task is None and slot.process.poll() is None:
                try:
                    slot.conn.send(None)
                    slot.process.wait(timeout=2)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            self._stop(slot)
        self._slots.clear()


if __name__ == "__main__":
    # run the imported module, not __main__: Outcomes must pickle as kinject.ingest_worker.Outcome
    # and sources must report issues to the same module's sink
    from kinject.ingest_worker import _worker_main as worker_main

    worker_main(int(sys.argv[1]))
