"""Firmware analysis end to end, the one entry point (:func:`analyze_image`): extract the image,
walk its root file systems, analyse each file's content (cached by content hash), identify
components, run the security checks, match the components against the advisory store, record
the build in the inventory with this analysis as its latest (findings, check records), and
return one :class:`FirmwareAnalysis`.

Analysing the same image file again (same SHA-256, same code, data and options) reuses the
image-derived part of its stored analysis without extracting, and only matches the known
vulnerabilities and records the build anew: both depend on the store, not on the image.

What the extraction left outside the root file systems (a flash dump's boot loader and kernel,
firmware blobs) is scanned for components too, identification only: no check looks at it. Those
files are named by their place in the work folder (``<extraction>/extracted/...``).

The walk never follows a symbolic link and skips device nodes, FIFOs and sockets; a file is
read at most :data:`MAX_CONTENT_BYTES` deep (the rest is noted as a problem), so memory stays
bounded whatever the image holds. One unreadable or hostile file is a problem in the report,
never the end of the analysis.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import functools
import hashlib
import multiprocessing
import os
import stat
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, Protocol

from iotwarden import __version__
from iotwarden.core.errors import StoreError
from iotwarden.core.fleet import BuildRef
from iotwarden.firmware.cache import (
    FileResultCache,
    ImageResultCache,
    NullFileCache,
    NullImageCache,
    StoreFileCache,
    StoreImageCache,
    analysers_version,
)
from iotwarden.firmware.model import (
    Evidence,
    Finding,
    FirmwareError,
    IdentifiedComponent,
    Severity,
)
from iotwarden.store.db import Store

#: The deepest a file is read for the content analyses (64 MiB): larger files are analysed
#: up to there and the cut is reported.
MAX_CONTENT_BYTES = 64 * 1024 * 1024
#: Layout of a cached per-file result; bump when :class:`FileAnalysis` changes.
RESULT_FORMAT = "1"
#: Layout of a stored image analysis (the image-derived part); bump when it changes.
IMAGE_RESULT_FORMAT = "1"
#: Layout of the analysis kept with a build (:func:`build_analysis_result`); bump when it
#: changes (readers refuse another).
BUILD_ANALYSIS_FORMAT = "1"
HASH_CHUNK = 1024 * 1024
#: Worker processes pay off only past this much content to analyse: measured on 2 shared
#: cores, the analysers read ~14 MB/s in one process (1,500 files, 24 MB: 1.7 s), while two
#: workers take 4-5 s to start and import them (6.5 s for the same files).
POOL_MIN_BYTES = 128 * 1024 * 1024
#: ... and past this many files (an explicit worker count still needs some work to share).
POOL_MIN_FILES = 64
#: Files handed to a worker at a time.
POOL_BATCH = 16
#: Outside the root file systems, at most this many files are scanned for components ...
MAX_OUTSIDE_FILES = 256
#: ... each at most this large (an uncompressed kernel takes tens of MiB) ...
MAX_OUTSIDE_FILE_BYTES = 64 * 1024 * 1024
#: ... among at most this many entries looked at (a big tree that is not a root is no blob).
MAX_OUTSIDE_ENTRIES = 20_000
#: How reports name a file outside the root file systems: its place in the work folder.
OUTSIDE_PREFIX = "<extraction>/"
#: A file outside the roots whose first bytes hold no NUL is text (a script, a manifest, an
#: erased-flash run of 0xFF), not a kernel, boot loader or firmware blob.
_BLOB_PROBE = 8192


class AnalysisError(FirmwareError):
    """The analysis cannot start or go on (missing image, nothing extractable)."""


class AnalysisPhase(StrEnum):
    EXTRACT = "extract"
    WALK = "walk"
    HASH = "hash"
    ANALYSE = "analyse"
    IDENTIFY = "identify"
    CHECK = "check"
    MATCH = "match"  # known vulnerabilities and recording the build
    REUSE = "reuse"  # looking up the stored analysis of the same image


class AnalysisObserver(Protocol):
    """Progress of one analysis (the CLI draws a bar; the library never prints)."""

    def phase_started(self, phase: AnalysisPhase, total: int | None) -> None: ...
    def advanced(self, count: int) -> None: ...
    def phase_finished(self, phase: AnalysisPhase) -> None: ...


class NullAnalysisObserver:
    def phase_started(self, phase: AnalysisPhase, total: int | None) -> None:
        pass

    def advanced(self, count: int) -> None:
        pass

    def phase_finished(self, phase: AnalysisPhase) -> None:
        pass


@dataclass(frozen=True)
class AnalysisOptions:
    #: The build to record in the inventory (product + version); None: not recorded.
    build: BuildRef | None = None
    #: Record the build (False: match known vulnerabilities, then roll back).
    store_build: bool = True
    #: Where to extract; kept afterwards. None: a temporary folder, removed afterwards.
    work_dir: Path | None = None
    #: Read and write the per-file cache.
    use_cache: bool = True
    #: Worker processes for the content analyses (0 or 1: in this process). None: decide.
    workers: int | None = None
    max_content_bytes: int = MAX_CONTENT_BYTES
    #: ExtractionLimits for the extractor; None: its defaults.
    limits: Any = None


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageInfo:
    path: str
    name: str
    kind: str  # 'file' or 'directory'
    size: int | None
    sha256: str | None


@dataclass(frozen=True)
class RootFs:
    """A root file system analysed. ``prefix`` is put before the paths of its files in the
    report: empty for the best one, the folder's place in the extraction for others. ``path``
    is relative to the work folder when the root was extracted there."""

    path: str
    prefix: str
    files: int


@dataclass(frozen=True)
class ExtractionSummary:
    steps: tuple[dict[str, Any], ...]
    problems: tuple[str, ...]
    neutralised_links: int


@dataclass(frozen=True)
class FileCounts:
    """Regular files walked, and how their distinct contents were analysed."""

    total: int = 0
    unique: int = 0  # distinct contents
    analysed: int = 0  # contents analysed in this run
    reused: int = 0  # contents whose result came from the cache
    duplicates: int = 0  # files with the same content as another (analysed once)
    symlinks: int = 0  # not followed
    special: int = 0  # device nodes, FIFOs, sockets: skipped
    unreadable: int = 0
    truncated: int = 0  # larger than the read limit: analysed up to it
    bytes: int = 0
    #: Files outside the root file systems scanned for components (kernels, boot loaders).
    outside: int = 0


@dataclass(frozen=True)
class EvidenceFile:
    """A file that evidences a component (SBOM file entries need their digests)."""

    path: str
    size: int
    sha256: str
    sha1: str


@dataclass(frozen=True)
class FirmwareAnalysis:
    image: ImageInfo
    rootfs: tuple[RootFs, ...]
    extraction: ExtractionSummary
    components: tuple[IdentifiedComponent, ...]
    findings: tuple[Finding, ...]
    hardening: dict[str, Any]
    checks: tuple[dict[str, Any], ...]  # one attempt record per check run
    files: FileCounts
    evidence_files: tuple[EvidenceFile, ...]
    timings: dict[str, float]
    problems: tuple[str, ...]
    build: BuildRef | None  # the build recorded in the inventory
    stored: bool
    advisories_checked: bool  # the advisory store had data to match against
    vulnerabilities_considered: int
    versions: dict[str, str]
    analysed_at: str = ""
    work_dir: str | None = None  # kept on request (--work-dir)
    #: The image-derived part comes from the stored analysis of the same image (nothing was
    #: extracted or analysed again); known vulnerabilities and the build were done anew.
    reused_image: bool = False
    #: When that stored analysis was made (UTC, ISO 8601), if reused.
    reused_from: str | None = None

    def severity_counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Severity}
        for f in self.findings:
            counts[f.severity.value] += 1
        return counts


@dataclass(frozen=True)
class _ImagePart:
    """What an analysis derives from the image alone, kept by the image's SHA-256 (see
    :func:`image_analysis_version`). Every text in it is printable (see :func:`printable`)."""

    rootfs: tuple[RootFs, ...]
    extraction: ExtractionSummary
    components: tuple[IdentifiedComponent, ...]
    findings: tuple[Finding, ...]  # the checks' findings (no known vulnerability)
    hardening: dict[str, Any]
    checks: tuple[dict[str, Any], ...]
    files: FileCounts
    evidence_files: tuple[EvidenceFile, ...]
    problems: tuple[str, ...]
    versions: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": IMAGE_RESULT_FORMAT,
            "rootfs": [dataclasses.asdict(r) for r in self.rootfs],
            "extraction": {
                "steps": list(self.extraction.steps),
                "problems": list(self.extraction.problems),
                "neutralised_links": self.extraction.neutralised_links,
            },
            "components": [c.to_dict() for c in self.components],
            "findings": [f.to_dict() for f in self.findings],
            "hardening": self.hardening,
            "checks": list(self.checks),
            "files": dataclasses.asdict(self.files),
            "evidence_files": [dataclasses.asdict(e) for e in self.evidence_files],
            "problems": list(self.problems),
            "versions": dict(self.versions),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> _ImagePart:
        if data.get("format") != IMAGE_RESULT_FORMAT:
            raise ValueError(f"stored image analysis of format {data.get('format')!r}")
        extraction = data["extraction"]
        return cls(
            rootfs=tuple(RootFs(**r) for r in data["rootfs"]),
            extraction=ExtractionSummary(
                steps=tuple(dict(s) for s in extraction["steps"]),
                problems=tuple(str(p) for p in extraction["problems"]),
                neutralised_links=int(extraction["neutralised_links"]),
            ),
            components=tuple(IdentifiedComponent.from_dict(c) for c in data["components"]),
            findings=tuple(Finding.from_dict(f) for f in data["findings"]),
            hardening=dict(data["hardening"]),
            checks=tuple(dict(a) for a in data["checks"]),
            files=FileCounts(**data["files"]),
            evidence_files=tuple(EvidenceFile(**e) for e in data["evidence_files"]),
            problems=tuple(str(p) for p in data["problems"]),
            versions={str(k): str(v) for k, v in data["versions"].items()},
        )


@dataclass(frozen=True)
class FileAnalysis:
    """What the content-only analyses found in one file's content (cached by its SHA-256)."""

    hits: tuple[Any, ...] = ()  # SignatureHit
    elf: Any = None  # ElfFacts | None
    keys: tuple[Any, ...] = ()  # KeyMaterial
    problems: tuple[str, ...] = ()
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "hits": [h.to_dict() for h in self.hits],
            "elf": self.elf.to_dict() if self.elf is not None else None,
            "keys": [k.to_dict() for k in self.keys],
            "problems": list(self.problems),
            "truncated": self.truncated,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FileAnalysis:
        from iotwarden.firmware.checks import ElfFacts, KeyMaterial
        from iotwarden.firmware.identify import SignatureHit

        return cls(
            hits=tuple(SignatureHit.from_dict(h) for h in data.get("hits", ())),
            elf=ElfFacts.from_dict(data["elf"]) if data.get("elf") is not None else None,
            keys=tuple(KeyMaterial.from_dict(k) for k in data.get("keys", ())),
            problems=tuple(data.get("problems", ())),
            truncated=bool(data.get("truncated", False)),
        )


