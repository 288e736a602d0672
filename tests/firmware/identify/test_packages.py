"""Package databases inside a root file system: opkg and dpkg, read without leaving the root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iotwarden.firmware.identify.packages import (
    parse_control,
    read_in_root,
    read_installed_packages,
    resolve_in_root,
    upstream_version,
)
from tests.firmware import binaries


@pytest.mark.parametrize(
    ("version", "upstream"),
    [
        ("1.1.1k-1", "1.1.1k"),
        ("1:1.35.0-4+deb12u1+b1", "1.35.0"),
        ("3.0.20-1~deb12u2", "3.0.20"),
        ("1:1.2.13.dfsg-1", "1.2.13"),
        ("2022.83-1+deb12u3", "2022.83"),
        ("2.36", "2.36"),
        ("2020-03-13-40b563b1-1", "2020-03-13-40b563b1"),
        ("5.4.143-1-5f4a14a3e9a4af6e3ee5a0fa1c2bad2d", "5.4.143"),
    ],
)
def test_upstream_version(version: str, upstream: str) -> None:
    assert upstream_version(version) == upstream


def test_opkg_status_and_control_files(tmp_path: Path) -> None:
    binaries.write_opkg(
        tmp_path,
        [
            {"Package": "busybox", "Version": "1.30.1-5"},
            {"Package": "libopenssl1.1", "Version": "1.1.1k-1"},
            {"Package": "old-thing", "Version": "1.0-1", "Status": "deinstall user not-installed"},
        ],
    )
    # A package known only from its control file (the status entry was lost).
    (tmp_path / "usr/lib/opkg/info/dropbear.control").write_text(
        "Package: dropbear\nVersion: 2019.78-2\nArchitecture: mips_24kc\n"
    )
    packages, problems = read_installed_packages(tmp_path)
    found = {(p.manager, p.name, p.version, p.architecture) for p in packages}
    assert found == {
        ("opkg", "busybox", "1.30.1-5", "mips_24kc"),
        ("opkg", "libopenssl1.1", "1.1.1k-1", "mips_24kc"),
        ("opkg", "dropbear", "2019.78-2", "mips_24kc"),
    }
    assert problems == []
    by_name = {p.name: p for p in packages}
    assert by_name["busybox"].database == "/usr/lib/opkg/status"
    assert by_name["dropbear"].database == "/usr/lib/opkg/info/dropbear.control"


def test_dpkg_status_keeps_installed_packages_only(tmp_path: Path) -> None:
    binaries.write_dpkg(
        tmp_path,
        [
            {"Package": "libssl3", "Version": "3.0.11-1~deb12u2", "Source": "openssl"},
            {"Package": "gone", "Version": "1.0", "Status": "deinstall ok config-files"},
            {"Package": "half", "Version": "1.0", "Status": "install ok half-installed"},
        ],
    )
    packages, _ = read_installed_packages(tmp_path)
    assert [(p.name, p.version, p.source) for p in packages] == [
        ("libssl3", "3.0.11-1~deb12u2", "openssl")
    ]


def test_garbage_databases_are_no_packages_not_a_crash(tmp_path: Path) -> None:
    status = tmp_path / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_bytes(b"\xff\xfe garbage\n\x00\x00\n\nPackage: ok\nStatus: install ok installed\n")
    (tmp_path / "usr/lib/opkg").mkdir(parents=True)
    (tmp_path / "usr/lib/opkg/status").write_bytes(os.urandom(4096))
    packages, _ = read_installed_packages(tmp_path)
    assert [(p.name, p.version) for p in packages] == [("ok", None)]


def test_control_paragraph_continuations() -> None:
    (fields,) = list(parse_control("Package: a\nDescription: one\n two\n"))
    assert fields == {"package": "a", "description": "one\ntwo"}


def test_links_are_followed_inside_the_root_only(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "status").write_text("Package: evil\nVersion: 6.6.6\n")
    (root / "usr/lib").mkdir(parents=True)
    (root / "tmp/opkg").mkdir(parents=True)
    (root / "tmp/opkg/status").write_text("Package: fine\nVersion: 1.0-1\n")
    # An absolute link resolves inside the root, as on the device.
    (root / "usr/lib/opkg").symlink_to("/tmp/opkg")
    packages, _ = read_installed_packages(root)
    assert [p.name for p in packages] == ["fine"]

    # A link that climbs out (absolute to the host's tree, or by '..') stays inside.
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").symlink_to(outside / "status")
    (root / "etc").mkdir()
    (root / "etc/os-release").symlink_to("../../../../../../outside/status")
    assert read_in_root(root, "/var/lib/dpkg/status") is None
    assert read_in_root(root, "/etc/os-release") is None
    assert [p.name for p in read_installed_packages(root)[0]] == ["fine"]


def test_link_loops_end(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    assert resolve_in_root(tmp_path, "/a/status") is None
