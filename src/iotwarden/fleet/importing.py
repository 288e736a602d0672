"""Inventory import: read every file, check every record and every reference (a device's
product and firmware build, a build's product) against the store and the import itself, then
write everything in one transaction. With errors nothing is stored, unless the caller asks
to skip the invalid records (and those that depend on them)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from iotwarden.core.errors import StoreError
from iotwarden.core.fleet import (
    BuildComponents,
    BuildRef,
    Component,
    Device,
    FirmwareBuild,
    Product,
    ProductRef,
)
from iotwarden.core.identifiers import normalise_name
from iotwarden.fleet.interface import ImportFileError, InventoryImporter, Located, RecordError
from iotwarden.fleet.registry import IMPORTERS
from iotwarden.store.db import Store
from iotwarden.store.fleet import FleetRepository, ProductKey

log = logging.getLogger(__name__)

HEAD_BYTES = 64 * 1024


@dataclass
class FleetImportReport:
    files: int = 0
    records: Counter[str] = field(default_factory=Counter)  # by kind, valid ones
    stored: bool = False
    components: int = 0
    problems: list[RecordError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "stored": self.stored,
            "records": dict(self.records),
            "components": self.components,
            "problems": [
                {"origin": p.origin, "where": p.where, "message": p.message} for p in self.problems
            ],
        }


def choose_importer(path: Path) -> type[InventoryImporter]:
    try:
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError as e:
        raise ImportFileError(str(path), f"cannot be read ({e.strerror or e})") from e
    if not head.strip():
        raise ImportFileError(str(path), "the file is empty")
    for importer in IMPORTERS:
        if importer.accepts(path, head):
            return importer
    names = ", ".join(i.title for i in IMPORTERS)
    raise ImportFileError(str(path), f"not an inventory file this tool reads ({names})")


INVENTORY_SUFFIXES = (".csv", ".json")


def expand(paths: Sequence[Path]) -> list[Path]:
    """Files as given; directories as the .csv and .json files in them (sorted, recursive)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and p.suffix.lower() in INVENTORY_SUFFIXES
                    and not p.name.startswith(".")
                )
            )
        else:
            out.append(path)
    return out


def read_files(
    paths: Sequence[Path], build: BuildRef | None
) -> tuple[list[Located], list[RecordError], int]:
    records: list[Located] = []
    problems: list[RecordError] = []
    files = 0
    for path in expand(paths):
        files += 1
        if not path.is_file():
            problems.append(RecordError(str(path), "", "no such file"))
            continue
        try:
            importer = choose_importer(path)
            for outcome in importer().read(path, build):
                if isinstance(outcome, RecordError):
                    problems.append(outcome)
                else:
                    records.append(outcome)
        except ImportFileError as e:
            problems.append(e.error)
    return records, problems, files


class _Plan:
    """The records of one import, checked against each other and the store."""

    def __init__(self, repo: FleetRepository, conn: Any) -> None:
        self.problems: list[RecordError] = []
        self.stored_products = repo.product_ids(conn)
        stored_builds = repo.build_ids(conn)
        self.product_keys_by_id = {pid: key for key, pid in self.stored_products.items()}
        self.stored_builds = {
            (self.product_keys_by_id[pid], version) for pid, version in stored_builds
        }
        self.products: dict[ProductKey, Product] = {}
        self.builds: dict[tuple[ProductKey, str], FirmwareBuild] = {}
        self.build_sources: dict[tuple[ProductKey, str], Located] = {}
        self.components: dict[tuple[ProductKey, str], tuple[Component, ...]] = {}
        self.devices: dict[str, tuple[Device, Located]] = {}

    def known_product(self, ref: ProductRef) -> bool:
        return ref.key in self.products or ref.key in self.stored_products

    def known_build(self, ref: BuildRef) -> bool:
        key = (ref.product.key, ref.version)
        return key in self.builds or key in self.stored_builds

    def add(self, located: Located) -> None:
        record = located.record
        if isinstance(record, Product):
            self.products[record.ref.key] = record
        elif isinstance(record, FirmwareBuild):
            key = (record.ref.product.key, record.ref.version)
            self.builds[key] = record
            self.build_sources[key] = located
        elif isinstance(record, BuildComponents):
            key = (record.build.product.key, record.build.version)
            # An SBOM for a build that is not declared declares it (with its product).
            if not self.known_build(record.build):
                self.builds[key] = FirmwareBuild(ref=record.build, release_date=record.release_date)
                self.build_sources[key] = located
            self.components[key] = record.components
        else:
            held = self.devices.get(record.device_id)
            if held is not None and held[1] is not located:
                self.problem(
                    located,
                    f"device id {record.device_id!r} appears twice (also at "
                    f"{held[1].origin}, {held[1].where})",
                )
                return
            self.devices[record.device_id] = (record, located)

    def problem(self, located: Located, message: str) -> None:
        self.problems.append(RecordError(located.origin, located.where, message))

    def check_references(self) -> None:
        for key, build in list(self.builds.items()):
            if not self.known_product(build.ref.product):
                self.problem(
                    self.build_sources[key],
                    f"firmware build {build.ref}: product {build.ref.product} is unknown; "
                    "import it in a products file first (or in the same import)",
                )
                del self.builds[key]
                self.components.pop(key, None)
        for device_id, (device, located) in list(self.devices.items()):
            if not self.known_product(device.product):
                self.problem(
                    located,
                    f"device {device_id}: product {device.product} is unknown; import it in a "
                    "products file first (or in the same import)",
                )
                del self.devices[device_id]
            elif device.firmware_version and not self.known_build(
                BuildRef(device.product, device.firmware_version)
            ):
                self.problem(
                    located,
                    f"device {device_id}: firmware build {device.product} "
                    f"{device.firmware_version} is unknown; import it in a builds file first "
                    "(or in the same import)",
                )
                del self.devices[device_id]


