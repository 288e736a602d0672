"""Exposure of a fleet to Heartbleed, from each kind of advisory: exactly the builds that
carry an affected version, found by CPE, by purl, by component name, or by vendor and model
for ICS advisories; not-affected statements take builds out and say why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iotwarden.cli.demo import samples_dir
from iotwarden.core.fleet import Criticality
from iotwarden.core.versions import parse_range_text
from iotwarden.exposure.matcher import (
    ExposureStatus,
    evaluate,
    exposed_devices,
    exposure,
)
from iotwarden.fleet.importing import import_inventory
from iotwarden.intel.ingest import ingest
from iotwarden.store.db import Store

EXGATE = {"vendor": "Example Controls", "product": "ExGate 100"}
ROUTER = {"vendor": "Acme", "product": "Router 5"}


def _fleet() -> dict[str, Any]:
    """Router builds with OpenSSL 1.0.1e, 1.0.1g and 1.0.2; ExGate firmware 4.2.0 and 4.3.0."""
    builds = [
        ROUTER | {"version": v, "components": [{"name": "openssl", "version": ssl}]}
        for v, ssl in (("1.0", "1.0.1e"), ("1.1", "1.0.1g"), ("2.0", "1.0.2"))
    ] + [EXGATE | {"version": v, "components": []} for v in ("4.2.0", "4.3.0")]
    devices = [
        ROUTER | {"device_id": f"r-{v}-{i}", "firmware_version": v, "owner": "Home"}
        for v in ("1.0", "1.1", "2.0")
        for i in range(3)
    ] + [
        EXGATE
        | {
            "device_id": f"g-{v}-{i}",
            "firmware_version": v,
            "owner": "North Grid",
            "internet_exposed": i == 0,
            "criticality": "critical" if i < 2 else "medium",
        }
        for v in ("4.2.0", "4.3.0")
        for i in range(4)
    ]
    return {
        "products": [
            ROUTER | {"sector": "consumer", "criticality": "low"},
            EXGATE | {"model_numbers": ["EXG-100-EU"], "sector": "energy", "criticality": "high"},
        ],
        "firmware_builds": builds,
        "devices": devices,
    }


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps(_fleet()))
    assert import_inventory(opened, [path]).ok
    return opened


def _ingest(store: Store, *names: str) -> None:
    report = ingest(store, [str(samples_dir() / name) for name in names])
    assert report.ok, report.problems


def _exposed(store: Store, query: str) -> dict[str, ExposureStatus]:
    result = exposure(store, query)
    return {f"{b.product.name} {b.version}": b.status for b in result.builds}


def test_heartbleed_from_nvd_affects_exactly_the_openssl_1_0_1e_build(store: Store) -> None:
    _ingest(store, "CVE-2014-0160.nvd.json")
    result = exposure(store, "CVE-2014-0160")
    assert {f"{b.product.name} {b.version}": b.status for b in result.builds} == {
        "Router 5 1.0": ExposureStatus.AFFECTED
    }
    (build,) = result.builds
    assert build.devices == 3
    assert build.fixed_versions == ("1.0.1g",)
    (reason,) = build.reasons
    assert reason.how == "cpe"
    assert reason.matched == "openssl 1.0.1e"
    assert reason.ranges == "vers:generic/>=1.0.1|<1.0.1g"
    assert reason.source == "nvd:CVE-2014-0160"


def test_all_six_sample_formats_together_change_nothing_for_openssl(store: Store) -> None:
    _ingest(store, ".")
    exposed = _exposed(store, "CVE-2014-0160")
    # The OSV commit range cannot tell versions apart; NVD's version range decides for
    # 1.0.1g and 1.0.2. The CVE 5 record's "n/a" names no product at all.
    assert exposed["Router 5 1.0"] is ExposureStatus.AFFECTED
    assert "Router 5 1.1" not in exposed
    assert "Router 5 2.0" not in exposed


def test_ics_advisory_by_vendor_and_free_text_range(store: Store) -> None:
    _ingest(store, "exg-2014-001.csaf.json")
    result = exposure(store, "EXG-2014-001")
    assert [(b.product.name, b.version, b.status) for b in result.builds] == [
        ("ExGate 100", "4.2.0", ExposureStatus.AFFECTED)
    ]
    (reason,) = result.builds[0].reasons
    assert reason.how == "product"
    assert reason.ranges == "vers:generic/<V4.3.0"
    devices = exposed_devices(store, result)
    assert [d.device_id for d in devices][:2] == ["g-4.2.0-0", "g-4.2.0-1"]
    assert devices[0].internet_exposed
    assert devices[0].owner == "North Grid"


def test_not_affected_statement_takes_a_build_out_and_says_why(
    store: Store, tmp_path: Path
) -> None:
    _ingest(store, "CVE-2014-0160.nvd.json")
    csaf_vex = json.loads((samples_dir() / "exg-2014-001.csaf.json").read_text())
    csaf_vex["document"]["tracking"]["id"] = "ACME-VEX-2014-0160"
    csaf_vex["document"]["publisher"]["namespace"] = "https://acme.example"
    csaf_vex["product_tree"]["branches"][0]["name"] = "Acme"
    branch = csaf_vex["product_tree"]["branches"][0]["branches"][0]
    branch["name"] = "Router 5"
    branch["branches"] = [
        {
            "category": "product_version",
            "name": "1.0",
            "product": {"name": "Acme Router 5 1.0", "product_id": "R5-1.0"},
        }
    ]
    csaf_vex["product_tree"]["branches"][0]["branches"] = [branch]
    vuln = csaf_vex["vulnerabilities"][0]
    vuln["product_status"] = {"known_not_affected": ["R5-1.0"]}
    vuln["flags"] = [{"label": "vulnerable_code_not_in_execute_path", "product_ids": ["R5-1.0"]}]
    for key in ("remediations", "scores", "threats"):
        vuln.pop(key, None)
    path = tmp_path / "vex.json"
    path.write_text(json.dumps(csaf_vex))
    assert ingest(store, [str(path)]).ok
    result = exposure(store, "CVE-2014-0160")
    assert result.builds == []
    (suppressed,) = result.suppressed
    assert suppressed.version == "1.0"
    assert suppressed.suppressed_by is not None
    assert suppressed.suppressed_by.justification == "vulnerable_code_not_in_execute_path"
    assert suppressed.suppressed_by.source == "csaf:ACME-VEX-2014-0160"


@pytest.mark.parametrize(
    ("text", "version", "expected"),
    [
        (">=1.0.1|<=1.0.1f", "1.0.1e", ExposureStatus.AFFECTED),
        (">=1.0.1|<=1.0.1f", "1.0.1g", None),
        (">=1.0.1|<=1.0.1f", None, ExposureStatus.POSSIBLY_AFFECTED),  # unknown version
        ("n/a", "1.0.1e", ExposureStatus.POSSIBLY_AFFECTED),  # unparsed: never dropped
        ("All versions", "9.9", ExposureStatus.AFFECTED),
    ],
)
def test_evaluate(text: str, version: str | None, expected: ExposureStatus | None) -> None:
    assert evaluate([parse_range_text(text)], version) is expected


def test_priorities_rank_internet_facing_critical_energy_devices_first(store: Store) -> None:
    from iotwarden.exposure.priority import prioritise

    _ingest(store, ".")
    ranked = prioritise(store, exposure(store, "CVE-2014-0160"))
    top = ranked[0].group
    assert (top.sector, top.criticality, top.internet_exposed) == (
        "energy",
        Criticality.CRITICAL,
        True,
    )
    assert top.device_ids == ("g-4.2.0-0",)
    assert ranked[0].band == "P1"
    assert {f.name for f in ranked[0].factors} >= {"severity", "exploited", "internet", "sector"}
