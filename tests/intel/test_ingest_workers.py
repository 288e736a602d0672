"""Parsing in worker processes gives the same store as parsing in-process, and falls back to
in-process parsing when the workers cannot run."""

from __future__ import annotations

import json
import zipfile
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from iotwarden.intel import ingest as ingest_mod
from iotwarden.intel.ingest import ingest
from iotwarden.store.advisories import AdvisoryRepository, WriteResult
from iotwarden.store.db import Store


def _record(i: int) -> dict[str, Any]:
    return {
        "id": f"POOL-{i}",
        "modified": "2024-01-01T00:00:00Z",
        "aliases": [f"CVE-2099-{1000 + i}"],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": f"pkg{i}"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2"}]}],
            }
        ],
        "references": [{"type": "WEB", "url": f"https://example.org/{i}"}],
    }


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """300 good records (deflated and stored), one broken JSON, one member with a bad CRC."""
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(300):
            method = zipfile.ZIP_STORED if i % 3 == 0 else zipfile.ZIP_DEFLATED
            zf.writestr(f"POOL-{i}.json", json.dumps(_record(i)), compress_type=method)
        zf.writestr("broken.json", '{"id": "X", "modified": ')
        zf.writestr("crc.json", json.dumps(_record(999)), compress_type=zipfile.ZIP_STORED)
    # Flip one byte of the stored member's data: its CRC-32 no longer matches.
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("crc.json")
    offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + 10
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def _summary(store: Store, report: ingest_mod.IngestReport) -> dict[str, Any]:
    return {
        "added": report.advisories[WriteResult.ADDED],
        # The zip reader of the workers words a bad CRC differently from zipfile's; both say CRC.
        "problems": sorted(
            (Path(p.origin).name, p.json_path, "CRC" if "CRC" in p.message else p.message)
            for p in report.problems
        ),
        "counts": AdvisoryRepository(store).counts(),
        "documents": report.documents,
    }


def _store(tmp_path: Path, name: str) -> Store:
    return Store.open(f"sqlite:///{tmp_path / name}")


def test_workers_store_the_same_as_in_process(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_process = _store(tmp_path, "a.db")
    expected = _summary(in_process, ingest(in_process, [str(bundle)], workers=0))
    assert expected["added"] == 300
    assert [p[0] for p in expected["problems"]] == ["bundle.zip!broken.json", "bundle.zip!crc.json"]
    assert expected["problems"][1][2] == "CRC"

    monkeypatch.setattr(ingest_mod, "POOL_AFTER", 10)
    monkeypatch.setattr(ingest_mod._WorkerPool, "CHUNK_DOCUMENTS", 16)
    pooled = _store(tmp_path, "b.db")
    assert _summary(pooled, ingest(pooled, [str(bundle)], workers=2)) == expected


class _BrokenExecutor:
    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def submit(self, *args: object) -> None:
        raise BrokenProcessPool("simulated: the workers could not start")

    def shutdown(self, *args: object, **kwargs: object) -> None:
        pass


def test_failed_workers_fall_back_to_in_process_parsing(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_mod, "POOL_AFTER", 10)
    monkeypatch.setattr(ingest_mod, "ProcessPoolExecutor", _BrokenExecutor)
    store = _store(tmp_path, "c.db")
    report = ingest(store, [str(bundle)], workers=2)
    assert report.advisories[WriteResult.ADDED] == 300
    assert len(report.problems) == 2
