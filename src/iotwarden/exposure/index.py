"""What the exposure engine matches against, in memory: the alias table of the components
embedded devices carry, the inventory's distinct component variants indexed by purl, CPE and
name (``ComponentIndex``), and for a long-running matcher the whole fleet (``ResidentFleet``):
components plus every device as columns ordered by firmware build."""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from sqlalchemy import Connection, func, select

from iotwarden.core.ecosystems import purl_parts_for
from iotwarden.core.identifiers import (
    IdentifierError,
    normalise_name,
    parse_cpe,
    split_purl,
)
from iotwarden.core.models import AffectedProduct
from iotwarden.store import schema as t

# --- the alias table ------------------------------------------------------------------------


@functools.cache
def _aliases() -> tuple[dict[tuple[str, str], frozenset[str]], dict[str, frozenset[str]]]:
    """(cpe vendor, product) -> component names, and component name -> all its names."""
    text = (resources.files("iotwarden") / "data" / "component_aliases.json").read_text("utf-8")
    by_cpe: dict[tuple[str, str], frozenset[str]] = {}
    by_name: dict[str, frozenset[str]] = {}
    for key, entry in json.loads(text)["components"].items():
        names = frozenset(
            {normalise_name(key) or key, *(normalise_name(n) or n for n in entry["names"])}
        )
        for cpe in entry["cpe"]:
            vendor, product = cpe.split(":", 1)
            by_cpe[(vendor, product)] = names
        for name in names:
            by_name[name] = names
    return by_cpe, by_name


def component_names_for_cpe(vendor: str, product: str) -> frozenset[str]:
    names = _aliases()[0].get((vendor.lower(), product.lower()))
    return names if names is not None else frozenset({normalise_name(product) or product})


def component_names_for(name: str) -> frozenset[str]:
    norm = normalise_name(name) or name.lower()
    return _aliases()[1].get(norm, frozenset({norm}))


# --- the component index -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Variant:
    """One distinct component (name, version, identifiers) and the builds that carry it."""

    name: str
    version: str | None
    builds: tuple[int, ...]
    #: The builds as a bit set over ``ComponentIndex.build_ids`` (for batch set algebra).
    mask: int = 0
    matched: str = ""

    def __post_init__(self) -> None:
        if not self.matched:
            object.__setattr__(
                self, "matched", f"{self.name} {self.version or '(version unknown)'}"
            )


