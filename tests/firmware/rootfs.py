"""Readable generators of extracted root file systems for the firmware checks' tests.

Everything is built at test time: password hashes with passlib/bcrypt, keys and certificates
with cryptography, ELF binaries with gcc (small C programs written here). No binary blobs.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import subprocess
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from passlib.hash import des_crypt, md5_crypt, sha256_crypt, sha512_crypt


# -- the tree ------------------------------------------------------------------------------
class RootFS:
    """An extracted root file system under ``root``, written with image paths."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def host(self, image_path: str) -> Path:
        return self.root / image_path.lstrip("/")

    def file(self, image_path: str, content: str | bytes, mode: int = 0o644) -> Path:
        path = self.host(image_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
        path.chmod(mode)
        return path

    def script(self, image_path: str, body: str) -> Path:
        """An executable shell script (the shebang is added)."""
        return self.file(image_path, "#!/bin/sh\n" + _dedent(body), mode=0o755)

    def link(self, image_path: str, target: str) -> Path:
        path = self.host(image_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)
        return path

    def busybox_applets(self, *names: str) -> None:
        """/bin/busybox (a placeholder) and applet links to it, as BusyBox images have."""
        if not self.host("/bin/busybox").exists():
            self.file("/bin/busybox", b"BusyBox v1.36.1 placeholder\n", mode=0o755)
        for name in names:
            directory = "/usr/sbin" if name.endswith("d") else "/bin"
            self.link(f"{directory}/{name}", "/bin/busybox")


def _dedent(text: str) -> str:
    lines = text.strip("\n").splitlines()
    indent = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
    return "\n".join(x[indent:] for x in lines) + "\n"


# -- accounts ------------------------------------------------------------------------------
def crypt_hash(password: str, scheme: str) -> str:
    """A crypt(3) hash as /etc/shadow stores it: des, md5, sha256, sha512 (5000 rounds, the
    glibc default) or bcrypt (cost 4 keeps the tests fast)."""
    if scheme == "des":
        return str(des_crypt.hash(password))
    if scheme == "md5":
        return str(md5_crypt.hash(password))
    if scheme == "sha256":
        return str(sha256_crypt.using(rounds=5000).hash(password))
    if scheme == "sha512":
        return str(sha512_crypt.using(rounds=5000).hash(password))
    if scheme in ("bcrypt", "2a", "2b", "2y"):
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        return hashed if scheme in ("bcrypt", "2b") else "$" + scheme + hashed[3:]
    raise ValueError(f"unknown scheme {scheme}")


def strong_password() -> str:
    """A password no default list contains."""
    return "Zq" + secrets.token_urlsafe(18)


@dataclass(frozen=True)
class Account:
    """One account: ``password`` None means locked ('*'), '' means empty."""

    user: str
    password: str | None = None
    scheme: str = "sha512"
    uid: int = 1000
    login_shell: str = "/bin/sh"
    home: str = "/root"

    def password_field(self) -> str:
        if self.password is None:
            return "*"
        if self.password == "" and self.scheme == "plain":
            return ""
        return "" if self.password == "" else crypt_hash(self.password, self.scheme)


def passwd_line(account: Account, password_field: str = "x") -> str:  # noqa: S107
    """A passwd line ('x': the hash is in shadow); the group id is the user id."""
    fields = (account.user, password_field, str(account.uid), str(account.uid), account.user)
    return ":".join((*fields, account.home, account.login_shell))


def shadow_line(user: str, password_field: str) -> str:
    return f"{user}:{password_field}:19000:0:99999:7:::"


def write_accounts(
    fs: RootFS,
    accounts: Iterable[Account],
    passwd: str = "/etc/passwd",  # noqa: S107 - a path
    shadow: str | None = "/etc/shadow",
) -> dict[str, str]:
    """passwd (+ shadow unless None: then hashes go in passwd). Returns user -> hash."""
    fields: dict[str, str] = {}
    passwd_lines, shadow_lines = [], []
    for account in accounts:
        field = account.password_field()
        fields[account.user] = field
        if shadow is None:
            passwd_lines.append(passwd_line(account, field))
        else:
            passwd_lines.append(passwd_line(account))
            shadow_lines.append(shadow_line(account.user, field))
    fs.file(passwd, "\n".join(passwd_lines) + "\n")
    if shadow is not None:
        fs.file(shadow, "\n".join(shadow_lines) + "\n", mode=0o600)
    return fields


# -- keys and certificates -----------------------------------------------------------------
def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def ec_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def pem_private(key: Any, fmt: str = "traditional") -> bytes:
    """PEM private key: 'traditional' (BEGIN RSA/EC PRIVATE KEY), 'pkcs8' (BEGIN PRIVATE KEY),
    'openssh', or 'encrypted' (BEGIN ENCRYPTED PRIVATE KEY)."""
    if fmt == "encrypted":
        return bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"vendor-passphrase"),
            )
        )
    formats = {
        "traditional": serialization.PrivateFormat.TraditionalOpenSSL,
        "pkcs8": serialization.PrivateFormat.PKCS8,
        "openssh": serialization.PrivateFormat.OpenSSH,
    }
    return bytes(
        key.private_bytes(serialization.Encoding.PEM, formats[fmt], serialization.NoEncryption())
    )


