"""`stored_build_evidence`: a build in the inventory as firmware evidence. With its kept analysis
it is the whole evidence (findings, checks, components) and says which analysis; without one,
its components only, and the assessment notes say so; damage is a clear input error."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from iotwarden.baseline import load_catalogs
from iotwarden.baseline.assess import (
    AssessmentInputError,
    Result,
    assess,
    stored_build_evidence,
)
from iotwarden.core.fleet import BuildRef, Component, FirmwareBuild, Product, ProductRef
from iotwarden.firmware.analyze import AnalysisOptions, analyze_image
from iotwarden.store import schema as t
from iotwarden.store.db import Store
from iotwarden.store.fleet import FleetRepository
from tests.baseline.test_assess_firmware import dirty_rootfs

CAM = BuildRef(ProductRef("Acme", "Cam"), "1.0")
TODAY = dt.date(2025, 6, 1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


def record(store: Store, ref: BuildRef, components: tuple[Component, ...]) -> None:
    """A build as an SBOM import leaves it: components, no analysis."""
    repo = FleetRepository(store)
    with store.engine.begin() as conn:
        repo.upsert_products(conn, [Product(ref.product)])
        product_id = repo.product_ids(conn)[ref.product.key]
        repo.upsert_builds(conn, [(product_id, FirmwareBuild(ref))])
        repo.replace_components(conn, {repo.build_ids(conn)[(product_id, ref.version)]: components})


def analysed(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    dirty_rootfs(root)
    analyze_image(root, store=store, options=AnalysisOptions(build=CAM, workers=0))


def test_a_build_without_an_analysis_gives_its_components_and_notes_say_so(
    store: Store,
) -> None:
    record(store, CAM, (Component("busybox", "1.36.1"), Component("openssl", "3.0.13")))

    evidence = stored_build_evidence(store, BuildRef(ProductRef("ACME", "cam"), "1.0"))

    assert evidence.build == "Acme/Cam@1.0"  # spelled as stored
    assert [(c.name, c.version) for c in evidence.components] == [
        ("busybox", "1.36.1"),
        ("openssl", "3.0.13"),
    ]
    assert (evidence.findings, evidence.checks, evidence.analysed_at) == ((), (), None)
    result = assess(load_catalogs(), firmware=evidence, today=TODAY)
    sbom = result.capability("sbom")
    assert sbom.result is Result.PARTIAL  # the components support it; the SBOM is not declared
    assert [(i.bearing.value, i.count) for i in sbom.evidence if i.ref == "components"] == [
        ("supports", 2)
    ]
    assert any("has no stored firmware analysis" in n for n in result.notes)
    assert any("no check records" in n for n in result.notes)


def test_a_missing_build_is_an_input_error_naming_it(store: Store) -> None:
    with pytest.raises(AssessmentInputError, match=r"no build Acme/Cam@1\.0 in the inventory"):
        stored_build_evidence(store, CAM)


def test_the_evidence_names_the_analysis_it_comes_from(store: Store, tmp_path: Path) -> None:
    analysed(store, tmp_path)

    evidence = stored_build_evidence(store, CAM)

    assert evidence.analysed_at is not None
    assert (
        evidence.source
        == f"inventory build Acme/Cam@1.0, analysed {evidence.analysed_at} from rootfs"
    )
    assert {"IW-FW-SERVICE-TELNET", "IW-FW-ACCOUNT-DEFAULT-PASSWORD"} <= {
        f.id for f in evidence.findings
    }
    assert all(c.evidence for c in evidence.components)  # the analysis's, with their files
    result = assess(load_catalogs(), firmware=evidence, today=TODAY)
    assert not any("no check records" in n for n in result.notes)


def test_components_changed_after_the_analysis_are_the_inventorys(
    store: Store, tmp_path: Path
) -> None:
    analysed(store, tmp_path)
    repo = FleetRepository(store)
    with store.engine.begin() as conn:
        build_id = repo.build_id(conn, CAM)
        assert build_id is not None
        repo.replace_components(conn, {build_id: (Component("zlib", "1.3.1"),)})

    evidence = stored_build_evidence(store, CAM)

    assert [c.name for c in evidence.components] == ["zlib"]
    assert "IW-FW-SERVICE-TELNET" in {f.id for f in evidence.findings}
    assert any("changed in the inventory after its analysis" in n for n in evidence.notes)


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({"format": "0"}, "is of format '0', not 1: analyse the image again"),
        (
            {"format": "1", "findings": [{"id": "X"}]},
            "the stored analysis of Acme/Cam@1.0 is damaged",
        ),
        ({"format": "1", "findings": [], "components": []}, "is damaged (KeyError: 'checks')"),
    ],
)
def test_a_damaged_stored_analysis_is_an_input_error(
    store: Store, tmp_path: Path, result: dict[str, object], message: str
) -> None:
    analysed(store, tmp_path)
    with store.engine.begin() as conn:
        conn.execute(update(t.firmware_build_analyses).values(result=result))

    with pytest.raises(AssessmentInputError) as raised:
        stored_build_evidence(store, CAM)
    assert message in str(raised.value)
