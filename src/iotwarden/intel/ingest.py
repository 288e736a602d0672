"""Ingestion: read every document under the given paths, detect its format, parse it and write
its records in batched transactions. One bad document (or record) is reported and skipped; the
rest goes on. Progress goes to an observer (the CLI draws it; the library never prints)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from iotwarden.core.errors import DocumentError, InputError, IoTWardenError
from iotwarden.core.models import Advisory, AdvisoryFormat, EpssScore, KevEntry
from iotwarden.core.settings import settings
from iotwarden.intel import detect, sources
from iotwarden.intel.interface import AdvisoryParser, InputDocument
from iotwarden.intel.registry import PARSERS
from iotwarden.store.advisories import AdvisoryRepository, WriteResult
from iotwarden.store.db import Store

log = logging.getLogger(__name__)


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
    problems: list[IngestProblem] = field(default_factory=list)
    changed: list[ChangedAdvisory] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

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


class _Ingestor:
    def __init__(self, store: Store, observer: IngestObserver, batch_size: int) -> None:
        self.store = store
        self.repo = AdvisoryRepository(store)
        self.observer = observer
        self.batch_size = batch_size
        self.report = IngestReport()
        self.pending: list[tuple[Advisory, str]] = []

    def problem(self, origin: str, json_path: str, message: str) -> None:
        found = IngestProblem(origin, json_path, message)
        self.report.problems.append(found)
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
                    ChangedAdvisory(advisory.source, advisory.key, advisory.id, result)
                )

    # signals -----------------------------------------------------------------------------------

    def write_signals(
        self,
        doc: InputDocument,
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
        with self.store.engine.begin() as conn:
            if document_id is None:
                document_id = self.repo.add_source_document(conn, doc.origin, fmt, meta)
            if kev:
                self.report.kev_entries += self.repo.write_kev(kev, document_id, conn)
            if epss:
                self.report.epss_scores += self.repo.write_epss(epss, document_id, conn)
            self.repo.finish_source_document(conn, document_id, len(kev) + len(epss))
        return document_id

    # documents ---------------------------------------------------------------------------------

    def ingest_document(self, doc: InputDocument) -> None:
        self.report.documents += 1
        self.observer.document_started(doc.origin, doc.size)
        records = 0
        failed = False
        kev: list[KevEntry] = []
        epss: list[EpssScore] = []
        document_id: int | None = None
        parser_cls: type[AdvisoryParser] | None = None
        try:
            found = detect.sniff(doc)
            parser_cls = detect.choose_parser(doc, found, PARSERS)
            self.report.formats[parser_cls.format.value] += 1
            for outcome in parser_cls().parse(doc, found):
                if isinstance(outcome, DocumentError):
                    self.problem(outcome.origin, outcome.json_path, outcome.message)
                    continue
                records += 1
                if isinstance(outcome, Advisory):
                    self.pending.append((outcome, doc.origin))
                    if len(self.pending) >= self.batch_size:
                        self.flush_advisories()
                elif isinstance(outcome, KevEntry):
                    kev.append(outcome)
                else:
                    epss.append(outcome)
                if len(kev) + len(epss) >= self.batch_size * 10:
                    document_id = self.write_signals(doc, parser_cls.format, kev, epss, document_id)
                    kev, epss = [], []
        except DocumentError as e:
            failed = True
            self.problem(e.origin, e.json_path, e.message)
        except InputError as e:
            failed = True
            self.problem(e.origin, "", e.message)
        except (SQLAlchemyError, IoTWardenError) as e:
            failed = True
            self.problem(doc.origin, "", str(e))
        except Exception as e:
            failed = True
            log.exception("unexpected error while reading %s", doc.origin)
            self.problem(doc.origin, "", f"internal error while parsing ({type(e).__name__}: {e})")
        if (kev or epss) and parser_cls is not None:
            self.write_signals(doc, parser_cls.format, kev, epss, document_id)
        if failed:
            self.report.failed_documents += 1
        self.observer.document_finished(doc.origin, records, failed)


def ingest(
    store: Store,
    paths: Sequence[str],
    observer: IngestObserver | None = None,
    batch_size: int | None = None,
) -> IngestReport:
    """Ingest every document under ``paths`` into ``store``; never raises for bad input."""
    ingestor = _Ingestor(
        store, observer or NullObserver(), batch_size or settings().ingest_batch_size
    )
    for item in sources.expand(list(paths)):
        if isinstance(item, InputError):
            ingestor.report.documents += 1
            ingestor.report.failed_documents += 1
            ingestor.problem(item.origin, "", item.message)
            continue
        ingestor.ingest_document(item)
    ingestor.flush_advisories()
    return ingestor.report
