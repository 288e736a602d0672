"""`iotwarden assess` and `iotwarden assess template` end to end with typer's CliRunner: the
questionnaire, an assessment of a generated firmware tree with declarations and probe results
(text, --json, --out with OSCAL validated), saved reports and stored builds as input, and
bad input refused with exit status 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from iotwarden.baseline import load_catalogs
from iotwarden.cli.app import app
from tests.baseline.test_assess import complete_declarations
from tests.baseline.test_assess_firmware import dirty_rootfs
from tests.baseline.test_oscal import errors as oscal_errors

TODAY = "2025-06-01"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(autouse=True)
def _no_user_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOTWARDEN_DB", f"sqlite:///{tmp_path / 'env-default.db'}")


@pytest.fixture(scope="module")
def dirty_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-dirty") / "rootfs"
    dirty_rootfs(root)
    return root


@pytest.fixture
def declarations(tmp_path: Path) -> Path:
    path = tmp_path / "declarations.yaml"
    path.write_text(yaml.safe_dump(complete_declarations(load_catalogs())), encoding="utf-8")
    return path


def run(runner: CliRunner, db_url: str, *args: str) -> Result:
    return runner.invoke(app, ["--db", db_url, "assess", *args])


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def test_template_is_written_to_stdout_and_to_a_file_without_clobbering(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    out = ok(run(runner, db_url, "template"))
    data = yaml.safe_load(out.stdout)
    assert data["schema"] == "iotwarden-declarations/1"
    assert "end_date" in data["declarations"]["support_period"]
    target = tmp_path / "answers.yaml"
    ok(run(runner, db_url, "template", "--out", str(target)))
    assert yaml.safe_load(target.read_text()) == data
    again = run(runner, db_url, "template", "--out", str(target))
    assert again.exit_code == 1
    assert "exists: give --force" in again.stderr
    ok(run(runner, db_url, "template", "--out", str(target), "--force"))


def test_assess_json_gives_capabilities_and_framework_verdicts_with_requirement_ids(
    runner: CliRunner, db_url: str, dirty_tree: Path, tmp_path: Path
) -> None:
    probe = tmp_path / "probe.json"
    probe.write_text(
        json.dumps(
            [
                {
                    "check": "default-credentials",
                    "target": "192.0.2.7:23",
                    "status": "fail",
                    "evidence": "root/xc3511 accepted over telnet",
                }
            ]
        )
    )
    result = ok(
        run(runner, db_url, "--firmware", str(dirty_tree), "--probe", str(probe), "--json",
            "--today", TODAY)
    )  # fmt: skip
    data = json.loads(result.stdout)
    assert data["schema"] == "iotwarden-assessment/1"
    assert data["summary"]["uk-psti"] == "fail"
    etsi = next(f for f in data["frameworks"] if f["framework"] == "etsi-en-303-645-v2.1.1")
    results = {r["id"]: r["result"] for r in etsi["requirements"]}
    assert results["5.1-1"] == results["5.6-1"] == results["5.3-7"] == "fail"
    unique = next(c for c in data["capabilities"] if c["capability"] == "unique-credentials")
    kinds = {e["kind"] for e in unique["evidence"] if e["bearing"] == "refutes"}
    assert kinds == {"firmware-finding", "probe-check"}
    assert data["inputs"]["firmware"]["checks_completed"]


def test_assess_text_output_is_the_matrix_verdicts_and_priorities(
    runner: CliRunner, db_url: str, dirty_tree: Path, declarations: Path
) -> None:
    result = ok(
        run(runner, db_url, "--firmware", str(dirty_tree), "--declarations", str(declarations),
            "--framework", "etsi-en-303-645-v2.1.1", "--framework", "uk-psti", "--today", TODAY)
    )  # fmt: skip
    text = result.stdout
    assert "Assessment of Example Devices Ltd ExCam 200 2.4.1 as of 2025-06-01" in text
    assert "Conformity matrix" in text
    assert "5.1-1\u00a0✗" in text
    assert "1\u00a0✗" in text
    assert "Verdicts" in text and "uk-psti" in text
    assert "Fix first" in text
    assert "eu-cra" not in text  # only the chosen frameworks


def test_out_writes_every_output_and_the_oscal_validates(
    runner: CliRunner, db_url: str, dirty_tree: Path, declarations: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    ok(
        run(runner, db_url, "--firmware", str(dirty_tree), "--declarations", str(declarations),
            "--out", str(out), "--html", str(tmp_path / "matrix.html"), "--today", TODAY)
    )  # fmt: skip
    for name in (
        "assessment.json",
        "conformity.json",
        "conformity.html",
        "label.json",
        "label.svg",
        "label.html",
    ):
        assert (out / name).is_file(), name
    assert "Conformity matrix" in (tmp_path / "matrix.html").read_text()
    matrix = json.loads((out / "conformity.json").read_text())
    row = next(r for r in matrix["rows"] if r["capability"] == "unique-credentials")
    assert {"id": "1", "level": "mandatory", "result": "fail"} in row["cells"]["uk-psti"]
    label = json.loads((out / "label.json").read_text())
    assert label["support_end"] == "2031-12-31"
    oscal = sorted((out / "oscal").glob("*.json"))
    assert len(oscal) == len(load_catalogs().frameworks) + 3
    for path in oscal:
        assert oscal_errors(json.loads(path.read_text())) == [], path.name


def test_a_saved_firmware_report_is_accepted(
    runner: CliRunner, db_url: str, dirty_tree: Path, tmp_path: Path
) -> None:
    analysed = runner.invoke(
        app, ["--db", db_url, "firmware", "analyze", str(dirty_tree), "--json"]
    )
    assert analysed.exit_code == 0, analysed.stderr
    saved = tmp_path / "dirty.json"
    saved.write_text(analysed.stdout)
    data: Any = json.loads(
        ok(run(runner, db_url, "--firmware", str(saved), "--json", "--today", TODAY)).stdout
    )
    assert data["summary"]["uk-psti"] == "fail"


def test_a_stored_build_gives_the_assessment_of_its_analysed_tree(
    runner: CliRunner, db_url: str, dirty_tree: Path
) -> None:
    recorded = runner.invoke(
        app,
        ["--db", db_url, "firmware", "analyze", str(dirty_tree), "--product", "Acme/Cam",
         "--version", "1.0", "--json"],
    )  # fmt: skip
    assert recorded.exit_code == 0, recorded.stderr
    analysed_at = json.loads(recorded.stdout)["analysed_at"]

    build = json.loads(
        ok(run(runner, db_url, "--firmware", "Acme/Cam@1.0", "--json", "--today", TODAY)).stdout
    )
    tree = json.loads(
        ok(run(runner, db_url, "--firmware", str(dirty_tree), "--json", "--today", TODAY)).stdout
    )

    assert build["capabilities"] == tree["capabilities"]
    assert build["frameworks"] == tree["frameworks"]
    assert build["summary"]["uk-psti"] == "fail"
    firmware = build["inputs"]["firmware"]
    assert firmware["build"] == "Acme/Cam@1.0"
    assert firmware["analysed_at"] == analysed_at
    assert firmware["findings"] == tree["inputs"]["firmware"]["findings"] > 0
    assert firmware["source"] == f"inventory build Acme/Cam@1.0, analysed {analysed_at} from rootfs"
    assert not any("check records" in n for n in build["notes"])
    missing = run(runner, db_url, "--firmware", "Acme/Cam@9.9")
    assert missing.exit_code == 1
    assert "no build Acme/Cam@9.9 in the inventory" in missing.stderr


def test_an_imported_build_gives_its_components_only(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    inventory = tmp_path / "fleet.json"
    inventory.write_text(
        json.dumps(
            {
                "products": [{"vendor": "Acme", "product": "Cam"}],
                "firmware_builds": [
                    {"vendor": "Acme", "product": "Cam", "version": "2.0",
                     "components": [{"name": "busybox", "version": "1.36.1"}]}
                ]
            }
        )
    )  # fmt: skip
    imported = runner.invoke(app, ["--db", db_url, "fleet", "import", str(inventory)])
    assert imported.exit_code == 0, (imported.stdout, imported.stderr)

    data = json.loads(
        ok(run(runner, db_url, "--firmware", "Acme/Cam@2.0", "--json", "--today", TODAY)).stdout
    )

    assert data["inputs"]["firmware"]["findings"] == 0
    assert data["inputs"]["firmware"]["components"] == 1
    assert data["inputs"]["firmware"]["analysed_at"] is None
    assert any("has no stored firmware analysis" in n for n in data["notes"])
    assert any("check records" in n for n in data["notes"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give at least one of --firmware, --declarations, --probe"),
        (("--firmware", "no/such/thing"), "not a build reference VENDOR/PRODUCT@VERSION"),
        (("--declarations", "missing.yaml"), "missing.yaml: cannot be read"),
        (("--probe", "missing.json"), "missing.json: cannot be read"),
        (("--declarations", "BAD"), "declarations.support_period.end_date: 2020-01-01 is in"),
        (("--framework", "etsi", "--declarations", "GOOD"), "no framework 'etsi'"),
    ],
)
def test_bad_input_exits_1_naming_it(
    runner: CliRunner,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    catalogs = load_catalogs()
    Path("GOOD").write_text(yaml.safe_dump(complete_declarations(catalogs)))
    bad = complete_declarations(catalogs, **{"support_period.end_date": "2020-01-01"})
    Path("BAD").write_text(yaml.safe_dump(bad))
    result = run(runner, db_url, *args, "--today", TODAY)
    assert result.exit_code == 1, result.stdout
    assert message in " ".join(result.stderr.split())


def test_text_output_shows_missing_evidence_and_prints_declared_text_verbatim(
    runner: CliRunner, db_url: str, tmp_path: Path
) -> None:
    data = complete_declarations(load_catalogs(), **{"logging.security_events": None})
    data["subject"]["product"] = "Cam [bold]X[/] 2"  # rich markup in input is shown as text
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = ok(run(runner, db_url, "--declarations", str(path), "--today", TODAY))
    assert "Assessment of Example Devices Ltd Cam [bold]X[/] 2 2.4.1" in result.stdout
    row = next(line for line in result.stdout.splitlines() if "security-logging" in line)
    assert "? not-evidenced" in row
    assert "I.2.l\u00a0◐" in row  # logging not evidenced, monitoring declared: partial
