"""The firmware test corpus: eight device images built from readable descriptions, each written
next to an expected-findings file that says what its generator PLANTED.

A profile (router, legacy router, camera, DVR, gateway, smart-home hub, NAS, clean device) lays
out a root file system with :class:`ImageBuilder`: binaries compiled with gcc that embed the
exact version strings of historical releases (``tests.firmware.binaries``), real Debian
release binaries for the gateway, package databases, boot scripts, accounts, keys and
certificates (``tests.firmware.rootfs``). Every component it puts in the tree and every
weakness it plants is recorded as it is written, with the findings that weakness must produce
(id + image path), so the expected file is derived from the generator's own description,
never from running the analyser. The tree is then packed in a container of its own
(``tests.firmware.images``): SquashFS with gzip/xz/lzo/lz4/zstd, JFFS2, cpio, ext4, a uImage
around SquashFS, a TRX with a kernel and SquashFS, and a raw flash dump.

Expected-findings file (``<image>.expected.json``)::

    {"format": 1, "image": "camera.jffs2", "profile": "camera", "container": "JFFS2 ...",
     "clean": false,
     "components": [{"name": "boa", "version": "0.94.14rc21", "planted": ["/bin/boa"]}, ...],
     "findings": [{"id": "IW-FW-SERVICE-TELNET", "path": "/etc/inittab",
                   "weakness": "telnetd-shell"}, ...],
     "weaknesses": [{"name": "telnetd-shell", "description": "..."}, ...]}

Component names are the identifiers the project uses for them (``linux_kernel``, ``openssl``);
a package no signature knows is expected under its package name with its full version.
"""

from __future__ import annotations

import json
import lzma
import os
import random
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.firmware import binaries, images
from tests.firmware import rootfs as rfs
from tests.firmware.rootfs import Account, RootFS

EXPECTED_FORMAT = 1
EXPECTED_SUFFIX = ".expected.json"

#: gcc flags of a well-built executable and library (every corpus binary is built so unless a
#: profile plants a hardening weakness on purpose): canary, FORTIFY, PIE, full RELRO, NX.
HARDENED_PROGRAM = tuple(rfs.ELF_VARIANTS["hardened"][1])
HARDENED_LIBRARY = (
    "-D_FORTIFY_SOURCE=2",
    "-fstack-protector-strong",
    "-Wl,-z,relro,-z,now",
    "-Wl,-z,noexecstack",
)
#: An executable from a vendor toolchain of old: executable stack, no canary (still PIE and
#: full RELRO, so exactly those two properties are missing).
NO_NX_NO_CANARY = ("-O2", "-fno-stack-protector", "-fPIE", "-pie", "-Wl,-z,relro,-z,now",
                   "-Wl,-z,execstack")  # fmt: skip
#: No stack canary and not position independent (NX and RELRO kept).
NO_CANARY_NO_PIE = ("-O2", "-fno-stack-protector", "-fno-pie", "-no-pie", "-Wl,-z,relro,-z,now",
                    "-Wl,-z,noexecstack")  # fmt: skip

# Finding ids the weaknesses below produce (written out: a renamed id must fail the corpus).
DEFAULT_PASSWORD = "IW-FW-ACCOUNT-DEFAULT-PASSWORD"
EMPTY_PASSWORD = "IW-FW-ACCOUNT-EMPTY-PASSWORD"
WEAK_HASH = "IW-FW-ACCOUNT-WEAK-HASH"
REMOTE_LOGIN = "IW-FW-REMOTE-LOGIN-DEFAULT-PASSWORD"
SERVICE_TELNET = "IW-FW-SERVICE-TELNET"
SERVICE_FTP = "IW-FW-SERVICE-FTP"
SERVICE_UPNP = "IW-FW-SERVICE-UPNP"
TELNET_NO_LOGIN = "IW-FW-SERVICE-TELNET-NO-LOGIN"
CONSOLE_SHELL = "IW-FW-SERVICE-CONSOLE-SHELL"
PRIVATE_KEY = "IW-FW-KEY-PRIVATE-KEY"
WEAK_KEY = "IW-FW-KEY-WEAK"
CERT_EXPIRED = "IW-FW-CERT-EXPIRED"
CERT_SELF_SIGNED = "IW-FW-CERT-SELF-SIGNED"
NO_NX = "IW-FW-ELF-NO-NX"
WEAK_HARDENING = "IW-FW-ELF-WEAK-HARDENING"
INSECURE_RPATH = "IW-FW-ELF-INSECURE-RPATH"
HARDCODED_PASSWORD = "IW-FW-CREDS-HARDCODED-PASSWORD"
WIFI_PSK = "IW-FW-CREDS-WIFI-PSK"
NO_SIGNED_UPDATE = "IW-FW-UPDATE-NO-SIGNED-MECHANISM"


class DebianUnavailable(RuntimeError):
    """The real Debian packages of the gateway image cannot be downloaded (offline)."""


# --------------------------------------------------------------------------------------------
# What a generator planted


@dataclass(frozen=True)
class ExpectedComponent:
    name: str
    version: str | None
    planted: tuple[str, ...] = ()  # where: image paths (files, package databases)

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.name, self.version)


@dataclass(frozen=True)
class ExpectedFinding:
    id: str
    path: str
    weakness: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.path)


