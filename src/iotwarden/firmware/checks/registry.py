"""The registered firmware checks, in the order they run (a test requires each one to have a
test case)."""

from __future__ import annotations

from iotwarden.firmware.checks.accounts import AccountsCheck
from iotwarden.firmware.checks.credentials import CredentialsCheck
from iotwarden.firmware.checks.hardening import HardeningCheck
from iotwarden.firmware.checks.interface import FirmwareCheck
from iotwarden.firmware.checks.keys import KeysCheck
from iotwarden.firmware.checks.remote_login import RemoteLoginCheck
from iotwarden.firmware.checks.services import ServicesCheck
from iotwarden.firmware.checks.updates import UpdatesCheck

CHECKS: tuple[type[FirmwareCheck], ...] = (
    AccountsCheck,
    CredentialsCheck,
    KeysCheck,
    ServicesCheck,
    RemoteLoginCheck,
    HardeningCheck,
    UpdatesCheck,
)
