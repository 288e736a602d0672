"""Tree-level identification: join per-file signature hits, version-bearing file names and the
installed-package databases into one list of components, each with all its evidence.

Evidence is grouped by (component, version): libssl, libcrypto and the openssl tool reporting
the same release make one OpenSSL component with three pieces of evidence; two releases in
different files make two components, each with its own files. Version-less evidence joins the
component's only version when there is exactly one; otherwise it is reported as a version-less
component of its own (never attached to a guessed release).

A package built from a snapshot after a release ('2.4.8.git-2020-10-03', '1.36.1+git20230101',
'2.4.9~rc1') is the release its programs report: when other evidence reads the release the
package version starts with ('2.4.8'), the two are one component of that release, with the
package database among its evidence (the full package version is in its detail).

A library's version string in a program that links the library dynamically (the scanner's
``linked``: hostapd links libssl.so.3 and keeps "OpenSSL 3.0.16 ..." only to log the headers it
was built against) is not a copy of the library. It is weak evidence and never makes a version
of its own while the library is there: it joins the version read from the linked library files
themselves (libcrypto.so.3 gives 3.0.20), else the version(s) the rest of the evidence gives;
only when nothing else names a version of the component does it stand alone (weak, so LOW).
A program that carries the string without linking the library has it built in (statically
linked): that copy keeps its own version.

Confidence rule:

* HIGH   - a package database records it (opkg, dpkg); or its version was read by a strong
           pattern in at least two files, or in the component's own binary (``libssl.so.1.0.0``
           for OpenSSL, ``dropbear`` for Dropbear).
* MEDIUM - its version was read by a strong pattern in one file that is not its own (a library
           linked statically into another program); or only weak evidence (a weak pattern, a
           version-bearing file name) but in its own file or in two files.
* LOW    - a single weak string; or no version could be read at all (present, version unknown).

A linking program's header version is shown as evidence but counts for nothing here.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packageurl import PackageURL

from iotwarden.firmware.identify.packages import (
    InstalledPackage,
    distribution_id,
    read_installed_packages,
)
from iotwarden.firmware.identify.scanner import SignatureHit
from iotwarden.firmware.identify.signatures import Signature, load_signatures, signatures_by_id
from iotwarden.firmware.model import Confidence, Evidence, IdentifiedComponent

#: Evidence items kept per component; the rest are summed up in one last item (a kernel has
#: hundreds of modules that all say the same thing).
MAX_EVIDENCE = 25
#: Files looked at for version-bearing names (a tree walk, names only).
MAX_WALKED_FILES = 500_000
# What follows the release in a snapshot or pre-release package version: '.git-2020-10-03',
# '+git20230101', '~rc1', '-r1' (the packaging revision itself is already cut).
_AFTER_RELEASE = re.compile(r"[._~+-]?git|[~+-]")
# A release has dotted parts: '2020-03-13' is a date, not release 2020 plus a suffix.
_RELEASE = re.compile(r"\d+(?:\.[0-9A-Za-z]+)+")


@dataclass(frozen=True, slots=True)
class _Seen:
    """One piece of evidence and what it weighs."""

    evidence: Evidence
    own_file: bool = False
    weak: bool = False
    package: InstalledPackage | None = None
    #: A linking program's header version (module doc): shows use, not the release.
    header: bool = False


def identify_components(
    root: Path, hits: Mapping[str, Sequence[SignatureHit]]
) -> tuple[IdentifiedComponent, ...]:
    """The components of the root file system at ``root``.

    ``hits`` maps image paths ('/usr/lib/libssl.so.1.0.0') to the signature hits of that file
    (``scan_content``). Package databases and file names are read from ``root`` itself, never
    through a link that leads outside it.
    """
    signatures = signatures_by_id()
    groups: dict[tuple[str, str | None], list[_Seen]] = {}

    def add(sid: str, version: str | None, seen: _Seen) -> None:
        groups.setdefault((sid, version), []).append(seen)

    linked: list[tuple[str, SignatureHit]] = []
    for path, file_hits in sorted(hits.items()):
        base = posixpath.basename(path)
        for hit in file_hits:
            signature = signatures.get(hit.signature)
            if signature is None:
                continue  # a hit cached by an older catalogue
            own = signature.owns_file(base)
            if hit.linked and not own and hit.version is not None:
                linked.append((path, hit))  # placed once all other evidence is known
                continue
            detail = f"signature {signature.id}: {hit.matched!r}"
            add(
                signature.id,
                hit.version,
                _Seen(
                    Evidence(path, detail, hit.offset),
                    own,
                    hit.weak or bool(hit.linked and not own),
                ),
            )

    for path, signature, version in _versioned_file_names(root, load_signatures()):
        detail = f"file name {posixpath.basename(path)!r} carries version {version}"
        add(signature.id, version, _Seen(Evidence(path, detail), own_file=True, weak=True))

    packages, _problems = read_installed_packages(root)
    unknown: list[InstalledPackage] = []
    for package in packages:
        owners = [s for s in signatures.values() if s.owns_package(package.name)]
        related = [s for s in signatures.values() if s.relates_to_package(package.name)]
        for signature in owners:
            add(signature.id, package.upstream_version, _package_seen(package))
        for signature in related:
            detail = (
                f"{package.manager} package {package.name} {package.version or ''} is built "
                f"on {signature.id}"
            ).replace("  ", " ")
            add(signature.id, None, _Seen(Evidence(package.database, detail), weak=True))
        if not owners and not related:
            unknown.append(package)

    _join_snapshot_packages(groups)
    for path, hit in linked:
        detail = (
            f"signature {hit.signature}: {hit.matched!r} is the version of the headers it was "
            f"built against (it links {', '.join(hit.linked)})"
        )
        seen = _Seen(Evidence(path, detail, hit.offset), weak=True, header=True)
        for target in _linked_versions(hit, groups):
            add(hit.signature, target, seen)
    distro = distribution_id(root) if any(p.manager == "dpkg" for p in packages) else None
    components: list[IdentifiedComponent] = []
    for sid in sorted({sid for sid, _ in groups}):
        components += _components_of(signatures[sid], groups, distro)
    components += [_unknown_package(p, distro) for p in unknown]
    components.sort(key=lambda c: (c.name, c.version or "", c.purl or ""))
    return tuple(components)


def release_of(version: str) -> str:
    """The release a package version builds on: '2.4.8.git-2020-10-03' -> '2.4.8',
    '1.36.1+git20230101' -> '1.36.1', '2.4.9~rc1' -> '2.4.9'; a plain release, or a version
    that does not start with one ('2020-03-13-40b563b1'), is itself."""
    release = _AFTER_RELEASE.split(version, maxsplit=1)[0]
    return release if _RELEASE.fullmatch(release) else version


def _join_snapshot_packages(groups: dict[tuple[str, str | None], list[_Seen]]) -> None:
    """Move a snapshot package's evidence to the release other evidence reads (module doc)."""
    for sid, version in list(groups):
        if version is None:
            continue
        seen = groups[(sid, version)]
        if not any(s.package is not None for s in seen):
            continue
        release = release_of(version)
        if release != version and (sid, release) in groups:
            groups[(sid, release)] += groups.pop((sid, version))


