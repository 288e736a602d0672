"""Ingestion: read every document under the given paths, detect its format, parse it and write
its records in batched transactions. One bad document (or record) is reported and skipped; the
rest goes on. Progress goes to an observer (the CLI draws it; the library never prints)."""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import zipfile
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from iotwarden.core import settings as settings_mod
from iotwarden.core.errors import DocumentError, InputError, IoTWardenError
from iotwarden.core.models import Advisory, AdvisoryFormat, EpssScore, KevEntry
from iotwarden.core.settings import Settings, settings
from iotwarden.intel import detect, sources
from iotwarden.intel.interface import InputDocument
from iotwarden.intel.registry import PARSERS
from iotwarden.store.advisories import AdvisoryRepository, WriteResult
from iotwarden.store.db import Store
from iotwarden.store.rows import PreparedAdvisory, prepare

log = logging.getLogger(__name__)

#: Small documents seen before worker processes are started (below this, in-process is faster).
POOL_AFTER = 2000
#: KEV entries and EPSS scores written per transaction (rows are small; memory stays flat).
SIGNAL_BATCH = 5000
#: Problems kept in a report (all are counted, and all reach the observer).
MAX_KEPT_PROBLEMS = 10_000


@dataclass(frozen=True)
class IngestProblem:
    """Something that could not be ingested: which document, where in it, and what is wrong."""

    origin: str
    json_path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.origin} at {self.json_path}" if self.json_path else self.origin
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ChangedAdvisory:
    source: AdvisoryFormat
    key: str
    id: str
    result: WriteResult


@dataclass
class IngestReport:
    documents: int = 0
    failed_documents: int = 0
    advisories: Counter[WriteResult] = field(default_factory=Counter)
    kev_entries: int = 0
    epss_scores: int = 0
    formats: Counter[str] = field(default_factory=Counter)
    problems: list[IngestProblem] = field(default_factory=list)  # the first MAX_KEPT_PROBLEMS
    problem_count: int = 0
    changed: list[ChangedAdvisory] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "failed_documents": self.failed_documents,
            "formats": dict(self.formats),
            "advisories": {r.value: self.advisories.get(r, 0) for r in WriteResult},
            "kev_entries": self.kev_entries,
            "epss_scores": self.epss_scores,
            "changed": [
                {"source": c.source.value, "id": c.id, "result": c.result.value}
                for c in self.changed
            ],
            "problem_count": self.problem_count,
            "problems": [
                {"origin": p.origin, "json_path": p.json_path, "message": p.message}
                for p in self.problems
            ],
        }


class IngestObserver(Protocol):
    def document_started(self, origin: str, size: int | None) -> None: ...
    def document_finished(self, origin: str, records: int, failed: bool) -> None: ...
    def problem(self, problem: IngestProblem) -> None: ...


class NullObserver:
    def document_started(self, origin: str, size: int | None) -> None:
        pass

    def document_finished(self, origin: str, records: int, failed: bool) -> None:
        pass

    def problem(self, problem: IngestProblem) -> None:
        pass


@dataclass(frozen=True)
class _Failed:
    """The whole document could not be read (picklable, unlike a traceback)."""

    origin: str
    json_path: str
    message: str


#: What parsing one document yields: its format first, then records, errors, and at most one
#: _Failed at the end.
_Item = AdvisoryFormat | PreparedAdvisory | KevEntry | EpssScore | DocumentError | _Failed


def _parse_stream(doc: InputDocument) -> Iterator[_Item]:
    """Detect and parse one document, preparing advisories for the store. Never raises."""
    try:
        found = detect.sniff(doc)
        parser_cls = detect.choose_parser(doc, found, PARSERS)
        yield parser_cls.format
        for outcome in parser_cls().parse(doc, found):
            yield prepare(outcome) if isinstance(outcome, Advisory) else outcome
    except DocumentError as e:
        yield _Failed(e.origin, e.json_path, e.message)
    except InputError as e:
        yield _Failed(e.origin, "", e.message)
    except IoTWardenError as e:
        yield _Failed(doc.origin, "", str(e))
    except Exception as e:
        log.exception("unexpected error while reading %s", doc.origin)
        yield _Failed(doc.origin, "", f"internal error while parsing ({type(e).__name__}: {e})")


#: Where a worker finds a document: its bytes, or where it lies in a zip bundle.
_Source = bytes | sources.ZipMember
#: Each process's reader of zip members (workers keep their bundles open for the run).
_bundles = sources.BundleReader()


def _worker_document(origin: str, source: _Source) -> InputDocument:
    if isinstance(source, bytes):
        return InputDocument.from_bytes(origin, source)
    return InputDocument.from_bytes(origin, _bundles.read(source, origin))


