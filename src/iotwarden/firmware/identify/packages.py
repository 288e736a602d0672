"""Installed-package databases inside an extracted root file system: opkg (OpenWrt, Yocto) and
dpkg (Debian and derivatives).

Paths are resolved the way the device would resolve them (a symbolic link is followed as if
the root were ``/``), so a link can never lead outside the extracted tree. Unreadable or
malformed databases are reported as problems, never raised: one bad file must not stop an
analysis.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: A package database larger than this is read up to here (real ones are a few MiB).
MAX_DATABASE_BYTES = 64 * 1024 * 1024
MAX_CONTROL_FILES = 50_000
_MAX_LINKS = 40

OPKG_DIRS = ("/usr/lib/opkg", "/var/lib/opkg", "/etc/opkg")
DPKG_STATUS = "/var/lib/dpkg/status"
DPKG_STATUS_DIR = "/var/lib/dpkg/status.d"


@dataclass(frozen=True, slots=True)
class InstalledPackage:
    """One installed package as its package manager recorded it."""

    manager: str  # 'opkg' or 'dpkg'
    name: str
    version: str | None  # the full package version ('1:1.35.0-4+b3')
    architecture: str | None
    source: str | None  # the source package, when recorded
    database: str  # image path of the file it was read from

    @property
    def upstream_version(self) -> str | None:
        return upstream_version(self.version) if self.version else None


def upstream_version(version: str) -> str:
    """The upstream release inside a package version: no epoch, no packaging revision, no
    repack marker ('1:1.2.13.dfsg-1' -> '1.2.13', '1.1.1k-1' -> '1.1.1k')."""
    value = version.strip()
    # OpenWrt's kernel package: '5.4.143-1-5f4a14a3e9a4af6e3ee5a0fa1c2bad2d' (release, build
    # number, hash of the kernel configuration).
    value = re.sub(r"-\d+-[0-9a-f]{32}$", "", value)
    epoch, sep, rest = value.partition(":")
    if sep and epoch.isdigit():
        value = rest
    if "-" in value:
        value = value.rsplit("-", 1)[0]
    return re.split(r"[.+~](?:dfsg|ds|repack)", value, maxsplit=1)[0]


def resolve_in_root(root: Path, image_path: str) -> Path | None:
    """The host path of ``image_path`` inside ``root``, following symbolic links as the device
    would (absolute targets restart at ``root``, '..' stops at it). None if it does not exist
    or the links loop."""
    pending = [p for p in image_path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, part)
        try:
            info = os.lstat(candidate)
        except OSError:
            return None
        if stat.S_ISLNK(info.st_mode):
            links += 1
            if links > _MAX_LINKS:
                return None
            try:
                target = os.readlink(candidate)
            except OSError:
                return None
            if target.startswith("/"):
                resolved = []
            pending = [p for p in target.split("/") if p not in ("", ".")] + pending
            continue
        resolved.append(part)
    return root.joinpath(*resolved)


def read_in_root(root: Path, image_path: str, limit: int = MAX_DATABASE_BYTES) -> bytes | None:
    """A regular file's content (up to ``limit`` bytes) inside ``root``, or None."""
    path = resolve_in_root(root, image_path)
    if path is None:
        return None
    try:
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
    except OSError:
        return None
    # fstat before fdopen: fdopen itself raises on a directory (a database path that is, or
    # links to, a directory).
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as fh:
        try:
            return fh.read(limit)
        except OSError:
            return None


def _list_dir(root: Path, image_path: str) -> list[str]:
    path = resolve_in_root(root, image_path)
    if path is None:
        return []
    try:
        with os.scandir(path) as entries:
            names = []
            for entry in entries:
                names.append(entry.name)
                if len(names) >= MAX_CONTROL_FILES:
                    break
            return sorted(names)
    except OSError:
        return []


