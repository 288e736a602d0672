"""What extraction takes and returns: limits, steps, the result, progress events, errors.

The engine (:mod:`.engine`) runs the format handlers in a child process; everything that
crosses the process boundary is defined here and is picklable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from iotwarden.firmware.model import FirmwareError

GIB = 1024**3


class ExtractionError(FirmwareError):
    """The input cannot be extracted at all (missing, empty, nothing recognised)."""


class LimitExceeded(ExtractionError):
    """A limit (size, ratio, files, depth) stopped the extraction; what was written stays."""


class FormatError(ExtractionError):
    """One container is malformed or truncated; its siblings are still extracted."""


@dataclass(frozen=True)
class ExtractionLimits:
    """Bounds on one extraction. ``max_ratio`` compares output with input bytes; it applies
    only beyond :data:`RATIO_FLOOR_BYTES` of output because tiny inputs compress absurdly
    well (a 10 KiB file of zeros)."""

    timeout_s: float = 300
    max_total_bytes: int = 4 * GIB
    max_ratio: int = 200
    max_depth: int = 8
    max_files: int = 500_000


#: Output below this size never trips the ratio limit.
RATIO_FLOOR_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ExtractionStep:
    """One container opened: which format, where it started in which file, who opened it
    ('unblob', 'unsquashfs', 'iotwarden-squashfs', 'python-tarfile', ...) and where its
    content went. ``error`` says why it failed or stopped early (content may be partial)."""

    format: str
    source: Path
    offset: int
    extractor: str
    output: Path | None
    depth: int = 0
    length: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class ExtractionResult:
    """What came out of an image. ``rootfs`` is best first and may be empty; ``problems`` are
    human messages (truncated input, limits hit, links neutralised, formats skipped).

    Analysis must not follow symbolic links in the extracted trees: links pointing outside
    a tree are rewritten or removed, but a directory given as input is used as it is."""

    image: Path
    workdir: Path
    rootfs: tuple[Path, ...]
    steps: tuple[ExtractionStep, ...]
    problems: tuple[str, ...]
    neutralised_links: int

    @property
    def extractors(self) -> tuple[str, ...]:
        """The extractors that did something, in first-use order."""
        return tuple(dict.fromkeys(step.extractor for step in self.steps))


class ExtractionObserver(Protocol):
    """Progress of an extraction, for a progress bar (all calls in the caller's process)."""

    def step_started(self, step: ExtractionStep) -> None: ...

    def progress(self, files: int, bytes_written: int) -> None: ...

    def problem(self, message: str) -> None: ...


class NullObserver:
    """The default observer: ignores everything."""

    def step_started(self, step: ExtractionStep) -> None:
        pass

    def progress(self, files: int, bytes_written: int) -> None:
        pass

    def problem(self, message: str) -> None:
        pass