def _parse_chunk(chunk: list[tuple[str, _Source]]) -> list[list[_Item]]:
    """Worker-process entry point: parse small documents (bytes or zip members)."""
    results: list[list[_Item]] = []
    for origin, source in chunk:
        try:
            doc = _worker_document(origin, source)
        except InputError as e:
            results.append([_Failed(e.origin, "", e.message)])
            continue
        except (OSError, zipfile.BadZipFile) as e:
            results.append([_Failed(origin, "", f"cannot be read ({e})")])
            continue
        results.append(list(_parse_stream(doc)))
    return results


def _init_worker(parent_settings: Settings) -> None:
    settings_mod.configure(**dataclasses.asdict(parent_settings))


class _Ingestor:
    def __init__(self, store: Store, observer: IngestObserver, batch_size: int) -> None:
        self.store = store
        self.repo = AdvisoryRepository(store)
        self.observer = observer
        self.batch_size = batch_size
        self.report = IngestReport()
        self.pending: list[tuple[PreparedAdvisory, str]] = []

    def problem(self, origin: str, json_path: str, message: str) -> None:
        found = IngestProblem(origin, json_path, message)
        # A feed of broken records must not exhaust memory: keep the first ones, count all.
        if len(self.report.problems) < MAX_KEPT_PROBLEMS:
            self.report.problems.append(found)
        self.report.problem_count += 1
        self.observer.problem(found)

    # advisories --------------------------------------------------------------------------------

    def flush_advisories(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        try:
            with self.store.engine.begin() as conn:
                outcome = self.repo.write_advisories(batch, conn)
        except SQLAlchemyError:
            if len(batch) == 1:
                advisory, origin = batch[0]
                log.exception("storing %s failed", advisory.id)
                self.problem(origin, "", f"advisory {advisory.id} could not be stored")
                return
            # Find the culprit: write the batch one record at a time.
            for item in batch:
                self.pending = [item]
                self.flush_advisories()
            return
        for advisory, result in outcome.results:
            self.report.advisories[result] += 1
            if result in (WriteResult.ADDED, WriteResult.UPDATED):
                self.report.changed.append(
                    ChangedAdvisory(
                        AdvisoryFormat(advisory.source), advisory.key, advisory.id, result
                    )
                )

    # signals -----------------------------------------------------------------------------------

    def write_signals(
        self,
        origin: str,
        fmt: AdvisoryFormat,
        kev: list[KevEntry],
        epss: list[EpssScore],
        document_id: int | None,
    ) -> int | None:
        meta: dict[str, Any] | None = None
        if kev and kev[0].catalog_version:
            meta = {"catalogVersion": kev[0].catalog_version}
        if epss and (epss[0].model_version or epss[0].score_date):
            meta = {
                "model_version": epss[0].model_version,
                "score_date": epss[0].score_date.isoformat() if epss[0].score_date else None,
            }
        try:
            with self.store.engine.begin() as conn:
                if document_id is None:
                    document_id = self.repo.add_source_document(conn, origin, fmt, meta)
                if kev:
                    self.report.kev_entries += self.repo.write_kev(kev, document_id, conn)
                if epss:
                    self.report.epss_scores += self.repo.write_epss(epss, document_id, conn)
                self.repo.finish_source_document(conn, document_id, len(kev) + len(epss))
        except SQLAlchemyError as e:
            log.exception("storing signals from %s failed", origin)
            self.problem(origin, "", f"could not store {fmt.value} records: {e}")
        return document_id

    # documents ---------------------------------------------------------------------------------

    def consume(self, origin: str, size: int | None, items: Iterable[_Item]) -> None:
        """Bookkeeping and writes for one parsed document (parsed here or in a worker)."""
        self.report.documents += 1
        self.observer.document_started(origin, size)
        records = 0
        failed = False
        fmt: AdvisoryFormat | None = None
        kev: list[KevEntry] = []
        epss: list[EpssScore] = []
        document_id: int | None = None
        for item in items:
            if isinstance(item, AdvisoryFormat):
                fmt = item
                self.report.formats[fmt.value] += 1
            elif isinstance(item, _Failed):
                failed = True
                self.problem(item.origin, item.json_path, item.message)
            elif isinstance(item, DocumentError):
                self.problem(item.origin, item.json_path, item.message)
            elif isinstance(item, PreparedAdvisory):
                records += 1
                self.pending.append((item, origin))
                if len(self.pending) >= self.batch_size:
                    self.flush_advisories()
            else:
                records += 1
                (kev if isinstance(item, KevEntry) else epss).append(item)  # type: ignore[arg-type]
                if fmt is not None and len(kev) + len(epss) >= SIGNAL_BATCH:
                    document_id = self.write_signals(origin, fmt, kev, epss, document_id)
                    kev, epss = [], []
        if (kev or epss) and fmt is not None:
            self.write_signals(origin, fmt, kev, epss, document_id)
        if failed:
            self.report.failed_documents += 1
        self.observer.document_finished(origin, records, failed)


class _WorkerPool:
    """Parses small documents in worker processes while this process writes to the store.

    Started only once a run has shown enough small documents to be worth it; results are
    consumed in submission order, with a bounded number of chunks in flight. Should the
    workers fail (a worker killed, or a host program that worker processes cannot import),
    the chunks are parsed here instead: slower, never lost."""

    CHUNK_DOCUMENTS = 512
    CHUNK_BYTES = 8 * 1024 * 1024
    #: Chunks queued per worker: enough that workers keep parsing while a batch is written.
    MAX_IN_FLIGHT_PER_WORKER = 8

    def __init__(self, ingestor: _Ingestor, workers: int) -> None:
        self.ingestor = ingestor
        self.workers = workers
        self.executor: ProcessPoolExecutor | None = None
        self.started = False
        self.in_flight: deque[_Chunk] = deque()
        self.chunk: list[tuple[str, _Source]] = []
        self.sizes: list[tuple[str, int]] = []
        self.chunk_bytes = 0

    def start(self) -> None:
        self.started = True
        self.executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_init_worker,
            initargs=(settings(),),
        )

    @property
    def running(self) -> bool:
        return self.started

    def add(self, origin: str, source: _Source, size: int) -> None:
        self.chunk.append((origin, source))
        self.sizes.append((origin, size))
        self.chunk_bytes += size
        if len(self.chunk) >= self.CHUNK_DOCUMENTS or self.chunk_bytes >= self.CHUNK_BYTES:
            self.submit()

    def submit(self) -> None:
        if not self.chunk:
            return
        chunk = _Chunk(self.chunk, self.sizes, None)
        self.chunk, self.sizes, self.chunk_bytes = [], [], 0
        if self.executor is not None:
            try:
                chunk.future = self.executor.submit(_parse_chunk, chunk.sources)
            except BrokenProcessPool as e:
                self._broken(e)
        self.in_flight.append(chunk)
        while len(self.in_flight) > self.MAX_IN_FLIGHT_PER_WORKER * max(self.workers, 1):
            self.drain_one()

    def drain_one(self) -> None:
        chunk = self.in_flight.popleft()
        results: list[list[_Item]] | None = None
        if chunk.future is not None:
            try:
                results = chunk.future.result()
            except BrokenProcessPool as e:
                self._broken(e)
        if results is None:
            results = _parse_chunk(chunk.sources)
        for (origin, size), items in zip(chunk.sizes, results, strict=True):
            self.ingestor.consume(origin, size, items)

    def _broken(self, error: BaseException) -> None:
        if self.executor is not None:
            log.warning("parsing workers failed (%s); parsing in this process instead", error)
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = None

    def close(self) -> None:
        self.submit()
        while self.in_flight:
            self.drain_one()
        if self.executor is not None:
            self.executor.shutdown()
            self.executor = None


