"""Writing hostile content safely: the budget every handler draws on, a tree writer that never
leaves its root, the post-pass that neutralises links and special files left by external
tools, and a subprocess runner that stops a tool which overruns the budget.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from iotwarden.firmware.extract.interface import (
    RATIO_FLOOR_BYTES,
    ExtractionLimits,
    FormatError,
    LimitExceeded,
)

#: Progress callback: (files written, bytes written).
ProgressCallback = Callable[[int, int], None]


class Budget:
    """Files and bytes written so far against the limits (one per extraction)."""

    def __init__(
        self,
        limits: ExtractionLimits,
        input_size: int,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.limits = limits
        self.input_size = input_size
        self.files = 0
        self.bytes = 0
        self._progress = progress
        self._last_report = 0.0

    @property
    def max_bytes(self) -> int:
        by_ratio = self.limits.max_ratio * max(self.input_size, RATIO_FLOOR_BYTES)
        return min(self.limits.max_total_bytes, by_ratio)

    def add_file(self) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise LimitExceeded(f"more than {self.limits.max_files} files (max_files limit)")
        self._report()

    def add_bytes(self, count: int) -> None:
        self.bytes += count
        self.check_total(self.bytes)
        self._report()

    def check_total(self, total: int) -> None:
        if total > self.limits.max_total_bytes:
            raise LimitExceeded(
                f"output exceeds {self.limits.max_total_bytes} bytes (max_total_bytes limit)"
            )
        if total > self.max_bytes:
            raise LimitExceeded(
                f"output exceeds {self.limits.max_ratio} times the input size of "
                f"{self.input_size} bytes (max_ratio limit)"
            )

    def check_stream(self, produced: int, consumed: int, what: str) -> None:
        """One compressed stream's expansion: a bomb shows here before the total limit."""
        if produced > RATIO_FLOOR_BYTES and produced > self.limits.max_ratio * max(consumed, 1):
            raise LimitExceeded(
                f"{what} expands more than {self.limits.max_ratio} times "
                f"({consumed} bytes gave over {produced}; max_ratio limit, likely a bomb)"
            )

    def _report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._progress is not None and (force or now - self._last_report > 0.2):
            self._last_report = now
            self._progress(self.files, self.bytes)

    def flush(self) -> None:
        self._report(force=True)


def safe_member_path(name: str) -> PurePosixPath:
    """An archive member name as a relative path, or FormatError for names that climb out
    (``..``), hold NUL bytes or are empty. A leading '/' is dropped: absolute member names
    are relative to the archive's root, as tar does by default."""
    if "\0" in name:
        raise FormatError(f"member name {name!r} contains a NUL byte")
    parts = [part for part in PurePosixPath(name).parts if part not in ("/", ".", "")]
    if any(part == ".." for part in parts):
        raise FormatError(f"member {name!r} climbs out of the archive with '..' (rejected)")
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


