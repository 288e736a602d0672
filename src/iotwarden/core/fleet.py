"""Shared domain types for the fleet inventory: products, firmware builds and their components,
owners and deployed devices. Importers produce them; the store keeps them; the exposure
engine matches advisories against them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from iotwarden.core.identifiers import normalise_name


class Criticality(StrEnum):
    """How much harm a compromised device does where it stands (ordered, low to critical)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class ProductRef:
    """A product named by vendor and product name (compared normalised: case, punctuation)."""

    vendor: str
    name: str

    @property
    def key(self) -> tuple[str, str]:
        return (normalise_name(self.vendor) or "", normalise_name(self.name) or "")

    def __str__(self) -> str:
        return f"{self.vendor} {self.name}"


@dataclass(frozen=True, slots=True)
class BuildRef:
    """A firmware build named by its product and version."""

    product: ProductRef
    version: str

    def __str__(self) -> str:
        return f"{self.product} {self.version}"


@dataclass(frozen=True, slots=True)
class Product:
    ref: ProductRef
    model_numbers: tuple[str, ...] = ()
    device_class: str | None = None  # 'router', 'camera', 'plc', 'infusion pump', ...
    sector: str | None = None  # 'energy', 'health', 'water', 'consumer', ... (lower case)
    criticality: Criticality | None = None


@dataclass(frozen=True, slots=True)
class Component:
    """A software component embedded in a firmware build."""

    name: str
    version: str | None = None  # None: unknown, so "possibly affected", never dropped
    purl: str | None = None
    cpe: str | None = None
    supplier: str | None = None


@dataclass(frozen=True, slots=True)
class FirmwareBuild:
    ref: BuildRef
    release_date: dt.date | None = None
    end_of_support: dt.date | None = None
    #: None: the import says nothing of components (keep what is stored); (): it has none.
    components: tuple[Component, ...] | None = None


@dataclass(frozen=True, slots=True)
class BuildComponents:
    """The components of one build, as an SBOM states them (replacing what was stored)."""

    build: BuildRef
    components: tuple[Component, ...]
    #: Fields of the build the SBOM states too (product supplier, release date), if any.
    release_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    product: ProductRef
    firmware_version: str | None = None  # the build it runs (product + this version)
    owner: str | None = None  # owner organisation
    owner_contact: str | None = None  # e-mail, phone or URL of the owner's security contact
    sector: str | None = None  # defaults to the product's
    site: str | None = None
    criticality: Criticality | None = None  # defaults to the product's
    internet_exposed: bool = False
    address: str | None = None  # IP address or host name
    last_seen: dt.datetime | None = None


#: What an inventory importer yields per record.
InventoryRecord = Product | FirmwareBuild | BuildComponents | Device
