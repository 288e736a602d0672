"""The declarations questionnaire: the template covers every question and fact, a filled-in
template loads, and bad input (unknown keys, wrong types, past dates, missing answers, broken
YAML) is refused with every problem named by its field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from iotwarden.baseline import Catalogs, load_catalogs
from iotwarden.baseline.declarations import (
    AnswerStatus,
    DeclarationsError,
    load_declarations,
    parse_declarations,
    questionnaire,
    template,
    unknown_spec_keys,
)
from tests.baseline.test_assess import TODAY, complete_declarations
from tests.baseline.test_catalog import V3_NEW_FEATURE_PROVISIONS


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return load_catalogs()


def test_the_template_asks_every_declaration_key_and_fact_with_its_question(
    catalogs: Catalogs,
) -> None:
    text = template(catalogs)
    data = yaml.safe_load(text)
    asked = {
        f"{section}.{name}" for section, fields in data["declarations"].items() for name in fields
    }
    keys = {d.key for c in catalogs.capabilities for d in c.declarations}
    assert asked == keys
    assert len(keys) == len(questionnaire(catalogs)) > 50
    assert set(data["facts"]) == {f.id for f in catalogs.facts}
    assert all(v is None for v in data["facts"].values())
    # Each question is in a comment above its key, with the kind of answer and an example.
    assert "# Until which date will security updates be provided? [defined-support-period]" in text
    assert "# Answer: a date, YYYY-MM-DD (required). Example: '2031-12-31'" in text
    assert (
        "# Decides: etsi-en-303-645-v2.1.1 5.1-1, etsi-en-303-645-v3.1.3 5.1-1, uk-psti 1." in text
    )


def test_the_template_asks_the_v3_feature_facts_and_what_each_decides(
    catalogs: Catalogs,
) -> None:
    data = yaml.safe_load(template(catalogs))
    assert set(V3_NEW_FEATURE_PROVISIONS) <= set(data["facts"])
    lines = template(catalogs).splitlines()
    for fact, provisions in V3_NEW_FEATURE_PROVISIONS.items():
        at = lines.index(f"  {fact}: null")
        question = next(f.question for f in catalogs.facts if f.id == fact)
        above = " ".join(line.strip().lstrip("#").strip() for line in lines[at - 4 : at])
        assert question in above, fact
        shown = ", ".join(f"etsi-en-303-645-v3.1.3 {p}" for p in provisions)
        assert f"Decides: {shown}." in above, fact


def test_the_complete_declarations_helper_answers_every_fact(catalogs: Catalogs) -> None:
    decl = parse_declarations(complete_declarations(catalogs), catalogs, today=TODAY)
    assert set(decl.facts) == {f.id for f in catalogs.facts}


def test_the_answer_specification_only_names_questions_the_catalogs_ask(
    catalogs: Catalogs,
) -> None:
    assert unknown_spec_keys(catalogs) == ()


def test_an_unfilled_template_lists_every_missing_required_answer(catalogs: Catalogs) -> None:
    with pytest.raises(DeclarationsError) as caught:
        parse_declarations(yaml.safe_load(template(catalogs)), catalogs, today=TODAY)
    fields = [f for f, _ in caught.value.problems]
    assert "subject.manufacturer" in fields
    assert "facts.uses-passwords" in fields
    assert "declarations.support_period.end_date" in fields
    assert "declarations.vulnerability_disclosure.contact" in fields
    assert "declarations.update.mechanism" not in fields  # optional


def test_a_filled_in_template_loads_with_typed_answers(catalogs: Catalogs, tmp_path: Path) -> None:
    text = template(catalogs)
    filled = (
        text.replace("  manufacturer: null", "  manufacturer: Example Devices Ltd")
        .replace("  product: null", "  product: ExCam 200")
        .replace("    end_date: null", "    end_date: 2031-12-31")
        .replace("    contact: null", "    contact: security@example.com")
        .replace("    acknowledgement_days: null", "    acknowledgement_days: 5")
        .replace("    unique_per_device: null", "    unique_per_device: yes")
        .replace("    available: null", "    available: [CycloneDX 1.6, SPDX 2.3]")
        .replace("    remediation_target_days: null", "    remediation_target_days: {critical: 7}")
        .replace(
            "    debug_disabled: null", '    debug_disabled: {not_applicable: "no debug port"}'
        )
    )
    for fact in catalogs.facts:
        filled = filled.replace(f"  {fact.id}: null", f"  {fact.id}: false")
    path = tmp_path / "declarations.yaml"
    path.write_text(filled, encoding="utf-8")
    decl = load_declarations(path, catalogs, today=TODAY)
    assert decl.subject is not None and decl.subject.name == "Example Devices Ltd ExCam 200"
    assert decl.answer("support_period.end_date").value == "2031-12-31"
    assert decl.answer("vulnerability_disclosure.acknowledgement_days").value == 5
    assert decl.answer("credentials.unique_per_device").status is AnswerStatus.AFFIRMED
    assert decl.answer("sbom.available").value == ["CycloneDX 1.6", "SPDX 2.3"]
    assert decl.answer("vulnerability_handling.remediation_target_days").value == {"critical": 7}
    na = decl.answer("interfaces.debug_disabled")
    assert (na.status, na.justification) == (AnswerStatus.NOT_APPLICABLE, "no debug port")
    assert decl.answer("update.mechanism").status is AnswerStatus.UNANSWERED
    assert decl.facts["uses-passwords"] is False
    assert decl.source == str(path)


def _problems(catalogs: Catalogs, data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(DeclarationsError) as caught:
        parse_declarations(data, catalogs, origin="decl.yaml", today=TODAY)
    assert str(caught.value).startswith("decl.yaml: ")
    return dict(caught.value.problems)


def test_unknown_keys_are_named_with_a_suggestion(catalogs: Catalogs) -> None:
    data = complete_declarations(catalogs)
    data["declarations"]["support_period"]["end_dat"] = "2031-01-01"
    data["declarations"]["suport_period"] = {"end_date": "2031-01-01"}
    data["facts"]["uses-password"] = True
    data["subject"]["modle"] = "X"
    data["extra"] = 1
    problems = _problems(catalogs, data)
    assert (
        "did you mean 'support_period.end_date'?" in problems["declarations.support_period.end_dat"]
    )
    assert (
        "unknown question 'suport_period.end_date'"
        in problems["declarations.suport_period.end_date"]
    )
    assert "did you mean 'uses-passwords'?" in problems["facts.uses-password"]
    assert "did you mean 'model'?" in problems["subject.modle"]
    assert "unknown top-level key 'extra'" in problems["extra"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("credentials.unique_per_device", "yes please", "expected true or false, got the text"),
        ("support_period.end_date", "soon", "expected a date, YYYY-MM-DD"),
        (
            "support_period.end_date",
            "2020-01-31",
            "2020-01-31 is in the past (today is 2025-06-01)",
        ),
        (
            "vulnerability_disclosure.contact",
            "call us",
            "expected an e-mail address or an http(s) URL",
        ),
        ("vulnerability_disclosure.policy_url", "example.com/policy", "expected an http(s) URL"),
        ("vulnerability_disclosure.acknowledgement_days", -3, "expected a number of days"),
        ("vulnerability_disclosure.acknowledgement_days", True, "got a boolean"),
        (
            "vulnerability_handling.remediation_target_days",
            {"urgent": 1},
            "unknown severity 'urgent'",
        ),
        ("sbom.available", [None], "expected a list"),
        ("update.mechanism", 42, "expected a description; false if not done, got the number 42"),
        ("update.mechanism", "x" * 5000, "longer than 4000 characters"),
        ("update.mechanism", {"not_applicable": ""}, "not applicable needs a justification"),
    ],
)
def test_wrong_types_and_values_are_named_by_field(
    catalogs: Catalogs, key: str, value: Any, message: str
) -> None:
    data = complete_declarations(catalogs, **{key: value})
    problems = _problems(catalogs, data)
    assert message in problems[f"declarations.{key}"]


def test_wrong_facts_and_subject(catalogs: Catalogs) -> None:
    data = complete_declarations(catalogs)
    data["facts"]["uses-passwords"] = "sometimes"
    data["subject"] = {"manufacturer": ["a"], "product": ""}
    problems = _problems(catalogs, data)
    assert problems["facts.uses-passwords"] == "expected true or false, got the text 'sometimes'"
    assert problems["subject.manufacturer"] == "expected text, got a list"
    assert problems["subject.product"] == "required: not answered"


def test_every_problem_is_reported_at_once(catalogs: Catalogs) -> None:
    data = complete_declarations(
        catalogs, **{"support_period.end_date": "2000-01-01", "sbom.available": 3}
    )
    del data["facts"]["constrained-device"]
    problems = _problems(catalogs, data)
    assert set(problems) == {
        "declarations.support_period.end_date",
        "declarations.sbom.available",
        "facts.constrained-device",
    }


def test_false_declares_a_text_question_not_done(catalogs: Catalogs) -> None:
    decl = parse_declarations(
        complete_declarations(catalogs, **{"update.automatic": False}), catalogs, today=TODAY
    )
    assert decl.answer("update.automatic").status is AnswerStatus.DENIED
    assert decl.answer("update.automatic").text() == "no"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"subject: [unclosed\n", "line 2, column 1: not valid YAML"),
        (b"- just\n- a list\n", "expected a mapping"),
        (b"\xff\xfe\x00garbage", "not UTF-8 text"),
    ],
)
def test_unreadable_files_are_refused_naming_the_file(
    catalogs: Catalogs, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(DeclarationsError, match=message) as caught:
        load_declarations(path, catalogs, today=TODAY)
    assert str(caught.value).startswith(str(path))


def test_a_huge_or_missing_file_is_refused(catalogs: Catalogs, tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:
        handle.truncate(2 * 1024 * 1024)
    with pytest.raises(DeclarationsError, match="too large"):
        load_declarations(huge, catalogs)
    with pytest.raises(DeclarationsError, match="cannot be read"):
        load_declarations(tmp_path / "missing.yaml", catalogs)
    with pytest.raises(DeclarationsError, match="not a file"):
        load_declarations(tmp_path, catalogs)


def test_dates_in_yaml_and_json_forms_are_the_same(catalogs: Catalogs) -> None:
    as_date = complete_declarations(catalogs, **{"support_period.end_date": dt.date(2031, 12, 31)})
    decl = parse_declarations(as_date, catalogs, today=TODAY)
    assert decl.answer("support_period.end_date").value == "2031-12-31"
