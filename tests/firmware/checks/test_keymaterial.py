"""find_key_material: PEM, OpenSSH and DER keys and certificates, found by content alone."""

from __future__ import annotations

import base64
import datetime as dt
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from iotwarden.firmware.checks import KeyKind, KeyMaterial, find_key_material
from tests.firmware import binaries
from tests.firmware.rootfs import (
    certificate,
    der_certificate,
    der_private,
    ec_key,
    pem_certificate,
    pem_private,
    public_sha256,
    rsa_key,
    sha1_signed,
)

RSA_1024 = rsa_key(1024)
RSA_2048 = rsa_key(2048)
EC_256 = ec_key()


@pytest.mark.parametrize(
    ("key", "fmt", "label", "algorithm", "size"),
    [
        (RSA_1024, "traditional", "RSA PRIVATE KEY", "rsa", 1024),
        (RSA_2048, "pkcs8", "PRIVATE KEY", "rsa", 2048),
        (EC_256, "traditional", "EC PRIVATE KEY", "ec", 256),
        (EC_256, "openssh", "OPENSSH PRIVATE KEY", "ec", 256),
    ],
)
def test_pem_private_keys(key: object, fmt: str, label: str, algorithm: str, size: int) -> None:
    blob = b"# vendor key\n" + pem_private(key, fmt) + b"trailer\n"
    (found,) = find_key_material(blob)
    assert found.kind is KeyKind.PRIVATE_KEY and found.label == label
    assert (found.algorithm, found.key_size) == (algorithm, size)
    assert found.public_key_sha256 == public_sha256(key)
    assert found.offset == len(b"# vendor key\n")


def test_encrypted_pem_key_is_reported_without_its_size() -> None:
    (found,) = find_key_material(pem_private(RSA_2048, "encrypted"))
    assert found.kind is KeyKind.PRIVATE_KEY and found.encrypted is True
    assert found.algorithm is None


def test_der_keys_and_certificate_inside_a_binary() -> None:
    cert = certificate(EC_256, "camera.example")
    blob = (
        os.urandom(300)
        + der_private(RSA_1024, "pkcs8")
        + b"\x00" * 17
        + der_private(RSA_2048, "traditional")
        + os.urandom(50)
        + der_private(EC_256, "pkcs8")
        + der_certificate(cert)
        + os.urandom(100)
    )
    found = find_key_material(blob)
    kinds = [(k.kind, k.algorithm, k.key_size) for k in found]
    assert kinds == [
        (KeyKind.PRIVATE_KEY, "rsa", 1024),
        (KeyKind.PRIVATE_KEY, "rsa", 2048),
        (KeyKind.PRIVATE_KEY, "ec", 256),
        (KeyKind.CERTIFICATE, "ec", 256),
    ]
    assert found[0].offset == 300 and found[0].encoding == "der"
    assert found[3].subject == "CN=camera.example" and found[3].self_signed is True


def test_certificate_facts() -> None:
    expired = certificate(RSA_2048, "old.example", expired=True)
    legacy = sha1_signed(RSA_1024)
    issued = certificate(ec_key(ec.SECP384R1()), "leaf.example", issuer_key=RSA_2048)
    blob = pem_certificate(expired) + pem_certificate(legacy) + pem_certificate(issued)
    old, sha1, leaf = find_key_material(blob)
    assert old.not_after is not None
    assert dt.datetime.fromisoformat(old.not_after) < dt.datetime.now(dt.UTC)
    assert old.signature_hash == "sha256" and old.self_signed is True and old.is_ca is False
    assert sha1.signature_hash == "sha1" and sha1.self_signed is False
    assert sha1.issuer == "CN=Legacy CA"
    assert (leaf.algorithm, leaf.key_size, leaf.curve) == ("ec", 384, "secp384r1")
    assert leaf.self_signed is False
    assert leaf.public_key_sha256 is not None and len(leaf.fingerprint_sha256 or "") == 64


def test_public_keys_are_found_as_such() -> None:
    from cryptography.hazmat.primitives import serialization

    pem = EC_256.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (found,) = find_key_material(pem)
    assert found.kind is KeyKind.PUBLIC_KEY and found.public_key_sha256 == public_sha256(EC_256)


