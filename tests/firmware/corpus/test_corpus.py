"""End to end on the generated corpus: every image analysed by ``analyze_image`` and scored
against what its generator planted -- component recall >= 95 % with exact versions and
precision >= 98 %, every planted weakness found (id + path), no weakness finding on the clean
image, schema-valid CycloneDX and SPDX for every image, and the CLI's JSON on one image.

``pytest -s tests/firmware/corpus`` prints the per-image table.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iotwarden.firmware.analyze import FirmwareAnalysis, analyze_image
from iotwarden.firmware.model import Severity
from iotwarden.firmware.sbom import to_cyclonedx, to_spdx
from tests.firmware import binaries
from tests.firmware.corpus import generator as gen
from tests.firmware.corpus.conftest import Corpus
from tests.firmware.corpus.scoring import (
    component_score,
    finding_score,
    judged_findings,
    table,
    total,
)

COMPONENT_RECALL = 0.95
COMPONENT_PRECISION = 0.98
PROFILES = [spec.profile for spec in gen.SPECS]
#: Every finding id a generator can plant: none of them may appear on the clean image.
PLANTED_FAMILIES = frozenset(
    value
    for name, value in vars(gen).items()
    if name.isupper() and isinstance(value, str) and value.startswith("IW-FW-")
)


def test_every_image_has_its_expected_findings_file_and_the_corpus_covers_every_container(
    corpus: Corpus,
) -> None:
    containers = []
    for profile, item in corpus.images.items():
        assert item.image.stat().st_size > 0
        assert item.expected_file == item.image.with_name(item.image.name + ".expected.json")
        expected = item.expected
        assert (expected.image, expected.profile) == (item.image.name, profile)
        assert expected.components, profile
        if expected.clean:
            assert not expected.findings and not expected.weaknesses
        else:
            # Each weakness named produces at least one finding, each finding names its weakness.
            assert {n for n, _ in expected.weaknesses} == {f.weakness for f in expected.findings}
        containers.append(expected.container.lower())
    described = " | ".join(containers)
    for container in ("gzip", "xz", "lzo", "lz4", "zstd", "jffs2", "cpio", "uimage", "trx",
                      "raw flash"):  # fmt: skip
        assert container in described, container
    if "gateway" in corpus.images:
        assert "ext4" in described


def test_expected_findings_describe_what_was_planted(corpus: Corpus) -> None:
    camera = corpus.image("camera").expected
    assert ("boa", "0.94.14rc21") in {c.key for c in camera.components}
    assert {f.key for f in camera.findings} >= {
        ("IW-FW-SERVICE-TELNET-NO-LOGIN", "/etc/inittab"),
        ("IW-FW-ACCOUNT-DEFAULT-PASSWORD", "/etc/shadow"),
        ("IW-FW-KEY-WEAK", "/usr/bin/p2pcloud"),
        ("IW-FW-ELF-NO-NX", "/usr/bin/ipcam_app"),
    }
    assert "/usr/bin/helper" in camera.decoys
    nas = corpus.image("nas").expected
    kernel = next(c for c in nas.components if c.name == "linux_kernel")
    assert kernel.version == "3.10.108" and "uImage kernel" in kernel.planted[0]
    # The expected file is plain JSON that reads back to the same description.
    item = corpus.image("router")
    data = json.loads(item.expected_file.read_text())
    assert gen.Expected.from_dict(data) == item.expected


def test_component_recall_and_precision_over_the_corpus(
    corpus: Corpus, analyses: dict[str, FirmwareAnalysis]
) -> None:
    rows = []
    for profile, analysis in analyses.items():
        expected = corpus.images[profile].expected
        rows.append(
            (
                corpus.images[profile].image.name,
                expected.container,
                component_score(expected, analysis.components),
                finding_score(expected, analysis.findings),
            )
        )
    print("\n" + table(rows))  # shown with pytest -s
    for name, reason in corpus.not_built.items():
        print(f"  {name}: not built ({reason})")

    components = total([(r[0], r[2]) for r in rows])
    assert components.recall >= COMPONENT_RECALL, components.missed
    assert components.precision >= COMPONENT_PRECISION, components.unexpected
    # Enough components for the percentages to mean something.
    assert len(components.expected) >= 60


@pytest.mark.parametrize("profile", PROFILES)
def test_every_planted_weakness_is_found(
    profile: str, corpus: Corpus, analyses: dict[str, FirmwareAnalysis]
) -> None:
    expected = corpus.image(profile).expected
    score = finding_score(expected, analyses[profile].findings)
    assert score.missed == []
    assert score.recall == 1.0


@pytest.mark.parametrize("profile", PROFILES)
def test_no_finding_that_was_not_planted(
    profile: str, corpus: Corpus, analyses: dict[str, FirmwareAnalysis]
) -> None:
    expected = corpus.image(profile).expected
    score = finding_score(expected, analyses[profile].findings)
    assert score.unexpected == []


def test_the_clean_image_has_no_weakness_finding(
    corpus: Corpus, analyses: dict[str, FirmwareAnalysis]
) -> None:
    expected = corpus.image("clean").expected
    analysis = analyses["clean"]
    assert expected.clean
    assert [f for f in analysis.findings if f.id in PLANTED_FAMILIES] == []
    assert [(f.id, f.path) for f in analysis.findings if f.severity is not Severity.INFO] == []
    # ... while the analysis did look: its components were found and its binaries checked.
    assert component_score(expected, analysis.components).recall == 1.0
    assert analysis.hardening["properties"]["nx"]["count"] >= 5


def test_decoys_give_no_component(corpus: Corpus, analyses: dict[str, FirmwareAnalysis]) -> None:
    decoys = 0
    for profile, analysis in analyses.items():
        planted = set(corpus.images[profile].expected.decoys)
        decoys += len(planted)
        evidence = {(c.name, e.path) for c in analysis.components for e in c.evidence}
        assert [(name, path) for name, path in evidence if path in planted] == [], profile
    assert decoys >= 6


def test_sboms_of_every_corpus_image_are_schema_valid_and_list_its_components(
    analyses: dict[str, FirmwareAnalysis],
) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    validator = JsonStrictValidator(SchemaVersion.V1_6)
    for profile, analysis in analyses.items():
        reported = {(c.name, c.version) for c in analysis.components}

        cyclonedx = to_cyclonedx(analysis)
        assert validator.validate_str(cyclonedx) is None, profile
        bom = json.loads(cyclonedx)
        assert bom["metadata"]["component"]["name"] == profile
        assert {(c["name"], c.get("version")) for c in bom["components"]} == reported, profile

        spdx = to_spdx(analysis)
        data = json.loads(spdx)
        document = JsonLikeDictParser().parse(data)  # type: ignore[no-untyped-call]
        assert validate_full_spdx_document(document) == [], profile
        assert data["spdxVersion"] == "SPDX-2.3"
        packages = {(p["name"], p.get("versionInfo")) for p in data["packages"]}
        assert reported <= packages, profile


def test_cli_json_report_of_the_camera_image(
    corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from iotwarden.cli.app import app

    monkeypatch.setenv("IOTWARDEN_DB", f"sqlite:///{tmp_path / 'env-default.db'}")
    item = corpus.image("camera")
    expected = item.expected

    result = CliRunner().invoke(
        app,
        ["--db", f"sqlite:///{tmp_path / 'cli.db'}", "firmware", "analyze", str(item.image),
         "--json"],
    )  # fmt: skip

    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    report = json.loads(result.stdout)
    assert {(c["name"], c["version"]) for c in report["components"]} == {
        c.key for c in expected.components
    }
    reported = {(f["id"], f["path"]) for f in report["findings"] if f["severity"] != "info"}
    assert reported == {f.key for f in expected.findings}


# --- what the corpus found in src (strict xfails: they pass once the owner fixes them) ------


def test_pem_marker_templates_in_a_program_are_not_a_private_key(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    # The markers as dropbear's keyimport.c keeps them: adjacent in .rodata, with the
    # program's error messages between the BEGIN and the END templates.
    templates = "\0".join(
        [
            "-----BEGIN DSA PRIVATE KEY-----\n",
            "-----BEGIN OPENSSH PRIVATE KEY-----\n",
            "Encrypted keys are not supported. Please convert with ssh-keygen first",
            "-----END DSA PRIVATE KEY-----\n",
            "-----END OPENSSH PRIVATE KEY-----\n",
        ]
    )
    binaries.compile_program([templates], root / "usr/bin/keyconvert")

    analysis = analyze_image(root)

    assert [f.id for f in analysis.findings if f.id.startswith("IW-FW-KEY")] == []


def test_kernel_and_boot_loader_outside_the_root_file_system_are_identified(
    corpus: Corpus, analyses: dict[str, FirmwareAnalysis]
) -> None:
    corpus.image("nas")
    found = {(c.name, c.version) for c in analyses["nas"].components}
    assert {("linux_kernel", "3.10.108"), gen.RAW_FLASH_BOOTLOADER} <= found


def test_zlib_with_a_two_part_version_is_identified(
    corpus: Corpus, analyses: dict[str, FirmwareAnalysis]
) -> None:
    corpus.image("hub")
    assert ("zlib", "1.3") in {(c.name, c.version) for c in analyses["hub"].components}


def test_a_git_snapshot_package_and_its_binary_are_one_component(
    corpus: Corpus, analyses: dict[str, FirmwareAnalysis]
) -> None:
    corpus.image("router")
    assert [c.version for c in analyses["router"].components if c.name == "ppp"] == ["2.4.8"]


def test_scores_count_a_wrong_version_as_a_miss_and_a_false_positive() -> None:
    from iotwarden.firmware.model import Confidence, Finding, IdentifiedComponent

    expected = gen.Expected(
        image="x",
        profile="x",
        container="x",
        clean=False,
        components=(
            gen.ExpectedComponent("busybox", "1.19.4"),
            gen.ExpectedComponent("openssl", "1.0.1e"),
        ),
        findings=(gen.ExpectedFinding("IW-FW-SERVICE-TELNET", "/etc/inittab", "telnet"),),
        unjudged=(gen.Unjudged(("IW-FW-ELF-NO-NX",), ("/bin/real",), "not ours"),),
    )
    found = [
        IdentifiedComponent("busybox", "1.19.4", Confidence.HIGH, ()),
        IdentifiedComponent("openssl", "1.0.1", Confidence.HIGH, ()),
    ]
    score = component_score(expected, found)
    assert (score.recall, score.precision) == (0.5, 0.5)
    assert score.missed == [("openssl", "1.0.1e")]
    assert score.unexpected == [("openssl", "1.0.1")]

    def finding(finding_id: str, path: str, severity: Severity = Severity.HIGH) -> Finding:
        return Finding(finding_id, "t", severity, path, "e", "r", ())

    findings = [
        finding("IW-FW-SERVICE-TELNET", "/etc/inittab"),
        finding("IW-FW-ELF-NO-NX", "/bin/real"),  # unjudged
        finding("IW-FW-SOMETHING", "/", Severity.INFO),  # info: not counted
        finding("IW-FW-ELF-NO-NX", "/bin/ours"),  # not planted
    ]
    assert [f.path for f in judged_findings(expected, findings)] == ["/etc/inittab", "/bin/ours"]
    score = finding_score(expected, findings)
    assert (score.recall, score.precision) == (1.0, 0.5)
    assert total([("a", score), ("b", score)]).precision == 0.5


def test_a_clean_image_refuses_a_planted_weakness(tmp_path: Path) -> None:
    builder = gen.ImageBuilder(tmp_path / "rootfs", "clean", clean=True)
    with pytest.raises(ValueError, match="clean image"):
        builder.plant("telnet", "telnetd at boot", ("IW-FW-SERVICE-TELNET", "/etc/inittab"))
