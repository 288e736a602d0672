"""Version comparison, free-text range parsing and `vers` containment (iotwarden.core.versions)."""

from __future__ import annotations

import pytest

from iotwarden.core.errors import VersionError
from iotwarden.core.models import Constraint, RangeKind, VersionRange
from iotwarden.core.versions import (
    all_versions,
    compare_versions,
    exact_versions,
    from_bounds,
    from_osv_events,
    no_version,
    parse_range_text,
    parse_vers,
    range_contains,
    scheme_for_ecosystem,
    unparsed,
)

# --- compare_versions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "lower", "higher"),
    [
        # OpenSSL letter releases: the letter is a later patch, not a prerelease
        ("generic", "1.0.1", "1.0.1a"),
        ("generic", "1.0.1a", "1.0.1f"),
        ("generic", "1.0.1f", "1.0.1g"),
        ("generic", "1.0.1g", "1.0.2"),
        ("generic", "1.0.1", "1.0.2"),
        # prereleases come before the release
        ("generic", "1.0.2-beta1", "1.0.2"),
        ("generic", "1.0.0-rc1", "1.0.0"),
        ("generic", "1.0.0-rc1", "1.0.0-rc2"),
        ("generic", "1.0.0-alpha", "1.0.0-beta"),
        ("generic", "1.0.0-beta", "1.0.0-rc1"),
        ("generic", "4.3.8-rc1", "4.3.8"),
        # leading "v" is ignored
        ("generic", "V4.3.7", "4.3.8"),
        ("generic", "v4.3.7", "V4.3.8"),
        # service packs and firmware patch suffixes sit between releases
        ("generic", "13", "13 SP2"),
        ("generic", "13 SP2", "14"),
        ("generic", "13 SP1", "13 SP2"),
        ("generic", "V3.15", "V3.15 P038"),
        ("generic", "V3.15 P037", "V3.15 P038"),
        ("generic", "V3.15 P038", "V3.16"),
        ("generic", "9.4", "9.4 FP1"),
        ("generic", "9.4 FP1", "9.5"),
        # numbers compare as numbers
        ("generic", "1.9", "1.10"),
        ("generic", "2.0", "10.0"),
        # ecosystems compared with their own rules
        ("deb", "1.0.1e-2+deb7u4", "1.0.1e-2+deb7u5"),
        ("deb", "1.0~rc1", "1.0"),
        ("deb", "2.0", "1:1.0"),  # epoch wins
        ("pypi", "1.0.0rc1", "1.0.0"),
        ("pypi", "1.0", "1.0.post1"),
        ("pypi", "2.0", "10.0"),
        ("semver", "1.0.0-alpha", "1.0.0"),
        ("semver", "1.2.3", "1.10.0"),
    ],
)
def test_compare_orders(scheme: str, lower: str, higher: str) -> None:
    assert compare_versions(scheme, lower, higher) == -1
    assert compare_versions(scheme, higher, lower) == 1
    assert compare_versions(scheme, lower, lower) == 0


@pytest.mark.parametrize(
    ("scheme", "a", "b"),
    [
        ("generic", "01.19.000", "1.19.0"),  # zero-padded firmware numbers are the same release
        ("generic", "v4.3.8", "V4.3.8"),
        ("generic", "V4.3.8", "4.3.8"),
        ("generic", "5.008", "5.8"),
        ("semver", "1.0.0+build", "1.0.0"),  # build metadata does not order
        ("pypi", "1.0", "1.0.0"),
    ],
)
def test_compare_equal(scheme: str, a: str, b: str) -> None:
    assert compare_versions(scheme, a, b) == 0
    assert compare_versions(scheme, b, a) == 0


def test_compare_generic_trailing_zero_is_equal() -> None:
    assert compare_versions("generic", "1.0", "1.0.0") == 0


@pytest.mark.parametrize(("scheme", "a"), [("generic", ""), ("generic", "..."), ("pypi", "x!!")])
def test_compare_rejects_non_versions(scheme: str, a: str) -> None:
    with pytest.raises(VersionError):
        compare_versions(scheme, a, "1.0")