@dataclass
class ComponentIndex:
    """The inventory's components by purl, CPE and name; its products by vendor."""

    by_purl: dict[tuple[str, str], list[tuple[str | None, Variant]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    by_cpe: dict[tuple[str, str], list[Variant]] = field(default_factory=lambda: defaultdict(list))
    by_name: dict[str, list[Variant]] = field(default_factory=lambda: defaultdict(list))
    by_name_without_cpe: dict[str, list[Variant]] = field(default_factory=lambda: defaultdict(list))
    #: vendor_norm -> [(name_norm, model numbers lower-cased, name, [(build_id, version)])]
    products: dict[str, list[tuple[str, frozenset[str], str, list[tuple[int, str]]]]] = field(
        default_factory=dict
    )
    variants: int = 0
    components: int = 0
    #: Every build, in bit order: bit i of a variant's mask is build ``build_ids[i]``.
    build_ids: list[int] = field(default_factory=list)
    positions: dict[int, int] = field(default_factory=dict)

    def mask_of(self, builds: Iterable[int]) -> int:
        mask = 0
        for build_id in builds:
            mask |= 1 << self.positions[build_id]
        return mask

    def builds_of(self, mask: int) -> frozenset[int]:
        """The build ids of a bit set."""
        out = []
        ids = self.build_ids
        while mask:
            low = mask & -mask
            out.append(ids[low.bit_length() - 1])
            mask ^= low
        return frozenset(out)

    @classmethod
    def load(cls, conn: Connection) -> ComponentIndex:
        c = t.components
        grouped: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        rows = conn.execute(
            select(
                c.c.build_id,
                c.c.name,
                c.c.name_norm,
                c.c.version,
                c.c.purl_type,
                c.c.purl_namespace,
                c.c.purl_name,
                c.c.cpe_vendor,
                c.c.cpe_product,
            )
        )
        count = 0
        for build_id, *identity in rows:
            grouped[tuple(identity)].append(build_id)
            count += 1
        build_ids = sorted(conn.execute(select(t.firmware_builds.c.id)).scalars())
        index = cls(components=count, variants=len(grouped), build_ids=build_ids)
        index.positions = {build_id: i for i, build_id in enumerate(build_ids)}
        for (
            name,
            name_norm,
            version,
            ptype,
            pns,
            pname,
            cvendor,
            cproduct,
        ), builds in grouped.items():
            variant = Variant(name, version, tuple(builds), index.mask_of(builds))
            if ptype and pname:
                index.by_purl[(ptype, pname.lower())].append(
                    (pns.lower() if pns else None, variant)
                )
            if cvendor:
                index.by_cpe[(cvendor, cproduct or "")].append(variant)
            else:
                index.by_name_without_cpe[name_norm].append(variant)
            index.by_name[name_norm].append(variant)
        p, b = t.products, t.firmware_builds
        products: dict[int, tuple[str, str, frozenset[str], str, list[tuple[int, str]]]] = {}
        builds_of: list[tuple[int, str]]
        for pid, vendor_norm, name_norm, models, name in conn.execute(
            select(p.c.id, p.c.vendor_norm, p.c.name_norm, p.c.model_numbers, p.c.name)
        ):
            products[pid] = (
                vendor_norm,
                name_norm,
                frozenset(m.lower() for m in models or ()),
                name,
                [],
            )
        for build_id, product_id, version in conn.execute(
            select(b.c.id, b.c.product_id, b.c.version)
        ):
            products[product_id][4].append((build_id, version))
        for vendor_norm, name_norm, models, name, builds_of in products.values():
            index.products.setdefault(vendor_norm, []).append((name_norm, models, name, builds_of))
        return index

    def candidates(self, entry: AffectedProduct) -> Iterator[tuple[str, str | None, Variant]]:
        """(how, matched text, variant) for everything the entry names, as the matcher's
        SQL candidates do."""
        ident = entry.identity
        purl = statement_purl(ident.purl, ident.ecosystem, ident.product)
        if purl is not None:
            ptype, namespace, name = purl
            wanted_ns = namespace.lower() if namespace else None
            for held_ns, variant in self.by_purl.get((ptype, name.lower()), ()):
                if wanted_ns is None or held_ns == wanted_ns:
                    yield "purl", variant.version, variant
        elif ident.cpe:
            try:
                cpe = parse_cpe(ident.cpe)
            except IdentifierError:
                cpe = None
            if cpe is not None:
                vendor, product = cpe.vendor.lower(), cpe.product.lower()
                for variant in self.by_cpe.get((vendor, product), ()):
                    yield "cpe", variant.version, variant
                for name in sorted(component_names_for_cpe(vendor, product)):
                    for variant in self.by_name_without_cpe.get(name, ()):
                        yield "cpe", variant.version, variant
        elif ident.product:
            for name in sorted(component_names_for(ident.product)):
                for variant in self.by_name.get(name, ()):
                    yield "component name", variant.version, variant
        vendor_norm = normalise_name(ident.vendor)
        product_norm = normalise_name(ident.product)
        if vendor_norm and (product_norm or ident.model_numbers):
            models = {m.lower() for m in ident.model_numbers}
            for name_norm, held_models, name, builds in self.products.get(vendor_norm, ()):
                if (product_norm is not None and name_norm == product_norm) or (
                    models and models & held_models
                ):
                    for build_id, version in builds:
                        yield (
                            "product",
                            version,
                            Variant(
                                f"{name} firmware",
                                version,
                                (build_id,),
                                1 << self.positions[build_id],
                            ),
                        )

    def could_match(self, row: Any) -> bool:
        """Cheap test on an affected row's identity columns, before its ranges are decoded:
        the same choice of identifier as ``candidates``, looked up by key only."""
        purl = statement_purl(row.purl, row.ecosystem, row.product)
        if purl is not None:
            if (purl[0], purl[2].lower()) in self.by_purl:
                return True
        elif row.cpe:
            try:
                cpe = parse_cpe(row.cpe)
            except IdentifierError:
                cpe = None
            if cpe is not None:
                vendor, product = cpe.vendor.lower(), cpe.product.lower()
                if (vendor, product) in self.by_cpe or any(
                    n in self.by_name_without_cpe for n in component_names_for_cpe(vendor, product)
                ):
                    return True
        elif row.product and any(n in self.by_name for n in component_names_for(row.product)):
            return True
        return bool(row.vendor_norm and row.vendor_norm in self.products)


def statement_purl(
    purl: str | None, ecosystem: str | None, product: str | None
) -> tuple[str, str | None, str] | None:
    """(type, namespace, name) an affected statement names by purl, or by an ecosystem whose
    packages have one (OSV); None when it names its product otherwise (CPE, name)."""
    if purl:
        try:
            return split_purl(purl)
        except IdentifierError:
            pass
    if ecosystem:
        return purl_parts_for(ecosystem, product)
    return None


def device_rows() -> Any:
    """What ranking needs of each device: build, owner, sector and criticality (the device's
    own, else its product's), internet exposure, id."""
    d, p = t.devices, t.products
    return select(
        d.c.build_id,
        d.c.owner_id,
        func.coalesce(d.c.sector, p.c.sector),
        func.coalesce(d.c.criticality, p.c.criticality),
        d.c.internet_exposed,
        d.c.device_id,
    ).join(p, p.c.id == d.c.product_id)


# --- the whole fleet, resident ----------------------------------------------------------------


@dataclass
class ResidentFleet:
    """The inventory in memory for a long-running matcher (alerts on ingest, a service).

    Loaded once (seconds for a million devices); each new advisory is then matched through the
    component index and its devices grouped and ranked from columns, without a query over the
    devices table. Devices are ordered by build, so a build's devices are one slice.
    """

    index: ComponentIndex
    builds: dict[int, tuple[Any, str]]  # build id -> (ProductRef, version)
    slices: dict[int, tuple[int, int]]  # build id -> (start, end) in the device columns
    internet_per_build: dict[int, int]
    device_ids: list[str]
    owner: Any  # numpy int32: owner code, 0 = none
    sector: Any  # numpy int32: sector code
    criticality: Any  # numpy int8: criticality code, 0 = none
    internet: Any  # numpy bool
    owners: list[tuple[str | None, str | None]]  # owner code -> (organisation, contact)
    sectors: list[str | None]  # sector code -> name
    criticalities: list[Any]  # criticality code -> Criticality | None
    seconds: float = 0.0

    @property
    def devices(self) -> int:
        return len(self.device_ids)

    @classmethod
    def load(cls, conn: Connection) -> ResidentFleet:
        import time

        import numpy as np

        from iotwarden.core.fleet import Criticality, ProductRef

        started = time.perf_counter()
        index = ComponentIndex.load(conn)
        p, b, d, o = t.products, t.firmware_builds, t.devices, t.owners
        builds = {
            build_id: (ProductRef(vendor, name), version)
            for build_id, vendor, name, version in conn.execute(
                select(b.c.id, p.c.vendor, p.c.name, b.c.version).join(p, p.c.id == b.c.product_id)
            )
        }
        owners: list[tuple[str | None, str | None]] = [(None, None)]
        owner_code: dict[int, int] = {}
        for owner_id, organisation, contact in conn.execute(
            select(o.c.id, o.c.organisation, o.c.contact).order_by(o.c.organisation)
        ):
            owner_code[owner_id] = len(owners)
            owners.append((organisation, contact))
        criticalities: list[Any] = [None, *Criticality]
        level_code = {c.value: i for i, c in enumerate(criticalities) if c is not None}
        sectors: list[str | None] = []
        sector_code: dict[str | None, int] = {}
        rows = conn.execute(device_rows().where(d.c.build_id.is_not(None)).order_by(d.c.build_id))
        device_ids: list[str] = []
        owner_col: list[int] = []
        sector_col: list[int] = []
        level_col: list[int] = []
        internet_col: list[bool] = []
        slices: dict[int, tuple[int, int]] = {}
        internet_per_build: dict[int, int] = defaultdict(int)
        current, start = None, 0
        for build_id, owner_id, sector, level, internet, device_id in rows:
            if build_id != current:
                if current is not None:
                    slices[current] = (start, len(device_ids))
                current, start = build_id, len(device_ids)
            code = sector_code.get(sector)
            if code is None:
                code = sector_code[sector] = len(sectors)
                sectors.append(sector)
            device_ids.append(device_id)
            owner_col.append(owner_code.get(owner_id, 0) if owner_id is not None else 0)
            sector_col.append(code)
            level_col.append(level_code.get(level, 0) if level else 0)
            internet_col.append(bool(internet))
            if internet:
                internet_per_build[build_id] += 1
        if current is not None:
            slices[current] = (start, len(device_ids))
        return cls(
            index=index,
            builds=builds,
            slices=slices,
            internet_per_build=dict(internet_per_build),
            device_ids=device_ids,
            owner=np.asarray(owner_col, dtype=np.int32),
            sector=np.asarray(sector_col, dtype=np.int32),
            criticality=np.asarray(level_col, dtype=np.int8),
            internet=np.asarray(internet_col, dtype=np.bool_),
            owners=owners,
            sectors=sectors,
            criticalities=criticalities,
            seconds=time.perf_counter() - started,
        )
