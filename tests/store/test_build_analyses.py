"""The latest firmware analysis kept with each build, on SQLite and PostgreSQL: written with the
build, completed with the known vulnerabilities, replaced by the next analysis, gone with the
build; and an assessment of the stored build that matches one of the analysed tree."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from iotwarden.baseline import load_catalogs
from iotwarden.baseline.assess import FirmwareEvidence, assess, stored_build_evidence
from iotwarden.core.errors import StoreError
from iotwarden.core.fleet import BuildRef
from iotwarden.firmware import vulns
from iotwarden.firmware.analyze import AnalysisOptions, FirmwareAnalysis, analyze_image
from iotwarden.intel.ingest import ingest
from iotwarden.store import schema as t
from iotwarden.store.db import Store
from iotwarden.store.fleet import FleetRepository
from tests.baseline.test_assess_firmware import dirty_rootfs
from tests.firmware.images import squashfs
from tests.firmware.test_analyze import ACME, SAMPLES, router_tree

TODAY = dt.date(2025, 6, 1)


def analyse(root: Path, store: Store, **options: object) -> FirmwareAnalysis:
    return analyze_image(
        root,
        store=store,
        options=AnalysisOptions(**{"build": ACME, "workers": 0, **options}),  # type: ignore[arg-type]
    )


def kept_rows(store: Store) -> int:
    with store.engine.connect() as conn:
        query = select(func.count()).select_from(t.firmware_build_analyses)
        return int(conn.execute(query).scalar_one())


def test_the_build_keeps_the_whole_analysis_with_its_known_vulnerabilities(
    store: Store, tmp_path: Path
) -> None:
    ingest(store, [str(SAMPLES / "advisories")])
    analysis = analyse(router_tree(tmp_path / "rootfs").root, store)

    stored = FleetRepository(store).stored_build(ACME)

    assert stored is not None and stored.analysis is not None
    kept = stored.analysis
    assert (kept.image_name, kept.image_sha256) == ("rootfs", None)  # a folder: no digest
    assert kept.analysed_at.strftime("%Y-%m-%dT%H:%M:%SZ") == analysis.analysed_at
    assert kept.result["findings"] == [f.to_dict() for f in analysis.findings]
    heartbleed = [f for f in kept.result["findings"] if f["id"] == "IW-FW-KNOWN-VULN"]
    assert [f["details"]["vulnerability"] for f in heartbleed] == ["CVE-2014-0160"]
    assert kept.result["known_vulnerabilities"] == {
        "matched": True,
        "advisories_checked": True,
        "considered": analysis.vulnerabilities_considered,
    }
    assert kept.result["checks"] == list(analysis.checks)
    assert kept.result["hardening"] == analysis.hardening
    assert kept.result["severity_counts"] == analysis.severity_counts()
    assert kept.result["components"] == [c.to_dict() for c in analysis.components]
    assert {(c.name, c.version) for c in stored.components} == {
        (c.name, c.version) for c in analysis.components
    }


def test_reanalysing_replaces_the_stored_findings(store: Store, tmp_path: Path) -> None:
    fs = router_tree(tmp_path / "rootfs")
    first = analyse(fs.root, store)
    assert "IW-FW-SERVICE-TELNET" in {f.id for f in first.findings}
    fs.file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n")  # telnetd no longer started

    second = analyse(fs.root, store)

    stored = FleetRepository(store).stored_build(ACME)
    assert stored is not None and stored.analysis is not None
    found = {f["id"] for f in stored.analysis.result["findings"]}
    assert "IW-FW-SERVICE-TELNET" not in found
    assert found == {f.id for f in second.findings}
    assert stored.analysis.result["analysed_at"] == second.analysed_at
    assert kept_rows(store) == 1


def test_an_image_file_is_kept_with_its_digest_also_when_its_analysis_is_reused(
    store: Store, tmp_path: Path
) -> None:
    image = squashfs(router_tree(tmp_path / "rootfs").root, tmp_path / "router.sqsh")
    analyse(image, store)
    other = BuildRef(ACME.product, "2.2.0")

    reused = analyse(image, store, build=other)

    assert reused.reused_image
    stored = FleetRepository(store).stored_build(other)
    assert stored is not None and stored.analysis is not None
    assert stored.analysis.image_name == "router.sqsh"
    assert stored.analysis.image_sha256 == reused.image.sha256
    assert stored.analysis.result["reused_from"] == reused.reused_from
    assert stored.analysis.result["findings"] == [f.to_dict() for f in reused.findings]
    assert kept_rows(store) == 2  # one per build


def test_nothing_is_kept_without_a_build_and_the_analysis_goes_with_its_build(
    store: Store, tmp_path: Path
) -> None:
    root = router_tree(tmp_path / "rootfs").root
    analyse(root, store, store_build=False)
    analyze_image(root, store=store, options=AnalysisOptions(workers=0))
    assert kept_rows(store) == 0

    analyse(root, store)
    assert kept_rows(store) == 1
    with store.engine.begin() as conn:
        conn.execute(delete(t.firmware_builds))
    assert kept_rows(store) == 0


def test_an_older_analysis_never_overwrites_a_newer_one(store: Store, tmp_path: Path) -> None:
    root = router_tree(tmp_path / "rootfs").root
    captured: list[vulns.BuildOutcome] = []
    real = vulns.record_and_match

    def spy(*args: object, **kwargs: object) -> vulns.BuildOutcome:
        outcome = real(*args, **kwargs)  # type: ignore[arg-type]
        captured.append(outcome)
        return outcome

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(vulns, "record_and_match", spy)
        analyse(root, store)
        newer = analyse(root, store)

    assert not vulns.complete_build_analysis(store, captured[0], {"findings": []})
    stored = FleetRepository(store).stored_build(ACME)
    assert stored is not None and stored.analysis is not None
    assert stored.analysis.analysis_id == captured[1].analysis_id
    assert stored.analysis.result["findings"] == [f.to_dict() for f in newer.findings]


def test_when_the_known_vulnerabilities_cannot_be_kept_the_build_keeps_the_checks(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(store, [str(SAMPLES / "advisories")])

    def broken(*_args: object) -> bool:
        raise StoreError("cannot keep the known vulnerabilities with the build in the store")

    monkeypatch.setattr(vulns, "complete_build_analysis", broken)
    analysis = analyse(router_tree(tmp_path / "rootfs").root, store)

    assert "IW-FW-KNOWN-VULN" in {f.id for f in analysis.findings}
    assert any("without them" in p for p in analysis.problems)
    evidence = stored_build_evidence(store, ACME)
    assert "IW-FW-KNOWN-VULN" not in {f.id for f in evidence.findings}
    assert "IW-FW-SERVICE-TELNET" in {f.id for f in evidence.findings}
    assert not evidence.advisories_checked
    assert any("were not kept" in n for n in evidence.notes)


def test_assessing_the_stored_build_gives_the_results_of_assessing_the_tree(
    store: Store, tmp_path: Path
) -> None:
    ingest(store, [str(SAMPLES / "advisories")])
    root = tmp_path / "rootfs"
    dirty_rootfs(root)
    recorded = analyse(root, store)
    catalogs = load_catalogs()

    from_build = assess(catalogs, firmware=stored_build_evidence(store, ACME), today=TODAY)
    tree = analyze_image(root, store=store, options=AnalysisOptions(store_build=False, workers=0))
    from_tree = assess(catalogs, firmware=FirmwareEvidence.from_analysis(tree), today=TODAY)

    assert [c.to_dict() for c in from_build.capabilities] == [
        c.to_dict() for c in from_tree.capabilities
    ]
    assert [f.to_dict() for f in from_build.frameworks] == [
        f.to_dict() for f in from_tree.frameworks
    ]
    assert from_build.to_dict()["summary"]["uk-psti"] == "fail"
    firmware = from_build.to_dict()["inputs"]["firmware"]
    assert firmware["build"] == "Acme/R500@2.1.0"
    assert firmware["analysed_at"] == recorded.analysed_at
    assert firmware["findings"] == len(recorded.findings)
    assert firmware["checks_completed"]
    assert recorded.analysed_at in firmware["source"]
    assert any(f"analysis of rootfs at {recorded.analysed_at}" in n for n in from_build.notes)
