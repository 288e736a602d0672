"""FIRST EPSS daily score files (CSV): the probability that a CVE is exploited in 30 days."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterator
from pathlib import PurePath
from typing import ClassVar

from iotwarden.core.errors import DocumentError
from iotwarden.core.identifiers import CVE_ID
from iotwarden.core.models import AdvisoryFormat, EpssScore
from iotwarden.intel.interface import AdvisoryParser, InputDocument, ParseOutcome, Sniff, opened
from iotwarden.intel.reading import parse_date

_NAME_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


class EpssCsvParser(AdvisoryParser):
    format: ClassVar[AdvisoryFormat] = AdvisoryFormat.EPSS
    title: ClassVar[str] = "FIRST EPSS (CSV)"
    description: ClassVar[str] = (
        "FIRST EPSS daily score files: an optional comment line "
        "`#model_version:...,score_date:...`, then `cve,epss,percentile` (older files: "
        "`cve,epss` only, dated by a YYYY-MM-DD in the file name). One EPSS score per row, "
        "streamed; a row with a malformed CVE id or a score outside [0, 1] is reported with "
        "its line number and the rest is read."
    )

    @classmethod
    def accepts(cls, sniff: Sniff) -> bool:
        if sniff.kind != "csv" or not sniff.header:
            return False
        columns = [h.strip().lower() for h in sniff.header]
        return columns[0] == "cve" and "epss" in columns

    def parse(self, doc: InputDocument, sniff: Sniff) -> Iterator[ParseOutcome]:
        origin = doc.origin
        with opened(doc) as fh:
            text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="surrogateescape", newline="")
            line = 0
            model_version: str | None = None
            score_date: dt.date | None = None
            have_comment = False
            header_line = ""
            for raw_line in text:
                line += 1
                stripped = raw_line.strip()
                if not stripped:
                    continue
                if stripped.startswith("#"):
                    if not have_comment:
                        have_comment = True
                        model_version, score_date, error = _comment(stripped, origin, line)
                        if error is not None:
                            yield error
                    continue
                header_line = stripped
                break
            columns = [h.strip().lower() for h in next(csv.reader([header_line]), [])]
            if not columns or columns[0] != "cve" or "epss" not in columns:
                raise DocumentError(origin, f"line {line}", "expected the header cve,epss[,...]")
            if score_date is None:
                score_date = _date_in_name(origin)
            header_at = line
            epss_at = columns.index("epss")
            percentile_at = columns.index("percentile") if "percentile" in columns else None
            width = max(epss_at, percentile_at or 0) + 1

            reader = csv.reader(text)
            for row in reader:
                line = header_at + reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) < width:
                    yield DocumentError(
                        origin, f"line {line}", f"expected {len(columns)} fields, found {len(row)}"
                    )
                    continue
                cve_id = row[0].strip()
                if not CVE_ID.match(cve_id):
                    yield DocumentError(origin, f"line {line}", f"not a CVE id: {cve_id!r}")
                    continue
                epss = _probability(row[epss_at])
                if epss is None:
                    yield DocumentError(
                        origin, f"line {line}", f"epss: not a number in [0, 1]: {row[epss_at]!r}"
                    )
                    continue
                percentile = None
                if percentile_at is not None:
                    percentile = _probability(row[percentile_at])
                    if percentile is None:
                        yield DocumentError(
                            origin,
                            f"line {line}",
                            f"percentile: not a number in [0, 1]: {row[percentile_at]!r}",
                        )
                        continue
                yield EpssScore(cve_id, epss, percentile, score_date, model_version)


def _comment(
    text: str, origin: str, line: int
) -> tuple[str | None, dt.date | None, DocumentError | None]:
    """Read `#model_version:v2023.03.01,score_date:2023-03-20T00:00:00+0000`."""
    fields: dict[str, str] = {}
    for part in text.lstrip("#").split(","):
        key, sep, value = part.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    model_version = fields.get("model_version") or None
    try:
        score_date = parse_date(fields.get("score_date"), origin, f"line {line}")
    except DocumentError as e:
        return model_version, None, DocumentError(origin, e.json_path, f"score_date: {e.message}")
    return model_version, score_date, None


def _date_in_name(origin: str) -> dt.date | None:
    """Old files say their date only in the name (epss_scores-2021-04-14.csv.gz)."""
    for match in reversed(list(_NAME_DATE.finditer(PurePath(origin).name))):
        try:
            return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            continue
    return None


def _probability(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        return None
    return value
