"""Per-file facts the checks read from content alone (ELF hardening, key material).

They depend only on the bytes of one file, so the analysis caches them by content hash
(``CHECKS_VERSION`` is part of the cache key) and hands them back to the tree-level checks.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any


class ElfKind(StrEnum):
    """What an ELF file is, as far as hardening goes."""

    EXECUTABLE = "executable"  # ET_EXEC: fixed address
    PIE_EXECUTABLE = "pie-executable"  # ET_DYN with an interpreter or DF_1_PIE
    SHARED_LIBRARY = "shared-library"  # ET_DYN without interpreter (PIE does not apply)
    RELOCATABLE = "relocatable"  # ET_REL: objects, kernel modules
    OTHER = "other"  # core dumps, unknown types

    @property
    def is_executable(self) -> bool:
        return self in (ElfKind.EXECUTABLE, ElfKind.PIE_EXECUTABLE)


class RelroLevel(StrEnum):
    NONE = "none"
    PARTIAL = "partial"
    FULL = "full"


@dataclass(frozen=True, slots=True)
class ElfFacts:
    """Hardening facts of one ELF file. ``error`` is set (and the rest is partial) when the
    file starts like an ELF but its headers cannot be read."""

    kind: ElfKind
    machine: str = ""
    bits: int = 0
    little_endian: bool = True
    interpreter: str | None = None
    static: bool = False
    #: True: stack not executable; False: PT_GNU_STACK has PF_X or is missing.
    nx: bool = False
    #: Whether a PT_GNU_STACK header exists (without one, most ABIs default to an executable
    #: stack).
    gnu_stack: bool = False
    #: None when PIE does not apply (shared libraries, relocatable objects).
    pie: bool | None = None
    relro: RelroLevel = RelroLevel.NONE
    canary: bool = False
    fortify: bool = False
    fortified: tuple[str, ...] = ()
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    stripped: bool = False
    soname: str | None = None
    needed: tuple[str, ...] = ()
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, StrEnum):
                value = value.value
            data[f.name] = value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ElfFacts:
        return cls(
            kind=ElfKind(data["kind"]),
            machine=data.get("machine", ""),
            bits=int(data.get("bits", 0)),
            little_endian=bool(data.get("little_endian", True)),
            interpreter=data.get("interpreter"),
            static=bool(data.get("static", False)),
            nx=bool(data.get("nx", False)),
            gnu_stack=bool(data.get("gnu_stack", False)),
            pie=data.get("pie"),
            relro=RelroLevel(data.get("relro", "none")),
            canary=bool(data.get("canary", False)),
            fortify=bool(data.get("fortify", False)),
            fortified=tuple(data.get("fortified", ())),
            rpath=tuple(data.get("rpath", ())),
            runpath=tuple(data.get("runpath", ())),
            stripped=bool(data.get("stripped", False)),
            soname=data.get("soname"),
            needed=tuple(data.get("needed", ())),
            error=data.get("error"),
        )


class KeyKind(StrEnum):
    PRIVATE_KEY = "private-key"
    CERTIFICATE = "certificate"
    PUBLIC_KEY = "public-key"


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    """One private key, certificate or public key found in a file's content.

    ``offset`` is where it starts in the file; ``encoding`` is 'pem', 'der' or 'openssh'.
    Algorithm and size are None when the material could not be parsed (an encrypted key,
    a damaged PEM block: ``error`` says which).
    """

    kind: KeyKind
    encoding: str
    offset: int
    label: str = ""
    algorithm: str | None = None
    key_size: int | None = None
    curve: str | None = None
    #: SHA-256 of the DER SubjectPublicKeyInfo: the same key has the same fingerprint in any
    #: encoding and in its certificate.
    public_key_sha256: str | None = None
    encrypted: bool = False
    # Certificates only:
    subject: str | None = None
    issuer: str | None = None
    not_before: str | None = None  # ISO 8601, UTC
    not_after: str | None = None
    signature_hash: str | None = None  # 'sha256', 'sha1', 'md5', None (e.g. Ed25519)
    self_signed: bool | None = None
    is_ca: bool | None = None
    fingerprint_sha256: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            data[f.name] = value.value if isinstance(value, StrEnum) else value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeyMaterial:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["kind"] = KeyKind(data["kind"])
        return cls(**values)