def import_inventory(
    store: Store,
    paths: Sequence[Path],
    *,
    build: BuildRef | None = None,
    skip_invalid: bool = False,
) -> FleetImportReport:
    """Import inventory files into the store, whole or not at all (see the module doc)."""
    report = FleetImportReport()
    records, problems, report.files = read_files(paths, build)
    report.problems.extend(problems)
    repo = FleetRepository(store)
    try:
        with store.engine.begin() as conn:
            plan = _Plan(repo, conn)
            # Products first, then builds, then devices: references resolve within the import.
            for kind in (Product, FirmwareBuild, BuildComponents, Device):
                for located in records:
                    if isinstance(located.record, kind):
                        plan.add(located)
            plan.check_references()
            report.problems.extend(plan.problems)
            if report.problems and not skip_invalid:
                conn.rollback()
                return report
            report.components = _write(repo, conn, plan)
            report.records.update(
                {
                    "products": len(plan.products),
                    "firmware_builds": len(plan.builds),
                    "component_lists": len(plan.components),
                    "devices": len(plan.devices),
                }
            )
            report.stored = True
    except SQLAlchemyError as e:
        log.exception("fleet import failed")
        raise StoreError(f"the inventory could not be stored (nothing was): {e}") from e
    return report


def _write(repo: FleetRepository, conn: Any, plan: _Plan) -> int:
    repo.upsert_products(conn, list(plan.products.values()))
    product_ids = repo.product_ids(conn)
    repo.upsert_builds(conn, [(product_ids[key[0]], build) for key, build in plan.builds.items()])
    build_ids = repo.build_ids(conn)
    by_build = {
        build_ids[(product_ids[key[0]], key[1])]: components
        for key, components in plan.components.items()
    }
    for key, build in plan.builds.items():
        if build.components is not None:
            by_build[build_ids[(product_ids[key[0]], key[1])]] = build.components
    written = repo.replace_components(conn, by_build)
    owners: dict[str, tuple[str, str | None]] = {}
    for device, _ in plan.devices.values():
        norm = normalise_name(device.owner)
        if device.owner and norm:
            held = owners.get(norm)
            owners[norm] = (device.owner, device.owner_contact or (held[1] if held else None))
    if owners:
        repo.upsert_owners(conn, owners)
    owner_ids = repo.owner_ids(conn)
    rows = []
    for device, _ in plan.devices.values():
        product_id = product_ids[device.product.key]
        build_id = (
            build_ids[(product_id, device.firmware_version)] if device.firmware_version else None
        )
        rows.append(
            {
                "device_id": device.device_id,
                "product_id": product_id,
                "build_id": build_id,
                "owner_id": owner_ids.get(normalise_name(device.owner) or ""),
                "sector": device.sector,
                "site": device.site,
                "criticality": device.criticality.value if device.criticality else None,
                "internet_exposed": device.internet_exposed,
                "address": device.address,
                "last_seen": device.last_seen,
            }
        )
    if rows:
        repo.upsert_devices(conn, rows)
    return written