def current_analysers_version(max_content_bytes: int = MAX_CONTENT_BYTES) -> str:
    """The cache key of the analysers in use: a new signature or check invalidates the cache."""
    from iotwarden.firmware.checks import CHECKS_VERSION
    from iotwarden.firmware.identify import SIGNATURES_VERSION

    return analysers_version(
        format=RESULT_FORMAT,
        signatures=SIGNATURES_VERSION,
        checks=CHECKS_VERSION,
        read=str(max_content_bytes),
    )


# --- the content analyses (in this process or a worker) ----------------------------------------


def _read_head(path: str, limit: int) -> tuple[bytes, bool]:
    """Up to ``limit`` bytes of a regular file, never through a symbolic link."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise OSError(f"{path} is no longer a regular file")
        data = fh.read(limit)
        truncated = bool(fh.read(1))
    return data, truncated


def analyse_content(data: bytes, truncated: bool = False) -> FileAnalysis:
    """Run every content-only analysis on ``data``; a failing analyser is a problem noted for
    this file, not the end of the analysis."""
    from iotwarden.firmware.checks import find_key_material, inspect_elf
    from iotwarden.firmware.identify import scan_content

    problems: list[str] = []
    hits: tuple[Any, ...] = ()
    elf: Any = None
    keys: tuple[Any, ...] = ()
    try:
        hits = tuple(scan_content(data))
    except Exception as e:  # noqa: BLE001 - one hostile file must not end the analysis
        problems.append(f"component signatures could not be scanned: {type(e).__name__}: {e}")
    try:
        elf = inspect_elf(data)
    except Exception as e:  # noqa: BLE001
        problems.append(f"ELF facts could not be read: {type(e).__name__}: {e}")
    try:
        keys = tuple(find_key_material(data))
    except Exception as e:  # noqa: BLE001
        problems.append(f"key material could not be read: {type(e).__name__}: {e}")
    return FileAnalysis(hits, elf, keys, tuple(problems), truncated)


def _analyse_paths(paths: Sequence[str], limit: int) -> list[tuple[str, dict[str, Any] | str]]:
    """Worker entry: each path's analysis as a dict, or the reason it could not be read."""
    out: list[tuple[str, dict[str, Any] | str]] = []
    for path in paths:
        try:
            data, truncated = _read_head(path, limit)
        except OSError as e:
            out.append((path, f"cannot be read: {e.strerror or e}"))
            continue
        out.append((path, analyse_content(data, truncated).to_dict()))
    return out