@pytest.mark.parametrize(
    ("ecosystem", "scheme"),
    [
        ("Debian:12", "deb"),
        ("Ubuntu:22.04:LTS", "deb"),
        ("PyPI", "pypi"),
        ("npm", "npm"),
        ("Maven", "maven"),
        ("Go", "golang"),
        ("Alpine:v3.18", "apk"),
        ("Zephyr", "generic"),
        ("Wolfi", "apk"),
        ("Chainguard", "apk"),
        ("Photon OS:5.0", "rpm"),
        ("Mageia:9", "rpm"),
        ("openEuler:22.03-LTS-SP1", "rpm"),
        ("Azure Linux:3", "rpm"),
        ("Mariner:2.0", "rpm"),
        ("openSUSE:Leap 15.5", "rpm"),
        ("SUSE:Linux Enterprise Server 15 SP5", "rpm"),
        ("Red Hat:enterprise_linux:9::appstream", "rpm"),
        ("Rocky Linux:9", "rpm"),
        ("AlmaLinux:8", "rpm"),
        ("Hex", "hex"),
        ("", "generic"),
        (None, "generic"),
    ],
)
def test_scheme_for_ecosystem(ecosystem: str | None, scheme: str) -> None:
    assert scheme_for_ecosystem(ecosystem) == scheme


def test_every_ecosystem_scheme_is_compared_by_its_own_rules() -> None:
    # Hex is SemVer 2.0: a prerelease sorts before its release, build metadata is ignored
    assert compare_versions("hex", "1.0.0-rc.1", "1.0.0") == -1
    assert compare_versions("hex", "1.10.0", "1.9.0") == 1
    # apk (Wolfi) and rpm (openEuler) are not compared as plain dotted numbers
    assert compare_versions(scheme_for_ecosystem("Wolfi"), "1.2.3-r1", "1.2.3-r10") == -1
    assert compare_versions(scheme_for_ecosystem("openEuler:22.03"), "1:1.0-1", "2.0-1") == 1


# --- parse_range_text: forms that parse -------------------------------------------------------

C = Constraint