def test_garbage_and_damaged_blocks() -> None:
    assert find_key_material(os.urandom(200_000)) == ()
    # Base64 that is no key (a key cut short, or scrambled): still a private key, unparsed.
    body = base64.encodebytes(der_private(RSA_1024)[:200])
    damaged = b"-----BEGIN RSA PRIVATE KEY-----\n" + body + b"-----END RSA PRIVATE KEY-----\n"
    (found,) = find_key_material(damaged)
    assert found.kind is KeyKind.PRIVATE_KEY and found.error is not None
    # Truncated DER: the announced length runs past the end of the file.
    assert find_key_material(der_private(RSA_2048)[:-40]) == ()


def test_hostile_pem_markers() -> None:
    # BEGIN lines without END lines, in bulk: bounded work, nothing found.
    assert find_key_material(b"-----BEGIN CERTIFICATE-----\n" * 50_000) == ()
    # An unknown armour is not key material; a PGP private key is, even unparsed.
    pgp = (
        b"-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v1\n\n"
        + base64.encodebytes(b"\x95\x03\x98\x04" + bytes(range(120)))
        + b"=twTO\n-----END PGP PRIVATE KEY BLOCK-----\n"
    )
    other = b"-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n"
    (found,) = find_key_material(other + pgp)
    assert found.kind is KeyKind.PRIVATE_KEY and found.label == "PGP PRIVATE KEY BLOCK"
    assert found.offset == len(other) and found.error is not None


def test_round_trip() -> None:
    for item in find_key_material(pem_private(EC_256) + pem_certificate(sha1_signed(RSA_1024))):
        assert KeyMaterial.from_dict(item.to_dict()) == item


# Dropbear's keyimport.c keeps the PEM markers as format strings; Debian's dropbearconvert
# carries them in .rodata in this order, with the program's messages in between (one literal
# with NUL separators keeps gcc from reordering them).
DROPBEAR_TEMPLATES = "\0".join(
    [
        "-----BEGIN DSA PRIVATE KEY-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\n",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n",
        "Encrypted keys are not supported. Please convert with ssh-keygen first",
        "Error: Unrecognised key type",
        "-----END DSA PRIVATE KEY-----\n",
        "-----END RSA PRIVATE KEY-----\n",
        "-----END OPENSSH PRIVATE KEY-----\n",
    ]
)


def test_pem_markers_kept_as_templates_in_a_program_are_no_key(tmp_path: Path) -> None:
    binaries.tool_or_skip("gcc")
    program = binaries.compile_program([DROPBEAR_TEMPLATES], tmp_path / "dropbearconvert")
    data = program.read_bytes()
    begin = data.find(b"-----BEGIN DSA PRIVATE KEY-----\n")
    assert 0 < begin < data.find(b"-----END DSA PRIVATE KEY-----\n")
    assert find_key_material(data) == ()


def test_marker_pairs_without_a_base64_body_are_no_key() -> None:
    no_body = b"-----BEGIN RSA PRIVATE KEY-----\n\x00-----END RSA PRIVATE KEY-----\n\x00"
    placeholder = (
        b"-----BEGIN PRIVATE KEY-----\n<paste the device key here>\n-----END PRIVATE KEY-----\n"
    )
    # Base64 text, but too short to hold any key or certificate.
    short = (
        b"-----BEGIN CERTIFICATE-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOC\n-----END CERTIFICATE-----\n"
    )
    assert find_key_material(no_body + placeholder + short) == ()


def test_a_template_before_a_real_key_does_not_hide_it() -> None:
    template = b"-----BEGIN EC PRIVATE KEY-----\n\x00usage: keytool [-f file]\x00"
    (found,) = find_key_material(template + pem_private(EC_256))
    assert found.offset == len(template) and found.error is None
    assert (found.algorithm, found.key_size) == ("ec", 256)


def test_keys_with_pem_headers_and_keys_inside_json_strings() -> None:
    from cryptography.hazmat.primitives import serialization

    encrypted = RSA_1024.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(b"vendor"),
    )
    assert b"Proc-Type: 4,ENCRYPTED" in encrypted
    escaped = pem_private(EC_256).replace(b"\n", b"\\n")
    config = b'{"cloud": {"key": "' + escaped + b'"}}\n'
    first, second = find_key_material(encrypted + config)
    assert (first.label, first.encrypted, first.error) == ("RSA PRIVATE KEY", True, None)
    assert (second.algorithm, second.public_key_sha256) == ("ec", public_sha256(EC_256))
    assert second.offset == len(encrypted) + len(b'{"cloud": {"key": "')
