"""Firmware security checks: accounts and default passwords, hard-coded credentials, keys
and certificates, services started at boot, binary hardening and the update mechanism.

Content-only facts (``inspect_elf``, ``find_key_material``) are cached by the analysis per
file hash under ``CHECKS_VERSION``; ``run_checks`` turns a tree plus those facts into findings.
"""

from __future__ import annotations

from iotwarden.firmware.checks.elf import inspect_elf
from iotwarden.firmware.checks.facts import ElfFacts, ElfKind, KeyKind, KeyMaterial, RelroLevel
from iotwarden.firmware.checks.interface import (
    CHECKS_VERSION,
    AttemptStatus,
    CheckAttempt,
    CheckContext,
    CheckError,
    CheckReport,
    FirmwareCheck,
)
from iotwarden.firmware.checks.keymaterial import find_key_material
from iotwarden.firmware.checks.registry import CHECKS
from iotwarden.firmware.checks.runner import build_context, run_checks

__all__ = [
    "CHECKS",
    "CHECKS_VERSION",
    "AttemptStatus",
    "CheckAttempt",
    "CheckContext",
    "CheckError",
    "CheckReport",
    "ElfFacts",
    "ElfKind",
    "FirmwareCheck",
    "KeyKind",
    "KeyMaterial",
    "RelroLevel",
    "build_context",
    "find_key_material",
    "inspect_elf",
    "run_checks",
]
