"""The fleet repository: products, firmware builds with their components, owners and devices,
written by natural key (vendor + product, product + version, device id) inside the caller's
transaction, so that an import is stored whole or not at all; and the latest firmware analysis
kept with each build (its findings and check records), read back with the build."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from iotwarden.core.errors import StoreError
from iotwarden.core.fleet import (
    BuildRef,
    Component,
    Criticality,
    Device,
    FirmwareBuild,
    Product,
    ProductRef,
)
from iotwarden.core.identifiers import normalise_name
from iotwarden.store import schema as t
from iotwarden.store.bulk import CHUNK, bulk_insert, upsert
from iotwarden.store.db import Store
from iotwarden.store.rows import cpe_parts, purl_parts

ProductKey = tuple[str, str]

COMPONENT_COLUMNS = (
    "build_id",
    "name",
    "name_norm",
    "version",
    "purl",
    "purl_type",
    "purl_namespace",
    "purl_name",
    "cpe",
    "cpe_vendor",
    "cpe_product",
    "supplier",
)


@dataclass(frozen=True)
class BuildAnalysis:
    """The latest firmware analysis kept with a build. ``result`` is plain JSON in the layout
    :mod:`iotwarden.firmware.analyze` writes (see ``build_analysis_result`` there): findings,
    check records, hardening summary, components with their evidence."""

    analysis_id: str
    image_name: str
    image_sha256: str | None  # None when a folder was analysed
    analysed_at: dt.datetime  # UTC
    result: Mapping[str, Any]


@dataclass(frozen=True)
class StoredBuild:
    """A build as the inventory holds it: its components and, if any, its latest analysis."""

    ref: BuildRef  # spelled as stored
    release_date: dt.date | None
    end_of_support: dt.date | None
    components: tuple[Component, ...]
    analysis: BuildAnalysis | None


def _merge(stored: Any, given: Any) -> Any:
    """A field the import leaves out (None) keeps its stored value."""
    return stored if given is None else given


class FleetRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    # products ----------------------------------------------------------------------------------

    def products(self, conn: Connection) -> dict[ProductKey, Product]:
        out: dict[ProductKey, Product] = {}
        for row in conn.execute(select(t.products)):
            product = _product(row)
            out[product.ref.key] = product
        return out

    def product_ids(self, conn: Connection) -> dict[ProductKey, int]:
        p = t.products
        return {
            (row.vendor_norm, row.name_norm): row.id
            for row in conn.execute(select(p.c.id, p.c.vendor_norm, p.c.name_norm))
        }

    def upsert_products(self, conn: Connection, given: Sequence[Product]) -> None:
        stored = self.products(conn)
        rows = []
        for item in given:
            held = stored.get(item.ref.key)
            product = item
            if held is not None:
                product = replace(
                    item,
                    model_numbers=product.model_numbers or held.model_numbers,
                    device_class=_merge(held.device_class, product.device_class),
                    sector=_merge(held.sector, product.sector),
                    criticality=_merge(held.criticality, product.criticality),
                )
            vendor_norm, name_norm = product.ref.key
            rows.append(
                {
                    "vendor": product.ref.vendor,
                    "name": product.ref.name,
                    "vendor_norm": vendor_norm,
                    "name_norm": name_norm,
                    "model_numbers": list(product.model_numbers) or None,
                    "device_class": product.device_class,
                    "sector": product.sector,
                    "criticality": product.criticality.value if product.criticality else None,
                }
            )
        upsert(conn, t.products, rows, ["vendor_norm", "name_norm"])

    # builds and components -----------------------------------------------------------------------

    def build_ids(self, conn: Connection) -> dict[tuple[int, str], int]:
        b = t.firmware_builds
        return {
            (row.product_id, row.version): row.id
            for row in conn.execute(select(b.c.id, b.c.product_id, b.c.version))
        }

    def upsert_builds(self, conn: Connection, given: Sequence[tuple[int, FirmwareBuild]]) -> None:
        b = t.firmware_builds
        stored = {
            (row.product_id, row.version): row
            for row in conn.execute(
                select(b.c.product_id, b.c.version, b.c.release_date, b.c.end_of_support)
            )
        }
        rows = []
        for product_id, build in given:
            held = stored.get((product_id, build.ref.version))
            rows.append(
                {
                    "product_id": product_id,
                    "version": build.ref.version,
                    "release_date": _merge(held and held.release_date, build.release_date),
                    "end_of_support": _merge(held and held.end_of_support, build.end_of_support),
                }
            )
        upsert(conn, b, rows, ["product_id", "version"])

    def replace_components(
        self, conn: Connection, by_build: dict[int, tuple[Component, ...]]
    ) -> int:
        """Make each build's components exactly the given ones."""
        build_ids = list(by_build)
        for start in range(0, len(build_ids), CHUNK):
            conn.execute(
                delete(t.components).where(
                    t.components.c.build_id.in_(build_ids[start : start + CHUNK])
                )
            )
        rows = [
            _component_row(build_id, component)
            for build_id, components in by_build.items()
            for component in components
        ]
        if rows:
            bulk_insert(conn, t.components, COMPONENT_COLUMNS, rows)
        return len(rows)

    def build_id(self, conn: Connection, ref: BuildRef) -> int | None:
        """The stored build's id, by natural key (normalised vendor and product, version)."""
        b, p = t.firmware_builds, t.products
        vendor, name = ref.product.key
        found = conn.execute(
            select(b.c.id)
            .join(p, p.c.id == b.c.product_id)
            .where(p.c.vendor_norm == vendor, p.c.name_norm == name, b.c.version == ref.version)
        ).scalar()
        return int(found) if found is not None else None

    # firmware analyses kept with builds ----------------------------------------------------------

    def replace_build_analysis(
        self, conn: Connection, build_id: int, analysis: BuildAnalysis
    ) -> None:
        """Make ``analysis`` the build's latest (one per build: the previous one goes)."""
        a = t.firmware_build_analyses
        self.clear_build_analysis(conn, build_id)
        conn.execute(
            a.insert().values(
                build_id=build_id,
                analysis_id=analysis.analysis_id,
                image_name=analysis.image_name,
                image_sha256=analysis.image_sha256,
                analysed_at=analysis.analysed_at,
                result=dict(analysis.result),
            )
        )

    def clear_build_analysis(self, conn: Connection, build_id: int) -> None:
        a = t.firmware_build_analyses
        conn.execute(delete(a).where(a.c.build_id == build_id))

    def complete_build_analysis(
        self, conn: Connection, build_id: int, analysis_id: str, result: Mapping[str, Any]
    ) -> bool:
        """Replace the result of the build's analysis ``analysis_id`` (the known
        vulnerabilities are matched after the build is written); False when a newer analysis
        has replaced it meanwhile, which is then left alone."""
        a = t.firmware_build_analyses
        done = conn.execute(
            update(a)
            .where(a.c.build_id == build_id, a.c.analysis_id == analysis_id)
            .values(result=dict(result))
        )
        return bool(done.rowcount)

    def build_analysis(self, conn: Connection, build_id: int) -> BuildAnalysis | None:
        a = t.firmware_build_analyses
        row = conn.execute(select(a).where(a.c.build_id == build_id)).first()
        if row is None or not isinstance(row.result, dict):
            return None
        analysed_at = row.analysed_at
        if analysed_at.tzinfo is None:  # SQLite keeps no zone: it was written in UTC
            analysed_at = analysed_at.replace(tzinfo=dt.UTC)
        return BuildAnalysis(
            analysis_id=row.analysis_id,
            image_name=row.image_name,
            image_sha256=row.image_sha256,
            analysed_at=analysed_at,
            result=row.result,
        )

    def stored_build(self, ref: BuildRef) -> StoredBuild | None:
        """The build with its components and latest analysis, or None when the inventory has
        no such build."""
        b, p, c = t.firmware_builds, t.products, t.components
        vendor, name = ref.product.key
        try:
            with self.store.engine.connect() as conn:
                row = conn.execute(
                    select(b.c.id, b.c.version, b.c.release_date, b.c.end_of_support, p.c.vendor)
                    .add_columns(p.c.name.label("product_name"))
                    .join(p, p.c.id == b.c.product_id)
                    .where(
                        p.c.vendor_norm == vendor,
                        p.c.name_norm == name,
                        b.c.version == ref.version,
                    )
                ).first()
                if row is None:
                    return None
                components = tuple(
                    Component(r.name, r.version, r.purl, r.cpe, r.supplier)
                    for r in conn.execute(
                        select(c.c.name, c.c.version, c.c.purl, c.c.cpe, c.c.supplier)
                        .where(c.c.build_id == row.id)
                        .order_by(c.c.name_norm, c.c.version, c.c.id)
                    )
                )
                analysis = self.build_analysis(conn, row.id)
        except SQLAlchemyError as e:
            raise StoreError(f"cannot read the build from {self.store.url}: {e}") from e
        return StoredBuild(
            ref=BuildRef(ProductRef(row.vendor, row.product_name), row.version),
            release_date=row.release_date,
            end_of_support=row.end_of_support,
            components=components,
            analysis=analysis,
        )

    # owners and devices --------------------------------------------------------------------------

    def upsert_owners(self, conn: Connection, given: dict[str, tuple[str, str | None]]) -> None:
        """Owners by normalised organisation name: (organisation, contact)."""
        o = t.owners
        stored = {
            row.organisation_norm: row.contact
            for row in conn.execute(select(o.c.organisation_norm, o.c.contact))
        }
        rows = [
            {
                "organisation": organisation,
                "organisation_norm": norm,
                "contact": _merge(stored.get(norm), contact),
            }
            for norm, (organisation, contact) in given.items()
        ]
        upsert(conn, o, rows, ["organisation_norm"])

    def owner_ids(self, conn: Connection) -> dict[str, int]:
        o = t.owners
        return {
            row.organisation_norm: row.id
            for row in conn.execute(select(o.c.id, o.c.organisation_norm))
        }

    def upsert_devices(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        upsert(conn, t.devices, rows, ["device_id"])

    def device_ids(self, conn: Connection, wanted: Iterable[str]) -> set[str]:
        ids = list(wanted)
        found: set[str] = set()
        d = t.devices
        for start in range(0, len(ids), CHUNK):
            found.update(
                row[0]
                for row in conn.execute(
                    select(d.c.device_id).where(d.c.device_id.in_(ids[start : start + CHUNK]))
                )
            )
        return found

    # reads -------------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        tables = (t.products, t.firmware_builds, t.components, t.owners, t.devices)
        with self.store.engine.connect() as conn:
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in tables
            }

    def devices(self, conn: Connection, device_ids: Sequence[str]) -> dict[str, Device]:
        d, p, b, o = t.devices, t.products, t.firmware_builds, t.owners
        query = (
            select(
                d,
                p.c.vendor,
                p.c.name.label("product_name"),
                b.c.version,
                o.c.organisation,
                o.c.contact,
            )
            .join(p, p.c.id == d.c.product_id)
            .outerjoin(b, b.c.id == d.c.build_id)
            .outerjoin(o, o.c.id == d.c.owner_id)
        )
        out: dict[str, Device] = {}
        ids = list(device_ids)
        for start in range(0, len(ids), CHUNK):
            for row in conn.execute(query.where(d.c.device_id.in_(ids[start : start + CHUNK]))):
                out[row.device_id] = _device(row)
        return out


def _component_row(build_id: int, component: Component) -> tuple[Any, ...]:
    ptype, pns, pname = purl_parts(component.purl)
    cvendor, cproduct = cpe_parts(component.cpe)
    return (
        build_id,
        component.name,
        normalise_name(component.name) or component.name.lower(),
        component.version,
        component.purl,
        ptype,
        pns,
        pname,
        component.cpe,
        cvendor,
        cproduct,
        component.supplier,
    )


def _product(row: Any) -> Product:
    return Product(
        ref=ProductRef(row.vendor, row.name),
        model_numbers=tuple(row.model_numbers or ()),
        device_class=row.device_class,
        sector=row.sector,
        criticality=Criticality(row.criticality) if row.criticality else None,
    )


def _device(row: Any) -> Device:
    return Device(
        device_id=row.device_id,
        product=ProductRef(row.vendor, row.product_name),
        firmware_version=row.version,
        owner=row.organisation,
        owner_contact=row.contact,
        sector=row.sector,
        site=row.site,
        criticality=Criticality(row.criticality) if row.criticality else None,
        internet_exposed=bool(row.internet_exposed),
        address=row.address,
        last_seen=row.last_seen,
    )