def parse_control(text: str) -> Iterator[dict[str, str]]:
    """Paragraphs of a Debian-style control file ('Field: value', continuation lines start
    with white space, paragraphs are separated by blank lines)."""
    fields: dict[str, str] = {}
    last: str | None = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, last = {}, None
            continue
        if line[0] in " \t":
            if last is not None:
                fields[last] += "\n" + line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue  # garbage line: skip it, keep the paragraph
        last = key.strip().lower()
        fields[last] = value.strip()
    if fields:
        yield fields


def _installed(fields: dict[str, str]) -> bool:
    status = fields.get("status")
    if status is None:
        return True  # control files carry no status: the package is there
    words = status.split()
    return bool(words) and words[-1] == "installed" and words[0] != "deinstall"


def _package(manager: str, fields: dict[str, str], database: str) -> InstalledPackage | None:
    name = fields.get("package", "").strip()
    if not name or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9+._-]{0,127}", name):
        return None
    source = fields.get("source")
    if source:
        source = source.split()[0]
    return InstalledPackage(
        manager=manager,
        name=name,
        version=fields.get("version") or None,
        architecture=fields.get("architecture") or None,
        source=source or None,
        database=database,
    )


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def read_opkg(root: Path) -> tuple[list[InstalledPackage], list[str]]:
    """Packages recorded by opkg: its status file, completed by ``info/*.control``."""
    found: dict[str, InstalledPackage] = {}
    removed: set[str] = set()  # the status says so: a stale control file does not bring it back
    problems: list[str] = []
    for directory in OPKG_DIRS:
        status_path = f"{directory}/status"
        raw = read_in_root(root, status_path)
        if raw is not None:
            for fields in parse_control(_decode(raw)):
                package = _package("opkg", fields, status_path)
                if package is None:
                    continue
                if _installed(fields):
                    found.setdefault(package.name, package)
                else:
                    removed.add(package.name)
        info = f"{directory}/info"
        for name in _list_dir(root, info):
            if not name.endswith(".control"):
                continue
            control_path = f"{info}/{name}"
            raw = read_in_root(root, control_path, 1024 * 1024)
            if raw is None:
                problems.append(f"{control_path}: cannot be read")
                continue
            for fields in parse_control(_decode(raw)):
                package = _package("opkg", fields, control_path)
                if package is None or package.name in removed:
                    continue
                known = found.get(package.name)
                if known is None or (known.version is None and package.version):
                    found[package.name] = package
                break
    return list(found.values()), problems


def read_dpkg(root: Path) -> tuple[list[InstalledPackage], list[str]]:
    """Packages dpkg records as installed (``status``, and ``status.d/`` of distroless images)."""
    found: dict[tuple[str, str | None], InstalledPackage] = {}
    problems: list[str] = []
    sources = [DPKG_STATUS] + [
        f"{DPKG_STATUS_DIR}/{name}"
        for name in _list_dir(root, DPKG_STATUS_DIR)
        if not name.endswith(".md5sums")
    ]
    for database in sources:
        raw = read_in_root(root, database)
        if raw is None:
            if database != DPKG_STATUS:
                problems.append(f"{database}: cannot be read")
            continue
        for fields in parse_control(_decode(raw)):
            package = _package("dpkg", fields, database)
            if package is not None and _installed(fields):
                found.setdefault((package.name, package.architecture), package)
    return list(found.values()), problems


def read_installed_packages(root: Path) -> tuple[list[InstalledPackage], list[str]]:
    """Every package the image's package managers record as installed, and read problems."""
    opkg, opkg_problems = read_opkg(root)
    dpkg, dpkg_problems = read_dpkg(root)
    return opkg + dpkg, opkg_problems + dpkg_problems


def distribution_id(root: Path) -> str | None:
    """The ``ID`` of ``/etc/os-release`` (or ``/usr/lib/os-release``): 'debian', 'ubuntu', ..."""
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        raw = read_in_root(root, path, 64 * 1024)
        if raw is None:
            continue
        for line in _decode(raw).splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == "ID":
                value = value.strip().strip("'\"").lower()
                if re.fullmatch(r"[a-z0-9._-]{1,40}", value):
                    return value
    return None
