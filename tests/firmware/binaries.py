"""Generators of test binaries for component identification and binary-hardening checks.

Nothing here is a committed blob:

* ``compile_program`` / ``compile_library`` build small C programs with gcc that embed the
  exact version strings of historical releases the way the real binaries keep them (a string
  literal in .rodata; strings that sit next to each other in the real binary are written as one
  literal with NUL separators). Extra gcc flags are passed through, so hardening tests can ask
  for ``-fno-stack-protector``, ``-z execstack``, ``-no-pie``, ``-Wl,-z,norelro`` or ``-static``.
* ``CATALOGUE`` lists one or more such binaries per component signature (where it sits in an
  image, what it embeds, which component and version it must be identified as), and decoys
  that must be identified as nothing.
* ``debian_package`` downloads a real Debian package (``apt-get download``) into a cache and
  ``extract_deb`` unpacks it, for tests against real release binaries.
* ``kernel_uimage``, ``bzimage``, ``kernel_module`` build kernel artefacts that keep their
  version the way real ones do.
"""

# The catalogue below is a table of real-world strings, one binary per line.
# ruff: noqa: E501

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import random
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------------------------
# Tools


def tool_or_skip(name: str) -> str:
    """The path of ``name``; skips the calling test (fails under ``CI=true``) when missing."""
    import pytest

    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin")
    if found:
        return found
    reason = f"{name} is not installed (./dev test installs the firmware tools)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------------
# C programs


