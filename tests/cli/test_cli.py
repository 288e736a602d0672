"""The `iotwarden` command driven end to end with typer's CliRunner on a temporary SQLite store.

Errors (IoTWardenError) are turned into exit status 2 by ``iotwarden.cli.app.main``, not by the
typer app, so those tests call ``main`` with a patched ``sys.argv``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from iotwarden import __version__
from iotwarden.cli.app import app, main
from iotwarden.cli.demo import samples_dir

HEARTBLEED = "CVE-2014-0160"

GOOD_OSV = {
    "schema_version": "1.6.0",
    "id": "TEST-2024-0001",
    "modified": "2024-05-01T00:00:00Z",
    "published": "2024-04-01T00:00:00Z",
    "aliases": ["CVE-2024-99999"],
    "summary": "Test overflow in widget",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "widget"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}]}],
        }
    ],
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'x.db'}"


@pytest.fixture(autouse=True)
def _no_user_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that forgets --db must never touch the user's real store."""
    monkeypatch.setenv("IOTWARDEN_DB", f"sqlite:///{tmp_path / 'env-default.db'}")


def run(runner: CliRunner, db_url: str, *args: str, **kwargs: Any) -> Result:
    return runner.invoke(app, ["--db", db_url, *args], **kwargs)


def run_json(runner: CliRunner, db_url: str, *args: str) -> Any:
    result = run(runner, db_url, *args, "--json")
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return json.loads(result.stdout)


@pytest.fixture
def loaded(runner: CliRunner, db_url: str) -> str:
    """A store holding the bundled Heartbleed samples."""
    result = run(runner, db_url, "intel", "ingest", str(samples_dir()), "--json")
    assert result.exit_code == 0, result.stdout
    return db_url


def run_main(monkeypatch: pytest.MonkeyPatch, *argv: str) -> int | str | None:
    monkeypatch.setattr(sys, "argv", ["iotwarden", *argv])
    with pytest.raises(SystemExit) as exited:
        main()
    return exited.value.code


def squash(text: str) -> str:
    """Undo rich's line wrapping."""
    return " ".join(text.split())


# --- help and version -------------------------------------------------------------------------


