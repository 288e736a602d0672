"""The signature catalogue: complete, valid, and every signature reads its own test strings."""

from __future__ import annotations

import re

import pytest

from iotwarden.core.identifiers import parse_cpe, parse_purl
from iotwarden.firmware.identify import (
    SIGNATURES_VERSION,
    load_signatures,
    looks_like_version,
    scan_content,
)
from tests.firmware import binaries

SIGNATURES = load_signatures()


def test_the_catalogue_covers_the_components_embedded_linux_carries() -> None:
    ids = {s.id for s in SIGNATURES}
    assert len(ids) >= 60
    required = {
        "busybox", "openssl", "wolfssl", "mbedtls", "dropbear", "openssh", "dnsmasq",
        "lighttpd", "uhttpd", "boa", "goahead", "thttpd", "mini_httpd", "nginx", "hostapd",
        "wpa_supplicant", "miniupnpd", "libupnp", "curl", "libcurl", "zlib", "sqlite", "uclibc",
        "uclibc-ng", "musl", "glibc", "linux_kernel", "u-boot", "iptables", "ppp", "samba",
        "vsftpd", "proftpd", "openvpn", "strongswan", "mosquitto", "avahi", "dbus",
    }  # fmt: skip
    assert required <= ids


@pytest.mark.parametrize("signature", SIGNATURES, ids=lambda s: s.id)
def test_every_signature_reads_its_real_world_strings(signature) -> None:  # type: ignore[no-untyped-def]
    assert signature.tests, f"{signature.id} has no test string"
    for case in signature.tests:
        found = [(h.signature, h.version) for h in scan_content(case.text)]
        assert found == [(signature.id, case.version)], case.text
    for text in signature.counterexamples:
        assert not [h for h in scan_content(text) if h.signature == signature.id], text


@pytest.mark.parametrize("signature", SIGNATURES, ids=lambda s: s.id)
def test_every_signature_has_a_compiled_test_binary(signature) -> None:  # type: ignore[no-untyped-def]
    assert any(b.component == signature.id for b in binaries.CATALOGUE)


@pytest.mark.parametrize("signature", SIGNATURES, ids=lambda s: s.id)
def test_identifiers_are_well_formed(signature) -> None:  # type: ignore[no-untyped-def]
    cpe = parse_cpe(signature.cpe("1.2.3"))
    assert cpe.version == "1.2.3" and cpe.part in ("a", "o")
    assert parse_cpe(signature.cpe(None)).version == "*"
    assert parse_purl(signature.purl("1.2.3")).version == "1.2.3"
    assert parse_purl(signature.purl(None)).version is None


def test_nvd_names_of_the_well_known_components() -> None:
    by_id = {s.id: s for s in SIGNATURES}
    expected = {
        "busybox": "busybox:busybox",
        "openssl": "openssl:openssl",
        "dropbear": "dropbear_ssh_project:dropbear_ssh",
        "dnsmasq": "thekelleys:dnsmasq",
        "lighttpd": "lighttpd:lighttpd",
        "curl": "haxx:curl",
        "libcurl": "haxx:libcurl",
        "linux_kernel": "linux:linux_kernel",
        "u-boot": "denx:u-boot",
        "openssh": "openbsd:openssh",
        "hostapd": "w1.fi:hostapd",
        "wpa_supplicant": "w1.fi:wpa_supplicant",
        "miniupnpd": "miniupnp_project:miniupnpd",
    }
    for sid, pair in expected.items():
        cpe = parse_cpe(by_id[sid].cpe("1"))
        assert f"{cpe.vendor}:{cpe.product}" == pair


@pytest.mark.parametrize(
    "text", ["1.0.1e", "0.9.8zh", "7.4p1", "2012.55", "0.94.14rc21", "4.1-ESV-R16", "29", "1.4.3.2"]
)
def test_release_versions_look_like_versions(text: str) -> None:
    assert looks_like_version(text)


@pytest.mark.parametrize(
    "text", ["0.0.0", "1.2.3.4.5", "abc", "2012-03-05", "1.2.3-SNAPSHOT", "1.2.3.x", "", "1" * 30]
)
def test_other_strings_do_not(text: str) -> None:
    assert not looks_like_version(text)


def test_the_catalogue_version_changes_with_the_data() -> None:
    assert re.fullmatch(r"[0-9.]+\+[0-9a-f]{12}\.r\d+", SIGNATURES_VERSION)
