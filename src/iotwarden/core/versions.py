"""Version schemes and ranges: build ranges from the shapes advisories use (OSV events, CVE 5
bounds, NVD start/end, free text such as ``>=1.0.1|<=1.0.1f``), compare versions in their own
scheme, and test whether a version lies in a range with the `vers` containment rules.

Ecosystem schemes (pypi, deb, rpm, maven, ...) are compared with univers; embedded-firmware
versions ("generic": OpenSSL letter releases, ``V4.3.8``, ``13 SP2``, ``01.19.000``) with the
tokenising comparator here, which univers' semver-based generic scheme cannot do.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from iotwarden.core.errors import VersionError
from iotwarden.core.models import Constraint, RangeKind, VersionRange

COMPARATORS = ("<=", ">=", "!=", "<", ">", "=")

# --- comparison -------------------------------------------------------------------------------

# Words that make a version *earlier* than the same version without them (1.0.0-rc1 < 1.0.0).
_PRERELEASE_ORDER = {
    "dev": 0,
    "snapshot": 0,
    "a": 1,
    "alpha": 1,
    "b": 2,
    "beta": 2,
    "pre": 3,
    "preview": 3,
    "c": 4,
    "rc": 4,
    "cr": 4,
}
# Single letters are prerelease markers only after a separator (1.0-a1); glued to a number
# they are OpenSSL-style patch letters (1.0.1a > 1.0.1).
_PRERELEASE_WORDS = {w for w in _PRERELEASE_ORDER if len(w) > 1}
_TOKEN = re.compile(r"\d+|[a-z]+")
_LEADING_V = re.compile(r"^(?:version|ver|rev|v|r)(?=\d)", re.IGNORECASE)

_Token = tuple[int, int | str]  # (rank, value): rank 0 prerelease word, 1 other word, 2 number


def _generic_key(version: str) -> tuple[_Token, ...]:
    text = _LEADING_V.sub("", version.strip().lower())
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(text):
        tok = match.group(0)
        if tok.isdigit():
            tokens.append((2, int(tok)))
        elif tok in _PRERELEASE_WORDS:
            tokens.append((0, _PRERELEASE_ORDER[tok]))
        else:
            tokens.append((1, tok))
    if not tokens:
        raise VersionError(f"{version!r} is not a version (no digits or letters)")
    return tuple(tokens)


def _compare_generic(a: str, b: str) -> int:
    ka, kb = _generic_key(a), _generic_key(b)
    for ta, tb in zip(ka, kb, strict=False):
        if ta == tb:
            continue
        if ta[0] != tb[0]:
            return -1 if ta[0] < tb[0] else 1
        return -1 if ta[1] < tb[1] else 1  # type: ignore[operator]  # same rank, same type
    if len(ka) == len(kb):
        return 0
    longer, sign = (ka, 1) if len(ka) > len(kb) else (kb, -1)
    rest = longer[min(len(ka), len(kb)) :]
    if all(tok == (2, 0) for tok in rest):
        return 0  # 2.0 == 2.0.0
    # The longer one is greater unless what it adds is a prerelease marker.
    return -sign if rest[0][0] == 0 else sign


@functools.cache
def _univers_table() -> dict[str, type]:
    from univers import versions as uv

    return {
        "pypi": uv.PypiVersion,
        "semver": uv.SemverVersion,
        "npm": uv.SemverVersion,
        "deb": uv.DebianVersion,
        "rpm": uv.RpmVersion,
        "maven": uv.MavenVersion,
        "golang": uv.GolangVersion,
        "cargo": uv.SemverVersion,
        "gem": uv.RubygemsVersion,
        "nuget": uv.NugetVersion,
        "apk": uv.AlpineLinuxVersion,
        "composer": uv.ComposerVersion,
        "hex": uv.SemverVersion,  # Hex (Elixir/Erlang) versions are SemVer 2.0
    }


def _univers_class(scheme: str) -> type | None:
    return _univers_table().get(scheme)


@functools.lru_cache(maxsize=65536)
def _univers_version(scheme: str, version: str) -> object:
    cls = _univers_class(scheme)
    if cls is None:
        raise VersionError(f"no univers version class for scheme {scheme!r}")
    try:
        return cls(version)
    except Exception as e:  # univers raises assorted types for bad input
        raise VersionError(f"{version!r} is not a valid {scheme} version: {e}") from e


@functools.lru_cache(maxsize=1 << 20)
def compare_versions(scheme: str, a: str, b: str) -> int:
    """-1, 0 or 1. Raises VersionError when either is not a version of ``scheme``.

    Cached: a fleet carries few distinct versions of a component and advisories bound their
    ranges with the same releases, so a batch rematch compares the same pairs again and again.
    """
    if _univers_class(scheme) is not None:
        va, vb = _univers_version(scheme, a), _univers_version(scheme, b)
        with contextlib.suppress(TypeError, ValueError, AttributeError):
            # univers refuses some cross-form comparisons: fall back to the generic one
            return -1 if va < vb else (1 if va > vb else 0)  # type: ignore[operator]
    return _compare_generic(a, b)


def version_sort_key(scheme: str) -> Callable[[str], Any]:
    return functools.cmp_to_key(lambda a, b: compare_versions(scheme, a, b))


# --- scheme names -----------------------------------------------------------------------------

_ECOSYSTEM_SCHEMES = {
    "pypi": "pypi",
    "npm": "npm",
    "debian": "deb",
    "ubuntu": "deb",
    "rpm": "rpm",
    "red hat": "rpm",
    "almalinux": "rpm",
    "rocky linux": "rpm",
    "suse": "rpm",
    "opensuse": "rpm",
    "photon os": "rpm",
    "mageia": "rpm",
    "openeuler": "rpm",
    "azure linux": "rpm",
    "mariner": "rpm",
    "maven": "maven",
    "go": "golang",
    "crates.io": "cargo",
    "rubygems": "gem",
    "nuget": "nuget",
    "alpine": "apk",
    "wolfi": "apk",
    "chainguard": "apk",
    "hex": "hex",
    "packagist": "composer",
}


def scheme_for_ecosystem(ecosystem: str | None) -> str:
    """The version scheme of an OSV ecosystem ('Debian:12' -> 'deb'); 'generic' otherwise."""
    if not ecosystem:
        return "generic"
    base = ecosystem.split(":", 1)[0].strip().lower()
    return _ECOSYSTEM_SCHEMES.get(base, "generic")


# --- building ranges --------------------------------------------------------------------------


def all_versions(scheme: str = "generic", raw: str | None = None) -> VersionRange:
    return VersionRange(kind=RangeKind.ALL, scheme=scheme, raw=raw)


def unparsed(raw: str, scheme: str = "generic") -> VersionRange:
    return VersionRange(kind=RangeKind.UNPARSED, scheme=scheme, raw=raw)


def no_version(raw: str = "-") -> VersionRange:
    return VersionRange(kind=RangeKind.NONE, scheme="generic", raw=raw)


def exact_versions(
    versions: Iterable[str], scheme: str = "generic", raw: str | None = None
) -> VersionRange:
    found = tuple(dict.fromkeys(v for v in versions if v))
    if not found:
        raise VersionError("an exact-versions range needs at least one version")
    return VersionRange(
        kind=RangeKind.CONSTRAINTS,
        scheme=scheme,
        constraints=tuple(Constraint("=", v) for v in found),
        raw=raw,
    )


def from_constraints(
    constraints: Sequence[Constraint], scheme: str = "generic", raw: str | None = None
) -> VersionRange:
    if not constraints:
        raise VersionError("a range needs at least one constraint")
    return VersionRange(
        kind=RangeKind.CONSTRAINTS,
        scheme=scheme,
        constraints=_sorted(constraints, scheme),
        raw=raw,
    )


def from_bounds(
    scheme: str,
    start: str | None = None,
    *,
    start_inclusive: bool = True,
    end: str | None = None,
    end_inclusive: bool = False,
    raw: str | None = None,
) -> VersionRange:
    """A single interval (NVD versionStart/End..., CVE 5 version + lessThan).

    None (or '*', or a start of '0') leaves that side open. A bound that was given but cannot
    be read (an empty string, a wildcard such as '4*') makes the range UNPARSED: it never
    widens to "all versions".
    """
    if _unreadable_bound(start) or _unreadable_bound(end):
        if raw is None:
            given = (("start", start), ("end", end))
            raw = " ".join(f"{name}={value!r}" for name, value in given if value is not None)
        return unparsed(raw, scheme)
    constraints: list[Constraint] = []
    if start and start not in ("0", "*"):
        constraints.append(Constraint(">=" if start_inclusive else ">", start))
    if end and end != "*":
        constraints.append(Constraint("<=" if end_inclusive else "<", end))
    if not constraints:
        return all_versions(scheme, raw)
    return from_constraints(constraints, scheme, raw)


def _unreadable_bound(value: str | None) -> bool:
    if value is None:
        return False
    text = value.strip()
    return not text or ("*" in text and text != "*")


def from_osv_events(
    scheme: str, events: Sequence[tuple[str, str]], raw: str | None = None
) -> VersionRange:
    """Build a range from OSV events [('introduced','1.0'), ('fixed','1.2'), ...].

    ``introduced`` is inclusive, ``fixed`` exclusive, ``last_affected`` inclusive; ``limit``
    only bounds GIT walks and is ignored for versions. Introduced "0" means "from the start".
    """
    constraints: list[Constraint] = []
    open_start: str | None = None
    has_open = False
    for kind, version in events:
        if kind == "introduced":
            start = None if version == "0" else version
            if has_open:
                # two introduced in a row: the interval stays open; keep the earliest start
                if open_start is not None and (
                    start is None or _earlier(scheme, start, open_start)
                ):
                    open_start = start
                continue
            has_open = True
            open_start = start
        elif kind in ("fixed", "last_affected"):
            if not has_open:
                continue  # a stray end without a start bounds nothing
            if open_start is not None:
                constraints.append(Constraint(">=", open_start))
            constraints.append(Constraint("<" if kind == "fixed" else "<=", version))
            has_open = False
            open_start = None
    if has_open:
        if open_start is None:
            return all_versions(scheme, raw)
        constraints.append(Constraint(">=", open_start))
    if not constraints:
        raise VersionError("OSV events describe no affected version (no 'introduced')")
    return from_constraints(constraints, scheme, raw)


def _earlier(scheme: str, a: str, b: str) -> bool:
    """a < b in ``scheme``; False when they cannot be compared (the first one seen stays)."""
    try:
        return compare_versions(scheme, a, b) < 0
    except VersionError:
        return False


def _sorted(constraints: Sequence[Constraint], scheme: str) -> tuple[Constraint, ...]:
    return _sorted_cached(tuple(constraints), scheme)


@functools.lru_cache(maxsize=1 << 16)
def _sorted_cached(constraints: tuple[Constraint, ...], scheme: str) -> tuple[Constraint, ...]:
    if len(constraints) < 2:
        return tuple(constraints)
    try:
        key = version_sort_key(scheme)
        return tuple(sorted(constraints, key=lambda c: key(c.version)))
    except VersionError:
        return tuple(constraints)  # keep the source's order when a version is not comparable


# --- free text --------------------------------------------------------------------------------

# A parenthesis written apart from a version ("<= 1.0.3 (3354)"); one glued to it is part of
# the version (Cisco's "12.2(55)SE").
_PAREN = re.compile(r"(?:^|(?<=\s))\(([^()]*)\)")
# What such a parenthesis may hold and still be read: a build number, a per-CVE note (CISA
# writes "(only affected by CVE-2019-10943)"; the text stays in ``raw``), or the direction of
# the bound ("(and earlier)"). Anything else qualifies the range in words: the text is kept
# UNPARSED rather than read as if the words were not there.
_PAREN_NUMBER = re.compile(r"^#?\d[\d.]*$")
_PAREN_CVE_NOTE = re.compile(
    r"^only affected by CVE-\d{4}-\d{4,}(?:\s*(?:,|and|&)\s*CVE-\d{4}-\d{4,})*$", re.I
)
_DIRECTION_WORDS = (
    r"(?:earlier|prior|older|before|below|lower|previous(?: versions)?"
    r"|later|newer|above|higher|after)"
)
_PAREN_DIRECTION = re.compile(rf"^(?:and|or)\s+{_DIRECTION_WORDS}$", re.I)
_OP_TOKEN = re.compile(r"(<=|>=|!=|==|=<|=>|<|>|=)\s*([^<>=!|]+)")
_ALL_WORDS = re.compile(r"^(?:all(?:\s+(?:versions?|releases?|firmware))?|any(?: version)?|\*)$")
_ALL_PREFIX = re.compile(r"^all\s+(?:versions?|releases?)\s*", re.IGNORECASE)
_WORD_PREFIX = re.compile(
    r"^(?:(?:all\s+)?(?:firmware\s+|software\s+)?versions?\s+|firmware\s+|release\s+)",
    re.IGNORECASE,
)
_BEFORE = re.compile(r"^(?:prior to|before|earlier than|older than|below|lower than)\s+(.+)$", re.I)
_UP_TO = re.compile(r"^(?:up to(?: and including)?|through|until|to)\s+(.+)$", re.I)
_AND_EARLIER = re.compile(
    r"^(.+?)\s+(?:and|or)\s+(?:earlier|prior|older|before|below|lower|previous(?: versions)?)$",
    re.I,
)
_AND_LATER = re.compile(r"^(.+?)\s+(?:and|or)\s+(?:later|newer|above|higher|after)$", re.I)
_SPAN = re.compile(r"^(.+?)\s+(?:to|through|thru|-|–)\s+(.+)$", re.I)
# 'V2.0-V2.5': two dotted versions (same optional prefix) joined by a hyphen, generic scheme only.
_HYPHEN_SPAN = re.compile(
    r"^([A-Za-z]{0,3})(\d+(?:\.\d+)+)\s*[-–]\s*((?:\1)?)(\d+(?:\.\d+)+)$", re.I
)
# A series wildcard: '1.x', '2.0.x', 'V3.X', '2.0.*'.
_SERIES_WILDCARD = re.compile(r"^([A-Za-z]{0,8}\d+(?:\.\d+)*)\.[xX*]$")
# A version: optional letters, a digit-led token, then at most three qualifiers that each carry
# a number ("13 SP2", "7.3 Update 11", "V3.15 P038"); "4.2 with custom build" is not one.
_NOT_QUALIFIER = r"(?!(?:and|or|to|thru|through|with|for|until|up|before|after|prior)\b)"
_VERSIONISH = re.compile(
    r"^[A-Za-z]{0,8}[_.-]?\d[\w.+~:()-]*"
    rf"(?:[ _]{_NOT_QUALIFIER}[A-Za-z]{{0,8}}[ _]?\d+\w*){{0,3}}$",
    re.IGNORECASE,
)


def next_series(prefix: str) -> str:
    """The first version after a series: '5.15' -> '5.16', 'V3' -> 'V4'."""
    match = re.search(r"(\d+)$", prefix)
    if match is None:
        raise VersionError(f"{prefix!r} does not end in a number")
    return prefix[: match.start()] + str(int(match.group(1)) + 1)


def _clean_version(text: str) -> str | None:
    version = text.strip().strip(",;")
    if not version or len(version) > 48 or not any(ch.isdigit() for ch in version):
        return None
    if not _VERSIONISH.match(version):
        return None
    return version


def _read_bound(written: Constraint) -> list[Constraint] | None:
    """The constraints one written bound stands for: a version, or a whole series ('8.x')."""
    text = written.version.strip().strip(",;")
    series = _SERIES_WILDCARD.match(text)
    if series:
        first = series.group(1)
        after = next_series(first)
        return {
            "=": [Constraint(">=", first), Constraint("<", after)],
            "<": [Constraint("<", first)],
            "<=": [Constraint("<", after)],
            ">=": [Constraint(">=", first)],
            ">": [Constraint(">=", after)],
        }.get(written.comparator)
    version = _clean_version(text)
    return [Constraint(written.comparator, version)] if version else None


def _read_bounds(written: Sequence[Constraint]) -> list[Constraint] | None:
    out: list[Constraint] = []
    for bound in written:
        read = _read_bound(bound)
        if read is None:
            return None
        out.extend(read)
    return out


def _parse_part(part: str, scheme: str) -> list[Constraint] | None:
    part = part.strip()
    if not part:
        return None
    if "<" in part or ">" in part or "=" in part:
        if not part.lstrip().startswith(("<", ">", "=", "!")):
            return None
        found = _OP_TOKEN.findall(part)
        if not found or "".join(op + ver for op, ver in found).replace(" ", "") != part.replace(
            " ", ""
        ):
            return None
        return _read_bounds(
            [Constraint({"==": "=", "=<": "<=", "=>": ">="}.get(op, op), ver) for op, ver in found]
        )
    rules: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], list[Constraint]]], ...] = (
        (_BEFORE, lambda m: [Constraint("<", m.group(1))]),
        (_UP_TO, lambda m: [Constraint("<=", m.group(1))]),
        (_AND_EARLIER, lambda m: [Constraint("<=", m.group(1))]),
        (_AND_LATER, lambda m: [Constraint(">=", m.group(1))]),
        (_SPAN, lambda m: [Constraint(">=", m.group(1)), Constraint("<=", m.group(2))]),
    )
    for pattern, build in rules:
        match = pattern.match(part)
        if match:
            return _read_bounds(build(match))
    if scheme == "generic":
        span = _HYPHEN_SPAN.match(part)
        if span:
            low = span.group(1) + span.group(2)
            high = span.group(3) + span.group(4)
            if _compare_generic(low, high) < 0:
                return [Constraint(">=", low), Constraint("<=", high)]
    return _read_bound(Constraint("=", part))


def _without_notes(text: str) -> str | None:
    """The text with its parenthesised notes resolved (see _PAREN); None when one of them
    qualifies the range in words that cannot be read."""
    unreadable = False

    def resolve(match: re.Match[str]) -> str:
        nonlocal unreadable
        inner = match.group(1).strip()
        if not inner or _PAREN_NUMBER.match(inner) or _PAREN_CVE_NOTE.match(inner):
            return " "
        if _PAREN_DIRECTION.match(inner):
            return f" {inner} "
        unreadable = True
        return " "

    body = _PAREN.sub(resolve, text)
    return None if unreadable else re.sub(r"\s+", " ", body).strip()


def parse_vers(text: str) -> VersionRange:
    """Parse a `vers` URI. ``vers:all/...`` (seen in real CSAF) is read as the generic scheme."""
    stripped = text.strip()
    if not stripped.lower().startswith("vers:"):
        raise VersionError(f"{text!r} is not a vers range (it must start with 'vers:')")
    body = stripped[len("vers:") :]
    scheme, sep, spec = body.partition("/")
    if not sep:
        raise VersionError(f"{text!r} is not a vers range (no '/' after the scheme)")
    scheme = scheme.strip().lower()
    if scheme in ("all", ""):
        scheme = "generic"
    spec = spec.strip()
    if spec == "*":
        return all_versions(scheme, text)
    constraints: list[Constraint] = []
    for written in spec.split("|"):
        piece = written.strip()
        if not piece:
            raise VersionError(f"{text!r} has an empty constraint")
        op = next((c for c in COMPARATORS if piece.startswith(c)), "=")
        version = piece[len(op) :].strip() if op != "=" or piece.startswith("=") else piece
        if not version:
            raise VersionError(f"{text!r} has a constraint without a version")
        constraints.append(Constraint(op, version))
    return from_constraints(constraints, scheme, text)


def parse_range_text(text: str, scheme: str = "generic") -> VersionRange:
    """Read a free-text range as vendors write them in CSAF and ICS advisories.

    Returns an UNPARSED range (text kept verbatim) when the text is not understood, so that a
    reader still sees it and nothing is treated as "all versions" by accident.
    """
    raw = text
    stripped = text.strip()
    if not stripped:
        return unparsed(raw, scheme)
    if stripped.lower().startswith("vers:"):
        try:
            return parse_vers(stripped)
        except VersionError:
            return unparsed(raw, scheme)
    body = _without_notes(stripped)
    if body is None:
        return unparsed(raw, scheme)
    if _ALL_WORDS.match(body.lower()):
        return all_versions(scheme, raw)
    body = _ALL_PREFIX.sub("", body)
    constraints: list[Constraint] = []
    for written in body.split("|"):
        parsed = _parse_part(_WORD_PREFIX.sub("", written.strip()), scheme)
        if parsed is None:
            return unparsed(raw, scheme)
        constraints.extend(parsed)
    if not constraints:
        return unparsed(raw, scheme)
    return from_constraints(constraints, scheme, raw)


# --- containment ------------------------------------------------------------------------------


def range_contains(version_range: VersionRange, version: str) -> bool | None:
    """True/False when decidable; None when the range or version cannot be compared
    (unparsed text, GIT commits, versionless products, incomparable versions)."""
    kind = version_range.kind
    if kind is RangeKind.ALL:
        return True
    if kind is not RangeKind.CONSTRAINTS:
        return None
    scheme = version_range.scheme
    try:
        return _vers_contains(version_range.constraints, version, scheme)
    except VersionError:
        return None


def _vers_contains(constraints: Sequence[Constraint], version: str, scheme: str) -> bool:
    def cmp(a: str, b: str) -> int:
        return compare_versions(scheme, a, b)

    for c in constraints:
        if c.comparator == "=" and cmp(version, c.version) == 0:
            return True
        if c.comparator == "!=" and cmp(version, c.version) == 0:
            return False
    bounds = [c for c in constraints if c.comparator not in ("=", "!=")]
    if not bounds:
        return False
    bounds = list(_sorted(bounds, scheme))

    def satisfies(c: Constraint) -> bool:
        r = cmp(version, c.version)
        return {
            "<": r < 0,
            "<=": r <= 0,
            ">": r > 0,
            ">=": r >= 0,
        }[c.comparator]

    if len(bounds) == 1:
        return satisfies(bounds[0])
    for i in range(len(bounds) - 1):
        current, nxt = bounds[i], bounds[i + 1]
        if i == 0 and current.comparator in ("<", "<=") and satisfies(current):
            return True
        if i == len(bounds) - 2 and nxt.comparator in (">", ">=") and satisfies(nxt):
            return True
        if (
            current.comparator in (">", ">=")
            and nxt.comparator in ("<", "<=")
            and satisfies(current)
            and satisfies(nxt)
        ):
            return True
    return False
