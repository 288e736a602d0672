"""The component signature catalogue: loads ``data/firmware/signatures.yaml``, validates it and
compiles each pattern once.

Signatures are data (one entry per component: its names, purl and CPE templates, package names,
literal anchors, version regexes and real-world test strings); this module only turns them into
checked, compiled objects. ``SIGNATURES_VERSION`` names the catalogue in use (its declared
version plus a digest of the file), so a cache keyed on it is invalidated by any edit.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema
import yaml

from iotwarden.firmware.model import FirmwareError

DATA_FILE = "signatures.yaml"

# The C loader when libyaml is there: the catalogue loads in milliseconds instead of ~0.2 s.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: How far past its anchor a version regex may read (bytes), unless a pattern says otherwise.
DEFAULT_AFTER = 160


class SignatureError(FirmwareError):
    """The signature catalogue is malformed (a packaging or editing mistake, not user input)."""


def _raw() -> bytes:
    return (resources.files("iotwarden") / "data" / "firmware" / DATA_FILE).read_bytes()


#: Bump when ``scan_content`` reports differently for the same catalogue (its hits are cached).
ENGINE_REVISION = 3


def _catalogue_version() -> str:
    # Read without parsing: a broken catalogue must not break importing the package (it is
    # reported, with its reason, when the signatures are first used).
    raw = _raw()
    found = re.search(rb'^version:\s*"?([A-Za-z0-9._-]+)', raw, re.MULTILINE)
    declared = found.group(1).decode() if found else "0"
    return f"{declared}+{hashlib.sha256(raw).hexdigest()[:12]}.r{ENGINE_REVISION}"


#: Names the signature catalogue and scanner in use; changes whenever the data file changes or
#: the engine revision is bumped (the key of cached per-file hits).
SIGNATURES_VERSION: str = _catalogue_version()

# A version a signature may report: digits first, at most four dotted parts, and only the
# suffixes releases really use (OpenSSL letters, OpenSSH/NTP p-levels, rc, ESV-R, -stable is
# cut by the regexes). Guards against a loose regex reading a date, an IP address or a word.
_VERSION_SHAPE = re.compile(
    r"^\d{1,4}(?:\.\d{1,5}){0,3}"
    r"(?:[a-z]{1,2}\d{0,2}|p\d{1,2}|rc\d{1,2}|-ESV-R\d{1,2}|-P\d|\.\d{1,2}rc\d{1,2})?$"
)


def looks_like_version(text: str) -> bool:
    """Whether ``text`` has the shape of a release version (the false-positive guard)."""
    if len(text) > 24 or not _VERSION_SHAPE.match(text):
        return False
    numbers = re.findall(r"\d+", text.split("-", 1)[0])
    return any(int(n) for n in numbers)


_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["version", "source", "signatures"],
    "properties": {
        "version": {"type": "string"},
        "source": {"type": "string"},
        "signatures": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "supplier", "purl", "cpe", "patterns", "tests", "reference"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_.+-]*$"},
                    "supplier": {"type": "string", "minLength": 1},
                    "purl": {"type": "string", "pattern": r"^pkg:[a-z]+/.+@\{version\}$"},
                    "cpe": {
                        "type": "string",
                        "pattern": r"^cpe:2\.3:[aoh]:[^:]+:[^:]+:\{version\}",
                    },
                    "files": {"type": "array", "items": {"type": "string"}},
                    "packages": {"type": "array", "items": {"type": "string"}},
                    "related_packages": {"type": "array", "items": {"type": "string"}},
                    "filenames": {"type": "array", "items": {"type": "string"}},
                    "reference": {"type": "string", "minLength": 1},
                    "patterns": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["anchor", "regex"],
                            "additionalProperties": False,
                            "properties": {
                                "anchor": {"type": "string", "minLength": 4},
                                "regex": {"type": "string", "minLength": 1},
                                "before": {"type": "integer", "minimum": 1, "maximum": 256},
                                "after": {"type": "integer", "minimum": 1, "maximum": 4096},
                                "weak": {"type": "boolean"},
                                "text": {"type": "boolean"},
                                "symbol": {"type": "boolean"},
                            },
                        },
                    },
                    "counterexamples": {
                        "type": "array",
                        "items": {"type": "string", "minLength": 1},
                    },
                    "tests": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["text", "version"],
                            "additionalProperties": False,
                            "properties": {
                                "text": {"type": "string", "minLength": 1},
                                "version": {"type": ["string", "null"]},
                                "symbol": {"type": "string", "minLength": 1},
                            },
                        },
                    },
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Pattern:
    """One anchor and the regex that reads the version around it."""

    anchor: bytes
    regex: re.Pattern[bytes]
    before: int  # 0: the regex must match at the anchor
    after: int
    weak: bool
    text: bool  # at home in text files: not weakened there
    #: The anchor is the name of an ELF data symbol; the regex reads the symbol's value.
    symbol: bool = False


@dataclass(frozen=True)
class SignatureTest:
    text: bytes
    version: str | None
    #: ``text`` is the value of this exported ELF data symbol, not a string of the file.
    symbol: str | None = None


@dataclass(frozen=True)
class Signature:
    """A component and how to recognise it (see the data file's header for each field)."""

    id: str
    supplier: str
    purl_template: str
    cpe_template: str
    files: tuple[str, ...]
    packages: tuple[str, ...]
    related_packages: tuple[str, ...]
    filenames: tuple[re.Pattern[str], ...]
    patterns: tuple[Pattern, ...]
    reference: str
    tests: tuple[SignatureTest, ...]
    counterexamples: tuple[bytes, ...] = ()

    def purl(self, version: str | None) -> str:
        if version is None:
            return self.purl_template.replace("@{version}", "")
        return self.purl_template.replace("{version}", version)

    def cpe(self, version: str | None) -> str:
        # An unknown version is ANY in CPE terms; the component's own version stays None so
        # matchers treat it as "possibly affected", never as a match on every release.
        return self.cpe_template.replace("{version}", _cpe_escape(version) if version else "*")

    def owns_file(self, base_name: str) -> bool:
        """Whether ``base_name`` is one of this component's own file names."""
        return any(fnmatch.fnmatchcase(base_name, pattern) for pattern in self.files)

    def owns_package(self, package: str) -> bool:
        return any(fnmatch.fnmatchcase(package, pattern) for pattern in self.packages)

    def relates_to_package(self, package: str) -> bool:
        return any(fnmatch.fnmatchcase(package, pattern) for pattern in self.related_packages)


def _cpe_escape(value: str) -> str:
    return re.sub(r"([^A-Za-z0-9._-])", r"\\\1", value)


def _compile(entry: dict[str, Any]) -> Signature:
    sid = entry["id"]
    patterns = []
    for raw in entry["patterns"]:
        try:
            regex = re.compile(raw["regex"].encode("latin-1"), re.DOTALL)
        except (re.error, UnicodeEncodeError) as e:
            raise SignatureError(f"signature {sid!r}: bad regex {raw['regex']!r}: {e}") from e
        extra = set(regex.groupindex) - {"version"}
        if extra:
            raise SignatureError(f"signature {sid!r}: unknown regex groups {sorted(extra)}")
        before = int(raw.get("before", 0))
        anchor = raw["anchor"].encode("latin-1")
        symbol = bool(raw.get("symbol", False))
        if symbol and before:
            raise SignatureError(f"signature {sid!r}: a symbol pattern reads no 'before'")
        if not before and not symbol and not _regex_starts_with(raw["regex"], raw["anchor"]):
            raise SignatureError(
                f"signature {sid!r}: regex {raw['regex']!r} must start with its anchor "
                f"{raw['anchor']!r} (or give 'before')"
            )
        patterns.append(
            Pattern(
                anchor=anchor,
                regex=regex,
                before=before,
                after=int(raw.get("after", DEFAULT_AFTER)),
                weak=bool(raw.get("weak", False)),
                text=bool(raw.get("text", False)),
                symbol=symbol,
            )
        )
    symbols = {p.anchor.decode("latin-1") for p in patterns if p.symbol}
    for test in entry["tests"]:
        if test.get("symbol") is not None and test["symbol"] not in symbols:
            raise SignatureError(
                f"signature {sid!r}: test symbol {test['symbol']!r} is read by no symbol pattern"
            )
    filenames = []
    for text in entry.get("filenames", ()):
        try:
            filenames.append(re.compile(text))
        except re.error as e:
            raise SignatureError(f"signature {sid!r}: bad file name regex {text!r}: {e}") from e
    return Signature(
        id=sid,
        supplier=entry["supplier"],
        purl_template=entry["purl"],
        cpe_template=entry["cpe"],
        files=tuple(entry.get("files", ())),
        packages=tuple(entry.get("packages", ())),
        related_packages=tuple(entry.get("related_packages", ())),
        filenames=tuple(filenames),
        patterns=tuple(patterns),
        reference=entry["reference"],
        tests=tuple(
            SignatureTest(
                text=t["text"].encode("latin-1"), version=t["version"], symbol=t.get("symbol")
            )
            for t in entry["tests"]
        ),
        counterexamples=tuple(t.encode("latin-1") for t in entry.get("counterexamples", ())),
    )


def _regex_starts_with(regex: str, anchor: str) -> bool:
    """Whether the regex source begins with the anchor literal (escapes undone)."""
    unescaped = re.sub(r"\\(.)", r"\1", regex)
    return unescaped.startswith(anchor)


@functools.cache
def load_signatures() -> tuple[Signature, ...]:
    """The validated, compiled catalogue (loaded once per process)."""
    try:
        document = yaml.load(_raw(), Loader=_LOADER)  # noqa: S506 - a safe loader
        jsonschema.validate(document, _SCHEMA)
    except (yaml.YAMLError, jsonschema.ValidationError) as e:
        raise SignatureError(f"{DATA_FILE} is invalid: {e}") from e
    signatures = tuple(_compile(entry) for entry in document["signatures"])
    seen: set[str] = set()
    for signature in signatures:
        if signature.id in seen:
            raise SignatureError(f"{DATA_FILE}: signature {signature.id!r} is defined twice")
        seen.add(signature.id)
    return signatures


@functools.cache
def signatures_by_id() -> dict[str, Signature]:
    return {s.id: s for s in load_signatures()}
