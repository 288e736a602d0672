"""Fixtures for the extraction tests: a rootfs, built-in handlers only unless a test asks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.firmware import images


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    return images.make_rootfs(tmp_path / "rootfs")


@pytest.fixture(autouse=True)
def _builtin_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    """unblob takes seconds per image; tests use the built-in handlers unless they opt in."""
    monkeypatch.setenv("IOTWARDEN_USE_UNBLOB", "0")


class Outside:
    """Records what exists under tmp_path outside the work directory, then checks that
    extraction added nothing there."""

    def __init__(self, tmp_path: Path, workdir: Path) -> None:
        self.tmp_path, self.workdir = tmp_path, workdir
        self.before = self.snapshot()

    def snapshot(self) -> set[Path]:
        return {
            path
            for path in self.tmp_path.rglob("*")
            if self.workdir != path and self.workdir not in path.parents
        }

    def assert_untouched(self) -> None:
        assert self.snapshot() - self.before == set()
