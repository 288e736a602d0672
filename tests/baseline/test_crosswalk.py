"""Following the crosswalk from one requirement to every other framework."""

from __future__ import annotations

import pytest

from iotwarden.baseline import Catalogs, Relationship, load_catalogs


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return load_catalogs()


def test_etsi_unique_passwords_correspond_everywhere(catalogs: Catalogs) -> None:
    found = catalogs.corresponding("etsi-en-303-645:5.1-1")
    assert found.requirement.ref == "etsi-en-303-645-v3.1.3:5.1-1"
    assert [(v.capability.id, v.relationship) for v in found.via] == [
        ("unique-credentials", Relationship.EQUIVALENT)
    ]
    refs = found.refs()
    # PSTI Schedule 1 para 1 is the legal form of 5.1-1; CRA asks for it within secure-by-default
    # configuration and protection from unauthorised access; OWASP I1 is its weakness.
    assert {"uk-psti:1", "eu-cra:I.2.b", "eu-cra:I.2.d", "owasp-iot-2018:I1"} <= refs
    assert "etsi-en-303-645-v2.1.1:5.1-1" in refs
    # Never itself or its own framework.
    assert not any(r.startswith("etsi-en-303-645-v3.1.3:") for r in refs)


def test_relationships_are_reported_on_both_sides(catalogs: Catalogs) -> None:
    found = catalogs.corresponding("etsi-en-303-645-v2.1.1:5.1-1")
    entries = {e.requirement.ref: e.relationship for v in found.via for e in v.requirements}
    assert entries["uk-psti:1"] is Relationship.EQUIVALENT
    assert entries["eu-cra:I.2.d"] is Relationship.SUPERSET
    assert entries["owasp-iot-2018:I1"] is Relationship.INTERSECTS


def test_psti_deemed_compliance_links(catalogs: Catalogs) -> None:
    # Schedule 2 names ETSI EN 303 645 V2.1.1: its 5.1-1 deems PSTI requirement 1 met ...
    v2 = catalogs.corresponding("etsi-en-303-645-v2.1.1:5.1-1")
    assert [(d.deemed.ref, d.section) for d in v2.deemed] == [
        ("uk-psti:1", "Schedule 2, paragraph 1")
    ]
    # ... but the regulations do not cite V3.1.3.
    assert catalogs.corresponding("etsi-en-303-645-v3.1.3:5.1-1").deemed == ()
    reporting = catalogs.corresponding("uk-psti:2").deemed
    assert [d.route.framework or d.route.standard for d in reporting] == [
        "etsi-en-303-645-v2.1.1",
        "ISO/IEC 29147:2018",
    ]
    assert reporting[1].route.clauses == ("6.2.2", "6.2.5", "6.5")


def test_sbom_links_cra_dhs_and_nist(catalogs: Catalogs) -> None:
    found = catalogs.corresponding("eu-cra:II.1")
    assert "dhs-iot-principles:5.3" in found.refs()
    assert "nist-ir-8425:1b" in found.refs()
    by_fw = found.frameworks()
    assert "eu-cra" not in by_fw
    assert by_fw["dhs-iot-principles"][0] == "5.3"


def test_support_period_is_the_same_thing_in_etsi_and_psti(catalogs: Catalogs) -> None:
    found = catalogs.corresponding("uk-psti:3")
    assert [v.capability.id for v in found.via] == ["defined-support-period"]
    assert {"etsi-en-303-645-v2.1.1:5.3-13", "etsi-en-303-645-v3.1.3:5.3-13"} <= found.refs()


def test_capability_view_lists_every_framework_that_asks_for_it(catalogs: Catalogs) -> None:
    entries = catalogs.crosswalk.for_capability("secure-update")
    frameworks = {e.requirement.framework for e in entries}
    assert {"etsi-en-303-645-v2.1.1", "nist-ir-8259a", "nist-ir-8425", "eu-cra",
            "owasp-iot-2018"} <= frameworks  # fmt: skip
    assert catalogs.crosswalk.for_capability("no-such-capability") == ()


def test_crosswalk_export_is_machine_usable(catalogs: Catalogs) -> None:
    exported = catalogs.crosswalk.to_dict()
    assert set(exported) == {c.id for c in catalogs.capabilities}
    total = sum(len(f.requirements[i].capabilities) for f in catalogs.frameworks
                for i in range(len(f.requirements)))  # fmt: skip
    assert sum(len(v) for v in exported.values()) == total
    first = exported["unique-credentials"][0]
    assert set(first) == {"ref", "framework", "id", "title", "level", "relationship"}
    data = catalogs.corresponding("eu-cra:I.2.a").to_dict()
    assert data["capabilities"][0]["capability"] == "no-known-exploitable-vulnerabilities"