@pytest.mark.parametrize(
    ("text", "constraints", "vers"),
    [
        ("vers:all/<V4.3.8", (C("<", "V4.3.8"),), "vers:generic/<V4.3.8"),
        ("<= 5.008", (C("<=", "5.008"),), "vers:generic/<=5.008"),
        (
            ">=1.0.1|<=1.0.1f",
            (C(">=", "1.0.1"), C("<=", "1.0.1f")),
            "vers:generic/>=1.0.1|<=1.0.1f",
        ),
        ("8.0.0|8.0.1", (C("=", "8.0.0"), C("=", "8.0.1")), "vers:generic/8.0.0|8.0.1"),
        ("< V3.15 P038", (C("<", "V3.15 P038"),), "vers:generic/<V3.15 P038"),
        (
            ">= V8.7.1.3 < V8.7.1.9",
            (C(">=", "V8.7.1.3"), C("<", "V8.7.1.9")),
            "vers:generic/>=V8.7.1.3|<V8.7.1.9",
        ),
        (
            "<=9.4 FP1 | >= 10.2.1",
            (C("<=", "9.4 FP1"), C(">=", "10.2.1")),
            "vers:generic/<=9.4 FP1|>=10.2.1",
        ),
        ("All Versions < V7.0.6", (C("<", "V7.0.6"),), "vers:generic/<V7.0.6"),
        (">= 2.8.1 (only affected by CVE-2019-10943)", (C(">=", "2.8.1"),), "vers:generic/>=2.8.1"),
        ("<= 1.0.3 (3354)", (C("<=", "1.0.3"),), "vers:generic/<=1.0.3"),
        ("Versions prior to 4.3.8", (C("<", "4.3.8"),), "vers:generic/<4.3.8"),
        ("V2.0 and prior", (C("<=", "V2.0"),), "vers:generic/<=V2.0"),
        ("4.0 to 4.5", (C(">=", "4.0"), C("<=", "4.5")), "vers:generic/>=4.0|<=4.5"),
        ("prior to 2.0", (C("<", "2.0"),), "vers:generic/<2.0"),
        ("up to 3.1", (C("<=", "3.1"),), "vers:generic/<=3.1"),
        ("3.0 and later", (C(">=", "3.0"),), "vers:generic/>=3.0"),
        ("Firmware V1.2 and earlier", (C("<=", "V1.2"),), "vers:generic/<=V1.2"),
        ("All versions prior to V2.1", (C("<", "V2.1"),), "vers:generic/<V2.1"),
        ("=> 1.0", (C(">=", "1.0"),), "vers:generic/>=1.0"),
        ("==1.0", (C("=", "1.0"),), "vers:generic/1.0"),
        # constraints are stored in version order, whatever the source's order
        (">=2.0|<1.0", (C("<", "1.0"), C(">=", "2.0")), "vers:generic/<1.0|>=2.0"),
        # 'and earlier' written in parentheses is still the bound's direction
        ("V4.3 (and earlier)", (C("<=", "V4.3"),), "vers:generic/<=V4.3"),
        ("V4.3 (or prior)", (C("<=", "V4.3"),), "vers:generic/<=V4.3"),
        ("3.0 (and later)", (C(">=", "3.0"),), "vers:generic/>=3.0"),
        # series wildcards: the whole series
        ("1.x", (C(">=", "1"), C("<", "2")), "vers:generic/>=1|<2"),
        ("2.0.x", (C(">=", "2.0"), C("<", "2.1")), "vers:generic/>=2.0|<2.1"),
        ("2.0.*", (C(">=", "2.0"), C("<", "2.1")), "vers:generic/>=2.0|<2.1"),
        ("V3.X", (C(">=", "V3"), C("<", "V4")), "vers:generic/>=V3|<V4"),
        ("8.x and earlier", (C("<", "9"),), "vers:generic/<9"),
        ("8.x and later", (C(">=", "8"),), "vers:generic/>=8"),
        ("<= 8.x", (C("<", "9"),), "vers:generic/<9"),
        ("< 8.x", (C("<", "8"),), "vers:generic/<8"),
        ("prior to 2.1.x", (C("<", "2.1"),), "vers:generic/<2.1"),
        ("1.x to 2.x", (C(">=", "1"), C("<", "3")), "vers:generic/>=1|<3"),
        # a hyphen span between two versions
        ("V2.0-V2.5", (C(">=", "V2.0"), C("<=", "V2.5")), "vers:generic/>=V2.0|<=V2.5"),
        ("1.0.2-1.0.9", (C(">=", "1.0.2"), C("<=", "1.0.9")), "vers:generic/>=1.0.2|<=1.0.9"),
    ],
)
def test_parse_range_text_constraints(
    text: str, constraints: tuple[Constraint, ...], vers: str
) -> None:
    r = parse_range_text(text)
    assert r.kind is RangeKind.CONSTRAINTS
    assert r.scheme == "generic"
    assert r.constraints == constraints
    assert r.raw == text  # the source's words are kept
    assert r.vers == vers


@pytest.mark.parametrize(
    "text",
    ["All versions", "all versions", "ALL", "all", "*", "vers:generic/*"],
)
def test_parse_range_text_all(text: str) -> None:
    r = parse_range_text(text)
    assert r.kind is RangeKind.ALL
    assert r.raw == text
    assert r.vers == "vers:generic/*"


def test_parse_range_text_keeps_scheme() -> None:
    r = parse_range_text(">=1.0|<2.0", scheme="pypi")
    assert r.scheme == "pypi"
    assert r.vers == "vers:pypi/>=1.0|<2.0"
    assert parse_range_text("n/a", scheme="deb").scheme == "deb"


