"""Alerts rendered as JSON, Markdown and HTML, and written to files: the values the recipient
needs are there, markup from advisories or the inventory stays text, files stay in their
folder."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from iotwarden.core.models import RemediationCategory
from iotwarden.exposure.alerts import Alert, Audience, RemediationNote, build_alerts
from iotwarden.report.alerts import (
    ReportError,
    slugify,
    to_html,
    to_json,
    to_markdown,
    write_alerts,
)
from tests.exposure.test_alerts import demo_store

SCRIPT = "<script>alert(1)</script>"
HOSTILE_VENDOR = 'Evil "Corp" <b>&amp;</b>'
HOSTILE_OWNER = "../../etc/<img src=x onerror=alert(1)>"
HOSTILE_CONTACT = "x\" onmouseover='alert(1)'"


def hostile_fleet(path: Path) -> Path:
    """A product, an owner and a contact whose names are markup, on OpenSSL 1.0.1e."""
    product = {"vendor": HOSTILE_VENDOR, "product": SCRIPT}
    path.write_text(
        json.dumps(
            {
                "products": [product | {"sector": "energy", "criticality": "high"}],
                "firmware_builds": [
                    product
                    | {"version": "1.0", "components": [{"name": "openssl", "version": "1.0.1e"}]}
                ],
                "devices": [
                    product
                    | {
                        "device_id": "<i>dev-1</i>",
                        "firmware_version": "1.0",
                        "owner": HOSTILE_OWNER,
                        "owner_contact": HOSTILE_CONTACT,
                        "internet_exposed": True,
                    }
                ],
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def alerts(tmp_path_factory: pytest.TempPathFactory) -> list[Alert]:
    folder = tmp_path_factory.mktemp("renderers")
    store = demo_store(folder, hostile_fleet(folder / "hostile.json"))
    try:
        return build_alerts(store, "CVE-2014-0160")
    finally:
        store.close()


def by(alerts: list[Alert], audience: Audience, recipient: str) -> Alert:
    return next(a for a in alerts if a.audience is audience and a.recipient == recipient)


@pytest.fixture
def north_grid(alerts: list[Alert]) -> Alert:
    return by(alerts, Audience.OWNER, "North Grid")


# --- JSON ------------------------------------------------------------------------------------


def test_json_round_trips_with_the_same_keys_for_every_alert(alerts: list[Alert]) -> None:
    documents = [to_json(a) for a in alerts]
    for doc in documents:
        assert json.loads(json.dumps(doc)) == doc
        assert list(doc) == list(documents[0])
        assert list(doc["fix"]) == list(documents[0]["fix"])
    assert list(documents[0]) == [
        "schema",
        "audience",
        "recipient",
        "contact",
        "vulnerability",
        "title",
        "summary",
        "summary_source",
        "priority",
        "devices",
        "groups",
        "products",
        "fix",
    ]


def test_json_of_the_north_grid_alert(north_grid: Alert) -> None:
    doc = to_json(north_grid)
    assert doc["schema"] == "iotwarden-alert/1"
    assert (doc["audience"], doc["recipient"]) == ("owner", "North Grid")
    assert doc["priority"] == {"band": "P1", "score": 104.8}
    first = doc["groups"][0]
    assert first["product"] == {"vendor": "Example Controls", "name": "ExGate 100"}
    assert first["firmware_version"] == "4.2.0"
    assert first["device_ids"] == ["grid-0000", "grid-0003"]
    assert first["internet_exposed"] is True
    assert first["priority"]["band"] == "P1"
    assert {(r["matched"], r["ranges"], r["source"], r["status"]) for r in first["reasons"]} == {
        ("openssl 1.0.1e", "vers:generic/>=1.0.1|<1.0.1g", "nvd:CVE-2014-0160", "affected"),
        ("ExGate 100 firmware 4.2.0", "vers:generic/<V4.3.0", "csaf:EXG-2014-001", "affected"),
    }
    assert set(doc["fix"]["versions"]) == {"1.0.1g", "V4.3.0"}
    assert doc["fix"]["kev"][0]["required_action"] == "Apply updates per vendor instructions."
    assert doc["fix"]["kev"][0]["due_date"] == "2022-05-25"
    assert doc["fix"]["mitigations"][0]["category"] == "mitigation"


# --- Markdown --------------------------------------------------------------------------------


def test_markdown_carries_what_the_owner_must_know(north_grid: Alert) -> None:
    text = to_markdown(north_grid)
    assert text.startswith("# P1 CVE-2014-0160: Example Controls ExGate gateways")
    for expected in (
        "North Grid (owner), psirt@northgrid.example",
        "grid-0000, grid-0003",
        "Example Controls ExGate 100 4.2.0, 2 devices (energy, critical, internet-facing)",
        "openssl 1.0.1e in vers:generic/\\>=1.0.1\\|\\<1.0.1g (cpe, nvd:CVE-2014-0160)",
        "ExGate 100 firmware 4.2.0 in vers:generic/\\<V4.3.0 (product, csaf:EXG-2014-001)",
        "openssl 1.0.1e → 1.0.1g (nvd:CVE-2014-0160)",
        "→ V4.3.0 (csaf:EXG-2014-001)",
        "Update ExGate 100 to firmware V4.3.0 or later. "
        "<https://psirt.example.invalid/downloads/exgate100>",
        "CVE-2014-0160: Apply updates per vendor instructions. Due 2022-05-25. (cisa-kev)",
        "Block access to TCP 443 and UDP 1194 from untrusted networks",
    ):
        assert expected in text
    # The groups in priority order: internet-facing critical first.
    assert text.index("P1 104.8") < text.index("P1 94.2") < text.index("P1 90.4")


def test_markdown_of_a_vendor_alert(alerts: list[Alert]) -> None:
    text = to_markdown(by(alerts, Audience.VENDOR, "Example Controls"))
    assert "Example Controls (vendor)" in text
    assert "Example Controls ExGate 100 firmware 4.2.0" in text
    assert "**Devices in the field:** 7 (2 internet-facing, 1 owner)" in text
    assert "North Grid" not in text  # vendors learn counts, not customers


def test_markdown_keeps_markup_from_the_inventory_as_text(alerts: list[Alert]) -> None:
    text = to_markdown(by(alerts, Audience.OWNER, HOSTILE_OWNER))
    assert re.search(r"(?<!\\)<", text) is None  # every '<' escaped
    assert "\\<script\\>alert(1)\\</script\\>" in text
    assert "\\<i\\>dev-1\\</i\\>" in text
    assert "../../etc/\\<img src=x onerror=alert(1)\\> (owner)" in text


# --- HTML ------------------------------------------------------------------------------------


def test_html_escapes_every_value_from_advisories_and_inventory(alerts: list[Alert]) -> None:
    for alert in (
        by(alerts, Audience.OWNER, HOSTILE_OWNER),
        by(alerts, Audience.VENDOR, HOSTILE_VENDOR),
    ):
        page = to_html(alert)
        assert "<script" not in page and "<img" not in page and "<b>" not in page
        assert "<i>" not in page and "onmouseover='" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "Evil &quot;Corp&quot; &lt;b&gt;&amp;amp;&lt;/b&gt;" in page
    owner_page = to_html(by(alerts, Audience.OWNER, HOSTILE_OWNER))
    assert "../../etc/&lt;img src=x onerror=alert(1)&gt;" in owner_page
    assert "x&quot; onmouseover=&#x27;alert(1)&#x27;" in owner_page
    assert "&lt;i&gt;dev-1&lt;/i&gt;" in owner_page


def test_html_links_only_web_urls(north_grid: Alert) -> None:
    evil = RemediationNote(
        RemediationCategory.WORKAROUND, "Click here", 'javascript:alert("x")', (), "csaf:X"
    )
    alert = dataclasses.replace(
        north_grid, fix=dataclasses.replace(north_grid.fix, mitigations=(evil,))
    )
    page = to_html(alert)
    assert 'href="javascript' not in page
    assert "javascript:alert(&quot;x&quot;)" in page  # shown as text
    assert '<a href="https://psirt.example.invalid/downloads/exgate100"' in page
    assert "<javascript" not in to_markdown(alert)


def test_html_is_one_self_contained_page(north_grid: Alert) -> None:
    page = to_html(north_grid)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<style>" in page
    assert re.search(r"<(script|link|img|iframe|object)\b", page) is None
    assert re.search(r"\ssrc=|@import|url\(", page) is None
    assert "default-src 'none'" in page
    for expected in (
        '<span class="band P1">P1</span>',
        "grid-0000, grid-0003",
        "<code>vers:generic/&gt;=1.0.1|&lt;1.0.1g</code>",
        "<code>vers:generic/&lt;V4.3.0</code>",
        "<strong>1.0.1g</strong>",
        "<strong>V4.3.0</strong>",
        "Apply updates per vendor instructions. Due 2022-05-25.",
        "Block access to TCP 443 and UDP 1194",
    ):
        assert expected in page


# --- files -----------------------------------------------------------------------------------


def test_slugify_leaves_only_safe_characters() -> None:
    assert slugify("North Grid") == "north-grid"
    assert slugify("../../etc/passwd") == "etc-passwd"
    assert slugify("Société Générale / Énergie") == "societe-generale-energie"
    assert slugify("..") == slugify("") == slugify("///") == "unnamed"
    assert len(slugify("x" * 500)) == 60


def test_write_alerts_writes_each_format_inside_the_folder(
    alerts: list[Alert], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    renamed = [
        dataclasses.replace(alerts[0], recipient=name)
        for name in ("../../escape", "a/b", "A B", "..", "")
    ]
    paths = write_alerts([*alerts, *renamed], out, ["json", "markdown", "html"])
    assert len(paths) == 3 * (len(alerts) + len(renamed))
    assert all(p.parent == out.resolve() and p.is_file() for p in paths)
    assert not (tmp_path / "escape.json").exists()
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    names = [p.name for p in paths]
    assert "cve-2014-0160-owner-north-grid.json" in names
    assert "cve-2014-0160-vendor-example-controls.html" in names
    assert "cve-2014-0160-owner-escape.md" in names
    # 'a/b' and 'A B' slug alike; '..' and '' too: each gets its own file.
    assert "cve-2014-0160-owner-a-b.json" in names and "cve-2014-0160-owner-a-b-2.json" in names
    assert "cve-2014-0160-owner-unnamed-2.json" in names
    written = json.loads((out / "cve-2014-0160-owner-north-grid.json").read_text("utf-8"))
    assert written == to_json(by(alerts, Audience.OWNER, "North Grid"))
    md = (out / "cve-2014-0160-owner-north-grid.md").read_text("utf-8")
    assert md == to_markdown(by(alerts, Audience.OWNER, "North Grid"))


def test_write_alerts_refuses_unknown_formats_and_symlinks(
    north_grid: Alert, tmp_path: Path
) -> None:
    with pytest.raises(ReportError, match="unknown alert format 'pdf'"):
        write_alerts([north_grid], tmp_path, ["pdf"])
    target = tmp_path / "elsewhere.html"
    (tmp_path / "cve-2014-0160-owner-north-grid.html").symlink_to(target)
    with pytest.raises(ReportError, match="refusing to write"):
        write_alerts([north_grid], tmp_path, ["html"])
    assert not target.exists()


def test_an_alert_without_a_fix_says_so(north_grid: Alert) -> None:
    planned = RemediationNote(
        RemediationCategory.NO_FIX_PLANNED, "End of life: replace the device.", None, (), "csaf:Y"
    )
    alert = dataclasses.replace(
        north_grid,
        fix=dataclasses.replace(
            north_grid.fix,
            fixed_versions=(),
            vendor_remediations=(),
            mitigations=(),
            other_remediations=(planned,),
        ),
    )
    text = to_markdown(alert)
    assert "- No source names a fixed version." in text
    assert (
        "### Other statements\n- End of life: replace the device. (no fix planned, csaf:Y)" in text
    )
    page = to_html(alert)
    assert "<li>No source names a fixed version.</li>" in page
    assert "End of life: replace the device." in page and "no fix planned" in page
    assert to_json(alert)["fix"]["other_remediations"][0]["category"] == "no_fix_planned"
