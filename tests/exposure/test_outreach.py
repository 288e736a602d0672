"""Outreach tracking: moves are validated and kept with who and when; remediation is
detected when the inventory shows the devices moved to a fixed build."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from iotwarden.cli.demo import samples_dir
from iotwarden.exposure.outreach import OutreachError, OutreachStatus, history, outreach, record
from iotwarden.fleet.importing import import_inventory
from iotwarden.intel.ingest import ingest
from iotwarden.store.db import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store.open(f"sqlite:///{tmp_path / 'o.db'}")
    assert import_inventory(opened, [samples_dir("fleet")]).ok
    assert ingest(opened, [str(samples_dir())]).ok
    return opened


def _status(store: Store, recipient: str) -> OutreachStatus:
    return next(i.status for i in outreach(store, "CVE-2014-0160") if i.recipient == recipient)


def test_everyone_exposed_starts_new(store: Store) -> None:
    items = {(i.audience, i.recipient): i for i in outreach(store, "CVE-2014-0160")}
    assert items[("owner", "North Grid")].status is OutreachStatus.NEW
    assert items[("owner", "North Grid")].exposed_devices == 7
    assert items[("owner", "St Mary Hospital")].exposed_devices == 5
    assert items[("vendor", "Example Controls")].exposed_devices == 7


def test_moves_are_validated_and_kept_with_who_and_when(store: Store) -> None:
    day = dt.datetime(2014, 4, 8, 9, 0, tzinfo=dt.UTC)
    item = record(
        store,
        "CVE-2014-0160",
        "north grid",
        OutreachStatus.NOTIFIED,
        by="alice",
        note="called the SOC",
        now=day,
    )
    assert item.status is OutreachStatus.NOTIFIED
    assert item.updated_by == "alice"
    with pytest.raises(OutreachError, match="cannot go from notified to new"):
        record(store, "CVE-2014-0160", "North Grid", OutreachStatus.NEW, by="bob")
    record(
        store,
        "CVE-2014-0160",
        "North Grid",
        OutreachStatus.ACKNOWLEDGED,
        by="bob",
        now=day + dt.timedelta(hours=3),
    )
    assert _status(store, "North Grid") is OutreachStatus.ACKNOWLEDGED
    events = history(store, "CVE-2014-0160")
    assert [(e[1], e[2], e[4], e[5]) for e in events] == [
        ("North Grid", "notified", "alice", "called the SOC"),
        ("North Grid", "acknowledged", "bob", None),
    ]
    with pytest.raises(OutreachError, match="not an exposed owner"):
        record(store, "CVE-2014-0160", "Nobody Ltd", OutreachStatus.NOTIFIED, by="alice")


def test_remediation_is_detected_when_devices_move_to_a_fixed_build(
    store: Store, tmp_path: Path
) -> None:
    record(store, "CVE-2014-0160", "North Grid", OutreachStatus.NOTIFIED, by="alice")
    moved = {
        "devices": [
            {
                "device_id": f"grid-{i:04d}",
                "vendor": "Example Controls",
                "product": "ExGate 100",
                "firmware_version": "4.3.0",
                "owner": "North Grid",
            }
            for i in range(7)
        ]
    }
    path = tmp_path / "moved.json"
    path.write_text(json.dumps(moved))
    assert import_inventory(store, [path]).ok
    item = next(i for i in outreach(store, "CVE-2014-0160") if i.recipient == "North Grid")
    assert item.status is OutreachStatus.REMEDIATED
    assert item.detected
    assert item.exposed_devices == 0