# --- walking ----------------------------------------------------------------------------------


@dataclass
class _File:
    image_path: str  # as reported (with the root's prefix)
    tree_path: str  # inside its root ('/etc/passwd'), as identification and checks see it
    disk_path: str
    size: int
    root: int
    sha256: str = ""


@dataclass
class _Walk:
    files: list[_File] = field(default_factory=list)
    symlinks: int = 0
    special: int = 0
    problems: list[str] = field(default_factory=list)


def _walk(root: Path, index: int, prefix: str, walk: _Walk) -> int:
    """Regular files under ``root`` (iteratively; links never followed)."""
    found = 0
    stack = [(str(root), "")]
    while stack:
        folder, rel = stack.pop()
        try:
            with os.scandir(folder) as entries:
                listed = sorted(entries, key=lambda e: e.name)
        except OSError as e:
            walk.problems.append(f"{prefix}{rel or '/'}: folder cannot be read ({e.strerror})")
            continue
        for entry in listed:
            tree_path = f"{rel}/{entry.name}"
            try:
                if entry.is_symlink():
                    walk.symlinks += 1
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, tree_path))
                elif entry.is_file(follow_symlinks=False):
                    size = entry.stat(follow_symlinks=False).st_size
                    walk.files.append(_File(prefix + tree_path, tree_path, entry.path, size, index))
                    found += 1
                else:
                    walk.special += 1
            except OSError as e:
                walk.problems.append(f"{prefix}{tree_path}: cannot be examined ({e.strerror})")
    return found


def _outside_files(
    outputs: Sequence[Path], roots: Sequence[Path], workdir: Path, problems: list[str]
) -> list[_File]:
    """The extracted files outside the root file systems worth scanning for components: binary
    files the extraction left in its outputs (carved chunks, unpacked kernels and boot loaders),
    bounded in number and size. A container whose content was unpacked next to it
    (``name_extract``) is skipped: its content is what counts, and it is scanned itself."""
    base = workdir.resolve()
    covered = {root.resolve() for root in roots}
    tops: list[Path] = []
    for output in sorted({o.resolve() for o in outputs}):
        if (
            output.is_relative_to(base)
            and not any(output.is_relative_to(t) for t in tops)
            and not any(output.is_relative_to(r) for r in covered)  # walked with its root
        ):
            tops.append(output)
    found: list[_File] = []
    entries = 0
    stack = [str(top) for top in reversed(tops)]
    while stack and len(found) <= MAX_OUTSIDE_FILES:
        folder = stack.pop()
        try:
            with os.scandir(folder) as scan:
                listed = sorted(scan, key=lambda e: e.name)
        except OSError:
            continue  # not a folder (a file output) or gone: nothing to scan there
        folders: list[str] = []
        for entry in listed:
            entries += 1
            if entries > MAX_OUTSIDE_ENTRIES:
                problems.append(
                    f"more than {MAX_OUTSIDE_ENTRIES} entries outside the root file systems: "
                    "the rest were not scanned for components"
                )
                stack.clear()
                break
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    # Not the roots (walked already) nor the extractor's own state (.unblob).
                    if Path(entry.path) not in covered and not (
                        folder == str(base) and entry.name.startswith(".")
                    ):
                        folders.append(entry.path)
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                size = entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
            item = _outside_file(entry.path, size, base, problems)
            if item is not None:
                found.append(item)
            if len(found) > MAX_OUTSIDE_FILES:
                break
        stack += reversed(folders)  # popped in name order
    if len(found) > MAX_OUTSIDE_FILES:
        found = found[:MAX_OUTSIDE_FILES]
        problems.append(
            f"more than {MAX_OUTSIDE_FILES} files outside the root file systems: the rest were "
            "not scanned for components"
        )
    found.sort(key=lambda f: f.image_path)
    return found


