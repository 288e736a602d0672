"""VEX statements take builds out of an exposure and say why: an OpenVEX statement that the
OpenSSL 1.0.1e in a router is not affected by Heartbleed, and a CycloneDX VEX that says the
ExGate 100 firmware 4.2.0 is not affected, each suppress exactly the build they speak of."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from iotwarden.cli.demo import samples_dir
from iotwarden.exposure.matcher import ExposureStatus, exposure
from iotwarden.fleet.importing import import_inventory
from iotwarden.intel.ingest import ingest
from iotwarden.store.db import Store

ROUTER = {"vendor": "Acme", "product": "Router 5"}
CAMERA = {"vendor": "Acme", "product": "Camera 2"}
EXGATE = {"vendor": "Example Controls", "product": "ExGate 100"}

OPENVEX_ID = "https://acme.example/vex/2024-001"
CDX_SERIAL = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"


def _openssl(version: str) -> dict[str, str]:
    return {"name": "openssl", "version": version, "purl": f"pkg:generic/openssl@{version}"}


def _fleet() -> dict[str, Any]:
    """Every build carries an OpenSSL that Heartbleed affects; the VEX documents clear two."""
    builds = [
        ROUTER | {"version": "1.0", "components": [_openssl("1.0.1e")]},
        CAMERA | {"version": "3.1", "components": [_openssl("1.0.1f")]},
        EXGATE | {"version": "4.2.0", "components": [_openssl("1.0.1e")]},
        EXGATE | {"version": "4.2.1", "components": [_openssl("1.0.1e")]},
    ]
    devices = [
        build_ref | {"device_id": f"{build_ref['product']}-{version}", "firmware_version": version}
        for build_ref, version in (
            (ROUTER, "1.0"),
            (CAMERA, "3.1"),
            (EXGATE, "4.2.0"),
            (EXGATE, "4.2.1"),
        )
    ]
    return {
        "products": [ROUTER, CAMERA, EXGATE | {"model_numbers": ["EXG-100-EU"]}],
        "firmware_builds": builds,
        "devices": devices,
    }


OPENVEX = {
    "@context": "https://openvex.dev/ns/v0.2.0",
    "@id": OPENVEX_ID,
    "author": "Acme PSIRT",
    "timestamp": "2024-03-01T10:00:00Z",
    "version": 1,
    "statements": [
        {
            "vulnerability": {"name": "CVE-2014-0160"},
            "products": [
                {
                    "@id": "pkg:generic/acme/router-5@1.0",
                    "subcomponents": [{"@id": "pkg:generic/openssl@1.0.1e"}],
                }
            ],
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path",
        }
    ],
}

CYCLONEDX_VEX = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.5",
    "serialNumber": CDX_SERIAL,
    "version": 1,
    "metadata": {
        "timestamp": "2024-05-01T08:00:00Z",
        "manufacture": {"name": "Example Controls"},
        "component": {
            "bom-ref": "exgate",
            "type": "firmware",
            "name": "ExGate 100",
            "version": "4.2.0",
        },
    },
    "vulnerabilities": [
        {
            "id": "CVE-2014-0160",
            "analysis": {
                "state": "not_affected",
                "justification": "code_not_reachable",
                "detail": "heartbeat disabled at build time",
            },
            "affects": [{"ref": "exgate"}],
        }
    ],
}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps(_fleet()))
    assert import_inventory(opened, [path]).ok
    return opened


def _ingest(store: Store, tmp_path: Path, *documents: tuple[str, dict[str, Any]]) -> None:
    paths = [str(samples_dir() / "CVE-2014-0160.nvd.json")]
    for name, content in documents:
        path = tmp_path / name
        path.write_text(json.dumps(content))
        paths.append(str(path))
    report = ingest(store, paths)
    assert report.ok, report.problems


def _names(builds: Any) -> list[str]:
    return sorted(f"{b.product.name} {b.version}" for b in builds)


def test_without_vex_every_build_is_exposed(store: Store, tmp_path: Path) -> None:
    _ingest(store, tmp_path)
    result = exposure(store, "CVE-2014-0160")
    assert _names(result.builds) == [
        "Camera 2 3.1",
        "ExGate 100 4.2.0",
        "ExGate 100 4.2.1",
        "Router 5 1.0",
    ]
    assert result.suppressed == []


def test_openvex_suppresses_the_openssl_1_0_1e_router(store: Store, tmp_path: Path) -> None:
    _ingest(store, tmp_path, ("acme.openvex.json", OPENVEX))
    result = exposure(store, "CVE-2014-0160")
    (suppressed,) = [b for b in result.suppressed if b.product.name == "Router 5"]
    assert suppressed.version == "1.0"
    assert suppressed.suppressed_by is not None
    assert suppressed.suppressed_by.source == f"openvex:{OPENVEX_ID}"
    assert suppressed.suppressed_by.justification == "vulnerable_code_not_in_execute_path"
    # What made it exposed is still there to read.
    assert [r.source for r in suppressed.reasons] == ["nvd:CVE-2014-0160"]
    # OpenSSL 1.0.1f (the camera) is not what the statement speaks of.
    assert "Camera 2 3.1" in _names(result.builds)


def test_openvex_subcomponent_statement_holds_only_in_its_product(
    store: Store, tmp_path: Path
) -> None:
    _ingest(store, tmp_path, ("acme.openvex.json", OPENVEX))
    result = exposure(store, "CVE-2014-0160")
    assert _names(result.suppressed) == ["Router 5 1.0"]
    assert _names(result.builds) == ["Camera 2 3.1", "ExGate 100 4.2.0", "ExGate 100 4.2.1"]


def test_cyclonedx_vex_suppresses_exactly_the_firmware_it_names(
    store: Store, tmp_path: Path
) -> None:
    _ingest(store, tmp_path, ("exgate.cdx.json", CYCLONEDX_VEX))
    result = exposure(store, "CVE-2014-0160")
    (suppressed,) = result.suppressed
    assert (suppressed.product.vendor, suppressed.product.name, suppressed.version) == (
        "Example Controls",
        "ExGate 100",
        "4.2.0",
    )
    assert suppressed.suppressed_by is not None
    assert suppressed.suppressed_by.source == f"cdx-vex:{CDX_SERIAL}"
    assert suppressed.suppressed_by.justification == (
        "code_not_reachable: heartbeat disabled at build time"
    )
    # Firmware 4.2.1 carries the same OpenSSL, but the VEX speaks of 4.2.0 only.
    assert _names(result.builds) == ["Camera 2 3.1", "ExGate 100 4.2.1", "Router 5 1.0"]
    assert all(b.status is ExposureStatus.AFFECTED for b in result.builds)


def test_both_vex_documents_together(store: Store, tmp_path: Path) -> None:
    _ingest(
        store,
        tmp_path,
        ("acme.openvex.json", OPENVEX),
        ("exgate.cdx.json", CYCLONEDX_VEX),
    )
    result = exposure(store, "CVE-2014-0160")
    suppressed = {f"{b.product.name} {b.version}": b.suppressed_by for b in result.suppressed}
    assert suppressed["Router 5 1.0"] is not None
    assert suppressed["Router 5 1.0"].source == f"openvex:{OPENVEX_ID}"
    assert suppressed["ExGate 100 4.2.0"] is not None
    assert suppressed["ExGate 100 4.2.0"].justification is not None
    assert "Camera 2 3.1" in _names(result.builds)


def _csaf_vex(status: str) -> dict[str, Any]:
    """A CSAF VEX from Example Controls: OpenSSL 1.0.1e as installed on ExGate 100 4.2.1
    (a relationship) has the given product status for Heartbleed."""
    return {
        "document": {
            "category": "csaf_vex",
            "csaf_version": "2.0",
            "title": "ExGate 100 4.2.1 and Heartbleed",
            "publisher": {
                "category": "vendor",
                "name": "Example Controls",
                "namespace": "https://example-controls.example",
            },
            "tracking": {
                "id": "EXC-VEX-2014-001",
                "status": "final",
                "version": "1",
                "initial_release_date": "2014-04-10T00:00:00Z",
                "current_release_date": "2014-04-10T00:00:00Z",
                "revision_history": [
                    {"date": "2014-04-10T00:00:00Z", "number": "1", "summary": "Initial."}
                ],
            },
        },
        "product_tree": {
            "branches": [
                {
                    "category": "vendor",
                    "name": "Example Controls",
                    "branches": [
                        {
                            "category": "product_name",
                            "name": "ExGate 100",
                            "branches": [
                                {
                                    "category": "product_version",
                                    "name": "4.2.1",
                                    "product": {"name": "ExGate 100 4.2.1", "product_id": "EXG"},
                                }
                            ],
                        }
                    ],
                },
                {
                    "category": "vendor",
                    "name": "OpenSSL",
                    "branches": [
                        {
                            "category": "product_name",
                            "name": "openssl",
                            "branches": [
                                {
                                    "category": "product_version",
                                    "name": "1.0.1e",
                                    "product": {
                                        "name": "OpenSSL 1.0.1e",
                                        "product_id": "SSL",
                                        "product_identification_helper": {
                                            "purl": "pkg:generic/openssl@1.0.1e"
                                        },
                                    },
                                }
                            ],
                        }
                    ],
                },
            ],
            "relationships": [
                {
                    "category": "installed_on",
                    "product_reference": "SSL",
                    "relates_to_product_reference": "EXG",
                    "full_product_name": {
                        "name": "OpenSSL 1.0.1e on ExGate 100 4.2.1",
                        "product_id": "SSL-ON-EXG",
                    },
                }
            ],
        },
        "vulnerabilities": [
            {
                "cve": "CVE-2014-0160",
                "product_status": {status: ["SSL-ON-EXG"]},
                **(
                    {
                        "flags": [
                            {
                                "label": "vulnerable_code_not_in_execute_path",
                                "product_ids": ["SSL-ON-EXG"],
                            }
                        ],
                        "threats": [
                            {
                                "category": "impact",
                                "details": "The heartbeat extension is compiled out.",
                                "product_ids": ["SSL-ON-EXG"],
                            }
                        ],
                    }
                    if status == "known_not_affected"
                    else {}
                ),
            }
        ],
    }


def test_csaf_vex_relationship_suppresses_only_the_platform_it_names(
    store: Store, tmp_path: Path
) -> None:
    """The statement is about OpenSSL *installed on ExGate 100 4.2.1*: the relationship's
    platform is checked against the inventory, so 4.2.1 is cleared and 4.2.0 (same OpenSSL)
    and the router are not."""
    _ingest(store, tmp_path, ("exc-vex.json", _csaf_vex("known_not_affected")))
    result = exposure(store, "CVE-2014-0160")
    assert _names(result.suppressed) == ["ExGate 100 4.2.1"]
    (suppressed,) = result.suppressed
    assert suppressed.suppressed_by is not None
    assert suppressed.suppressed_by.source == "csaf:EXC-VEX-2014-001"
    assert "vulnerable_code_not_in_execute_path" in (suppressed.suppressed_by.justification or "")
    assert _names(result.builds) == ["Camera 2 3.1", "ExGate 100 4.2.0", "Router 5 1.0"]


def test_positive_statement_with_a_platform_is_sure_only_on_that_platform(
    store: Store, tmp_path: Path
) -> None:
    """'Affected as installed on ExGate 100 4.2.1' makes 4.2.1 surely affected; other builds
    with the same OpenSSL remain exposed through NVD, and a build only this statement names
    elsewhere would be possibly affected (never dropped)."""
    paths = [tmp_path / "exc.json"]
    paths[0].write_text(json.dumps(_csaf_vex("known_affected")))
    assert ingest(store, [str(p) for p in paths]).ok
    result = exposure(store, "CVE-2014-0160")
    status = {f"{b.product.name} {b.version}": b.status for b in result.builds}
    assert status["ExGate 100 4.2.1"] is ExposureStatus.AFFECTED
    # Only the CSAF statement speaks here (no NVD record ingested): the OpenSSL 1.0.1e of
    # 4.2.0 and the router is named, but not on the platform the statement requires.
    assert status["ExGate 100 4.2.0"] is ExposureStatus.POSSIBLY_AFFECTED
    assert status["Router 5 1.0"] is ExposureStatus.POSSIBLY_AFFECTED
    (reason,) = next(b for b in result.builds if b.version == "4.2.0").reasons
    assert reason.unconfirmed_condition is not None
    assert "ExGate 100 4.2.1" in reason.unconfirmed_condition
    assert reason.product_ref == "SSL-ON-EXG"


@pytest.mark.parametrize("status", ["known_not_affected", "known_affected"])
def test_rematch_applies_the_same_conditions(store: Store, tmp_path: Path, status: str) -> None:
    from iotwarden.exposure.rematch import rematch

    _ingest(store, tmp_path, ("exc-vex.json", _csaf_vex(status)))
    single = exposure(store, "CVE-2014-0160")
    batch = rematch(store).exposures["CVE-2014-0160"]
    assert batch.affected == {
        b.build_id for b in single.builds if b.status is ExposureStatus.AFFECTED
    }
    assert batch.possibly == {
        b.build_id for b in single.builds if b.status is ExposureStatus.POSSIBLY_AFFECTED
    }
    assert batch.suppressed == {b.build_id for b in single.suppressed}
