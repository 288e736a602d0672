"""Finding the root filesystem(s) in extraction output and ranking them, best first.

A root filesystem is a directory holding ``etc/`` and at least one of ``bin/``, ``sbin/``,
``usr/`` or ``lib/``; tell-tale files (``etc/passwd``, ``bin/busybox``, ``sbin/init``, a libc)
and size break ties. Nothing here follows symbolic links.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

#: Top-level directories of a Unix root and how much each says "this is a rootfs".
MARKER_DIRS = {
    "etc": 3.0, "bin": 2.0, "sbin": 2.0, "usr": 2.0, "lib": 2.0, "var": 0.5, "dev": 0.5,
    "proc": 0.5, "sys": 0.5, "tmp": 0.5, "root": 0.5, "mnt": 0.25, "www": 0.25,
}  # fmt: skip
MARKER_FILES = {
    "etc/passwd": 2.0, "etc/shadow": 1.0, "etc/inittab": 1.0, "bin/busybox": 2.0,
    "sbin/init": 1.0, "etc/os-release": 1.0, "etc/openwrt_release": 1.0, "lib/libc.so": 0.5,
    "lib/libc.so.6": 0.5, "lib/ld-musl-mipsel-sf.so.1": 0.5, "usr/lib/os-release": 0.5,
}  # fmt: skip
MAX_SEARCH_DEPTH = 12


def _kind(path: Path) -> int | None:
    try:
        return path.lstat().st_mode
    except OSError:
        return None


def score(directory: Path) -> float:
    """How much ``directory`` looks like a root filesystem (0 = not at all)."""
    if not _is_dir(directory / "etc"):
        return 0.0
    present = {name for name in MARKER_DIRS if _kind(directory / name) is not None}
    if not present & {"bin", "sbin", "usr", "lib"}:
        return 0.0
    total = sum(MARKER_DIRS[name] for name in present)
    total += sum(weight for name, weight in MARKER_FILES.items() if _kind(directory / name))
    return total


def _is_dir(path: Path) -> bool:
    mode = _kind(path)
    return mode is not None and stat.S_ISDIR(mode)


def _file_count(directory: Path, cap: int = 100_000) -> int:
    count = 0
    for _, _, files in os.walk(directory):
        count += len(files)
        if count >= cap:
            break
    return count


def find_rootfs(trees: Iterable[Path]) -> tuple[Path, ...]:
    """Root filesystems under ``trees``, best first (score, then number of files)."""
    found: dict[Path, tuple[float, int]] = {}
    for tree in trees:
        for directory, _depth in _directories(tree):
            value = score(directory)
            if value > 0:
                found[directory] = (value, _file_count(directory))
    # A rootfs's own subdirectories (say /usr with bin/ and lib/) never count as another.
    kept = {
        path: rank
        for path, rank in found.items()
        if not any(other in path.parents and other in found for other in path.parents)
        or rank[0] >= 8
    }
    return tuple(sorted(kept, key=lambda path: (-kept[path][0], -kept[path][1], str(path))))


def _directories(tree: Path) -> Iterable[tuple[Path, int]]:
    stack = [(tree, 0)]
    while stack:
        directory, depth = stack.pop()
        if not _is_dir(directory):
            continue
        yield directory, depth
        if depth >= MAX_SEARCH_DEPTH:
            continue
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError:
            continue
        stack.extend(
            (Path(entry.path), depth + 1)
            for entry in entries
            if entry.is_dir(follow_symlinks=False)
        )