class SafeTree:
    """Writes members under ``root`` only: names are checked, parents must be real
    directories (a member never lands behind a symlink), files are created with O_NOFOLLOW,
    device nodes are never created, hard links become copies of members already written."""

    def __init__(self, root: Path, budget: Budget, problems: list[str]) -> None:
        self.root = root
        self.budget = budget
        self.problems = problems
        root.mkdir(parents=True, exist_ok=True)

    def _target(self, name: str) -> Path:
        relative = safe_member_path(name)
        target = self.root.joinpath(*relative.parts)
        current = self.root
        for part in relative.parts[:-1]:
            current = current / part
            try:
                info = current.lstat()
            except FileNotFoundError:
                current.mkdir()
                continue
            if not stat.S_ISDIR(info.st_mode):
                raise FormatError(f"member {name!r} goes through a non-directory (rejected)")
        return target

    def _clear(self, target: Path) -> None:
        """A later member of the same name replaces an earlier file or link, never a dir."""
        try:
            info = target.lstat()
        except FileNotFoundError:
            return
        if stat.S_ISDIR(info.st_mode):
            raise FormatError(f"{target.name!r} is already a directory")
        target.unlink()

    def directory(self, name: str, mode: int = 0o755) -> Path:
        target = self._target(name)
        if target == self.root:
            return target
        try:
            info = target.lstat()
        except FileNotFoundError:
            target.mkdir(mode=(mode & 0o777) | 0o700)
            self.budget.add_file()
            return target
        if not stat.S_ISDIR(info.st_mode):
            raise FormatError(f"member {name!r} is both a directory and something else")
        return target

    def file(self, name: str, chunks: Iterable[bytes], mode: int = 0o644) -> Path:
        target = self._target(name)
        self._clear(target)
        self.budget.add_file()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_BINARY", 0)
        # Never set-id bits or world-writable files in the work tree.
        descriptor = os.open(target, flags, (mode & 0o755) | 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                self.budget.add_bytes(len(chunk))
        return target

    def symlink(self, name: str, link_target: str) -> Path | None:
        """Creates the link as it is (it is never followed here); the post-pass rewrites
        absolute targets and removes those that climb out of the tree."""
        if "\0" in link_target or not link_target:
            self.problems.append(f"symlink {name!r} has an unusable target (skipped)")
            return None
        target = self._target(name)
        self._clear(target)
        self.budget.add_file()
        os.symlink(link_target, target)
        return target

    def hardlink(self, name: str, existing: str) -> Path | None:
        """A copy of a regular file already written in this tree (never an OS hard link, which
        could tie the tree to a file elsewhere)."""
        source = self.root.joinpath(*safe_member_path(existing).parts)
        try:
            info = source.lstat()
        except FileNotFoundError:
            self.problems.append(f"hard link {name!r} -> {existing!r}: target not extracted")
            return None
        if not stat.S_ISREG(info.st_mode):
            self.problems.append(f"hard link {name!r} -> {existing!r}: not a regular file")
            return None
        with source.open("rb") as handle:
            return self.file(name, iter(lambda: handle.read(1 << 20), b""), info.st_mode)

    def special(self, name: str, kind: str) -> None:
        """Device nodes, FIFOs and sockets are recorded, never created."""
        safe_member_path(name)
        self.problems.append(f"{kind} {name!r} not created (special files are never written)")


def is_inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def neutralise_tree(root: Path, link_root: Callable[[Path], Path], problems: list[str]) -> int:
    """Walks ``root`` without following links: absolute symlinks are rewritten relative to
    their filesystem root (``link_root(link)``), links that still climb out of that root are
    removed, device nodes, FIFOs and sockets are removed. Returns how many links changed."""
    changed = 0
    removed_special = 0
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as e:
            problems.append(f"cannot list {directory}: {e.strerror}")
            continue
        for entry in entries:
            path = Path(entry.path)
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                stack.append(path)
            elif stat.S_ISLNK(mode):
                changed += _neutralise_link(path, link_root(path), problems)
            elif not stat.S_ISREG(mode):
                path.unlink()
                removed_special += 1
    if removed_special:
        problems.append(f"{removed_special} device nodes, FIFOs or sockets removed from {root}")
    return changed


def _neutralise_link(link: Path, fs_root: Path, problems: list[str]) -> int:
    target = os.readlink(link)
    if target.startswith("/"):
        resolved = fs_root.joinpath(*safe_parts(target))
        relative = os.path.relpath(resolved, link.parent)
        link.unlink()
        os.symlink(relative, link)
        return 1
    # Relative: resolve lexically (never touching the file system) against the link's place.
    lexical = os.path.normpath(os.path.join(link.parent, target))
    if not is_inside(Path(lexical), fs_root):
        link.unlink()
        problems.append(
            f"symlink {link.relative_to(fs_root.parent)} -> {target} climbs out of its "
            "filesystem (removed)"
        )
        return 1
    return 0


def safe_parts(target: str) -> list[str]:
    """Components of an absolute link target with '..' resolved at the root ('/..' = '/')."""
    parts: list[str] = []
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
        else:
            parts.append(part)
    return parts


def tree_size(root: Path) -> tuple[int, int]:
    """(files, bytes) under ``root`` without following links."""
    files = total = 0
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            files += 1
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                stack.append(Path(entry.path))
            else:
                total += info.st_blocks * 512 if info.st_blocks else info.st_size
    return files, total


def run_tool(
    args: list[str],
    *,
    watch: Path,
    budget: Budget,
    timeout_s: float,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Runs an external extractor writing under ``watch``; kills it when the tree under
    ``watch`` outgrows the budget or the time is up (LimitExceeded either way)."""
    before_files, before_bytes = budget.files, budget.bytes
    with subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        env=env,
        start_new_session=True,
    ) as process:
        deadline = time.monotonic() + timeout_s
        output_parts: list[str] = []
        interval = 0.05
        try:
            while True:
                try:
                    out, _ = process.communicate(timeout=interval)
                    output_parts.append(out or "")
                    break
                except subprocess.TimeoutExpired:
                    interval = min(interval * 2, 1.0)
                files, size = tree_size(watch)
                budget.files, budget.bytes = before_files + files, before_bytes + size
                budget.check_total(budget.bytes)
                if budget.files > budget.limits.max_files:
                    raise LimitExceeded(f"more than {budget.limits.max_files} files")
                budget.flush()
                if time.monotonic() > deadline:
                    raise LimitExceeded(f"{Path(args[0]).name} ran over {timeout_s:.0f} s")
        except BaseException:
            _kill_group(process)
            raise
        files, size = tree_size(watch)
        budget.files, budget.bytes = before_files + files, before_bytes + size
        budget.flush()
        budget.check_total(budget.bytes)
        return subprocess.CompletedProcess(args, process.returncode, "".join(output_parts), "")


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, 9)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()
