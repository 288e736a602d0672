"""Firmware extraction: vendor images (flash dumps, uImage, TRX, nested archives) down to
their root filesystems, in a child process under limits. Start with :func:`extract`."""

from iotwarden.firmware.extract.engine import extract
from iotwarden.firmware.extract.interface import (
    ExtractionError,
    ExtractionLimits,
    ExtractionObserver,
    ExtractionResult,
    ExtractionStep,
    LimitExceeded,
    NullObserver,
)

__all__ = [
    "ExtractionError",
    "ExtractionLimits",
    "ExtractionObserver",
    "ExtractionResult",
    "ExtractionStep",
    "LimitExceeded",
    "NullObserver",
    "extract",
]
