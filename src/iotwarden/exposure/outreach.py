"""Outreach tracking: for each owner and vendor a vulnerability exposes, where the
conversation stands (new -> notified -> acknowledged -> remediated, or not affected), who
moved it and when. Remediation is also detected from the inventory: a recipient whose
devices no longer run an exposed build is remediated without anyone saying so."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, func, insert, select

from iotwarden.core.identifiers import normalise_name
from iotwarden.exposure.matcher import Exposure, exposure
from iotwarden.fleet.interface import FleetError
from iotwarden.store import schema as t
from iotwarden.store.bulk import CHUNK
from iotwarden.store.db import Store


class OutreachStatus(StrEnum):
    NEW = "new"
    NOTIFIED = "notified"
    ACKNOWLEDGED = "acknowledged"
    REMEDIATED = "remediated"
    NOT_AFFECTED = "not_affected"


#: The moves allowed by hand (anything may also be set back to an earlier state by repeating
#: the call with --force, for corrections).
TRANSITIONS: dict[OutreachStatus, frozenset[OutreachStatus]] = {
    OutreachStatus.NEW: frozenset(
        {OutreachStatus.NOTIFIED, OutreachStatus.NOT_AFFECTED, OutreachStatus.REMEDIATED}
    ),
    OutreachStatus.NOTIFIED: frozenset(
        {OutreachStatus.ACKNOWLEDGED, OutreachStatus.NOT_AFFECTED, OutreachStatus.REMEDIATED}
    ),
    OutreachStatus.ACKNOWLEDGED: frozenset(
        {OutreachStatus.REMEDIATED, OutreachStatus.NOT_AFFECTED}
    ),
    OutreachStatus.REMEDIATED: frozenset(),
    OutreachStatus.NOT_AFFECTED: frozenset(),
}


class OutreachError(FleetError):
    """An outreach change that cannot be made (unknown recipient, disallowed move)."""


@dataclass(frozen=True)
class OutreachItem:
    audience: str  # 'owner' or 'vendor'
    recipient: str
    status: OutreachStatus
    exposed_devices: int
    updated_at: dt.datetime | None
    updated_by: str | None
    detected: bool = False  # remediation seen in the inventory, not reported by anyone


def _recipients(
    store: Store, query: str, result: Exposure | None = None
) -> tuple[str, dict[tuple[str, str], tuple[str, int]]]:
    """(canonical id, {(audience, normalised name): (name, exposed devices)}); ``result`` is
    the query's exposure when the caller has already computed it."""
    if result is None:
        result = exposure(store, query)
    found: dict[tuple[str, str], tuple[str, int]] = {}
    for owner, devices in _owner_counts(store, [b.build_id for b in result.builds]):
        key = ("owner", normalise_name(owner) or owner)
        name, count = found.get(key, (owner, 0))
        found[key] = (name, count + devices)
    for build in result.builds:
        vendor = build.product.vendor
        key = ("vendor", normalise_name(vendor) or vendor)
        name, count = found.get(key, (vendor, 0))
        found[key] = (name, count + build.devices)
    return result.vulnerability_ids[0] if result.vulnerability_ids else query, found


def _owner_counts(store: Store, build_ids: list[int]) -> list[tuple[str, int]]:
    """(owner, exposed devices) over the builds: counted by the database, never device by
    device (a kernel advisory exposes hundreds of thousands)."""
    d, o = t.devices, t.owners
    out: list[tuple[str, int]] = []
    with store.engine.connect() as conn:
        for start in range(0, len(build_ids), CHUNK):
            rows = conn.execute(
                select(o.c.organisation, func.count())
                .join(d, d.c.owner_id == o.c.id)
                .where(d.c.build_id.in_(build_ids[start : start + CHUNK]))
                .group_by(o.c.organisation)
            )
            out += [(organisation, int(count)) for organisation, count in rows]
    return out


def _canonical(store: Store, query: str) -> str:
    """The id outreach is kept under: the first of the vulnerability's ids (stable)."""
    return _recipients(store, query)[0]