def _linked_versions(
    hit: SignatureHit, groups: Mapping[tuple[str, str | None], list[_Seen]]
) -> list[str | None]:
    """The versions a linked hit's evidence joins (the rule in the module docstring)."""
    known = sorted(v for sid, v in groups if sid == hit.signature and v is not None)

    def from_library(version: str) -> bool:
        return any(
            _is_soname_file(posixpath.basename(s.evidence.path), hit.linked)
            for s in groups[(hit.signature, version)]
        )

    in_library = [v for v in known if from_library(v)]
    if in_library:
        return list(in_library)
    if known:
        return list(known)
    return [hit.version]


def _is_soname_file(base: str, sonames: Sequence[str]) -> bool:
    """Whether a file named ``base`` is the library a program links as one of ``sonames``
    (libcrypto.so.3, or libcrypto.so.1.0.0 for the soname libcrypto.so.1.0)."""
    return any(base == name or base.startswith(name + ".") for name in sonames)


def _package_seen(package: InstalledPackage) -> _Seen:
    detail = f"{package.manager} package {package.name}"
    if package.version:
        detail += f" {package.version}"
    if package.architecture:
        detail += f" ({package.architecture})"
    detail += " installed"
    return _Seen(Evidence(package.database, detail), own_file=True, package=package)


