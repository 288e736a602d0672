"""The consumer security label: support end, update policy, disclosure contact, SBOM and the
conformity summary, as JSON, SVG and HTML (declarations are input: everything is escaped)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from iotwarden.baseline import Catalogs, load_catalogs
from iotwarden.baseline.assess import CheckRecord, Verdict, assess
from iotwarden.baseline.declarations import parse_declarations
from iotwarden.baseline.label import build_label, to_html, to_svg
from iotwarden.firmware.model import Severity
from tests.baseline.test_assess import ALL_CHECKS, TODAY, complete_declarations, finding, firmware

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return load_catalogs()


def test_the_label_shows_what_a_buyer_needs(catalogs: Catalogs) -> None:
    decl = parse_declarations(
        complete_declarations(
            catalogs,
            **{
                "update.automatic": "On by default, daily",
                "update.mechanism": "Signed A/B images",
                "sbom.available": ["CycloneDX 1.6"],
            },
        ),
        catalogs,
        today=TODAY,
    )
    result = assess(catalogs, firmware=firmware(), declarations=decl, today=TODAY)
    label = build_label(result)
    assert (label.manufacturer, label.product, label.version) == (
        "Example Devices Ltd",
        "ExCam 200",
        "2.4.1",
    )
    assert label.support_end == "2031-12-31"
    assert label.support_days_left == (dt.date(2031, 12, 31) - TODAY).days
    support = label.line("support")
    assert (support.value, support.ok, support.source) == ("until 2031-12-31", True, "declared")
    updates = label.line("updates")
    assert (
        updates.value
        == "On by default, daily; Signed A/B images; signed updates seen in the firmware"
    )
    assert (updates.ok, updates.source) == (True, "observed+declared")
    assert label.line("disclosure").value == (
        "security@example.com (policy: https://example.com/security)"
    )
    assert label.line("sbom").value == "published (CycloneDX 1.6)"
    assert label.line("passwords").value == "no default passwords"
    assert {c.framework: c.verdict for c in label.conformity}["uk-psti"] is Verdict.PASS
    data = label.to_dict()
    assert data["schema"] == "iotwarden-security-label/1"
    assert data["support_end"] == "2031-12-31"


def test_a_label_without_declarations_says_what_is_missing(catalogs: Catalogs) -> None:
    mirai = finding(
        "IW-FW-ACCOUNT-DEFAULT-PASSWORD", ("unique-credentials",), severity=Severity.CRITICAL
    )
    unsigned = finding("IW-FW-UPDATE-NO-SIGNED-MECHANISM", ("secure-update",), path="/")
    checks = (*ALL_CHECKS[:-1], CheckRecord("updates", True, {"mechanisms": [], "signed": []}))
    result = assess(catalogs, firmware=firmware(mirai, unsigned, checks=checks), today=TODAY)
    label = build_label(result)
    assert label.support_end is None
    assert (label.line("support").value, label.line("support").ok) == (
        "end date not declared",
        False,
    )
    assert label.line("updates").value == "no signed update mechanism found in the firmware"
    assert label.line("updates").ok is False
    assert label.line("disclosure").value == "no contact declared"
    assert label.line("passwords").value == "default or shared passwords found"
    assert label.product == "test-image"


def test_svg_and_html_are_well_formed_and_escape_declared_text(catalogs: Catalogs) -> None:
    hostile = '<script>alert("x")</script> & co'
    data = complete_declarations(catalogs)
    data["subject"]["product"] = hostile
    decl = parse_declarations(data, catalogs, today=TODAY)
    label = build_label(assess(catalogs, declarations=decl, today=TODAY))
    svg = to_svg(label)
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    texts = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
    assert hostile in texts  # shown as text, not markup
    assert "<script>" not in svg
    assert "Security updates" in texts and "until 2031-12-31" in texts
    page = to_html(label)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
