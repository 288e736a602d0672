"""Real release binaries: the Debian packages of the firmware benchmark's image
(``benchmarks/firmware.py``, ``DEBIAN``), identified with the release each package holds.

Downloaded once with ``apt-get download`` into a cache (``$XDG_CACHE_HOME/iotwarden-tests/debs``
or ``.cache/debs`` in the repository); the expected version is read from each package's
control file, never written here. Without network the test fails under ``CI=true`` and is
skipped otherwise.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from iotwarden.firmware.identify import SignatureHit, identify_components, scan_content
from iotwarden.firmware.identify.packages import upstream_version
from iotwarden.firmware.model import Confidence
from tests.firmware import binaries

# Debian package -> (component, the file whose content must give the version, as a glob; None
# when only the file names carry it).
PACKAGES: dict[str, tuple[str, str | None]] = {
    "busybox-static": ("busybox", "bin/busybox"),
    "dropbear-bin": ("dropbear", "usr/sbin/dropbear"),
    "libssl3": ("openssl", "usr/lib/*/libcrypto.so.3"),
    "dnsmasq-base": ("dnsmasq", "usr/sbin/dnsmasq"),
    "curl": ("curl", "usr/bin/curl"),
    "libcurl4": ("libcurl", "usr/lib/*/libcurl.so.4.*"),
    "libsqlite3-0": ("sqlite", "usr/lib/*/libsqlite3.so.0.*"),
    "zlib1g": ("zlib", "lib/*/libz.so.1.*"),
    "libexpat1": ("expat", "lib/*/libexpat.so.1.*"),
    "libpng16-16": ("libpng", "usr/lib/*/libpng16.so.16.*"),
    "lighttpd": ("lighttpd", "usr/sbin/lighttpd"),
    "libpcap0.8": ("libpcap", "usr/lib/*/libpcap.so.1.*"),
    "openssh-server": ("openssh", "usr/sbin/sshd"),
    "hostapd": ("hostapd", "usr/sbin/hostapd"),
    "libjpeg62-turbo": ("libjpeg-turbo", "usr/lib/*/libjpeg.so.62.*"),
    "xz-utils": ("xz", "usr/bin/xz"),
    "libncursesw6": ("ncurses", None),  # libncursesw.so.6.4: the release is in the name
    "libssh2-1": ("libssh2", "usr/lib/*/libssh2.so.1.*"),
    "libevent-2.1-7": ("libevent", "usr/lib/*/libevent-2.1.so.7.*"),
    "mosquitto": ("mosquitto", "usr/sbin/mosquitto"),
    "libdbus-1-3": ("dbus", "lib/*/libdbus-1.so.3.*"),
    "vsftpd": ("vsftpd", "usr/sbin/vsftpd"),
    "libmbedcrypto7": ("mbedtls", "usr/lib/*/libmbedcrypto.so.*.*"),
    "lua5.1": ("lua", "usr/bin/lua5.1"),
    "tinyproxy-bin": ("tinyproxy", "usr/bin/tinyproxy"),
    "ppp": ("ppp", "usr/sbin/pppd"),
    "iptables": ("iptables", "usr/sbin/xtables-nft-multi"),
    "openvpn": ("openvpn", "usr/sbin/openvpn"),
    "socat": ("socat", "usr/bin/socat"),
}
# Not in the benchmark's image: ncurses' own version string lives in libtinfo.
EXTRA: dict[str, tuple[str, str]] = {"libtinfo6": ("ncurses", "lib/*/libtinfo.so.6.*")}
# What the benchmark keeps of each package (benchmarks/firmware.py DEBIAN_KEEP).
KEEP = ("bin/", "sbin/", "usr/bin/", "usr/sbin/", "lib/", "usr/lib/")


def _release(package_version: str) -> str:
    # As the benchmark compares: libevent's '2.1.12-stable' is release 2.1.12.
    return upstream_version(package_version).removesuffix("-stable")


@pytest.fixture(scope="module")
def debs() -> dict[str, Path]:
    binaries.tool_or_skip("dpkg-deb")
    try:
        return {name: binaries.debian_package(name) for name in (*PACKAGES, *EXTRA)}
    except (RuntimeError, OSError) as e:
        reason = f"Debian packages cannot be downloaded: {e}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
        raise


def _scan(root: Path) -> dict[str, tuple[SignatureHit, ...]]:
    hits = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and not path.is_symlink() and relative.startswith(KEEP):
            found = scan_content(path.read_bytes())
            if found:
                hits["/" + relative] = found
    return hits


def _own_file(root: Path, pattern: str) -> str:
    (found,) = [p for p in root.glob(pattern) if p.is_file() and not p.is_symlink()]
    return "/" + found.relative_to(root).as_posix()


def test_the_package_list_is_the_benchmarks() -> None:
    source = (binaries.REPO / "benchmarks" / "firmware.py").read_text("utf-8")
    listed = dict(re.findall(r'DebianComponent\("([^"]+)", "([^"]+)"\)', source))
    assert listed == {name: component for name, (component, _) in PACKAGES.items()}


def test_real_debian_binaries_are_identified_with_their_release(
    debs: dict[str, Path], tmp_path: Path
) -> None:
    root = tmp_path / "rootfs"
    expected = {}
    for name in PACKAGES:
        binaries.extract_deb(debs[name], root)
        expected[PACKAGES[name][0]] = _release(binaries.deb_field(debs[name], "Version"))
    hits = _scan(root)

    # Each package's own file gives its release.
    for name, (component, pattern) in PACKAGES.items():
        if pattern is not None:
            seen = {(h.signature, h.version) for h in hits.get(_own_file(root, pattern), ())}
            assert (component, expected[component]) in seen, name

    # And the image as a whole: every component with its release and no other version (the
    # OpenSSL header version compiled into hostapd is evidence of the libssl in the image).
    found: dict[str, set[str | None]] = {}
    components = identify_components(root, hits)
    for c in components:
        found.setdefault(c.name, set()).add(c.version)
    wrong = {
        component: found.get(component)
        for component, version in expected.items()
        if found.get(component) != {version}
    }
    assert not wrong, f"expected {expected}"
    openssl = next(c for c in components if c.name == "openssl")
    assert openssl.confidence is Confidence.HIGH
    assert any(e.path == "/usr/sbin/hostapd" for e in openssl.evidence)
    # Nothing the packages do not hold.
    assert set(found) <= set(expected), set(found) - set(expected)


def test_ncurses_gives_its_release_in_libtinfo(debs: dict[str, Path], tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    for name, (component, pattern) in EXTRA.items():
        binaries.extract_deb(debs[name], root)
        version = _release(binaries.deb_field(debs[name], "Version"))
        hits = scan_content((root / _own_file(root, pattern).lstrip("/")).read_bytes())
        assert [(h.signature, h.version) for h in hits] == [(component, version)]
