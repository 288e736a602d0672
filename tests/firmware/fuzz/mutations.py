"""Hostile inputs for the property tests: valid seeds damaged the way bad flash reads, cut
downloads and deliberate attacks damage them, plus the settings every property runs under.

A mutation is a readable description (set these bytes to these values, cut here, repeat this
range), so a failing example prints as something a person can turn into a regression test.
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: ``IOTWARDEN_FUZZ_SCALE=20`` runs twenty times the examples with a random seed: a deeper
#: search to run by hand; whatever it finds is then kept as an ``@example``.
SCALE = max(1, int(os.environ.get("IOTWARDEN_FUZZ_SCALE", "1") or "1"))
#: Every property: reproducible on CI (derandomize), no example database written into the
#: checkout, a generous per-example deadline (2 shared cores), few enough examples that the
#: whole fuzz package stays well under the time budget.
FUZZ = settings(
    max_examples=150 * SCALE,
    deadline=3000,
    derandomize=SCALE == 1,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Properties whose single example extracts an image or loads keys (slower per example).
FUZZ_SLOW = settings(FUZZ, max_examples=100 * SCALE)

#: Values that break parsers more often than random ones: zero, all ones, sign bits, sizes
#: just past a boundary.
_EDGE_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)


@dataclass(frozen=True)
class Mutation:
    """Overwrite bytes at positions (``writes``), then keep only ``cut`` bytes (None: all),
    then append ``tail``."""

    writes: tuple[tuple[int, int], ...] = ()
    cut: int | None = None
    tail: bytes = b""

    def apply(self, seed: bytes) -> bytes:
        data = bytearray(seed)
        for position, value in self.writes:
            if position < len(data):
                data[position] = value
        if self.cut is not None:
            del data[self.cut :]
        return bytes(data) + self.tail


def _byte() -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(_EDGE_BYTES), st.integers(0, 255))


def mutations(size: int, *, hot: int = 0) -> st.SearchStrategy[Mutation]:
    """Mutations of a seed of ``size`` bytes: up to 8 byte writes (half of them within the
    first ``hot`` bytes when given: a superblock or header), maybe a truncation, maybe a
    short garbage tail."""
    anywhere = st.integers(0, max(size - 1, 0))
    position = st.one_of(st.integers(0, hot - 1), anywhere) if hot else anywhere
    return st.builds(
        Mutation,
        writes=st.lists(st.tuples(position, _byte()), max_size=8).map(tuple),
        cut=st.one_of(st.none(), st.integers(0, size)),
        tail=st.one_of(st.just(b""), st.binary(max_size=64)),
    )


def words(size: int, *, hot: int) -> st.SearchStrategy[Mutation]:
    """Mutations that replace whole 32-bit little- or big-endian fields in the first ``hot``
    bytes with boundary values (0, 1, 2^31, 2^32-1, the seed's size, just past it): what
    a crafted header does to sizes, offsets and counts."""
    values = st.sampled_from((0, 1, 3, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, size, size + 1))

    def build(at: int, value: int, big: bool, cut: int | None) -> Mutation:
        raw = value.to_bytes(4, "big" if big else "little")
        return Mutation(writes=tuple((at + i, raw[i]) for i in range(4)), cut=cut)

    return st.builds(
        build,
        st.integers(0, max(hot - 4, 0)),
        values,
        st.booleans(),
        st.one_of(st.none(), st.integers(0, size)),
    )


@contextmanager
def sandbox() -> Iterator[tuple[Path, Path]]:
    """(output directory, a sibling directory with one file in it) in a fresh temporary
    directory: hypothesis runs many examples per test, so pytest's tmp_path cannot be used."""
    with tempfile.TemporaryDirectory(prefix="iw-fuzz-") as name:
        base = Path(name)
        neighbour = base / "neighbour"
        neighbour.mkdir()
        (neighbour / "keep").write_bytes(b"untouched")
        yield base / "out", neighbour


def written_outside(base: Path, out: Path, allowed: set[Path]) -> list[Path]:
    """Paths under ``base`` that are neither ``out`` nor inside it nor in ``allowed``."""
    stray = []
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if path == out or out in path.parents or path in allowed:
                continue
            if any(parent in allowed for parent in path.parents):
                continue
            stray.append(path)
    return stray


class TookTooLong(AssertionError):
    """A parser ran past its time limit on one input (a loop a hostile input can make)."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fails the example when the body runs longer than ``seconds``. Hypothesis' deadline
    only judges an example once it returns; an endless loop never does."""

    def expire(_signum: int, _frame: object) -> None:
        raise TookTooLong(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
