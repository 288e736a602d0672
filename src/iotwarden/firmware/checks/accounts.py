"""Accounts and password hashes: default and empty passwords, extra UID 0 accounts, weak
hash schemes, and fixed hashes that make every unit share one password.

Reads every passwd- or shadow-shaped text file (``/etc/passwd``, ``/etc/shadow``, their
``-``/``.bak``/``.default`` copies, ``/etc_ro``, ``/etc/config``, ...). Hashes are tried
against the default-credential table only (bounded: the user's own defaults first, slow
schemes with high work factors get only those).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import bcrypt

from iotwarden.firmware.checks.interface import (
    CheckOutput,
    CheckRun,
    FirmwareCheck,
    abbreviate_hash,
)
from iotwarden.firmware.checks.tables import default_credentials
from iotwarden.firmware.model import (
    CAP_LEAST_PRIVILEGE,
    CAP_SECURE_STORAGE_OF_SECRETS,
    CAP_STRONG_AUTHENTICATION,
    CAP_UNIQUE_CREDENTIALS,
    Finding,
    Severity,
)

with warnings.catch_warnings():
    # passlib imports the stdlib 'crypt' module (deprecated in 3.11) for its fast backend.
    warnings.simplefilter("ignore", DeprecationWarning)
    from passlib.hash import des_crypt, md5_crypt, sha256_crypt, sha512_crypt

ID_DEFAULT = "IW-FW-ACCOUNT-DEFAULT-PASSWORD"
ID_EMPTY = "IW-FW-ACCOUNT-EMPTY-PASSWORD"
ID_UID0 = "IW-FW-ACCOUNT-EXTRA-UID0"
ID_SHARED = "IW-FW-ACCOUNT-SHARED-HASH"
ID_WEAK_HASH = "IW-FW-ACCOUNT-WEAK-HASH"

_ACCOUNT_FILE = re.compile(
    r"^(?:master\.)?(?:passwd|shadow)(?:[-._~].*)?$|^.+[._-](?:passwd|shadow)$", re.IGNORECASE
)
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._@$-]{0,63}$")
_NO_LOGIN_SHELLS = ("nologin", "false", "sync", "shutdown", "halt", "true")

#: Beyond these work factors a hash is tried only against its own user's defaults, and
#: beyond the second limit not at all: a hostile 'rounds=999999999' must not stall the scan.
_SHA_ROUNDS_ALL, _SHA_ROUNDS_MAX = 100_000, 1_000_000
_BCRYPT_COST_ALL, _BCRYPT_COST_MAX = 12, 14


@dataclass(frozen=True, slots=True)
class AccountLine:
    """One passwd or shadow line."""

    path: str
    line_no: int
    text: str
    user: str
    password: str  # the second field as written
    uid: int | None = None  # passwd lines only
    shell: str | None = None  # passwd lines only


@dataclass
class PasswordHash:
    """A usable password (hash or empty) of one user, with every line that ships it."""

    user: str
    hashed: str
    scheme: str
    lines: list[AccountLine] = field(default_factory=list)
    cracked: str | None = None
    cracked_source: str | None = None
    tried: int = 0
    note: str | None = None


@dataclass
class AccountAnalysis:
    files: list[str] = field(default_factory=list)
    #: user -> login shell as written in passwd ('' means /bin/sh); absent when unknown.
    shells: dict[str, str] = field(default_factory=dict)
    uid0: dict[str, AccountLine] = field(default_factory=dict)
    passwords: list[PasswordHash] = field(default_factory=list)

    def has_login_shell(self, user: str) -> bool:
        """True unless passwd gives the user a shell that refuses logins."""
        shell = self.shells.get(user)
        if shell is None:
            return True
        return not PurePosixPath(shell or "/bin/sh").name.endswith(_NO_LOGIN_SHELLS)

    def default_logins(self) -> list[PasswordHash]:
        """Passwords anyone can use: cracked defaults and empty ones, on login accounts."""
        return [
            p
            for p in self.passwords
            if (p.cracked is not None or p.scheme == "empty") and self.has_login_shell(p.user)
        ]


def hash_scheme(hashed: str) -> str | None:
    """The crypt scheme of a password field; 'empty' for no password; None when the field
    disables the account ('x', '*', '!', '!!', '!$6$...', ...)."""
    if hashed == "":
        return "empty"
    if hashed[0] in "!*":
        return None
    prefixes = {
        "$1$": "md5-crypt",
        "$5$": "sha256-crypt",
        "$6$": "sha512-crypt",
        "$2a$": "bcrypt",
        "$2b$": "bcrypt",
        "$2y$": "bcrypt",
        "$2x$": "bcrypt",
        "$y$": "yescrypt",
        "$gy$": "gost-yescrypt",
        "$7$": "scrypt",
        "$md5": "sun-md5",
        "$apr1$": "apr1",
        "$sha1$": "sha1-crypt",
    }
    for prefix, scheme in prefixes.items():
        if hashed.startswith(prefix):
            return scheme
    if re.fullmatch(r"[./0-9A-Za-z]{13}", hashed):
        return "des-crypt"
    if re.fullmatch(r"_[./0-9A-Za-z]{19}", hashed):
        return "bsdi-crypt"
    return None


def analyse_accounts(run: CheckRun) -> AccountAnalysis:
    """Every account file of the tree, parsed, with each usable hash tried against the
    default-credential table (shared by the accounts and remote-login checks)."""
    analysis = AccountAnalysis()
    by_password: dict[tuple[str, str], PasswordHash] = {}
    for path in _account_files(run):
        text = run.tree.read_text(path)
        if text is None:
            continue
        lines = [
            line for n, raw in enumerate(text.splitlines(), 1) if (line := _parse(path, n, raw))
        ]
        if not lines:
            continue
        analysis.files.append(path)
        for line in lines:
            if line.shell is not None:
                analysis.shells.setdefault(line.user, line.shell)
                if line.uid == 0 and line.user != "root":
                    analysis.uid0.setdefault(line.user, line)
            if line.shell is not None and line.password == "x":  # noqa: S105 - the shadow marker
                continue  # the hash is in shadow
            scheme = hash_scheme(line.password)
            if scheme is None:
                continue
            key = (line.user, line.password)
            entry = by_password.get(key)
            if entry is None:
                entry = by_password[key] = PasswordHash(line.user, line.password, scheme)
                analysis.passwords.append(entry)
            entry.lines.append(line)
    cracker = _Cracker()
    for entry in analysis.passwords:
        if entry.scheme != "empty":
            cracker.crack(entry)
    return analysis


def _account_files(run: CheckRun) -> list[str]:
    paths = [p for p in run.tree.files() if _ACCOUNT_FILE.match(PurePosixPath(p).name)]
    # /etc/shadow before its copies: the first file that ships a hash is the finding's path.
    return sorted(paths, key=lambda p: (not p.startswith("/etc/"), len(p), p))


def _parse(path: str, line_no: int, raw: str) -> AccountLine | None:
    text = raw.strip()
    if not text or text.startswith("#"):
        return None
    fields = text.split(":")
    if len(fields) < 2 or not _USER.match(fields[0]):
        return None
    if len(fields) == 7 and fields[2].isdigit() and fields[3].isdigit():
        return AccountLine(
            path, line_no, text, fields[0], fields[1], uid=int(fields[2]), shell=fields[6]
        )
    if len(fields) <= 9 and all(f == "" or f.lstrip("-").isdigit() for f in fields[2:]):
        return AccountLine(path, line_no, text, fields[0], fields[1])
    return None


class _Cracker:
    """Tries the default-credential table against hashes (each distinct hash once)."""

    def __init__(self) -> None:
        table = default_credentials()
        self._all = list(dict.fromkeys(c.password for c in table))
        self._by_user: dict[str, list[str]] = {}
        self._source: dict[tuple[str, str], str] = {}
        for credential in table:
            self._by_user.setdefault(credential.user.lower(), []).append(credential.password)
            self._source.setdefault(
                (credential.user.lower(), credential.password), credential.source
            )
            self._source.setdefault(("", credential.password), credential.source)
        self._done: dict[str, tuple[str | None, int]] = {}

    def crack(self, entry: PasswordHash) -> None:
        verify = self._verifier(entry)
        if verify is None:
            return
        own = [*self._by_user.get(entry.user.lower(), []), entry.user]
        candidates = list(dict.fromkeys([*own, *self._all])) if entry.note is None else own
        if entry.hashed in self._done:
            found, tried = self._done[entry.hashed]
        else:
            found, tried = None, 0
            for candidate in candidates:
                tried += 1
                if verify(candidate):
                    found = candidate
                    break
            self._done[entry.hashed] = (found, tried)
        entry.tried = tried
        if found is not None:
            entry.cracked = found
            entry.cracked_source = self._source.get(
                (entry.user.lower(), found), self._source.get(("", found), "user name")
            )

    def _verifier(self, entry: PasswordHash) -> Callable[[str], bool] | None:
        hashed = entry.hashed
        if entry.scheme == "bcrypt":
            try:
                cost = int(hashed.split("$")[2])
            except (IndexError, ValueError):
                entry.note = "malformed bcrypt hash"
                return None
            if cost > _BCRYPT_COST_MAX:
                entry.note = f"not tried: bcrypt cost {cost}"
                return None
            if cost > _BCRYPT_COST_ALL:
                entry.note = f"bcrypt cost {cost}: tried the user's own defaults only"
            encoded = hashed.encode("ascii", "replace")

            def check_bcrypt(candidate: str) -> bool:
                try:
                    return bcrypt.checkpw(candidate.encode("utf-8")[:72], encoded)
                except ValueError:
                    return False

            return check_bcrypt
        handler: Any = {
            "des-crypt": des_crypt,
            "md5-crypt": md5_crypt,
            "sha256-crypt": sha256_crypt,
            "sha512-crypt": sha512_crypt,
        }.get(entry.scheme)
        if handler is None:
            entry.note = f"not tried: {entry.scheme} is not supported"
            return None
        if entry.scheme in ("sha256-crypt", "sha512-crypt"):
            rounds_match = re.match(r"\$[56]\$rounds=(\d+)\$", hashed)
            rounds = int(rounds_match.group(1)) if rounds_match else 5000
            if rounds > _SHA_ROUNDS_MAX:
                entry.note = f"not tried: {rounds} rounds"
                return None
            if rounds > _SHA_ROUNDS_ALL:
                entry.note = f"{rounds} rounds: tried the user's own defaults only"
        try:
            handler.from_string(hashed)
        except (ValueError, TypeError):
            entry.note = f"malformed {entry.scheme} hash"
            return None

        def check_crypt(candidate: str) -> bool:
            try:
                return bool(handler.verify(candidate, hashed))
            except (ValueError, TypeError):
                return False

        return check_crypt


def _masked(line: AccountLine) -> str:
    fields = line.text.split(":")
    fields[1] = abbreviate_hash(fields[1])
    return ":".join(fields)


def _where(entry: PasswordHash) -> dict[str, Any]:
    first = entry.lines[0]
    return {
        "user": entry.user,
        "scheme": entry.scheme,
        "line": first.line_no,
        "also_in": sorted({line.path for line in entry.lines[1:]} - {first.path}),
    }


class AccountsCheck(FirmwareCheck):
    name = "accounts"
    title = "Accounts and password hashes"
    description = (
        "Reads passwd and shadow files (and their backup and vendor copies), tries every "
        "password hash against the default-credential list, and reports empty passwords, "
        "extra UID 0 accounts, weak hash schemes and fixed hashes shared by every unit."
    )
    finding_ids = (ID_DEFAULT, ID_EMPTY, ID_UID0, ID_SHARED, ID_WEAK_HASH)
    capabilities = (
        CAP_UNIQUE_CREDENTIALS,
        CAP_STRONG_AUTHENTICATION,
        CAP_LEAST_PRIVILEGE,
        CAP_SECURE_STORAGE_OF_SECRETS,
    )
    looks_at = (
        "/etc/passwd",
        "/etc/shadow",
        "passwd-",
        "shadow-",
        "*.bak",
        "/etc/config/*passwd*",
        "/etc_ro/passwd",
        "/etc/passwd.default",
    )

    def run(self, run: CheckRun) -> CheckOutput:
        analysis = run.shared("accounts", analyse_accounts)
        output = CheckOutput(facts={"files": list(analysis.files)})
        for entry in analysis.passwords:
            output.findings.extend(self._password_findings(analysis, entry))
        for user, line in analysis.uid0.items():
            output.findings.append(
                Finding(
                    id=ID_UID0,
                    title=f"Account '{user}' has UID 0 (root privileges)",
                    severity=Severity.HIGH,
                    path=line.path,
                    evidence=_masked(line),
                    remediation=(
                        "Give every account other than root its own non-zero UID; run services "
                        "with the least privilege they need."
                    ),
                    capabilities=(CAP_LEAST_PRIVILEGE,),
                    details={"user": user, "line": line.line_no},
                )
            )
        return output

    def _password_findings(self, analysis: AccountAnalysis, entry: PasswordHash) -> list[Finding]:
        first = entry.lines[0]
        login = analysis.has_login_shell(entry.user)
        details = _where(entry)
        findings: list[Finding] = []
        if entry.scheme == "empty":
            findings.append(
                Finding(
                    id=ID_EMPTY,
                    title=f"Account '{entry.user}' has no password"
                    + (" and a login shell" if login else ""),
                    severity=Severity.CRITICAL if login else Severity.MEDIUM,
                    path=first.path,
                    evidence=first.text,
                    remediation=(
                        "Lock the account ('*' or '!' in the password field) or have a unique "
                        "password set per device at first use."
                    ),
                    capabilities=(CAP_UNIQUE_CREDENTIALS, CAP_STRONG_AUTHENTICATION),
                    details={**details, "login_shell": login},
                )
            )
            return findings
        if entry.cracked is not None:
            shown = entry.cracked if entry.cracked else "(empty)"
            findings.append(
                Finding(
                    id=ID_DEFAULT,
                    title=f"Account '{entry.user}' has the default password '{shown}'",
                    severity=Severity.CRITICAL if login else Severity.HIGH,
                    path=first.path,
                    evidence=_masked(first),
                    remediation=(
                        "Do not ship a password: lock the account, or generate a unique "
                        "password per device (printed on the label) or force one at first use."
                    ),
                    capabilities=(CAP_UNIQUE_CREDENTIALS, CAP_STRONG_AUTHENTICATION),
                    details={
                        **details,
                        "password": entry.cracked,
                        "source": entry.cracked_source,
                        "login_shell": login,
                    },
                )
            )
        else:
            findings.append(
                Finding(
                    id=ID_SHARED,
                    title=f"Fixed password hash for '{entry.user}': every unit shares it",
                    severity=Severity.HIGH if login else Severity.MEDIUM,
                    path=first.path,
                    evidence=_masked(first),
                    remediation=(
                        "Do not ship a password hash in the image: lock the account, or set a "
                        "unique password per device at manufacturing or first use."
                    ),
                    capabilities=(CAP_UNIQUE_CREDENTIALS,),
                    details={
                        **details,
                        "tried": entry.tried,
                        "note": entry.note,
                        "login_shell": login,
                    },
                )
            )
        if entry.scheme in ("des-crypt", "md5-crypt", "bsdi-crypt", "apr1", "sun-md5"):
            findings.append(
                Finding(
                    id=ID_WEAK_HASH,
                    title=f"Password of '{entry.user}' is stored with weak {entry.scheme}",
                    severity=Severity.MEDIUM,
                    path=first.path,
                    evidence=_masked(first),
                    remediation=(
                        "Store passwords with a slow modern scheme (yescrypt, bcrypt or "
                        "SHA-512 crypt with many rounds); DES crypt keeps only 8 characters."
                    ),
                    capabilities=(CAP_SECURE_STORAGE_OF_SECRETS,),
                    details=details,
                )
            )
        return findings
