"""Manufacturer declarations: the questionnaire for what no tool can observe (support period,
disclosure policy, update policy, data deletion, ...) and the applicability facts, written as a
commented YAML template and validated on load.

The questions come from the catalogs (every capability's ``evidence.declarations`` key and every
``fact``); how each is answered (kind, required, example) is data:
``iotwarden/data/baseline/declarations.yaml``. Like the implementation conformance statement of
ETSI TS 103 701, an answer may also declare a question not applicable, with a justification.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from .catalog import Catalogs, bundled_catalog_dir
from .model import BaselineError, CatalogError

#: The ``schema`` value of a declarations file.
DECLARATIONS_SCHEMA = "iotwarden-declarations/1"
#: A declarations file larger than this is refused (a filled-in questionnaire is a few KiB).
MAX_DECLARATIONS_BYTES = 1024 * 1024
#: Longest text answer kept: a description, not a document.
MAX_TEXT = 4000
#: Errors listed in one DeclarationsError (the rest are counted).
MAX_LISTED_ERRORS = 25

_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SECTIONS = ("schema", "subject", "facts", "declarations")
_EMAIL = re.compile(r"^(mailto:)?[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_SEVERITIES = ("critical", "high", "medium", "low")


class DeclarationsError(BaselineError):
    """A declarations file is unreadable or invalid; lists every problem with its field."""

    def __init__(self, origin: str, problems: Iterable[tuple[str, str]]) -> None:
        self.origin = origin
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
        shown = [f"{f}: {m}" if f else m for f, m in self.problems[:MAX_LISTED_ERRORS]]
        more = len(self.problems) - len(shown)
        if more > 0:
            shown.append(f"... and {more} more")
        count = len(self.problems)
        head = f"{origin}: " + (f"{count} problems:\n  " if count > 1 else "")
        super().__init__(head + "\n  ".join(shown))

    def __reduce__(self) -> tuple[type[DeclarationsError], tuple[str, tuple[tuple[str, str], ...]]]:
        return (type(self), (self.origin, self.problems))


class AnswerKind(StrEnum):
    TEXT = "text"
    BOOLEAN = "boolean"
    DATE = "date"
    URL = "url"
    CONTACT = "contact"
    DAYS = "days"
    LIST = "list"


#: What each kind accepts, in the words of the template and the error messages.
KIND_HELP: dict[AnswerKind, str] = {
    AnswerKind.TEXT: "a description; false if not done",
    AnswerKind.BOOLEAN: "true or false",
    AnswerKind.DATE: "a date, YYYY-MM-DD",
    AnswerKind.URL: "an http(s) URL; false if not published",
    AnswerKind.CONTACT: "an e-mail address or an http(s) URL; false if none",
    AnswerKind.DAYS: "a number of days, or days per severity {critical: 7, high: 30, ...}",
    AnswerKind.LIST: "a list, e.g. [CycloneDX 1.6]; false if none",
}


class AnswerStatus(StrEnum):
    """What an answer says about the capability it evidences."""

    AFFIRMED = "affirmed"  # the manufacturer states it is done
    DENIED = "denied"  # the manufacturer states it is not done (false, [], past date)
    NOT_APPLICABLE = "not-applicable"  # declared not applicable, with a justification
    UNANSWERED = "unanswered"


@dataclass(frozen=True, slots=True)
class Question:
    """One questionnaire item: a declaration key of a capability, and how to answer it."""

    key: str
    question: str
    capability: str
    capability_title: str
    kind: AnswerKind = AnswerKind.TEXT
    required: bool = False
    example: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "question": self.question,
            "capability": self.capability,
            "kind": self.kind.value,
            "required": self.required,
            "example": self.example,
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """A validated answer. ``value`` is plain JSON data (dates as ISO strings)."""

    key: str
    status: AnswerStatus
    value: Any = None
    justification: str | None = None

    def text(self) -> str:
        """The answer as one short line for reasons and reports."""
        if self.status is AnswerStatus.UNANSWERED:
            return "unanswered"
        if self.status is AnswerStatus.NOT_APPLICABLE:
            return f"not applicable ({self.justification})"
        value = self.value
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, list):
            return ", ".join(str(v) for v in value) if value else "none"
        if isinstance(value, dict):
            return ", ".join(f"{k} {v} days" for k, v in value.items())
        if self.status is AnswerStatus.DENIED:
            return "no"
        return str(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "status": self.status.value,
            "value": self.value,
            "justification": self.justification,
        }


@dataclass(frozen=True, slots=True)
class Subject:
    """The product the declarations are about."""

    manufacturer: str
    product: str
    model: str | None = None
    version: str | None = None

    @property
    def name(self) -> str:
        base = f"{self.manufacturer} {self.product}"
        return base + (f" {self.version}" if self.version else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "manufacturer": self.manufacturer,
            "product": self.product,
            "model": self.model,
            "version": self.version,
        }


@dataclass(frozen=True)
class Declarations:
    """What the manufacturer declared: the product, the applicability facts and the answers."""

    subject: Subject | None
    facts: Mapping[str, bool] = field(default_factory=dict)
    answers: Mapping[str, Answer] = field(default_factory=dict)
    #: Where they were read from (a file name), for reports.
    source: str = ""

    def answer(self, key: str) -> Answer:
        return self.answers.get(key) or Answer(key, AnswerStatus.UNANSWERED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "subject": self.subject.to_dict() if self.subject else None,
            "facts": dict(self.facts),
            "answers": {k: a.to_dict() for k, a in sorted(self.answers.items())},
        }


#: No declarations at all: every question unanswered, every fact undeclared.
NO_DECLARATIONS = Declarations(subject=None)


# --- the answer specification (data) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Spec:
    subject: dict[str, tuple[bool, str]]  # field -> (required, example)
    answers: dict[str, dict[str, Any]]


@functools.cache
def _spec() -> _Spec:
    path = bundled_catalog_dir() / "declarations.yaml"
    origin = "iotwarden/data/baseline/declarations.yaml"
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506
    except (OSError, yaml.YAMLError) as e:
        raise CatalogError(origin, "", f"cannot be read: {e}") from e
    schema_path = bundled_catalog_dir() / "schema" / "declarations.schema.json"
    validator = Draft202012Validator(json.loads(schema_path.read_text(encoding="utf-8")))
    error = best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path)
        raise CatalogError(origin, where, error.message)
    subject = {k: (bool(v["required"]), str(v["example"])) for k, v in data["subject"].items()}
    return _Spec(subject=subject, answers=dict(data["answers"]))


def questionnaire(catalogs: Catalogs) -> tuple[Question, ...]:
    """Every declaration key of every capability, in catalog order, with how to answer it."""
    spec = _spec().answers
    questions = []
    for cap in catalogs.capabilities:
        for d in cap.declarations:
            entry = spec.get(d.key, {})
            questions.append(
                Question(
                    key=d.key,
                    question=d.question,
                    capability=cap.id,
                    capability_title=cap.title,
                    kind=AnswerKind(entry.get("kind", AnswerKind.TEXT.value)),
                    required=bool(entry.get("required", False)),
                    example=entry.get("example"),
                )
            )
    return tuple(questions)


def unknown_spec_keys(catalogs: Catalogs) -> tuple[str, ...]:
    """Keys the answer specification describes that no capability asks (a stale data file)."""
    asked = {d.key for c in catalogs.capabilities for d in c.declarations}
    return tuple(sorted(set(_spec().answers) - asked))


# --- the template -----------------------------------------------------------------------------


def _yaml_scalar(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1000)
    return text.strip().removesuffix("...").strip()


def _comment(text: str, indent: str, width: int = 96) -> list[str]:
    words = text.split()
    lines: list[str] = []
    line = ""
    for word in words:
        if line and len(indent) + 2 + len(line) + 1 + len(word) > width:
            lines.append(f"{indent}# {line}")
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(f"{indent}# {line}")
    return lines


def template(catalogs: Catalogs) -> str:
    """The questionnaire as a commented YAML file: every fact and every declaration key, each
    with its question, the kind of answer expected and an example; all answers ``null``."""
    spec = _spec()
    out = [
        "# IoT Warden declarations: what the manufacturer states about one product, for",
        "# everything firmware analysis and network probes cannot observe (support period,",
        "# vulnerability disclosure, update policy, data deletion, ...), and the applicability",
        "# facts that decide which conditional requirements apply. Modelled on the implementation",
        "# conformance statement of ETSI TS 103 701.",
        "#",
        "# Replace each null with your answer. Leave null what you cannot answer: the capability",
        "# is then 'not evidenced' unless firmware analysis or probes evidence it. Any answer may",
        '# instead be {not_applicable: "why"}. Required: the subject\'s manufacturer and product,',
        "# every fact, and the answers marked (required).",
        "#",
        "# Use it: iotwarden assess --declarations THIS_FILE [--firmware IMAGE] [--probe RESULTS]",
        f"schema: {DECLARATIONS_SCHEMA}",
        "",
        "subject:",
    ]
    for name, (required, example) in spec.subject.items():
        note = " (required)" if required else ""
        out.append(f"  # The {name}{note}. Example: {example}")
        out.append(f"  {name}: null")
    out += [
        "",
        "# Applicability (true or false, all required): each answer decides whether the",
        "# conditional requirements that name it apply.",
        "facts:",
    ]
    conditional: dict[str, list[str]] = {}
    for fw in catalogs.frameworks:
        if fw.based_on:
            continue  # inherited provisions would be listed twice
        for req in fw.requirements:
            for fact_id, _ in req.condition.when if req.condition else ():
                conditional.setdefault(fact_id, []).append(f"{fw.id} {req.id}")
    for fact in catalogs.facts:
        out += _comment(fact.question, "  ")
        decides = conditional.get(fact.id, [])
        if decides:
            shown = ", ".join(decides[:6]) + (
                f" and {len(decides) - 6} more" if len(decides) > 6 else ""
            )
            out += _comment(f"Decides: {shown}.", "  ")
        out.append(f"  {fact.id}: null")
    out += ["", "declarations:"]
    sections: dict[str, list[Question]] = {}
    for q in questionnaire(catalogs):
        sections.setdefault(q.key.partition(".")[0], []).append(q)
    for section, questions in sections.items():
        out.append(f"  {section}:")
        for q in questions:
            out += _comment(f"{q.question} [{q.capability}]", "    ")
            hint = KIND_HELP[q.kind] + (" (required)" if q.required else "")
            if q.example is not None:
                hint += f". Example: {_yaml_scalar(q.example)}"
            out += _comment(f"Answer: {hint}", "    ")
            out.append(f"    {q.key.partition('.')[2]}: null")
    return "\n".join(out) + "\n"


# --- loading and validation -------------------------------------------------------------------


def load_declarations(
    path: Path, catalogs: Catalogs, *, today: dt.date | None = None
) -> Declarations:
    """Read and validate a declarations file (YAML or JSON). Raises DeclarationsError listing
    every problem with the field it is in."""
    origin = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_DECLARATIONS_BYTES:
            raise DeclarationsError(origin, [("", f"{size} bytes is too large for declarations")])
        if not path.is_file():
            raise DeclarationsError(origin, [("", "not a file")])
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise DeclarationsError(origin, [("", f"cannot be read: {e.strerror or e}")]) from e
    except UnicodeDecodeError as e:
        raise DeclarationsError(origin, [("", "not UTF-8 text")]) from e
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise DeclarationsError(origin, [(where, f"not valid YAML: {problem}")]) from e
    return parse_declarations(data, catalogs, origin=origin, today=today)


def parse_declarations(
    data: Any, catalogs: Catalogs, *, origin: str = "declarations", today: dt.date | None = None
) -> Declarations:
    """Validate already-parsed declarations (a mapping as in the template)."""
    today = today or dt.date.today()
    problems: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        raise DeclarationsError(
            origin, [("", "expected a mapping (see `iotwarden assess template`)")]
        )
    for key in data:
        if key not in _SECTIONS:
            problems.append((str(key), _unknown("top-level key", str(key), _SECTIONS)))
    schema = data.get("schema", DECLARATIONS_SCHEMA)
    if schema != DECLARATIONS_SCHEMA:
        problems.append(("schema", f"expected {DECLARATIONS_SCHEMA!r}, got {schema!r}"))
    subject = _subject(data.get("subject"), problems)
    facts = _facts(data.get("facts"), catalogs, problems)
    answers = _answers(data.get("declarations"), catalogs, today, problems)
    if problems:
        raise DeclarationsError(origin, problems)
    return Declarations(subject=subject, facts=facts, answers=answers, source=origin)


def _unknown(what: str, name: str, known: Iterable[str]) -> str:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(known)
    if len(hint) > 400:
        hint = hint[:400] + " ..."
    return f"unknown {what} {name!r}; {hint}"


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value[:60]!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _subject(data: Any, problems: list[tuple[str, str]]) -> Subject | None:
    spec = _spec().subject
    if data is None:
        problems.append(("subject", "missing: give at least the manufacturer and product"))
        return None
    if not isinstance(data, dict):
        problems.append(("subject", f"expected a mapping, got {_type_name(data)}"))
        return None
    values: dict[str, str | None] = {}
    for key, value in data.items():
        if key not in spec:
            problems.append((f"subject.{key}", _unknown("field", str(key), spec)))
            continue
        if value is None:
            values[key] = None
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            text = str(value).strip()
            if len(text) > 200:
                problems.append((f"subject.{key}", "longer than 200 characters"))
            values[key] = text or None
        else:
            problems.append((f"subject.{key}", f"expected text, got {_type_name(value)}"))
    reported = {field for field, _ in problems}
    for name, (required, _) in spec.items():
        if required and not values.get(name) and f"subject.{name}" not in reported:
            problems.append((f"subject.{name}", "required: not answered"))
    if not values.get("manufacturer") or not values.get("product"):
        return None
    return Subject(
        manufacturer=str(values["manufacturer"]),
        product=str(values["product"]),
        model=values.get("model"),
        version=values.get("version"),
    )


def _facts(data: Any, catalogs: Catalogs, problems: list[tuple[str, str]]) -> dict[str, bool]:
    known = [f.id for f in catalogs.facts]
    facts: dict[str, bool] = {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(("facts", f"expected a mapping, got {_type_name(data)}"))
        return facts
    for key, value in data.items():
        if key not in known:
            problems.append((f"facts.{key}", _unknown("fact", str(key), known)))
        elif isinstance(value, bool):
            facts[key] = value
        elif value is not None:
            problems.append((f"facts.{key}", f"expected true or false, got {_type_name(value)}"))
    for fact in known:
        if fact not in facts and not any(p[0] == f"facts.{fact}" for p in problems):
            problems.append((f"facts.{fact}", "required: not answered (true or false)"))
    return facts


def _flatten(data: Any, problems: list[tuple[str, str]]) -> dict[str, Any]:
    """{section: {field: value}} (or 'section.field': value) as {'section.field': value}."""
    flat: dict[str, Any] = {}
    if data is None:
        return flat
    if not isinstance(data, dict):
        problems.append(("declarations", f"expected a mapping, got {_type_name(data)}"))
        return flat
    for key, fields in data.items():
        section = str(key)
        if "." in section:
            flat[section] = fields
        elif isinstance(fields, dict):
            for name, value in fields.items():
                flat[f"{section}.{name}"] = value
        elif fields is not None:
            problems.append(
                (
                    f"declarations.{section}",
                    f"expected a mapping of answers, got {_type_name(fields)}",
                )
            )
    return flat


def _answers(
    data: Any, catalogs: Catalogs, today: dt.date, problems: list[tuple[str, str]]
) -> dict[str, Answer]:
    questions = {q.key: q for q in questionnaire(catalogs)}
    answers: dict[str, Answer] = {}
    for key, value in _flatten(data, problems).items():
        where = f"declarations.{key}"
        q = questions.get(key)
        if q is None:
            problems.append((where, _unknown("question", key, questions)))
            continue
        answer = _answer(q, value, today, where, problems)
        if answer is not None:
            answers[key] = answer
    for q in questions.values():
        if q.required and answers.get(q.key, Answer(q.key, AnswerStatus.UNANSWERED)).status is (
            AnswerStatus.UNANSWERED
        ):
            where = f"declarations.{q.key}"
            if not any(p[0] == where for p in problems):
                problems.append((where, f"required: not answered ({q.question})"))
    return answers


def _answer(
    q: Question, value: Any, today: dt.date, where: str, problems: list[tuple[str, str]]
) -> Answer | None:
    def bad(message: str) -> None:
        problems.append((where, message))

    if value is None:
        return Answer(q.key, AnswerStatus.UNANSWERED)
    if isinstance(value, dict) and "not_applicable" in value:
        why = value.get("not_applicable")
        if len(value) != 1 or not isinstance(why, str) or not why.strip():
            bad('not applicable needs a justification: {not_applicable: "why"}')
            return None
        return Answer(q.key, AnswerStatus.NOT_APPLICABLE, justification=why.strip()[:MAX_TEXT])
    expected = KIND_HELP[q.kind]
    if value is False and q.kind is not AnswerKind.BOOLEAN and q.kind is not AnswerKind.DATE:
        return Answer(q.key, AnswerStatus.DENIED, False)
    if q.kind is AnswerKind.BOOLEAN:
        if isinstance(value, bool):
            return Answer(q.key, AnswerStatus.AFFIRMED if value else AnswerStatus.DENIED, value)
        bad(f"expected {expected}, got {_type_name(value)}")
        return None
    if q.kind is AnswerKind.DATE:
        day = _date(value)
        if day is None:
            bad(f"expected {expected}, got {_type_name(value)}")
            return None
        if day < today:
            bad(
                f"{day.isoformat()} is in the past (today is {today.isoformat()}): a support "
                "period that has ended cannot be declared; give the current end date"
            )
            return None
        return Answer(q.key, AnswerStatus.AFFIRMED, day.isoformat())
    if q.kind is AnswerKind.DAYS:
        return _days(q, value, expected, bad)
    if q.kind is AnswerKind.LIST:
        if isinstance(value, str) and value.strip():
            value = [value]
        if not isinstance(value, list) or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool) and str(v).strip()
            for v in value
        ):
            bad(f"expected {expected}, got {_type_name(value)}")
            return None
        items = [str(v).strip()[:200] for v in value]
        return Answer(q.key, AnswerStatus.AFFIRMED if items else AnswerStatus.DENIED, items)
    if not isinstance(value, str):
        bad(f"expected {expected}, got {_type_name(value)}")
        return None
    text = value.strip()
    if not text:
        return Answer(q.key, AnswerStatus.UNANSWERED)
    if len(text) > MAX_TEXT:
        bad(f"longer than {MAX_TEXT} characters: summarise it and link the document")
        return None
    if q.kind is AnswerKind.URL and not _URL.match(text):
        bad(f"expected {expected}, got {_type_name(text)}")
        return None
    if q.kind is AnswerKind.CONTACT and not (_URL.match(text) or _EMAIL.match(text)):
        bad(f"expected {expected}, got {_type_name(text)}")
        return None
    return Answer(q.key, AnswerStatus.AFFIRMED, text)


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _whole_days(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 3650:
        return None
    return value


def _days(q: Question, value: Any, expected: str, bad: Any) -> Answer | None:
    if isinstance(value, dict):
        days: dict[str, int] = {}
        for severity, number in value.items():
            if severity not in _SEVERITIES:
                bad(_unknown("severity", str(severity), _SEVERITIES))
                return None
            whole = _whole_days(number)
            if whole is None:
                bad(
                    f"{severity}: expected a whole number of days (0-3650), "
                    f"got {_type_name(number)}"
                )
                return None
            days[str(severity)] = whole
        if not days:
            bad(f"expected {expected}, got an empty mapping")
            return None
        return Answer(q.key, AnswerStatus.AFFIRMED, days)
    whole = _whole_days(value)
    if whole is None:
        bad(f"expected {expected} (0-3650), got {_type_name(value)}")
        return None
    return Answer(q.key, AnswerStatus.AFFIRMED, whole)
