"""The batch rematch gives, for every vulnerability, the same builds as ``exposure()`` asked
one at a time: on the generated demo world with the bundled samples, and with the real
advisories of ../shared/data on top (CISA ICS CSAF, OSV, CVE 5, NVD)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotwarden.cli.demo import samples_dir
from iotwarden.exposure.matcher import ExposureStatus, exposure
from iotwarden.exposure.rematch import rematch
from iotwarden.fleet.importing import import_inventory
from iotwarden.fleet.sample import generate_world
from iotwarden.intel.ingest import ingest
from iotwarden.store.db import Store


@pytest.fixture
def world(tmp_path: Path) -> Store:
    store = Store.open(f"sqlite:///{tmp_path / 'w.db'}")
    path = tmp_path / "world.json"
    path.write_text(json.dumps(generate_world(devices=600)))
    assert import_inventory(store, [path]).ok
    report = ingest(store, [str(samples_dir())])
    assert report.ok, report.problems
    return store


def _one_at_a_time(store: Store, name: str) -> tuple[set[int], set[int]]:
    result = exposure(store, name)
    return (
        {b.build_id for b in result.builds if b.status is ExposureStatus.AFFECTED},
        {b.build_id for b in result.builds if b.status is ExposureStatus.POSSIBLY_AFFECTED},
    )


def test_rematch_finds_heartbleed_like_exposure(world: Store) -> None:
    result = rematch(world)
    heartbleed = result.exposures["CVE-2014-0160"]
    affected, possibly = _one_at_a_time(world, "CVE-2014-0160")
    assert heartbleed.affected == affected and heartbleed.possibly == possibly
    assert affected, "the demo world carries OpenSSL 1.0.1 builds"
    assert heartbleed.devices == exposure(world, "CVE-2014-0160").devices
    assert "DSA-2896-1" in heartbleed.names  # the Debian notice merged through its alias
    assert result.entries_evaluated <= result.entries


def test_rematch_agrees_with_exposure_on_real_advisories(
    world: Store, advisories_dir: Path
) -> None:
    report = ingest(world, [str(advisories_dir)])
    assert sum(report.advisories.values()) > 100
    result = rematch(world)
    # Every vulnerability the batch finds is what exposure() finds for it ...
    for name, found in result.exposures.items():
        assert (set(found.affected), set(found.possibly)) == _one_at_a_time(world, name), name
    # ... and exposure() finds nothing the batch missed (checked on every stored advisory id).
    from sqlalchemy import select

    from iotwarden.store import schema as t

    with world.engine.connect() as conn:
        ids = sorted(set(conn.execute(select(t.advisories.c.advisory_id)).scalars()))
    covered = {n for e in result.exposures.values() for n in e.names}
    for advisory_id in ids:
        if advisory_id not in covered:
            assert not exposure(world, advisory_id).builds, advisory_id


def test_a_long_alias_chain_does_not_exhaust_the_stack() -> None:
    """Records that each name the previous one's alias form one vulnerability, however long
    the chain (hostile feeds can make one)."""
    from iotwarden.exposure.rematch import _Names

    names = _Names()
    for i in range(5000):
        names.union([f"ALIAS-{i + 1}", f"ALIAS-{i}"])
    root = names.find("ALIAS-0")
    assert all(names.find(f"ALIAS-{i}") == root for i in range(5001))
