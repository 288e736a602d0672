"""ImageTree: links resolve inside the extracted root, never outside it."""

from __future__ import annotations

from pathlib import Path

from iotwarden.firmware.checks.tree import ImageTree
from tests.firmware.rootfs import RootFS


def test_links_resolve_inside_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "host-secret"
    outside.write_text("root:HOSTHASH:0:0:::\n")
    fs = RootFS(tmp_path / "root")
    fs.file("/var/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    fs.link("/etc/passwd", "/var/passwd")  # absolute: inside the image
    fs.link("/etc/shadow", "../../../../../../" + str(outside).lstrip("/"))  # climbs out
    fs.link("/etc/shadow-", str(outside))  # absolute host path
    fs.link("/etc/loop", "/etc/loop")
    tree = ImageTree(fs.root)
    assert tree.read_text("/etc/passwd") == "root:x:0:0:root:/root:/bin/sh\n"
    assert tree.canonical("/etc/passwd") == "/var/passwd"
    for path in ("/etc/shadow", "/etc/shadow-", "/etc/loop"):
        assert tree.read_text(path) is None, path
    assert tree.readlink("/etc/shadow-") == str(outside)
    assert sorted(tree.files()) == ["/var/passwd"]


def test_host_files_never_leak_into_findings(tmp_path: Path) -> None:
    from iotwarden.firmware.checks import build_context, run_checks

    outside = tmp_path / "shadow"
    outside.write_text("root::0:0:99999:7:::\n")  # empty root password, on the "host"
    fs = RootFS(tmp_path / "root")
    fs.link("/etc/shadow", "../../shadow")
    report = run_checks(build_context(fs.root))
    assert "IW-FW-ACCOUNT-EMPTY-PASSWORD" not in {f.id for f in report.findings}


def test_binary_and_large_files_are_not_text(tmp_path: Path) -> None:
    fs = RootFS(tmp_path / "root")
    fs.file("/etc/blob", b"abc\x00def")
    fs.file("/etc/big", b"a" * 2048)
    tree = ImageTree(fs.root)
    assert tree.read_text("/etc/blob") is None
    assert tree.read_text("/etc/big", limit=1024) is None
    assert tree.read_bytes("/etc/big", 10) == b"a" * 10
    assert tree.match("/etc/*") == ["/etc/big", "/etc/blob"]
