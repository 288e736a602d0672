"""Alerts for the demo world (the sample fleet and the Heartbleed sample advisories): one per
owner and one per product vendor, each with its devices or products, the reasons, the priority
and only the remediations that concern the recipient's products."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from iotwarden.cli.demo import samples_dir
from iotwarden.core.fleet import ProductRef
from iotwarden.core.models import RemediationCategory
from iotwarden.exposure.alerts import NO_OWNER, Alert, Audience, build_alerts
from iotwarden.exposure.matcher import ExposureStatus
from iotwarden.fleet.importing import import_inventory
from iotwarden.intel.ingest import ingest
from iotwarden.store.db import Store

EXGATE = ProductRef("Example Controls", "ExGate 100")
NVD_RANGE = "vers:generic/>=1.0.1|<1.0.1g"
CSAF_RANGE = "vers:generic/<V4.3.0"
MITIGATION = "Block access to TCP 443 and UDP 1194 from untrusted networks"


def demo_store(path: Path, *extra_fleet: Path) -> Store:
    """The store `iotwarden demo` builds: the sample fleet and every sample advisory."""
    store = Store.open(f"sqlite:///{path / 'demo.db'}")
    fleet = import_inventory(store, [samples_dir("fleet"), *extra_fleet])
    assert fleet.ok, fleet.problems
    report = ingest(store, [str(samples_dir())])
    assert report.ok, report.problems
    return store


@pytest.fixture(scope="module")
def alerts(tmp_path_factory: pytest.TempPathFactory) -> list[Alert]:
    store = demo_store(tmp_path_factory.mktemp("alerts"))
    try:
        return build_alerts(store, "CVE-2014-0160")
    finally:
        store.close()


def by(alerts: list[Alert], audience: Audience, recipient: str) -> Alert:
    return next(a for a in alerts if a.audience is audience and a.recipient == recipient)


def test_owners_most_urgent_first_then_the_product_vendors(alerts: list[Alert]) -> None:
    assert [(a.audience.value, a.recipient, a.band) for a in alerts] == [
        ("owner", "North Grid", "P1"),
        ("owner", "Consumer ISP", "P1"),
        ("owner", "St Mary Hospital", "P3"),
        ("vendor", "Example Controls", "P1"),
        ("vendor", "Acme", "P1"),
        ("vendor", "Medico", "P3"),
    ]
    assert [a.score for a in alerts[:3]] == [104.8, 80.1, 47.8]


def test_north_grid_gets_its_internet_facing_exgates_first_with_the_reasons(
    alerts: list[Alert],
) -> None:
    alert = by(alerts, Audience.OWNER, "North Grid")
    assert alert.contact == "psirt@northgrid.example"
    assert alert.vulnerability.query == "CVE-2014-0160"
    assert alert.vulnerability.ids == ("CVE-2014-0160", "DSA-2896-1", "EXG-2014-001")
    assert alert.title == "Example Controls ExGate gateways: OpenSSL Heartbleed (CVE-2014-0160)"
    assert alert.summary_source == "csaf:EXG-2014-001"
    assert alert.band == "P1" and alert.score == 104.8

    first = alert.groups[0]
    assert (first.product, first.firmware_version) == (EXGATE, "4.2.0")
    assert first.internet_exposed is True
    assert first.device_ids == ("grid-0000", "grid-0003")
    assert (first.band, first.score) == ("P1", 104.8)
    assert first.status is ExposureStatus.AFFECTED
    assert {f.name for f in first.factors} >= {"exploited", "internet", "sector", "criticality"}
    reasons = {(r.matched, r.ranges, r.source) for r in first.reasons}
    assert reasons == {
        ("openssl 1.0.1e", NVD_RANGE, "nvd:CVE-2014-0160"),
        ("ExGate 100 firmware 4.2.0", CSAF_RANGE, "csaf:EXG-2014-001"),
    }
    # Every one of its ExGates on 4.2.0, none on the fixed 4.3.0; all groups P1.
    devices = sorted(d for g in alert.groups for d in g.device_ids)
    assert devices == [f"grid-000{i}" for i in range(7)]
    assert alert.devices == 7
    assert [g.band for g in alert.groups] == ["P1", "P1", "P1"]
    assert alert.products == ()


def test_north_grid_fix_names_versions_vendor_fix_mitigation_and_kev(alerts: list[Alert]) -> None:
    fix = by(alerts, Audience.OWNER, "North Grid").fix
    assert set(fix.versions) == {"1.0.1g", "V4.3.0"}
    assert {(f.matched, f.versions, f.source) for f in fix.fixed_versions} == {
        ("openssl 1.0.1e", ("1.0.1g",), "nvd:CVE-2014-0160"),
        ("ExGate 100 firmware 4.2.0", ("V4.3.0",), "csaf:EXG-2014-001"),
    }
    # The ExGate 200 fix and Debian's package upgrade concern products North Grid lacks.
    assert [(n.category, n.details, n.url, n.source) for n in fix.vendor_remediations] == [
        (
            RemediationCategory.VENDOR_FIX,
            "Update ExGate 100 to firmware V4.3.0 or later.",
            "https://psirt.example.invalid/downloads/exgate100",
            "csaf:EXG-2014-001",
        )
    ]
    assert len(fix.mitigations) == 1
    assert fix.mitigations[0].category is RemediationCategory.MITIGATION
    assert (fix.mitigations[0].details or "").startswith(MITIGATION)
    assert fix.mitigations[0].source == "csaf:EXG-2014-001"
    assert [(k.cve_id, k.required_action, k.due_date, k.source) for k in fix.kev] == [
        (
            "CVE-2014-0160",
            "Apply updates per vendor instructions.",
            dt.date(2022, 5, 25),
            "cisa-kev",
        )
    ]
    assert [(e.cve_id, e.epss) for e in fix.epss] == [("CVE-2014-0160", 0.94358)]


def test_other_owners_are_not_told_of_exgate_remedies(alerts: list[Alert]) -> None:
    isp = by(alerts, Audience.OWNER, "Consumer ISP")
    assert isp.fix.versions == ("1.0.1g",)
    assert isp.fix.vendor_remediations == () and isp.fix.mitigations == ()
    assert isp.title == "OpenSSL Information Disclosure Vulnerability"  # CISA's, not ExGate's
    assert isp.fix.kev[0].due_date == dt.date(2022, 5, 25)
    assert isp.groups[0].internet_exposed and isp.groups[0].band == "P1"

    hospital = by(alerts, Audience.OWNER, "St Mary Hospital")
    (pumps,) = hospital.groups
    assert pumps.status is ExposureStatus.POSSIBLY_AFFECTED
    assert (pumps.band, len(pumps.device_ids)) == ("P3", 5)
    assert all(r.matched == "openssl (version unknown)" for r in pumps.reasons)


def test_vendor_alert_names_the_build_and_its_devices_across_owners(alerts: list[Alert]) -> None:
    alert = by(alerts, Audience.VENDOR, "Example Controls")
    assert alert.contact is None and alert.groups == ()
    (product,) = alert.products
    assert (product.product, product.firmware_version) == (EXGATE, "4.2.0")
    assert (product.devices, product.internet_exposed, product.owners) == (7, 2, 1)
    assert (product.band, product.score) == ("P1", 104.8)
    assert {r.source for r in product.reasons} == {"csaf:EXG-2014-001", "nvd:CVE-2014-0160"}
    assert set(alert.fix.versions) == {"1.0.1g", "V4.3.0"}
    assert [n.details for n in alert.fix.vendor_remediations] == [
        "Update ExGate 100 to firmware V4.3.0 or later."
    ]
    vendors = {a.recipient for a in alerts if a.audience is Audience.VENDOR}
    assert vendors == {"Example Controls", "Acme", "Medico"}  # product vendors, not OpenSSL


def test_devices_without_an_owner_are_alerted_not_dropped(tmp_path: Path) -> None:
    extra = tmp_path / "unowned.json"
    extra.write_text(
        json.dumps(
            {
                "devices": [
                    {
                        "device_id": "stray-1",
                        "vendor": "Acme",
                        "product": "Router 5",
                        "firmware_version": "1.0",
                    }
                ]
            }
        )
    )
    store = demo_store(tmp_path, extra)
    try:
        alerts = build_alerts(store, "CVE-2014-0160")
    finally:
        store.close()
    stray = by(alerts, Audience.OWNER, NO_OWNER)
    assert stray.contact is None
    assert [g.device_ids for g in stray.groups] == [("stray-1",)]
    acme = by(alerts, Audience.VENDOR, "Acme")
    assert (acme.products[0].devices, acme.products[0].owners) == (8, 2)


def test_alerts_from_a_resident_fleet_are_the_same(tmp_path: Path) -> None:
    """`intel ingest --alert` with many changed advisories loads the fleet once; the alerts
    it writes must be the ones the store path writes."""
    from iotwarden.exposure.index import ResidentFleet
    from iotwarden.report.alerts import to_json

    store = demo_store(tmp_path)
    with store.engine.connect() as conn:
        fleet = ResidentFleet.load(conn)
    plain = [to_json(a) for a in build_alerts(store, "CVE-2014-0160")]
    resident = [to_json(a) for a in build_alerts(store, "CVE-2014-0160", fleet)]
    assert resident == plain
    assert len(plain) == 6


def test_ingest_alert_with_many_changes_uses_the_resident_fleet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from iotwarden.cli import intel as intel_cli
    from iotwarden.cli.app import app
    from iotwarden.exposure.index import ResidentFleet

    loads: list[int] = []
    real_load = ResidentFleet.load.__func__  # type: ignore[attr-defined]

    def counting_load(cls: type[ResidentFleet], conn: object) -> ResidentFleet:
        fleet = real_load(cls, conn)
        loads.append(fleet.devices)
        return fleet

    monkeypatch.setattr(ResidentFleet, "load", classmethod(counting_load))
    monkeypatch.setattr(intel_cli, "RESIDENT_AFTER", 1)
    store = Store.open(f"sqlite:///{tmp_path / 'a.db'}")
    assert import_inventory(store, [samples_dir("fleet")]).ok
    out = tmp_path / "alerts"
    db = str(store.engine.url)
    result = CliRunner().invoke(
        app, ["--db", db, "intel", "ingest", str(samples_dir()), "--alert", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "cve-2014-0160-owner-north-grid.json").exists()
    assert loads == [37]  # loaded once, with the sample fleet's 37 devices