# --- parse_range_text: text that must stay UNPARSED -------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "n/a",
        "unknown",
        "<= 5.12.2 | all microsoft windows operating systems (except microsoft windows server)",
        "4.2 with custom build",
        "11 and 12",
        "",
        "   ",
        "750-823 | 750-832/xxx-xxx",
        "All versions with feature X",
        "all models",
        "1.0,2.0",
        "<1.0 FP",
        "<=",
        "< all",
        "vers:bad",
        "vers:generic/>=",
        # words in parentheses qualify the range: never silently dropped
        "< V2.1 (only with feature X)",
        "All versions (note)",
        "V1.0 (build 17 and earlier",
        "4*",
    ],
)
def test_parse_range_text_unparsed(text: str) -> None:
    r = parse_range_text(text)
    assert r.kind is RangeKind.UNPARSED
    assert r.raw == text
    assert r.constraints == ()
    assert r.vers is None
    assert range_contains(r, "1.0") is None
    assert str(r) == (text or "unparsed")


def test_parse_range_text_cve_note_keeps_the_range_and_the_text() -> None:
    text = ">= 2.8.1 (only affected by CVE-2019-10943 and CVE-2019-10944)"
    r = parse_range_text(text)
    assert r.vers == "vers:generic/>=2.8.1"
    assert r.raw == text  # the per-CVE note stays readable


@pytest.mark.parametrize("text", ["2.0-1", "1.0-rc1", "2.5-2.0", "V1.2-3"])
def test_parse_range_text_hyphenated_versions_are_not_spans(text: str) -> None:
    assert parse_range_text(text).constraints == (C("=", text),)


def test_parse_range_text_hyphen_span_only_in_the_generic_scheme() -> None:
    # in deb, '1.0-1.2' is one version (upstream 1.0, Debian revision 1.2)
    r = parse_range_text("1.0-1.2", scheme="deb")
    assert r.constraints == (C("=", "1.0-1.2"),)


def test_parse_range_text_series_containment() -> None:
    r = parse_range_text("8.x and earlier")
    assert [range_contains(r, v) for v in ("7.2", "8.0", "8.99.1", "9", "9.0.1")] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_parse_range_text_all_except_is_not_an_exact_version() -> None:
    r = parse_range_text("All versions except 2.0")
    assert range_contains(r, "1.0") is not False
    assert all(c.version != "except 2.0" for c in r.constraints)


# --- range_contains truth tables --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "table"),
    [
        (
            "vers:all/<V4.3.8",
            {"4.3.7": True, "v1.0": True, "V4.3.8": False, "4.3.8": False, "4.4": False},
        ),
        ("<= 5.008", {"5.007": True, "5.008": True, "5.009": False, "6": False}),
        (
            ">=1.0.1|<=1.0.1f",
            {
                "1.0.0": False,
                "1.0.0z": False,
                "1.0.1": True,
                "1.0.1a": True,
                "1.0.1f": True,
                "1.0.1g": False,
                "1.0.2": False,
            },
        ),
        ("8.0.0|8.0.1", {"8.0.0": True, "8.0.1": True, "8.0.2": False, "7.9": False}),
        (
            "< V3.15 P038",
            {
                "V3.14": True,
                "V3.15": True,
                "V3.15 P037": True,
                "V3.15 P038": False,
                "V3.15 P100": False,
                "V3.16": False,
            },
        ),
        (
            ">= V8.7.1.3 < V8.7.1.9",
            {
                "V8.7.1.2": False,
                "V8.7.1.3": True,
                "8.7.1.5": True,
                "V8.7.1.9": False,
                "V8.7.2": False,
            },
        ),
        (
            "<=9.4 FP1 | >= 10.2.1",  # a union: up to 9.4 FP1, and from 10.2.1 on
            {
                "9.3": True,
                "9.4": True,
                "9.4 FP1": True,
                "9.4 FP2": False,
                "9.5": False,
                "10.2.0": False,
                "10.2.1": True,
                "11": True,
            },
        ),
        ("All Versions < V7.0.6", {"V7.0.5": True, "7.0.6": False, "V7.1": False}),
        (
            ">= 2.8.1 (only affected by CVE-2019-10943)",
            {"2.8.0": False, "2.8.1": True, "3.0": True},
        ),
        ("<= 1.0.3 (3354)", {"1.0.2": True, "1.0.3": True, "1.0.4": False}),
        ("Versions prior to 4.3.8", {"4.3.7": True, "4.3.8-rc1": True, "4.3.8": False}),
        ("V2.0 and prior", {"1.9": True, "2.0": True, "V2.0": True, "2.0.1": False}),
        (
            "4.0 to 4.5",
            {"3.9": False, "4.0": True, "4.3": True, "4.5": True, "4.5.1": False, "4.6": False},
        ),
        ("All versions", {"1": True, "anything": True}),
        ("n/a", {"1.0": None}),
        ("11 and 12", {"11": None, "12": None}),
        ("", {"1.0": None}),
    ],
)
def test_range_contains_table(text: str, table: dict[str, bool | None]) -> None:
    r = parse_range_text(text)
    assert {v: range_contains(r, v) for v in table} == table