def _components_of(
    signature: Signature,
    groups: Mapping[tuple[str, str | None], list[_Seen]],
    distro: str | None,
) -> list[IdentifiedComponent]:
    versions = sorted(v for sid, v in groups if sid == signature.id and v is not None)
    loose = list(groups.get((signature.id, None), ()))
    out = []
    for version in versions:
        seen = list(groups[(signature.id, version)])
        if len(versions) == 1:
            seen += loose
        out.append(_component(signature, version, seen, distro))
    if loose and len(versions) != 1:
        out.append(_component(signature, None, loose, distro))
    return out


def _component(
    signature: Signature, version: str | None, seen: list[_Seen], distro: str | None
) -> IdentifiedComponent:
    packages = [s.package for s in seen if s.package is not None]
    source = "signature"
    if signature.id == "linux_kernel":
        source = "kernel"
    purl = signature.purl(version)
    if packages:
        preferred = sorted(packages, key=lambda p: (p.name != signature.id, p.manager, p.name))
        chosen = preferred[0]
        source = chosen.manager
        if chosen.manager == "dpkg":
            purl = _deb_purl(chosen, distro)
    return IdentifiedComponent(
        name=signature.id,
        version=version,
        confidence=_confidence(version, seen),
        evidence=_evidence(seen),
        purl=purl,
        cpe=signature.cpe(version),
        supplier=signature.supplier,
        source=source,
    )


def _confidence(version: str | None, seen: Sequence[_Seen]) -> Confidence:
    """The rule in the module docstring."""
    if any(s.package is not None for s in seen):
        return Confidence.HIGH
    if version is None:
        return Confidence.LOW
    files = {s.evidence.path for s in seen if not s.header}
    strong = [s for s in seen if not s.weak]
    own = any(s.own_file for s in seen)
    if strong and (len(files) >= 2 or own):
        return Confidence.HIGH
    if strong or own or len(files) >= 2:
        return Confidence.MEDIUM
    return Confidence.LOW


def _evidence(seen: Sequence[_Seen]) -> tuple[Evidence, ...]:
    ordered: list[Evidence] = []
    keys: set[tuple[str, str]] = set()
    # Package databases first, then the component's own files, then the rest, by path.
    for item in sorted(
        seen, key=lambda s: (s.package is None, not s.own_file, s.weak, s.evidence.path)
    ):
        key = (item.evidence.path, item.evidence.detail)
        if key not in keys:
            keys.add(key)
            ordered.append(item.evidence)
    if len(ordered) <= MAX_EVIDENCE:
        return tuple(ordered)
    kept = ordered[: MAX_EVIDENCE - 1]
    rest = ordered[MAX_EVIDENCE - 1 :]
    files = len({e.path for e in rest})
    summary = Evidence(rest[0].path, f"and {len(rest)} more pieces of evidence in {files} files")
    return (*kept, summary)


def _deb_purl(package: InstalledPackage, distro: str | None) -> str:
    qualifiers = {"arch": package.architecture} if package.architecture else None
    return str(
        PackageURL(
            type="deb",
            namespace=distro or "debian",
            name=package.name,
            version=package.version,
            qualifiers=qualifiers,
        ).to_string()
    )


def _unknown_package(package: InstalledPackage, distro: str | None) -> IdentifiedComponent:
    """A package no signature knows: kept as its package manager names it (full version)."""
    if package.manager == "dpkg":
        purl = _deb_purl(package, distro)
    else:
        qualifiers = {"arch": package.architecture} if package.architecture else None
        purl = str(
            PackageURL(
                type="opkg", name=package.name, version=package.version, qualifiers=qualifiers
            ).to_string()
        )
    return IdentifiedComponent(
        name=package.name,
        version=package.version,
        confidence=Confidence.HIGH,
        evidence=(_package_seen(package).evidence,),
        purl=purl,
        cpe=None,
        supplier=None,
        source=package.manager,
    )


def _versioned_file_names(
    root: Path, signatures: Iterable[Signature]
) -> Iterable[tuple[str, Signature, str]]:
    """(image path, signature, version) for each regular file whose name carries a version."""
    named = [s for s in signatures if s.filenames]
    if not named:
        return
    walked = 0
    for directory, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            walked += 1
            if walked > MAX_WALKED_FILES:
                return
            for signature in named:
                for regex in signature.filenames:
                    match = regex.match(name)
                    if match is None:
                        continue
                    host = os.path.join(directory, name)
                    try:
                        if not stat.S_ISREG(os.lstat(host).st_mode):
                            continue
                    except OSError:
                        continue
                    relative = os.path.relpath(host, root).replace(os.sep, "/")
                    yield "/" + relative, signature, match.group("version")
