"""Property tests: the opkg and dpkg database readers on garbage databases and hostile links.

Any bytes may sit where a status file or a control file is expected, and any of the
database paths may be a symbolic link (to a file outside the tree, to itself, to a
directory): the readers report what is readable, never raise, and never read a file outside
the extracted root.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from iotwarden.firmware.identify.packages import parse_control, read_installed_packages
from tests.firmware.fuzz.mutations import FUZZ, FUZZ_SLOW, time_limit

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9+._-]{0,127}")
#: Lines a control file is made of, good and bad.
_LINES = st.sampled_from(
    [
        "Package: busybox",
        "Package: ../../etc/passwd",
        "Package: ",
        "Version: 1.36.1-1",
        "Version: 1:1.2.13.dfsg-1",
        "Status: install ok installed",
        "Status: deinstall ok config-files",
        "Status:",
        "Source: openssl (1.1.1k-1)",
        "Architecture: mips_24kc",
        " continuation",
        "\tcontinuation",
        "no colon here",
        ":",
        "",
        "\x00\x85\u2028",
        "Package: " + "a" * 200,
    ]
)
_CONTROL = st.one_of(
    st.lists(_LINES, max_size=20).map(lambda lines: "\n".join(lines).encode()),
    st.binary(max_size=300),
)
#: Where a database path may lead instead of a file.
_LINK_TARGETS = st.sampled_from(
    ["OUTSIDE", "../../../../OUTSIDE", "/OUTSIDE", "status", ".", "/", "/var/lib/dpkg", "x/../.."]
)
_DATABASES = (
    "usr/lib/opkg/status",
    "usr/lib/opkg/info/busybox.control",
    "var/lib/opkg/status",
    "var/lib/dpkg/status",
    "var/lib/dpkg/status.d/base",
)
SECRET_PACKAGE = "outsidepackage"


def _build(root: Path, contents: dict[str, bytes], links: dict[str, str]) -> None:
    for path, content in contents.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    for path, link in links.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            target.unlink()
        outside = root.parent / "OUTSIDE"
        os.symlink(str(outside) if link == "OUTSIDE" else link, target)


@FUZZ_SLOW
@given(
    contents=st.dictionaries(st.sampled_from(_DATABASES), _CONTROL, max_size=5),
    links=st.dictionaries(st.sampled_from(_DATABASES), _LINK_TARGETS, max_size=3),
)
@example(contents={}, links={"var/lib/dpkg/status": "../../../../OUTSIDE"})
@example(contents={}, links={"usr/lib/opkg/status": "/usr/lib/opkg/status"})  # itself
# A database path leading to a directory: os.fdopen raised IsADirectoryError out of
# read_installed_packages, stopping the analysis.
@example(contents={}, links={"usr/lib/opkg/status": "."})
@example(contents={}, links={"var/lib/dpkg/status": "/var/lib/dpkg"})
def test_databases_never_raise_nor_read_outside(
    contents: dict[str, bytes], links: dict[str, str]
) -> None:
    with tempfile.TemporaryDirectory(prefix="iw-fuzz-pkg-") as name:
        base = Path(name)
        (base / "OUTSIDE").write_text(f"Package: {SECRET_PACKAGE}\nVersion: 6.6.6\n")
        root = base / "root"
        root.mkdir()
        _build(root, contents, links)
        with time_limit(10):
            packages, problems = read_installed_packages(root)
    assert all(isinstance(problem, str) for problem in problems)
    for package in packages:
        assert _NAME.fullmatch(package.name)
        assert package.name != SECRET_PACKAGE, "read a database outside the root"
        assert package.manager in ("opkg", "dpkg")
        assert package.database.lstrip("/") in _DATABASES


@FUZZ
@given(st.text(max_size=400))
def test_parse_control_takes_any_text(text: str) -> None:
    for fields in parse_control(text):
        assert fields
        assert all(key == key.strip().lower() for key in fields)