def test_help_lists_commands(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for word in ("demo", "intel", "--db", "IOTWARDEN_DB"):
        assert word in result.stdout


def test_intel_help_lists_commands(runner: CliRunner) -> None:
    result = runner.invoke(app, ["intel", "--help"])
    assert result.exit_code == 0
    for command in ("ingest", "show", "search", "stats", "formats"):
        assert command in result.stdout


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"iotwarden {__version__}"


# --- demo -------------------------------------------------------------------------------------


def test_demo_json(runner: CliRunner, tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--workdir", str(workdir), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (workdir / "demo.db").is_file()

    report = data["ingest"]
    assert report["documents"] == 6
    assert report["failed_documents"] == 0
    assert report["problems"] == []
    assert report["advisories"]["added"] == 4

    view = data["vulnerability"]
    assert view["query"] == HEARTBLEED
    assert view["ids"] == [HEARTBLEED, "DSA-2896-1", "EXG-2014-001"]
    assert len(view["records"]) == 4
    assert sorted((r["source"], r["id"]) for r in view["records"]) == [
        ("csaf", "EXG-2014-001"),
        ("cve5", HEARTBLEED),
        ("nvd", HEARTBLEED),
        ("osv", "DSA-2896-1"),
    ]
    kev = [k["value"] for k in view["kev"] if k["source"] == "cisa-kev"]
    assert len(kev) == 1
    assert kev[0]["due_date"] == "2022-05-25"
    assert kev[0]["date_added"] == "2022-05-04"
    assert [e["value"]["epss"] for e in view["epss"]] == [0.94358]
    assert view["epss"][0]["value"]["score_date"] == "2025-08-25"


def test_demo_rerun_recreates_store(runner: CliRunner, tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    for _ in range(2):
        result = runner.invoke(app, ["demo", "--workdir", str(workdir), "--json"])
        assert result.exit_code == 0
        assert json.loads(result.stdout)["ingest"]["advisories"]["added"] == 4


def test_demo_human(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--workdir", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.stderr
    assert HEARTBLEED in result.stdout
    assert "ExGate" in result.stdout
    assert "demo.db" in result.stdout


# --- ingest -----------------------------------------------------------------------------------


def test_ingest_samples(runner: CliRunner, db_url: str) -> None:
    report = run_json(runner, db_url, "intel", "ingest", str(samples_dir()))
    assert report["documents"] == 6
    assert report["failed_documents"] == 0
    assert report["formats"] == {"cve5": 1, "nvd": 1, "osv": 1, "epss": 1, "csaf": 1, "kev": 1}
    assert report["advisories"] == {"added": 4, "updated": 0, "unchanged": 0, "stale": 0}
    assert report["kev_entries"] == 2
    assert report["epss_scores"] == 3
    assert report["problems"] == []
    assert sorted((c["source"], c["id"]) for c in report["changed"]) == [
        ("csaf", "EXG-2014-001"),
        ("cve5", HEARTBLEED),
        ("nvd", HEARTBLEED),
        ("osv", "DSA-2896-1"),
    ]


def test_ingest_twice_changes_nothing(runner: CliRunner, loaded: str) -> None:
    report = run_json(runner, loaded, "intel", "ingest", str(samples_dir()))
    assert report["advisories"] == {"added": 0, "updated": 0, "unchanged": 4, "stale": 0}
    assert report["changed"] == []


def test_ingest_human_summary(runner: CliRunner, db_url: str) -> None:
    result = run(runner, db_url, "intel", "ingest", str(samples_dir()))
    assert result.exit_code == 0
    assert "Read 6 documents" in squash(result.stdout)


def test_ingest_with_broken_file(runner: CliRunner, db_url: str, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "good.json").write_text(json.dumps(GOOD_OSV), encoding="utf-8")
    broken = inputs / "broken.json"
    broken.write_text('{"schema_version": "1.6.0", "id": ', encoding="utf-8")

    result = run(runner, db_url, "intel", "ingest", str(inputs), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["documents"] == 2
    assert report["failed_documents"] == 1
    assert report["advisories"]["added"] == 1
    assert len(report["problems"]) == 1
    problem = report["problems"][0]
    assert problem["origin"] == str(broken)
    assert problem["json_path"] == "$"
    assert problem["message"].startswith("invalid JSON")

    # the good document was stored anyway, and can be found by its alias too
    for name in ("TEST-2024-0001", "CVE-2024-99999"):
        view = run_json(runner, db_url, "intel", "show", name)
        assert view["ids"] == ["CVE-2024-99999", "TEST-2024-0001"]
        assert [(r["source"], r["id"]) for r in view["records"]] == [("osv", "TEST-2024-0001")]
    ranges = view["affected"][0]["value"]["ranges"]
    assert [r["vers"] for r in ranges] == ["vers:pypi/<1.2.3"]


def test_ingest_with_broken_file_human(runner: CliRunner, db_url: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    result = run(runner, db_url, "intel", "ingest", str(broken))
    assert result.exit_code == 1
    assert "broken.json" in squash(result.stderr)


def test_ingest_stdin(runner: CliRunner, db_url: str) -> None:
    result = run(runner, db_url, "intel", "ingest", "-", "--json", input=json.dumps(GOOD_OSV))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    report = json.loads(result.stdout)
    assert report["documents"] == 1
    assert report["formats"] == {"osv": 1}
    assert report["advisories"]["added"] == 1
    view = run_json(runner, db_url, "intel", "show", "TEST-2024-0001")
    assert view["query"] == "TEST-2024-0001"


def test_ingest_missing_path(runner: CliRunner, db_url: str, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    result = run(runner, db_url, "intel", "ingest", str(missing), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["failed_documents"] == 1
    assert [p["origin"] for p in report["problems"]] == [str(missing)]


# --- show -------------------------------------------------------------------------------------


def test_show_json_follows_aliases(runner: CliRunner, loaded: str) -> None:
    for name in (HEARTBLEED, "DSA-2896-1", "EXG-2014-001"):
        view = run_json(runner, loaded, "intel", "show", name)
        assert view["query"] == name
        assert set(view["ids"]) == {HEARTBLEED, "DSA-2896-1", "EXG-2014-001"}
        assert len(view["records"]) == 4


def test_show_human(runner: CliRunner, loaded: str) -> None:
    result = run(runner, loaded, "intel", "show", HEARTBLEED)
    assert result.exit_code == 0
    text = squash(result.stdout)
    assert HEARTBLEED in text
    assert "ExGate" in text
    assert "DSA-2896-1" in text


def test_show_unknown_id_surfaces_as_exception_in_runner(runner: CliRunner, db_url: str) -> None:
    result = run(runner, db_url, "intel", "show", "UNKNOWN-ID")
    assert result.exit_code != 0
    assert "UNKNOWN-ID" in str(result.exception)


def test_show_unknown_id_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    code = run_main(monkeypatch, "--db", db_url, "intel", "show", "UNKNOWN-ID")
    assert code == 2
    captured = capsys.readouterr()
    assert "UNKNOWN-ID" in captured.err
    assert "error:" in captured.err
    assert "UNKNOWN-ID" not in captured.out


def test_main_success_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    code = run_main(monkeypatch, "--db", db_url, "intel", "formats", "--json")
    assert code in (0, None)
    assert len(json.loads(capsys.readouterr().out)) == 9


# --- search -----------------------------------------------------------------------------------


def _ids(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((r["source"], r["id"]) for r in rows)


ALL_FOUR = [
    ("csaf", "EXG-2014-001"),
    ("cve5", HEARTBLEED),
    ("nvd", HEARTBLEED),
    ("osv", "DSA-2896-1"),
]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--kev"], ALL_FOUR),
        (["--not-kev"], []),
        (["--vendor", "openssl"], [("nvd", HEARTBLEED)]),
        (["--vendor", "OpenSSL"], [("nvd", HEARTBLEED)]),
        (["--vendor", "Example Controls"], [("csaf", "EXG-2014-001")]),
        (["--min-cvss", "7"], ALL_FOUR),
        (["--min-cvss", "7.6"], []),
        (["--min-epss", "0.9"], ALL_FOUR),
        (["--min-epss", "0.95"], []),
        (["--purl", "pkg:deb/debian/openssl"], [("osv", "DSA-2896-1")]),
        (["--cpe", "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*"], [("nvd", HEARTBLEED)]),
        (["--source", "csaf"], [("csaf", "EXG-2014-001")]),
        (["--id", "DSA-2896-1"], [("osv", "DSA-2896-1")]),
        (["--vendor", "openssl", "--kev", "--min-cvss", "7"], [("nvd", HEARTBLEED)]),
        (["--purl", "pkg:deb/debian/openssl", "--not-kev"], []),
    ],
)
def test_search_json(
    runner: CliRunner, loaded: str, args: list[str], expected: list[tuple[str, str]]
) -> None:
    rows = run_json(runner, loaded, "intel", "search", *args)
    assert _ids(rows) == expected


def test_search_json_summary_fields(runner: CliRunner, loaded: str) -> None:
    rows = run_json(runner, loaded, "intel", "search", "--purl", "pkg:deb/debian/openssl")
    (row,) = rows
    assert row["aliases"] == [HEARTBLEED]
    assert row["max_cvss"] == 7.5
    assert row["severity"] == "HIGH"
    assert row["kev"] is True
    assert row["epss"] == 0.94358


def test_search_limit(runner: CliRunner, loaded: str) -> None:
    rows = run_json(runner, loaded, "intel", "search", "--kev", "--limit", "2")
    assert len(rows) == 2


def test_search_keeps_vuln_ids_of_cve_records(runner: CliRunner, loaded: str) -> None:
    rows = run_json(
        runner, loaded, "intel", "search", "--cpe", "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*"
    )
    assert [r["vuln_ids"] for r in rows] == [[HEARTBLEED]]


def test_search_human(runner: CliRunner, loaded: str) -> None:
    result = run(runner, loaded, "intel", "search", "--purl", "pkg:deb/debian/openssl")
    assert result.exit_code == 0
    assert "DSA-2896-1" in result.stdout


# --- stats and formats ------------------------------------------------------------------------


def test_stats_json(runner: CliRunner, loaded: str) -> None:
    data = run_json(runner, loaded, "intel", "stats")
    assert data["store"] == loaded
    counts = data["counts"]
    assert counts["advisories"] == 4
    # the KEV catalog's 2 entries, plus the KEV facts stated by the CVE 5 ADP and by NVD
    assert counts["kev_entries"] == 4
    assert counts["epss_scores"] == 3
    assert counts["scores"] == 5


def test_stats_empty_store(runner: CliRunner, db_url: str) -> None:
    data = run_json(runner, db_url, "intel", "stats")
    assert data["store"] == db_url
    assert set(data["counts"].values()) == {0}


def test_formats_json(runner: CliRunner, db_url: str) -> None:
    rows = run_json(runner, db_url, "intel", "formats")
    assert len(rows) == 9
    assert Counter(r["format"] for r in rows) == Counter(
        {"kev": 2, "csaf": 1, "cve5": 1, "nvd": 1, "osv": 1, "epss": 1, "openvex": 1, "cdx-vex": 1}
    )
    titles = [r["title"] for r in rows]
    assert len(set(titles)) == 9
    assert all(r["description"] for r in rows)


def test_formats_human(runner: CliRunner, db_url: str) -> None:
    result = run(runner, db_url, "intel", "formats")
    assert result.exit_code == 0
    assert "CSAF" in result.stdout
    assert "EPSS" in result.stdout


# --- store selection --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("notaurl", "'notaurl' is not a database URL"),
        ("bogus://x", "cannot use database 'bogus://x'"),
    ],
)
def test_bad_db_url_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, message: str
) -> None:
    code = run_main(monkeypatch, "--db", url, "intel", "stats")
    assert code == 2
    err = squash(capsys.readouterr().err)
    assert "error:" in err
    assert message in err


def test_env_var_selects_store(runner: CliRunner, tmp_path: Path) -> None:
    db_file = tmp_path / "from-env.db"
    url = f"sqlite:///{db_file}"
    env = {"IOTWARDEN_DB": url}
    result = runner.invoke(app, ["intel", "ingest", str(samples_dir()), "--json"], env=env)
    assert result.exit_code == 0
    assert db_file.is_file()
    stats = runner.invoke(app, ["intel", "stats", "--json"], env=env)
    assert stats.exit_code == 0
    data = json.loads(stats.stdout)
    assert data["store"] == url
    assert data["counts"]["advisories"] == 4


def test_db_option_beats_env_var(runner: CliRunner, db_url: str, tmp_path: Path) -> None:
    env = {"IOTWARDEN_DB": f"sqlite:///{tmp_path / 'other.db'}"}
    result = runner.invoke(app, ["--db", db_url, "intel", "stats", "--json"], env=env)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["store"] == db_url
