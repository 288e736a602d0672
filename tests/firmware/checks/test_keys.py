"""The keys check: embedded private keys, weak keys, expired, SHA-1 and self-signed
certificates; public CA bundles are not findings."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from tests.firmware.checks.conftest import Scan, ids
from tests.firmware.rootfs import (
    RootFS,
    ca_bundle,
    certificate,
    der_private,
    ec_key,
    pem_certificate,
    pem_private,
    public_sha256,
    rsa_key,
    sha1_signed,
)


def test_private_key_is_a_finding_with_type_size_and_fingerprint(fs: RootFS, scan: Scan) -> None:
    key = rsa_key(2048)
    fs.file("/etc/ssl/private/device.key", pem_private(key, "pkcs8"))
    fs.file("/etc/lighttpd/server.pem", pem_private(key) + pem_certificate(certificate(key)))
    report = scan(fs)
    (finding,) = [
        f for f in report.findings
        if f.id == "IW-FW-KEY-PRIVATE-KEY" and f.path == "/etc/ssl/private/device.key"
    ]  # fmt: skip
    assert finding.details["algorithm"] == "rsa" and finding.details["key_size"] == 2048
    assert finding.details["public_key_sha256"] == public_sha256(key)
    assert finding.details["also_in"] == ["/etc/lighttpd/server.pem"]
    assert "no-hard-coded-secrets" in finding.capabilities
    assert "unique-credentials" in finding.capabilities
    assert "IW-FW-KEY-WEAK" not in ids(report)
    # The certificate next to its key is self-signed: reported, and said to be paired.
    (self_signed,) = [f for f in report.findings if f.id == "IW-FW-CERT-SELF-SIGNED"]
    assert self_signed.path == "/etc/lighttpd/server.pem"
    assert self_signed.details["private_key_in_file"] is True


def test_weak_keys(fs: RootFS, scan: Scan) -> None:
    fs.file("/etc/dropbear/dropbear_rsa_host_key", der_private(rsa_key(1024), "traditional"))
    fs.file("/etc/ec.key", pem_private(ec_key(ec.SECP192R1())))
    fs.file("/etc/ok.key", pem_private(ec_key(ec.SECP256R1())))
    report = scan(fs)
    weak = {f.path: f for f in report.findings if f.id == "IW-FW-KEY-WEAK"}
    assert set(weak) == {"/etc/dropbear/dropbear_rsa_host_key", "/etc/ec.key"}
    assert weak["/etc/dropbear/dropbear_rsa_host_key"].details["key_size"] == 1024
    assert weak["/etc/ec.key"].details["minimum"] == 224
    assert len([f for f in report.findings if f.id == "IW-FW-KEY-PRIVATE-KEY"]) == 3


def test_expired_and_sha1_certificates(fs: RootFS, scan: Scan) -> None:
    ca = rsa_key(2048)
    fs.file("/etc/certs/expired.crt", pem_certificate(
        certificate(ec_key(), "old.example", issuer_key=ca, expired=True)
    ))  # fmt: skip
    fs.file("/etc/certs/legacy.crt", pem_certificate(sha1_signed(rsa_key(2048))))
    fs.file("/etc/certs/good.crt", pem_certificate(
        certificate(ec_key(), "good.example", issuer_key=ca)
    ))  # fmt: skip
    report = scan(fs)
    assert ids(report, "/etc/certs/expired.crt") == {"IW-FW-CERT-EXPIRED"}
    assert ids(report, "/etc/certs/legacy.crt") == {"IW-FW-CERT-WEAK-SIGNATURE"}
    assert ids(report, "/etc/certs/good.crt") == set()


def test_ca_bundles_and_trust_stores_are_not_findings(fs: RootFS, scan: Scan) -> None:
    fs.file("/etc/ssl/certs/ca-certificates.crt", ca_bundle(5))
    fs.file("/usr/share/ca-certificates/mozilla/Example_Root.crt", ca_bundle(1))
    fs.file("/usr/lib/vendor/cacert.pem", ca_bundle(3))
    report = scan(fs)
    assert {f.id for f in report.findings} <= {"IW-FW-UPDATE-NO-SIGNED-MECHANISM"}
    (keys_attempt,) = [a for a in report.attempts if a.check == "keys"]
    assert len(keys_attempt.facts["ca_bundles"]) == 3