def der_private(key: Any, fmt: str = "pkcs8") -> bytes:
    private_format = (
        serialization.PrivateFormat.PKCS8
        if fmt == "pkcs8"
        else serialization.PrivateFormat.TraditionalOpenSSL
    )
    return bytes(
        key.private_bytes(serialization.Encoding.DER, private_format, serialization.NoEncryption())
    )


def public_sha256(key: Any) -> str:
    import hashlib

    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def certificate(
    key: Any,
    common_name: str = "device.example",
    *,
    issuer_key: Any = None,
    issuer_name: str = "Example Vendor CA",
    days: int = 3650,
    expired: bool = False,
    hash_algorithm: hashes.HashAlgorithm | None = None,
    ca: bool = False,
) -> x509.Certificate:
    """A certificate for ``key``: self-signed unless ``issuer_key`` is given."""
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=800) if expired else now - dt.timedelta(days=1)
    end = now - dt.timedelta(days=30) if expired else now + dt.timedelta(days=days)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issuer = (
        subject
        if issuer_key is None
        else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)])
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(issuer_key or key, hash_algorithm or hashes.SHA256())


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        header = bytes([tag, size])
    else:
        length = size.to_bytes((size.bit_length() + 7) // 8, "big")
        header = bytes([tag, 0x80 | len(length)]) + length
    return header + content


_SHA256_WITH_RSA = bytes.fromhex("2a864886f70d01010b")
_SHA1_WITH_RSA = bytes.fromhex("2a864886f70d010105")


def sha1_signed(key: rsa.RSAPrivateKey, common_name: str = "legacy.example") -> x509.Certificate:
    """A certificate signed with SHA-1 by ``key``. cryptography refuses to sign with SHA-1
    any more, so the SHA-256 certificate's to-be-signed part is re-labelled and signed here."""
    from cryptography.hazmat.primitives.asymmetric import padding

    modern = certificate(key, common_name, issuer_key=key, issuer_name="Legacy CA")
    tbs = modern.tbs_certificate_bytes.replace(_SHA256_WITH_RSA, _SHA1_WITH_RSA)
    signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - on purpose
    algorithm = _der(0x30, _der(0x06, _SHA1_WITH_RSA) + b"\x05\x00")
    der = _der(0x30, tbs + algorithm + _der(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)


def pem_certificate(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def der_certificate(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def ca_bundle(count: int = 4) -> bytes:
    """A trust-store style bundle of self-signed CA certificates (small EC keys: fast)."""
    return b"".join(
        pem_certificate(certificate(ec_key(), f"Example Root CA {n}", ca=True))
        for n in range(count)
    )


# -- ELF binaries --------------------------------------------------------------------------
PROGRAM_C = r"""
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    char buffer[64];
    strcpy(buffer, argc > 1 ? argv[1] : "iotwarden");
    printf("%s\n", buffer);
    return (int)strlen(buffer);
}
"""

LIBRARY_C = r"""
#include <string.h>

int vendor_copy(char *out, const char *in) {
    char buffer[32];
    strcpy(buffer, in);
    strcpy(out, buffer);
    return (int)strlen(out);
}
"""

_HARDENED = [
    "-O2", "-D_FORTIFY_SOURCE=2", "-fstack-protector-strong", "-fPIE", "-pie",
    "-Wl,-z,relro,-z,now", "-Wl,-z,noexecstack",
]  # fmt: skip

#: name -> (source, gcc flags). Each variant differs from 'hardened' in one property.
ELF_VARIANTS: dict[str, tuple[str, list[str]]] = {
    "hardened": (PROGRAM_C, _HARDENED),
    "no_canary": (PROGRAM_C, [*_HARDENED, "-fno-stack-protector"]),
    "execstack": (PROGRAM_C, [*_HARDENED, "-Wl,-z,execstack"]),
    "no_pie": (
        PROGRAM_C,
        [f for f in _HARDENED if f not in ("-fPIE", "-pie")] + ["-fno-pie", "-no-pie"],
    ),
    "partial_relro": (
        PROGRAM_C,
        [f for f in _HARDENED if f != "-Wl,-z,relro,-z,now"] + ["-Wl,-z,relro,-z,lazy"],
    ),
    "no_relro": (
        PROGRAM_C,
        [f for f in _HARDENED if f != "-Wl,-z,relro,-z,now"] + ["-Wl,-z,norelro"],
    ),
    "no_fortify": (PROGRAM_C, [f for f in _HARDENED if f != "-D_FORTIFY_SOURCE=2"] + ["-O0"]),
    "rpath": (PROGRAM_C, [*_HARDENED, "-Wl,--disable-new-dtags,-rpath,/tmp/lib"]),
    "runpath_origin": (PROGRAM_C, [*_HARDENED, "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib"]),
    "stripped": (PROGRAM_C, [*_HARDENED, "-s"]),
    "static": (PROGRAM_C, ["-O2", "-static", "-fstack-protector-strong", "-Wl,-z,noexecstack"]),
    "weak": (PROGRAM_C, ["-O0", "-fno-stack-protector", "-fno-pie", "-no-pie", "-Wl,-z,norelro"]),
    "library": (LIBRARY_C, ["-fPIC", "-shared", "-Wl,-soname,libvendor.so.1", *_HARDENED[:3],
                            "-Wl,-z,relro,-z,now", "-Wl,-z,noexecstack"]),
}  # fmt: skip


def require_tool(name: str) -> str:
    """The tool's path; fails under CI=true and skips elsewhere when it is missing."""
    found = shutil.which(name)
    if found:
        return found
    reason = f"{name} is not installed"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def compile_elf(workdir: Path, name: str, source: str, flags: list[str]) -> bytes:
    gcc = require_tool("gcc")
    workdir.mkdir(parents=True, exist_ok=True)
    c_file = workdir / f"{name}.c"
    c_file.write_text(source)
    output = workdir / name
    subprocess.run(
        [gcc, *flags, "-o", str(output), str(c_file)], check=True, capture_output=True, timeout=120
    )
    return output.read_bytes()


def build_elf_variants(workdir: Path) -> dict[str, bytes]:
    """Every ELF_VARIANTS entry compiled (name -> bytes)."""
    return {
        name: compile_elf(workdir, name, source, flags)
        for name, (source, flags) in ELF_VARIANTS.items()
    }


def corrupt_elfs(valid: bytes) -> dict[str, bytes]:
    """ELF files with damaged headers: a truncated header and a program-header offset that
    points past the end of the file."""
    wrong_phoff = bytearray(valid)
    # e_phoff of an ELF64 file is the 8 bytes at offset 0x20.
    wrong_phoff[0x20:0x28] = (len(valid) + 0x100000).to_bytes(8, "little")
    return {"truncated": valid[:30], "wrong_phoff": bytes(wrong_phoff)}


# -- whole trees ---------------------------------------------------------------------------
def clean_rootfs(root: Path, *, signed_updates: bool = True) -> RootFS:
    """A tree with nothing to report: locked root, a getty login on the console, a benign
    init script, a CA bundle, and (unless told otherwise) opkg signature keys."""
    fs = RootFS(root)
    write_accounts(
        fs,
        [
            Account("root", None, uid=0, login_shell="/bin/ash"),
            Account("daemon", None, uid=1, login_shell="/usr/sbin/nologin", home="/"),
            Account("nobody", None, uid=65534, login_shell="/bin/false", home="/nonexistent"),
        ],
    )
    fs.file(
        "/etc/inittab",
        "::sysinit:/etc/init.d/rcS\n"
        "ttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100\n"
        "::shutdown:/bin/umount -a -r\n",
    )
    fs.script(
        "/etc/init.d/rcS",
        """
        # Start all init scripts in /etc/init.d
        for i in /etc/init.d/S??* ; do
            [ -x "$i" ] && $i start
        done
        """,
    )
    fs.script(
        "/etc/init.d/S40network",
        """
        case "$1" in
          start) ifconfig lo 127.0.0.1 up; udhcpc -i eth0 -b ;;
          stop) killall telnetd udhcpc ;;
        esac
        """,
    )
    fs.file("/etc/ssl/certs/ca-certificates.crt", ca_bundle())
    fs.file("/etc/hostname", "device\n")
    fs.file("/etc/profile", 'export PATH="/usr/bin:/usr/sbin:/bin:/sbin"\nPS1="# "\n')
    if signed_updates:
        fs.file("/etc/opkg.conf", "dest root /\noption check_signature\n")
        usign_key = "untrusted comment: public key b5043e70f9a75cde\nRWS1BD5w+adc3j\n"
        fs.file("/etc/opkg/keys/b5043e70f9a75cde", usign_key)
    return fs