def _outside_file(path: str, size: int, base: Path, problems: list[str]) -> _File | None:
    shown = OUTSIDE_PREFIX + Path(path).relative_to(base).as_posix()
    if size == 0 or _unpacked_beside(path):
        return None
    if size > MAX_OUTSIDE_FILE_BYTES:
        problems.append(
            f"{shown}: larger than {MAX_OUTSIDE_FILE_BYTES // (1024 * 1024)} MiB, not scanned "
            "for components"
        )
        return None
    try:
        head, _ = _read_head(path, _BLOB_PROBE)
    except OSError as e:
        problems.append(f"{shown}: cannot be read ({e.strerror or e})")
        return None
    if b"\x00" not in head:
        return None
    return _File(shown, shown, path, size, -1)


def _unpacked_beside(path: str) -> bool:
    """Whether the extraction unpacked this file's content into ``<path>_extract``."""
    beside = path + "_extract"
    try:
        if not stat.S_ISDIR(os.lstat(beside).st_mode):
            return False
        with os.scandir(beside) as entries:
            return any(True for _ in entries)
    except OSError:
        return False


def _digests(path: str, *, sha1: bool = False) -> tuple[str, str | None]:
    sha256 = hashlib.sha256()
    sha1_hash = hashlib.sha1(usedforsecurity=False) if sha1 else None
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise OSError(f"{path} is not a regular file")
        while chunk := fh.read(HASH_CHUNK):
            sha256.update(chunk)
            if sha1_hash is not None:
                sha1_hash.update(chunk)
    return sha256.hexdigest(), sha1_hash.hexdigest() if sha1_hash is not None else None


# --- the pipeline -----------------------------------------------------------------------------


class _Clock:
    def __init__(self, observer: AnalysisObserver) -> None:
        self.observer = observer
        self.timings: dict[str, float] = {}

    @contextmanager
    def phase(self, phase: AnalysisPhase, total: int | None = None) -> Iterator[None]:
        start = time.perf_counter()
        self.observer.phase_started(phase, total)
        try:
            yield
        finally:
            self.timings[phase.value] = round(
                self.timings.get(phase.value, 0.0) + time.perf_counter() - start, 3
            )
            self.observer.phase_finished(phase)


def _jsonable_step(step: Any, workdir: Path) -> dict[str, Any]:
    if hasattr(step, "to_dict"):
        return dict(step.to_dict())
    if dataclasses.is_dataclass(step) and not isinstance(step, type):
        return {k: _plain(v, workdir) for k, v in dataclasses.asdict(step).items()}
    return {"step": str(step)}


def _plain(value: Any, workdir: Path | None = None) -> Any:
    if isinstance(value, Path):
        return _shown_path(value, workdir)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v, workdir) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, workdir) for v in value]
    return value


def _shown_path(path: Path, workdir: Path | None) -> str:
    """A path inside the work folder relative to it (the folder is usually gone by the time
    the report is read); any other path as it is."""
    if workdir is not None:
        try:
            return path.resolve().relative_to(workdir.resolve()).as_posix()
        except (ValueError, OSError):
            pass
    return str(path)


def _image_info(image: Path) -> ImageInfo:
    if image.is_dir():
        return ImageInfo(str(image), image.name, "directory", None, None)
    sha256, _ = _digests(str(image))
    return ImageInfo(str(image), image.name, "file", image.stat().st_size, sha256)


def _roots(rootfs: Sequence[Path], workdir: Path) -> list[tuple[Path, str]]:
    """The roots to analyse with their report prefixes; a root inside another is covered by
    the walk of the outer one."""
    chosen: list[tuple[Path, str]] = []
    for root in rootfs:
        resolved = root.resolve()
        if any(resolved == c or resolved.is_relative_to(c) for c, _ in chosen) or any(
            c.is_relative_to(resolved) for c, _ in chosen
        ):
            continue
        if not chosen:
            prefix = ""
        else:
            try:
                prefix = "/" + resolved.relative_to(workdir.resolve()).as_posix()
            except ValueError:
                prefix = f"/rootfs-{len(chosen)}"
        chosen.append((resolved, prefix))
    return chosen


def _workers(options: AnalysisOptions, files: int, size: int) -> int:
    """How many worker processes to analyse ``files`` files of ``size`` bytes (0: none)."""
    if options.workers is not None:
        wanted = options.workers
    elif size >= POOL_MIN_BYTES:
        wanted = min(2, os.cpu_count() or 1)
    else:
        wanted = 0
    return wanted if wanted > 1 and files >= POOL_MIN_FILES else 0


