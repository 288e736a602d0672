"""A resident fleet (the inventory held in memory by a long-running matcher) gives exactly
the exposure and ranking of the store-backed path: same builds, statuses, device counts,
groups, scores and order."""

from __future__ import annotations

import json

import pytest

from iotwarden.cli.demo import samples_dir
from iotwarden.exposure.index import ResidentFleet
from iotwarden.exposure.matcher import exposure
from iotwarden.exposure.priority import prioritise
from iotwarden.fleet.importing import import_inventory
from iotwarden.fleet.sample import generate_world
from iotwarden.intel.ingest import ingest
from iotwarden.store.db import Store


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Store:
    tmp = tmp_path_factory.mktemp("resident")
    store = Store.open(f"sqlite:///{tmp / 'w.db'}")
    path = tmp / "world.json"
    path.write_text(json.dumps(generate_world(devices=2000)))
    assert import_inventory(store, [path]).ok
    assert ingest(store, [str(samples_dir())]).ok
    return store


def test_resident_fleet_matches_and_ranks_like_the_store(world: Store) -> None:
    with world.engine.connect() as conn:
        fleet = ResidentFleet.load(conn)
    assert fleet.devices == 2000
    stored = exposure(world, "CVE-2014-0160")
    resident = exposure(world, "CVE-2014-0160", fleet)

    def builds(result: object) -> list[tuple[object, ...]]:
        return [
            (b.build_id, b.status, b.devices, b.internet_exposed, b.product, b.version)
            for b in result.builds  # type: ignore[attr-defined]
        ]

    assert builds(resident) == builds(stored)
    assert resident.devices == stored.devices > 0
    ranked, fast = prioritise(world, stored), prioritise(world, stored, fleet)
    assert len(fast) == len(ranked) > 1
    assert [(p.score, p.band, p.factors, p.group) for p in fast] == [
        (p.score, p.band, p.factors, p.group) for p in ranked
    ]
    assert fast[-1] == fast[len(fast) - 1]
    assert [p.group for p in fast[:2]] == [p.group for p in ranked[:2]]


def test_resident_ranking_of_an_advisory_that_exposes_nothing(world: Store) -> None:
    with world.engine.connect() as conn:
        fleet = ResidentFleet.load(conn)
    result = exposure(world, "CVE-2014-0160", fleet)
    result.builds = []
    assert len(prioritise(world, result, fleet)) == 0
