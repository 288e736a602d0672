"""Fixtures for the firmware checks' tests: compiled ELF variants (once per session) and a
helper that runs all checks over a generated tree."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from iotwarden.firmware.checks import CheckReport, build_context, run_checks
from tests.firmware.rootfs import RootFS, build_elf_variants


@pytest.fixture(scope="session")
def elf_variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """name -> ELF bytes for every tests.firmware.rootfs.ELF_VARIANTS entry (gcc)."""
    return build_elf_variants(tmp_path_factory.mktemp("elf"))


@pytest.fixture
def fs(tmp_path: Path) -> RootFS:
    return RootFS(tmp_path / "rootfs")


Scan = Callable[[RootFS], CheckReport]


@pytest.fixture
def scan() -> Scan:
    """Run every check over a tree (content-only facts computed from its files)."""

    def run(tree: RootFS) -> CheckReport:
        return run_checks(build_context(tree.root))

    return run


def ids(report: CheckReport, path: str | None = None) -> set[str]:
    return {f.id for f in report.findings if path is None or f.path == path}
