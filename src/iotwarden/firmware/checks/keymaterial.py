"""Private keys, certificates and public keys in a file's content (PEM, OpenSSH and DER).

Content-only, so the analysis can cache it by hash. DER is found by the ASN.1 shapes that
start a certificate or a private key and confirmed by parsing with ``cryptography``; the
number of candidates tried per file is bounded so a large binary cannot stall the scan.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.x509.oid import NameOID

from iotwarden.firmware.checks.facts import KeyKind, KeyMaterial

#: At most this many DER candidates are parsed per file.
MAX_DER_CANDIDATES = 512
#: At most this many PEM blocks are parsed per file (a CA bundle has a few hundred).
MAX_PEM_BLOCKS = 2048

_PEM_BEGIN = re.compile(rb"-----BEGIN (?P<label>[A-Z0-9 ]{1,40})-----")
#: A PEM block's END marker must follow within this many bytes (a 16k-bit RSA key is ~12 KB).
_PEM_MAX_BODY = 65536
#: Base64 characters a PEM body needs to hold anything we report: the smallest is an Ed25519
#: SubjectPublicKeyInfo (44 bytes, 60 characters); an Ed25519 PKCS#8 key takes 64.
MIN_PEM_BODY_CHARS = 60
# RFC 1421 headers (Proc-Type, DEK-Info) or OpenPGP armour headers (Version, Comment), ended
# by a blank line, may come before the base64 text.
_PEM_HEADERS = re.compile(
    rb"[ \t]*\r?\n(?:[A-Za-z][A-Za-z0-9-]{0,63}:[^\r\n]{0,1024}\r?\n"
    rb"(?:[ \t][^\r\n]{0,1024}\r?\n)*)+[ \t]*\r?\n"
)
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/=\s]*")
_WHITESPACE = b" \t\r\n\x0b\x0c"
_PRIVATE_LABELS = {
    b"PRIVATE KEY",
    b"RSA PRIVATE KEY",
    b"EC PRIVATE KEY",
    b"DSA PRIVATE KEY",
    b"ENCRYPTED PRIVATE KEY",
    b"OPENSSH PRIVATE KEY",
    b"ANY PRIVATE KEY",
    b"PGP PRIVATE KEY BLOCK",  # not parsed here, but a private key all the same
}
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}
_PUBLIC_LABELS = {b"PUBLIC KEY", b"RSA PUBLIC KEY"}
_KNOWN_LABELS = _PRIVATE_LABELS | _CERT_LABELS | _PUBLIC_LABELS

# DER shapes (SEQUENCE with a long-form length, then):
#  certificate:       SEQUENCE (tbsCertificate) ...
#  PKCS#1 RSA key:    INTEGER 0, INTEGER (modulus, long form)
#  PKCS#8 key:        INTEGER 0, SEQUENCE (AlgorithmIdentifier) starting with an OID
#  SEC1 EC key:       INTEGER 1, OCTET STRING (private value, 20..66 bytes)
_DER = re.compile(
    rb"\x30(?:\x82..|\x81.)(?:\x30\x82..\xa0\x03\x02\x01|\x30\x81.\xa0\x03\x02\x01"
    rb"|\x02\x01\x00\x02[\x81\x82]|\x02\x01\x00\x30.\x06|\x02\x01\x01\x04[\x14-\x42])"
    rb"|\x30[\x20-\x7f]\x02\x01\x01\x04[\x14-\x42]|\x30[\x20-\x7f]\x02\x01\x00\x30.\x06",
    re.DOTALL,
)


def find_key_material(data: bytes) -> tuple[KeyMaterial, ...]:
    """Every key and certificate in ``data``, in file order."""
    found: list[KeyMaterial] = []
    if b"-----BEGIN " in data:
        # Markers are counted, not blocks: a file of BEGIN lines without END lines must not
        # cost a 64 KiB search each, without limit.
        for count, match in enumerate(_PEM_BEGIN.finditer(data)):
            if count >= MAX_PEM_BLOCKS:
                break
            label = match.group("label")
            if label not in _KNOWN_LABELS:
                continue
            end_marker = b"-----END " + label + b"-----"
            end = data.find(end_marker, match.end(), match.end() + _PEM_MAX_BODY)
            if end < 0:
                continue
            # A program keeps the markers as templates with other strings between them
            # (dropbear's keyimport.c): only base64 text between the markers is a key.
            if not _is_base64_body(data[match.end() : end]):
                continue
            block = _unescaped(data[match.start() : end + len(end_marker)])
            item = _from_pem(label, block, match.start())
            if item is not None:
                found.append(item)
    found.extend(_find_der(data))
    found.sort(key=lambda item: item.offset)
    return tuple(found)


# -- PEM ---------------------------------------------------------------------------------
def _unescaped(text: bytes) -> bytes:
    """A key kept in a JSON, JavaScript or YAML string has its line breaks written as '\\n'
    escapes: they are line breaks."""
    if b"\\" not in text:
        return text
    return text.replace(b"\\r", b"\r").replace(b"\\n", b"\n")


def _is_base64_body(body: bytes) -> bool:
    """Whether the text between a BEGIN and an END marker can be a PEM body: optional headers,
    then only base64 text, long enough to hold a key or a certificate."""
    body = _unescaped(body)
    headers = _PEM_HEADERS.match(body)
    if headers is not None:
        body = body[headers.end() :]
    if _BASE64_TEXT.fullmatch(body) is None:
        return False
    return len(body.translate(None, _WHITESPACE)) >= MIN_PEM_BODY_CHARS


def _from_pem(label: bytes, block: bytes, offset: int) -> KeyMaterial | None:
    text_label = label.decode("ascii")
    if label in _CERT_LABELS:
        try:
            certificate = x509.load_pem_x509_certificate(_normal_pem(block, b"CERTIFICATE"))
        except ValueError as error:
            return KeyMaterial(KeyKind.CERTIFICATE, "pem", offset, text_label, error=_brief(error))
        return _certificate_material(certificate, "pem", offset, text_label)
    if label in _PRIVATE_LABELS:
        return _private_from_pem(label, block, offset)
    if label in _PUBLIC_LABELS:
        try:
            public = serialization.load_pem_public_key(block)
        except (ValueError, TypeError) as error:
            return KeyMaterial(KeyKind.PUBLIC_KEY, "pem", offset, text_label, error=_brief(error))
        return KeyMaterial(KeyKind.PUBLIC_KEY, "pem", offset, text_label, **_public_facts(public))
    return None


def _normal_pem(block: bytes, label: bytes) -> bytes:
    """A 'TRUSTED CERTIFICATE' or 'X509 CERTIFICATE' block re-labelled so it loads (OpenSSL's
    trusted form carries trust settings after the certificate, which DER loading ignores)."""
    if block.startswith(b"-----BEGIN " + label + b"-----"):
        return block
    body = block.split(b"-----")[2]
    try:
        der = base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        return block
    length = _der_length(der, 0)
    if length is not None:
        der = der[:length]
    wrapped = base64.encodebytes(der)
    return b"-----BEGIN " + label + b"-----\n" + wrapped + b"-----END " + label + b"-----\n"


def _private_from_pem(label: bytes, block: bytes, offset: int) -> KeyMaterial:
    text_label = label.decode("ascii")
    encrypted = label == b"ENCRYPTED PRIVATE KEY" or b"Proc-Type: 4,ENCRYPTED" in block
    try:
        if label == b"OPENSSH PRIVATE KEY":
            key: Any = serialization.load_ssh_private_key(block, password=None)
            encoding = "openssh"
        else:
            key = serialization.load_pem_private_key(block, password=None)
            encoding = "pem"
    except TypeError:
        # "Password was not given but private key is encrypted"
        encoding = "openssh" if label == b"OPENSSH PRIVATE KEY" else "pem"
        return KeyMaterial(KeyKind.PRIVATE_KEY, encoding, offset, text_label, encrypted=True)
    except (ValueError, binascii.Error) as error:
        return KeyMaterial(
            KeyKind.PRIVATE_KEY, "pem", offset, text_label, encrypted=encrypted,
            error=_brief(error),
        )  # fmt: skip
    except Exception as error:  # noqa: BLE001 - unsupported algorithms raise their own types
        return KeyMaterial(KeyKind.PRIVATE_KEY, "pem", offset, text_label, error=_brief(error))
    return KeyMaterial(
        KeyKind.PRIVATE_KEY, encoding, offset, text_label, **_public_facts(key.public_key())
    )


# -- DER ---------------------------------------------------------------------------------
def _find_der(data: bytes) -> list[KeyMaterial]:
    found: list[KeyMaterial] = []
    next_free = 0
    for count, match in enumerate(_DER.finditer(data)):
        if count >= MAX_DER_CANDIDATES:
            break
        start = match.start()
        if start < next_free:
            continue  # inside material already found (a certificate's inner SEQUENCE)
        length = _der_length(data, start)
        if length is None or start + length > len(data):
            continue
        item = _from_der(data[start : start + length], start)
        if item is not None:
            found.append(item)
            next_free = start + length
    return found


def _der_length(data: bytes, start: int) -> int | None:
    """Total length (header included) of the DER element at ``start``."""
    if len(data) < start + 2:
        return None
    first = data[start + 1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 3 or len(data) < start + 2 + count:
        return None
    return 2 + count + int.from_bytes(data[start + 2 : start + 2 + count], "big")


def _from_der(element: bytes, offset: int) -> KeyMaterial | None:
    # The shape says which loader can succeed; each failed parse costs little.
    second = element[2:4] if element[1] < 0x80 else element[2 + (element[1] & 0x7F) :][:2]
    if second[:1] == b"\x30":
        try:
            certificate = x509.load_der_x509_certificate(element)
        except ValueError:
            return None
        return _certificate_material(certificate, "der", offset, "")
    try:
        key: Any = serialization.load_der_private_key(element, password=None)
    except (ValueError, TypeError):
        return None
    except Exception:  # noqa: BLE001 - unsupported algorithms raise their own types
        return None
    return KeyMaterial(KeyKind.PRIVATE_KEY, "der", offset, "", **_public_facts(key.public_key()))


# -- facts -------------------------------------------------------------------------------
def _public_facts(public: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if isinstance(public, rsa.RSAPublicKey):
        facts.update(algorithm="rsa", key_size=public.key_size)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        facts.update(algorithm="ec", key_size=public.curve.key_size, curve=public.curve.name)
    elif isinstance(public, dsa.DSAPublicKey):
        facts.update(algorithm="dsa", key_size=public.key_size)
    elif isinstance(public, ed25519.Ed25519PublicKey):
        facts.update(algorithm="ed25519", key_size=256)
    elif isinstance(public, ed448.Ed448PublicKey):
        facts.update(algorithm="ed448", key_size=456)
    elif isinstance(public, x25519.X25519PublicKey):
        facts.update(algorithm="x25519", key_size=256)
    elif isinstance(public, x448.X448PublicKey):
        facts.update(algorithm="x448", key_size=448)
    else:
        facts.update(algorithm="unknown")
    try:
        spki = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        facts["public_key_sha256"] = hashlib.sha256(spki).hexdigest()
    except (ValueError, TypeError):
        pass
    return facts


def _certificate_material(
    certificate: x509.Certificate, encoding: str, offset: int, label: str
) -> KeyMaterial:
    try:
        public_facts = _public_facts(certificate.public_key())
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:  # a damaged curve OID
        public_facts = {"algorithm": "unknown", "error": _brief(error)}
    try:
        hash_algorithm = certificate.signature_hash_algorithm
        signature_hash = hash_algorithm.name if hash_algorithm is not None else None
    except Exception:  # noqa: BLE001 - unknown signature algorithms raise UnsupportedAlgorithm
        signature_hash = "unknown"
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        is_ca: bool | None = constraints.value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    except ValueError:
        is_ca = None
    return KeyMaterial(
        KeyKind.CERTIFICATE,
        encoding,
        offset,
        label,
        subject=_name(certificate.subject),
        issuer=_name(certificate.issuer),
        not_before=_iso(certificate.not_valid_before_utc),
        not_after=_iso(certificate.not_valid_after_utc),
        signature_hash=signature_hash,
        self_signed=_self_signed(certificate),
        is_ca=is_ca,
        fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        **public_facts,
    )


def _self_signed(certificate: x509.Certificate) -> bool:
    if certificate.issuer != certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except Exception:  # noqa: BLE001 - any failure means "not provably self-signed"
        return False
    return True


def _name(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except ValueError:
        common = name.get_attributes_for_oid(NameOID.COMMON_NAME)
        return f"CN={common[0].value!r}" if common else "?"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _brief(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 200 else text[:200] + "..."
