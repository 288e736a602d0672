"""Inventory CSV and JSON: a small utility's fleet written by the tests, plus malformed input."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from iotwarden.core.fleet import (
    BuildComponents,
    BuildRef,
    Component,
    Criticality,
    Device,
    FirmwareBuild,
    InventoryRecord,
    Product,
    ProductRef,
)
from iotwarden.fleet.interface import (
    ImportFileError,
    ImportOutcome,
    InventoryImporter,
    Located,
    RecordError,
)
from iotwarden.fleet.tables import CsvInventoryImporter, JsonInventoryImporter

RTU = ProductRef("Acme Controls", "GridSense RTU")
PUMP = ProductRef("MediFlow", "InfuSafe 3")
ROUTER = ProductRef("HomeLink", "HL-200")

PRODUCTS_HEADER = ["vendor", "product", "model_numbers", "device_class", "sector", "criticality"]
PRODUCT_ROWS = [
    ["Acme Controls", "GridSense RTU", "RTU-500; RTU-510", "rtu", "Energy", "CRITICAL"],
    ["MediFlow", "InfuSafe 3", "IS3-A", "infusion pump", "health", "high"],
    ["HomeLink", "HL-200", "", "router", "consumer", "low"],
]
BUILDS_HEADER = ["vendor", "product", "version", "release_date", "end_of_support"]
BUILD_ROWS = [
    ["Acme Controls", "GridSense RTU", "4.2.0", "2013-02-01", "2018-12-31"],
    ["Acme Controls", "GridSense RTU", "4.3.1", "2014-05-20", ""],
    ["MediFlow", "InfuSafe 3", "2.0.7", "2015-01-10", "2025-01-10"],
    ["HomeLink", "HL-200", "1.1", "", ""],
]
COMPONENTS_HEADER = [
    "vendor",
    "product",
    "firmware_version",
    "component",
    "version",
    "purl",
    "cpe",
    "supplier",
]


def _openssl(version: str) -> list[str]:
    return [
        "openssl",
        version,
        f"pkg:generic/openssl@{version}",
        f"cpe:2.3:a:openssl:openssl:{version}:*:*:*:*:*:*:*",
        "OpenSSL Project",
    ]


COMPONENT_ROWS = [
    ["Acme Controls", "GridSense RTU", "4.2.0", *_openssl("1.0.1e")],
    ["Acme Controls", "GridSense RTU", "4.3.1", *_openssl("1.0.1g")],
    ["Acme Controls", "GridSense RTU", "4.2.0", "busybox", "1.20.2", "", "", ""],
    ["MediFlow", "InfuSafe 3", "2.0.7", *_openssl("1.0.2")],
    ["HomeLink", "HL-200", "1.1", "dropbear", "", "", "", ""],
]
DEVICES_HEADER = [
    "device_id",
    "vendor",
    "product",
    "firmware_version",
    "owner",
    "owner_contact",
    "sector",
    "site",
    "criticality",
    "internet_exposed",
    "address",
    "last_seen",
]
UTILITY = "Nordwind Energie"
CONTACT = "psirt@nordwind.example"


def _device_row(
    device_id: str,
    product: ProductRef,
    version: str,
    sector: str,
    exposed: str,
    address: str,
    *,
    owner: str = UTILITY,
    criticality: str = "",
    last_seen: str = "2024-05-01T06:00:00Z",
) -> list[str]:
    return [
        device_id,
        product.vendor,
        product.name,
        version,
        owner,
        CONTACT if owner == UTILITY else "",
        sector,
        "Substation North" if sector == "energy" else "",
        criticality,
        exposed,
        address,
        last_seen,
    ]


DEVICE_ROWS = [
    _device_row("rtu-001", RTU, "4.2.0", "energy", "yes", "10.20.0.11", criticality="critical"),
    _device_row("rtu-002", RTU, "4.2.0", "energy", "no", "10.20.0.12"),
    _device_row("rtu-003", RTU, "4.3.1", "energy", "true", "203.0.113.7"),
    _device_row("rtu-004", RTU, "4.3.1", "Energy", "0", "rtu-004.grid.nordwind.example"),
    _device_row("pump-101", PUMP, "2.0.7", "health", "n", "172.16.4.21", owner="St. Olaf Clinic"),
    _device_row("pump-102", PUMP, "2.0.7", "health", "", "fe80::1", owner="St. Olaf Clinic"),
    _device_row("pump-103", PUMP, "", "health", "N", "", owner="St. Olaf Clinic"),
    _device_row("hl-7001", ROUTER, "1.1", "consumer", "Y", "198.51.100.23", owner="J. Doe"),
    _device_row("hl-7002", ROUTER, "1.1", "consumer", "1", "2001:db8::23", owner="A. Roe"),
    _device_row("hl-7003", ROUTER, "1.1", "consumer", "false", "", last_seen=""),
]


# ------------------------------------------------------------------------------------ helpers


def _write_csv(
    directory: Path, header: Sequence[str], rows: Sequence[Sequence[str]], name: str = "t.csv"
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = directory / name
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _read(importer: InventoryImporter, path: Path) -> list[ImportOutcome]:
    assert type(importer).accepts(path, path.read_bytes()[:65536])
    return list(importer.read(path))


def _records(outcomes: list[ImportOutcome]) -> list[InventoryRecord]:
    errors = [o for o in outcomes if isinstance(o, RecordError)]
    assert errors == []
    return [o.record for o in outcomes if isinstance(o, Located)]


def _errors(outcomes: list[ImportOutcome]) -> list[tuple[str, str]]:
    return [(o.where, o.message) for o in outcomes if isinstance(o, RecordError)]


def _csv_outcomes(
    tmp_path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]
) -> list[ImportOutcome]:
    return _read(CsvInventoryImporter(), _write_csv(tmp_path, header, rows))


def _one_device_error(tmp_path: Path, column: str, value: str) -> list[tuple[str, str]]:
    row = dict(zip(DEVICES_HEADER, DEVICE_ROWS[0], strict=True))
    row[column] = value
    return _errors(_csv_outcomes(tmp_path, DEVICES_HEADER, [list(row.values())]))


# ---------------------------------------------------------------------------------- CSV: good


def test_products_table(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, PRODUCTS_HEADER, PRODUCT_ROWS, name="products.csv")
    outcomes = _read(CsvInventoryImporter(), path)
    assert outcomes[0] == Located(
        Product(RTU, ("RTU-500", "RTU-510"), "rtu", "energy", Criticality.CRITICAL),
        origin=str(path),
        where="line 2",
    )
    assert _records(outcomes)[1:] == [
        Product(PUMP, ("IS3-A",), "infusion pump", "health", Criticality.HIGH),
        Product(ROUTER, (), "router", "consumer", Criticality.LOW),
    ]


def test_builds_table_says_nothing_of_components(tmp_path: Path) -> None:
    outcomes = _csv_outcomes(tmp_path, BUILDS_HEADER, BUILD_ROWS)
    assert _records(outcomes) == [
        FirmwareBuild(BuildRef(RTU, "4.2.0"), dt.date(2013, 2, 1), dt.date(2018, 12, 31), None),
        FirmwareBuild(BuildRef(RTU, "4.3.1"), dt.date(2014, 5, 20), None, None),
        FirmwareBuild(BuildRef(PUMP, "2.0.7"), dt.date(2015, 1, 10), dt.date(2025, 1, 10)),
        FirmwareBuild(BuildRef(ROUTER, "1.1")),
    ]
    assert [o.where for o in outcomes if isinstance(o, Located)] == [
        "line 2",
        "line 3",
        "line 4",
        "line 5",
    ]


def test_components_table_is_grouped_per_build_in_file_order(tmp_path: Path) -> None:
    outcomes = _csv_outcomes(tmp_path, COMPONENTS_HEADER, COMPONENT_ROWS)
    located = [o for o in outcomes if isinstance(o, Located)]
    assert [o.where for o in located] == ["line 2", "line 3", "line 5", "line 6"]
    openssl_e = Component(
        "openssl",
        "1.0.1e",
        "pkg:generic/openssl@1.0.1e",
        "cpe:2.3:a:openssl:openssl:1.0.1e:*:*:*:*:*:*:*",
        "OpenSSL Project",
    )
    assert _records(outcomes) == [
        BuildComponents(BuildRef(RTU, "4.2.0"), (openssl_e, Component("busybox", "1.20.2"))),
        BuildComponents(
            BuildRef(RTU, "4.3.1"),
            (
                Component(
                    "openssl",
                    "1.0.1g",
                    "pkg:generic/openssl@1.0.1g",
                    "cpe:2.3:a:openssl:openssl:1.0.1g:*:*:*:*:*:*:*",
                    "OpenSSL Project",
                ),
            ),
        ),
        BuildComponents(
            BuildRef(PUMP, "2.0.7"),
            (
                Component(
                    "openssl",
                    "1.0.2",
                    "pkg:generic/openssl@1.0.2",
                    "cpe:2.3:a:openssl:openssl:1.0.2:*:*:*:*:*:*:*",
                    "OpenSSL Project",
                ),
            ),
        ),
        # An unknown version stays None ("possibly affected"), never dropped.
        BuildComponents(BuildRef(ROUTER, "1.1"), (Component("dropbear"),)),
    ]


def test_components_rows_group_by_normalised_product_name(tmp_path: Path) -> None:
    rows = [
        ["Acme Controls", "GridSense RTU", "4.2.0", "openssl", "1.0.1e", "", "", ""],
        ["ACME controls", "gridsense-rtu", "4.2.0", "zlib", "1.2.7", "", "", ""],
    ]
    records = _records(_csv_outcomes(tmp_path, COMPONENTS_HEADER, rows))
    assert records == [
        BuildComponents(
            BuildRef(RTU, "4.2.0"), (Component("openssl", "1.0.1e"), Component("zlib", "1.2.7"))
        )
    ]


def test_devices_table(tmp_path: Path) -> None:
    outcomes = _csv_outcomes(tmp_path, DEVICES_HEADER, DEVICE_ROWS)
    devices = _records(outcomes)
    assert all(isinstance(d, Device) for d in devices)
    by_id = {d.device_id: d for d in devices if isinstance(d, Device)}
    assert len(by_id) == 10
    assert by_id["rtu-001"] == Device(
        device_id="rtu-001",
        product=RTU,
        firmware_version="4.2.0",
        owner=UTILITY,
        owner_contact=CONTACT,
        sector="energy",
        site="Substation North",
        criticality=Criticality.CRITICAL,
        internet_exposed=True,
        address="10.20.0.11",
        last_seen=dt.datetime(2024, 5, 1, 6, 0, tzinfo=dt.UTC),
    )
    assert sorted(i for i, d in by_id.items() if d.internet_exposed) == [
        "hl-7001",
        "hl-7002",
        "rtu-001",
        "rtu-003",
    ]
    assert {d.sector for d in by_id.values()} == {"energy", "health", "consumer"}
    assert by_id["rtu-004"].sector == "energy"  # 'Energy' lower-cased
    assert by_id["rtu-004"].address == "rtu-004.grid.nordwind.example"
    assert by_id["pump-102"].address == "fe80::1"
    assert by_id["pump-103"].firmware_version is None
    assert by_id["pump-103"].address is None
    assert by_id["pump-103"].owner_contact is None
    assert by_id["hl-7003"].last_seen is None
    assert by_id["hl-7003"].criticality is None


def test_header_is_case_insensitive_and_order_free(tmp_path: Path) -> None:
    header = ["Product", " VENDOR ", "Device ID", "Internet-Exposed"]
    rows = [["HL-200", "HomeLink", "hl-7001", "Yes"]]
    outcomes = _csv_outcomes(tmp_path, header, rows)
    assert _records(outcomes) == [Device("hl-7001", ROUTER, internet_exposed=True)]


def test_values_are_stripped_and_blank_lines_keep_physical_line_numbers(tmp_path: Path) -> None:
    text = (
        "device_id,vendor,product,site\n"
        "\n"
        '  hl-7001 , HomeLink ,HL-200,"Flat 3,\nOld Mill"\n'
        "hl-7002,HomeLink,HL-200,   \n"
    )
    path = tmp_path / "devices.csv"
    path.write_text(text, encoding="utf-8")
    outcomes = _read(CsvInventoryImporter(), path)
    assert [(o.where, o.record) for o in outcomes if isinstance(o, Located)] == [
        ("line 3", Device("hl-7001", ROUTER, site="Flat 3,\nOld Mill")),
        ("line 5", Device("hl-7002", ROUTER)),
    ]


def test_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_bytes("vendor,product\nHomeLink,HL-200\n".encode("utf-8-sig"))
    outcomes = _read(CsvInventoryImporter(), path)
    assert outcomes == [Located(Product(ROUTER), str(path), "line 2")]


def test_last_seen_forms(tmp_path: Path) -> None:
    rows = [
        _device_row("a", ROUTER, "1.1", "consumer", "", "", last_seen="2024-05-01T08:30:00+02:00"),
        _device_row("b", ROUTER, "1.1", "consumer", "", "", last_seen="2024-05-01 06:30"),
        _device_row("c", ROUTER, "1.1", "consumer", "", "", last_seen="2024-05-01T06:30:00.25z"),
    ]
    devices = _records(_csv_outcomes(tmp_path, DEVICES_HEADER, rows))
    seen = [d.last_seen for d in devices if isinstance(d, Device)]
    assert seen == [
        dt.datetime(2024, 5, 1, 6, 30, tzinfo=dt.UTC),
        dt.datetime(2024, 5, 1, 6, 30, tzinfo=dt.UTC),  # naive: UTC
        dt.datetime(2024, 5, 1, 6, 30, 0, 250000, tzinfo=dt.UTC),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("Y", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("n", False),
        ("0", False),
        ("", False),
        (" yes ", True),
    ],
)
def test_internet_exposed_values(tmp_path: Path, text: str, expected: bool) -> None:
    rows = [["rtu-001", "Acme Controls", "GridSense RTU", text]]
    header = ["device_id", "vendor", "product", "internet_exposed"]
    records = _records(_csv_outcomes(tmp_path, header, rows))
    assert records == [Device("rtu-001", RTU, internet_exposed=expected)]


@pytest.mark.parametrize(
    "address", ["10.0.0.1", "2001:db8::1", "fe80::1%eth0", "rtu-1", "meter.example.org."]
)
def test_good_addresses(tmp_path: Path, address: str) -> None:
    records = _records(
        _csv_outcomes(
            tmp_path,
            ["device_id", "vendor", "product", "address"],
            [["d", "HomeLink", "HL-200", address]],
        )
    )
    assert records == [Device("d", ROUTER, address=address)]


# ----------------------------------------------------------------------------- CSV: accepts


def test_accepts_only_inventory_tables(tmp_path: Path) -> None:
    header = b"vendor,product,version\nAcme,RTU,1\n"
    assert CsvInventoryImporter.accepts(tmp_path / "builds.csv", header)
    assert CsvInventoryImporter.accepts(tmp_path / "BUILDS.CSV", b"\xef\xbb\xbf" + header)
    assert not CsvInventoryImporter.accepts(tmp_path / "builds.txt", header)
    assert not CsvInventoryImporter.accepts(tmp_path / "builds.json", header)
    # A header with a kind's required columns is ours even with a typo elsewhere: read()
    # then names the unknown column instead of "no importer for this file".
    assert CsvInventoryImporter.accepts(tmp_path / "d.csv", b"device_id,vendor,product,ownr\n")
    kev = b"cveID,vendorProject,product,vulnerabilityName,dateAdded\n"
    assert not CsvInventoryImporter.accepts(tmp_path / "kev.csv", kev)
    assert not CsvInventoryImporter.accepts(tmp_path / "empty.csv", b"")
    assert not JsonInventoryImporter.accepts(tmp_path / "builds.csv", header)


# ------------------------------------------------------------------------------ CSV: errors


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "devices.csv"
    path.write_bytes(
        "device_id,vendor,product,owner\nrtu-001,Acme Controls,GridSense RTU,Nordwind\n"
        "rtu-002,Acme Controls,GridSense RTU,Stadtwerke Müller\n".encode("latin-1")
    )
    assert CsvInventoryImporter.accepts(path, path.read_bytes())
    with pytest.raises(ImportFileError) as caught:
        list(CsvInventoryImporter().read(path))
    assert caught.value.error.origin == str(path)
    assert caught.value.error.where == "line 3"
    assert caught.value.error.message.startswith("not UTF-8 (byte 0xfc at offset 124)")


def test_unknown_columns_are_a_file_error(tmp_path: Path) -> None:
    header = ["device_id", "vendor", "product", "ownr", "Firmware"]
    path = _write_csv(tmp_path, header, [["d", "HomeLink", "HL-200", "J. Doe", "1.1"]])
    with pytest.raises(ImportFileError) as caught:
        list(CsvInventoryImporter().read(path))
    assert caught.value.error.where == "line 1"
    assert caught.value.error.message == (
        "unknown column(s) 'ownr', 'firmware' in a devices file; its columns are device_id, "
        "vendor, product, firmware_version, owner, owner_contact, sector, site, criticality, "
        "internet_exposed, address, last_seen"
    )


def test_header_matching_no_kind(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, ["name", "version"], [["openssl", "1.0.1e"]])
    with pytest.raises(ImportFileError) as caught:
        list(CsvInventoryImporter().read(path))
    assert caught.value.error.where == "line 1"
    assert caught.value.error.message.startswith(
        "the header (name, version) is not an inventory table; the required columns are, "
        "per kind of file, products: product, vendor; builds: product, vendor, version;"
    )


def test_repeated_header_column(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, ["vendor", "product", "Vendor"], [["a", "b", "c"]])
    with pytest.raises(ImportFileError, match="the header names 'vendor' more than once"):
        list(CsvInventoryImporter().read(path))


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="the file is empty"):
        list(CsvInventoryImporter().read(path))


def test_duplicate_device_id_names_the_first_line(tmp_path: Path) -> None:
    rows = [DEVICE_ROWS[0], DEVICE_ROWS[1], DEVICE_ROWS[0], DEVICE_ROWS[2]]
    outcomes = _csv_outcomes(tmp_path, DEVICES_HEADER, rows)
    assert _errors(outcomes) == [("line 4", "device_id 'rtu-001' appears again (first on line 2)")]
    assert [o.where for o in outcomes if isinstance(o, Located)] == ["line 2", "line 3", "line 5"]


def test_duplicate_products_and_builds(tmp_path: Path) -> None:
    products = _csv_outcomes(
        tmp_path, ["vendor", "product"], [["HomeLink", "HL-200"], ["homelink", "HL 200"]]
    )
    assert _errors(products) == [
        ("line 3", "product homelink HL 200 appears again (first on line 2)")
    ]
    builds = _csv_outcomes(tmp_path, BUILDS_HEADER, [BUILD_ROWS[3], BUILD_ROWS[3]])
    assert _errors(builds) == [
        ("line 3", "firmware build HomeLink HL-200 1.1 appears again (first on line 2)")
    ]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (
            "criticality",
            "urgent",
            "criticality must be one of low, medium, high, critical, found 'urgent'",
        ),
        (
            "internet_exposed",
            "maybe",
            "internet_exposed must be true/false, yes/no, y/n or 1/0, found 'maybe'",
        ),
        (
            "last_seen",
            "2024-05-01",
            "last_seen must be an ISO 8601 date and time such as "
            "2024-05-01T12:00:00Z, found '2024-05-01'",
        ),
        (
            "last_seen",
            "2024-13-01T00:00:00Z",
            "last_seen must be an ISO 8601 date and time "
            "such as 2024-05-01T12:00:00Z, found '2024-13-01T00:00:00Z'",
        ),
        (
            "address",
            "10.0.0.300",
            "address must be an IP address or a host name, found '10.0.0.300'",
        ),
        (
            "address",
            "meter_1.example",
            "address must be an IP address or a host name, found 'meter_1.example'",
        ),
        (
            "address",
            "10.0.0.0/24",
            "address must be an IP address or a host name, found '10.0.0.0/24'",
        ),
        ("device_id", "  ", "device_id is required"),
        ("vendor", "", "vendor is required"),
    ],
)
def test_bad_device_values(tmp_path: Path, column: str, value: str, message: str) -> None:
    assert _one_device_error(tmp_path, column, value) == [("line 2", message)]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2013/02/01", "release_date must be a date as YYYY-MM-DD, found '2013/02/01'"),
        ("20130201", "release_date must be a date as YYYY-MM-DD, found '20130201'"),
        ("2013-02-30", "release_date must be a date as YYYY-MM-DD, found '2013-02-30'"),
        ("01.02.2013", "release_date must be a date as YYYY-MM-DD, found '01.02.2013'"),
    ],
)
def test_bad_release_dates(tmp_path: Path, value: str, message: str) -> None:
    outcomes = _csv_outcomes(
        tmp_path, BUILDS_HEADER, [BUILD_ROWS[0], ["HomeLink", "HL-200", "1.1", value, ""]]
    )
    assert _errors(outcomes) == [("line 3", message)]
    assert len([o for o in outcomes if isinstance(o, Located)]) == 1


def test_end_of_support_before_release(tmp_path: Path) -> None:
    rows = [["HomeLink", "HL-200", "1.1", "2016-03-03", "2015-12-31"]]
    assert _errors(_csv_outcomes(tmp_path, BUILDS_HEADER, rows)) == [
        ("line 2", "end_of_support 2015-12-31 is before release_date 2016-03-03")
    ]


def test_every_bad_value_of_a_row_is_reported(tmp_path: Path) -> None:
    rows = [["Acme Controls", "", "", "x", "urgent"]]
    header = ["vendor", "product", "model_numbers", "device_class", "criticality"]
    assert _errors(_csv_outcomes(tmp_path, header, rows)) == [
        ("line 2", "product is required"),
        ("line 2", "criticality must be one of low, medium, high, critical, found 'urgent'"),
    ]


def test_bad_purl_and_cpe_hold_back_the_whole_build(tmp_path: Path) -> None:
    rows = [
        ["Acme Controls", "GridSense RTU", "4.2.0", *_openssl("1.0.1e")],
        ["Acme Controls", "GridSense RTU", "4.2.0", "zlib", "1.2.7", "zlib@1.2.7", "", ""],
        ["Acme Controls", "GridSense RTU", "4.2.0", "busybox", "1.20.2", "", "cpe:/x:busybox", ""],
        ["HomeLink", "HL-200", "1.1", "openssl", "1.0.1g", "", "cpe:2.3:a:openssl", ""],
        ["HomeLink", "HL-200", "", "openssl", "1.0.1g", "", "", ""],
        ["MediFlow", "InfuSafe 3", "2.0.7", *_openssl("1.0.2")],
    ]
    outcomes = _csv_outcomes(tmp_path, COMPONENTS_HEADER, rows)
    errors = _errors(outcomes)
    assert [(where, message.split(":")[0]) for where, message in errors] == [
        ("line 3", "purl"),
        ("line 4", "cpe"),
        ("line 5", "cpe"),
        ("line 6", "firmware_version is required"),
        (
            "line 2",
            "the components of firmware build Acme Controls GridSense RTU 4.2.0 are not imported",
        ),
        ("line 5", "the components of firmware build HomeLink HL-200 1.1 are not imported"),
    ]
    assert errors[0][1].startswith("purl: 'zlib@1.2.7' is not a valid package URL")
    assert errors[1][1] == "cpe: 'cpe:/x:busybox': part must be a, o or h, not 'x'"
    assert errors[2][1] == "cpe: 'cpe:2.3:a:openssl' has 2 fields; a CPE 2.3 name has 11"
    assert errors[4][1].endswith("not imported: fix line(s) 3, 4 first")
    assert _records([o for o in outcomes if isinstance(o, Located)]) == [
        BuildComponents(
            BuildRef(PUMP, "2.0.7"),
            (
                Component(
                    "openssl",
                    "1.0.2",
                    "pkg:generic/openssl@1.0.2",
                    "cpe:2.3:a:openssl:openssl:1.0.2:*:*:*:*:*:*:*",
                    "OpenSSL Project",
                ),
            ),
        )
    ]


def test_rows_with_the_wrong_number_of_values(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text(
        "vendor,product,sector\nHomeLink,HL-200\nHomeLink,HL-300,consumer,extra\n"
        "MediFlow,InfuSafe 3,health\n",
        encoding="utf-8",
    )
    outcomes = _read(CsvInventoryImporter(), path)
    assert _errors(outcomes) == [
        ("line 2", "the row has 2 values but the header has 3 columns"),
        ("line 3", "the row has 4 values but the header has 3 columns"),
    ]
    assert [o.where for o in outcomes if isinstance(o, Located)] == ["line 4"]


def test_nameless_trailing_column(tmp_path: Path) -> None:
    # Spreadsheets export a trailing comma; an empty column without a name loses nothing.
    path = tmp_path / "products.csv"
    path.write_text(
        "vendor,product,\nHomeLink,HL-200,\nMediFlow,InfuSafe 3,forgotten\n", encoding="utf-8"
    )
    outcomes = _read(CsvInventoryImporter(), path)
    assert _errors(outcomes) == [
        ("line 3", "column 3 has a value ('forgotten') but no name in the header")
    ]
    assert [o.record for o in outcomes if isinstance(o, Located)] == [Product(ROUTER)]


# --------------------------------------------------------------------------------------- JSON


def _fleet_document() -> dict[str, Any]:
    """The same fleet as the CSV tables, as one inventory document."""

    def openssl(version: str) -> dict[str, Any]:
        return dict(
            zip(["name", "version", "purl", "cpe", "supplier"], _openssl(version), strict=True)
        )

    devices = []
    for row in DEVICE_ROWS:
        device: dict[str, Any] = dict(zip(DEVICES_HEADER, row, strict=True))
        device["internet_exposed"] = row[9].strip().lower() in ("yes", "true", "1", "y")
        devices.append({k: v for k, v in device.items() if v != ""})
    return {
        "products": [
            {
                "vendor": "Acme Controls",
                "product": "GridSense RTU",
                "model_numbers": ["RTU-500", "RTU-510"],
                "device_class": "rtu",
                "sector": "Energy",
                "criticality": "critical",
            },
            {"vendor": "MediFlow", "product": "InfuSafe 3", "sector": "health"},
            {"vendor": "HomeLink", "product": "HL-200", "criticality": None},
        ],
        "firmware_builds": [
            {
                "vendor": "Acme Controls",
                "product": "GridSense RTU",
                "version": "4.2.0",
                "release_date": "2013-02-01",
                "end_of_support": "2018-12-31",
                "components": [openssl("1.0.1e"), {"name": "busybox", "version": "1.20.2"}],
            },
            {
                "vendor": "Acme Controls",
                "product": "GridSense RTU",
                "version": "4.3.1",
                "components": [openssl("1.0.1g")],
            },
            {
                "vendor": "MediFlow",
                "product": "InfuSafe 3",
                "version": "2.0.7",
                "components": [openssl("1.0.2")],
            },
            {"vendor": "HomeLink", "product": "HL-200", "version": "1.1", "components": []},
            {"vendor": "HomeLink", "product": "HL-200", "version": "1.2"},
        ],
        "devices": devices,
    }


def _write_json(directory: Path, document: object, name: str = "fleet.json") -> Path:
    path = directory / name
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def _json_outcomes(tmp_path: Path, document: object) -> list[ImportOutcome]:
    return _read(JsonInventoryImporter(), _write_json(tmp_path, document))


def test_json_fleet(tmp_path: Path) -> None:
    outcomes = _json_outcomes(tmp_path, _fleet_document())
    records = _records(outcomes)
    assert [o.where for o in outcomes if isinstance(o, Located)][:9] == [
        "$.products[0]",
        "$.products[1]",
        "$.products[2]",
        "$.firmware_builds[0]",
        "$.firmware_builds[1]",
        "$.firmware_builds[2]",
        "$.firmware_builds[3]",
        "$.firmware_builds[4]",
        "$.devices[0]",
    ]
    assert records[:3] == [
        Product(RTU, ("RTU-500", "RTU-510"), "rtu", "energy", Criticality.CRITICAL),
        Product(PUMP, sector="health"),
        Product(ROUTER),
    ]
    builds = [r for r in records if isinstance(r, FirmwareBuild)]
    assert builds[0] == FirmwareBuild(
        BuildRef(RTU, "4.2.0"),
        dt.date(2013, 2, 1),
        dt.date(2018, 12, 31),
        (
            Component(
                "openssl",
                "1.0.1e",
                "pkg:generic/openssl@1.0.1e",
                "cpe:2.3:a:openssl:openssl:1.0.1e:*:*:*:*:*:*:*",
                "OpenSSL Project",
            ),
            Component("busybox", "1.20.2"),
        ),
    )
    assert [b.components for b in builds[3:]] == [(), None]
    devices = {r.device_id: r for r in records if isinstance(r, Device)}
    csv_devices = _records(_csv_outcomes(tmp_path, DEVICES_HEADER, DEVICE_ROWS))
    assert list(devices.values()) == csv_devices  # same fleet, same records
    assert devices["hl-7002"].internet_exposed is True


def test_json_accepts(tmp_path: Path) -> None:
    fleet = json.dumps(_fleet_document()).encode()
    assert JsonInventoryImporter.accepts(tmp_path / "fleet.json", fleet)
    assert JsonInventoryImporter.accepts(tmp_path / "fleet.JSON", b"\xef\xbb\xbf" + fleet)
    assert JsonInventoryImporter.accepts(tmp_path / "d.json", b'{"devices": []}')
    # The head of a large document ends anywhere, even inside a string.
    big = json.dumps({"devices": [{"device_id": f"m-{i}", "site": "é" * 20} for i in range(9999)]})
    head = big.encode()[:65536]
    assert len(big.encode()) > 65536
    assert JsonInventoryImporter.accepts(tmp_path / "big.json", head)
    assert JsonInventoryImporter.accepts(tmp_path / "big.json", head[:-1])
    assert not JsonInventoryImporter.accepts(tmp_path / "fleet.csv", fleet)
    assert not JsonInventoryImporter.accepts(tmp_path / "d.json", b'[{"devices": []}]')
    assert not JsonInventoryImporter.accepts(tmp_path / "d.json", b'{"vulnerabilities": []}')
    assert not JsonInventoryImporter.accepts(tmp_path / "d.json", b"devices,vendor\n")
    assert not JsonInventoryImporter.accepts(tmp_path / "d.json", b'{"a": {"devices": []}}')
    cyclonedx = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "components": [],
        "products": [],
    }
    spdx = {"spdxVersion": "SPDX-2.3", "packages": [], "devices": []}
    for sbom in (cyclonedx, spdx):
        assert not JsonInventoryImporter.accepts(tmp_path / "s.json", json.dumps(sbom).encode())


def test_json_sbom_is_refused_by_read(tmp_path: Path) -> None:
    path = _write_json(tmp_path, {"bomFormat": "CycloneDX", "devices": []})
    with pytest.raises(ImportFileError, match="this is an SBOM"):
        list(JsonInventoryImporter().read(path))


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    path.write_text('{\n  "devices": [\n    {"device_id": "a",}\n  ]\n}\n', encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        list(JsonInventoryImporter().read(path))
    assert caught.value.error == RecordError(
        str(path),
        "line 3, column 23",
        "invalid JSON: Expecting property name enclosed in double quotes",
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], 'expected an object with "products", "firmware_builds", "devices", found a list'),
        (
            {"assets": []},
            'an inventory document has "products", "firmware_builds", "devices": none found',
        ),
    ],
)
def test_json_of_another_shape(tmp_path: Path, document: object, message: str) -> None:
    path = _write_json(tmp_path, document)
    with pytest.raises(ImportFileError) as caught:
        list(JsonInventoryImporter().read(path))
    assert caught.value.error.message == message


def test_json_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    path.write_bytes('{"devices": [\n{"device_id": "a", "owner": "Müller"}]}'.encode("latin-1"))
    with pytest.raises(ImportFileError) as caught:
        list(JsonInventoryImporter().read(path))
    assert caught.value.error.where == "line 2"
    assert caught.value.error.message.startswith("not UTF-8")


def test_json_record_errors_name_the_path(tmp_path: Path) -> None:
    device = {"device_id": "rtu-001", "vendor": "Acme Controls", "product": "GridSense RTU"}
    document = {
        "products": [
            {"vendor": "HomeLink", "product": "HL-200", "model_numbers": ["HL-200", 200]},
            "HomeLink HL-300",
        ],
        "firmware_builds": [
            {
                "vendor": "Acme Controls",
                "product": "GridSense RTU",
                "version": 4.2,
                "components": [
                    {"name": "openssl", "version": "1.0.1e", "purl": "openssl"},
                    {"name": "zlib", "licence": "Zlib"},
                    ["busybox"],
                ],
            },
            {"vendor": "HomeLink", "product": "HL-200", "version": "1.1", "components": {}},
            {
                "vendor": "HomeLink",
                "product": "HL-200",
                "version": "1.2",
                "release_date": "2016-3-3",
            },
        ],
        "devices": [
            device,
            {**device, "device_id": "rtu-002", "criticality": "severe"},
            {**device, "device_id": "rtu-003", "internet_exposed": "yes"},
            {**device, "device_id": "rtu-004", "ownr": "Nordwind", "owner name": "x"},
            {**device, "last_seen": "2024-05-01T06:00:00Z"},
            {**device, "device_id": "rtu-005", "address": "not an address!"},
        ],
        "generated": "2024-05-01",
    }
    outcomes = _json_outcomes(tmp_path, document)
    device_keys = (
        "address, criticality, device_id, firmware_version, internet_exposed, last_seen, owner, "
        "owner_contact, product, sector, site, vendor"
    )
    assert _errors(outcomes) == [
        (
            "$.generated",
            "unknown key 'generated'; the known keys are devices, firmware_builds, products",
        ),
        ("$.products[0].model_numbers[1]", "model_numbers must hold strings, found the number 200"),
        ("$.products[1]", "expected an object, found 'HomeLink HL-300'"),
        (
            "$.firmware_builds[0].components[0].purl",
            "purl: 'openssl' is not a valid package URL: purl is missing the required \"pkg\" "
            "scheme component: 'openssl'.",
        ),
        (
            "$.firmware_builds[0].components[1].licence",
            "unknown key 'licence'; the known keys are cpe, name, purl, supplier, version",
        ),
        ("$.firmware_builds[0].components[2]", "expected an object, found a list"),
        (
            "$.firmware_builds[0].version",
            'version must be a string, found the number 4.2 (quote it: "4.2")',
        ),
        ("$.firmware_builds[1].components", "components must be a list, found an object"),
        (
            "$.firmware_builds[2].release_date",
            "release_date must be a date as YYYY-MM-DD, found '2016-3-3'",
        ),
        (
            "$.devices[1].criticality",
            "criticality must be one of low, medium, high, critical, found 'severe'",
        ),
        ("$.devices[2].internet_exposed", "internet_exposed must be true or false, found 'yes'"),
        (
            "$.devices[3].ownr",
            f"unknown key 'ownr'; the known keys are {device_keys}",
        ),
        (
            '$.devices[3]["owner name"]',
            f"unknown key 'owner name'; the known keys are {device_keys}",
        ),
        ("$.devices[4].device_id", "device_id 'rtu-001' appears again (first at $.devices[0])"),
        (
            "$.devices[5].address",
            "address must be an IP address or a host name, found 'not an address!'",
        ),
    ]
    # Only records without any error are yielded (a partial record would overwrite the store).
    assert [o.where for o in outcomes if isinstance(o, Located)] == ["$.devices[0]"]


def test_json_known_keys_include_internet_exposed(tmp_path: Path) -> None:
    document = {
        "devices": [
            {"device_id": "a", "vendor": "HomeLink", "product": "HL-200", "internet_exposed": None}
        ]
    }
    assert _records(_json_outcomes(tmp_path, document)) == [Device("a", ROUTER)]


def test_json_repeated_keys_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    path.write_text(
        '{"devices": [{"device_id": "a", "vendor": "HomeLink", "product": "HL-200", '
        '"owner": "J. Doe", "owner": "A. Roe"}], "devices": []}',
        encoding="utf-8",
    )
    outcomes = _read(JsonInventoryImporter(), path)
    # json keeps the last 'devices' list; the first is lost, which the error says.
    assert _errors(outcomes) == [("$.devices", "key 'devices' appears more than once")]
    path.write_text(
        '{"devices": [{"device_id": "a", "vendor": "HomeLink", "product": "HL-200", '
        '"owner": "J. Doe", "owner": "A. Roe"}]}',
        encoding="utf-8",
    )
    assert _errors(_read(JsonInventoryImporter(), path)) == [
        ("$.devices[0].owner", "key 'owner' appears more than once")
    ]


def test_json_section_that_is_not_a_list(tmp_path: Path) -> None:
    document = {"products": {"vendor": "HomeLink", "product": "HL-200"}, "devices": []}
    assert _errors(_json_outcomes(tmp_path, document)) == [
        ("$.products", "products must be a list, found an object")
    ]


def test_json_repeated_products_and_builds(tmp_path: Path) -> None:
    document = {
        "products": [
            {"vendor": "HomeLink", "product": "HL-200", "model_numbers": "HL-200"},
            {"vendor": "HomeLink", "product": "HL-200"},
            {"vendor": "Homelink", "product": "hl 200"},
        ],
        "firmware_builds": [
            {"vendor": "HomeLink", "product": "HL-200", "version": "1.1"},
            {"vendor": "HomeLink", "product": "HL-200", "version": "1.1", "components": []},
        ],
    }
    assert _errors(_json_outcomes(tmp_path, document)) == [
        ("$.products[0].model_numbers", "model_numbers must be a list of strings, found 'HL-200'"),
        ("$.products[2]", "product Homelink hl 200 appears again (first at $.products[1])"),
        (
            "$.firmware_builds[1]",
            "firmware build HomeLink HL-200 1.1 appears again (first at $.firmware_builds[0])",
        ),
    ]


def test_json_nested_too_deeply(tmp_path: Path) -> None:
    path = tmp_path / "fleet.json"
    path.write_text('{"devices": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    with pytest.raises(ImportFileError, match="invalid JSON: nested too deeply"):
        list(JsonInventoryImporter().read(path))


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="cannot read the file: No such file"):
        list(CsvInventoryImporter().read(tmp_path / "missing.csv"))


def test_malformed_csv_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text("vendor,product\nHomeLink,HL-200\nHomeLink," + "x" * 200_000 + "\n")
    with pytest.raises(ImportFileError) as caught:
        list(CsvInventoryImporter().read(path))
    assert caught.value.error.where == "line 3"
    assert caught.value.error.message == "malformed CSV: field larger than field limit (131072)"


def test_components_row_with_the_wrong_number_of_values(tmp_path: Path) -> None:
    rows = [COMPONENT_ROWS[4], ["HomeLink", "HL-200", "1.1", "dropbear"]]
    assert _errors(_csv_outcomes(tmp_path, COMPONENTS_HEADER, rows)) == [
        ("line 3", "the row has 4 values but the header has 8 columns")
    ]
