"""FIRST EPSS CSV: both file shapes (with and without the model comment line), bad rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from iotwarden.core.errors import DocumentError
from iotwarden.core.models import EpssScore
from iotwarden.intel.detect import sniff
from iotwarden.intel.epss import EpssCsvParser
from iotwarden.intel.interface import Sniff
from tests.conftest import document

CURRENT_COMMENT = "#model_version:v2023.03.01,score_date:2023-03-20T00:00:00+0000"


def _parse(path: Path) -> list[Any]:
    doc = document(path)
    found = sniff(doc)
    assert EpssCsvParser.accepts(found)
    return list(EpssCsvParser().parse(doc, found))


def test_current_shape_with_model_comment(tmp_path: Path) -> None:
    path = tmp_path / "epss_scores-current.csv"
    path.write_text(
        f"{CURRENT_COMMENT}\n"
        "cve,epss,percentile\n"
        "CVE-1999-0001,0.01025,0.83444\n"
        "CVE-2014-0160,0.97547,0.99996\n"
        "CVE-2021-44228,1.0,1.0\n"
    )
    results = _parse(path)
    assert results == [
        EpssScore("CVE-1999-0001", 0.01025, 0.83444, dt.date(2023, 3, 20), "v2023.03.01"),
        EpssScore("CVE-2014-0160", 0.97547, 0.99996, dt.date(2023, 3, 20), "v2023.03.01"),
        EpssScore("CVE-2021-44228", 1.0, 1.0, dt.date(2023, 3, 20), "v2023.03.01"),
    ]


def test_old_shape_dated_by_file_name(tmp_path: Path) -> None:
    path = tmp_path / "epss_scores-2021-04-14.csv"
    path.write_text("cve,epss\nCVE-2020-5902,0.95541\nCVE-2019-19781,0.97\n")
    results = _parse(path)
    assert results == [
        EpssScore("CVE-2020-5902", 0.95541, None, dt.date(2021, 4, 14), None),
        EpssScore("CVE-2019-19781", 0.97, None, dt.date(2021, 4, 14), None),
    ]


def test_old_shape_without_a_date(tmp_path: Path) -> None:
    path = tmp_path / "scores.csv"
    path.write_text("cve,epss\r\nCVE-2020-5902,0.5\r\n")
    (score,) = _parse(path)
    assert score == EpssScore("CVE-2020-5902", 0.5, None, None, None)


def test_bad_rows_are_reported_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "epss_scores-2023-03-20.csv"
    path.write_text(
        f"{CURRENT_COMMENT}\n"
        "cve,epss,percentile\n"
        "CVE-2023-0001,0.1,0.2\n"
        "not-a-cve,0.1,0.2\n"
        "CVE-2023-0003,abc,0.2\n"
        "CVE-2023-0004,1.5,0.2\n"
        "\n"
        "CVE-2023-0006,0.3,-0.1\n"
        "CVE-2023-0007,nan,0.5\n"
        "CVE-2023-0008\n"
        "CVE-2023-0009,0.00043,0.0819\n"
    )
    results = _parse(path)
    scores = [r for r in results if isinstance(r, EpssScore)]
    assert [(s.cve_id, s.epss, s.percentile) for s in scores] == [
        ("CVE-2023-0001", 0.1, 0.2),
        ("CVE-2023-0009", 0.00043, 0.0819),
    ]
    errors = [(e.json_path, e.message) for e in results if isinstance(e, DocumentError)]
    assert errors == [
        ("line 4", "not a CVE id: 'not-a-cve'"),
        ("line 5", "epss: not a number in [0, 1]: 'abc'"),
        ("line 6", "epss: not a number in [0, 1]: '1.5'"),
        ("line 8", "percentile: not a number in [0, 1]: '-0.1'"),
        ("line 9", "epss: not a number in [0, 1]: 'nan'"),
        ("line 10", "expected 3 fields, found 1"),
    ]
    assert all(e.origin == str(path) for e in results if isinstance(e, DocumentError))


def test_bad_score_date_in_comment(tmp_path: Path) -> None:
    path = tmp_path / "epss_scores-2023-03-21.csv"
    path.write_text(
        "#model_version:v2023.03.01,score_date:someday\ncve,epss,percentile\nCVE-2023-0001,0.1,0.2\n"
    )
    error, score = _parse(path)
    assert isinstance(error, DocumentError)
    assert error.json_path == "line 1"
    assert error.message == "score_date: not a valid date-time: 'someday'"
    # the file name still dates the scores
    assert score == EpssScore("CVE-2023-0001", 0.1, 0.2, dt.date(2023, 3, 21), "v2023.03.01")


def test_many_rows(tmp_path: Path) -> None:
    rows = "".join(f"CVE-2024-{i:05d},{i / 100000:.5f},{i / 100000:.5f}\n" for i in range(50000))
    path = tmp_path / "epss_scores-current.csv"
    path.write_text(f"{CURRENT_COMMENT}\ncve,epss,percentile\n{rows}")
    doc = document(path)
    found = sniff(doc)
    assert found.header == ("cve", "epss", "percentile")
    results = list(EpssCsvParser().parse(doc, found))
    assert len(results) == 50000
    assert results[-1] == EpssScore(
        "CVE-2024-49999", 0.49999, 0.49999, dt.date(2023, 3, 20), "v2023.03.01"
    )


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (("cve", "epss", "percentile"), True),
        (("cve", "epss"), True),
        (("cveID", "vendorProject", "product"), False),
        (("cve", "score"), False),
    ],
)
def test_accepts(header: tuple[str, ...], accepted: bool) -> None:
    assert EpssCsvParser.accepts(Sniff(kind="csv", header=header)) is accepted


def test_kev_catalog_is_not_epss(advisories_dir: Path) -> None:
    found = sniff(document(advisories_dir / "kev" / "known_exploited_vulnerabilities.csv"))
    assert found.kind == "csv"
    assert not EpssCsvParser.accepts(found)