def test_range_contains_trailing_zero() -> None:
    assert range_contains(parse_range_text("V2.0 and prior"), "2.0.0") is True


@pytest.mark.parametrize("version", ["", "..."])
def test_range_contains_incomparable_version_is_none(version: str) -> None:
    assert range_contains(parse_range_text(">=1.0.1|<=1.0.1f"), version) is None


def test_range_contains_other_kinds() -> None:
    assert range_contains(no_version(), "1.0") is None
    assert range_contains(unparsed("whatever"), "1.0") is None
    assert range_contains(VersionRange(kind=RangeKind.GIT, raw="abc123"), "1.0") is None
    assert range_contains(all_versions("deb"), "1.0") is True


def test_range_contains_not_equal() -> None:
    r = parse_vers("vers:generic/>=1.0|!=1.5|<2.0")
    assert {v: range_contains(r, v) for v in ("0.9", "1.4", "1.5", "1.6", "2.0")} == {
        "0.9": False,
        "1.4": True,
        "1.5": False,
        "1.6": True,
        "2.0": False,
    }


def test_range_contains_deb_scheme() -> None:
    r = from_osv_events("deb", [("introduced", "0"), ("fixed", "1.0.1e-2+deb7u5")])
    assert r.vers == "vers:deb/<1.0.1e-2+deb7u5"
    assert range_contains(r, "1.0.1e-2+deb7u4") is True
    assert range_contains(r, "1.0.1e-2+deb7u5") is False
    assert range_contains(r, "1.0.1f-1") is False


