"""Real release binaries: Debian's busybox-static, dropbear-bin and libssl3 packages.

Downloaded once with ``apt-get download`` into a cache (``$XDG_CACHE_HOME/iotwarden-tests/debs``
or ``.cache/debs`` in the repository); the expected version is read from each package's
control file, not written here. Without network the test fails under ``CI=true`` and is
skipped otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iotwarden.firmware.identify import identify_components, scan_content
from iotwarden.firmware.identify.packages import upstream_version
from iotwarden.firmware.model import Confidence
from tests.firmware import binaries

# Debian package -> (component, the file whose content must give the version, as a glob)
PACKAGES = {
    "busybox-static": ("busybox", "bin/busybox"),
    "dropbear-bin": ("dropbear", "usr/sbin/dropbear"),
    "libssl3": ("openssl", "usr/lib/*/libcrypto.so.3"),
}


@pytest.fixture(scope="module")
def debs() -> dict[str, Path]:
    binaries.tool_or_skip("dpkg-deb")
    try:
        return {name: binaries.debian_package(name) for name in PACKAGES}
    except (RuntimeError, OSError) as e:
        reason = f"Debian packages cannot be downloaded: {e}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
        raise


def test_real_debian_binaries_are_identified_with_their_release(
    debs: dict[str, Path], tmp_path: Path
) -> None:
    root = tmp_path / "rootfs"
    expected = {}
    for name, deb in debs.items():
        binaries.extract_deb(deb, root)
        component, _ = PACKAGES[name]
        expected[component] = upstream_version(binaries.deb_field(deb, "Version"))
    hits = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            found = scan_content(path.read_bytes())
            if found:
                hits["/" + path.relative_to(root).as_posix()] = found
    for name, (component, pattern) in PACKAGES.items():
        (own_file,) = root.glob(pattern)
        image_path = "/" + own_file.relative_to(root).as_posix()
        seen = {(h.signature, h.version) for h in hits.get(image_path, ())}
        assert (component, expected[component]) in seen, name

    found = {c.name: c for c in identify_components(root, hits)}
    for component, version in expected.items():
        assert found[component].version == version
        assert found[component].confidence is Confidence.HIGH
