"""The situation picture of Heartbleed over the sample world (the demo's fleet)."""

from __future__ import annotations

from pathlib import Path

from iotwarden.cli.demo import samples_dir
from iotwarden.exposure.outreach import OutreachStatus, record
from iotwarden.exposure.situation import overview, situation
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


def test_situation_over_time_follows_remediation(tmp_path: Path) -> None:
    """Each picture is recorded; moving the exposed routers to a fixed build shows up as a
    fall in exposed devices, and the owner is counted as remediated."""
    import datetime as dt

    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    assert import_inventory(store, [samples_dir("fleet")]).ok
    assert ingest(store, [str(samples_dir())]).ok
    first = situation(store, "CVE-2014-0160", now=dt.datetime(2014, 4, 8, tzinfo=dt.UTC))
    assert [s.devices for s in first.history] == [19]
    assert first.history[0].by_sector == {"consumer": 7, "energy": 7, "health": 5}
    assert first.remediated_owners == []
    record(store, "CVE-2014-0160", "Consumer ISP", OutreachStatus.NOTIFIED, by="cert")

    # The home routers on Router 5 1.0 (OpenSSL 1.0.1e) are updated to 1.1 (1.0.1g).
    lines = (samples_dir("fleet") / "devices.csv").read_text().splitlines()
    moved = tmp_path / "devices.csv"
    moved.write_text(
        "\n".join(
            [lines[0]] + [line.replace(",Router 5,1.0,", ",Router 5,1.1,") for line in lines[1:]]
        )
        + "\n"
    )
    assert import_inventory(store, [moved]).ok
    second = situation(store, "CVE-2014-0160", now=dt.datetime(2014, 4, 20, tzinfo=dt.UTC))
    assert [s.devices for s in second.history] == [19, 12]
    assert second.history[0].taken_at < second.history[1].taken_at
    # Notified before; now no device of theirs runs an exposed build: remediated, detected.
    assert second.remediated_owners == ["Consumer ISP"]

    # Not recorded: the history is unchanged by a look with record=False.
    third = situation(store, "CVE-2014-0160", record=False)
    assert [s.devices for s in third.history] == [19, 12, 12]
    assert [s.devices for s in situation(store, "CVE-2014-0160", record=False).history] == [
        19,
        12,
        12,
    ]


def test_overview_counts_every_vulnerability_and_keeps_its_history(tmp_path: Path) -> None:
    import datetime as dt

    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    assert import_inventory(store, [samples_dir("fleet")]).ok
    assert ingest(store, [str(samples_dir())]).ok
    picture = overview(store, now=dt.datetime(2014, 4, 8, tzinfo=dt.UTC))
    names = [v.name for v in picture.vulnerabilities]
    assert names[0] == "CVE-2014-0160"
    heartbleed = picture.vulnerabilities[0]
    assert heartbleed.devices == 19 and heartbleed.on_kev
    assert picture.on_kev >= 1
    # Distinct devices: a device exposed to two vulnerabilities counts once.
    assert picture.exposed_devices >= 19
    assert picture.exposed_devices <= sum(v.devices for v in picture.vulnerabilities)
    assert picture.by_sector["energy"] >= 7
    again = overview(store, now=dt.datetime(2014, 4, 9, tzinfo=dt.UTC))
    assert [s.devices for s in again.history] == [picture.exposed_devices] * 2
    assert again.history[-1].vulnerabilities == len(picture.vulnerabilities)