# --- from_osv_events --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "kind", "vers", "table"),
    [
        (
            [("introduced", "1.0"), ("fixed", "1.2")],
            RangeKind.CONSTRAINTS,
            "vers:generic/>=1.0|<1.2",
            {"0.9": False, "1.0": True, "1.1": True, "1.2": False},
        ),
        (
            [("introduced", "0"), ("fixed", "1.0.1g")],
            RangeKind.CONSTRAINTS,
            "vers:generic/<1.0.1g",
            {"0.9.8": True, "1.0.1f": True, "1.0.1g": False},
        ),
        (
            [("introduced", "1.0"), ("last_affected", "1.1")],
            RangeKind.CONSTRAINTS,
            "vers:generic/>=1.0|<=1.1",
            {"0.9": False, "1.0": True, "1.1": True, "1.1.1": False},
        ),
        (
            [("introduced", "0"), ("last_affected", "1.0.1f")],
            RangeKind.CONSTRAINTS,
            "vers:generic/<=1.0.1f",
            {"1.0.1f": True, "1.0.1g": False},
        ),
        (
            [("introduced", "1.0"), ("fixed", "1.2"), ("introduced", "2.0"), ("fixed", "2.3")],
            RangeKind.CONSTRAINTS,
            "vers:generic/>=1.0|<1.2|>=2.0|<2.3",
            {
                "0.9": False,
                "1.0": True,
                "1.1": True,
                "1.2": False,
                "1.9": False,
                "2.0": True,
                "2.2": True,
                "2.3": False,
                "3": False,
            },
        ),
        (
            [("introduced", "1.0"), ("fixed", "1.2"), ("introduced", "2.0")],
            RangeKind.CONSTRAINTS,
            "vers:generic/>=1.0|<1.2|>=2.0",
            {"0.9": False, "1.1": True, "1.5": False, "2.0": True, "9": True},
        ),
        ([("introduced", "0")], RangeKind.ALL, "vers:generic/*", {"0.1": True, "99": True}),
        (
            [("introduced", "3.0")],
            RangeKind.CONSTRAINTS,
            "vers:generic/>=3.0",
            {"2.9": False, "3.0": True, "4": True},
        ),
        (  # two introduced in a row: the earliest one opens the interval
            [("introduced", "1.5"), ("introduced", "1.0"), ("fixed", "2.0")],
            RangeKind.CONSTRAINTS,
            "vers:generic/>=1.0|<2.0",
            {"0.9": False, "1.0": True, "1.2": True, "1.5": True, "2.0": False},
        ),
        (
            [("introduced", "1.0"), ("introduced", "1.5"), ("fixed", "2.0")],
            RangeKind.CONSTRAINTS,
            "vers:generic/>=1.0|<2.0",
            {"0.9": False, "1.0": True, "1.2": True, "2.0": False},
        ),
        (
            [("introduced", "1.5"), ("introduced", "0"), ("fixed", "2.0")],
            RangeKind.CONSTRAINTS,
            "vers:generic/<2.0",
            {"0.1": True, "1.9": True, "2.0": False},
        ),
        (  # limit only bounds GIT walks
            [("introduced", "1.0"), ("limit", "2.0")],
            RangeKind.CONSTRAINTS,
            "vers:generic/>=1.0",
            {"0.9": False, "3.0": True},
        ),
    ],
)
def test_from_osv_events(
    events: list[tuple[str, str]],
    kind: RangeKind,
    vers: str,
    table: dict[str, bool],
) -> None:
    r = from_osv_events("generic", events, raw="events")
    assert r.kind is kind
    assert r.vers == vers
    assert r.raw == "events"
    assert {v: range_contains(r, v) for v in table} == table


@pytest.mark.parametrize("events", [[], [("fixed", "1.0")], [("last_affected", "1.0")]])
def test_from_osv_events_without_introduced(events: list[tuple[str, str]]) -> None:
    with pytest.raises(VersionError, match="no 'introduced'"):
        from_osv_events("generic", events)


# --- from_bounds ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "kind", "vers"),
    [
        ({"start": "1.0", "end": "2.0"}, RangeKind.CONSTRAINTS, "vers:generic/>=1.0|<2.0"),
        (
            {"start": "1.0", "start_inclusive": False, "end": "2.0", "end_inclusive": True},
            RangeKind.CONSTRAINTS,
            "vers:generic/>1.0|<=2.0",
        ),
        ({"start": "0", "end": "2.0"}, RangeKind.CONSTRAINTS, "vers:generic/<2.0"),
        ({"end": "2.0"}, RangeKind.CONSTRAINTS, "vers:generic/<2.0"),
        ({"start": "1.0"}, RangeKind.CONSTRAINTS, "vers:generic/>=1.0"),
        ({"start": "*", "end": "*"}, RangeKind.ALL, "vers:generic/*"),
        ({}, RangeKind.ALL, "vers:generic/*"),
    ],
)
def test_from_bounds(kwargs: dict[str, object], kind: RangeKind, vers: str) -> None:
    r = from_bounds("generic", **kwargs)  # type: ignore[arg-type]
    assert r.kind is kind
    assert r.vers == vers


