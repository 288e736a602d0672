"""Shared fixtures: the public reference data in ../shared/data and helpers to read it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iotwarden.intel.interface import InputDocument

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def _shared_data_or_skip() -> Path:
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    reason = f"the public reference data is not at {SHARED_DATA} (clone the project beside shared/)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: fails under CI when missing, skips elsewhere with the reason."""
    return _shared_data_or_skip()


@pytest.fixture(scope="session")
def advisories_dir(shared_data: Path) -> Path:
    return shared_data / "advisories"


def document(path: Path) -> InputDocument:
    """An InputDocument for a plain file (tests that drive one parser directly)."""
    return InputDocument(origin=str(path), opener=lambda: path.open("rb"), size=path.stat().st_size)


@pytest.fixture(autouse=True)
def _fresh_settings() -> None:
    """Each test starts from the environment's settings, whatever an earlier test configured."""
    from iotwarden.core import settings

    settings.reset()
