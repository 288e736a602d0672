"""The registered inventory importers, in detection order (most specific first)."""

from __future__ import annotations

from iotwarden.fleet.interface import InventoryImporter
from iotwarden.fleet.sbom import CycloneDxImporter, SpdxImporter
from iotwarden.fleet.tables import CsvInventoryImporter, JsonInventoryImporter

IMPORTERS: list[type[InventoryImporter]] = [
    CycloneDxImporter,
    SpdxImporter,
    JsonInventoryImporter,
    CsvInventoryImporter,
]