@dataclass(frozen=True)
class Unjudged:
    """Findings with one of ``ids`` on one of ``paths`` are not judged, and why."""

    ids: tuple[str, ...]
    paths: tuple[str, ...]
    reason: str

    def covers(self, finding_id: str, path: str) -> bool:
        return finding_id in self.ids and path in self.paths

    def to_dict(self) -> dict[str, Any]:
        return {"ids": list(self.ids), "paths": list(self.paths), "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Unjudged:
        return cls(tuple(data["ids"]), tuple(data["paths"]), data["reason"])


@dataclass(frozen=True)
class Expected:
    """The content of an expected-findings file."""

    image: str
    profile: str
    container: str
    clean: bool
    components: tuple[ExpectedComponent, ...]
    findings: tuple[ExpectedFinding, ...]
    weaknesses: tuple[tuple[str, str], ...] = ()  # (name, description)
    #: Files planted to look like components without being any (nothing may be found there).
    decoys: tuple[str, ...] = ()
    #: Findings neither credited nor counted against the analyser: properties of files the
    #: generator did not build (the hardening of real Debian release binaries is Debian's).
    unjudged: tuple[Unjudged, ...] = ()

    def judged(self, finding_id: str, path: str) -> bool:
        return not any(u.covers(finding_id, path) for u in self.unjudged)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": EXPECTED_FORMAT,
            "image": self.image,
            "profile": self.profile,
            "container": self.container,
            "clean": self.clean,
            "components": [
                {"name": c.name, "version": c.version, "planted": list(c.planted)}
                for c in self.components
            ],
            "findings": [
                {"id": f.id, "path": f.path, "weakness": f.weakness} for f in self.findings
            ],
            "weaknesses": [{"name": n, "description": d} for n, d in self.weaknesses],
            "decoys": list(self.decoys),
            "unjudged": [u.to_dict() for u in self.unjudged],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Expected:
        if data.get("format") != EXPECTED_FORMAT:
            raise ValueError(f"expected-findings format {data.get('format')!r} is not supported")
        return cls(
            image=data["image"],
            profile=data["profile"],
            container=data["container"],
            clean=bool(data["clean"]),
            components=tuple(
                ExpectedComponent(c["name"], c["version"], tuple(c.get("planted", ())))
                for c in data["components"]
            ),
            findings=tuple(
                ExpectedFinding(f["id"], f["path"], f["weakness"]) for f in data["findings"]
            ),
            weaknesses=tuple((w["name"], w["description"]) for w in data.get("weaknesses", ())),
            decoys=tuple(data.get("decoys", ())),
            unjudged=tuple(Unjudged.from_dict(u) for u in data.get("unjudged", ())),
        )

    @classmethod
    def load(cls, path: Path) -> Expected:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Package:
    """One installed package: its manager's name and version, and the component it is (None:
    no signature knows it, so it is expected under its own name and full version)."""

    name: str
    version: str
    component: str | None = None
    component_version: str | None = None
    source: str | None = None

    def fields(self) -> dict[str, str]:
        """The package's fields for ``tests.firmware.binaries.write_opkg``/``write_dpkg``."""
        fields = {"Package": self.name, "Version": self.version}
        if self.source:
            fields["Source"] = self.source
        return fields

    @property
    def expected(self) -> tuple[str, str]:
        if self.component is None:
            return (self.name, self.version)
        return (self.component, self.component_version or self.version)


# --------------------------------------------------------------------------------------------
# Laying out a tree


@dataclass
class ImageBuilder:
    """A root file system being laid out, with what was planted in it. Binaries are compiled
    together by :meth:`compile` (gcc in parallel)."""

    root: Path
    profile: str
    clean: bool = False
    fs: RootFS = field(init=False)
    components: dict[tuple[str, str | None], list[str]] = field(default_factory=dict)
    findings: list[ExpectedFinding] = field(default_factory=list)
    weaknesses: list[tuple[str, str]] = field(default_factory=list)
    decoys: list[str] = field(default_factory=list)
    unjudged: list[Unjudged] = field(default_factory=list)
    _jobs: list[Callable[[], object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fs = RootFS(self.root)

    # -- components ---------------------------------------------------------------------------
    def component(self, name: str, version: str | None, where: str) -> None:
        self.components.setdefault((name, version), []).append(where)

    def program(
        self,
        path: str,
        *strings: str,
        component: tuple[str, str] | None = None,
        flags: Sequence[str] = HARDENED_PROGRAM,
    ) -> None:
        """An executable compiled with ``strings`` in .rodata (hardened unless told)."""
        out = self.fs.host(path)
        self._jobs.append(lambda: binaries.compile_program(strings, out, flags=flags))
        if component is not None:
            self.component(*component, path)

    def library(
        self,
        path: str,
        *strings: str,
        component: tuple[str, str] | None = None,
        flags: Sequence[str] = HARDENED_LIBRARY,
    ) -> None:
        out = self.fs.host(path)
        self._jobs.append(lambda: binaries.compile_library(strings, out, flags=flags))
        if component is not None:
            self.component(*component, path)

    def kernel_module(self, path: str, vermagic: str, kernel: str) -> None:
        """A kernel module whose .modinfo carries ``vermagic=...`` of kernel ``kernel``."""
        out = self.fs.host(path)
        self._jobs.append(lambda: binaries.kernel_module(vermagic, out))
        self.component("linux_kernel", kernel, path)

    def text(
        self,
        path: str,
        content: str | bytes,
        *,
        component: tuple[str, str] | None = None,
        mode: int = 0o644,
    ) -> None:
        self.fs.file(path, content, mode=mode)
        if component is not None:
            self.component(*component, path)

    def script(self, path: str, body: str) -> None:
        self.fs.script(path, body)

    def link(self, path: str, target: str) -> None:
        self.fs.link(path, target)

    def opkg(self, packages: Sequence[Package]) -> None:
        """An opkg database (status + info/*.control) recording ``packages``."""
        binaries.write_opkg(self.root, [p.fields() for p in packages])
        for package in packages:
            self.component(*package.expected, "/usr/lib/opkg/status")

    def dpkg(self, packages: Sequence[Package]) -> None:
        binaries.write_dpkg(self.root, [p.fields() for p in packages])
        for package in packages:
            self.component(*package.expected, "/var/lib/dpkg/status")

    # -- weaknesses ---------------------------------------------------------------------------
    def plant(self, weakness: str, description: str, *findings: tuple[str, str]) -> None:
        """Record a planted weakness and the findings (id, image path) it must produce."""
        if self.clean:
            raise ValueError(f"{self.profile} is a clean image: {weakness} cannot be planted")
        self.weaknesses.append((weakness, description))
        self.findings += [ExpectedFinding(i, p, weakness) for i, p in findings]

    def decoy(self, path: str) -> None:
        """Plant the decoy of ``tests.firmware.binaries.DECOYS`` known by ``path``: it names
        components or carries version-looking numbers, and must be identified as nothing."""
        (item,) = [d for d in binaries.DECOYS if d.path == path]
        if item.kind == "program":
            out = self.fs.host(path)
            strings = item.strings
            self._jobs.append(
                lambda: binaries.compile_program(strings, out, flags=HARDENED_PROGRAM)
            )
        else:
            self.fs.file(path, "".join(item.strings))
        self.decoys.append(path)

    def blob(self, path: str, size: int, seed: int) -> None:
        """Random bytes (an encrypted or compressed vendor blob): nothing may be found in it."""
        self.fs.file(path, binaries.random_decoy(size, seed))
        self.decoys.append(path)

    def accounts(self, accounts: Iterable[Account], *, shadow: str | None = "/etc/shadow") -> None:
        rfs.write_accounts(self.fs, accounts, shadow=shadow)

    # -- building -----------------------------------------------------------------------------
    def compile(self, workers: int = 2) -> None:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(lambda job: job(), self._jobs):
                pass
        self._jobs.clear()

    def expected(self, image: str, container: str) -> Expected:
        return Expected(
            image=image,
            profile=self.profile,
            container=container,
            clean=self.clean,
            components=tuple(
                ExpectedComponent(name, version, tuple(sorted(set(where))))
                for (name, version), where in sorted(
                    self.components.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
                )
            ),
            findings=tuple(sorted(set(self.findings), key=lambda f: (f.id, f.path))),
            weaknesses=tuple(self.weaknesses),
            decoys=tuple(sorted(self.decoys)),
            unjudged=tuple(self.unjudged),
        )


def _versions_of(spec: str) -> binaries.VersionBinary:
    """A catalogue binary of ``tests.firmware.binaries`` by its image path (reused as is)."""
    for item in binaries.CATALOGUE:
        if item.path == spec:
            return item
    raise KeyError(spec)


def catalogue_binary(b: ImageBuilder, path: str, *, at: str | None = None) -> None:
    """Plant the catalogue binary known by ``path`` (at ``at`` if given)."""
    item = _versions_of(path)
    where = at or item.path
    component = (item.component, item.version) if item.component and item.version else None
    if item.kind == "library":
        b.library(where, *item.strings, component=component)
    elif item.kind == "program":
        b.program(where, *item.strings, component=component)
    else:
        b.text(where, "".join(item.strings), component=component)


# --------------------------------------------------------------------------------------------
# Weaknesses shared by several profiles


def no_update_mechanism(b: ImageBuilder) -> None:
    b.plant(
        "no-signed-update",
        "no update mechanism that verifies signatures (no opkg keys, no sysupgrade -V, ...)",
        (NO_SIGNED_UPDATE, "/"),
    )


def signed_opkg(b: ImageBuilder) -> None:
    """opkg with signature checking and a usign public key: a signed update mechanism."""
    b.text("/etc/opkg.conf", "dest root /\ndest ram /tmp\noption check_signature\n")
    b.text(
        "/etc/opkg/keys/4d017e6f1ed5d616",
        "untrusted comment: public key 4d017e6f1ed5d616\n"
        "RWRNAX5vHtXWFmt+n5di7XX8rTu0w+c8X7Ihv4oCyD6tzsUwmH0A6kO0\n",
    )


def _kernel_blob(banner: str, size: int = 48_000, seed: int = 5) -> bytes:
    """A compressed kernel: LZMA (alone) of the ``linux_banner`` and pseudo-random code."""
    body = random.Random(seed).randbytes(size // 2) + bytes(size // 2)
    return lzma.compress(banner.encode() + b"\n\0" + body, format=lzma.FORMAT_ALONE)


# --------------------------------------------------------------------------------------------
# Profiles


#: OpenWrt's inittab: procd runs the init scripts itself.
PROCD_INITTAB = "::sysinit:/etc/init.d/rcS S boot\n::shutdown:/etc/init.d/rcS K shutdown\n"
#: OpenWrt's kernel package version ends with the hash of the kernel configuration.
KERNEL_CONFIG_HASH = "57a1c0b4a2e8d0b3cbcd4a1d6e0f3c41"


def router(b: ImageBuilder) -> None:
    """OpenWrt 21.02.3-like router: procd, opkg database, BusyBox, Dropbear, dnsmasq, uhttpd,
    OpenSSL 1.1.1n, hostapd, musl, a kernel module. Shipped with root's password empty (as
    OpenWrt does until first login) while Dropbear accepts passwords, and a factory Wi-Fi key
    in the UCI configuration."""
    kernel = "5.4.179"
    b.opkg(
        [
            Package("base-files", "1460-r16554-bc4ea0f2f9"),
            Package("busybox", "1.33.2-1", "busybox", "1.33.2"),
            Package("dropbear", "2020.81-2", "dropbear", "2020.81"),
            Package("dnsmasq", "2.85-8", "dnsmasq", "2.85"),
            Package("uhttpd", "2021-03-21-15346de8-2", "uhttpd", "2021-03-21-15346de8"),
            Package("libopenssl1.1", "1.1.1n-1", "openssl", "1.1.1n"),
            Package("kernel", f"{kernel}-1-{KERNEL_CONFIG_HASH}", "linux_kernel", kernel),
            Package("libc", "1.1.24-3"),
            Package("netifd", "2021-07-26-440eb064-1"),
            Package("procd", "2021-02-23-37eed131-1"),
            Package("libubox20210516", "2021-05-16-b14c4688-2"),
            Package("zlib", "1.2.11-3", "zlib", "1.2.11"),
            # OpenWrt packages ppp from a git snapshot after the 2.4.8 release.
            Package("ppp", "2.4.8.git-2020-10-03-3", "ppp", "2.4.8"),
        ]
    )  # fmt: skip
    b.text(
        "/etc/openwrt_release",
        "DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='21.02.3'\nDISTRIB_REVISION='r16554-1d4dea6d4f'\n"
        "DISTRIB_TARGET='ramips/mt7621'\nDISTRIB_DESCRIPTION='OpenWrt 21.02.3 r16554-1d4dea6d4f'\n",
        component=("openwrt", "21.02.3"),
    )
    b.program("/bin/busybox", "BusyBox v1.33.2 (2022-04-16 12:59:34 UTC) multi-call binary.",
              component=("busybox", "1.33.2"))  # fmt: skip
    for applet in ("sh", "ash", "ls", "cat", "ps"):
        b.link(f"/bin/{applet}", "busybox")
    b.program("/usr/sbin/dropbear", "SSH-2.0-dropbear_2020.81", "dropbear_prng",
              component=("dropbear", "2020.81"))  # fmt: skip
    b.program("/usr/sbin/dnsmasq", "dnsmasq-2.85", "Dnsmasq version %s  %s\n",
              component=("dnsmasq", "2.85"))  # fmt: skip
    b.program("/usr/sbin/uhttpd", "Usage: %s -p [addr:]port -h docroot\n",
              component=("uhttpd", "2021-03-21-15346de8"))  # fmt: skip
    b.library("/usr/lib/libcrypto.so.1.1", "OpenSSL 1.1.1n  15 Mar 2022",
              component=("openssl", "1.1.1n"))  # fmt: skip
    b.library("/usr/lib/libssl.so.1.1", "OpenSSL 1.1.1n  15 Mar 2022", "TLSv1.3",
              component=("openssl", "1.1.1n"))  # fmt: skip
    b.program("/usr/sbin/hostapd",
              "hostapd v2.10-devel\nUser space daemon for IEEE 802.11 AP management",
              component=("hostapd", "2.10"))  # fmt: skip
    b.library("/lib/ld-musl-mipsel-sf.so.1", "musl libc (mipsel)\x001.1.24\x00",
              component=("musl", "1.1.24"))  # fmt: skip
    b.link("/lib/libc.so", "ld-musl-mipsel-sf.so.1")
    b.program("/sbin/procd", "procd: Console is alive", "/etc/hotplug.json")
    b.program("/usr/sbin/pppd", "2.4.8\x00pppd %s started by %s, uid %d",
              component=("ppp", "2.4.8"))  # fmt: skip
    b.library("/usr/lib/libz.so.1",
              " deflate 1.2.11 Copyright 1995-2017 Jean-loup Gailly and Mark Adler ",
              " inflate 1.2.11 Copyright 1995-2017 Mark Adler ",
              component=("zlib", "1.2.11"))  # fmt: skip
    b.program("/sbin/netifd", "netifd: interface %s is now up")
    b.kernel_module(f"/lib/modules/{kernel}/nf_conntrack.ko",
                    f"{kernel} SMP mod_unload MIPS32_R2 32BIT ", kernel)  # fmt: skip
    b.text("/etc/inittab", PROCD_INITTAB + "::askconsole:/usr/libexec/login.sh\n")
    b.script(
        "/etc/init.d/dropbear",
        """
        START=19
        USE_PROCD=1
        start_service() {
            procd_open_instance
            procd_set_param command /usr/sbin/dropbear -F -P /var/run/dropbear.1.pid -p 22
            procd_close_instance
        }
        """,
    )
    b.script(
        "/etc/init.d/dnsmasq",
        """
        START=19
        USE_PROCD=1
        start_service() {
            procd_open_instance
            procd_set_param command /usr/sbin/dnsmasq -C /var/etc/dnsmasq.conf -k
            procd_close_instance
        }
        """,
    )
    b.script(
        "/etc/init.d/uhttpd",
        """
        START=50
        USE_PROCD=1
        start_service() {
            procd_open_instance
            procd_set_param command /usr/sbin/uhttpd -f -h /www -r OpenWrt -p 0.0.0.0:80
            procd_close_instance
        }
        """,
    )
    b.accounts(
        [
            Account("root", "", scheme="plain", uid=0, login_shell="/bin/ash"),
            Account("daemon", None, uid=1, login_shell="/bin/false", home="/var"),
            Account("network", None, uid=101, login_shell="/bin/false", home="/var"),
            Account("nobody", None, uid=65534, login_shell="/bin/false", home="/var"),
        ]
    )
    b.plant(
        "empty-root-password",
        "root has no password (OpenWrt before first login) and Dropbear accepts passwords",
        (EMPTY_PASSWORD, "/etc/shadow"),
        (REMOTE_LOGIN, "/etc/init.d/dropbear"),
    )
    b.text(
        "/etc/config/wireless",
        "config wifi-device 'radio0'\n\toption type 'mac80211'\n\toption channel '36'\n\n"
        "config wifi-iface 'default_radio0'\n\toption device 'radio0'\n\toption mode 'ap'\n"
        "\toption ssid 'Router-5G'\n\toption encryption 'psk2'\n\toption key 'Factory2021Key'\n",
    )
    b.plant(
        "factory-wifi-key",
        "the same Wi-Fi key for every unit in /etc/config/wireless",
        (HARDCODED_PASSWORD, "/etc/config/wireless"),
    )
    b.text("/www/index.html", "<html><head><title>LuCI</title></head></html>\n")
    b.blob("/lib/firmware/mt7615_rom_patch.bin", 96 * 1024, seed=11)
    signed_opkg(b)


def legacy_router(b: ImageBuilder) -> None:
    """A 2013 vendor router: BusyBox 1.19.4, OpenSSL 1.0.1e (Heartbleed), Dropbear 2012.55,
    dnsmasq, lighttpd, MiniUPnPd, zlib and uClibc, no package database. Root's password is
    the Mirai 'admin' as a DES hash while Dropbear runs, UPnP runs at boot, the web CGI was
    built without canary and PIE, and there is no way to update it safely."""
    b.program("/bin/busybox", "BusyBox v1.19.4 (2013-05-02 10:31:17 CST) multi-call binary.",
              component=("busybox", "1.19.4"))  # fmt: skip
    for applet in ("sh", "ls", "mount"):
        b.link(f"/bin/{applet}", "busybox")
    b.link("/sbin/init", "../bin/busybox")
    b.library("/lib/libcrypto.so.1.0.0", "OpenSSL 1.0.1e 11 Feb 2013", "libcrypto.so.1.0.0",
              component=("openssl", "1.0.1e"))  # fmt: skip
    b.library("/lib/libssl.so.1.0.0", "OpenSSL 1.0.1e 11 Feb 2013",
              "SSLv3 part of OpenSSL 1.0.1e 11 Feb 2013",
              component=("openssl", "1.0.1e"))  # fmt: skip
    b.program("/usr/sbin/dropbear", "SSH-2.0-dropbear_2012.55", "dropbear_prng",
              component=("dropbear", "2012.55"))  # fmt: skip
    b.program("/usr/sbin/dnsmasq", "dnsmasq-2.62", "Dnsmasq version %s  %s\n",
              component=("dnsmasq", "2.62"))  # fmt: skip
    b.program("/usr/sbin/lighttpd", "lighttpd/1.4.32", component=("lighttpd", "1.4.32"))
    b.program("/usr/sbin/miniupnpd", "Linux/2.6.36 UPnP/1.0 MiniUPnPd/1.8",
              component=("miniupnpd", "1.8"))  # fmt: skip
    b.library("/lib/libz.so.1",
              " deflate 1.2.7 Copyright 1995-2012 Jean-loup Gailly and Mark Adler ",
              " inflate 1.2.7 Copyright 1995-2012 Mark Adler ",
              component=("zlib", "1.2.7"))  # fmt: skip
    b.library("/lib/libuClibc-0.9.33.2.so", "uClibc 0.9.33.2", component=("uclibc", "0.9.33.2"))
    catalogue_binary(b, "/usr/sbin/xtables-multi")
    catalogue_binary(b, "/usr/sbin/pppd")
    catalogue_binary(b, "/sbin/iwconfig")
    b.link("/lib/libc.so.0", "libuClibc-0.9.33.2.so")
    b.kernel_module("/lib/modules/2.6.36/kernel/net/ipv4/netfilter/nf_nat_pptp.ko",
                    "2.6.36 mod_unload MIPS32_R2 32BIT ", "2.6.36")  # fmt: skip
    b.program("/www/cgi-bin/webcgi", "Content-type: text/html\r\n\r\n", "apply.cgi",
              flags=NO_CANARY_NO_PIE)  # fmt: skip
    b.plant(
        "weak-cgi-binary",
        "the web CGI was built without stack canary and PIE",
        (WEAK_HARDENING, "/www/cgi-bin/webcgi"),
    )
    b.accounts(
        [
            Account("root", "admin", scheme="des", uid=0, login_shell="/bin/sh"),
            Account("nobody", None, uid=65534, login_shell="/bin/false", home="/"),
        ]
    )
    b.text(
        "/etc/inittab",
        "::sysinit:/etc/init.d/rcS\nttyS1::respawn:/sbin/getty -L ttyS1 115200 vt100\n",
    )
    b.script(
        "/etc/init.d/rcS",
        """
        mount -t proc proc /proc
        /usr/sbin/dnsmasq -C /etc/dnsmasq.conf
        /usr/sbin/lighttpd -f /etc/lighttpd.conf
        /usr/sbin/dropbear -p 22 -r /etc/dropbear/dropbear_rsa_host_key
        /usr/sbin/miniupnpd -f /etc/miniupnpd.conf &
        """,
    )
    b.plant(
        "mirai-root-password",
        "root's password is 'admin' (Mirai list) stored as DES crypt, Dropbear started at boot",
        (DEFAULT_PASSWORD, "/etc/shadow"),
        (WEAK_HASH, "/etc/shadow"),
        (REMOTE_LOGIN, "/etc/init.d/rcS"),
    )
    b.plant("upnp-at-boot", "MiniUPnPd started by rcS", (SERVICE_UPNP, "/etc/init.d/rcS"))
    b.decoy("/usr/share/doc/README")
    b.decoy("/etc/banner")
    no_update_mechanism(b)


def camera(b: ImageBuilder) -> None:
    """An IP camera: BusyBox, Boa, uClibc-ng, OpenSSL 1.0.2k, the vendor's streaming app.
    telnetd started from inittab with ``-l /bin/sh``, a shell on the serial console, root's
    password the Mirai 'xmhdipc' (MD5 crypt), an RSA-1024 private key compiled into the P2P
    cloud client, the streaming app built without NX and canary, no update mechanism."""
    b.program("/bin/busybox", "BusyBox v1.20.2 (2014-07-03 16:14:24 CST) multi-call binary.",
              component=("busybox", "1.20.2"))  # fmt: skip
    for applet in ("sh", "ls", "cat"):
        b.link(f"/bin/{applet}", "busybox")
    b.link("/usr/sbin/telnetd", "/bin/busybox")
    catalogue_binary(b, "/bin/boa")
    catalogue_binary(b, "/usr/sbin/wpa_supplicant")
    catalogue_binary(b, "/usr/lib/libjpeg.so.62")
    b.library("/lib/libc.so.1", "uClibc-ng 1.0.30", component=("uclibc-ng", "1.0.30"))
    b.library("/usr/lib/libcrypto.so.1.0.0", "OpenSSL 1.0.2k  26 Jan 2017",
              component=("openssl", "1.0.2k"))  # fmt: skip
    b.program("/usr/bin/ipcam_app", "rtsp://%s:554/live/ch0", "H264 encoder init failed",
              flags=NO_NX_NO_CANARY)  # fmt: skip
    b.plant(
        "unhardened-streaming-app",
        "the streaming app has an executable stack and no stack canary",
        (NO_NX, "/usr/bin/ipcam_app"),
        (WEAK_HARDENING, "/usr/bin/ipcam_app"),
    )
    key = rfs.pem_private(rfs.rsa_key(1024)).decode()
    b.program("/usr/bin/p2pcloud", "p2p server %s:%d", key)
    b.plant(
        "embedded-rsa-1024-key",
        "an RSA-1024 private key compiled into the P2P cloud client",
        (PRIVATE_KEY, "/usr/bin/p2pcloud"),
        (WEAK_KEY, "/usr/bin/p2pcloud"),
    )
    b.text(
        "/etc/inittab",
        "::sysinit:/etc/init.d/rcS\n::respawn:/usr/sbin/telnetd -F -l /bin/sh\n"
        "ttyS0::respawn:-/bin/sh\n::restart:/sbin/init\n",
    )
    b.plant(
        "telnetd-shell",
        "telnetd started from inittab with '-l /bin/sh': a root shell without login",
        (SERVICE_TELNET, "/etc/inittab"),
        (TELNET_NO_LOGIN, "/etc/inittab"),
    )
    b.plant("console-shell", "a shell without login on ttyS0", (CONSOLE_SHELL, "/etc/inittab"))
    b.script(
        "/etc/init.d/rcS",
        """
        mount -a
        /bin/boa -c /etc/boa
        /usr/bin/ipcam_app &
        /usr/bin/p2pcloud -d &
        """,
    )
    b.text("/etc/boa/boa.conf", "Port 80\nUser root\nDocumentRoot /var/www\n")
    b.decoy("/usr/bin/helper")
    b.blob("/etc/sensor/calibration.bin", 64 * 1024, seed=12)
    b.accounts([Account("root", "xmhdipc", scheme="md5", uid=0, login_shell="/bin/sh")])
    b.plant(
        "mirai-root-password",
        "root's password is 'xmhdipc' (Mirai list) stored as MD5 crypt",
        (DEFAULT_PASSWORD, "/etc/shadow"),
        (WEAK_HASH, "/etc/shadow"),
    )
    no_update_mechanism(b)


def dvr(b: ImageBuilder) -> None:
    """A DVR booted from an initramfs: BusyBox, GoAhead 2.1.8, SQLite, OpenSSL 1.0.1u. Root's
    hash sits in /etc/passwd (no shadow): the Mirai 'xc3511' in DES crypt, with telnetd started
    by rcS; a TLS key and its self-signed certificate in one PEM file; no update mechanism."""
    b.program("/bin/busybox", "BusyBox v1.22.1 (2016-02-19 09:12:44 CST) multi-call binary.",
              component=("busybox", "1.22.1"))  # fmt: skip
    for applet in ("sh", "ls", "telnetd"):
        b.link(f"/bin/{applet}", "busybox")
    b.link("/init", "bin/busybox")
    catalogue_binary(b, "/bin/webs")
    catalogue_binary(b, "/usr/lib/libsqlite3.so.0")
    catalogue_binary(b, "/usr/lib/libpng16.so.16")
    catalogue_binary(b, "/usr/sbin/ntpd")
    b.library("/usr/lib/libssl.so.1.0.0", "OpenSSL 1.0.1u  22 Sep 2016",
              component=("openssl", "1.0.1u"))  # fmt: skip
    b.program("/usr/bin/dvr_main", "channel %d motion detected", "/mnt/hdd/record")
    b.decoy("/usr/share/man/curl.txt")
    b.accounts([Account("root", "xc3511", scheme="des", uid=0, login_shell="/bin/sh")], shadow=None)
    b.script(
        "/etc/init.d/rcS",
        """
        mount -t proc none /proc
        telnetd &
        /bin/webs &
        /usr/bin/dvr_main &
        """,
    )
    b.plant(
        "mirai-root-password",
        "root's DES hash of 'xc3511' (Mirai list) in /etc/passwd, telnetd started by rcS",
        (DEFAULT_PASSWORD, "/etc/passwd"),
        (WEAK_HASH, "/etc/passwd"),
        (SERVICE_TELNET, "/etc/init.d/rcS"),
        (REMOTE_LOGIN, "/etc/init.d/rcS"),
    )
    key = rfs.rsa_key(2048)
    pem = rfs.pem_private(key) + rfs.pem_certificate(rfs.certificate(key, "dvr.local"))
    b.text("/etc/ssl/dvr.pem", pem)
    b.plant(
        "shared-tls-identity",
        "one TLS key and self-signed certificate for every unit",
        (PRIVATE_KEY, "/etc/ssl/dvr.pem"),
        (CERT_SELF_SIGNED, "/etc/ssl/dvr.pem"),
    )
    no_update_mechanism(b)


def hub(b: ImageBuilder) -> None:
    """A smart-home hub (OpenWrt based): Mosquitto, curl/libcurl, SQLite, zlib, Lua, BusyBox,
    OpenSSL 1.1.1k, opkg with signature checks. The cloud password is in the UCI
    configuration, and the hub daemon looks for libraries in /tmp/lib first."""
    b.opkg(
        [
            Package("busybox", "1.31.1-1", "busybox", "1.31.1"),
            Package("mosquitto-ssl", "2.0.15-1", "mosquitto", "2.0.15"),
            Package("libopenssl1.1", "1.1.1k-1", "openssl", "1.1.1k"),
            Package("zlib", "1.2.11-3", "zlib", "1.2.11"),
            Package("hub-daemon", "3.2.0-1"),
        ]
    )
    b.program("/bin/busybox", "BusyBox v1.31.1 (2021-04-02 09:55:23 UTC) multi-call binary.",
              component=("busybox", "1.31.1"))  # fmt: skip
    b.link("/bin/sh", "busybox")
    catalogue_binary(b, "/usr/sbin/mosquitto")
    catalogue_binary(b, "/usr/bin/curl")
    catalogue_binary(b, "/usr/lib/libcurl.so.4")
    catalogue_binary(b, "/lib/libz.so.1", at="/usr/lib/libz.so.1")
    catalogue_binary(b, "/usr/bin/lua")
    catalogue_binary(b, "/usr/lib/libevent-2.1.so.7")
    b.library("/usr/lib/libcrypto.so.1.1", "OpenSSL 1.1.1k  25 Mar 2021",
              component=("openssl", "1.1.1k"))  # fmt: skip
    b.library("/usr/lib/libssl.so.1.1", "OpenSSL 1.1.1k  25 Mar 2021", "TLSv1.3",
              component=("openssl", "1.1.1k"))  # fmt: skip
    # The vendor daemon links zlib 1.3 statically (the system library is 1.2.11).
    b.program("/usr/bin/hubd", "zigbee: joined %04x", "/etc/config/cloud",
              " deflate 1.3 Copyright 1995-2023 Jean-loup Gailly and Mark Adler ",
              " inflate 1.3 Copyright 1995-2023 Mark Adler ",
              component=("zlib", "1.3"),
              flags=(*HARDENED_PROGRAM, "-Wl,--disable-new-dtags,-rpath,/tmp/lib"))  # fmt: skip
    b.plant(
        "rpath-in-tmp",
        "hubd loads libraries from /tmp/lib (writable by any process) first",
        (INSECURE_RPATH, "/usr/bin/hubd"),
    )
    b.text(
        "/etc/config/cloud",
        "config cloud 'main'\n\toption server 'mqtts://cloud.example.com:8883'\n"
        "\toption username 'hub'\n\toption password 'Hub-Cloud-2019'\n",
    )
    b.plant(
        "cloud-password",
        "the cloud account's password is the same in every unit",
        (HARDCODED_PASSWORD, "/etc/config/cloud"),
    )
    b.text("/etc/inittab", PROCD_INITTAB)
    b.decoy("/etc/hosts")
    b.script(
        "/etc/init.d/hubd",
        """
        START=90
        USE_PROCD=1
        start_service() {
            procd_open_instance
            procd_set_param command /usr/bin/hubd -c /etc/config/cloud
            procd_close_instance
        }
        """,
    )
    b.accounts(
        [
            Account("root", None, uid=0, login_shell="/bin/ash"),
            Account("mosquitto", None, uid=200, login_shell="/bin/false", home="/var/run"),
        ]
    )
    signed_opkg(b)


def nas(b: ImageBuilder) -> None:
    """A home NAS: Samba 4.10.2, vsftpd, bash 4.2.37, lighttpd with PHP, BusyBox, OpenSSL
    1.0.2u. vsftpd is started from inetd while the 'admin' account has no password, the web
    server's certificate is self-signed and expired, and only an unsigned vendor update tool
    exists."""
    b.program("/bin/busybox", "BusyBox v1.24.1 (2017-11-30 08:01:12 CST) multi-call binary.",
              component=("busybox", "1.24.1"))  # fmt: skip
    b.link("/bin/sh", "busybox")
    catalogue_binary(b, "/usr/lib/libsmbconf.so.0")
    catalogue_binary(b, "/usr/sbin/vsftpd")
    catalogue_binary(b, "/bin/bash")
    catalogue_binary(b, "/usr/sbin/lighttpd")
    catalogue_binary(b, "/usr/bin/php-cgi")
    catalogue_binary(b, "/usr/sbin/minidlnad")
    catalogue_binary(b, "/usr/lib/libexpat.so.1")
    b.library("/usr/lib/libcrypto.so.1.0.0", "OpenSSL 1.0.2u  20 Dec 2019",
              component=("openssl", "1.0.2u"))  # fmt: skip
    b.program("/usr/sbin/fw_upgrade", "usage: fw_upgrade <image>", "/dev/mtdblock3")
    b.text(
        "/etc/inetd.conf",
        "ftp stream tcp nowait root /usr/sbin/vsftpd vsftpd /etc/vsftpd.conf\n",
    )
    b.text("/etc/vsftpd.conf", "listen=NO\nlocal_enable=YES\nwrite_enable=YES\n")
    b.text("/etc/inittab", "::sysinit:/etc/init.d/rcS\n")
    b.script(
        "/etc/init.d/rcS",
        """
        inetd /etc/inetd.conf
        /usr/sbin/lighttpd -f /etc/lighttpd/lighttpd.conf
        """,
    )
    b.plant("ftp-at-boot", "vsftpd started from inetd", (SERVICE_FTP, "/etc/inetd.conf"))
    b.accounts(
        [
            Account("root", None, uid=0, login_shell="/bin/sh"),
            Account("admin", "", "plain", uid=1000, login_shell="/bin/sh", home="/home/admin"),
        ]
    )
    b.plant(
        "empty-admin-password",
        "'admin' has no password and a login shell, FTP accepts password logins",
        (EMPTY_PASSWORD, "/etc/shadow"),
        (REMOTE_LOGIN, "/etc/inetd.conf"),
    )
    cert = rfs.certificate(rfs.ec_key(), "nas.local", expired=True)
    b.text("/etc/lighttpd/server.crt", rfs.pem_certificate(cert))
    b.plant(
        "expired-self-signed-certificate",
        "the web server's certificate is self-signed and expired",
        (CERT_EXPIRED, "/etc/lighttpd/server.crt"),
        (CERT_SELF_SIGNED, "/etc/lighttpd/server.crt"),
    )
    b.plant(
        "unsigned-update-tool",
        "the vendor's fw_upgrade writes any image to flash",
        (NO_SIGNED_UPDATE, "/"),
    )


def clean(b: ImageBuilder) -> None:
    """A well-built device: locked accounts, a getty on the console, Dropbear with password
    logins disabled, every binary hardened, a CA bundle in the trust store, signed opkg."""
    rfs.clean_rootfs(b.root)
    b.opkg(
        [
            Package("busybox", "1.36.1-1", "busybox", "1.36.1"),
            Package("dropbear", "2022.83-1", "dropbear", "2022.83"),
            Package("libopenssl3", "3.0.13-1", "openssl", "3.0.13"),
            Package("dnsmasq", "2.90-2", "dnsmasq", "2.90"),
            Package("libc", "1.2.4-4"),
        ]
    )
    b.program("/bin/busybox", "BusyBox v1.36.1 (2024-03-22 22:09:42 UTC) multi-call binary.",
              component=("busybox", "1.36.1"))  # fmt: skip
    b.link("/bin/ash", "busybox")
    b.library("/lib/ld-musl-aarch64.so.1", "musl libc (aarch64)\x001.2.4\x00",
              component=("musl", "1.2.4"))  # fmt: skip
    b.link("/sbin/getty", "../bin/busybox")
    b.program("/usr/sbin/dropbear", "SSH-2.0-dropbear_2022.83", "dropbear_prng",
              component=("dropbear", "2022.83"))  # fmt: skip
    b.library("/usr/lib/libcrypto.so.3", "OpenSSL 3.0.13 30 Jan 2024",
              component=("openssl", "3.0.13"))  # fmt: skip
    b.library("/usr/lib/libssl.so.3", "OpenSSL 3.0.13 30 Jan 2024", "TLSv1.3",
              component=("openssl", "3.0.13"))  # fmt: skip
    b.program("/usr/sbin/dnsmasq", "dnsmasq-2.90", "Dnsmasq version %s  %s\n",
              component=("dnsmasq", "2.90"))  # fmt: skip
    b.script(
        "/etc/init.d/S50dropbear",
        """
        case "$1" in
          start) /usr/sbin/dropbear -s -g -p 22 -r /etc/dropbear/dropbear_ed25519_host_key ;;
          stop) killall dropbear ;;
        esac
        """,
    )
    b.blob("/usr/share/zoneinfo.bin", 32 * 1024, seed=13)
    b.script(
        "/etc/init.d/S60dnsmasq",
        """
        case "$1" in
          start) /usr/sbin/dnsmasq -C /etc/dnsmasq.conf ;;
        esac
        """,
    )


# -- the gateway: real Debian binaries --------------------------------------------------------

#: Debian package -> component it is.
DEBIAN_PACKAGES = {"busybox-static": "busybox", "dropbear-bin": "dropbear", "libssl3": "openssl"}


def debian_packages() -> dict[str, Path]:
    """The gateway's .deb files (downloaded once into the test cache)."""
    if shutil.which("dpkg-deb") is None:
        raise DebianUnavailable("dpkg-deb is not installed")
    try:
        return {name: binaries.debian_package(name) for name in DEBIAN_PACKAGES}
    except (RuntimeError, OSError) as e:
        raise DebianUnavailable(f"Debian packages cannot be downloaded: {e}") from e


def gateway(b: ImageBuilder, debs: dict[str, Path]) -> None:
    """A Debian 12-based industrial gateway: the real busybox-static, dropbear-bin and libssl3
    release binaries with a dpkg database that records them, Mosquitto built for it, APT with
    the archive keys. An 'admin' account keeps the Mirai password 'admin' while Dropbear is
    enabled through systemd, and the Wi-Fi uplink's key is in wpa_supplicant.conf."""
    from iotwarden.firmware.identify.packages import upstream_version

    packages = []
    before = set(b.root.rglob("*"))
    for name, deb in debs.items():
        binaries.extract_deb(deb, b.root)
        version = binaries.deb_field(deb, "Version")
        component = DEBIAN_PACKAGES[name]
        packages.append(Package(name, version, component, upstream_version(version)))
        for path in sorted(b.root.rglob("*")):
            relative = "/" + path.relative_to(b.root).as_posix()
            if path.is_file() and not path.is_symlink() and _owned_by(name, relative):
                b.component(component, upstream_version(version), relative)
    from_debian = sorted(
        "/" + p.relative_to(b.root).as_posix()
        for p in set(b.root.rglob("*")) - before
        if p.is_file() and not p.is_symlink()
    )
    b.unjudged.append(
        Unjudged(
            (NO_NX, WEAK_HARDENING, INSECURE_RPATH),
            tuple(from_debian),
            "real Debian release binaries: their hardening is Debian's build, not planted",
        )
    )
    packages += [
        Package("base-files", "12.4+deb12u5"),
        Package("mosquitto", "2.0.11-1.2+deb12u1", "mosquitto", "2.0.11"),
    ]
    b.dpkg(packages)
    b.program("/usr/sbin/mosquitto", "2.0.11\x00mosquitto version %s starting",
              component=("mosquitto", "2.0.11"))  # fmt: skip
    b.text(
        "/etc/os-release",
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
        'VERSION_ID="12"\nID=debian\n',
    )
    b.text("/etc/apt/sources.list", "deb http://deb.debian.org/debian bookworm main\n")
    b.text("/etc/apt/trusted.gpg.d/debian-archive-bookworm-stable.asc",
           "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEY865UxYJKwYBBAHaRw8BAQdA\n"
           "-----END PGP PUBLIC KEY BLOCK-----\n")  # fmt: skip
    b.text(
        "/lib/systemd/system/dropbear.service",
        "[Unit]\nDescription=Lightweight SSH server\n\n[Service]\n"
        "ExecStart=/usr/sbin/dropbear -F -E -p 22\n\n[Install]\nWantedBy=multi-user.target\n",
    )
    b.link(
        "/etc/systemd/system/multi-user.target.wants/dropbear.service",
        "/lib/systemd/system/dropbear.service",
    )
    b.accounts(
        [
            Account("root", None, uid=0, login_shell="/bin/sh"),
            Account("admin", "admin", scheme="sha512", uid=1000, home="/home/admin"),
            Account("mosquitto", None, uid=101, login_shell="/usr/sbin/nologin", home="/var/lib"),
        ]
    )
    b.plant(
        "mirai-admin-password",
        "'admin' keeps the password 'admin' (Mirai list) and Dropbear is enabled in systemd",
        (DEFAULT_PASSWORD, "/etc/shadow"),
        (REMOTE_LOGIN, "/lib/systemd/system/dropbear.service"),
    )
    b.text(
        "/etc/wpa_supplicant/wpa_supplicant.conf",
        'ctrl_interface=/run/wpa_supplicant\nnetwork={\n\tssid="plant-floor"\n'
        '\tpsk="Uplink-Floor-7731"\n}\n',
        mode=0o600,
    )
    b.plant(
        "wifi-key-in-image",
        "the uplink's Wi-Fi key is written in wpa_supplicant.conf",
        (WIFI_PSK, "/etc/wpa_supplicant/wpa_supplicant.conf"),
    )


def _owned_by(package: str, path: str) -> bool:
    """The files of a Debian package that carry its component's version string."""
    wanted = {
        "busybox-static": ("/bin/busybox",),
        "dropbear-bin": ("/usr/sbin/dropbear",),
        "libssl3": ("/libcrypto.so.3",),
    }[package]
    return any(path == w or (w.startswith("/lib") and path.endswith(w)) for w in wanted)


# --------------------------------------------------------------------------------------------
# Containers


def _squashfs(root: Path, out: Path, compression: str) -> bytes:
    return images.squashfs(root, out, compression=compression).read_bytes()


#: What a container puts in the image besides the root file system: (component, version,
#: where), each one planted as expected components too.
Packed = tuple[bytes, tuple[tuple[str, str, str], ...]]

#: The boot loader banner ``tests.firmware.images.raw_flash_dump`` writes at offset 0.
RAW_FLASH_BOOTLOADER = ("u-boot", "2020.04")


def pack_trx(root: Path, work: Path) -> Packed:
    """TRX v1: the LZMA kernel, then SquashFS (xz) -- a Broadcom router's firmware file. The
    kernel is the release the router's opkg database and kernel modules name."""
    kernel = _kernel_blob(
        "Linux version 5.4.179 (builder@buildhost) (mipsel-openwrt-linux-musl-gcc (OpenWrt GCC "
        "8.4.0 r16554-1d4dea6d4f) 8.4.0, GNU ld (GNU Binutils) 2.34) #0 SMP Sat Apr 16 12:59:34 "
        "2022"
    )
    data = images.trx([kernel, _squashfs(root, work / "root.sqsh", "xz")])
    return data, (("linux_kernel", "5.4.179", "TRX partition 0 (LZMA kernel)"),)


def pack_uimage(root: Path, work: Path) -> Packed:
    """A U-Boot legacy image of type 'filesystem' around SquashFS (lzo)."""
    payload = _squashfs(root, work / "root.sqsh", "lzo")
    return images.uimage(payload, name="hub rootfs", image_type="filesystem"), ()


def pack_flash(root: Path, work: Path) -> Packed:
    """A raw SPI flash dump: U-Boot, a uImage kernel, SquashFS (lz4) at 1 MiB, erased flash.
    The boot loader and the kernel are components of the firmware as much as the rootfs."""
    kernel = _kernel_blob(
        "Linux version 3.10.108 (nas@build) (gcc version 4.8.3 (Buildroot 2014.08)) #1 SMP "
        "Thu Nov 30 08:01:12 CST 2017",
        seed=9,
    )
    rootfs_image = _squashfs(root, work / "root.sqsh", "lz4")
    data = images.raw_flash_dump(kernel, rootfs_image, rootfs_offset=0x100000)
    return data, (
        (*RAW_FLASH_BOOTLOADER, "flash offset 0 (boot loader)"),
        ("linux_kernel", "3.10.108", "flash offset 0x10000 (uImage kernel, LZMA)"),
    )


@dataclass(frozen=True)
class ImageSpec:
    """One corpus image: its file name, how its tree is laid out, how it is packed."""

    name: str
    profile: str
    container: str
    layout: Callable[[ImageBuilder], None]
    pack: Callable[[Path, Path], Packed]
    clean: bool = False


def _fs(tool: Callable[[Path, Path], Path]) -> Callable[[Path, Path], Packed]:
    def pack(root: Path, work: Path) -> Packed:
        return tool(root, work / "image").read_bytes(), ()

    return pack


def _sqfs(compression: str) -> Callable[[Path, Path], Packed]:
    def pack(root: Path, work: Path) -> Packed:
        return _squashfs(root, work / "root.sqsh", compression), ()

    return pack


def pack_ext4(root: Path, work: Path) -> Packed:
    """ext4 sized for the tree (the real Debian binaries take a few MiB)."""
    used = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    size_mb = max(8, 2 * used // (1024 * 1024) + 8)
    return images.ext4(root, work / "image", size_mb=size_mb).read_bytes(), ()


def _gateway_layout(b: ImageBuilder) -> None:
    gateway(b, debian_packages())


SPECS: tuple[ImageSpec, ...] = (
    ImageSpec("router.trx", "router", "TRX v1 (LZMA kernel + SquashFS xz)", router, pack_trx),
    ImageSpec("legacy-router.sqsh", "legacy-router", "SquashFS 4.0 (gzip)", legacy_router,
              _sqfs("gzip")),
    ImageSpec("camera.jffs2", "camera", "JFFS2 (little-endian)", camera, _fs(images.jffs2)),
    ImageSpec("dvr.cpio", "dvr", "cpio (newc, initramfs)", dvr, _fs(images.cpio_newc)),
    ImageSpec("gateway.ext4", "gateway", "ext4", _gateway_layout, pack_ext4),
    ImageSpec("hub.uimage", "hub", "uImage (filesystem) around SquashFS (lzo)", hub, pack_uimage),
    ImageSpec("nas-flash.bin", "nas", "raw flash dump (U-Boot, uImage kernel, SquashFS lz4)",
              nas, pack_flash),
    ImageSpec("clean.sqsh", "clean", "SquashFS 4.0 (zstd)", clean, _sqfs("zstd"), clean=True),
)  # fmt: skip


@dataclass(frozen=True)
class CorpusImage:
    spec: ImageSpec
    image: Path
    expected_file: Path

    @property
    def expected(self) -> Expected:
        return Expected.load(self.expected_file)


def build_image(spec: ImageSpec, out_dir: Path, *, workers: int = 2) -> CorpusImage:
    """Lay out, compile, pack ``spec`` into ``out_dir`` and write its expected-findings file.
    Raises :class:`DebianUnavailable` for the gateway when its packages cannot be had and
    ``images.MissingTool`` when a packing tool is missing."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"corpus-{spec.profile}-", dir=out_dir) as tmp:
        work = Path(tmp)
        builder = ImageBuilder(work / "rootfs", spec.profile, clean=spec.clean)
        spec.layout(builder)
        builder.compile(workers)
        image = out_dir / spec.name
        data, outside = spec.pack(builder.root, work)
        image.write_bytes(data)
        for name, version, where in outside:
            builder.component(name, version, where)
    expected_file = out_dir / (spec.name + EXPECTED_SUFFIX)
    expected = builder.expected(spec.name, spec.container)
    expected_file.write_text(json.dumps(expected.to_dict(), indent=2) + "\n", encoding="utf-8")
    return CorpusImage(spec, image, expected_file)


def build_corpus(
    out_dir: Path, specs: Sequence[ImageSpec] = SPECS
) -> tuple[list[CorpusImage], dict[str, str]]:
    """Every image of ``specs`` built into ``out_dir``; images that cannot be built (no
    Debian packages offline, a missing tool) are left out with the reason, by name."""
    built: list[CorpusImage] = []
    missing: dict[str, str] = {}
    for spec in specs:
        try:
            built.append(build_image(spec, out_dir))
        except DebianUnavailable as e:
            missing[spec.name] = str(e)
        except images.MissingTool as e:
            missing[spec.name] = f"{e} is not installed (./dev test installs it)"
    return built, missing


# Regenerate by hand (from the repository): python -m tests.firmware.corpus.generator DIR
if __name__ == "__main__":  # pragma: no cover
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else os.getcwd())
    done, skipped = build_corpus(target)
    for item in done:
        sys.stdout.write(f"{item.image}\n")
    for name, reason in skipped.items():
        sys.stdout.write(f"{name}: not built ({reason})\n")
