from __future__ import annotations

import pytest

from iotwarden.core import settings
from iotwarden.core.errors import SettingsError


def test_defaults_are_in_bytes_and_db_is_in_the_user_data_dir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("IOTWARDEN_DB", "IOTWARDEN_MAX_DOCUMENT_MB", "IOTWARDEN_MAX_MEMBER_MB"):
        monkeypatch.delenv(name, raising=False)
    current = settings.from_environment()
    assert current.max_document_bytes == 256 * 1024 * 1024
    assert current.max_member_bytes == 1024 * 1024 * 1024
    assert current.db_url.startswith("sqlite:///") and current.db_url.endswith("iotwarden.db")


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOTWARDEN_DB", "sqlite:///x.db")
    monkeypatch.setenv("IOTWARDEN_MAX_DOCUMENT_MB", "3")
    current = settings.from_environment()
    assert current.db_url == "sqlite:///x.db"
    assert current.max_document_bytes == 3 * 1024 * 1024


@pytest.mark.parametrize("value", ["lots", "-1", "0"])
def test_bad_numbers_name_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("IOTWARDEN_INGEST_BATCH", value)
    with pytest.raises(SettingsError, match="IOTWARDEN_INGEST_BATCH"):
        settings.from_environment()
