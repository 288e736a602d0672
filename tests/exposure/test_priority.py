"""The priority formula: its factors, its bands, the ranking it gives, and its documentation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from iotwarden.core.fleet import Criticality, ProductRef
from iotwarden.exposure import priority as p
from iotwarden.exposure.matcher import ExposureStatus

DOC = Path(__file__).resolve().parents[2] / "docs" / "priority.md"
HEARTBLEED = p.Signals(max_cvss=7.5, kev=True, epss=0.94358, fix_available=True)


def group(**fields: object) -> p.DeviceGroup:
    base: dict[str, object] = {
        "product": ProductRef("Example Controls", "ExGate 100"),
        "firmware_version": "4.2.0",
        "owner": "North Grid",
        "owner_contact": None,
        "sector": "energy",
        "criticality": Criticality.CRITICAL,
        "internet_exposed": True,
        "device_ids": ("d1",),
    }
    base.update(fields)
    return p.DeviceGroup(**base)  # type: ignore[arg-type]


def test_factors_add_up_and_each_says_why() -> None:
    result = p.priority(group(), HEARTBLEED, ExposureStatus.AFFECTED)
    named = {f.name: f.points for f in result.factors}
    assert named == pytest.approx(
        {
            "severity": 30.0,
            "exploited": 25.0,
            "exploit likelihood": 15 * 0.94358,
            "criticality": 15.0,
            "sector": 10.0,
            "internet": 10.0,
        }
    )
    assert result.score == round(sum(named.values()), 1)
    assert result.band == "P1"
    assert {f.why for f in result.factors} >= {"CVSS 7.5", "on CISA's KEV list"}


def test_possibly_affected_is_halved_and_no_fix_counts() -> None:
    sure = p.priority(group(), HEARTBLEED, ExposureStatus.AFFECTED)
    unsure = p.priority(group(), HEARTBLEED, ExposureStatus.POSSIBLY_AFFECTED)
    assert unsure.score == pytest.approx(sure.score / 2, abs=0.1)
    unfixed = p.priority(
        group(), p.Signals(7.5, True, 0.94358, fix_available=False), ExposureStatus.AFFECTED
    )
    assert unfixed.score == pytest.approx(sure.score + p.NO_FIX_POINTS, abs=0.1)


def test_ranking_puts_internet_facing_critical_sector_devices_first() -> None:
    groups = [
        group(
            sector="consumer",
            criticality=Criticality.LOW,
            internet_exposed=True,
            device_ids=tuple(f"c{i}" for i in range(5000)),
        ),
        group(internet_exposed=False, device_ids=("g2", "g3")),
        group(device_ids=("g1",)),
        group(sector="health", criticality=Criticality.CRITICAL, internet_exposed=False),
    ]
    ranked = p.rank(groups, HEARTBLEED, {})
    assert ranked[0].group.device_ids == ("g1",)  # energy, critical, internet-facing
    assert ranked[-1].group.sector == "consumer"  # 5,000 consumer routers come last
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)


def test_the_documentation_states_the_codes_numbers() -> None:
    text = DOC.read_text()
    numbers = {
        "severity": f"{p.SEVERITY_POINTS:g} per CVSS base point",
        "exploited": f"| {p.KEV_POINTS:g} |",
        "epss": f"{p.EPSS_POINTS:g} × EPSS",
        "internet": f"| internet | {p.INTERNET_POINTS:g} |",
        "no fix": f"| no fix | {p.NO_FIX_POINTS:g} |",
        "fleet": f"{p.FLEET_POINTS_PER_DECADE:g} per tenfold devices in the group, at most "
        f"{p.FLEET_POINTS_MAX:g}",
    }
    for name, needle in numbers.items():
        assert needle in text, f"docs/priority.md does not state the {name} points: {needle!r}"
    for crit, points in p.CRITICALITY_POINTS.items():
        assert f"{crit.value} {points:g}" in text
    for sector, points in p.CRITICAL_SECTORS.items():
        assert f"{sector} {points:g}" in text
    for floor, band in p.BANDS[:-1]:
        assert re.search(rf"\*\*{band}\*\* from {floor:g}", text)
    assert p.POSSIBLY_FACTOR == 0.5
    assert "halved" in text
