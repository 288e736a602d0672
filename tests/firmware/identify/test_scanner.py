"""scan_content: one pass over a file's bytes, hits with versions, offsets and the text seen."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from iotwarden.firmware.identify import SignatureHit, scan_content
from tests.firmware import binaries


def _pairs(data: bytes) -> list[tuple[str, str | None]]:
    return [(h.signature, h.version) for h in scan_content(data)]


def test_a_hit_says_what_was_seen_and_where() -> None:
    data = b"\x00" * 100 + b"OpenSSL 1.0.1e 11 Feb 2013\x00" + b"\x01" * 50
    (hit,) = scan_content(data)
    assert hit == SignatureHit("openssl", "1.0.1e", "OpenSSL 1.0.1e 11 Feb 2013", 100)
    assert SignatureHit.from_dict(hit.to_dict()) == hit


def test_several_components_in_one_file_each_once() -> None:
    data = b"\x00".join(
        [
            b"SSH-2.0-dropbear_2019.78",
            b"dropbear_2019.78",  # the same release again: reported once
            b" deflate 1.2.11 Copyright 1995-2017 Jean-loup Gailly and Mark Adler ",
            b"libcurl/7.64.0",
        ]
    )
    assert _pairs(data) == [("dropbear", "2019.78"), ("zlib", "1.2.11"), ("libcurl", "7.64.0")]


def test_zlib_releases_of_two_three_and_four_parts(tmp_path: Path) -> None:
    binaries.tool_or_skip("gcc")
    # A vendor daemon with zlib 1.3 linked in statically: both copyright strings in .rodata.
    daemon = binaries.compile_program(
        [
            " deflate 1.3 Copyright 1995-2023 Jean-loup Gailly and Mark Adler ",
            " inflate 1.3 Copyright 1995-2023 Mark Adler ",
        ],
        tmp_path / "hubd",
    )
    assert _pairs(daemon.read_bytes()) == [("zlib", "1.3")]
    assert _pairs(b" inflate 1.2.8.1 Copyright 1995-2013 Mark Adler ") == [("zlib", "1.2.8.1")]
    # Not zlib's copyright line: no component.
    assert _pairs(b"deflate 1.3x Copyright\x00inflate 1 Copyright\x00deflate 13 Copyright") == []


def test_two_releases_in_one_file_are_both_reported() -> None:
    data = b"OpenSSL 1.0.2k-fips  26 Jan 2017\x00OpenSSL 1.1.1k  25 Mar 2021\x00"
    assert _pairs(data) == [("openssl", "1.0.2k"), ("openssl", "1.1.1k")]


def test_a_versionless_hit_gives_way_to_the_version_in_the_same_file() -> None:
    assert _pairs(b"Server: GoAhead-http\x00") == [("goahead", None)]
    assert _pairs(b"Server: GoAhead-http\x00GoAhead-Webs\x002.1.8\x00") == [("goahead", "2.1.8")]


def test_version_like_noise_is_not_a_version() -> None:
    assert _pairs(b"OpenSSL 1.0.1e 11 Feb 2013") == [("openssl", "1.0.1e")]
    assert _pairs(b"OpenSSL 0.0.0 1 Jan 2000") == []  # no release is 0.0.0
    assert _pairs(b"nginx/1.2.3.4.5.6") == [("nginx", "1.2.3")]
    assert _pairs(b"the OpenSSL toolkit, see OpenSSL 1.0 docs; BusyBox vX") == []


def test_compressed_and_media_files_are_skipped_unread() -> None:
    text = b"OpenSSL 1.0.1e 11 Feb 2013"
    assert _pairs(b"\x89PNG\r\n\x1a\n" + text) == []
    assert _pairs(gzip.compress(text)) == []
    assert _pairs(b"SQLite format 3\x00" + text) == []  # a database, not the library


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x7fELF", b"\x7fELF\x02\x01" + b"\xff" * 200])
def test_truncated_and_garbage_input_is_no_hit_not_a_crash(data: bytes) -> None:
    assert scan_content(data) == ()


def test_a_file_full_of_anchors_is_bounded() -> None:
    data = b"curl is used; " * 200_000 + b"curl 7.64.0 (x86_64-pc-linux-gnu) "
    # Past the bound the anchor's later hits are not read: the cost stays linear.
    assert _pairs(data) == []
    assert _pairs(b"curl 7.64.0 (x86_64-pc-linux-gnu) " + data) == [("curl", "7.64.0")]


@pytest.mark.parametrize("comp", ["gzip", "bzip2", "lzma"])
def test_the_banner_of_a_compressed_uimage_kernel_is_read(comp: str) -> None:
    banner = "Linux version 3.10.14 (root@builder) (gcc version 4.6.3 (Buildroot 2012.11)) #1"
    image = binaries.kernel_uimage(binaries.fake_kernel(banner), comp=comp)
    assert banner.encode() not in image
    hits = scan_content(image)
    assert [(h.signature, h.version) for h in hits] == [("linux_kernel", "3.10.14")]
    assert hits[0].offset >= 64  # inside the payload


def test_a_corrupt_uimage_payload_is_no_hit() -> None:
    image = bytearray(binaries.kernel_uimage(binaries.fake_kernel("Linux version 4.4.0 (x) #1")))
    image[80:200] = b"\x00" * 120
    assert scan_content(bytes(image)) == ()


def test_the_version_of_an_x86_bzimage_is_read_from_its_header() -> None:
    image = binaries.bzimage("5.10.0-20-amd64 (debian-kernel@lists.debian.org) #1 SMP Debian")
    assert _pairs(image) == [("linux_kernel", "5.10.0")]


def test_machine_code_is_not_scanned_but_data_sections_are(tmp_path: Path) -> None:
    from elftools.elf.elffile import ELFFile

    binaries.tool_or_skip("gcc")
    program = binaries.compile_program(["OpenSSL 1.0.1e 11 Feb 2013"], tmp_path / "p")
    data = bytearray(program.read_bytes())
    assert _pairs(bytes(data)) == [("openssl", "1.0.1e")]
    with program.open("rb") as fh:
        text = ELFFile(fh).get_section_by_name(".text")
        start = text["sh_offset"]
    # The same string where only machine code can be: not looked at.
    data[start : start + 32] = b"dnsmasq-2.78\x00".ljust(32, b"\x00")
    assert _pairs(bytes(data)) == [("openssl", "1.0.1e")]
    # An ELF file without section headers (sstrip) is scanned whole.
    data[0x28:0x30] = b"\x00" * 8  # e_shoff = 0
    assert _pairs(bytes(data)) == [("dnsmasq", "2.78"), ("openssl", "1.0.1e")]


def test_a_kernel_module_vermagic_is_read(tmp_path: Path) -> None:
    binaries.tool_or_skip("gcc")
    module = binaries.kernel_module("4.14.180 SMP mod_unload MIPS32_R2 32BIT ", tmp_path / "m.ko")
    assert _pairs(module.read_bytes()) == [("linux_kernel", "4.14.180")]


def test_scanning_is_pure() -> None:
    data = b"\x00BusyBox v1.19.4 (2012-03-05) multi-call binary.\x00dnsmasq-2.78\x00"
    assert scan_content(data) == scan_content(bytes(bytearray(data)))


def test_a_banner_quoted_in_a_text_file_is_weak_evidence() -> None:
    (quoted,) = scan_content(b"Built and tested with OpenSSL 1.0.2k-fips  26 Jan 2017.\n")
    assert (quoted.signature, quoted.version, quoted.weak) == ("openssl", "1.0.2k", True)
    # ... unless text is where the signature lives (a release file, a script library).
    (release,) = scan_content(b"DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='21.02.3'\n")
    assert (release.signature, release.version, release.weak) == ("openwrt", "21.02.3", False)


def test_a_program_linking_the_library_says_so_in_its_hit(tmp_path: Path) -> None:
    binaries.tool_or_skip("gcc")
    crypto = binaries.compile_library(["OpenSSL 3.0.20 7 Apr 2026"], tmp_path / "libcrypto.so.3")
    ssl = binaries.compile_library(["TLSv1.3"], tmp_path / "libssl.so.3")
    nl = binaries.compile_library(["nl"], tmp_path / "libnl-3.so.200")
    # hostapd keeps OPENSSL_VERSION_TEXT of the headers it was built against, to log it.
    banner = "OpenSSL 3.0.16 11 Feb 2025"
    hostapd = binaries.compile_program_linking(
        [banner, "OpenSSL build=%s run=%s"], tmp_path / "hostapd", [nl, ssl, crypto]
    )
    (hit,) = scan_content(hostapd.read_bytes())
    assert (hit.signature, hit.version) == ("openssl", "3.0.16")
    assert hit.linked == ("libssl.so.3", "libcrypto.so.3")  # not libnl: not OpenSSL's
    assert SignatureHit.from_dict(hit.to_dict()) == hit
    # The same string in a program that does not link OpenSSL: a copy built in.
    (static,) = scan_content(binaries.compile_program([banner], tmp_path / "agent").read_bytes())
    assert static.linked == ()
    # A hit cached before 'linked' existed reads as not linked.
    old = {k: v for k, v in hit.to_dict().items() if k != "linked"}
    assert SignatureHit.from_dict(old).linked == ()


def test_a_version_kept_in_an_exported_symbol(tmp_path: Path) -> None:
    binaries.tool_or_skip("gcc")
    library = binaries.compile_library_exporting(
        {"sqlite3_version": "3.40.1"},
        tmp_path / "libsqlite3.so.0.8.6",
        strings=["SQLite format 3", "2022-12-28 14:03:47 df5c253c0b3dd24916e4ec7cf77d3db5"],
    )
    data = library.read_bytes()
    (hit,) = scan_content(data)  # the version-less database header gives way to the version
    assert (hit.signature, hit.version, hit.weak) == ("sqlite", "3.40.1", False)
    assert data[hit.offset : hit.offset + 6] == b"3.40.1"
    assert hit.matched == "sqlite3_version = 3.40.1."
    # Not a version: the symbol's value must read as one.
    other = binaries.compile_library_exporting(
        {"sqlite3_version": "unknown"}, tmp_path / "libsqlite3.so.1"
    )
    assert _pairs(other.read_bytes()) == []


def test_the_hostapd_version_kept_apart_from_its_banner() -> None:
    # hostapd 2.10 prints "hostapd v%s" and keeps VERSION_STR among main.c's other strings.
    banner = b"hostapd v%s\nUser space daemon for IEEE 802.11 AP management,\n\x00"
    filler = b"".join(b"message number %d of main.c\x00" % i for i in range(40))
    data = b"\x00" + banner + filler + b"\x002.10\x00IEEE 802.1X\x00"
    (hit,) = scan_content(data + b"\x00" * 64)
    assert (hit.signature, hit.version, hit.weak) == ("hostapd", "2.10", True)
    # The evidence shows the banner and the version read, not 1.2 KB of what lies between.
    assert hit.matched.startswith("hostapd v%s.User space daemon") and hit.matched.endswith(
        " ... 2.10"
    )
    # Too far from the banner to be main.c's: not read.
    far = b"\x00" + banner + filler * 3 + b"\x002.10\x00"
    assert _pairs(far) == []
