"""Product identifiers: package URLs (via packageurl-python) and CPE 2.3 formatted strings,
plus the normalisation used to index vendor and product names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from packageurl import PackageURL

from iotwarden.core.errors import IoTWardenError


class IdentifierError(IoTWardenError):
    """A purl or CPE string is malformed."""


#: A CVE id as CVE and the catalogs write it: 'CVE-2021-44228' (four or more sequence digits).
CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,}$")

CPE_FIELDS = (
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
)


@dataclass(frozen=True, slots=True)
class Cpe:
    """A CPE 2.3 name. Values keep their escapes removed; '*' is ANY and '-' is NA."""

    part: str
    vendor: str
    product: str
    version: str = "*"
    update: str = "*"
    edition: str = "*"
    language: str = "*"
    sw_edition: str = "*"
    target_sw: str = "*"
    target_hw: str = "*"
    other: str = "*"

    def formatted(self) -> str:
        values = [getattr(self, name) for name in CPE_FIELDS]
        return "cpe:2.3:" + ":".join(_escape(v) for v in values)


_SPLIT = re.compile(r"(?<!\\):")


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _escape(value: str) -> str:
    if value in ("*", "-"):
        return value
    return re.sub(r"([:\\])", r"\\\1", value)


def parse_cpe(text: str) -> Cpe:
    """Parse a CPE 2.3 formatted string (``cpe:2.3:a:openssl:openssl:1.0.1f:*:...``).

    CPE 2.2 URIs (``cpe:/a:openssl:openssl:1.0.1f``) are accepted too."""
    value = text.strip()
    if value.startswith("cpe:/"):
        parts = [_unescape(p) for p in value[5:].split(":")]
        parts += ["*"] * (len(CPE_FIELDS) - len(parts))
        parts = [p if p else "*" for p in parts]
    elif value.startswith("cpe:2.3:"):
        parts = [_unescape(p) for p in _SPLIT.split(value[8:])]
    else:
        raise IdentifierError(f"{text!r} is not a CPE 2.3 name (it must start with 'cpe:2.3:')")
    if len(parts) != len(CPE_FIELDS):
        raise IdentifierError(f"{text!r} has {len(parts)} fields; a CPE 2.3 name has 11")
    if parts[0] not in ("a", "o", "h", "*"):
        raise IdentifierError(f"{text!r}: part must be a, o or h, not {parts[0]!r}")
    if not parts[1] or not parts[2]:
        raise IdentifierError(f"{text!r}: vendor and product must not be empty")
    return Cpe(*parts)


def parse_purl(text: str) -> PackageURL:
    try:
        return PackageURL.from_string(text.strip())
    except ValueError as e:
        raise IdentifierError(f"{text!r} is not a valid package URL: {e}") from e


def split_purl(text: str) -> tuple[str, str | None, str]:
    """(type, namespace, name) of a package URL, without building a PackageURL object.

    This is the hot path of advisory ingestion; it follows the purl spec's parsing rules for
    these three parts (type lower-cased, percent-decoding, '@version', '?qualifiers' and
    '#subpath' stripped)."""
    value = text.strip()
    if not value.startswith("pkg:"):
        raise IdentifierError(f"{text!r} is not a valid package URL: it must start with 'pkg:'")
    value = value[4:].lstrip("/").split("#", 1)[0].split("?", 1)[0]
    kind, sep, rest = value.partition("/")
    if not sep or not kind or not rest.strip("/"):
        raise IdentifierError(f"{text!r} is not a valid package URL: type and name are required")
    rest = rest.strip("/")
    at = rest.rfind("@")
    if at > rest.rfind("/"):
        rest = rest[:at]
    segments = [unquote(seg) for seg in rest.split("/") if seg]
    if not segments:
        raise IdentifierError(f"{text!r} is not a valid package URL: the name is empty")
    name = segments[-1]
    namespace = "/".join(segments[:-1]) or None
    return kind.lower(), namespace, name


_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalise_name(name: str | None) -> str | None:
    """Lower-case, punctuation-free form of a vendor or product name for indexing and lookup
    ('Schneider Electric' -> 'schneider_electric', 'schneider-electric' -> same)."""
    if name is None:
        return None
    value = _NON_WORD.sub("_", name.strip().lower()).strip("_")
    return value or None


#: A condition naming a device product by vendor, name and version (CSAF relationships):
#: 'product:VENDOR|NAME|VERSION' (version may be empty or a range text).
PRODUCT_CONDITION = "product:"


def product_condition(vendor: str, name: str, version: str | None) -> str:
    return f"{PRODUCT_CONDITION}{vendor}|{name}|{version or ''}"


def split_product_condition(text: str) -> tuple[str, str, str]:
    vendor, _, rest = text[len(PRODUCT_CONDITION) :].partition("|")
    name, _, version = rest.partition("|")
    return vendor, name, version
