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
        if case.symbol is not None:
            continue  # a symbol's value: read from a compiled library below
        found = [(h.signature, h.version) for h in scan_content(case.text)]
        assert found == [(signature.id, case.version)], case.text
    for text in signature.counterexamples:
        assert not [h for h in scan_content(text) if h.signature == signature.id], text


def _reads(pattern, text: bytes) -> bool:  # type: ignore[no-untyped-def]
    """Whether ``pattern`` alone reads ``text`` (as the scanner applies it at each anchor)."""
    start = text.find(pattern.anchor)
    while start >= 0:
        stop = start + len(pattern.anchor) + pattern.after
        if pattern.before:
            match = pattern.regex.search(text, max(0, start - pattern.before), stop)
        else:
            match = pattern.regex.match(text, start, stop)
        if match is not None:
            return True
        start = text.find(pattern.anchor, start + 1)
    return False


@pytest.mark.parametrize("signature", SIGNATURES, ids=lambda s: s.id)
def test_every_pattern_has_a_test_that_it_reads(signature) -> None:  # type: ignore[no-untyped-def]
    """No dead pattern: each one reads at least one of its signature's test strings."""
    for pattern in signature.patterns:
        if pattern.symbol:
            assert any(t.symbol == pattern.anchor.decode() for t in signature.tests)
            continue
        tests = [t.text for t in signature.tests if t.symbol is None]
        assert any(_reads(pattern, text) for text in tests), pattern.anchor


SYMBOL_TESTS = [(s, t) for s in SIGNATURES for t in s.tests if t.symbol is not None]


@pytest.mark.parametrize(("signature", "case"), SYMBOL_TESTS, ids=lambda v: getattr(v, "id", ""))
def test_a_version_kept_in_an_exported_symbol_is_read_from_the_library(  # type: ignore[no-untyped-def]
    signature, case, tmp_path
) -> None:
    binaries.tool_or_skip("gcc")
    library = binaries.compile_library_exporting(
        {case.symbol: case.text}, tmp_path / "libcomponent.so.0"
    )
    found = [(h.signature, h.version) for h in scan_content(library.read_bytes())]
    assert (signature.id, case.version) in found
    # A program that only uses the symbol names it too, but does not define it: no version.
    program = binaries.compile_program_importing([case.symbol], tmp_path / "client", [library])
    assert case.symbol.encode() in program.read_bytes()
    assert not [h for h in scan_content(program.read_bytes()) if h.version is not None]


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
