"""Fixtures of the identification tests: the catalogue of compiled test binaries, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.firmware import binaries


@pytest.fixture(scope="session")
def catalogue_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root file system holding every catalogue binary and every decoy."""
    binaries.tool_or_skip("gcc")
    root = tmp_path_factory.mktemp("catalogue") / "rootfs"
    binaries.build_all((*binaries.CATALOGUE, *binaries.DECOYS), root)
    (root / "var").mkdir(exist_ok=True)
    (root / "var/blob.bin").write_bytes(binaries.random_decoy())
    return root