def outreach(store: Store, query: str, result: Exposure | None = None) -> list[OutreachItem]:
    """Every recipient ever contacted or now exposed, with its current status (``result``:
    the query's exposure, when the caller already has it)."""
    vulnerability, current = _recipients(store, query, result)
    o = t.outreach
    with store.engine.connect() as conn:
        stored = {
            (row.audience, row.recipient_norm): row
            for row in conn.execute(select(o).where(o.c.vulnerability == vulnerability))
        }
    items: list[OutreachItem] = []
    for key in sorted(set(current) | set(stored)):
        audience, _ = key
        name, count = current.get(key, (stored[key].recipient if key in stored else "", 0))
        row = stored.get(key)
        status = OutreachStatus(row.status) if row is not None else OutreachStatus.NEW
        detected = False
        if count == 0 and status in (
            OutreachStatus.NEW,
            OutreachStatus.NOTIFIED,
            OutreachStatus.ACKNOWLEDGED,
        ):
            status, detected = OutreachStatus.REMEDIATED, True
        items.append(
            OutreachItem(
                audience=audience,
                recipient=row.recipient if row is not None else name,
                status=status,
                exposed_devices=count,
                updated_at=row.updated_at if row is not None else None,
                updated_by=row.updated_by if row is not None else None,
                detected=detected,
            )
        )
    items.sort(key=lambda i: (i.audience, -i.exposed_devices, i.recipient))
    return items


def record(
    store: Store,
    query: str,
    recipient: str,
    status: OutreachStatus,
    *,
    by: str | None,
    note: str | None = None,
    audience: str = "owner",
    force: bool = False,
    now: dt.datetime | None = None,
) -> OutreachItem:
    """Move a recipient's outreach to ``status`` (validated), keeping the history."""
    vulnerability, current = _recipients(store, query)
    key = (audience, normalise_name(recipient) or recipient)
    stamp = now or dt.datetime.now(dt.UTC)
    o, e = t.outreach, t.outreach_events
    with store.engine.begin() as conn:
        row = conn.execute(
            select(o).where(
                o.c.vulnerability == vulnerability,
                o.c.audience == audience,
                o.c.recipient_norm == key[1],
            )
        ).first()
        if row is None and key not in current:
            known = ", ".join(
                sorted(name for (aud, _), (name, _) in current.items() if aud == audience)
            )
            raise OutreachError(
                f"{recipient!r} is not an exposed {audience} for {vulnerability} "
                f"(exposed {audience}s: {known or 'none'})"
            )
        previous = OutreachStatus(row.status) if row is not None else OutreachStatus.NEW
        if status is previous:
            raise OutreachError(f"{recipient} is already {status.value} for {vulnerability}")
        if not force and status not in TRANSITIONS[previous]:
            allowed = ", ".join(s.value for s in sorted(TRANSITIONS[previous])) or "none"
            raise OutreachError(
                f"{recipient} cannot go from {previous.value} to {status.value} "
                f"(allowed: {allowed}; --force corrects a mistake)"
            )
        outreach_id = _upsert(
            conn,
            row,
            vulnerability,
            audience,
            key[1],
            current.get(key, (recipient, 0))[0],
            status,
            stamp,
            by,
        )
        conn.execute(
            insert(e).values(
                outreach_id=outreach_id, status=status.value, at=stamp, by=by, note=note
            )
        )
    return next(
        i
        for i in outreach(store, query)
        if (i.audience, normalise_name(i.recipient) or i.recipient) == key
    )


def _upsert(
    conn: Connection,
    row: object,
    vulnerability: str,
    audience: str,
    recipient_norm: str,
    recipient: str,
    status: OutreachStatus,
    stamp: dt.datetime,
    by: str | None,
) -> int:
    o = t.outreach
    values = {"status": status.value, "updated_at": stamp, "updated_by": by}
    if row is not None:
        row_id = int(row.id)  # type: ignore[attr-defined]
        conn.execute(o.update().where(o.c.id == row_id).values(**values))
        return row_id
    result = conn.execute(
        insert(o).returning(o.c.id),
        {
            "vulnerability": vulnerability,
            "audience": audience,
            "recipient": recipient,
            "recipient_norm": recipient_norm,
            **values,
        },
    )
    return int(result.scalar_one())


def history(
    store: Store, query: str
) -> list[tuple[str, str, str, dt.datetime, str | None, str | None]]:
    """(audience, recipient, status, at, by, note) for every recorded move, oldest first."""
    vulnerability = _canonical(store, query)
    o, e = t.outreach, t.outreach_events
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(o.c.audience, o.c.recipient, e.c.status, e.c.at, e.c.by, e.c.note)
            .join(e, e.c.outreach_id == o.c.id)
            .where(o.c.vulnerability == vulnerability)
            .order_by(e.c.at, e.c.id)
        )
        return [tuple(r) for r in rows]
