"""The situation picture of Heartbleed over the sample world (the demo's fleet)."""

from __future__ import annotations

from pathlib import Path

from iotwarden.cli.demo import samples_dir
from iotwarden.exposure.situation import situation
from iotwarden.fleet.importing import import_inventory
from iotwarden.intel.ingest import ingest
from iotwarden.store.db import Store


def test_heartbleed_situation_by_sector_owner_product_and_band(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    assert import_inventory(store, [samples_dir("fleet")]).ok
    assert ingest(store, [str(samples_dir())]).ok
    picture = situation(store, "CVE-2014-0160")
    assert picture.on_kev
    assert picture.max_cvss == 7.5
    total = picture.total
    # ExGate 4.2.0 (7 devices) and Router 5 1.0 (7) carry OpenSSL 1.0.1e; the 5 pumps run
    # an OpenSSL of unknown version: possibly affected, never dropped.
    assert (total.devices, total.affected, total.possibly_affected) == (19, 14, 5)
    assert total.internet_exposed == 5
    assert {k: v.devices for k, v in picture.by_sector.items()} == {
        "consumer": 7,
        "energy": 7,
        "health": 5,
    }
    assert picture.by_owner["St Mary Hospital"].possibly_affected == 5
    assert picture.by_product["Example Controls ExGate 100"].critical == 7
    assert sum(t.devices for t in picture.by_band.values()) == 19
    assert set(picture.by_band) == {"P1", "P3"}