def c_literal(text: str | bytes) -> str:
    """``text`` as a C string literal (every byte outside printable ASCII as a 3-digit octal
    escape, so a NUL followed by a digit stays a NUL)."""
    raw = text.encode("latin-1") if isinstance(text, str) else text
    out = []
    for byte in raw:
        char = chr(byte)
        if char in '"\\?' or not 32 <= byte < 127:
            out.append(f"\\{byte:03o}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def c_source(strings: Sequence[str | bytes], *, library: bool = False) -> str:
    """A C file that keeps every string of ``strings`` in .rodata and uses them."""
    lines = ["#include <stdio.h>", "#include <string.h>", ""]
    for index, text in enumerate(strings):
        lines.append(f"__attribute__((used)) static const char iw_s{index}[] = {c_literal(text)};")
    table = ", ".join(f"iw_s{i}" for i in range(len(strings))) or "0"
    lines += [
        "",
        f"static const char *const iw_strings[] = {{{table}}};",
        "",
        "/* A stack buffer and a copy into it: what stack protection and FORTIFY instrument. */",
        "int iw_show(const char *who, unsigned index) {",
        "    char line[128];",
        f"    if (index >= {max(len(strings), 1)}u || !iw_strings[0]) return -1;",
        '    snprintf(line, sizeof line, "%s: %s", who, iw_strings[index]);',
        "    return puts(line) < 0 ? -1 : (int)strlen(line);",
        "}",
    ]
    if not library:
        lines += [
            "",
            "int main(int argc, char **argv) {",
            "    return argc > 1 ? iw_show(argv[0], (unsigned)argc - 2u) : 0;",
            "}",
        ]
    return "\n".join(lines) + "\n"


def _gcc() -> str:
    return tool_or_skip("gcc")


def compile_program(
    strings: Sequence[str | bytes],
    out: Path,
    *,
    flags: Sequence[str] = (),
    static: bool = False,
) -> Path:
    """A dynamically linked (or ``static``) executable embedding ``strings``."""
    return _compile(c_source(strings), out, ["-O2", *flags, *(["-static"] if static else [])])


def compile_library(
    strings: Sequence[str | bytes], out: Path, *, flags: Sequence[str] = ()
) -> Path:
    """A shared library (.so) embedding ``strings``."""
    source = c_source(strings, library=True)
    soname = out.name
    return _compile(source, out, ["-O2", "-shared", "-fPIC", f"-Wl,-soname,{soname}", *flags])


def compile_library_exporting(
    symbols: Mapping[str, str | bytes],
    out: Path,
    *,
    strings: Sequence[str | bytes] = (),
    flags: Sequence[str] = (),
) -> Path:
    """A shared library that defines and exports each of ``symbols`` as a data object
    (``const char sqlite3_version[] = "3.40.1";``), besides embedding ``strings``."""
    lines = [c_source(strings, library=True)]
    for name, value in symbols.items():
        lines.append(
            f'__attribute__((visibility("default"))) const char {name}[] = {c_literal(value)};'
        )
    soname = out.name
    return _compile(
        "\n".join(lines) + "\n", out, ["-O2", "-shared", "-fPIC", f"-Wl,-soname,{soname}", *flags]
    )


def compile_program_linking(
    strings: Sequence[str | bytes], out: Path, libraries: Sequence[Path]
) -> Path:
    """An executable embedding ``strings`` that links each of ``libraries`` dynamically (a
    DT_NEEDED entry naming each one's soname, even though it calls none of them)."""
    return _compile(c_source(strings), out, ["-O2", "-Wl,--no-as-needed"], libraries)


def compile_program_importing(symbols: Sequence[str], out: Path, libraries: Sequence[Path]) -> Path:
    """An executable that uses each data object of ``symbols`` from ``libraries`` (it names
    them in its dynamic symbol table, undefined)."""
    lines = ["#include <stdio.h>", *(f"extern const char {name}[];" for name in symbols)]
    uses = " + ".join(f"(puts({name}) < 0)" for name in symbols) or "0"
    lines.append(f"int main(void) {{ return {uses}; }}")
    return _compile("\n".join(lines) + "\n", out, ["-O2"], libraries)


def compile_object(strings: Sequence[str | bytes], out: Path, *, section: str = ".modinfo") -> Path:
    """A relocatable object whose strings sit in ``section`` (how a kernel module keeps its
    ``vermagic=`` in .modinfo)."""
    lines = [
        f'__attribute__((used, section("{section}"))) static const char iw_m{i}[] = '
        f"{c_literal(text)};"
        for i, text in enumerate(strings)
    ]
    lines.append("int init_module(void) { return 0; }")
    return _compile("\n".join(lines) + "\n", out, ["-O2", "-c"])


def _compile(source: str, out: Path, args: Sequence[str], libraries: Sequence[Path] = ()) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    src = out.parent / f".{out.name}.{hashlib.sha256(source.encode()).hexdigest()[:8]}.c"
    src.write_text(source)
    try:
        subprocess.run(
            [_gcc(), *args, "-o", str(out), str(src), *(str(p) for p in libraries)],
            check=True,
            capture_output=True,
            timeout=120,
        )
    except subprocess.CalledProcessError as e:
        raise RuntimeError(f"gcc failed for {out.name}: {e.stderr.decode(errors='replace')}") from e
    finally:
        src.unlink(missing_ok=True)
    return out


# --------------------------------------------------------------------------------------------
# Kernel artefacts

UIMAGE_COMPRESSION = {"none": 0, "gzip": 1, "bzip2": 2, "lzma": 3}


def kernel_uimage(kernel: bytes, *, comp: str = "gzip", name: str = "Linux Kernel Image") -> bytes:
    """A legacy U-Boot kernel image (64-byte big-endian header, both CRCs) around ``kernel``
    compressed with ``comp``."""
    if comp == "gzip":
        payload = gzip.compress(kernel, mtime=0)
    elif comp == "bzip2":
        payload = bz2.compress(kernel)
    elif comp == "lzma":
        payload = lzma.compress(kernel, format=lzma.FORMAT_ALONE)
    else:
        payload = kernel
    fields = [0x27051956, 0, 1_600_000_000, len(payload), 0x80000000, 0x80000000,
              zlib.crc32(payload), 5, 5, 2, UIMAGE_COMPRESSION[comp], name.encode()[:32]]  # fmt: skip
    layout = ">7I4B32s"
    fields[1] = zlib.crc32(struct.pack(layout, *fields))
    return struct.pack(layout, *fields) + payload


def fake_kernel(banner: str, *, size: int = 64 * 1024, seed: int = 1) -> bytes:
    """Kernel-like bytes (incompressible noise) with the ``linux_banner`` in the middle."""
    noise = random.Random(seed).randbytes(size)
    middle = size // 2
    return noise[:middle] + banner.encode() + b"\n\x00" + noise[middle:]


def bzimage(kernel_version: str, *, size: int = 16 * 1024) -> bytes:
    """An x86 bzImage head: the boot-protocol header ('HdrS' at 0x202) whose kernel_version
    field points at the version string, as ``file``(1) reads it."""
    image = bytearray(random.Random(2).randbytes(size))
    image[0x1FE:0x200] = b"\x55\xaa"
    image[0x202:0x206] = b"HdrS"
    where = 0x3C0
    struct.pack_into("<H", image, 0x20E, where - 0x200)
    text = kernel_version.encode() + b"\x00"
    image[where : where + len(text)] = text
    return bytes(image)


def kernel_module(vermagic: str, out: Path) -> Path:
    """A kernel module stand-in: a relocatable ELF whose .modinfo holds ``vermagic=...``."""
    return compile_object(["license=GPL", f"vermagic={vermagic}", "name=iw_test", "depends="], out)


# --------------------------------------------------------------------------------------------
# The catalogue: binaries with the exact strings of historical releases


@dataclass(frozen=True)
class VersionBinary:
    """A test binary: where it sits in an image, what it embeds, what it must be found as."""

    path: str
    strings: tuple[str, ...]
    component: str | None  # None: a decoy, nothing may be identified in it
    version: str | None
    kind: str = "program"  # 'program', 'library', 'module', 'data'

    @property
    def expected(self) -> tuple[str, str | None] | None:
        return (self.component, self.version) if self.component else None


def _b(
    path: str, component: str | None, version: str | None, *strings: str, kind: str = ""
) -> VersionBinary:
    if not kind:
        kind = "library" if ".so" in path.rsplit("/", 1)[-1] else "program"
    return VersionBinary(path, strings, component, version, kind)


# fmt: off
CATALOGUE: tuple[VersionBinary, ...] = (
    _b("/bin/busybox", "busybox", "1.19.4", "BusyBox v1.19.4 (2012-03-05 12:46:58 CET) multi-call binary."),
    _b("/usr/lib/libcrypto.so.1.0.0", "openssl", "1.0.1e", "OpenSSL 1.0.1e 11 Feb 2013", "libcrypto.so.1.0.0"),
    _b("/usr/lib/libssl.so.1.1", "openssl", "1.1.1w", "OpenSSL 1.1.1w  11 Sep 2023", "TLSv1.3"),
    _b("/usr/lib/libressl/libtls.so.20", "libressl", "2.8.3", "LibreSSL 2.8.3"),
    _b("/usr/lib/libwolfssl.so.24", "wolfssl", "4.6.0", "wolfSSL 4.6.0"),
    _b("/usr/lib/libmbedtls.so.12", "mbedtls", "2.16.6", "mbed TLS 2.16.6"),
    _b("/usr/lib/libpolarssl.so.7", "polarssl", "1.3.9", "PolarSSL 1.3.9"),
    _b("/usr/sbin/dropbear", "dropbear", "2012.55", "SSH-2.0-dropbear_2012.55", "dropbear_prng"),
    _b("/usr/sbin/sshd", "openssh", "7.4p1", "OpenSSH_7.4p1 Debian-10+deb9u7"),
    _b("/usr/sbin/dnsmasq", "dnsmasq", "2.78", "dnsmasq-2.78", "Dnsmasq version %s  %s\n"),
    _b("/usr/sbin/lighttpd", "lighttpd", "1.4.35", "lighttpd/1.4.35"),
    _b("/usr/sbin/uhttpd", "uhttpd", None, "Usage: %s -p [addr:]port -h docroot\n"),
    _b("/bin/boa", "boa", "0.94.14rc21", "Boa/0.94.14rc21"),
    _b("/bin/webs", "goahead", "2.1.8", "GoAhead-Webs\x002.1.8\x00SERVER_SOFTWARE"),
    _b("/usr/sbin/goahead", "goahead", "5.1.0", "Embedthis GoAhead Community Edition\x005.1.0"),
    _b("/usr/sbin/thttpd", "thttpd", "2.25b", "thttpd/2.25b 29dec2003"),
    _b("/usr/sbin/mini_httpd", "mini_httpd", "1.19", "mini_httpd/1.19 19dec2003"),
    _b("/usr/sbin/nginx", "nginx", "1.18.0", "nginx version: nginx/1.18.0"),
    _b("/usr/sbin/hostapd", "hostapd", "2.9", "hostapd v2.9\nUser space daemon for IEEE 802.11 AP management"),
    _b("/usr/sbin/wpa_supplicant", "wpa_supplicant", "2.9", "wpa_supplicant v2.9\nCopyright (c) 2003-2019, Jouni Malinen"),
    _b("/usr/sbin/miniupnpd", "miniupnpd", "2.1", "OpenWRT/OpenWrt UPnP/1.1 MiniUPnPd/2.1"),
    _b("/usr/lib/libupnp.so.6", "libupnp", "1.6.19", "Portable SDK for UPnP devices/1.6.19"),
    _b("/usr/bin/curl", "curl", "7.64.0", "curl 7.64.0 (x86_64-pc-linux-gnu) "),
    _b("/usr/lib/libcurl.so.4", "libcurl", "7.64.0", "libcurl/7.64.0"),
    _b("/lib/libz.so.1", "zlib", "1.2.11", " deflate 1.2.11 Copyright 1995-2017 Jean-loup Gailly and Mark Adler ", " inflate 1.2.11 Copyright 1995-2017 Mark Adler "),
    _b("/usr/lib/libsqlite3.so.0", "sqlite", "3.7.17", "Id: SQLite version 3.7.17", "SQLite format 3"),
    _b("/lib/libuClibc-0.9.33.2.so", "uclibc", "0.9.33.2", "uClibc 0.9.33.2"),
    _b("/lib/libc.so.1", "uclibc-ng", "1.0.30", "uClibc-ng 1.0.30"),
    _b("/lib/ld-musl-mipsel-sf.so.1", "musl", "1.1.24", "musl libc (mipsel)\x001.1.24\x00"),
    _b("/lib/libc.so.6", "glibc", "2.36", "GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36."),
    _b("/boot/vmlinux", "linux_kernel", "4.14.180", "Linux version 4.14.180 (builder@buildhost) (gcc version 7.5.0 (OpenWrt GCC 7.5.0 r11208-ce6496d796)) #0 Sun Oct 25 20:07:21 2020\n"),
    _b("/lib/modules/4.9.0/xt_iw.ko", "linux_kernel", "4.9.0", "vermagic=4.9.0 SMP mod_unload MIPS32_R2 32BIT ", kind="module"),
    _b("/boot/u-boot.bin", "u-boot", "2013.07", "U-Boot 2013.07 (Jan 01 2014 - 00:00:00)"),
    _b("/usr/sbin/xtables-multi", "iptables", "1.4.3.2", "# Generated by iptables-save v%s on %s\x00\x001.4.3.2\x00"),
    _b("/usr/sbin/pppd", "ppp", "2.4.3", "2.4.3\x00pppd %s started by %s, uid %d"),
    _b("/usr/lib/libsmbconf.so.0", "samba", "4.10.2", "SAMBA_4.10.2"),
    _b("/usr/sbin/vsftpd", "vsftpd", "3.0.3", "vsftpd: version 3.0.3"),
    _b("/usr/sbin/proftpd", "proftpd", "1.3.5b", "ProFTPD 1.3.5b Server (ProFTPD)"),
    _b("/usr/sbin/openvpn", "openvpn", "2.4.7", "OpenVPN 2.4.7 mips-openwrt-linux-gnu"),
    _b("/usr/lib/ipsec/charon", "strongswan", "5.9.1", "Linux strongSwan U5.9.1/K5.10.0"),
    _b("/usr/sbin/mosquitto", "mosquitto", "2.0.15", "2.0.15\x00mosquitto version %s starting"),
    _b("/usr/sbin/avahi-daemon", "avahi", "0.6.24", "avahi 0.6.24"),
    _b("/usr/lib/libdbus-1.so.3", "dbus", "1.12.20", "LIBDBUS_PRIVATE_1.12.20"),
    _b("/usr/lib/libpcap.so.1", "libpcap", "1.9.1", "libpcap version 1.9.1"),
    _b("/bin/bash", "bash", "4.2.37", "@(#)Bash version 4.2.37(1) release GNU"),
    _b("/usr/sbin/ntpd", "ntp", "4.2.8p15", "ntpd 4.2.8p15@1.3728-o Wed Sep 23 11:46:38 UTC 2020 (1)"),
    _b("/usr/sbin/zebra", "quagga", "0.99.24.1", "Hello, this is Quagga (version 0.99.24.1)."),
    _b("/usr/lib/frr/bgpd", "frr", "7.5.1", "Hello, this is FRRouting (version 7.5.1)."),
    _b("/usr/sbin/dhcpd", "isc-dhcp", "4.4.1", "isc-dhcp-4.4.1"),
    _b("/usr/lib/libexpat.so.1", "expat", "2.2.10", "expat_2.2.10"),
    _b("/usr/lib/libpng16.so.16", "libpng", "1.6.37", " libpng version 1.6.37 - April 14, 2019\n"),
    _b("/usr/lib/libjpeg.so.62", "libjpeg-turbo", "2.0.6", "libjpeg-turbo version 2.0.6 (build 20210104)"),
    _b("/usr/bin/lua", "lua", "5.1.5", "Lua 5.1.5  Copyright (C) 1994-2012 Lua.org, PUC-Rio"),
    _b("/usr/sbin/httpd", "apache-httpd", "2.4.46", "Apache/2.4.46 (Unix)"),
    _b("/usr/bin/php-cgi", "php", "7.4.3", "X-Powered-By: PHP/7.4.3"),
    _b("/usr/bin/stunnel", "stunnel", "5.56", "stunnel 5.56 on x86_64-pc-linux-gnu platform"),
    _b("/usr/sbin/squid", "squid", "4.13", "squid/4.13"),
    _b("/usr/bin/tinyproxy", "tinyproxy", "1.10.0", "tinyproxy/1.10.0"),
    _b("/bin/mount", "util-linux", "2.36.1", "%s from util-linux 2.36.1\n"),
    _b("/usr/lib/libevent-2.1.so.7", "libevent", "2.1.12", "2.1.12-stable"),
    _b("/usr/sbin/xl2tpd", "xl2tpd", "1.3.12", "xl2tpd version:  xl2tpd-1.3.12"),
    VersionBinary("/etc/openwrt_release", ("DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='19.07.7'\nDISTRIB_REVISION='r11306-c4a6851c72'\n",), "openwrt", "19.07.7", "data"),
    _b("/usr/lib/libncurses.so.6", "ncurses", "6.2", "ncurses 6.2.20200212"),
    VersionBinary("/www/js/jquery.min.js", ("/*! jQuery v3.5.1 | (c) JS Foundation and other contributors | jquery.org/license */\n!function(e,t){}",), "jquery", "3.5.1", "data"),
    _b("/usr/sbin/minidlnad", "minidlna", "1.2.1", "Linux DLNADOC/1.50 UPnP/1.0 MiniDLNA/1.2.1"),
    _b("/usr/lib/libssh.so.4", "libssh", "0.9.5", "SSH-2.0-libssh_0.9.5"),
    _b("/usr/lib/libssh2.so.1", "libssh2", "1.9.0", "SSH-2.0-libssh2_1.9.0"),
    _b("/usr/bin/xz", "xz", "5.2.5", "xz (XZ Utils) 5.2.5"),
    _b("/usr/lib/libtiff.so.5", "libtiff", "4.2.0", "LIBTIFF, Version 4.2.0\nCopyright (c) 1988-1996 Sam Leffler"),
    _b("/usr/lib/libarchive.so.13", "libarchive", "3.4.3", "libarchive 3.4.3"),
    _b("/usr/bin/socat", "socat", "1.7.4.1", "socat version 1.7.4.1 on Feb 26 2021 10:00:00"),
    _b("/usr/sbin/cupsd", "cups", "2.3.3", "CUPS v2.3.3op2"),
    _b("/usr/sbin/hiawatha", "hiawatha", "10.11", "Hiawatha v10.11"),
    _b("/usr/sbin/appweb", "appweb", "3.3.1", "Embedthis-Appweb/3.3.1"),
    _b("/usr/bin/iotd", "lwip", "2.1.2", "Server: lwIP/2.1.2 (http://savannah.nongnu.org/projects/lwip)"),
    _b("/usr/bin/webserver", "rompager", "4.07", "Server: RomPager/4.07 UPnP/1.0"),
    _b("/sbin/iwconfig", "wireless-tools", "29", "%-8.16s  Wireless-Tools version 29\n"),
)

#: Files that mention components without a version string or carry version-looking numbers:
#: nothing may be identified in them.
DECOYS: tuple[VersionBinary, ...] = (
    VersionBinary("/usr/share/doc/README", ("This firmware uses openssl and busybox. Version 1.2.3 of the web UI fixes 4.5.6; see section 10.0.1. Linux kernel 5.4 inside.\n",), None, None, "data"),
    VersionBinary("/etc/banner", ("  OpenWrt 19.07, built with curl and dropbear\n  version 2.4.7\n",), None, None, "data"),
    VersionBinary("/usr/share/man/curl.txt", ("curl is a tool to transfer data. curl 7 supports https.\nApache/2 licensed. nginx/stable. SAMBA_docs. dnsmasq-base-lua. Boa/web.\n",), None, None, "data"),
    _b("/usr/bin/helper", None, None, "openssl s_client -connect %s", "OpenSSL", "dropbear_", "Linux version %s"),
    VersionBinary("/etc/hosts", ("127.0.0.1 localhost\n192.168.1.1 openwrt.lan\n",), None, None, "data"),
)
# fmt: on


def random_decoy(size: int = 256 * 1024, seed: int = 7) -> bytes:
    """Random bytes (a compressed or encrypted blob): nothing may be identified in it."""
    return random.Random(seed).randbytes(size)


def build(spec: VersionBinary, root: Path, *, flags: Sequence[str] = ()) -> Path:
    """Lay ``spec`` into the tree at ``root`` (compiled when it is a program or library)."""
    out = root / spec.path.lstrip("/")
    out.parent.mkdir(parents=True, exist_ok=True)
    if spec.kind == "library":
        return compile_library(spec.strings, out, flags=flags)
    if spec.kind == "program":
        return compile_program(spec.strings, out, flags=flags)
    if spec.kind == "module":
        return compile_object(spec.strings, out)
    out.write_text("".join(spec.strings), encoding="latin-1")
    return out


def build_all(
    specs: Iterable[VersionBinary], root: Path, *, flags: Sequence[str] = (), workers: int = 2
) -> dict[str, Path]:
    """Build every spec into ``root`` (gcc runs in parallel); image path -> host path."""
    from concurrent.futures import ThreadPoolExecutor

    items = list(specs)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        paths = list(pool.map(lambda s: build(s, root, flags=flags), items))
    return {spec.path: path for spec, path in zip(items, paths, strict=True)}


# --------------------------------------------------------------------------------------------
# Real Debian packages


def deb_cache() -> Path:
    """Where downloaded .deb files are kept between runs (git-ignored)."""
    base = os.environ.get("XDG_CACHE_HOME")
    cache = Path(base) / "iotwarden-tests" / "debs" if base else REPO / ".cache" / "debs"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def debian_package(name: str, cache: Path | None = None) -> Path:
    """The .deb of ``name`` (whatever version the configured Debian release has), downloaded
    with ``apt-get download`` into ``cache`` unless already there. Raises RuntimeError when it
    cannot be downloaded."""
    cache = cache or deb_cache()
    existing = sorted(cache.glob(f"{name}_*.deb"))
    if existing:
        return existing[-1]
    apt = shutil.which("apt-get")
    if apt is None:
        raise RuntimeError("apt-get is not available")
    result = subprocess.run(
        [apt, "download", name],
        cwd=cache,
        capture_output=True,
        timeout=300,
        check=False,
    )
    found = sorted(cache.glob(f"{name}_*.deb"))
    if result.returncode != 0 or not found:
        detail = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no .deb"]
        raise RuntimeError(f"apt-get download {name} failed: {detail[0]}")
    return found[-1]


def deb_field(deb: Path, field: str) -> str:
    """A field of the package's control file (``dpkg-deb -f``)."""
    out = subprocess.run(
        [tool_or_skip("dpkg-deb"), "-f", str(deb), field],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out.stdout.decode().strip()


def extract_deb(deb: Path, dest: Path) -> Path:
    """Unpack the package's files into ``dest`` (``dpkg-deb -x``)."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [tool_or_skip("dpkg-deb"), "-x", str(deb), str(dest)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return dest


# --------------------------------------------------------------------------------------------
# Package databases


def control_paragraph(fields: dict[str, str]) -> str:
    return "".join(f"{key}: {value}\n" for key, value in fields.items())


def write_opkg(root: Path, packages: Sequence[dict[str, str]], *, controls: bool = True) -> None:
    """An OpenWrt opkg database: ``/usr/lib/opkg/status`` and ``info/<name>.control``."""
    base = root / "usr/lib/opkg"
    (base / "info").mkdir(parents=True, exist_ok=True)
    status = []
    for package in packages:
        status.append(
            control_paragraph(
                {
                    "Package": package["Package"],
                    "Version": package.get("Version", ""),
                    "Depends": package.get("Depends", "libc"),
                    "Status": package.get("Status", "install user installed"),
                    "Architecture": package.get("Architecture", "mips_24kc"),
                    "Installed-Time": "1600000000",
                }
            )
        )
        if controls:
            (base / "info" / f"{package['Package']}.control").write_text(
                control_paragraph(
                    {
                        "Package": package["Package"],
                        "Version": package.get("Version", ""),
                        "Source": package.get("Source", f"package/{package['Package']}"),
                        "Architecture": package.get("Architecture", "mips_24kc"),
                        "Description": " a package",
                    }
                )
            )
    (base / "status").write_text("\n".join(status))


def write_dpkg(root: Path, packages: Sequence[dict[str, str]]) -> None:
    """A dpkg status database with ``packages`` (Status defaults to installed)."""
    base = root / "var/lib/dpkg"
    base.mkdir(parents=True, exist_ok=True)
    paragraphs = [
        control_paragraph(
            {
                "Package": p["Package"],
                "Status": p.get("Status", "install ok installed"),
                "Priority": "optional",
                "Architecture": p.get("Architecture", "amd64"),
                **({"Source": p["Source"]} if "Source" in p else {}),
                "Version": p["Version"],
                "Description": "a package\n a longer description",
            }
        )
        for p in packages
    ]
    (base / "status").write_text("\n".join(paragraphs))
