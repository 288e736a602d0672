"""Update mechanism: is there one, and does it verify signatures? The indicators (opkg/usign
keys, sysupgrade signature checks, SWUpdate, RAUC, Mender, fwupd, OSTree, APT, vendor public
keys) are data: ``data/firmware/update_mechanisms.yaml``."""

from __future__ import annotations

from typing import Any

from iotwarden.firmware.checks.interface import CheckOutput, CheckRun, FirmwareCheck
from iotwarden.firmware.checks.tables import UpdateIndicator, update_indicators
from iotwarden.firmware.model import CAP_SECURE_UPDATE, CAP_UPDATE_MECHANISM, Finding, Severity

ID_NO_SIGNED_UPDATE = "IW-FW-UPDATE-NO-SIGNED-MECHANISM"


def _matches(run: CheckRun, indicator: UpdateIndicator) -> list[str]:
    hits = []
    for path in run.tree.match(*indicator.paths):
        if indicator.content is not None:
            text = run.tree.read_text(path)
            if text is None or not indicator.content.search(text):
                continue
        elif not run.tree.exists(path):
            continue  # a dangling link is no evidence
        hits.append(path)
    return hits


class UpdatesCheck(FirmwareCheck):
    name = "updates"
    title = "Signed update mechanism"
    description = (
        "Looks for an update mechanism (opkg, sysupgrade, SWUpdate, RAUC, Mender, fwupd, "
        "OSTree, APT, vendor tools) and for evidence that it verifies signatures (keys, "
        "configuration); none found is a finding."
    )
    finding_ids = (ID_NO_SIGNED_UPDATE,)
    capabilities = (CAP_SECURE_UPDATE, CAP_UPDATE_MECHANISM)
    looks_at = ("/etc/opkg/keys/*", "/etc/opkg.conf", "/lib/upgrade/*", "/etc/rauc/system.conf",
                "/etc/mender/mender.conf", "/etc/swupdate.cfg", "...")  # fmt: skip

    def run(self, run: CheckRun) -> CheckOutput:
        seen: list[dict[str, Any]] = []
        for indicator in update_indicators():
            paths = _matches(run, indicator)
            if paths:
                seen.append(
                    {
                        "indicator": indicator.name,
                        "mechanism": indicator.mechanism,
                        "signed": indicator.signed,
                        "paths": paths,
                    }
                )
        signed = sorted({s["mechanism"] for s in seen if s["signed"]})
        mechanisms = sorted({s["mechanism"] for s in seen})
        output = CheckOutput(facts={"mechanisms": mechanisms, "signed": signed, "indicators": seen})
        if not signed:
            if mechanisms:
                evidence = "update mechanism(s) found without signature verification: " + ", ".join(
                    f"{s['indicator']} ({', '.join(s['paths'][:3])})" for s in seen
                )
            else:
                evidence = "no update mechanism found (no opkg, sysupgrade, SWUpdate, RAUC, "
                evidence += "Mender, fwupd, OSTree, APT or vendor update tool)"
            output.findings.append(
                Finding(
                    id=ID_NO_SIGNED_UPDATE,
                    title="No signed update mechanism found",
                    severity=Severity.MEDIUM,
                    path="/",
                    evidence=evidence,
                    remediation=(
                        "Provide a secure update mechanism that verifies a signature over "
                        "every update before installing it (e.g. usign-signed sysupgrade, "
                        "SWUpdate or RAUC with a public key in read-only storage)."
                    ),
                    capabilities=(CAP_SECURE_UPDATE, CAP_UPDATE_MECHANISM),
                    details={"mechanisms": mechanisms},
                )
            )
        return output
