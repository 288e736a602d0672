"""Read an extracted root file system the way the device would, without ever leaving it.

Symbolic links are resolved as if the root were '/' (a chroot): an absolute target starts
again at the root and '..' stops at the root, so a link that points outside the tree (hostile
or just absolute, like '/etc/passwd -> /var/passwd') is read inside it or not at all.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

#: Larger files are not read as text by the checks (configs and scripts are small).
MAX_TEXT_BYTES = 1 << 20
_MAX_LINK_HOPS = 40


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One entry of the image: absolute image path, and whether it is a link or a file."""

    path: str
    is_link: bool
    is_file: bool
    size: int


class ImageTree:
    """The files of one extracted root file system, addressed by absolute image paths."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self._entries: dict[str, TreeEntry] | None = None

    # -- listing ---------------------------------------------------------------------------
    def entries(self) -> dict[str, TreeEntry]:
        """Every file and symbolic link of the tree (directories are walked, not listed)."""
        if self._entries is None:
            found: dict[str, TreeEntry] = {}
            for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
                base = PurePosixPath("/") / Path(dirpath).relative_to(self.root).as_posix()
                for name in (*filenames, *dirnames):
                    host = Path(dirpath) / name
                    try:
                        info = host.lstat()
                    except OSError:
                        continue
                    is_link = stat.S_ISLNK(info.st_mode)
                    if not is_link and stat.S_ISDIR(info.st_mode):
                        continue
                    path = str(base / name)
                    found[path] = TreeEntry(path, is_link, stat.S_ISREG(info.st_mode), info.st_size)
            self._entries = dict(sorted(found.items()))
        return self._entries

    def files(self) -> Iterator[str]:
        """Image paths of the regular files (not links), sorted."""
        return (e.path for e in self.entries().values() if e.is_file)

    def match(self, *patterns: str) -> list[str]:
        """Image paths of files and links matching any glob ('*' stays within one path part;
        a pattern without a leading '/' matches from the right, e.g. '*.pem')."""
        return [p for p in self.entries() if any(PurePosixPath(p).match(g) for g in patterns)]

    # -- resolving -------------------------------------------------------------------------
    def host_path(self, image_path: str) -> Path | None:
        """The host path of ``image_path`` with links resolved inside the root (None when it
        does not exist, or when resolving loops)."""
        parts = [p for p in PurePosixPath("/", image_path).parts[1:] if p not in ("", ".")]
        resolved: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                if resolved:
                    resolved.pop()
                continue
            candidate = self.root.joinpath(*resolved, part)
            try:
                info = candidate.lstat()
            except OSError:
                return None
            if stat.S_ISLNK(info.st_mode):
                hops += 1
                if hops > _MAX_LINK_HOPS:
                    return None
                try:
                    target = os.readlink(candidate)
                except OSError:
                    return None
                target_parts = [p for p in PurePosixPath(target).parts if p not in ("", ".")]
                if target.startswith("/"):
                    resolved = []
                    target_parts = target_parts[1:]
                parts = target_parts + parts
                continue
            resolved.append(part)
        return self.root.joinpath(*resolved)

    def readlink(self, image_path: str) -> str | None:
        """The target of a link as written (None when not a link)."""
        host = self.root / image_path.lstrip("/")
        try:
            return os.readlink(host) if host.is_symlink() else None
        except OSError:
            return None

    def exists(self, image_path: str) -> bool:
        host = self.host_path(image_path)
        return host is not None and host.exists()

    def is_file(self, image_path: str) -> bool:
        host = self.host_path(image_path)
        return host is not None and host.is_file() and not host.is_symlink()

    def canonical(self, image_path: str) -> str | None:
        """The image path a link finally points to (itself for a plain file)."""
        host = self.host_path(image_path)
        if host is None:
            return None
        return "/" + host.relative_to(self.root).as_posix() if host != self.root else "/"

    # -- reading ---------------------------------------------------------------------------
    def read_bytes(self, image_path: str, limit: int = MAX_TEXT_BYTES) -> bytes | None:
        """Up to ``limit`` bytes of a regular file (None when missing or not a file)."""
        host = self.host_path(image_path)
        if host is None:
            return None
        try:
            # O_NOFOLLOW: the last component was resolved above; a link swapped in since then
            # must not lead outside the tree.
            fd = os.open(host, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            return handle.read(limit)

    def read_text(self, image_path: str, limit: int = MAX_TEXT_BYTES) -> str | None:
        """A text file's content (None when missing, too large, or binary)."""
        data = self.read_bytes(image_path, limit + 1)
        if data is None or len(data) > limit or b"\0" in data[:8192]:
            return None
        return data.decode("utf-8", errors="replace")
