"""The response report: one self-contained HTML page for one vulnerability across the fleet
(the situation by priority, sector, owner and product, and every alert with a link to its own
page). Every value from advisories or the inventory is escaped; nothing external is loaded."""

from __future__ import annotations

from html import escape
from pathlib import Path

from iotwarden.exposure.alerts import Alert
from iotwarden.exposure.situation import Situation, Tally
from iotwarden.report.alerts import STYLE


def _tally_table(title: str, tallies: dict[str, Tally]) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("", "devices", "affected", "possibly", "internet", "critical", "fix available")
    )
    rows = "".join(
        "<tr>"
        f"<th>{escape(name)}</th><td>{t.devices}</td><td>{t.affected}</td>"
        f"<td>{t.possibly_affected}</td><td>{t.internet_exposed}</td><td>{t.critical}</td>"
        f"<td>{t.fix_available}</td></tr>"
        for name, t in tallies.items()
    )
    return f"<h3>{escape(title)}</h3><table><tr>{head}</tr>{rows}</table>"


def response_html(situation: Situation, alerts: list[Alert], links: dict[int, Path]) -> str:
    """``links`` maps an alert's position in ``alerts`` to its HTML page (relative path)."""
    total = situation.total
    signals = []
    if situation.max_cvss is not None:
        signals.append(f"CVSS {situation.max_cvss}")
    signals.append("on CISA KEV" if situation.on_kev else "not on KEV")
    if situation.epss is not None:
        signals.append(f"EPSS {situation.epss:.3f}")
    items = []
    for index, alert in enumerate(alerts):
        link = links.get(index)
        name = escape(alert.recipient)
        label = f'<a href="{escape(link.as_posix())}">{name}</a>' if link else name
        fixes = escape(", ".join(alert.fix.versions)) or "no fixed version known"
        items.append(
            f"<tr><td>{escape(alert.band or '')}</td><td>{label}</td>"
            f"<td>{escape(alert.audience.value)}</td><td>{alert.devices}</td>"
            f"<td>{escape(alert.contact or '')}</td><td>{fixes}</td></tr>"
        )
    alert_table = (
        "<table><tr><th></th><th>to</th><th>audience</th><th>devices</th><th>contact</th>"
        f"<th>fixed versions</th></tr>{''.join(items)}</table>"
        if items
        else "<p>No owner or vendor is exposed.</p>"
    )
    title = f"Response to {situation.query}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">\n"
        f"<title>{escape(title)}</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n"
        f"<p>{escape(', '.join(situation.vulnerability_ids))} — {escape(', '.join(signals))}</p>\n"
        f"<p><strong>{total.devices}</strong> devices exposed ({total.affected} affected, "
        f"{total.possibly_affected} possibly), {total.internet_exposed} internet-facing, "
        f"{total.critical} high or critical, {total.fix_available} with a fix available.</p>\n"
        f"<h2>Alerts</h2>\n{alert_table}\n<h2>Situation</h2>\n"
        + _tally_table("By priority", situation.by_band)
        + _tally_table("By sector", situation.by_sector)
        + _tally_table("By owner", situation.by_owner)
        + _tally_table("By product", situation.by_product)
        + "\n<p>Priorities follow docs/priority.md of IoT Warden.</p>\n</body>\n</html>\n"
    )
