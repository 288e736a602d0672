"""Benchmark: firmware analysis of a generated ~16 MB SquashFS image (~1,500 files, 60 known
components), against cve-bin-tool as an external peer on the same extracted tree.

The image is an OpenWrt-like root file system: 29 components as real Debian bookworm release
binaries (``apt-get download``; their versions read from the packages' control files), 31 as
gcc-built binaries embedding the exact version strings of historical releases
(``tests/firmware/binaries.py``), ~400 distinct vendor ELF programs, libraries and kernel
modules that carry no component, init and CGI scripts, configuration, a web UI, data blobs and
BusyBox applet links; plus planted weaknesses (a Mirai default root password, telnet at boot,
a private key, a hard-coded upload password, an executable stack).

Measured, each in a fresh process (peak RSS sampled over its process tree):

- first analysis of the image with an empty store, re-analysis (per-file cache warm), and the
  analysis of a "new version" of the image that changes a few files;
- our analysis and ``cve-bin-tool`` (its own virtualenv, ``.tools/cve-bin-tool``, offline,
  with a one-placeholder-CVE local database) on the same tree extracted with ``unsquashfs``:
  wall time, the ratio ours / cve-bin-tool, and each tool's component recall and precision
  against the known set (also on the components cve-bin-tool has a checker for).

Targets (issue 4): first analysis <= 15 s, re-analysis <= 2 s, faster than cve-bin-tool with at
least its recall.

    ./dev bench firmware [--workdir DIR] [--regenerate] [--no-peer]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the test generators (tests.firmware.*)

from intel_ingest import run_measured  # noqa: E402

TARGET_IMAGE_BYTES = 16 * 1024 * 1024
TARGET_FILES = 1_500
PRODUCT = ("Bench Networks", "BR-1500")
PEER = REPO / ".tools" / "cve-bin-tool"
GENERATOR_VERSION = "1"  # bump when the generated image changes


# --- the known components ---------------------------------------------------------------------


@dataclass(frozen=True)
class DebianComponent:
    package: str  # Debian bookworm binary package
    component: str  # our component name (signatures.yaml id)


#: Real release binaries: what a vendor build of these projects carries, neither tool's choice.
DEBIAN = (
    DebianComponent("busybox-static", "busybox"),
    DebianComponent("dropbear-bin", "dropbear"),
    DebianComponent("libssl3", "openssl"),
    DebianComponent("dnsmasq-base", "dnsmasq"),
    DebianComponent("curl", "curl"),
    DebianComponent("libcurl4", "libcurl"),
    DebianComponent("libsqlite3-0", "sqlite"),
    DebianComponent("zlib1g", "zlib"),
    DebianComponent("libexpat1", "expat"),
    DebianComponent("libpng16-16", "libpng"),
    DebianComponent("lighttpd", "lighttpd"),
    DebianComponent("libpcap0.8", "libpcap"),
    DebianComponent("openssh-server", "openssh"),
    DebianComponent("hostapd", "hostapd"),
    DebianComponent("libjpeg62-turbo", "libjpeg-turbo"),
    DebianComponent("xz-utils", "xz"),
    DebianComponent("libncursesw6", "ncurses"),
    DebianComponent("libssh2-1", "libssh2"),
    DebianComponent("libevent-2.1-7", "libevent"),
    DebianComponent("mosquitto", "mosquitto"),
    DebianComponent("libdbus-1-3", "dbus"),
    DebianComponent("vsftpd", "vsftpd"),
    DebianComponent("libmbedcrypto7", "mbedtls"),
    DebianComponent("lua5.1", "lua"),
    DebianComponent("tinyproxy-bin", "tinyproxy"),
    DebianComponent("ppp", "ppp"),
    DebianComponent("iptables", "iptables"),
    DebianComponent("openvpn", "openvpn"),
    DebianComponent("socat", "socat"),
)
#: Where a package's files are kept (a firmware build carries no docs, man pages or units).
DEBIAN_KEEP = ("bin/", "sbin/", "usr/bin/", "usr/sbin/", "lib/", "usr/lib/")
DEBIAN_DROP = ("lib/systemd/", "usr/lib/systemd/", "usr/lib/tmpfiles.d/", "usr/lib/sysusers.d/")

#: gcc-built binaries from tests/firmware/binaries.py CATALOGUE (components not taken from
#: Debian; one version each; one C library).
CATALOGUE_PATHS = (
    "/usr/lib/libressl/libtls.so.20",
    "/usr/lib/libwolfssl.so.24",
    "/bin/boa",
    "/bin/webs",
    "/usr/sbin/mini_httpd",
    "/usr/sbin/nginx",
    "/usr/sbin/wpa_supplicant",
    "/usr/sbin/miniupnpd",
    "/usr/lib/libupnp.so.6",
    "/lib/libc.so.6",
    "/boot/vmlinux",
    "/boot/u-boot.bin",
    "/usr/lib/libsmbconf.so.0",
    "/usr/sbin/proftpd",
    "/usr/lib/ipsec/charon",
    "/usr/sbin/avahi-daemon",
    "/bin/bash",
    "/usr/sbin/ntpd",
    "/usr/sbin/zebra",
    "/usr/sbin/dhcpd",
    "/usr/lib/libtiff.so.5",
    "/usr/lib/libarchive.so.13",
    "/usr/sbin/appweb",
    "/usr/bin/iotd",
    "/usr/bin/webserver",
    "/sbin/iwconfig",
    "/etc/openwrt_release",
    "/www/js/jquery.min.js",
    "/usr/sbin/minidlnad",
    "/usr/lib/libssh.so.4",
    "/bin/mount",
)
KERNEL = "4.14.180"  # the vmlinux above; the modules carry it in their vermagic

#: Planted weaknesses: finding ids the analysis must report.
PLANTED = {
    "IW-FW-ACCOUNT-DEFAULT-PASSWORD": "root's password is a Mirai default (xc3511)",
    "IW-FW-SERVICE-TELNET": "telnetd respawned from /etc/inittab",
    "IW-FW-REMOTE-LOGIN-DEFAULT-PASSWORD": "telnet login with that default password",
    "IW-FW-KEY-PRIVATE-KEY": "/etc/ssl/private/server.key",
    "IW-FW-CREDS-URL": "an FTP upload URL with a password in /usr/libexec/fw-upload.sh",
    "IW-FW-ELF-NO-NX": "vendor programs linked with an executable stack",
}


def wordlist(text: str) -> tuple[str, ...]:
    return tuple(text.split())


WORDS = wordlist(
    "wan lan radio band channel mesh node link port vlan bridge route table zone rule forward "
    "accept drop reject lease pool relay guest client station scan signal beacon portal login "
    "status system time sync backup restore upgrade reboot factory reset update schedule "
    "timer event alarm sensor camera stream record motion audio video media share disk usb "
    "printer cloud remote agent monitor report metric health watchdog button led power"
)
DAEMONS = wordlist(
    "netifd ubusd procd rpcd logd odhcpd hotplug wand lanmgr meshd ledctl btnd wdtd cfgmgr "
    "updater cloudagent camsvc streamd storaged usbmgr prsvc timesyncd evtd alarmd sensord "
    "portald guestd qosd firewalld upnpctl diagd "
)


def words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


# --- generated files --------------------------------------------------------------------------


class Tree:
    """The root file system being generated; counts regular files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def host(self, image_path: str) -> Path:
        return self.root / image_path.lstrip("/")

    def write(self, image_path: str, content: bytes | str, mode: int = 0o644) -> Path:
        path = self.host(image_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        path.chmod(mode)
        return path

    def link(self, image_path: str, target: str) -> None:
        path = self.host(image_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() and not path.is_symlink():
            path.symlink_to(target)

    def files(self) -> int:
        return sum(1 for p in self.root.rglob("*") if p.is_file() and not p.is_symlink())


PAD_MARK = b"IWPAD"
NAME_MARK = b"IWNAME"
NAME_SLOT = 32


@dataclass(frozen=True)
class Template:
    """A compiled vendor ELF with a name slot and a pad that variants overwrite in place."""

    data: bytes
    name_at: int
    pad_at: int
    pad_len: int
    library: bool


def compile_templates(workdir: Path) -> list[Template]:
    """Vendor programs and libraries of a few sizes (two of them with an executable stack, a
    planted weakness), compiled once; variants are made by overwriting bytes."""
    from tests.firmware.binaries import compile_library, compile_program

    shapes = [
        ("prog-s", 6_000, False, ()),
        ("prog-m", 24_000, False, ()),
        ("prog-l", 40_000, False, ()),
        ("lib-s", 8_000, True, ()),
        ("lib-m", 30_000, True, ()),
        ("prog-x", 10_000, False, ("-Wl,-z,execstack", "-fno-stack-protector")),
    ]
    out = []
    for name, pad, library, flags in shapes:
        strings = [
            NAME_MARK + b"N" * NAME_SLOT,
            "Usage: %s [-f] [-c config] [-p pidfile]\n",
            "/var/run/%s.pid",
            "%s: cannot open %s: %s\n",
            "ubus call %s %s '{}'",
            "nvram_get(%s) failed",
            PAD_MARK + b"P" * pad,
        ]
        target = workdir / f"{name}{'.so' if library else ''}"
        if library:
            compile_library(strings, target, flags=flags)
        else:
            compile_program(strings, target, flags=flags)
        data = target.read_bytes()
        name_at = data.index(NAME_MARK + b"N" * NAME_SLOT)
        pad_at = data.index(PAD_MARK + b"P" * pad) + len(PAD_MARK)
        out.append(Template(data, name_at, pad_at, pad, library))
    return out


def elf_variant(template: Template, name: str, rng: random.Random) -> bytes:
    """A distinct vendor binary: its own name and pad (part noise, part repeated tables, so it
    compresses like code does)."""
    data = bytearray(template.data)
    slot = (NAME_MARK + name.encode()[: NAME_SLOT - 1]).ljust(len(NAME_MARK) + NAME_SLOT, b"\0")
    data[template.name_at : template.name_at + len(slot)] = slot
    noisy = int(template.pad_len * rng.uniform(0.3, 0.7))
    table = bytes(rng.randrange(256) for _ in range(64))
    pad = rng.randbytes(noisy) + (table * (template.pad_len // 64 + 1))[: template.pad_len - noisy]
    data[template.pad_at : template.pad_at + template.pad_len] = pad
    return bytes(data)


def module_template(workdir: Path) -> Template:
    from tests.firmware.binaries import compile_object

    target = workdir / "module.ko"
    compile_object(
        [
            "license=GPL",
            f"vermagic={KERNEL} SMP mod_unload MIPS32_R2 32BIT ",
            NAME_MARK + b"N" * NAME_SLOT,
            b"description=" + PAD_MARK + b"P" * 3_000,
            "depends=",
        ],
        target,
    )
    data = target.read_bytes()
    return Template(
        data,
        data.index(NAME_MARK + b"N" * NAME_SLOT),
        data.index(PAD_MARK + b"P" * 3_000) + len(PAD_MARK),
        3_000,
        False,
    )


def module_variant(template: Template, name: str, rng: random.Random) -> bytes:
    data = bytearray(template.data)
    slot = (b"name=" + name.encode()).ljust(len(NAME_MARK) + NAME_SLOT, b"\0")
    data[template.name_at : template.name_at + len(slot)] = slot
    text = words(rng, 600).encode()[: template.pad_len].ljust(template.pad_len, b" ")
    data[template.pad_at : template.pad_at + template.pad_len] = text
    return bytes(data)


def add_debian(tree: Tree, scratch: Path) -> dict[str, dict[str, str]]:
    """The Debian packages' binaries and libraries; component -> expected version and source."""
    from tests.firmware.binaries import debian_package

    from iotwarden.firmware.identify.packages import upstream_version

    dpkg = shutil.which("dpkg-deb")
    if dpkg is None:
        raise SystemExit("dpkg-deb is needed to unpack the Debian packages")
    expected = {}
    for item in DEBIAN:
        deb = debian_package(item.package)
        staging = scratch / item.package
        staging.mkdir(parents=True, exist_ok=True)
        subprocess.run([dpkg, "-x", str(deb), str(staging)], check=True, timeout=120)
        version = subprocess.run(
            [dpkg, "-f", str(deb), "Version"], check=True, capture_output=True, text=True
        ).stdout.strip()
        for path in sorted(staging.rglob("*")):
            relative = path.relative_to(staging).as_posix()
            if path.is_dir() and not path.is_symlink():
                continue
            if not relative.startswith(DEBIAN_KEEP) or relative.startswith(DEBIAN_DROP):
                continue
            target = tree.host(relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink():
                if not target.exists() and not target.is_symlink():
                    target.symlink_to(os.readlink(path))
            else:
                shutil.copy2(path, target)
        expected[item.component] = {
            "version": upstream_version(version),
            "source": f"Debian {item.package} {version}",
        }
    return expected


def add_catalogue(tree: Tree) -> dict[str, dict[str, str]]:
    from tests.firmware.binaries import CATALOGUE, build_all

    specs = [spec for spec in CATALOGUE if spec.path in CATALOGUE_PATHS]
    assert len(specs) == len(CATALOGUE_PATHS), "a catalogue path is gone"
    build_all(specs, tree.root)
    return {
        str(spec.component): {"version": str(spec.version), "source": f"gcc-built {spec.path}"}
        for spec in specs
    }


def add_system(tree: Tree, rng: random.Random) -> None:
    """Accounts, boot, keys and the planted weaknesses."""
    from tests.firmware.rootfs import (
        Account,
        RootFS,
        certificate,
        pem_certificate,
        pem_private,
        rsa_key,
        write_accounts,
    )

    fs = RootFS(tree.root)
    write_accounts(
        fs,
        [
            Account("root", "xc3511", "md5", uid=0, login_shell="/bin/ash"),
            Account("daemon", None, uid=1, login_shell="/bin/false", home="/var"),
            Account("network", None, uid=101, login_shell="/bin/false", home="/var"),
            Account("nobody", None, uid=65534, login_shell="/bin/false", home="/var"),
        ],
    )
    tree.write("/etc/group", "root:x:0:\ndaemon:x:1:\nnetwork:x:101:\nnogroup:x:65534:\n")
    tree.write(
        "/etc/inittab",
        "::sysinit:/etc/init.d/rcS S boot\n::shutdown:/etc/init.d/rcS K shutdown\n"
        "::respawn:/usr/sbin/telnetd -F -l /bin/login\n"
        "ttyS0::askfirst:/usr/libexec/login.sh\n",
    )
    tree.write(
        "/usr/libexec/fw-upload.sh",
        "#!/bin/sh\n# send the diagnostics bundle to the vendor\n"
        "tar czf /tmp/diag.tgz /tmp/log /etc/config\n"
        "curl -s -T /tmp/diag.tgz ftp://support:Upl0ad2024@logs.vendor.example/incoming/\n",
        0o755,
    )
    key = rsa_key(2048)
    tree.write("/etc/ssl/private/server.key", pem_private(key), 0o600)
    tree.write("/etc/ssl/certs/server.crt", pem_certificate(certificate(key, "router.lan")))
    tree.write("/etc/banner", f"  BR-1500 firmware\n  {words(rng, 6)}\n")
    tree.write("/etc/hostname", "BR-1500\n")
    tree.write("/etc/opkg.conf", "dest root /\nlists_dir ext /var/opkg-lists\n")
    applets = wordlist(
        "ash sh ls cat cp mv rm mkdir rmdir ln chmod chown echo grep sed awk vi ps kill sleep "
        "date df du dmesg mount umount ping ping6 netstat ifconfig route ip logger login passwd "
        "tar gzip gunzip uname uptime free top wget udhcpc sync reboot poweroff halt"
    )
    for applet in applets:
        tree.link(f"/bin/{applet}", "busybox")
    for applet in ("telnetd", "crond", "ntpd-bb", "syslogd", "klogd", "httpd-bb", "udhcpd"):
        tree.link(f"/usr/sbin/{applet}", "../../bin/busybox")
    for applet in ("init", "reboot", "ifup", "ifdown", "hotplug-call", "mdev"):
        tree.link(f"/sbin/{applet}", "../bin/busybox")


def add_scripts(tree: Tree, rng: random.Random, count: int) -> None:
    for i in range(count):
        daemon = DAEMONS[i % len(DAEMONS)]
        kind = i % 3
        if kind == 0:
            body = (
                f"#!/bin/sh /etc/rc.common\nSTART={10 + i % 89}\nSTOP={90 - i % 80}\n"
                f"USE_PROCD=1\n\nstart_service() {{\n\tprocd_open_instance\n"
                f"\tprocd_set_param command /usr/sbin/{daemon} -c /etc/config/{daemon}\n"
                f"\tprocd_set_param respawn\n\tprocd_close_instance\n}}\n"
                f"# {words(rng, 12)}\n"
            )
            tree.write(f"/etc/init.d/{daemon}{i // len(DAEMONS) or ''}", body, 0o755)
        elif kind == 1:
            body = "#!/bin/sh\n. /lib/functions.sh\n" + "".join(
                f'config_get {w} "$1" {w}\n[ -n "${w}" ] && logger -t {daemon} "{w} set"\n'
                for w in rng.sample(WORDS, 6)
            )
            tree.write(f"/lib/functions/{daemon}-{i}.sh", body, 0o755)
        else:
            body = (
                '#!/bin/sh\necho "Content-Type: application/json"\necho\n'
                f"ubus call {daemon} status 2>/dev/null"
                f' || echo \'{{"error": "{words(rng, 3)}"}}\'\n'
            )
            tree.write(f"/www/cgi-bin/{daemon}-{i}.cgi", body, 0o755)


def add_configs(tree: Tree, rng: random.Random, count: int) -> None:
    for i in range(count):
        daemon = DAEMONS[i % len(DAEMONS)]
        kind = i % 4
        if kind == 0:
            sections = "".join(
                f"config {rng.choice(WORDS)} '{rng.choice(WORDS)}{j}'\n"
                + "".join(f"\toption {w} '{rng.randint(0, 4096)}'\n" for w in rng.sample(WORDS, 5))
                + "\n"
                for j in range(rng.randint(1, 6))
            )
            tree.write(f"/etc/config/{daemon}{i // 4 or ''}", sections)
        elif kind == 1:
            lines = "".join(f"{w}={rng.randint(0, 999)}\n" for w in rng.sample(WORDS, 12))
            tree.write(f"/etc/{daemon}.d/{i:03d}.conf", f"# {words(rng, 8)}\n{lines}")
        elif kind == 2:
            tree.write(f"/etc/modules.d/{i:02d}-{daemon}", f"{daemon}_core\n{daemon}_{i}\n")
        else:
            acl = {"user": daemon, "access": {w: {"read": ["*"]} for w in rng.sample(WORDS, 4)}}
            tree.write(f"/usr/share/acl.d/{daemon}-{i}.json", json.dumps(acl, indent=2))


def add_web(tree: Tree, rng: random.Random, count: int) -> None:
    for i in range(count):
        page = rng.choice(WORDS)
        kind = i % 4
        if kind == 0:
            fields = "".join(
                f'<label>{w}</label><input name="{w}" type="text">\n' for w in rng.sample(WORDS, 8)
            )
            html = (
                f"<!DOCTYPE html>\n<html><head><title>{page}</title>"
                f'<script src="/js/app-{i}.js"></script></head>\n<body><form method="post" '
                f'action="/cgi-bin/{page}.cgi">\n{fields}</form></body></html>\n'
            )
            tree.write(f"/www/{page}-{i}.html", html)
        elif kind == 1:
            js = "".join(
                f"function {w}{j}(e){{return ubus('{rng.choice(WORDS)}',{{id:e,v:{j}}});}}\n"
                for j, w in enumerate(rng.sample(WORDS, 30))
            )
            tree.write(f"/www/js/app-{i}.js", js * rng.randint(1, 4))
        elif kind == 2:
            css = "".join(
                f".{w}-{j}{{margin:{j}px;color:#{rng.randrange(0xFFFFFF):06x}}}\n"
                for j, w in enumerate(rng.sample(WORDS, 20))
            )
            tree.write(f"/www/css/{page}-{i}.css", css)
        else:
            png = b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randint(1_000, 12_000))
            tree.write(f"/www/img/{page}-{i}.png", png)


def add_data(tree: Tree, rng: random.Random, count: int) -> None:
    for i in range(count):
        if i % 2:
            tree.write(f"/lib/firmware/{rng.choice(WORDS)}-{i}.bin", rng.randbytes(16_000))
        else:
            table = "".join(f"{j}\t{words(rng, 3)}\n" for j in range(rng.randint(20, 200)))
            tree.write(f"/usr/share/{rng.choice(DAEMONS)}/{i}.tab", table)


def add_vendor_elves(
    tree: Tree, rng: random.Random, templates: list[Template], module: Template, count: int
) -> dict[str, Template]:
    """``count`` distinct vendor binaries (programs, libraries, kernel modules): path ->
    template."""
    paths = {}
    modules = max(40, count // 10)
    for i in range(modules):
        name = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{i}"
        path = f"/lib/modules/{KERNEL}/{name}.ko"
        tree.write(path, module_variant(module, name, rng))
        paths[path] = module
    for i in range(count - modules):
        template = templates[i % len(templates)]
        name = f"{DAEMONS[i % len(DAEMONS)]}{i}"
        if template.library:
            path = f"/usr/lib/lib{name}.so.{i % 3 + 1}"
        else:
            path = f"/usr/{'s' if i % 2 else ''}bin/{name}"
        tree.write(path, elf_variant(template, name, rng), 0o644 if template.library else 0o755)
        paths[path] = template
    return paths


def squashfs(tree: Path, out: Path) -> Path:
    from tests.firmware.images import squashfs as make

    out.unlink(missing_ok=True)
    return make(tree, out, compression="gzip")


def generate(workdir: Path) -> dict[str, Any]:
    """Both versions of the image and what they hold; kept in ``workdir`` for the next run."""
    rng = random.Random(2026)
    scratch = workdir / "scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    v1 = Tree(workdir / "tree-v1")
    shutil.rmtree(v1.root, ignore_errors=True)
    v1.root.mkdir(parents=True)
    expected = add_debian(v1, scratch / "debs")
    catalogue = add_catalogue(v1)
    overlap = set(expected) & set(catalogue)
    assert not overlap, f"components in both tiers: {overlap}"
    expected.update(catalogue)
    expected["linux_kernel"]["source"] += f" and {KERNEL} kernel modules"
    add_system(v1, rng)
    add_scripts(v1, rng, 190)
    add_configs(v1, rng, 260)
    add_web(v1, rng, 360)
    add_data(v1, rng, 60)
    templates = compile_templates(scratch / "templates")
    module = module_template(scratch / "templates")
    vendor = add_vendor_elves(v1, rng, templates, module, max(0, TARGET_FILES - v1.files()))
    # Top up to the target image size with one calibration blob (noise: it stays its size).
    blob = "/lib/firmware/dsp-calibration.bin"
    image_v1 = squashfs(v1.root, workdir / "image-v1.sqsh")
    missing = TARGET_IMAGE_BYTES - image_v1.stat().st_size - 8 * 1024
    if missing > 0:
        v1.write(blob, rng.randbytes(missing))
        image_v1 = squashfs(v1.root, image_v1)

    # The next version: a new OpenWrt point release, a wolfSSL update, a few vendor binaries,
    # web files and the banner changed; everything else identical.
    v2 = Tree(workdir / "tree-v2")
    shutil.rmtree(v2.root, ignore_errors=True)
    shutil.copytree(v1.root, v2.root, symlinks=True)
    from tests.firmware.binaries import compile_library

    changed = ["/etc/openwrt_release", "/usr/lib/libwolfssl.so.24", "/etc/banner"]
    v2.write(
        "/etc/openwrt_release",
        "DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='19.07.8'\nDISTRIB_REVISION='r11364-ef56c85848'\n",
    )
    compile_library(["wolfSSL 4.7.0"], v2.host("/usr/lib/libwolfssl.so.24"))
    v2.write("/etc/banner", f"  BR-1500 firmware 1.1\n  {words(rng, 6)}\n")
    for path in rng.sample(sorted(p for p in vendor if not p.endswith(".ko")), 6):
        v2.write(path, elf_variant(vendor[path], Path(path).name, rng), 0o755)
        changed.append(path)
    for path in sorted(str(p) for p in (v1.root / "www/js").glob("app-*.js"))[:3]:
        image_path = "/" + Path(path).relative_to(v1.root).as_posix()
        v2.write(image_path, Path(path).read_text() + f"// {words(rng, 5)}\n")
        changed.append(image_path)
    image_v2 = squashfs(v2.root, workdir / "image-v2.sqsh")
    expected_v2 = json.loads(json.dumps(expected))
    expected_v2["openwrt"]["version"] = "19.07.8"
    expected_v2["wolfssl"]["version"] = "4.7.0"
    shutil.rmtree(scratch, ignore_errors=True)
    manifest = {
        "generator": GENERATOR_VERSION,
        "v1": {"image": image_v1.name, "components": expected},
        "v2": {"image": image_v2.name, "components": expected_v2, "changed": changed},
        "files": v1.files(),
        "symlinks": sum(1 for p in v1.root.rglob("*") if p.is_symlink()),
        "tree_bytes": sum(
            p.stat().st_size for p in v1.root.rglob("*") if p.is_file() and not p.is_symlink()
        ),
    }
    (workdir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


# --- the measured children --------------------------------------------------------------------


def child_analyse(image: str, db: str, version: str) -> None:
    """One analysis in this (fresh) process; prints its figures as JSON."""
    import dataclasses
    import resource

    from iotwarden.core.fleet import BuildRef, ProductRef
    from iotwarden.firmware.analyze import AnalysisOptions, analyze_image
    from iotwarden.store.db import Store

    start = time.perf_counter()
    store = Store.open(db)
    opened = time.perf_counter() - start
    build = BuildRef(ProductRef(*PRODUCT), version) if version else None
    start = time.perf_counter()
    analysis = analyze_image(Path(image), store=store, options=AnalysisOptions(build=build))
    seconds = time.perf_counter() - start
    store.close()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "store_open_seconds": opened,
                "timings": analysis.timings,
                "files": dataclasses.asdict(analysis.files),
                "components": [
                    [c.name, c.version, c.confidence.value] for c in analysis.components
                ],
                "findings": sorted({f.id for f in analysis.findings}),
                "problems": len(analysis.problems),
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def peer_command(tree: Path, out: Path) -> list[str]:
    return [
        str(PEER / "bin" / "cve-bin-tool"),
        "--offline",
        "--update",
        "never",
        "--disable-version-check",
        "--disable-validation-check",
        "--format",
        "json",
        "--output-file",
        str(out / "cve-bin-tool.json"),
        "--sbom-output",
        str(out / "cve-bin-tool.cdx.json"),
        "--sbom-type",
        "cyclonedx",
        "--sbom-format",
        "json",
        str(tree),
    ]


def child_peer(tree: str, home: str, out: str) -> None:
    """cve-bin-tool on the tree in a subprocess of this process; prints its figures as JSON."""
    outdir = Path(out)
    command = peer_command(Path(tree), outdir)
    start = time.perf_counter()
    with open(outdir / "cve-bin-tool.log", "wb") as log:
        done = subprocess.run(
            command,
            env={**os.environ, "HOME": home},
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=3_600,
            check=False,
        )
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "returncode": done.returncode}))


# --- the peer's set-up ------------------------------------------------------------------------

#: Run by cve-bin-tool's own interpreter (it is GPL: never imported here). Its offline mode
#: needs a local CVE database with at least one entry, and its SQLite checker downloads a
#: version map from sqlite.org when its class is defined: without network that crashes the
#: scan, so the map's table is created empty and marked fresh.
PEER_SEED = """
import sqlite3, time
from cve_bin_tool.cvedb import CVEDB, DISK_LOCATION_DEFAULT
DISK_LOCATION_DEFAULT.mkdir(parents=True, exist_ok=True)
db = CVEDB(sources=[])
db.init_database()
db.db_close()
con = sqlite3.connect(db.dbpath)
con.execute("INSERT OR REPLACE INTO cve_severity VALUES ('CVE-0000-0000', 'LOW', "
            "'placeholder: offline benchmark', 0, 3, '', 'NVD', '2026-11-21T00:00:00')")
con.execute("INSERT INTO cve_range VALUES ('CVE-0000-0000', 'iotwarden-bench', "
            "'placeholder', '0', '', '', '', '', 'NVD')")
con.commit()
con = sqlite3.connect(DISK_LOCATION_DEFAULT / "version_map.db")
con.execute("CREATE TABLE IF NOT EXISTS sqlite(version TEXT, sourceId TEXT PRIMARY KEY)")
con.execute("CREATE TABLE IF NOT EXISTS latest_update_sqlite (datestamp DATETIME PRIMARY KEY)")
con.execute("DELETE FROM latest_update_sqlite")
con.execute("INSERT INTO latest_update_sqlite VALUES (?)", (time.time(),))
con.commit()
"""
PEER_CHECKERS = """
import json
from cve_bin_tool.version_scanner import VersionScanner
scanner = VersionScanner()
print(json.dumps({n: [list(p) for p in c.VENDOR_PRODUCT] for n, c in scanner.checkers.items()}))
"""


def peer_python(script: str, home: Path) -> str:
    done = subprocess.run(
        [str(PEER / "bin" / "python"), "-c", script],
        env={**os.environ, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"cve-bin-tool set-up failed:\n{done.stderr[-2000:]}")
    return done.stdout


def peer_attempts(tree: Path, workdir: Path) -> list[str]:
    """What cve-bin-tool says offline before its database is set up (first lines kept)."""
    home = workdir / "peer-home-bare"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    out = workdir / "peer-bare"
    out.mkdir(exist_ok=True)
    done = subprocess.run(
        peer_command(tree, out),
        env={**os.environ, "HOME": str(home), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line.rstrip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    keep = [" ".join(line.split()) for line in lines if "CRITICAL" in line or "ERROR" in line]
    return [f"exit status {done.returncode}", *keep[:3]]


# --- scoring ----------------------------------------------------------------------------------


def normalise(version: str | None) -> str:
    """A version as both tools may print it: no 'v', no packaging or '-stable' suffix."""
    value = (version or "").strip().lower().removeprefix("v")
    value = re.split(r"[+~]", value, maxsplit=1)[0]
    return value.removesuffix("-stable").removesuffix(".dfsg")


def cpe_names() -> dict[tuple[str, str], str]:
    """(CPE vendor, product) -> our component name, from our signature and alias data."""
    import yaml

    data = REPO / "src" / "iotwarden" / "data"
    names: dict[tuple[str, str], str] = {}
    signatures = yaml.safe_load((data / "firmware" / "signatures.yaml").read_text("utf-8"))
    for entry in signatures["signatures"]:
        parts = str(entry.get("cpe") or "").split(":")
        if len(parts) > 4:
            names[(parts[3], parts[4])] = entry["id"]
    aliases = json.loads((data / "component_aliases.json").read_text("utf-8"))["components"]
    for name, entry in aliases.items():
        for pair in entry.get("cpe", []):
            vendor, product = pair.split(":", 1)
            names.setdefault((vendor, product), name)
    return names


#: cve-bin-tool products named otherwise than in our data (same project): counted as ours, so
#: that a right answer under another name is not scored as a miss.
PEER_PRODUCTS = {"libdbus": "dbus", "mini-httpd": "mini_httpd", "dhcp": "isc-dhcp"}


def our_name(vendor: str, product: str, names: dict[tuple[str, str], str]) -> str:
    if (vendor, product) in names:
        return names[(vendor, product)]
    if product in PEER_PRODUCTS:
        return PEER_PRODUCTS[product]
    by_product = {p: n for (_, p), n in names.items()}
    return by_product.get(product, f"{vendor}:{product}")


def peer_found(out: Path, names: dict[tuple[str, str], str]) -> list[tuple[str, str]]:
    """(our name, version) of every component in cve-bin-tool's CycloneDX output."""
    sbom = json.loads((out / "cve-bin-tool.cdx.json").read_text("utf-8"))
    found = []
    for item in sbom.get("components", []):
        cpe = str(item.get("cpe") or "")
        parts = cpe.split(":")
        if cpe.startswith("cpe:/a:") and len(parts) >= 4:
            vendor, product = parts[2], parts[3]
        elif cpe.startswith("cpe:2.3:") and len(parts) >= 5:
            vendor, product = parts[3], parts[4]
        else:
            continue  # the root entry (the scanned folder)
        found.append((our_name(vendor, product, names), str(item.get("version") or "")))
    return found


@dataclass(frozen=True)
class Score:
    found: int  # expected (component, version) pairs reported
    expected: int
    wrong_version: list[str]  # expected components reported only with another version
    missed: list[str]
    extra: list[str]  # reported pairs not in the known set
    reported: int  # distinct pairs reported

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 0.0

    @property
    def precision(self) -> float:
        return (self.reported - len(self.extra)) / self.reported if self.reported else 0.0


def score(
    reported: list[tuple[str, str]], expected: dict[str, dict[str, str]], only: set[str] | None
) -> Score:
    pairs = {(name, normalise(version)) for name, version in reported}
    wanted = {
        (name, normalise(e["version"]))
        for name, e in expected.items()
        if only is None or name in only
    }
    if only is not None:
        pairs = {p for p in pairs if p[0] in only}
    hit = wanted & pairs
    names_seen = {name for name, _ in pairs}
    missed_pairs = sorted(wanted - hit)
    return Score(
        found=len(hit),
        expected=len(wanted),
        wrong_version=[
            f"{n} {v} (reported: {', '.join(sorted(w for m, w in pairs if m == n))})"
            for n, v in missed_pairs
            if n in names_seen
        ],
        missed=[f"{n} {v}" for n, v in missed_pairs if n not in names_seen],
        extra=sorted(f"{n} {v or '?'}" for n, v in pairs - wanted),
        reported=len(pairs),
    )


def recall_row(
    label: str,
    reported: list[tuple[str, str]],
    expected: dict[str, dict[str, str]],
    covered: set[str] | None,
) -> str:
    """Recall on every known component, per tier, and on those cve-bin-tool has a checker for."""
    debian = {n for n, e in expected.items() if e["source"].startswith("Debian")}
    parts = [("all", None), ("Debian", debian), ("gcc-built", set(expected) - debian)]
    if covered is not None:
        parts.append(("with a cve-bin-tool checker", covered))
    cells = []
    for name, only in parts:
        s = score(reported, expected, only)
        cells.append(f"{name} {s.found}/{s.expected} = {s.recall:.0%}")
    return f"  {label} recall: " + ", ".join(cells)


def show_score(label: str, s: Score) -> None:
    print(
        f"  {label}: recall {s.found}/{s.expected} = {s.recall:.0%}, precision "
        f"{s.reported - len(s.extra)}/{s.reported} = {s.precision:.0%}"
    )
    if s.wrong_version:
        print(f"    other version: {'; '.join(s.wrong_version)}")
    if s.missed:
        print(f"    missed: {', '.join(s.missed)}")
    if s.extra:
        print(f"    not in the known set: {', '.join(s.extra)}")


# --- the run ----------------------------------------------------------------------------------


def analyse(image: Path, db: str, version: str, what: str) -> dict[str, Any]:
    start = time.perf_counter()
    result = run_measured(
        [sys.executable, __file__, "--child", "analyse", str(image), db, version], what
    )
    result["process_seconds"] = time.perf_counter() - start
    return result


def fresh_db(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def show_analysis(label: str, r: dict[str, Any]) -> None:
    files = r["files"]
    print(
        f"{label}: {r['seconds']:.2f} s (process {r['process_seconds']:.1f} s incl. start-up "
        f"and store open {r['store_open_seconds']:.1f} s), peak RSS {r['tree_peak_rss_mib']:.0f} "
        f"MiB; files {files['total']:,} ({files['unique']:,} distinct), analysed "
        f"{files['analysed']:,}, reused {files['reused']:,}; phases "
        + ", ".join(f"{k} {v:.2f}" for k, v in r["timings"].items() if k != "total")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="keep the generated images here")
    parser.add_argument("--regenerate", action="store_true", help="build the images again")
    parser.add_argument("--no-peer", action="store_true", help="do not run cve-bin-tool")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, *rest = args.child
        if mode == "analyse":
            child_analyse(*rest)
        else:
            child_peer(*rest)
        return

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="iotwarden-fwbench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    manifest_path = workdir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    if args.regenerate or manifest.get("generator") != GENERATOR_VERSION:
        start = time.perf_counter()
        manifest = generate(workdir)
        print(f"generated both images in {time.perf_counter() - start:.1f} s")
    image_v1 = workdir / manifest["v1"]["image"]
    image_v2 = workdir / manifest["v2"]["image"]
    expected = manifest["v1"]["components"]
    expected_v2 = manifest["v2"]["components"]
    debian = sum(1 for e in expected.values() if e["source"].startswith("Debian"))
    print(
        f"image: {image_v1} {image_v1.stat().st_size / 2**20:.1f} MiB SquashFS (gzip), "
        f"{manifest['files']:,} files + {manifest['symlinks']} links, "
        f"{manifest['tree_bytes'] / 2**20:.1f} MiB unpacked; {len(expected)} known components "
        f"({debian} Debian release binaries, {len(expected) - debian} gcc-built); next version "
        f"changes {len(manifest['v2']['changed'])} files"
    )

    db = fresh_db(workdir / "store.db")
    first = analyse(image_v1, db, "1.0.0", "first analysis")
    again = analyse(image_v1, db, "1.0.0", "re-analysis")
    nextv = analyse(image_v2, db, "1.1.0", "next version")
    show_analysis("first analysis (empty store)", first)
    show_analysis("re-analysis (same image)", again)
    show_analysis("next version (a few files changed)", nextv)
    if again["files"]["reused"] < again["files"]["total"]:
        # The per-file cache is keyed by the analysers' versions: a change to the signatures
        # or checks between the two runs (a shared checkout being edited) empties it.
        print("WARNING: the re-analysis did not reuse every file: did the analysers change?")
    ours = score([(n, v) for n, v, _ in first["components"]], expected, None)
    ours_v2 = score([(n, v) for n, v, _ in nextv["components"]], expected_v2, None)
    print("components (first analysis):")
    show_score("IoT Warden", ours)
    print(recall_row("IoT Warden", [(n, v) for n, v, _ in first["components"]], expected, None))
    print(f"  next version: recall {ours_v2.found}/{ours_v2.expected}")
    planted = set(PLANTED) & set(first["findings"])
    print(
        f"planted weaknesses reported: {len(planted)}/{len(PLANTED)}"
        + (
            f" (missing: {', '.join(sorted(set(PLANTED) - planted))})"
            if planted != set(PLANTED)
            else ""
        )
    )

    # The same extracted tree for both tools.
    tree = workdir / "extracted-v1"
    shutil.rmtree(tree, ignore_errors=True)
    unsquashfs = shutil.which("unsquashfs") or shutil.which("unsquashfs", path="/usr/sbin:/sbin")
    if unsquashfs is None:
        raise SystemExit("unsquashfs (squashfs-tools) is needed")
    subprocess.run(
        [unsquashfs, "-no-progress", "-d", str(tree), str(image_v1)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    on_tree = analyse(tree, fresh_db(workdir / "store-tree.db"), "", "analysis of the tree")
    show_analysis("IoT Warden on the extracted tree (empty store)", on_tree)
    tree_found = [(n, v) for n, v, _ in on_tree["components"]]
    ours_tree = score(tree_found, expected, None)

    summary: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "first": first,
        "again": again,
        "next": nextv,
        "tree": on_tree,
        "recall": ours.recall,
    }
    if args.no_peer:
        print("cve-bin-tool: skipped (--no-peer)")
    elif not (PEER / "bin" / "cve-bin-tool").exists():
        print(f"cve-bin-tool: not installed in {PEER} (./dev bench firmware installs it)")
    else:
        attempt = peer_attempts(tree, workdir)
        print(f"cve-bin-tool --offline before any set-up: {' | '.join(attempt)}")
        home = workdir / "peer-home"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        peer_python(PEER_SEED, home)
        checkers = json.loads(peer_python(PEER_CHECKERS, home).strip().splitlines()[-1])
        names = cpe_names()
        covered = {our_name(v, p, names) for pairs in checkers.values() for v, p in pairs} & set(
            expected
        )
        out = workdir / "peer-out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        start = time.perf_counter()
        peer = run_measured(
            [sys.executable, __file__, "--child", "peer", str(tree), str(home), str(out)],
            "cve-bin-tool",
        )
        peer["process_seconds"] = time.perf_counter() - start
        if peer["returncode"] != 0 or not (out / "cve-bin-tool.cdx.json").exists():
            log = (out / "cve-bin-tool.log").read_text(errors="replace").splitlines()
            print(f"cve-bin-tool failed (status {peer['returncode']}); first lines:")
            print("\n".join(log[:20]))
        else:
            found = peer_found(out, names)
            theirs = score(found, expected, None)
            print(
                f"cve-bin-tool {len(checkers)} checkers on the extracted tree: "
                f"{peer['seconds']:.1f} s, peak RSS {peer['tree_peak_rss_mib']:.0f} MiB"
            )
            print("components (same extracted tree):")
            show_score("IoT Warden", ours_tree)
            show_score("cve-bin-tool", theirs)
            print(recall_row("IoT Warden", tree_found, expected, covered))
            print(recall_row("cve-bin-tool", found, expected, covered))
            print(f"  ({len(covered)} of the known components have a cve-bin-tool checker)")
            # Whole commands against each other: both pay their start-up (imports, checkers).
            ratio = on_tree["process_seconds"] / peer["seconds"]
            ratio_image = first["process_seconds"] / peer["seconds"]
            print(
                f"ratio IoT Warden / cve-bin-tool, whole process on the same tree: {ratio:.2f}x "
                f"({peer['seconds'] / on_tree['process_seconds']:.1f} times faster; analysis call "
                f"alone {on_tree['seconds'] / peer['seconds']:.2f}x); first analysis of the "
                f"image (with extraction), whole process / cve-bin-tool: {ratio_image:.2f}x"
            )
            debian = {n for n, e in expected.items() if e["source"].startswith("Debian")}
            summary.update(
                peer=peer,
                peer_recall=theirs.recall,
                tree_recall=ours_tree.recall,
                peer_recall_debian=score(found, expected, debian).recall,
                tree_recall_debian=score(tree_found, expected, debian).recall,
                ratio=ratio,
            )
    verdict_first = "meets" if first["seconds"] <= 15 else "MISSES"
    verdict_again = "meets" if again["seconds"] <= 2 else "MISSES"
    print(f"target first analysis <= 15 s: {verdict_first}; re-analysis <= 2 s: {verdict_again}")
    if "ratio" in summary:
        faster = summary["ratio"] < 1
        recall = summary["tree_recall"] >= summary["peer_recall"]
        verdict = "meets" if faster and recall else "MISSES"
        print(
            f"target faster than cve-bin-tool with at least its recall: {verdict} "
            f"(recall {summary['tree_recall']:.0%} against {summary['peer_recall']:.0%}); "
            f"on the Debian release binaries alone: {summary['tree_recall_debian']:.0%} against "
            f"{summary['peer_recall_debian']:.0%}"
        )
    with (workdir / "results.jsonl").open("a") as results:
        results.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