@dataclass
class _Chunk:
    sources: list[tuple[str, _Source]]
    sizes: list[tuple[str, int]]
    future: Future[list[list[_Item]]] | None


def default_workers() -> int:
    return settings().ingest_workers


def ingest(
    store: Store,
    paths: Sequence[str],
    observer: IngestObserver | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
) -> IngestReport:
    """Ingest every document under ``paths`` into ``store``; never raises for bad input.

    With ``workers`` > 0 (default: the IOTWARDEN_INGEST_WORKERS setting), runs of many small
    documents (zip bundles of OSV records, directories of CVE files) are parsed in that many
    worker processes once more than POOL_AFTER of them have been seen."""
    ingestor = _Ingestor(
        store, observer or NullObserver(), batch_size or settings().ingest_batch_size
    )
    pool = _WorkerPool(ingestor, default_workers() if workers is None else workers)
    small_seen = 0
    try:
        for item in sources.expand(list(paths)):
            if isinstance(item, InputError):
                ingestor.report.documents += 1
                ingestor.report.failed_documents += 1
                ingestor.problem(item.origin, "", item.message)
                continue
            small = item.size is not None and item.size <= sources.SMALL_MEMBER_BYTES
            if pool.workers > 0 and small:
                small_seen += 1
                if not pool.running and small_seen > POOL_AFTER:
                    pool.start()
                if pool.running and item.size is not None:
                    source: _Source | None = (
                        item.zip_member
                        if isinstance(item.zip_member, sources.ZipMember)
                        else item.data
                    )
                    if source is None:
                        try:
                            with item.open() as fh:
                                source = fh.read(sources.SMALL_MEMBER_BYTES + 1)
                        except OSError as e:
                            ingestor.consume(
                                item.origin, item.size, [_Failed(item.origin, "", str(e))]
                            )
                            continue
                    pool.add(item.origin, source, item.size)
                    continue
            ingestor.consume(item.origin, item.size, _parse_stream(item))
        pool.close()
    finally:
        if pool.executor is not None:
            pool.executor.shutdown(cancel_futures=True)
        _bundles.close()  # opened here only when the workers failed and we parsed instead
    ingestor.flush_advisories()
    return ingestor.report
