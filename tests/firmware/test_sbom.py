"""SBOMs of an analysed image: CycloneDX 1.6 and SPDX 2.3, each validated by its own library,
listing every component with its purl, CPE and the files that evidence it, and readable back
by the inventory's own SBOM importers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from iotwarden.core.fleet import BuildRef, Product, ProductRef
from iotwarden.firmware.analyze import (
    EvidenceFile,
    ExtractionSummary,
    FileCounts,
    FirmwareAnalysis,
    ImageInfo,
    RootFs,
)
from iotwarden.firmware.model import (
    CAP_EXPLOIT_MITIGATIONS,
    CAP_NO_KNOWN_VULNERABILITIES,
    CAP_UNIQUE_CREDENTIALS,
    Confidence,
    Evidence,
    Finding,
    IdentifiedComponent,
    Severity,
)
from iotwarden.firmware.sbom import SbomError, render, to_cyclonedx, to_spdx
from iotwarden.fleet.importing import import_inventory
from iotwarden.store.db import Store
from iotwarden.store.fleet import FleetRepository

BUILD = BuildRef(ProductRef("Acme", "R500"), "2.1.0")


def evidence_file(path: str, content: bytes) -> EvidenceFile:
    return EvidenceFile(
        path,
        len(content),
        hashlib.sha256(content).hexdigest(),
        hashlib.sha1(content, usedforsecurity=False).hexdigest(),
    )


def sample_analysis(**changes: Any) -> FirmwareAnalysis:
    """An analysis as analyze_image returns it, written out by hand: OpenSSL seen in two
    libraries, BusyBox, a version-less lighttpd, and a dpkg package."""
    components = (
        IdentifiedComponent(
            "openssl",
            "1.0.1e",
            Confidence.HIGH,
            (
                Evidence("/usr/lib/libcrypto.so.1.0.0", "signature openssl: 'OpenSSL 1.0.1e'", 1),
                Evidence("/usr/lib/libssl.so.1.0.0", "signature openssl: 'OpenSSL 1.0.1e'", 9),
            ),
            purl="pkg:generic/openssl@1.0.1e",
            cpe="cpe:2.3:a:openssl:openssl:1.0.1e:*:*:*:*:*:*:*",
            supplier="OpenSSL Project",
        ),
        IdentifiedComponent(
            "busybox",
            "1.19.4",
            Confidence.MEDIUM,
            (Evidence("/bin/busybox", "signature busybox: 'BusyBox v1.19.4'", 100),),
            purl="pkg:generic/busybox@1.19.4",
            cpe="cpe:2.3:a:busybox:busybox:1.19.4:*:*:*:*:*:*:*",
        ),
        IdentifiedComponent(
            "lighttpd",
            None,
            Confidence.LOW,
            (Evidence("/usr/sbin/lighttpd", "signature lighttpd: 'lighttpd'"),),
            purl="pkg:generic/lighttpd",
        ),
        IdentifiedComponent(
            "libc6",
            "2.36-9",
            Confidence.HIGH,
            (Evidence("/var/lib/dpkg/status", "dpkg status: Package libc6"),),
            purl="pkg:deb/debian/libc6@2.36-9?arch=armhf",
            source="dpkg",
        ),
    )
    files = (
        evidence_file("/bin/busybox", b"busybox"),
        evidence_file("/usr/lib/libcrypto.so.1.0.0", b"libcrypto"),
        evidence_file("/usr/lib/libssl.so.1.0.0", b"libssl"),
        evidence_file("/usr/sbin/lighttpd", b"lighttpd"),
        evidence_file("/var/lib/dpkg/status", b"Package: libc6\n"),
    )
    findings = (
        Finding(
            "IW-FW-KNOWN-VULN",
            'openssl 1.0.1e is affected by CVE-2014-0160: <Heartbleed> & "friends"',
            Severity.CRITICAL,
            "/usr/lib/libcrypto.so.1.0.0",
            "openssl 1.0.1e in vers:generic/>=1.0.1|<1.0.1g",
            "Update openssl to 1.0.1g.",
            (CAP_NO_KNOWN_VULNERABILITIES,),
            {"vulnerability": "CVE-2014-0160", "kev": True},
        ),
        Finding(
            "IW-FW-ACCOUNT-DEFAULT-PASSWORD",
            "Account 'root' has the default password 'xc3511'",
            Severity.CRITICAL,
            "/etc/shadow",
            "root:$1$abcd…",
            "Lock the account.",
            (CAP_UNIQUE_CREDENTIALS,),
        ),
        Finding(
            "IW-FW-ELF-NO-CANARY",
            "Executable without stack canaries",
            Severity.LOW,
            "/usr/bin/my tool#1?é",
            "no __stack_chk_fail",
            "Build with -fstack-protector-strong.",
            (CAP_EXPLOIT_MITIGATIONS,),
        ),
        Finding(
            "IW-FW-UPDATE-NO-SIGNED-MECHANISM",
            "No signed update mechanism found",
            Severity.MEDIUM,
            "/",
            "no update mechanism found",
            "Provide signed updates.",
            ("secure-update",),
        ),
    )
    values: dict[str, Any] = {
        "image": ImageInfo("/in/r500-2.1.0.bin", "r500-2.1.0.bin", "file", 4096, "ab" * 32),
        "rootfs": (RootFs("/tmp/x/extracted/squashfs-root", "", 5),),
        "extraction": ExtractionSummary(
            ({"format": "squashfs_v4_le", "extractor": "unsquashfs", "offset": 0},),
            ("a warning from the extractor",),
            0,
        ),
        "components": components,
        "findings": findings,
        "hardening": {"elf_files": 3, "nx": {"count": 2, "percent": 66.7}},
        "checks": ({"check": "accounts", "status": "completed"},),
        "files": FileCounts(total=5, unique=5, analysed=5),
        "evidence_files": files,
        "timings": {"extract": 0.1, "total": 0.5},
        "problems": ("/etc/broken: cannot be read",),
        "build": BUILD,
        "stored": True,
        "advisories_checked": True,
        "vulnerabilities_considered": 1,
        "versions": {"iotwarden": "0.1.0", "signatures": "s1", "checks": "c1"},
        "analysed_at": "2026-11-22T10:00:00Z",
    }
    values.update(changes)
    return FirmwareAnalysis(**values)


# --- CycloneDX ------------------------------------------------------------------------------


def test_cyclonedx_validates_strictly_against_1_6_and_lists_every_component() -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = to_cyclonedx(sample_analysis())

    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = json.loads(text)
    assert bom["specVersion"] == "1.6"
    firmware = bom["metadata"]["component"]
    assert (firmware["type"], firmware["name"], firmware["version"]) == (
        "firmware",
        "R500",
        "2.1.0",
    )
    by_name = {c["name"]: c for c in bom["components"]}
    assert set(by_name) == {"openssl", "busybox", "lighttpd", "libc6"}
    openssl = by_name["openssl"]
    assert openssl["purl"] == "pkg:generic/openssl@1.0.1e"
    assert openssl["cpe"] == "cpe:2.3:a:openssl:openssl:1.0.1e:*:*:*:*:*:*:*"
    assert openssl["supplier"]["name"] == "OpenSSL Project"
    occurrences = openssl["evidence"]["occurrences"]
    assert {(o["location"], o.get("offset")) for o in occurrences} == {
        ("/usr/lib/libcrypto.so.1.0.0", 1),
        ("/usr/lib/libssl.so.1.0.0", 9),
    }
    assert "version" not in by_name["lighttpd"]  # unknown, not guessed
    assert by_name["libc6"]["purl"] == "pkg:deb/debian/libc6@2.36-9?arch=armhf"
    depends = {d["ref"]: d.get("dependsOn", []) for d in bom["dependencies"]}
    assert len(depends["firmware"]) == 4


def test_cyclonedx_is_the_same_for_the_same_analysis() -> None:
    assert to_cyclonedx(sample_analysis()) == to_cyclonedx(sample_analysis())


# --- SPDX -----------------------------------------------------------------------------------


def test_spdx_validates_as_2_3_with_files_and_relationships() -> None:
    from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    text = to_spdx(sample_analysis())

    data = json.loads(text)
    document = JsonLikeDictParser().parse(data)  # type: ignore[no-untyped-call]
    assert validate_full_spdx_document(document) == []
    assert data["spdxVersion"] == "SPDX-2.3"
    packages = {p["name"]: p for p in data["packages"]}
    assert packages["R500"]["versionInfo"] == "2.1.0"
    assert packages["R500"]["primaryPackagePurpose"] == "FIRMWARE"
    refs = {
        (r["referenceType"], r["referenceLocator"]) for r in packages["openssl"]["externalRefs"]
    }
    assert refs == {
        ("purl", "pkg:generic/openssl@1.0.1e"),
        ("cpe23Type", "cpe:2.3:a:openssl:openssl:1.0.1e:*:*:*:*:*:*:*"),
    }
    assert "/usr/lib/libssl.so.1.0.0" in packages["openssl"]["comment"]
    files = {f["SPDXID"]: f["fileName"] for f in data["files"]}
    assert set(files.values()) == {
        "./bin/busybox",
        "./usr/lib/libcrypto.so.1.0.0",
        "./usr/lib/libssl.so.1.0.0",
        "./usr/sbin/lighttpd",
        "./var/lib/dpkg/status",
    }
    ids = {p["name"]: p["SPDXID"] for p in data["packages"]}
    evidence_of_openssl = {
        files[r["spdxElementId"]]
        for r in data["relationships"]
        if r["relatedSpdxElement"] == ids["openssl"] and r["relationshipType"] == "OTHER"
    }
    assert evidence_of_openssl == {"./usr/lib/libcrypto.so.1.0.0", "./usr/lib/libssl.so.1.0.0"}
    contains = {
        r["relatedSpdxElement"]
        for r in data["relationships"]
        if r["spdxElementId"] == ids["R500"] and r["relationshipType"] == "CONTAINS"
    }
    assert {ids["openssl"], ids["busybox"], *files} <= contains


def test_an_identifier_spdx_rejects_stays_in_the_comment_and_the_document_validates() -> None:
    odd = IdentifiedComponent(
        "vendor-daemon",
        "1.0",
        Confidence.LOW,
        (Evidence("/usr/sbin/vd", "seen"),),
        cpe="cpe:/a:vendor:daemon:1.0",  # CPE 2.2 URI form, not a cpe23Type
    )

    data = json.loads(to_spdx(sample_analysis(components=(odd,), evidence_files=())))

    package = next(p for p in data["packages"] if p["name"] == "vendor-daemon")
    assert "externalRefs" not in package
    assert "cpe:/a:vendor:daemon:1.0" in package["comment"]


def test_an_image_without_a_build_is_named_after_the_file() -> None:
    data = json.loads(to_spdx(sample_analysis(build=None, stored=False)))

    described = [r for r in data["relationships"] if r["relationshipType"] == "DESCRIBES"]
    firmware = next(
        p for p in data["packages"] if p["SPDXID"] == described[0]["relatedSpdxElement"]
    )
    assert firmware["name"] == "r500-2.1.0.bin"


def test_an_unknown_format_is_an_error() -> None:
    with pytest.raises(SbomError, match="unknown SBOM format 'swid'"):
        render(sample_analysis(), "swid")


# --- read back by the inventory ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["cyclonedx", "spdx"])
def test_the_inventory_importer_reads_the_sbom_back(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"sbom.{fmt}.json"
    path.write_text(render(sample_analysis(), fmt), encoding="utf-8")
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    with store.engine.begin() as conn:
        FleetRepository(store).upsert_products(conn, [Product(BUILD.product)])

    # The SBOM names the build itself (supplier, name and version of the firmware).
    report = import_inventory(store, [path], build=None)

    assert report.ok, report.problems
    assert report.components == 4
    from sqlalchemy import select

    from iotwarden.store import schema as t

    with store.engine.connect() as conn:
        rows = {
            (r.name, r.version, r.purl)
            for r in conn.execute(
                select(t.components.c.name, t.components.c.version, t.components.c.purl)
            )
        }
    assert ("openssl", "1.0.1e", "pkg:generic/openssl@1.0.1e") in rows
    assert ("lighttpd", None, "pkg:generic/lighttpd") in rows
    store.close()
