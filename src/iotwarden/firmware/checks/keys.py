"""Private keys and certificates shipped in the image (from the content-only key facts).

A private key in a firmware image is, by construction, the same in every unit. Certificates
are checked for expiry, weak signatures, weak keys and self-signing; public CA bundles and
trust stores are recognised and left alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

from iotwarden.firmware.checks.facts import KeyKind, KeyMaterial
from iotwarden.firmware.checks.interface import CheckOutput, CheckRun, FirmwareCheck
from iotwarden.firmware.model import (
    CAP_NO_HARD_CODED_SECRETS,
    CAP_SECURE_COMMUNICATION,
    CAP_SECURE_STORAGE_OF_SECRETS,
    CAP_UNIQUE_CREDENTIALS,
    Finding,
    Severity,
)

ID_PRIVATE_KEY = "IW-FW-KEY-PRIVATE-KEY"
ID_WEAK_KEY = "IW-FW-KEY-WEAK"
ID_CERT_EXPIRED = "IW-FW-CERT-EXPIRED"
ID_CERT_WEAK_SIGNATURE = "IW-FW-CERT-WEAK-SIGNATURE"
ID_CERT_SELF_SIGNED = "IW-FW-CERT-SELF-SIGNED"

#: Minimum key sizes (bits) below which a key is weak (NIST SP 800-57 / 800-131A).
MIN_BITS = {"rsa": 2048, "dsa": 2048, "ec": 224}
_WEAK_HASHES = frozenset({"md5", "sha1", "md2", "md4"})
#: Trust stores: CA certificates here are the device's trust anchors, not its identity.
_TRUST_STORES = (
    "/etc/ssl/certs/",
    "/usr/share/ca-certificates/",
    "/etc/pki/",
    "/usr/lib/ssl/certs/",
    "/etc/ca-certificates/",
    "/usr/local/share/ca-certificates/",
    "/usr/share/pki/",
)
#: A file with at least this many CA certificates and no private key is a CA bundle.
_BUNDLE_MIN = 3


def is_ca_bundle(path: str, items: Sequence[KeyMaterial]) -> bool:
    certificates = [k for k in items if k.kind is KeyKind.CERTIFICATE]
    if any(k.kind is KeyKind.PRIVATE_KEY for k in items) or not certificates:
        return False
    if path.startswith(_TRUST_STORES) and all(c.is_ca or c.self_signed for c in certificates):
        return True
    name = PurePosixPath(path).name.lower()
    return len(certificates) >= _BUNDLE_MIN and (
        all(c.is_ca for c in certificates) or "ca-" in name or "bundle" in name
    )


def _fingerprint_short(value: str | None) -> str:
    return f"SHA256:{value[:16]}…" if value else "unknown"


def _describe_key(item: KeyMaterial) -> str:
    if item.algorithm is None:
        return "encrypted key" if item.encrypted else "unparsed key"
    size = f" {item.key_size}-bit" if item.key_size else ""
    curve = f" ({item.curve})" if item.curve else ""
    return f"{item.algorithm.upper()}{size}{curve}"


class KeysCheck(FirmwareCheck):
    name = "keys"
    title = "Private keys and certificates in the image"
    description = (
        "Reports embedded private keys (PEM, OpenSSH, DER) with type, size and public-key "
        "fingerprint, weak key sizes, and certificates that are expired, weakly signed or "
        "self-signed; public CA bundles are ignored."
    )
    finding_ids = (
        ID_PRIVATE_KEY,
        ID_WEAK_KEY,
        ID_CERT_EXPIRED,
        ID_CERT_WEAK_SIGNATURE,
        ID_CERT_SELF_SIGNED,
    )
    capabilities = (
        CAP_NO_HARD_CODED_SECRETS,
        CAP_UNIQUE_CREDENTIALS,
        CAP_SECURE_STORAGE_OF_SECRETS,
        CAP_SECURE_COMMUNICATION,
    )
    looks_at = ("*.pem", "*.key", "*.crt", "*.der", "/etc/ssl/*", "/etc/dropbear/*", "any file")

    def run(self, run: CheckRun) -> CheckOutput:
        now = dt.datetime.now(dt.UTC)
        output = CheckOutput()
        bundles: list[str] = []
        # Where each private key appears: the same key in several files is one secret.
        key_paths: dict[str, list[str]] = {}
        for path, items in run.context.keys.items():
            for item in items:
                if item.kind is KeyKind.PRIVATE_KEY and item.public_key_sha256:
                    key_paths.setdefault(item.public_key_sha256, []).append(path)
        for path in sorted(run.context.keys):
            items = run.context.keys[path]
            if is_ca_bundle(path, items):
                bundles.append(path)
                continue
            private_fingerprints = {
                k.public_key_sha256 for k in items if k.kind is KeyKind.PRIVATE_KEY
            }
            for item in items:
                if item.kind is KeyKind.PRIVATE_KEY:
                    output.findings.append(self._private_key(path, item, key_paths))
                    output.findings.extend(self._weak_key(path, item))
                elif item.kind is KeyKind.CERTIFICATE:
                    output.findings.extend(self._certificate(path, item, now, private_fingerprints))
        output.facts["ca_bundles"] = bundles
        output.facts["private_keys"] = len(key_paths)
        return output

    @staticmethod
    def _private_key(path: str, item: KeyMaterial, key_paths: dict[str, list[str]]) -> Finding:
        described = _describe_key(item)
        others = sorted(set(key_paths.get(item.public_key_sha256 or "", [])) - {path})
        return Finding(
            id=ID_PRIVATE_KEY,
            title=f"Private key embedded in the image ({described}): every unit has it",
            severity=Severity.HIGH,
            path=path,
            evidence=(
                f"{item.label or item.encoding.upper()} at offset {item.offset}: {described}, "
                f"public key {_fingerprint_short(item.public_key_sha256)}"
                + (
                    " (encrypted; the passphrase must be in the image too)"
                    if item.encrypted
                    else ""
                )
            ),
            remediation=(
                "Generate keys on the device at first boot or inject a unique key per unit at "
                "manufacturing (ideally into secure storage); never ship one in the image."
            ),
            capabilities=(
                CAP_NO_HARD_CODED_SECRETS,
                CAP_UNIQUE_CREDENTIALS,
                CAP_SECURE_STORAGE_OF_SECRETS,
            ),
            details={
                "algorithm": item.algorithm,
                "key_size": item.key_size,
                "curve": item.curve,
                "encoding": item.encoding,
                "offset": item.offset,
                "encrypted": item.encrypted,
                "public_key_sha256": item.public_key_sha256,
                "also_in": others,
                "error": item.error,
            },
        )

    @staticmethod
    def _weak_key(path: str, item: KeyMaterial) -> list[Finding]:
        minimum = MIN_BITS.get(item.algorithm or "")
        if minimum is None or item.key_size is None or item.key_size >= minimum:
            return []
        what = "private key" if item.kind is KeyKind.PRIVATE_KEY else "certificate key"
        return [
            Finding(
                id=ID_WEAK_KEY,
                title=f"Weak {what}: {_describe_key(item)} (minimum {minimum} bits)",
                severity=Severity.MEDIUM,
                path=path,
                evidence=(
                    f"{item.label or item.encoding.upper()} at offset {item.offset}: "
                    f"{_describe_key(item)}" + (f", subject {item.subject}" if item.subject else "")
                ),
                remediation=f"Use RSA of at least 3072 bits, or EC P-256 or stronger "
                f"(never below {minimum} bits for {item.algorithm}).",
                capabilities=(CAP_SECURE_COMMUNICATION,),
                details={
                    "algorithm": item.algorithm,
                    "key_size": item.key_size,
                    "minimum": minimum,
                    "public_key_sha256": item.public_key_sha256,
                    "offset": item.offset,
                },
            )
        ]

    def _certificate(
        self, path: str, item: KeyMaterial, now: dt.datetime, private: set[str | None]
    ) -> list[Finding]:
        if item.error is not None:
            return []
        findings = self._weak_key(path, item)
        trust_anchor = path.startswith(_TRUST_STORES) and bool(item.is_ca)
        if trust_anchor:
            return []
        where = f"{item.label or item.encoding.upper()} at offset {item.offset}: {item.subject}"
        details: dict[str, Any] = {
            "subject": item.subject,
            "issuer": item.issuer,
            "not_before": item.not_before,
            "not_after": item.not_after,
            "signature_hash": item.signature_hash,
            "fingerprint_sha256": item.fingerprint_sha256,
            "public_key_sha256": item.public_key_sha256,
            "offset": item.offset,
        }
        if item.not_after and dt.datetime.fromisoformat(item.not_after) < now:
            findings.append(
                Finding(
                    id=ID_CERT_EXPIRED,
                    title=f"Expired certificate (not after {item.not_after[:10]})",
                    severity=Severity.MEDIUM,
                    path=path,
                    evidence=where,
                    remediation=(
                        "Ship certificates that outlive the product's support period, or "
                        "renew them through the update mechanism."
                    ),
                    capabilities=(CAP_SECURE_COMMUNICATION,),
                    details=details,
                )
            )
        signature_hash = item.signature_hash or ""
        if signature_hash in _WEAK_HASHES and not item.self_signed:
            # A self-signature proves nothing either way; an issuer's signature is relied on.
            findings.append(
                Finding(
                    id=ID_CERT_WEAK_SIGNATURE,
                    title=f"Certificate signed with {signature_hash.upper()}",
                    severity=Severity.MEDIUM,
                    path=path,
                    evidence=where,
                    remediation="Reissue the certificate with a SHA-256 (or stronger) signature.",
                    capabilities=(CAP_SECURE_COMMUNICATION,),
                    details=details,
                )
            )
        if item.self_signed:
            paired = item.public_key_sha256 in private
            findings.append(
                Finding(
                    id=ID_CERT_SELF_SIGNED,
                    title="Self-signed certificate"
                    + (" with its private key in the same file" if paired else ""),
                    severity=Severity.LOW,
                    path=path,
                    evidence=where,
                    remediation=(
                        "Give each device its own certificate (issued at manufacturing or "
                        "first boot) so clients can authenticate it."
                    ),
                    capabilities=(CAP_SECURE_COMMUNICATION, CAP_UNIQUE_CREDENTIALS),
                    details={**details, "private_key_in_file": paired},
                )
            )
        return findings
