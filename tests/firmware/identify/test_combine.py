"""identify_components: evidence joined across files, package databases and file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotwarden.firmware.identify import SignatureHit, identify_components, scan_content
from iotwarden.firmware.identify.combine import release_of
from iotwarden.firmware.model import Confidence, IdentifiedComponent
from tests.firmware import binaries

OPENSSL = "OpenSSL 1.0.1e 11 Feb 2013"


def _hit(sid: str, version: str | None, matched: str = "x", weak: bool = False) -> SignatureHit:
    return SignatureHit(sid, version, matched, 0, weak)


def _by_name(components: tuple[IdentifiedComponent, ...], name: str) -> list[IdentifiedComponent]:
    return [c for c in components if c.name == name]


def test_libssl_libcrypto_and_the_cli_are_one_openssl(tmp_path: Path) -> None:
    hits = {
        "/usr/lib/libssl.so.1.0.0": [_hit("openssl", "1.0.1e", f"SSLv3 part of {OPENSSL}")],
        "/usr/lib/libcrypto.so.1.0.0": [_hit("openssl", "1.0.1e", OPENSSL)],
        "/usr/bin/openssl": [_hit("openssl", "1.0.1e", OPENSSL)],
    }
    (component,) = identify_components(tmp_path, hits)
    assert component.name == "openssl" and component.version == "1.0.1e"
    assert component.confidence is Confidence.HIGH
    assert [e.path for e in component.evidence] == [
        "/usr/bin/openssl",
        "/usr/lib/libcrypto.so.1.0.0",
        "/usr/lib/libssl.so.1.0.0",
    ]
    assert component.purl == "pkg:generic/openssl@1.0.1e"
    assert component.cpe == "cpe:2.3:a:openssl:openssl:1.0.1e:*:*:*:*:*:*:*"
    assert component.supplier == "OpenSSL Project"
    assert component.source == "signature"


def test_conflicting_versions_are_separate_components(tmp_path: Path) -> None:
    hits = {
        "/usr/lib/libcrypto.so.1.0.0": [_hit("openssl", "1.0.1e")],
        "/opt/vendor/bin/agent": [_hit("openssl", "1.0.2u")],
    }
    found = identify_components(tmp_path, hits)
    assert [(c.version, [e.path for e in c.evidence], c.confidence) for c in found] == [
        ("1.0.1e", ["/usr/lib/libcrypto.so.1.0.0"], Confidence.HIGH),  # its own library
        ("1.0.2u", ["/opt/vendor/bin/agent"], Confidence.MEDIUM),  # linked into another program
    ]


def test_a_versionless_hit_is_reported_as_such_with_low_confidence(tmp_path: Path) -> None:
    (component,) = identify_components(tmp_path, {"/usr/sbin/uhttpd": [_hit("uhttpd", None)]})
    assert (component.name, component.version) == ("uhttpd", None)
    assert component.confidence is Confidence.LOW
    assert component.purl == "pkg:generic/uhttpd"
    assert component.cpe == "cpe:2.3:a:openwrt:uhttpd:*:*:*:*:*:*:*:*"


def test_versionless_evidence_joins_the_only_version(tmp_path: Path) -> None:
    hits = {
        "/usr/lib/libsqlite3.so.0": [_hit("sqlite", None, weak=True)],
        "/usr/bin/sqlite3": [_hit("sqlite", "3.7.17")],
    }
    (component,) = identify_components(tmp_path, hits)
    assert component.version == "3.7.17"
    assert {e.path for e in component.evidence} == set(hits)


def test_versionless_evidence_stays_apart_when_versions_conflict(tmp_path: Path) -> None:
    hits = {
        "/a/libsqlite3.so.0": [_hit("sqlite", None, weak=True)],
        "/b/sqlite3": [_hit("sqlite", "3.7.17")],
        "/c/sqlite3": [_hit("sqlite", "3.40.1")],
    }
    found = identify_components(tmp_path, hits)
    assert [(c.version, c.confidence) for c in found] == [
        (None, Confidence.LOW),
        ("3.40.1", Confidence.HIGH),
        ("3.7.17", Confidence.HIGH),
    ]


def test_confidence_rule(tmp_path: Path) -> None:
    def confidence(hits: dict[str, list[SignatureHit]]) -> Confidence:
        (component,) = identify_components(tmp_path, hits)
        return component.confidence

    strong = _hit("zlib", "1.2.11")
    weak = _hit("zlib", "1.2.11", weak=True)
    assert confidence({"/usr/bin/thing": [strong]}) is Confidence.MEDIUM  # one file, not its own
    assert confidence({"/usr/bin/a": [strong], "/usr/bin/b": [strong]}) is Confidence.HIGH
    assert confidence({"/lib/libz.so.1": [strong]}) is Confidence.HIGH  # its own library
    assert confidence({"/usr/bin/thing": [weak]}) is Confidence.LOW  # a single weak string
    assert confidence({"/lib/libz.so.1": [weak]}) is Confidence.MEDIUM


def test_package_databases_give_high_confidence_and_merge_with_signatures(tmp_path: Path) -> None:
    binaries.write_opkg(
        tmp_path,
        [
            {"Package": "libopenssl1.0.0", "Version": "1.0.1e-2"},
            {"Package": "libustream-openssl20150806", "Version": "2020-03-13-40b563b1-1"},
            {"Package": "dropbear", "Version": "2019.78-2"},
            {"Package": "luci-base", "Version": "git-20.074.84698-ead5e81-1"},
        ],
    )
    hits = {
        "/usr/lib/libcrypto.so.1.0.0": [_hit("openssl", "1.0.1e")],
        "/usr/sbin/dropbear": [_hit("dropbear", "2020.80")],  # not what opkg says
    }
    found = identify_components(tmp_path, hits)
    openssl = _by_name(found, "openssl")
    assert [(c.version, c.confidence, c.source) for c in openssl] == [
        ("1.0.1e", Confidence.HIGH, "opkg")
    ]
    paths = [e.path for e in openssl[0].evidence]
    assert paths[0] == "/usr/lib/opkg/status"  # the database first
    assert "/usr/lib/libcrypto.so.1.0.0" in paths
    # ustream-ssl is built on OpenSSL: evidence for OpenSSL, its own version is not OpenSSL's.
    assert any("libustream-openssl" in e.detail for e in openssl[0].evidence)
    assert openssl[0].purl == "pkg:generic/openssl@1.0.1e"

    dropbear = _by_name(found, "dropbear")
    assert [(c.version, c.source) for c in dropbear] == [
        ("2019.78", "opkg"),
        ("2020.80", "signature"),
    ]

    (luci,) = _by_name(found, "luci-base")
    assert luci.version == "git-20.074.84698-ead5e81-1"
    assert luci.purl == "pkg:opkg/luci-base@git-20.074.84698-ead5e81-1?arch=mips_24kc"
    assert luci.cpe is None and luci.confidence is Confidence.HIGH and luci.source == "opkg"


def test_a_snapshot_package_and_its_programs_are_one_release(tmp_path: Path) -> None:
    # OpenWrt builds ppp from a git snapshot after 2.4.8; pppd says 2.4.8.
    binaries.write_opkg(tmp_path, [{"Package": "ppp", "Version": "2.4.8.git-2020-10-03-3"}])
    hits = {"/usr/sbin/pppd": [_hit("ppp", "2.4.8", "2.4.8")]}
    (ppp,) = identify_components(tmp_path, hits)
    assert (ppp.version, ppp.confidence, ppp.source) == ("2.4.8", Confidence.HIGH, "opkg")
    assert [e.path for e in ppp.evidence] == ["/usr/lib/opkg/status", "/usr/sbin/pppd"]
    assert "ppp 2.4.8.git-2020-10-03-3" in ppp.evidence[0].detail
    assert ppp.purl == "pkg:generic/ppp@2.4.8"
    assert ppp.cpe is not None and ":2.4.8:" in ppp.cpe


def test_a_debian_snapshot_package_keeps_its_debian_identity(tmp_path: Path) -> None:
    binaries.write_dpkg(tmp_path, [{"Package": "busybox", "Version": "1:1.36.1+git20230101-1"}])
    hits = {"/bin/busybox": [_hit("busybox", "1.36.1")]}
    (busybox,) = identify_components(tmp_path, hits)
    assert (busybox.version, busybox.confidence) == ("1.36.1", Confidence.HIGH)
    assert busybox.purl == "pkg:deb/debian/busybox@1:1.36.1%2Bgit20230101-1?arch=amd64"
    assert len(busybox.evidence) == 2


def test_a_snapshot_package_of_another_release_stays_apart(tmp_path: Path) -> None:
    binaries.write_opkg(
        tmp_path,
        [
            {"Package": "ppp", "Version": "2.4.8.git-2020-10-03-3"},
            {"Package": "busybox", "Version": "1.36.1.1-1"},  # a later point release
        ],
    )
    hits = {
        "/usr/sbin/pppd": [_hit("ppp", "2.4.9")],
        "/bin/busybox": [_hit("busybox", "1.36.1")],
    }
    found = identify_components(tmp_path, hits)
    assert [(c.name, c.version, c.source) for c in found] == [
        ("busybox", "1.36.1", "signature"),
        ("busybox", "1.36.1.1", "opkg"),
        ("ppp", "2.4.8.git-2020-10-03", "opkg"),
        ("ppp", "2.4.9", "signature"),
    ]


@pytest.mark.parametrize(
    ("version", "release"),
    [
        ("2.4.8.git-2020-10-03", "2.4.8"),
        ("1.36.1+git20230101", "1.36.1"),
        ("2.4.9~rc1", "2.4.9"),
        ("1.2.3_git20200101", "1.2.3"),
        ("1.0.1e", "1.0.1e"),
        ("2020-03-13-40b563b1", "2020-03-13-40b563b1"),  # a date, not release 2020
        ("git-20.074.84698-ead5e81", "git-20.074.84698-ead5e81"),
    ],
)
def test_release_of_a_package_version(version: str, release: str) -> None:
    assert release_of(version) == release


def test_dpkg_packages_keep_their_debian_identity(tmp_path: Path) -> None:
    binaries.write_dpkg(
        tmp_path,
        [
            {"Package": "libssl3", "Version": "3.0.11-1~deb12u2", "Source": "openssl"},
            {"Package": "openssl", "Version": "3.0.11-1~deb12u2"},
            {"Package": "libc6", "Version": "2.36-9+deb12u4"},
            {"Package": "tzdata", "Version": "2024a-0+deb12u1", "Architecture": "all"},
        ],
    )
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text('PRETTY_NAME="Debian GNU/Linux 12"\nID=debian\n')
    found = identify_components(tmp_path, {})
    summary = {(c.name, c.version, c.purl, c.cpe) for c in found}
    assert summary == {
        (
            "openssl",
            "3.0.11",
            "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64",
            "cpe:2.3:a:openssl:openssl:3.0.11:*:*:*:*:*:*:*",
        ),
        (
            "glibc",
            "2.36",
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64",
            "cpe:2.3:a:gnu:glibc:2.36:*:*:*:*:*:*:*",
        ),
        ("tzdata", "2024a-0+deb12u1", "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all", None),
    }
    (openssl,) = _by_name(found, "openssl")
    assert len(openssl.evidence) == 2  # libssl3 and openssl


def test_kernel_banner_and_modules_are_one_kernel(tmp_path: Path) -> None:
    hits = {"/boot/vmlinux": [_hit("linux_kernel", "4.14.180")]}
    hits |= {
        f"/lib/modules/4.14.180/m{i}.ko": [_hit("linux_kernel", "4.14.180")] for i in range(40)
    }
    (kernel,) = identify_components(tmp_path, hits)
    assert (kernel.name, kernel.version, kernel.source) == ("linux_kernel", "4.14.180", "kernel")
    assert kernel.cpe == "cpe:2.3:o:linux:linux_kernel:4.14.180:*:*:*:*:*:*:*"
    assert kernel.confidence is Confidence.HIGH
    # Bounded evidence: the rest is summed up.
    assert len(kernel.evidence) == 25
    assert kernel.evidence[-1].detail == "and 17 more pieces of evidence in 17 files"


def test_version_bearing_file_names(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib/libuClibc-0.9.33.2.so").write_bytes(b"\x7fELF")
    (tmp_path / "lib/libc.so.0").symlink_to("libuClibc-0.9.33.2.so")
    (tmp_path / "usr/lib").mkdir(parents=True)
    (tmp_path / "usr/lib/libmosquitto.so.1.6.12").write_bytes(b"\x7fELF")
    found = identify_components(tmp_path, {})
    assert [(c.name, c.version, c.confidence, [e.path for e in c.evidence]) for c in found] == [
        ("mosquitto", "1.6.12", Confidence.MEDIUM, ["/usr/lib/libmosquitto.so.1.6.12"]),
        ("uclibc", "0.9.33.2", Confidence.MEDIUM, ["/lib/libuClibc-0.9.33.2.so"]),
    ]


def test_hits_of_unknown_signatures_are_ignored(tmp_path: Path) -> None:
    assert identify_components(tmp_path, {"/x": [_hit("retired-signature", "1.0")]}) == ()


def test_results_round_trip(tmp_path: Path) -> None:
    hits = {"/bin/busybox": scan_content(b"BusyBox v1.19.4 (2012-03-05) multi-call binary.")}
    (component,) = identify_components(tmp_path, hits)
    assert IdentifiedComponent.from_dict(component.to_dict()) == component
    assert component.evidence[0].offset == 0


def test_openwrt_kernel_package_and_module_vermagic_agree(tmp_path: Path) -> None:
    binaries.write_opkg(
        tmp_path, [{"Package": "kernel", "Version": "4.14.180-1-5f4a14a3e9a4af6e3ee5a0fa1c2bad2d"}]
    )
    hits = {"/lib/modules/4.14.180/nf_nat.ko": [_hit("linux_kernel", "4.14.180")]}
    (kernel,) = identify_components(tmp_path, hits)
    assert (kernel.name, kernel.version, kernel.source) == ("linux_kernel", "4.14.180", "opkg")
    assert kernel.confidence is Confidence.HIGH and len(kernel.evidence) == 2


def test_an_empty_or_missing_root_has_no_components(tmp_path: Path) -> None:
    assert identify_components(tmp_path, {}) == ()
    assert identify_components(tmp_path / "missing", {}) == ()


# A library's banner in a program that links it (the header version it was built against).
HEADER = "OpenSSL 3.0.16 11 Feb 2025"
LINKS_OPENSSL = ("libssl.so.3", "libcrypto.so.3")


def _linked(version: str, matched: str = HEADER) -> SignatureHit:
    return SignatureHit("openssl", version, matched, 0x1A3036, linked=LINKS_OPENSSL)


def test_the_header_version_in_a_linking_program_joins_the_library(tmp_path: Path) -> None:
    hits = {
        "/usr/lib/x86_64-linux-gnu/libcrypto.so.3": [_hit("openssl", "3.0.20")],
        "/usr/sbin/hostapd": [_linked("3.0.16")],
    }
    (openssl,) = identify_components(tmp_path, hits)
    assert (openssl.version, openssl.confidence) == ("3.0.20", Confidence.HIGH)
    assert [e.path for e in openssl.evidence] == [
        "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
        "/usr/sbin/hostapd",
    ]
    detail = openssl.evidence[1].detail
    assert "3.0.16" in detail and "built against" in detail and "libcrypto.so.3" in detail


def test_the_header_version_does_not_raise_confidence(tmp_path: Path) -> None:
    # A weak library string alone is LOW; a linking program's header version adds nothing.
    weak_library = [_hit("openssl", "3.0.20", weak=True)]
    alone = identify_components(tmp_path, {"/usr/bin/tool": weak_library})
    joined = identify_components(
        tmp_path, {"/usr/bin/tool": weak_library, "/usr/sbin/hostapd": [_linked("3.0.16")]}
    )
    assert [(c.version, c.confidence) for c in alone] == [("3.0.20", Confidence.LOW)]
    assert [(c.version, c.confidence) for c in joined] == [("3.0.20", Confidence.LOW)]


def test_the_linked_library_file_decides_between_two_releases(tmp_path: Path) -> None:
    hits = {
        "/usr/lib/libcrypto.so.1.1": [_hit("openssl", "1.1.1w")],
        "/usr/lib/libcrypto.so.3": [_hit("openssl", "3.0.20")],
        "/usr/sbin/hostapd": [_linked("3.0.16")],
    }
    found = {c.version: c for c in identify_components(tmp_path, hits)}
    assert set(found) == {"1.1.1w", "3.0.20"}
    assert "/usr/sbin/hostapd" in [e.path for e in found["3.0.20"].evidence]
    assert "/usr/sbin/hostapd" not in [e.path for e in found["1.1.1w"].evidence]


def test_the_installed_package_is_the_library_when_its_files_say_nothing(tmp_path: Path) -> None:
    binaries.write_dpkg(tmp_path, [{"Package": "libssl3", "Version": "3.0.20-1~deb12u2"}])
    found = identify_components(tmp_path, {"/usr/sbin/hostapd": [_linked("3.0.16")]})
    openssl = _by_name(found, "openssl")
    assert [c.version for c in openssl] == ["3.0.20"]
    assert "/usr/sbin/hostapd" in [e.path for e in openssl[0].evidence]


def test_without_the_library_the_header_version_stands_alone_weakly(tmp_path: Path) -> None:
    (openssl,) = identify_components(tmp_path, {"/usr/sbin/hostapd": [_linked("3.0.16")]})
    assert (openssl.version, openssl.confidence) == ("3.0.16", Confidence.LOW)


def test_a_copy_built_into_a_program_keeps_its_own_version(tmp_path: Path) -> None:
    # No DT_NEEDED on OpenSSL: the program carries OpenSSL itself (statically linked).
    hits = {
        "/usr/lib/libcrypto.so.3": [_hit("openssl", "3.0.20")],
        "/opt/vendor/bin/agent": [_hit("openssl", "1.0.2u", "OpenSSL 1.0.2u  20 Dec 2019")],
    }
    found = identify_components(tmp_path, hits)
    assert sorted(c.version or "" for c in found) == ["1.0.2u", "3.0.20"]


def test_the_library_itself_linking_its_sibling_is_its_own_evidence(tmp_path: Path) -> None:
    # libssl.so.3 links libcrypto.so.3: both are OpenSSL's own files, nothing is weakened.
    hits = {"/usr/lib/libssl.so.3": [_linked("3.0.20", "OpenSSL 3.0.20 7 Apr 2026")]}
    (openssl,) = identify_components(tmp_path, hits)
    assert (openssl.version, openssl.confidence) == ("3.0.20", Confidence.HIGH)


def test_a_real_linking_program_and_library_are_one_openssl(tmp_path: Path) -> None:
    binaries.tool_or_skip("gcc")
    lib = tmp_path / "usr/lib"
    crypto = binaries.compile_library(["OpenSSL 3.0.20 7 Apr 2026"], lib / "libcrypto.so.3")
    ssl = binaries.compile_library(["TLSv1.3"], lib / "libssl.so.3")
    binaries.compile_program_linking(
        [HEADER, "OpenSSL build=%s run=%s"], tmp_path / "usr/sbin/hostapd", [ssl, crypto]
    )
    hits = {}
    for path in tmp_path.rglob("*"):
        if path.is_file() and (found := scan_content(path.read_bytes())):
            hits["/" + path.relative_to(tmp_path).as_posix()] = found
    (openssl,) = identify_components(tmp_path, hits)
    assert openssl.version == "3.0.20"
    assert [e.path for e in openssl.evidence] == ["/usr/lib/libcrypto.so.3", "/usr/sbin/hostapd"]
