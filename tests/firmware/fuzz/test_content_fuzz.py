"""Property tests: the content scanners every extracted file goes through, on damaged input.

``find_key_material`` (PEM, OpenSSH and DER keys and certificates) and ``scan_content``
(component signatures, kernel banners behind uImage and bzImage headers) run on every file
of every image; a damaged key, certificate or kernel must give a result (or nothing), never
an exception, in bounded time, and what they report must point into the file.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import struct
import zlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
from hypothesis import example, given
from hypothesis import strategies as st

from iotwarden.firmware.checks.facts import KeyKind, KeyMaterial
from iotwarden.firmware.checks.keymaterial import find_key_material
from iotwarden.firmware.identify.scanner import SignatureHit, scan_content
from tests.firmware import binaries, images
from tests.firmware.fuzz.mutations import FUZZ, mutations, time_limit, words


def _certificate(
    public: ec.EllipticCurvePublicKey, signer: ed25519.Ed25519PrivateKey
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "router.local")])
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .sign(signer, None)
    )


@functools.cache
def key_blob() -> bytes:
    """A firmware-like file: an EC private key (PEM), a self-signed certificate (PEM and
    DER), an OpenSSH Ed25519 key, with binary filler between them."""
    # Fixed keys and Ed25519 signatures (deterministic): the same bytes on every run, so a
    # derandomized example always damages the same place.
    key = ec.derive_private_key(0x1D0C0FFEE, ec.SECP256R1())
    signer = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    certificate = _certificate(key.public_key(), signer)
    ssh = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32)).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    filler = bytes(range(256))
    return b"".join(
        (
            filler,
            pem_key,
            filler,
            certificate.public_bytes(serialization.Encoding.PEM),
            filler,
            certificate.public_bytes(serialization.Encoding.DER),
            filler,
            ssh,
        )
    )


def _check_keys(data: bytes) -> tuple[KeyMaterial, ...]:
    with time_limit(10):
        found = find_key_material(data)
    offsets = [item.offset for item in found]
    assert offsets == sorted(offsets)
    assert all(0 <= offset < len(data) for offset in offsets)
    return found


def test_key_seed_is_found_whole() -> None:
    kinds = [(item.kind, item.encoding, item.error) for item in _check_keys(key_blob())]
    assert kinds == [
        (KeyKind.PRIVATE_KEY, "pem", None),
        (KeyKind.CERTIFICATE, "pem", None),
        (KeyKind.CERTIFICATE, "der", None),
        (KeyKind.PRIVATE_KEY, "openssh", None),
    ]


@FUZZ
@given(data=st.data())
def test_damaged_keys_and_certificates_never_raise(data: st.DataObject) -> None:
    blob = key_blob()
    _check_keys(
        data.draw(st.one_of(mutations(len(blob)), words(len(blob), hot=len(blob)))).apply(blob)
    )


@FUZZ
@given(
    st.lists(
        st.sampled_from(
            [
                b"-----BEGIN CERTIFICATE-----\n",
                b"-----END CERTIFICATE-----\n",
                b"-----BEGIN RSA PRIVATE KEY-----\n",
                b"Proc-Type: 4,ENCRYPTED\n",
                b"MIIB",
                b"A" * 64 + b"\n",
                b"\\n",
                b"\n",
                b"\x30\x82\xff\xff",
                b"\x02\x01\x00\x02\x82",
                b"\x30\x81\x20\x02\x01\x01\x04\x20",
            ]
        ),
        max_size=30,
    ).map(b"".join)
)
def test_pem_and_der_shapes_in_any_order(text: bytes) -> None:
    """Markers, headers and DER shapes in any order and number: what a decoy or a crafted
    file holds."""
    for item in _check_keys(text):
        assert item.error is not None or item.algorithm is not None


def kernel_uimage() -> bytes:
    kernel = b"\0" * 64 + b"Linux version 4.14.221 (builder@host) (gcc 7.5.0) #0 SMP\n" + bytes(512)
    return binaries.kernel_uimage(kernel, comp="gzip")


SCANNER_SEEDS = {
    "uimage-gzip": kernel_uimage(),
    "uimage-plain": images.uimage(b"OpenSSL 1.0.2k  26 Jan 2017\0BusyBox v1.24.1 (2016)\0"),
    "bzimage": binaries.bzimage("5.10.0-20-amd64 (debian-kernel@lists.debian.org) #1 SMP"),
}


def _check_scan(data: bytes) -> tuple[SignatureHit, ...]:
    with time_limit(10):
        hits = scan_content(data)
    for hit in hits:
        assert SignatureHit.from_dict(hit.to_dict()) == hit
        assert hit.offset >= 0
    assert len({(hit.signature, hit.version) for hit in hits}) == len(hits)
    return hits


def test_scanner_seeds_give_their_versions() -> None:
    found = {
        name: {(h.signature, h.version) for h in _check_scan(seed)}
        for name, seed in SCANNER_SEEDS.items()
    }
    assert ("linux_kernel", "4.14.221") in found["uimage-gzip"]
    assert ("linux_kernel", "5.10.0") in found["bzimage"]
    assert {("openssl", "1.0.2k"), ("busybox", "1.24.1")} <= found["uimage-plain"]


@FUZZ
@given(st.sampled_from(sorted(SCANNER_SEEDS)), st.data())
def test_damaged_kernels_and_banners_never_raise(name: str, data: st.DataObject) -> None:
    seed = SCANNER_SEEDS[name]
    hot = 0x210 if name == "bzimage" else 64
    mutation = data.draw(st.one_of(mutations(len(seed), hot=hot), words(len(seed), hot=hot)))
    _check_scan(mutation.apply(seed))


@FUZZ
@given(st.binary(max_size=2048))
@example(b"\x27\x05\x19\x56" + bytes(8) + b"\xff\xff\xff\xff" + bytes(15) + b"\x01" + bytes(40))
@example(bytes(0x202) + b"HdrS" + bytes(8) + b"\xff\xff" + bytes(16))
def test_anything_scans(data: bytes) -> None:
    _check_scan(data)


def test_uimage_payload_size_larger_than_the_file() -> None:
    """The uImage size field is read as a bound, never trusted: a 4 GiB claim on a 2 KiB
    file decompresses what is there."""
    seed = bytearray(kernel_uimage())
    seed[12:16] = struct.pack(">I", 0xFFFFFFFF)
    seed[4:8] = bytes(4)
    seed[4:8] = zlib.crc32(bytes(seed[:64])).to_bytes(4, "big")
    hits = _check_scan(bytes(seed))
    assert ("linux_kernel", "4.14.221") in {(h.signature, h.version) for h in hits}


def test_certificate_with_a_damaged_curve_oid() -> None:
    """One flipped byte in a certificate's curve OID (P-256 -> an unknown curve): the public
    key raised UnsupportedAlgorithm out of find_key_material. Found by the property above."""
    key = ec.derive_private_key(0x1D0C0FFEE, ec.SECP256R1())
    signer = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    der = _certificate(key.public_key(), signer).public_bytes(serialization.Encoding.DER)
    p256 = bytes.fromhex("06082a8648ce3d030107")
    assert der.count(p256) == 1
    damaged = der.replace(p256, p256[:-1] + b"\x2b")
    pem = (
        b"-----BEGIN CERTIFICATE-----\n"
        + base64.encodebytes(damaged)
        + b"-----END CERTIFICATE-----\n"
    )
    for data in (pem, damaged):
        (found,) = _check_keys(data)
        assert found.kind is KeyKind.CERTIFICATE and found.subject == "CN=router.local"
        assert found.algorithm == "unknown" and "not supported" in (found.error or "")
