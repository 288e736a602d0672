"""All settings in one place: defaults, environment variables (IOTWARDEN_*), and the CLI's
overrides. Read through :func:`settings`; the CLI calls :func:`configure` once at start."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from iotwarden.core.errors import SettingsError

APP_NAME = "iotwarden"


@dataclass(frozen=True)
class Settings:
    db_url: str
    #: Largest document read whole (CSAF, CVE 5, single records). Arrays are streamed instead.
    max_document_bytes: int = 256 * 1024 * 1024
    #: Largest member accepted from a zip bundle, and the largest expansion ratio allowed.
    max_member_bytes: int = 1024 * 1024 * 1024
    max_compression_ratio: int = 200
    #: Records written per transaction during ingestion.
    ingest_batch_size: int = 2000
    #: Worker processes that parse many small documents while the main process writes.
    ingest_workers: int = 0


def default_db_url() -> str:
    data_dir = Path(platformdirs.user_data_dir(APP_NAME))
    return f"sqlite:///{data_dir / 'iotwarden.db'}"


def _int_env(name: str, default: int, scale: int = 1, minimum: int = 1) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default * scale
    try:
        number = int(value)
    except ValueError as e:
        raise SettingsError(f"{name} must be a whole number, not {value!r}") from e
    if number < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, not {value!r}")
    return number * scale


def from_environment() -> Settings:
    mib = 1024 * 1024
    return Settings(
        db_url=os.environ.get("IOTWARDEN_DB") or default_db_url(),
        max_document_bytes=_int_env("IOTWARDEN_MAX_DOCUMENT_MB", 256, mib),
        max_member_bytes=_int_env("IOTWARDEN_MAX_MEMBER_MB", 1024, mib),
        max_compression_ratio=_int_env("IOTWARDEN_MAX_COMPRESSION_RATIO", 200),
        ingest_batch_size=_int_env("IOTWARDEN_INGEST_BATCH", 2000),
        ingest_workers=_int_env("IOTWARDEN_INGEST_WORKERS", default_workers(), minimum=0),
    )


def default_workers() -> int:
    """One parsing worker per core beyond the one that writes, at least one on two cores."""
    cores = os.cpu_count() or 1
    return 0 if cores < 2 else min(cores, 4)


_current: Settings | None = None


def settings() -> Settings:
    global _current  # noqa: PLW0603 - one process-wide settings object, set once at start
    if _current is None:
        _current = from_environment()
    return _current


def configure(**overrides: object) -> Settings:
    """Replace settings (the CLI's --db, tests). Unknown names are a programming error."""
    global _current  # noqa: PLW0603
    _current = dataclasses.replace(settings(), **overrides)  # type: ignore[arg-type]
    return _current


def reset() -> None:
    global _current  # noqa: PLW0603
    _current = None
