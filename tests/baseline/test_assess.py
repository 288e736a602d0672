"""The pure evaluator: capability results from findings, probe results and declarations, their
projection onto the frameworks (conditions, deemed compliance) and the ranking of gaps. No
image is analysed here: findings are built as the firmware checks would report them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from iotwarden.baseline import Catalogs, load_catalogs
from iotwarden.baseline.assess import (
    AssessmentInputError,
    Basis,
    Bearing,
    CheckRecord,
    FirmwareEvidence,
    ProbeResult,
    ProbeStatus,
    Result,
    Verdict,
    assess,
    parse_probe_results,
)
from iotwarden.baseline.declarations import AnswerKind, parse_declarations, questionnaire
from iotwarden.firmware.model import Finding, Severity
from tests.baseline.test_catalog import V3_NEW_FEATURE_PROVISIONS

TODAY = dt.date(2025, 6, 1)

#: A camera with passwords, an update mechanism over the network, keys of its own, personal data
#: sent to its cloud (not on consent), no debug interface, no telemetry, no aggregation.
FACTS = {
    "uses-passwords": True,
    "uses-preinstalled-passwords": False,
    "uses-cryptographic-authentication": True,
    "user-authenticates-to-device": True,
    "authenticates-over-network": True,
    "constrained-device": False,
    "has-mutable-software": True,
    "software-not-updatable": False,
    "has-update-mechanism": True,
    "updates-over-network": True,
    "supports-automatic-updates": True,
    "provides-update-notifications": True,
    "has-critical-security-parameters": True,
    "stores-sensitive-security-parameters": True,
    "hard-coded-unique-identity": False,
    "uses-keys-for-updates-or-services": True,
    "security-parameters-leave-device": True,
    "configurable-over-network": True,
    "has-unused-interfaces": True,
    "has-debug-interfaces": False,
    "debug-interface-accessible": False,
    "detects-software-changes": True,
    "processes-personal-data": True,
    "sends-personal-data": True,
    "sends-sensitive-personal-data": True,
    "has-external-sensors": True,
    "collects-telemetry": False,
    "services-store-personal-data": True,
    "consent-based-processing": False,
    "computes-aggregates": False,
}

_ANSWER_BY_KIND: dict[AnswerKind, Any] = {
    AnswerKind.BOOLEAN: True,
    AnswerKind.DATE: "2031-12-31",
    AnswerKind.URL: "https://example.com/security",
    AnswerKind.CONTACT: "security@example.com",
    AnswerKind.DAYS: 5,
    AnswerKind.LIST: ["CycloneDX 1.6"],
    AnswerKind.TEXT: "Described in the product security file, chapter 3.",
}


def complete_declarations(catalogs: Catalogs, **overrides: Any) -> dict[str, Any]:
    """A questionnaire with every fact and every question answered positively (overrides:
    'section.field' -> answer)."""
    answers: dict[str, dict[str, Any]] = {}
    for q in questionnaire(catalogs):
        section, _, name = q.key.partition(".")
        value = overrides.get(q.key, _ANSWER_BY_KIND[q.kind])
        answers.setdefault(section, {})[name] = value
    return {
        "schema": "iotwarden-declarations/1",
        "subject": {
            "manufacturer": "Example Devices Ltd",
            "product": "ExCam 200",
            "version": "2.4.1",
        },
        "facts": dict(FACTS),
        "declarations": answers,
    }


def finding(finding_id: str, capabilities: tuple[str, ...], **kw: Any) -> Finding:
    return Finding(
        id=finding_id,
        title=kw.pop("title", finding_id),
        severity=kw.pop("severity", Severity.HIGH),
        path=kw.pop("path", "/etc/shadow"),
        evidence=kw.pop("evidence", "seen"),
        remediation=kw.pop("remediation", "fix it"),
        capabilities=capabilities,
        **kw,
    )


_CLEAN = ("accounts", "credentials", "keys", "services", "remote-login", "hardening")
ALL_CHECKS = (
    *(CheckRecord(name, True) for name in _CLEAN),
    CheckRecord("updates", True, {"mechanisms": ["opkg"], "signed": ["opkg"]}),
)


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return load_catalogs()


def firmware(*findings: Finding, checks: tuple[CheckRecord, ...] = ALL_CHECKS) -> FirmwareEvidence:
    return FirmwareEvidence(source="test-image", findings=findings, checks=checks)


def test_a_default_password_fails_the_credential_capabilities_with_its_evidence(
    catalogs: Catalogs,
) -> None:
    mirai = finding(
        "IW-FW-ACCOUNT-DEFAULT-PASSWORD",
        ("unique-credentials", "strong-authentication"),
        severity=Severity.CRITICAL,
        title="root has a default password",
        remediation="Remove the password",
    )
    result = assess(catalogs, firmware=firmware(mirai), today=TODAY)

    unique = result.capability("unique-credentials")
    assert unique.result is Result.FAIL
    assert unique.basis is Basis.OBSERVED
    assert unique.worst_severity is Severity.CRITICAL
    refuting = [e for e in unique.evidence if e.bearing is Bearing.REFUTES]
    assert [(e.ref, e.paths) for e in refuting] == [
        ("IW-FW-ACCOUNT-DEFAULT-PASSWORD", ("/etc/shadow",))
    ]
    assert "IW-FW-ACCOUNT-DEFAULT-PASSWORD (/etc/shadow)" in unique.reason
    # The catalog also reads default accounts as insecure defaults.
    assert result.capability("secure-by-default").result is Result.FAIL
    # The checks that ran clean support what they cover, without deciding it alone.
    secrets = result.capability("no-hard-coded-secrets")
    assert secrets.result is Result.PARTIAL
    assert "unanswered: secrets.none_hard_coded" in secrets.reason

    etsi = result.framework("etsi-en-303-645-v2.1.1")
    assert etsi.requirement("5.1-1").result is Result.FAIL
    assert etsi.requirement("5.1-1").applicability.startswith("assumed")
    assert etsi.verdict is Verdict.FAIL
    assert result.requirement("uk-psti:1").result is Result.FAIL
    assert result.requirement("eu-cra:I.2.b").result is Result.FAIL


def test_many_findings_of_one_id_are_one_evidence_item_with_a_count(catalogs: Catalogs) -> None:
    weak = [
        finding("IW-FW-ELF-WEAK-HARDENING", ("exploit-mitigations",), path=f"/usr/bin/p{i}")
        for i in range(12)
    ]
    cap = assess(catalogs, firmware=firmware(*weak), today=TODAY).capability("exploit-mitigations")
    assert cap.result is Result.FAIL
    (item,) = [e for e in cap.evidence if e.bearing is Bearing.REFUTES]
    assert item.count == 12
    assert item.paths == tuple(f"/usr/bin/p{i}" for i in range(5))


def test_an_informational_finding_is_recorded_but_does_not_fail(catalogs: Catalogs) -> None:
    note = finding("IW-FW-CERT-SELF-SIGNED", ("secure-communication",), severity=Severity.INFO)
    cap = assess(catalogs, firmware=firmware(note), today=TODAY).capability("secure-communication")
    assert cap.result is Result.PARTIAL
    assert [e.bearing for e in cap.evidence if e.ref == "IW-FW-CERT-SELF-SIGNED"] == [
        Bearing.NEUTRAL
    ]


def test_update_facts_support_the_mechanism_while_missing_signatures_fail_secure_update(
    catalogs: Catalogs,
) -> None:
    unsigned = finding(
        "IW-FW-UPDATE-NO-SIGNED-MECHANISM",
        ("secure-update", "update-mechanism"),
        severity=Severity.MEDIUM,
        path="/",
    )
    checks = (
        *ALL_CHECKS[:-1],
        CheckRecord("updates", True, {"mechanisms": ["opkg"], "signed": []}),
    )
    result = assess(catalogs, firmware=firmware(unsigned, checks=checks), today=TODAY)
    assert result.capability("secure-update").result is Result.FAIL
    mechanism = result.capability("update-mechanism")
    assert mechanism.result is Result.PARTIAL  # seen in the image; update.mechanism unanswered
    assert any("update mechanism(s) in the image: opkg" in e.detail for e in mechanism.evidence)

    nothing = (*ALL_CHECKS[:-1], CheckRecord("updates", True, {"mechanisms": [], "signed": []}))
    result = assess(catalogs, firmware=firmware(unsigned, checks=nothing), today=TODAY)
    assert result.capability("update-mechanism").result is Result.FAIL
    assert result.requirement("etsi-en-303-645-v2.1.1:5.3-2").result is Result.FAIL


def test_a_check_that_failed_to_run_is_no_evidence(catalogs: Catalogs) -> None:
    checks = tuple(
        CheckRecord(
            c.name, c.name != "hardening", c.facts, "boom" if c.name == "hardening" else None
        )
        for c in ALL_CHECKS
    )
    cap = assess(catalogs, firmware=firmware(checks=checks), today=TODAY).capability(
        "exploit-mitigations"
    )
    assert cap.result is Result.NOT_EVIDENCED
    assert any(e.bearing is Bearing.NEUTRAL and "boom" in e.detail for e in cap.evidence)


def test_components_without_check_records_evidence_only_the_sbom(catalogs: Catalogs) -> None:
    from iotwarden.firmware.model import Confidence, IdentifiedComponent

    stored = FirmwareEvidence(
        source="inventory build A/B@1",
        components=(IdentifiedComponent("busybox", "1.36.1", Confidence.HIGH, ()),),
    )
    result = assess(catalogs, firmware=stored, today=TODAY)
    assert result.capability("sbom").result is Result.PARTIAL
    assert result.capability("unique-credentials").result is Result.NOT_EVIDENCED
    assert any("check records" in n for n in result.notes)


def test_complete_positive_declarations_alone_pass_every_mandatory_requirement(
    catalogs: Catalogs,
) -> None:
    decl = parse_declarations(complete_declarations(catalogs), catalogs, today=TODAY)
    result = assess(catalogs, declarations=decl, today=TODAY)
    assert all(c.result is Result.PASS for c in result.capabilities)
    assert all(c.basis is Basis.DECLARED for c in result.capabilities)
    for fw in result.frameworks:
        assert fw.verdict is Verdict.PASS, fw.framework
    # Conditions follow the declared facts.
    etsi = result.framework("etsi-en-303-645-v2.1.1")
    assert etsi.requirement("5.1-2").result is Result.NOT_APPLICABLE
    assert "uses-preinstalled-passwords: no" in etsi.requirement("5.1-2").reason
    assert etsi.requirement("5.6-4").result is Result.NOT_APPLICABLE
    assert etsi.requirement("5.1-1").result is Result.PASS
    assert result.subject == "Example Devices Ltd ExCam 200 2.4.1"


def test_a_product_without_a_v3_feature_gets_its_provisions_as_not_applicable(
    catalogs: Catalogs,
) -> None:
    # Every feature that had no fact before, declared absent (the sensor-less, offline, data-free
    # device): each provision it decides is not applicable, and says which answer made it so.
    lacking = dict.fromkeys(V3_NEW_FEATURE_PROVISIONS, False)
    data = complete_declarations(catalogs)
    data["facts"].update(lacking)
    result = assess(
        catalogs, declarations=parse_declarations(data, catalogs, today=TODAY), today=TODAY
    )
    for fact, provisions in V3_NEW_FEATURE_PROVISIONS.items():
        for rid in provisions:
            req = result.requirement(f"etsi-en-303-645-v3.1.3:{rid}")
            assert req.result is Result.NOT_APPLICABLE, rid
            assert f"{fact}: no" in req.reason, rid
    # 5.4-1 (secure storage of sensitive parameters) was mandatory for every device before.
    assert "persistent storage" in result.requirement("etsi-en-303-645-v3.1.3:5.4-1").reason
    v3 = result.framework("etsi-en-303-645-v3.1.3")
    assert v3.verdict is Verdict.PASS


def test_a_product_with_the_v3_features_gets_those_provisions_evaluated(
    catalogs: Catalogs,
) -> None:
    data = complete_declarations(catalogs)
    data["facts"].update(dict.fromkeys(V3_NEW_FEATURE_PROVISIONS, True))
    data["facts"]["debug-interface-accessible"] = True  # a UART on the board
    console = finding(
        "IW-FW-SERVICE-CONSOLE-SHELL",
        ("physical-interface-protection",),
        path="/etc/inittab",
        title="Login-free shell on the serial console",
    )
    result = assess(
        catalogs,
        firmware=firmware(console),
        declarations=parse_declarations(data, catalogs, today=TODAY),
        today=TODAY,
    )
    for provisions in V3_NEW_FEATURE_PROVISIONS.values():
        for rid in provisions:
            req = result.requirement(f"etsi-en-303-645-v3.1.3:{rid}")
            assert req.applicability == "applies", rid
            assert req.result is not Result.NOT_APPLICABLE, rid
    # The debug interface exists, so the console shell fails the mandatory 5.6-4A.
    debug = result.requirement("etsi-en-303-645-v3.1.3:5.6-4A")
    assert debug.result is Result.FAIL
    assert result.requirement("etsi-en-303-645-v3.1.3:5.4-1").result is Result.PASS
    assert result.framework("etsi-en-303-645-v3.1.3").verdict is Verdict.FAIL


def test_an_undeclared_v3_feature_is_assumed_to_apply(catalogs: Catalogs) -> None:
    data = complete_declarations(catalogs)
    decl = parse_declarations(data, catalogs, today=TODAY)
    facts = dict(decl.facts)
    del facts["stores-sensitive-security-parameters"]
    partial = dataclasses.replace(decl, facts=facts)
    req = assess(catalogs, declarations=partial, today=TODAY).requirement(
        "etsi-en-303-645-v3.1.3:5.4-1"
    )
    assert req.result is Result.PASS
    assert req.applicability == "assumed (not declared: stores-sensitive-security-parameters)"


def test_denied_and_unanswered_declarations(catalogs: Catalogs) -> None:
    data = complete_declarations(
        catalogs,
        **{
            "vulnerability_disclosure.policy_url": False,  # not published
            "sbom.available": False,
            "logging.security_events": None,
            "data_deletion.device": False,
            "data_deletion.services": False,
        },
    )
    result = assess(
        catalogs, declarations=parse_declarations(data, catalogs, today=TODAY), today=TODAY
    )
    assert result.capability("vulnerability-disclosure").result is Result.PARTIAL
    assert result.capability("sbom").result is Result.FAIL
    assert result.capability("security-logging").result is Result.NOT_EVIDENCED
    assert result.capability("data-deletion").result is Result.FAIL
    assert result.requirement("uk-psti:2").result is Result.PARTIAL
    assert result.requirement("eu-cra:II.1").result is Result.FAIL
    assert result.requirement("etsi-en-303-645-v2.1.1:5.11-1").result is Result.FAIL
    assert result.framework("uk-psti").verdict is Verdict.INCOMPLETE
    assert result.framework("eu-cra").verdict is Verdict.FAIL


def test_declared_not_applicable_with_a_justification(catalogs: Catalogs) -> None:
    why = {"not_applicable": "the device has no user data"}
    data = complete_declarations(
        catalogs, **{"data_deletion.device": why, "data_deletion.services": why}
    )
    result = assess(
        catalogs, declarations=parse_declarations(data, catalogs, today=TODAY), today=TODAY
    )
    cap = result.capability("data-deletion")
    assert cap.result is Result.NOT_APPLICABLE
    assert "the device has no user data" in cap.reason
    assert result.requirement("etsi-en-303-645-v2.1.1:5.11-1").result is Result.NOT_APPLICABLE


def test_a_support_period_that_ends_before_the_assessment_date_fails(catalogs: Catalogs) -> None:
    decl = parse_declarations(complete_declarations(catalogs), catalogs, today=TODAY)
    later = dt.date(2032, 1, 1)  # the declared end is 2031-12-31
    result = assess(catalogs, declarations=decl, today=later)
    cap = result.capability("defined-support-period")
    assert cap.result is Result.PARTIAL  # published_at still supports it
    assert any("support period ended on 2031-12-31" in e.detail for e in cap.evidence)
    assert result.requirement("uk-psti:3").result is Result.PARTIAL


def test_an_observed_defect_outweighs_a_declaration(catalogs: Catalogs) -> None:
    decl = parse_declarations(complete_declarations(catalogs), catalogs, today=TODAY)
    telnet = finding(
        "IW-FW-SERVICE-TELNET",
        ("minimal-attack-surface", "secure-communication"),
        path="/etc/inittab",
    )
    result = assess(catalogs, firmware=firmware(telnet), declarations=decl, today=TODAY)
    cap = result.capability("minimal-attack-surface")
    assert cap.result is Result.FAIL
    assert cap.basis is Basis.BOTH
    assert "despite the declaration of interfaces.unused_disabled" in cap.reason
    assert result.requirement("etsi-en-303-645-v2.1.1:5.6-1").result is Result.FAIL
    assert result.requirement("eu-cra:I.2.j").result is Result.FAIL
    # Everything else still passes: the verdict names the failing provisions.
    etsi = result.framework("etsi-en-303-645-v2.1.1")
    assert etsi.verdict is Verdict.FAIL
    failing = {r.id for r in etsi.requirements if r.result is Result.FAIL}
    assert {"5.6-1", "5.6-2", "5.5-1", "5.5-7", "5.8-2"} <= failing
    assert "5.1-1" not in failing


def test_gaps_rank_mandatory_failures_first_then_severity_and_reach(catalogs: Catalogs) -> None:
    findings = (
        finding(
            "IW-FW-ACCOUNT-DEFAULT-PASSWORD", ("unique-credentials",), severity=Severity.CRITICAL
        ),
        finding(
            "IW-FW-ELF-NO-NX", ("exploit-mitigations",), severity=Severity.MEDIUM, path="/bin/x"
        ),
    )
    result = assess(catalogs, firmware=firmware(*findings), today=TODAY)
    gaps = result.framework("etsi-en-303-645-v2.1.1").gaps
    assert [g.rank for g in gaps] == list(range(1, len(gaps) + 1))
    levels = [g.level.value for g in gaps]
    assert levels == sorted(levels, key=["mandatory", "recommended", "guidance"].index)
    mandatory = [g for g in gaps if g.level.value == "mandatory"]
    # Failures before partial results before missing evidence.
    ranks = [g.result.gap_rank for g in mandatory]
    assert ranks == sorted(ranks)
    assert mandatory[0].severity is Severity.CRITICAL
    assert mandatory[0].result is Result.FAIL
    first_fail = next(g for g in mandatory if g.requirement == "5.1-1")
    assert "fix it" in first_fail.actions
    # The capability to fix first holds the most mandatory requirements back.
    top = result.priorities[0]
    assert top.result is Result.FAIL
    assert top.mandatory_requirements >= max(
        p.mandatory_requirements for p in result.priorities if p.result is Result.FAIL
    )
    recommended_nx = next(g for g in gaps if g.requirement == "5.6-8")
    assert recommended_nx.result is Result.FAIL


def test_a_gaps_reach_is_counted_in_the_assessed_frameworks(catalogs: Catalogs) -> None:
    """'Fix first' says how many frameworks a capability holds back: of those assessed, so a
    narrowed assessment never names more frameworks than it shows."""
    found = firmware(
        finding("IW-FW-ACCOUNT-DEFAULT-PASSWORD", ("unique-credentials",), severity=Severity.HIGH)
    )
    everything = assess(catalogs, firmware=found, today=TODAY)
    narrowed = assess(catalogs, firmware=found, today=TODAY, frameworks=["uk-psti", "eu-cra"])
    wide = next(p for p in everything.priorities if p.capability == "unique-credentials")
    narrow = next(p for p in narrowed.priorities if p.capability == "unique-credentials")
    assert narrow.frameworks == 2 < wide.frameworks
    assert narrow.mandatory_requirements < wide.mandatory_requirements


def test_psti_deemed_compliance_follows_the_etsi_route(catalogs: Catalogs) -> None:
    # In the real catalogs PSTI 2 and ETSI 5.2-1 map to the same capability; re-map PSTI 2 to
    # a capability without evidence so that only the Schedule 2 route can make it pass.
    import dataclasses

    from iotwarden.baseline import CapabilityLink, Relationship

    psti = catalogs.framework("uk-psti")
    requirements = tuple(
        dataclasses.replace(
            r, capabilities=(CapabilityLink("security-logging", Relationship.EQUIVALENT),)
        )
        if r.id == "2"
        else r
        for r in psti.requirements
    )
    frameworks = [
        dataclasses.replace(fw, requirements=requirements) if fw.id == "uk-psti" else fw
        for fw in catalogs.frameworks
    ]
    remapped = Catalogs(frameworks, catalogs.capabilities, catalogs.facts)
    data = complete_declarations(catalogs, **{"logging.security_events": None})
    decl = parse_declarations(data, catalogs, today=TODAY)
    result = assess(remapped, declarations=decl, today=TODAY)
    deemed = result.requirement("uk-psti:2")
    assert deemed.result is Result.PASS
    assert deemed.deemed_by == "etsi-en-303-645-v2.1.1 5.2-1"
    assert "on its own: no evidence for security-logging" in deemed.reason
    assert result.framework("uk-psti").verdict is Verdict.PASS
    # Without the route passing, the requirement keeps its own result.
    data = complete_declarations(
        catalogs,
        **{"logging.security_events": None, "vulnerability_disclosure.policy_url": False},
    )
    result = assess(
        remapped, declarations=parse_declarations(data, catalogs, today=TODAY), today=TODAY
    )
    assert result.requirement("uk-psti:2").result is Result.NOT_EVIDENCED
    assert result.requirement("uk-psti:2").deemed_by is None


def test_framework_selection_by_alias(catalogs: Catalogs) -> None:
    result = assess(catalogs, today=TODAY, frameworks=["etsi-en-303-645", "uk-psti"])
    assert [f.framework for f in result.frameworks] == ["etsi-en-303-645-v3.1.3", "uk-psti"]
    assert all(f.verdict is Verdict.INCOMPLETE for f in result.frameworks)
    assert any("etsi-en-303-645-v3.1.3: catalog not verified" in n for n in result.notes)


def test_probe_results_refute_or_support_what_their_check_covers(catalogs: Catalogs) -> None:
    probes = parse_probe_results(
        [
            {"check": "default-credentials", "target": "10.0.0.7:23", "status": "fail",
             "evidence": "root/xc3511 accepted"},
            {"check": "tls-configuration", "target": "10.0.0.7:443", "status": "pass",
             "evidence": "TLS 1.2+ only"},
            {"check": "made-up-check", "target": "10.0.0.7", "status": "fail"},
        ]
    )  # fmt: skip
    result = assess(catalogs, probes=probes, today=TODAY)
    unique = result.capability("unique-credentials")
    assert unique.result is Result.FAIL
    assert unique.evidence[0].paths == ("10.0.0.7:23",)
    assert "root/xc3511 accepted" in unique.evidence[0].detail
    assert result.capability("secure-communication").result is Result.PARTIAL
    assert result.unused_probe_checks == ("made-up-check",)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"check": "x"}, "expected a list"),
        ([{"check": "x", "target": "t", "status": "maybe"}], r"\[0\]\.status: expected 'pass'"),
        ([{"check": "", "target": "t", "status": "pass"}], r"\[0\]\.check: expected non-empty"),
        ([{"check": "x", "target": "t", "status": "pass", "port": 1}], r"unknown field\(s\) port"),
        (["oops"], r"\[0\]: expected an object"),
    ],
)
def test_bad_probe_results_are_refused_naming_the_item(data: Any, message: str) -> None:
    with pytest.raises(AssessmentInputError, match=message):
        parse_probe_results(data, "probe.json")


def test_probe_results_wrapped_in_an_object_are_accepted() -> None:
    (only,) = parse_probe_results(
        {"results": [{"check": "open-services", "target": "h", "status": "pass"}]}
    )
    assert only == ProbeResult("open-services", "h", ProbeStatus.PASS, "")


def test_a_firmware_report_that_is_not_one_is_refused() -> None:
    with pytest.raises(AssessmentInputError, match="not a firmware analysis report"):
        FirmwareEvidence.from_report({"schema": "something-else"}, "x.json")
    with pytest.raises(AssessmentInputError, match="malformed"):
        FirmwareEvidence.from_report(
            {"schema": "iotwarden-firmware-analysis/1", "findings": [{"id": "x"}]}, "x.json"
        )


def test_the_assessment_json_names_requirement_ids_and_results(catalogs: Catalogs) -> None:
    mirai = finding("IW-FW-ACCOUNT-DEFAULT-PASSWORD", ("unique-credentials",))
    data = assess(catalogs, firmware=firmware(mirai), today=TODAY).to_dict()
    assert data["schema"] == "iotwarden-assessment/1"
    assert data["summary"]["uk-psti"] == "fail"
    etsi = next(f for f in data["frameworks"] if f["framework"] == "etsi-en-303-645-v2.1.1")
    first = next(r for r in etsi["requirements"] if r["id"] == "5.1-1")
    assert first["result"] == "fail"
    assert first["capabilities"] == [
        {"capability": "unique-credentials", "relationship": "equivalent", "result": "fail"}
    ]
    cap = next(c for c in data["capabilities"] if c["capability"] == "unique-credentials")
    assert cap["evidence"][0]["ref"] == "IW-FW-ACCOUNT-DEFAULT-PASSWORD"
    assert etsi["gaps"][0]["rank"] == 1
