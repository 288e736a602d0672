"""Hard-coded credentials in scripts and configuration files (the patterns are data:
``data/firmware/credential_patterns.yaml``). Evidence is the line with the secret masked."""

from __future__ import annotations

import fnmatch
import re
from pathlib import PurePosixPath

from iotwarden.firmware.checks.interface import CheckOutput, CheckRun, FirmwareCheck, mask_secret
from iotwarden.firmware.checks.tables import CredentialPattern, credential_patterns
from iotwarden.firmware.model import CAP_NO_HARD_CODED_SECRETS, CAP_UNIQUE_CREDENTIALS, Finding

ID_PASSWORD = "IW-FW-CREDS-HARDCODED-PASSWORD"  # noqa: S105 - a finding id
ID_URL = "IW-FW-CREDS-URL"
ID_HTTP = "IW-FW-CREDS-HTTP-BASIC-AUTH"
ID_WIFI = "IW-FW-CREDS-WIFI-PSK"

_REMEDIATION = {
    ID_PASSWORD: (
        "Do not ship secrets in scripts or configuration: generate them per device at first "
        "boot or provisioning, or ask the user."
    ),
    ID_URL: "Do not embed credentials in URLs; provision per-device credentials or tokens.",
    ID_HTTP: (
        "Do not ship web credentials in plain text: store a per-device password, hashed, "
        "set at provisioning or first use."
    ),
    ID_WIFI: "Do not ship a Wi-Fi key shared by every unit; generate one per device.",
}

_SKIP_SUFFIXES = (
    ".js", ".css", ".html", ".htm", ".svg", ".png", ".jpg", ".gif", ".ico", ".po", ".pot",
    ".mo", ".h", ".c", ".cpp", ".md", ".map", ".json", ".xml", ".txt", ".pem", ".crt",
)  # fmt: skip
_SKIP_DIRS = (
    "/usr/share/doc/", "/usr/share/man/", "/usr/share/locale/", "/usr/include/",
    "/usr/share/zoneinfo/", "/usr/share/perl", "/usr/lib/perl", "/usr/lib/python",
    "/usr/share/info/", "/proc/", "/sys/", "/dev/",
)  # fmt: skip
#: Cheap pre-filter: a file without any of these cannot match a pattern.
_HINTS = re.compile(
    r"pass|pwd|secret|token|api_?key|psk|://|option\s+key|\.user|:[^:\s]+:", re.IGNORECASE
)
_MAX_LINE = 4096


def _applies(pattern: CredentialPattern, path: str) -> bool:
    if not pattern.files:
        return True
    name = PurePosixPath(path).name
    return any(
        PurePosixPath(path).match(glob) if "/" in glob else fnmatch.fnmatchcase(name, glob)
        for glob in pattern.files
    )


def _is_placeholder(secret: str, placeholders: frozenset[str]) -> bool:
    return (
        secret in placeholders
        or secret[:1] in ("$", "<", "{", "%", "/", "`")
        or "${" in secret
        or set(secret) <= {"*", "x", "X", "."}
    )


class CredentialsCheck(FirmwareCheck):
    name = "credentials"
    title = "Hard-coded credentials in scripts and configuration"
    description = (
        "Scans text files (scripts, configuration, web server user files, Wi-Fi "
        "configuration) for literal passwords, credentials in URLs, telnetd -u user:pass, "
        "chpasswd/passwd fed a literal, plain-text HTTP basic-auth users and Wi-Fi keys."
    )
    finding_ids = (ID_PASSWORD, ID_URL, ID_HTTP, ID_WIFI)
    capabilities = (CAP_NO_HARD_CODED_SECRETS, CAP_UNIQUE_CREDENTIALS)
    looks_at = ("/etc/*", "/etc/init.d/*", "/etc/config/*", "*.sh", "*.conf", "*.user")

    def run(self, run: CheckRun) -> CheckOutput:
        table = credential_patterns()
        output = CheckOutput()
        scanned = 0
        for entry in run.tree.entries().values():
            path = entry.path
            if (
                not entry.is_file
                or entry.size > 1 << 20
                or path.lower().endswith(_SKIP_SUFFIXES)
                or path.startswith(_SKIP_DIRS)
            ):
                continue
            # Patterns made for this kind of file first: they name the secret best.
            patterns = sorted(
                (p for p in table.patterns if _applies(p, path)), key=lambda p: not p.files
            )
            if not patterns:
                continue
            text = run.tree.read_text(path)
            if text is None or not _HINTS.search(text):
                continue
            scanned += 1
            output.findings.extend(self._scan(path, text, patterns, table.placeholders))
        output.facts["files_scanned"] = scanned
        return output

    def _scan(
        self,
        path: str,
        text: str,
        patterns: list[CredentialPattern],
        placeholders: frozenset[str],
    ) -> list[Finding]:
        findings: list[Finding] = []
        for line_no, raw in enumerate(text.splitlines(), 1):
            line = raw[:_MAX_LINE]
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            for pattern in patterns:
                match = pattern.regex.search(line)
                if match is None:
                    continue
                secret = match.group("secret")
                if not secret or _is_placeholder(secret, placeholders):
                    continue
                # Every copy of the secret on the line ('echo -e "pw\npw" | passwd').
                masked_line = line.replace(secret, mask_secret(secret)).strip()
                user = match.groupdict().get("user")
                findings.append(
                    Finding(
                        id=pattern.finding,
                        title=pattern.title + (f" (user '{user}')" if user else ""),
                        severity=pattern.severity,
                        path=path,
                        evidence=f"line {line_no}: {masked_line[:300]}",
                        remediation=_REMEDIATION.get(pattern.finding, _REMEDIATION[ID_PASSWORD]),
                        capabilities=(CAP_NO_HARD_CODED_SECRETS, CAP_UNIQUE_CREDENTIALS),
                        details={
                            "pattern": pattern.name,
                            "line": line_no,
                            "user": user,
                            "secret_masked": mask_secret(secret),
                            "secret_length": len(secret),
                        },
                    )
                )
                break  # one finding per line: the first (most specific) pattern wins
        return findings
