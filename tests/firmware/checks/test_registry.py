"""Completeness of the check registry: every check has a test module, every finding id it
declares is asserted in a test, capabilities come from the harmonised list, tables load."""

from __future__ import annotations

from pathlib import Path

from iotwarden.firmware import model
from iotwarden.firmware.checks.registry import CHECKS
from iotwarden.firmware.checks.tables import (
    credential_patterns,
    default_credentials,
    risky_services,
    update_indicators,
)

HERE = Path(__file__).parent
ALLOWED_CAPABILITIES = {value for name, value in vars(model).items() if name.startswith("CAP_")}


def _test_sources() -> str:
    return "\n".join(p.read_text() for p in HERE.glob("test_*.py") if p.name != Path(__file__).name)


def test_every_check_has_a_test_module_with_tests() -> None:
    for check in CHECKS:
        module = HERE / f"test_{check.name.replace('-', '_')}.py"
        assert module.is_file(), f"check {check.name!r} has no test module {module.name}"
        assert "\ndef test_" in module.read_text(), f"{module.name} has no test"


def test_every_declared_finding_id_is_asserted_somewhere() -> None:
    sources = _test_sources()
    missing = [
        (check.name, finding_id)
        for check in CHECKS
        for finding_id in check.finding_ids
        if f'"{finding_id}"' not in sources
    ]
    assert missing == []


def test_declarations() -> None:
    seen: dict[str, str] = {}
    names = [check.name for check in CHECKS]
    assert len(names) == len(set(names))
    for check in CHECKS:
        assert check.title and check.description and check.looks_at, check.name
        assert set(check.capabilities) <= ALLOWED_CAPABILITIES, check.name
        for finding_id in check.finding_ids:
            assert finding_id.startswith("IW-FW-"), finding_id
            assert seen.setdefault(finding_id, check.name) == check.name, finding_id
    for service in risky_services():
        assert set(service.capabilities) <= ALLOWED_CAPABILITIES, service.name


def test_tables_load_with_their_sources() -> None:
    credentials = default_credentials()
    mirai = {(c.user, c.password) for c in credentials if c.source == "mirai"}
    assert len(mirai) >= 60
    assert {("root", "xc3511"), ("root", "vizxv"), ("admin", "admin"), ("root", "root"),
            ("admin", "1234"), ("root", "")} <= mirai  # fmt: skip
    assert 70 <= len(credentials) <= 100
    assert all(c.note for c in credentials if c.source == "vendor")
    assert {"telnetd", "tddp", "miniupnpd", "vsftpd"} <= {
        p for s in risky_services() for p in s.programs
    }
    assert credential_patterns().patterns and update_indicators()