@pytest.mark.parametrize(
    "kwargs",
    [
        {"end": ""},
        {"start": ""},
        {"start": "", "end": ""},
        {"start": "1.0", "end": "4*"},
        {"start": "1.*", "end": "2.0"},
        {"end": " "},
    ],
)
def test_from_bounds_unreadable_bound_is_unparsed(kwargs: dict[str, str]) -> None:
    r = from_bounds("generic", **kwargs, raw="the source")  # type: ignore[arg-type]
    assert r.kind is RangeKind.UNPARSED
    assert r.raw == "the source"
    assert range_contains(r, "1.5") is None


def test_from_bounds_unreadable_bound_without_raw_still_says_what_it_was() -> None:
    r = from_bounds("generic", "1.0", end="4*")
    assert r.kind is RangeKind.UNPARSED
    assert r.raw is not None
    assert "4*" in r.raw and "1.0" in r.raw


def test_from_bounds_containment() -> None:
    r = from_bounds("generic", "1.0.1", end="1.0.1g")
    assert [range_contains(r, v) for v in ("1.0.0", "1.0.1", "1.0.1f", "1.0.1g")] == [
        False,
        True,
        True,
        False,
    ]
    inclusive = from_bounds("generic", "1.0", start_inclusive=False, end="2.0", end_inclusive=True)
    assert [range_contains(inclusive, v) for v in ("1.0", "1.5", "2.0", "2.1")] == [
        False,
        True,
        True,
        False,
    ]


# --- vers property, parse_vers, small builders ------------------------------------------------


def test_vers_property() -> None:
    assert all_versions("pypi").vers == "vers:pypi/*"
    assert unparsed("x").vers is None
    assert str(unparsed("x")) == "x"
    assert no_version().vers is None
    assert str(no_version()) == "-"
    assert VersionRange(kind=RangeKind.CONSTRAINTS).vers is None
    assert exact_versions(["1.0", "1.0", "2.0"]).vers == "vers:generic/1.0|2.0"


def test_exact_versions_needs_a_version() -> None:
    with pytest.raises(VersionError):
        exact_versions(["", ""])


@pytest.mark.parametrize(
    ("text", "scheme", "constraints", "vers"),
    [
        ("vers:generic/1.0", "generic", (C("=", "1.0"),), "vers:generic/1.0"),
        ("vers:generic/=1.0", "generic", (C("=", "1.0"),), "vers:generic/1.0"),
        (
            "vers:generic/<2.0|>=1.0",
            "generic",
            (C(">=", "1.0"), C("<", "2.0")),
            "vers:generic/>=1.0|<2.0",
        ),
        ("vers:pypi/>=1.0|<2.0", "pypi", (C(">=", "1.0"), C("<", "2.0")), "vers:pypi/>=1.0|<2.0"),
        ("vers:all/<V4.3.8", "generic", (C("<", "V4.3.8"),), "vers:generic/<V4.3.8"),
        ("VERS:Generic/<1.0", "generic", (C("<", "1.0"),), "vers:generic/<1.0"),
    ],
)
def test_parse_vers(text: str, scheme: str, constraints: tuple[Constraint, ...], vers: str) -> None:
    r = parse_vers(text)
    assert r.kind is RangeKind.CONSTRAINTS
    assert r.scheme == scheme
    assert r.constraints == constraints
    assert r.raw == text
    assert r.vers == vers


def test_parse_vers_star() -> None:
    r = parse_vers("vers:deb/*")
    assert r.kind is RangeKind.ALL
    assert r.scheme == "deb"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("vers:bad", "no '/' after the scheme"),
        ("vers:generic/", "empty constraint"),
        ("vers:generic/1.0||2.0", "empty constraint"),
        ("vers:generic/>=", "constraint without a version"),
    ],
)
def test_parse_vers_errors(text: str, message: str) -> None:
    with pytest.raises(VersionError, match=message):
        parse_vers(text)


def test_parse_vers_requires_prefix() -> None:
    with pytest.raises(VersionError):
        parse_vers("generic/<1.0")
