"""The exposure engine gives the same answers on SQLite and PostgreSQL: one advisory's
exposure, its ranking through the store and through a resident fleet, the batch rematch,
and the situation snapshots that follow it over time."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from iotwarden.cli.demo import samples_dir
from iotwarden.exposure.index import ResidentFleet
from iotwarden.exposure.matcher import ExposureStatus, exposed_devices, exposure
from iotwarden.exposure.priority import prioritise
from iotwarden.exposure.rematch import rematch
from iotwarden.exposure.situation import situation
from iotwarden.fleet.importing import import_inventory
from iotwarden.fleet.sample import generate_world
from iotwarden.intel.ingest import ingest
from iotwarden.store.db import Store


def test_exposure_rematch_and_situation_on_each_backend(store: Store, tmp_path: Path) -> None:
    world = tmp_path / "world.json"
    world.write_text(json.dumps(generate_world(devices=500, seed=11)))
    assert import_inventory(store, [world]).ok
    assert ingest(store, [str(samples_dir())]).ok

    single = exposure(store, "CVE-2014-0160")
    affected = {b.build_id for b in single.builds if b.status is ExposureStatus.AFFECTED}
    assert affected and single.devices > 0

    # The first devices (internet-facing, then most critical, then by id) are the same whether
    # the database picks them (with a limit) or the whole list is sorted.
    everything = exposed_devices(store, single)
    assert len(everything) == single.devices
    assert exposed_devices(store, single, limit=25) == everything[:25]

    batch = rematch(store).exposures["CVE-2014-0160"]
    assert batch.affected == affected
    assert batch.devices == single.devices

    with store.engine.connect() as conn:
        fleet = ResidentFleet.load(conn)
    ranked = prioritise(store, single)
    resident = prioritise(store, exposure(store, "CVE-2014-0160", fleet), fleet)
    assert [(p.score, p.group) for p in resident] == [(p.score, p.group) for p in ranked]
    assert ranked.devices == single.devices

    first = situation(store, "CVE-2014-0160", now=dt.datetime(2014, 4, 8, tzinfo=dt.UTC))
    second = situation(store, "CVE-2014-0160", now=dt.datetime(2014, 4, 9, tzinfo=dt.UTC))
    assert [s.devices for s in second.history] == [first.total.devices] * 2
    assert second.history[0].taken_at == dt.datetime(2014, 4, 8, tzinfo=dt.UTC)