def _size_of(path: str) -> int:
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0


def _analyse_pending(
    pending: dict[str, str],
    options: AnalysisOptions,
    observer: AnalysisObserver,
) -> dict[str, dict[str, Any] | str]:
    """Content hash -> result dict (or why it could not be read) for each pending content."""
    by_path = {path: sha for sha, path in pending.items()}
    sizes = {path: _size_of(path) for path in by_path}
    paths = sorted(by_path, key=lambda p: -sizes[p])  # big ones first: the workers end together
    out: dict[str, dict[str, Any] | str] = {}
    workers = _workers(options, len(paths), sum(sizes.values()))
    if not workers:
        for path in paths:
            for done_path, result in _analyse_paths([path], options.max_content_bytes):
                out[by_path[done_path]] = result
            observer.advanced(1)
        return out
    batches = [paths[i : i + POOL_BATCH] for i in range(0, len(paths), POOL_BATCH)]
    # forkserver: children forked from a clean server, not from this (maybe threaded) process.
    context = multiprocessing.get_context("forkserver")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [
            pool.submit(_analyse_paths, batch, options.max_content_bytes) for batch in batches
        ]
        for future in concurrent.futures.as_completed(futures):
            results = future.result()
            for done_path, result in results:
                out[by_path[done_path]] = result
            observer.advanced(len(results))
    return out


def analyze_image(
    image: Path,
    *,
    store: Store | None = None,
    options: AnalysisOptions | None = None,
    observer: AnalysisObserver | None = None,
    cache: FileResultCache | None = None,
    extraction_observer: Any = None,
    image_cache: ImageResultCache | None = None,
) -> FirmwareAnalysis:
    """Analyse a firmware image (a file in any format the extractor reads, or a folder holding
    an extracted root file system).

    With a ``store``: per-file results are cached there, the components are matched against
    its advisories, and the build (``options.build``) is recorded in its inventory. The
    image-derived part of the analysis is kept there too: analysing the same image file again
    (same SHA-256, same code, data and options) reuses it without extracting, and only matches
    the known vulnerabilities and records the build again (``reused_image`` in the result).
    A folder, a kept work folder (``options.work_dir``) or ``use_cache=False`` always extracts
    and analyses. Raises :class:`AnalysisError` (or the extractor's ``ExtractionError``) when
    the image is missing or nothing can be extracted from it.

    A recorded build keeps this analysis as its latest (findings, check records, hardening,
    components; see :func:`build_analysis_result`), replacing the one before."""
    options = options or AnalysisOptions()
    watch = observer or NullAnalysisObserver()
    image = Path(image)
    if not image.exists() and not image.is_symlink():
        raise AnalysisError(f"{image}: no such file or folder")
    started = time.perf_counter()
    if image_cache is None:
        if store is not None and options.use_cache:
            image_cache = StoreImageCache(store, image_analysis_version(options))
        else:
            image_cache = NullImageCache()
    clock = _Clock(watch)
    info = _image_info(image)

    # The same image file again: its extraction, files, components and checks cannot have
    # changed, so only what depends on the store is done again. Not for a folder (no single
    # digest says its content is unchanged) nor when the extracted tree is to be kept.
    lookup = not isinstance(image_cache, NullImageCache)
    if lookup and info.sha256 is not None and options.work_dir is None:
        with clock.phase(AnalysisPhase.REUSE):
            part, reused_from = _reusable(image_cache, info.sha256)
        if part is not None:
            return _finish(info, part, store, options, clock, started, reused_from=reused_from)

    if cache is None:  # only now: its key loads every analyser, which a reuse does not need
        if store is not None and options.use_cache:
            cache = StoreFileCache(store, current_analysers_version(options.max_content_bytes))
        else:
            cache = NullFileCache()
    if options.work_dir is not None:
        options.work_dir.mkdir(parents=True, exist_ok=True)
        part, repeatable = _analyze_in(
            image, options.work_dir, options, clock, cache, extraction_observer
        )
    else:
        with tempfile.TemporaryDirectory(prefix="iotwarden-firmware-") as tmp:
            part, repeatable = _analyze_in(
                image, Path(tmp), options, clock, cache, extraction_observer
            )
    if info.sha256 is not None and info.size is not None and repeatable:
        try:
            image_cache.put(info.sha256, info.size, part.to_dict())
        except StoreError as e:  # the analysis stands; the next one extracts again
            part = dataclasses.replace(
                part,
                problems=(*part.problems, f"the analysis could not be kept for the next one: {e}"),
            )
    return _finish(info, part, store, options, clock, started, reused_from=None)


def image_analysis_version(options: AnalysisOptions | None = None) -> str:
    """The key under which an image's analysis is kept: everything that shapes the image-derived
    part besides the image itself (the stored layout, the per-file result layout, the read
    limit, the extraction limits, whether unblob takes part, and a digest of the firmware code
    and data). Computed without loading the analysers, so that a re-analysis does not pay for
    importing them."""
    from iotwarden.firmware.extract.engine import UNBLOB_SWITCH
    from iotwarden.firmware.extract.unblob import find_unblob

    options = options or AnalysisOptions()
    unblob = find_unblob() if os.environ.get(UNBLOB_SWITCH, "1") != "0" else None
    return analysers_version(
        image=IMAGE_RESULT_FORMAT,
        files=RESULT_FORMAT,
        read=str(options.max_content_bytes),
        limits="default" if options.limits is None else repr(options.limits),
        unblob=str(unblob) if unblob is not None else "none",
        code=code_fingerprint(),
    )


