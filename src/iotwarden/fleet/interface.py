"""What an inventory importer is: it declares the files it reads and turns one file into
inventory records (products, firmware builds, components, devices) or per-record errors that
name the file and the line (CSV) or JSON path."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from iotwarden.core.errors import IoTWardenError
from iotwarden.core.fleet import BuildRef, InventoryRecord


class FleetError(IoTWardenError):
    """Base of the errors raised while importing inventory."""


@dataclass(frozen=True)
class RecordError:
    """One bad record: which file, where in it ('line 17' or '$.devices[3].owner'), what."""

    origin: str
    where: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.origin}, {self.where}: {self.message}"
            if self.where
            else (f"{self.origin}: {self.message}")
        )


class ImportFileError(FleetError):
    """A whole file cannot be imported (unreadable, unknown shape, invalid JSON)."""

    def __init__(self, origin: str, message: str, where: str = "") -> None:
        super().__init__(str(RecordError(origin, where, message)))
        self.error = RecordError(origin, where, message)


@dataclass(frozen=True)
class Located:
    """A record and where it came from (for error messages at store time: dangling refs)."""

    record: InventoryRecord
    origin: str
    where: str


#: What an importer yields.
ImportOutcome = Located | RecordError


class InventoryImporter(ABC):
    """One inventory file format. Declarative attributes say what it is; ``read`` works."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]

    @classmethod
    @abstractmethod
    def accepts(cls, path: Path, head: bytes) -> bool:
        """True when the file (its name and first 64 KiB) is in this importer's format."""

    @abstractmethod
    def read(self, path: Path, build: BuildRef | None = None) -> Iterator[ImportOutcome]:
        """Yield the file's records. ``build`` says which firmware build an SBOM describes
        when the SBOM itself does not say it. Raise ImportFileError when the whole file is
        unusable; yield RecordError for one bad record and go on."""
