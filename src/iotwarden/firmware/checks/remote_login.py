"""The link no single check sees: a remote login service started at boot (telnet, FTP, rsh,
SSH with password login) and an account whose password is a published default or empty."""

from __future__ import annotations

import re

from iotwarden.firmware.checks.accounts import AccountAnalysis, PasswordHash, analyse_accounts
from iotwarden.firmware.checks.interface import CheckOutput, CheckRun, FirmwareCheck
from iotwarden.firmware.checks.services import ServiceStart, analyse_boot, telnet_shell
from iotwarden.firmware.model import (
    CAP_MINIMAL_ATTACK_SURFACE,
    CAP_STRONG_AUTHENTICATION,
    CAP_UNIQUE_CREDENTIALS,
    Finding,
    Severity,
)

ID_REMOTE_DEFAULT_LOGIN = "IW-FW-REMOTE-LOGIN-DEFAULT-PASSWORD"


def _password_login_users(run: CheckRun, start: ServiceStart) -> str:
    """'all', 'non-root' or 'none': who may log in with a password through this start."""
    if start.program == "dropbear":
        flags = "".join(t[1:] for t in start.argv[1:] if t.startswith("-") and len(t) > 1)
        if "s" in flags:
            return "none"
        return "non-root" if "g" in flags else "all"
    if start.program == "sshd":
        config = run.tree.read_text("/etc/ssh/sshd_config") or ""
        if re.search(r"^\s*PasswordAuthentication\s+no\b", config, re.MULTILINE | re.IGNORECASE):
            return "none"
        if re.search(
            r"^\s*PermitRootLogin\s+(no|prohibit-password|without-password)\b",
            config,
            re.MULTILINE | re.IGNORECASE,
        ):
            return "non-root"
    return "all"


def _describe(entry: PasswordHash) -> str:
    if entry.scheme == "empty":
        return "has no password"
    return f"has the default password '{entry.cracked}'"


class RemoteLoginCheck(FirmwareCheck):
    name = "remote-login"
    title = "Remote login with a default password"
    description = (
        "Joins the services and accounts checks: a remote login service (telnet, FTP, rsh, "
        "SSH with password login) started at boot while an account with a login shell has "
        "an empty or published default password means anyone on the network can log in."
    )
    finding_ids = (ID_REMOTE_DEFAULT_LOGIN,)
    capabilities = (
        CAP_UNIQUE_CREDENTIALS,
        CAP_STRONG_AUTHENTICATION,
        CAP_MINIMAL_ATTACK_SURFACE,
    )
    looks_at = ("/etc/passwd", "/etc/shadow", "/etc/inittab", "/etc/init.d/*", "...")

    def run(self, run: CheckRun) -> CheckOutput:
        accounts: AccountAnalysis = run.shared("accounts", analyse_accounts)
        boot = run.shared("boot", analyse_boot)
        output = CheckOutput()
        defaults = accounts.default_logins()
        if not defaults:
            return output
        reported: set[tuple[str, str]] = set()
        for start in boot.remote_logins():
            service = start.service
            if service is None:  # pragma: no cover - remote_logins() only yields services
                continue
            if telnet_shell(start) is not None:
                continue  # no login at all: the services check reports that on its own
            allowed = _password_login_users(run, start)
            for entry in defaults:
                if allowed == "none" or (allowed == "non-root" and entry.user == "root"):
                    continue
                if (service.name, entry.user) in reported:
                    continue
                reported.add((service.name, entry.user))
                account_line = entry.lines[0]
                output.findings.append(
                    Finding(
                        id=ID_REMOTE_DEFAULT_LOGIN,
                        title=(
                            f"Remote login with a default password: {start.program} runs at "
                            f"boot and '{entry.user}' {_describe(entry)}"
                        ),
                        severity=Severity.CRITICAL,
                        path=start.path,
                        evidence=(
                            f"{start.program} started by {start.path} line {start.line_no} "
                            f"({start.line}); '{entry.user}' {_describe(entry)} in "
                            f"{account_line.path} line {account_line.line_no}"
                        ),
                        remediation=(
                            f"Stop starting {start.program} at boot and remove the default "
                            "password: lock the account or set a unique password per device."
                        ),
                        capabilities=self.capabilities,
                        details={
                            "service": service.name,
                            "program": start.program,
                            "started_by": start.path,
                            "user": entry.user,
                            "password": entry.cracked if entry.scheme != "empty" else "",
                            "account_file": account_line.path,
                        },
                    )
                )
        return output