@functools.cache
def code_fingerprint() -> str:
    """A digest of this package's version and of the code and data the image-derived part of an
    analysis comes from (every module of ``iotwarden.firmware``, its data files, and the
    identifier builders): any change to them, bumped version constant or not, is a new key."""
    package = Path(__file__).resolve().parents[1]
    paths = sorted(
        {
            *(package / "firmware").rglob("*.py"),
            *(package / "data" / "firmware").rglob("*"),
            package / "core" / "identifiers.py",
        }
    )
    digest = hashlib.sha256(f"iotwarden {__version__}\0".encode())
    for path in paths:
        if path.is_dir():
            continue
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"unreadable")  # the same unreadable install gives the same key
    return digest.hexdigest()


def _reusable(cache: ImageResultCache, sha256: str) -> tuple[_ImagePart | None, str | None]:
    """The stored image-derived part for this image, or (None, None); an entry that cannot be
    read back (another layout, damage) is analysed again and replaced."""
    cached = cache.get(sha256)
    if cached is None:
        return None, None
    try:
        part = _ImagePart.from_dict(cached.result)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None, None
    when = cached.analysed_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return part, when


def _finish(
    info: ImageInfo,
    part: _ImagePart,
    store: Store | None,
    options: AnalysisOptions,
    clock: _Clock,
    started: float,
    *,
    reused_from: str | None,
) -> FirmwareAnalysis:
    """What depends on the store, done on every analysis: known vulnerabilities (advisories
    arrive between runs) and recording the build (another product or version may be named),
    with this analysis kept as the build's latest."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    analysed_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    findings = list(part.findings)
    problems = list(part.problems)
    stored = False
    build: BuildRef | None = None
    advisories = False
    considered = 0
    if store is not None:
        from iotwarden.firmware.vulns import (
            complete_build_analysis,
            findings_for,
            record_and_match,
        )
        from iotwarden.store.fleet import BuildAnalysis

        kept = None
        if options.store_build and options.build is not None:
            # Written with the build, before the matching (which needs the build stored): the
            # check findings now, the known vulnerabilities once matched.
            kept = BuildAnalysis(
                analysis_id=uuid.uuid4().hex,
                image_name=info.name,
                image_sha256=info.sha256,
                analysed_at=now,
                result=build_analysis_result(
                    info, part, part.findings, analysed_at=analysed_at, reused_from=reused_from
                ),
            )
        with clock.phase(AnalysisPhase.MATCH):
            outcome = record_and_match(
                store, options.build, part.components, keep=options.store_build, analysis=kept
            )
        stored, build = outcome.stored, outcome.build
        advisories = outcome.advisories_available
        considered = outcome.candidates
        findings += [
            _printable_finding(f) for f in findings_for(outcome.vulnerabilities, part.components)
        ]
        if kept is not None and outcome.analysis_id is not None:
            result = build_analysis_result(
                info,
                part,
                findings,
                analysed_at=analysed_at,
                reused_from=reused_from,
                matched=(advisories, considered),
            )
            try:
                complete_build_analysis(store, outcome, result)
            except StoreError as e:  # the analysis stands; the build keeps its check findings
                problems.append(f"{e} (the build keeps this analysis without them)")
    findings.sort(key=_finding_order)
    files = part.files
    if reused_from is not None:
        files = dataclasses.replace(files, analysed=0, reused=files.analysed + files.reused)
    timings = dict(clock.timings)
    timings["total"] = round(time.perf_counter() - started, 3)
    return FirmwareAnalysis(
        image=info,
        rootfs=part.rootfs,
        extraction=part.extraction,
        components=part.components,
        findings=tuple(findings),
        hardening=part.hardening,
        checks=part.checks,
        files=files,
        evidence_files=part.evidence_files,
        timings=timings,
        problems=tuple(problems),
        build=build,
        stored=stored,
        advisories_checked=advisories,
        vulnerabilities_considered=considered,
        versions=dict(part.versions),
        analysed_at=analysed_at,
        work_dir=str(options.work_dir) if options.work_dir is not None else None,
        reused_image=reused_from is not None,
        reused_from=reused_from,
    )


def _finding_order(f: Finding) -> tuple[int, str, str, str]:
    return (f.severity.rank, f.id, f.path, f.title)


def build_analysis_result(
    info: ImageInfo,
    part: _ImagePart,
    findings: Sequence[Finding],
    *,
    analysed_at: str,
    reused_from: str | None = None,
    matched: tuple[bool, int] | None = None,
) -> dict[str, Any]:
    """The analysis kept with a build (``BuildAnalysis.result``, format
    :data:`BUILD_ANALYSIS_FORMAT`): what an assessment or report of the stored build needs
    (components with their evidence, findings, check records, hardening summary) and where it
    comes from. ``matched`` is (advisories available, vulnerabilities considered) once the
    known vulnerabilities were matched; None before, when ``findings`` are the checks' only."""
    counts = {s.value: 0 for s in Severity}
    for f in findings:
        counts[f.severity.value] += 1
    return {
        "format": BUILD_ANALYSIS_FORMAT,
        "image": {
            "name": printable(info.name),
            "kind": info.kind,
            "size": info.size,
            "sha256": info.sha256,
        },
        "analysed_at": analysed_at,
        "reused_from": reused_from,
        "versions": dict(part.versions),
        "components": [c.to_dict() for c in part.components],
        "findings": [f.to_dict() for f in sorted(findings, key=_finding_order)],
        "severity_counts": counts,
        "checks": list(part.checks),
        "hardening": part.hardening,
        "known_vulnerabilities": {
            "matched": matched is not None,
            "advisories_checked": bool(matched and matched[0]),
            "considered": matched[1] if matched else 0,
        },
        "problems": len(part.problems),
    }


