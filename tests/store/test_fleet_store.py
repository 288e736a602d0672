"""Fleet inventory import on SQLite and PostgreSQL: whole or nothing, references checked
across files and against the store, natural keys so that re-importing changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from iotwarden.core.fleet import BuildRef, Criticality, ProductRef
from iotwarden.fleet.importing import import_inventory
from iotwarden.store.db import Store
from iotwarden.store.fleet import FleetRepository

EXGATE = {"vendor": "Example Controls", "product": "ExGate 100"}


def fleet(**overrides: Any) -> dict[str, Any]:
    """A small utility fleet: two products, three builds (OpenSSL 1.0.1e, 1.0.1g, 1.0.2)."""
    data: dict[str, Any] = {
        "products": [
            EXGATE | {"model_numbers": ["EXG-100-EU"], "sector": "energy", "criticality": "high"},
            {"vendor": "Acme", "product": "Cam 1", "sector": "consumer", "criticality": "low"},
        ],
        "firmware_builds": [
            EXGATE
            | {
                "version": version,
                "components": [
                    {"name": "openssl", "version": ssl, "purl": f"pkg:generic/openssl@{ssl}"},
                    {"name": "busybox", "version": "1.24.1"},
                ],
            }
            for version, ssl in (("4.2.0", "1.0.1e"), ("4.3.0", "1.0.1g"))
        ]
        + [
            {
                "vendor": "Acme",
                "product": "Cam 1",
                "version": "2.0",
                "components": [{"name": "openssl", "version": "1.0.2"}],
            }
        ],
        "devices": [
            EXGATE
            | {
                "device_id": f"exg-{i}",
                "firmware_version": "4.2.0" if i < 3 else "4.3.0",
                "owner": "North Grid",
                "owner_contact": "psirt@northgrid.example",
                "internet_exposed": i == 0,
            }
            for i in range(5)
        ]
        + [
            {
                "vendor": "Acme",
                "product": "Cam 1",
                "device_id": "cam-1",
                "firmware_version": "2.0",
                "owner": "Home",
            }
        ],
    }
    data.update(overrides)
    return data


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_import_is_whole_and_reimport_changes_nothing(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "fleet.json", fleet())
    report = import_inventory(store, [path])
    assert report.ok, report.problems
    assert report.stored
    repo = FleetRepository(store)
    counts = repo.counts()
    assert counts == {
        "products": 2,
        "firmware_builds": 3,
        "components": 5,
        "owners": 2,
        "devices": 6,
    }
    assert import_inventory(store, [path]).ok
    assert repo.counts() == counts
    with store.engine.connect() as conn:
        device = repo.devices(conn, ["exg-0"])["exg-0"]
    assert device.product == ProductRef("Example Controls", "ExGate 100")
    assert device.firmware_version == "4.2.0"
    assert device.owner == "North Grid"
    assert device.owner_contact == "psirt@northgrid.example"
    assert device.internet_exposed is True


def test_moving_a_device_to_another_build(store: Store, tmp_path: Path) -> None:
    assert import_inventory(store, [write(tmp_path / "fleet.json", fleet())]).ok
    moved = {"devices": [EXGATE | {"device_id": "exg-0", "firmware_version": "4.3.0"}]}
    assert import_inventory(store, [write(tmp_path / "update.json", moved)]).ok
    repo = FleetRepository(store)
    with store.engine.connect() as conn:
        device = repo.devices(conn, ["exg-0"])["exg-0"]
    assert device.firmware_version == "4.3.0"
    assert repo.counts()["devices"] == 6


def test_dangling_references_store_nothing(store: Store, tmp_path: Path) -> None:
    data = fleet()
    data["devices"].append(EXGATE | {"device_id": "exg-x", "firmware_version": "9.9"})
    data["devices"].append({"vendor": "Nobody", "product": "Box", "device_id": "box-1"})
    path = write(tmp_path / "fleet.json", data)
    report = import_inventory(store, [path])
    assert not report.stored
    messages = sorted(p.message for p in report.problems)
    assert len(messages) == 2
    assert "firmware build Example Controls ExGate 100 9.9 is unknown" in messages[1]
    assert "product Nobody Box is unknown" in messages[0]
    assert {p.where for p in report.problems} == {"$.devices[6]", "$.devices[7]"}
    assert {p.origin for p in report.problems} == {str(path)}
    assert FleetRepository(store).counts()["devices"] == 0  # nothing half-stored

    skipped = import_inventory(store, [path], skip_invalid=True)
    assert skipped.stored
    assert len(skipped.problems) == 2
    assert FleetRepository(store).counts()["devices"] == 6


def test_references_resolve_across_files_and_duplicates_are_errors(
    store: Store, tmp_path: Path
) -> None:
    products = write(tmp_path / "products.json", {"products": fleet()["products"]})
    builds = write(tmp_path / "builds.json", {"firmware_builds": fleet()["firmware_builds"]})
    devices = write(tmp_path / "devices.json", {"devices": fleet()["devices"]})
    again = write(tmp_path / "again.json", {"devices": fleet()["devices"][:1]})
    report = import_inventory(store, [devices, builds, products, again])
    assert not report.stored
    assert len(report.problems) == 1
    assert "exg-0" in report.problems[0].message
    assert "appears twice" in report.problems[0].message
    assert import_inventory(store, [devices, builds, products]).ok


def test_sbom_components_replace_a_builds_components(store: Store, tmp_path: Path) -> None:
    assert import_inventory(store, [write(tmp_path / "fleet.json", fleet())]).ok
    sbom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "components": [
            {
                "type": "library",
                "name": "openssl",
                "version": "1.0.1e",
                "purl": "pkg:generic/openssl@1.0.1e",
            },
            {"type": "application", "name": "dropbear", "version": "2015.67"},
        ],
    }
    path = write(tmp_path / "sbom.cdx.json", sbom)
    build = BuildRef(ProductRef("Example Controls", "ExGate 100"), "4.2.0")
    report = import_inventory(store, [path], build=build)
    assert report.ok, report.problems
    assert report.components == 2
    assert FleetRepository(store).counts()["components"] == 2 + 2 + 1


def test_products_keep_stored_fields_that_an_import_leaves_out(
    store: Store, tmp_path: Path
) -> None:
    assert import_inventory(store, [write(tmp_path / "fleet.json", fleet())]).ok
    update = {"products": [EXGATE | {"device_class": "gateway"}]}
    assert import_inventory(store, [write(tmp_path / "u.json", update)]).ok
    repo = FleetRepository(store)
    with store.engine.connect() as conn:
        product = repo.products(conn)[ProductRef("Example Controls", "ExGate 100").key]
    assert product.device_class == "gateway"
    assert product.sector == "energy"
    assert product.criticality is Criticality.HIGH
