"""CVSS v2, v3.x and v4 vectors scored with the `cvss` library (cached: real feeds repeat a few
thousand distinct vectors across hundreds of thousands of records)."""

from __future__ import annotations

import functools

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from iotwarden.core.models import Score


def _v2_severity(score: float) -> str:
    if score >= 7.0:
        return "HIGH"
    if score >= 4.0:
        return "MEDIUM"
    return "LOW"


def vector_version(vector: str) -> str | None:
    """'3.1' for 'CVSS:3.1/...', '4.0' for 'CVSS:4.0/...', '2.0' for a bare v2 vector."""
    text = vector.strip()
    if text.startswith("CVSS:"):
        return text[5:8]
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    if text.startswith("AV:") and "Au:" in text:
        return "2.0"
    return None


@functools.lru_cache(maxsize=16384)
def _score(vector: str) -> tuple[str, float, str] | None:
    version = vector_version(vector)
    try:
        if version == "2.0":
            v2 = CVSS2(vector.strip("()"))
            base = float(v2.base_score)
            return version, base, _v2_severity(base)
        if version in ("3.0", "3.1"):
            v3 = CVSS3(vector)
            return version, float(v3.base_score), str(v3.severities()[0]).upper()
        if version == "4.0":
            v4 = CVSS4(vector)
            return version, float(v4.base_score), str(v4.severity).upper()
    except (CVSSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return None


def score_vector(
    vector: str,
    *,
    source: str | None = None,
    vuln_id: str | None = None,
    stated_score: float | None = None,
    stated_version: str | None = None,
) -> Score:
    """Score a vector. An invalid vector is kept (valid=False) with the source's stated score,
    so nothing the source said is lost and nothing is invented."""
    result = _score(vector.strip())
    if result is not None:
        version, base, computed = result
        return Score(version, vector.strip(), base, computed, source, vuln_id, True)
    stated_severity = None
    if stated_score is not None and stated_version == "2.0":
        stated_severity = _v2_severity(stated_score)
    return Score(
        stated_version or vector_version(vector) or "unknown",
        vector.strip(),
        stated_score,
        stated_severity,
        source,
        vuln_id,
        False,
    )