def _analyze_in(
    image: Path,
    workdir: Path,
    options: AnalysisOptions,
    clock: _Clock,
    cache: FileResultCache,
    extraction_observer: Any,
) -> tuple[_ImagePart, bool]:
    """Extract the image into ``workdir`` and derive everything the image alone gives; also
    whether that is repeatable (worth keeping for the next analysis of the same image)."""
    from iotwarden.firmware.checks import CHECKS_VERSION, CheckContext, run_checks
    from iotwarden.firmware.extract import extract
    from iotwarden.firmware.identify import SIGNATURES_VERSION, identify_components

    watch = clock.observer
    problems: list[str] = []

    with clock.phase(AnalysisPhase.EXTRACT):
        kwargs: dict[str, Any] = {"observer": extraction_observer}
        if options.limits is not None:
            kwargs["limits"] = options.limits
        extraction = extract(image, workdir, **kwargs)
    summary = ExtractionSummary(
        steps=tuple(_printable_value(_jsonable_step(s, workdir)) for s in extraction.steps),
        problems=tuple(printable(p) for p in extraction.problems),
        neutralised_links=int(extraction.neutralised_links),
    )
    if not extraction.rootfs:
        detail = "; ".join(extraction.problems[:3])
        raise AnalysisError(
            f"{image}: no root file system could be extracted"
            + (f" ({detail})" if detail else "")
            + ": check that this is a firmware image"
        )
    roots = _roots(extraction.rootfs, workdir)

    walk = _Walk()
    with clock.phase(AnalysisPhase.WALK):
        counted = [_walk(root, i, prefix, walk) for i, (root, prefix) in enumerate(roots)]
        outputs = [s.output for s in extraction.steps if s.output is not None]
        outside = _outside_files(outputs, [r for r, _ in roots], workdir, walk.problems)
    problems += walk.problems

    # Hash every file; identical contents are analysed once.
    unreadable = 0
    by_hash: dict[str, str] = {}  # content hash -> one path holding it
    with clock.phase(AnalysisPhase.HASH, len(walk.files) + len(outside)):
        for item in [*walk.files, *outside]:
            try:
                item.sha256, _ = _digests(item.disk_path)
                by_hash.setdefault(item.sha256, item.disk_path)
            except OSError as e:
                unreadable += 1
                problems.append(f"{item.image_path}: cannot be read ({e.strerror or e})")
            watch.advanced(1)
    readable = [f for f in walk.files if f.sha256]
    outside = [f for f in outside if f.sha256]

    results: dict[str, FileAnalysis] = {}
    cached = cache.get_many(list(by_hash))
    for sha, data in cached.items():
        try:
            results[sha] = FileAnalysis.from_dict(data)
        except (KeyError, TypeError, ValueError):
            continue  # an unreadable cache entry is analysed again
    reused = len(results)
    pending = {sha: path for sha, path in by_hash.items() if sha not in results}
    fresh: dict[str, dict[str, Any]] = {}
    with clock.phase(AnalysisPhase.ANALYSE, len(pending)):
        for sha, done in _analyse_pending(pending, options, watch).items():
            if isinstance(done, str):
                continue  # reported per file below
            fresh[sha] = done
            results[sha] = FileAnalysis.from_dict(done)
    cache.put_many(fresh)

    truncated = 0
    for item in [*readable, *outside]:
        found = results.get(item.sha256)
        if found is None:
            unreadable += 1
            problems.append(f"{item.image_path}: cannot be read for analysis")
            continue
        if found.truncated:
            truncated += 1
            problems.append(
                f"{item.image_path}: larger than {options.max_content_bytes // (1024 * 1024)} "
                "MiB, analysed up to there"
            )
        problems += [f"{item.image_path}: {p}" for p in found.problems]

    components: list[IdentifiedComponent] = []
    findings: list[Finding] = []
    attempts: list[dict[str, Any]] = []
    hardening: dict[str, Any] = {}
    for index, (root, prefix) in enumerate(roots):
        mine = [f for f in readable if f.root == index and f.sha256 in results]
        hits = {f.tree_path: results[f.sha256].hits for f in mine if results[f.sha256].hits}
        if index == 0:
            # Kernels and boot loaders beside the roots belong to the image as a whole: their
            # evidence joins the best root's (the same kernel in a module and in the image
            # makes one component). Their paths never clash: they start with OUTSIDE_PREFIX.
            hits |= {
                f.image_path: results[f.sha256].hits
                for f in outside
                if f.sha256 in results and results[f.sha256].hits
            }
        elf = {
            f.tree_path: results[f.sha256].elf for f in mine if results[f.sha256].elf is not None
        }
        keys = {f.tree_path: results[f.sha256].keys for f in mine if results[f.sha256].keys}
        with clock.phase(AnalysisPhase.IDENTIFY):
            try:
                found_components = tuple(identify_components(root, hits))
            except Exception as e:  # noqa: BLE001 - the checks can still run
                problems.append(f"{prefix or '/'}: components could not be identified: {e}")
                found_components = ()
        with clock.phase(AnalysisPhase.CHECK):
            report = run_checks(CheckContext(root, elf, keys, found_components))
        components += [_prefixed_component(c, prefix) for c in found_components]
        findings += [_prefixed_finding(f, prefix) for f in report.findings]
        attempts += [_attempt_dict(a, prefix) for a in report.attempts]
        if index == 0:
            hardening = dict(report.hardening_summary)
        else:
            hardening.setdefault("other_rootfs", {})[prefix] = dict(report.hardening_summary)

    io_problems = len(problems)
    evidence_files = _evidence_files(components, [*readable, *outside], problems)
    contents = {f.sha256 for f in readable}
    counts = FileCounts(
        total=len(walk.files),
        unique=len(contents),
        analysed=len(fresh),
        reused=reused,
        duplicates=len(readable) - len(contents),
        symlinks=walk.symlinks,
        special=walk.special,
        unreadable=unreadable,
        truncated=truncated,
        bytes=sum(f.size for f in walk.files),
        outside=len(outside),
    )
    part = _ImagePart(
        rootfs=tuple(
            RootFs(printable(_shown_path(root, workdir)), printable(prefix), n)
            for (root, prefix), n in zip(roots, counted, strict=True)
        ),
        extraction=summary,
        components=tuple(_printable_component(c) for c in components),
        findings=tuple(_printable_finding(f) for f in findings),
        hardening=_printable_value(hardening),
        checks=tuple(_printable_value(a) for a in attempts),
        files=counts,
        evidence_files=tuple(
            dataclasses.replace(e, path=printable(e.path)) for e in evidence_files
        ),
        problems=tuple(printable(p) for p in problems),
        versions={
            "iotwarden": __version__,
            "signatures": SIGNATURES_VERSION,
            "checks": CHECKS_VERSION,
        },
    )
    # Kept for the next analysis of this image only when running it again would give the same:
    # not after a partial extraction (a time or size limit, a missing tool, a damaged
    # container: the next run may do better) nor when a file or folder could not be read.
    repeatable = (
        _extraction_complete(extraction)
        and not walk.problems
        and unreadable == 0
        and len(problems) == io_problems
    )
    return part, repeatable


def _extraction_complete(extraction: Any) -> bool:
    """No extraction step failed and nothing was noted but the links made safe (a note the
    extractor always adds last)."""
    problems = list(extraction.problems)
    if extraction.neutralised_links and problems:
        problems.pop()
    return not problems and not any(getattr(s, "error", None) for s in extraction.steps)


def printable(text: str) -> str:
    """Text that any UTF-8 output can hold: file names that are not UTF-8 reach Python as
    lone surrogates (os.fsdecode); their bytes are shown as escapes ('bad\\xff')."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a surrogate no file name decoding makes
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _printable_value(value: Any) -> Any:
    """Plain JSON data with printable text (check facts, finding details, extraction steps):
    what the report shows and the stored analysis of the image keeps, the same either way."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return printable(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {printable(str(k)): _printable_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable_value(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_printable_value(v) for v in value), key=str)
    if isinstance(value, bytes):
        return value.hex()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _printable_value(
            value.to_dict() if hasattr(value, "to_dict") else dataclasses.asdict(value)
        )
    return printable(str(value))  # a path, a date: as it is shown


def _printable_component(c: IdentifiedComponent) -> IdentifiedComponent:
    evidence = tuple(
        dataclasses.replace(e, path=printable(e.path), detail=printable(e.detail))
        for e in c.evidence
    )
    return dataclasses.replace(c, evidence=evidence)


def _printable_finding(f: Finding) -> Finding:
    return dataclasses.replace(
        f,
        title=printable(f.title),
        path=printable(f.path),
        evidence=printable(f.evidence),
        remediation=printable(f.remediation),
        details=_printable_value(f.details),
    )


def _prefixed_component(c: IdentifiedComponent, prefix: str) -> IdentifiedComponent:
    if not prefix:
        return c
    evidence = tuple(dataclasses.replace(e, path=prefix + e.path) for e in c.evidence)
    return dataclasses.replace(c, evidence=evidence)


def _prefixed_finding(f: Finding, prefix: str) -> Finding:
    if not prefix:
        return f
    return dataclasses.replace(f, path=prefix + f.path if f.path != "/" else prefix)


def _attempt_dict(attempt: Any, prefix: str) -> dict[str, Any]:
    if hasattr(attempt, "to_dict"):
        data = dict(attempt.to_dict())
    elif dataclasses.is_dataclass(attempt) and not isinstance(attempt, type):
        data = {k: _plain(v) for k, v in dataclasses.asdict(attempt).items()}
    else:
        data = {"attempt": str(attempt)}
    # Findings are listed once, at the top level of the report.
    data.pop("findings", None)
    if prefix:
        data["rootfs"] = prefix
    return data


def _evidence_files(
    components: Sequence[IdentifiedComponent], files: Sequence[_File], problems: list[str]
) -> tuple[EvidenceFile, ...]:
    wanted = {e.path for c in components for e in c.evidence}
    out = []
    for item in files:
        if item.image_path not in wanted:
            continue
        try:
            sha256, sha1 = _digests(item.disk_path, sha1=True)
        except OSError as e:
            problems.append(f"{item.image_path}: cannot be read ({e.strerror or e})")
            continue
        out.append(EvidenceFile(item.image_path, item.size, sha256, sha1 or ""))
    out.sort(key=lambda f: f.path)
    return tuple(out)


def evidence_of(component: IdentifiedComponent) -> tuple[Evidence, ...]:
    """The component's evidence, in path order (for reports)."""
    return tuple(sorted(component.evidence, key=lambda e: (e.path, e.offset or 0)))
