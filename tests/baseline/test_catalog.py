"""The bundled baseline catalogs: counts against the published documents, crosswalk coverage,
evidence sources, and clear errors for broken catalog files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from iotwarden.baseline import (
    CatalogError,
    Catalogs,
    EvidenceSource,
    Level,
    UnknownReferenceError,
    bundled_catalog_dir,
    load_catalogs,
)
from iotwarden.firmware import model as fw_model

#: Requirements per framework, from the published documents.
EXPECTED_COUNTS = {
    # ETSI EN 303 645 V2.1.1 clauses 4-6 and Table B.1: 4-1, 5.1-1 ... 5.13-1, 6-1 ... 6-5.
    "etsi-en-303-645-v2.1.1": 68,
    # V3.1.3 Table B.1 (5.0-1 ... 6-8, with A/B splits), as transcribed by the Ruuvi Gateway ICS
    # (ruuvi/ruuvi.gateway_esp.c cra/303645/ICS_Ruuvi_Gateway.md) and two other copies that agree;
    # the ETSI PDF itself was not reachable, so the framework stays marked unverified.
    "etsi-en-303-645-v3.1.3": 78,
    # NIST IR 8259A Table 1: six capabilities with 2, 3, 3, 3, 6 and 5 common elements (text of
    # NIST.IR.8259A; draft-ietf-iotops-security-summary-01 quotes the numbered lists).
    "nist-ir-8259a": 22,
    # NIST IR 8259B Section 3: four non-technical supporting capabilities.
    "nist-ir-8259b": 4,
    # NIST IR 8425: product criteria 1a-1b, 2a-2c, 3a-3c, 4a-4b, 5a-5b, 6a; developer 7a-10a.
    "nist-ir-8425": 17,
    # PSTI Regulations 2023 Schedule 1, paragraphs 1-3.
    "uk-psti": 3,
    # Regulation (EU) 2024/2847 Annex I: Part I (1) and (2)(a)-(m), Part II (1)-(8).
    "eu-cra": 22,
    # DHS Strategic Principles v1.0: practices under principles 1-6 (4, 5, 4, 3, 3, 3).
    "dhs-iot-principles": 22,
    # OWASP IoT Top 10 2018: I1-I10.
    "owasp-iot-2018": 10,
}

#: Capability ids firmware findings already use (iotwarden.firmware.model.CAP_*) plus the
#: organisational ones the later assessment step relies on.
REQUIRED_CAPABILITIES = {
    "unique-credentials", "strong-authentication", "no-hard-coded-secrets",
    "secure-storage-of-secrets", "minimal-attack-surface", "secure-communication",
    "exploit-mitigations", "least-privilege", "secure-update", "update-mechanism",
    "no-known-exploitable-vulnerabilities", "sbom", "software-integrity",
    "vulnerability-disclosure", "defined-support-period", "data-deletion", "security-logging",
}  # fmt: skip

FIRMWARE_FINDING_PREFIXES = (
    "IW-FW-ACCOUNT-", "IW-FW-CREDS-", "IW-FW-KEY-", "IW-FW-SERVICE-", "IW-FW-ELF-",
    "IW-FW-UPDATE-", "IW-FW-KNOWN-VULN", "IW-FW-REMOTE-LOGIN-", "IW-FW-CERT-",
)  # fmt: skip


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return load_catalogs()


def test_requirement_counts_match_the_published_documents(catalogs: Catalogs) -> None:
    assert {f.id: len(f.requirements) for f in catalogs.frameworks} == EXPECTED_COUNTS


def test_etsi_v2_mandatory_and_recommended_split(catalogs: Catalogs) -> None:
    # Table B.1: 33 mandatory provisions (M and M C, with 4-1) and 35 recommendations.
    counts = catalogs.framework("etsi-en-303-645-v2.1.1").counts()
    assert (counts["mandatory"], counts["recommended"], counts["conditional"]) == (33, 35, 23)


def test_etsi_v3_provisions_follow_its_table_b1(catalogs: Catalogs) -> None:
    # Table B.1 of V3 (see EXPECTED_COUNTS): 36 M/MF/MC provisions and 42 R/RF/RC ones; 46 have a
    # condition or a feature, each decided by a fact.
    v3 = catalogs.framework("etsi-en-303-645-v3.1.3")
    counts = v3.counts()
    assert (counts["mandatory"], counts["recommended"], counts["conditional"]) == (36, 42, 46)
    ids = {r.id for r in v3.requirements}
    # 4-1 moved to 5.0-1; six provisions split into A and B; four are new.
    assert "4-1" not in ids and "5.0-1" in ids
    split = {"5.3-4", "5.3-6", "5.3-15", "5.6-4", "5.13-1", "6-3"}
    assert not split & ids
    assert {f"{p}{s}" for p in split for s in "AB"} <= ids
    assert {"5.1-2A", "6-6", "6-7", "6-8"} <= ids
    levels = {r.id: r.level for r in v3.requirements}
    assert levels["5.1-2A"] is Level.RECOMMENDED
    assert (levels["5.6-4A"], levels["5.6-4B"]) == (Level.MANDATORY, Level.RECOMMENDED)
    assert (levels["6-6"], levels["6-7"], levels["6-8"]) == (
        Level.MANDATORY, Level.RECOMMENDED, Level.RECOMMENDED,
    )  # fmt: skip
    # Feature (g), "software can be updated", decides 5.3-3 and is no longer unconditional.
    upd = catalogs.requirement("etsi-en-303-645-v3.1.3:5.3-3").condition
    assert upd is not None and upd.applies({"has-update-mechanism": False}) is False


#: V3 Table B.1, provision -> status, as transcribed in the sources of EXPECTED_COUNTS.
V3_TABLE_B1 = """
5.0-1 M
5.1-1 M F(a) | 5.1-2 M F(b) | 5.1-2A R | 5.1-3 M F(c) | 5.1-4 M F(d) | 5.1-5 M C(14) F(e)
5.2-1 M | 5.2-2 R | 5.2-3 R
5.3-1 R F(f) | 5.3-2 M C(15) | 5.3-3 M F(g) | 5.3-4A R F(g) | 5.3-4B R F(h) | 5.3-5 R F(g)
5.3-6A R F(h) | 5.3-6B R F(i) | 5.3-7 M F(g) | 5.3-8 M C(12) | 5.3-9 R F(g) | 5.3-10 M F(j)
5.3-11 R C(12) | 5.3-12 R C(12) | 5.3-13 M | 5.3-14 R C(3) | 5.3-15A R C(3) | 5.3-15B R C(3)
5.3-16 M
5.4-1 M F(k) | 5.4-2 M F(l) | 5.4-3 M | 5.4-4 M F(m)
5.5-1 M | 5.5-2 R | 5.5-3 R | 5.5-4 R | 5.5-5 M F(n) | 5.5-6 R F(o) | 5.5-7 M F(o) | 5.5-8 M C(16)
5.6-1 M F(p) | 5.6-2 M | 5.6-3 R | 5.6-4A M F(q) | 5.6-4B R F(r) | 5.6-5 R | 5.6-6 R | 5.6-7 R
5.6-8 R | 5.6-9 R
5.7-1 R | 5.7-2 R F(s)
5.8-1 R F(t) | 5.8-2 M F(u) | 5.8-3 M F(v)
5.9-1 R | 5.9-2 R | 5.9-3 R
5.10-1 R F(w)
5.11-1 M | 5.11-2 R F(x) | 5.11-3 R | 5.11-4 R
5.12-1 R | 5.12-2 R | 5.12-3 R
5.13-1A M | 5.13-1B M
6-1 M | 6-2 M F(y) | 6-3A M F(y) | 6-3B M F(y) | 6-4 R F(w) | 6-5 M F(w) | 6-6 M F(z)
6-7 R F(aa) | 6-8 R F(z)
"""

#: Each V3 condition C(n) and feature F(x) -> the declared facts under which it holds. Features
#: h, i and j (automatic updates, notifications, network delivery) presuppose g (updatable).
V3_FEATURE_FACTS: dict[str, dict[str, bool]] = {
    "C(3)": {"software-not-updatable": True},
    "C(12)": {"has-update-mechanism": True},
    "C(14)": {"constrained-device": False},
    "C(15)": {"constrained-device": False},
    "C(16)": {"has-critical-security-parameters": True},
    "F(a)": {"uses-passwords": True},
    "F(b)": {"uses-preinstalled-passwords": True},
    "F(c)": {"uses-cryptographic-authentication": True},
    "F(d)": {"user-authenticates-to-device": True},
    "F(e)": {"authenticates-over-network": True},
    "F(f)": {"has-mutable-software": True},
    "F(g)": {"has-update-mechanism": True},
    "F(h)": {"supports-automatic-updates": True, "has-update-mechanism": True},
    "F(i)": {"provides-update-notifications": True, "has-update-mechanism": True},
    "F(j)": {"updates-over-network": True, "has-update-mechanism": True},
    "F(k)": {"stores-sensitive-security-parameters": True},
    "F(l)": {"hard-coded-unique-identity": True},
    "F(m)": {"uses-keys-for-updates-or-services": True},
    "F(n)": {"configurable-over-network": True},
    "F(o)": {"security-parameters-leave-device": True},
    "F(p)": {"has-unused-interfaces": True},
    "F(q)": {"has-debug-interfaces": True},
    "F(r)": {"debug-interface-accessible": True},
    "F(s)": {"detects-software-changes": True},
    "F(t)": {"sends-personal-data": True},
    "F(u)": {"sends-sensitive-personal-data": True},
    "F(v)": {"has-external-sensors": True},
    "F(w)": {"collects-telemetry": True},
    "F(x)": {"services-store-personal-data": True},
    "F(y)": {"consent-based-processing": True},
    "F(z)": {"processes-personal-data": True},
    "F(aa)": {"computes-aggregates": True},
}

#: The features that had no fact before (their provisions were assumed to apply), with the V3
#: provisions each now decides.
V3_NEW_FEATURE_PROVISIONS = {
    "uses-cryptographic-authentication": ["5.1-3"],
    "authenticates-over-network": ["5.1-5"],
    "has-mutable-software": ["5.3-1"],
    "provides-update-notifications": ["5.3-6B"],
    "has-critical-security-parameters": ["5.5-8"],
    "stores-sensitive-security-parameters": ["5.4-1"],
    "uses-keys-for-updates-or-services": ["5.4-4"],
    "configurable-over-network": ["5.5-5"],
    "security-parameters-leave-device": ["5.5-6", "5.5-7"],
    "has-unused-interfaces": ["5.6-1"],
    "has-debug-interfaces": ["5.6-4A"],
    "detects-software-changes": ["5.7-2"],
    "sends-personal-data": ["5.8-1"],
    "sends-sensitive-personal-data": ["5.8-2"],
    "has-external-sensors": ["5.8-3"],
    "services-store-personal-data": ["5.11-2"],
    "processes-personal-data": ["6-6", "6-8"],
    "computes-aggregates": ["6-7"],
}


def _v3_table_b1() -> dict[str, tuple[str, list[str]]]:
    rows = [row.split() for line in V3_TABLE_B1.strip().splitlines() for row in line.split("|")]
    return {row[0]: (row[1], row[2:]) for row in rows}


def test_every_v3_condition_and_feature_of_table_b1_is_decided_by_a_fact(
    catalogs: Catalogs,
) -> None:
    table = _v3_table_b1()
    v3 = catalogs.framework("etsi-en-303-645-v3.1.3")
    assert set(table) == {r.id for r in v3.requirements}
    used = {q for _, qualifiers in table.values() for q in qualifiers}
    assert used == set(V3_FEATURE_FACTS)  # conditions 3, 12, 14, 15, 16 and features a to aa
    wrong = {}
    for req in v3.requirements:
        status, qualifiers = table[req.id]
        expected = {f: v for q in qualifiers for f, v in V3_FEATURE_FACTS[q].items()}
        got = dict(req.condition.when) if req.condition else {}
        level = Level.MANDATORY if status == "M" else Level.RECOMMENDED
        if got != expected or req.level is not level:
            wrong[req.id] = (req.level.value, got, status, expected)
    assert wrong == {}


def test_each_new_v3_feature_fact_decides_exactly_its_provisions(catalogs: Catalogs) -> None:
    v3 = catalogs.framework("etsi-en-303-645-v3.1.3")
    for fact, provisions in V3_NEW_FEATURE_PROVISIONS.items():
        decided = [r.id for r in v3.requirements if r.condition and fact in dict(r.condition.when)]
        assert decided == provisions, fact


def test_every_fact_decides_some_requirement(catalogs: Catalogs) -> None:
    used = {
        fact
        for fw in catalogs.frameworks
        for r in fw.requirements
        if r.condition
        for fact, _ in r.condition.when
    }
    assert {f.id for f in catalogs.facts} == used


def test_nist_8259a_elements_per_capability(catalogs: Catalogs) -> None:
    fw = catalogs.framework("nist-ir-8259a")
    per_group = [sum(1 for r in fw.requirements if r.group == g.id) for g in fw.groups]
    assert per_group == [2, 3, 3, 3, 6, 5]
    assert fw.verification.verified


def test_regulations_are_mandatory_and_guidance_is_not(catalogs: Catalogs) -> None:
    for fw_id in ("eu-cra", "uk-psti"):
        assert {r.level for r in catalogs.framework(fw_id).requirements} == {Level.MANDATORY}
    for fw_id in ("nist-ir-8259a", "nist-ir-8425", "dhs-iot-principles", "owasp-iot-2018"):
        assert {r.level for r in catalogs.framework(fw_id).requirements} == {Level.GUIDANCE}


def test_alias_names_the_latest_etsi_edition(catalogs: Catalogs) -> None:
    assert catalogs.framework("etsi-en-303-645").id == "etsi-en-303-645-v3.1.3"
    assert catalogs.framework("ETSI-EN-303-645").version == "3.1.3"


def test_unconfirmed_catalogs_say_so(catalogs: Catalogs) -> None:
    unverified = {f.id for f in catalogs.frameworks if not f.verification.verified}
    assert unverified == {"etsi-en-303-645-v3.1.3", "nist-ir-8425", "dhs-iot-principles"}
    v3 = catalogs.framework("etsi-en-303-645-v3.1.3")
    assert "Not checked against the ETSI PDF" in v3.verification.note
    assert v3.based_on is None
    # Summaries written from secondary descriptions say so on the requirement itself.
    inferred = catalogs.requirement("etsi-en-303-645-v3.1.3:6-8").verification
    assert inferred is not None and not inferred.verified
    assert catalogs.requirement("etsi-en-303-645-v3.1.3:5.1-1").verification is None
    for fw in catalogs.frameworks:
        assert fw.verification.note.strip()


def test_every_framework_records_its_source(catalogs: Catalogs) -> None:
    for fw in catalogs.frameworks:
        assert fw.url.startswith("https://"), fw.id
        assert fw.publisher and fw.version and fw.date and fw.title
        for req in fw.requirements:
            assert req.section, req.ref
            assert req.summary and req.title, req.ref


def test_sections_point_into_the_document(catalogs: Catalogs) -> None:
    assert catalogs.requirement("eu-cra:I.2.b").section == "Annex I, Part I (2)(b)"
    assert catalogs.requirement("uk-psti:3").section == "Schedule 1, paragraph 3"
    assert catalogs.requirement("etsi-en-303-645-v2.1.1:5.3-13").section == "5.3"


def test_every_requirement_is_crosswalked(catalogs: Catalogs) -> None:
    unmapped = [r.ref for f in catalogs.frameworks for r in f.requirements if not r.capabilities]
    assert unmapped == []


def test_every_capability_is_asked_for_by_some_framework(catalogs: Catalogs) -> None:
    assert catalogs.crosswalk.unused_capabilities() == ()


def test_capability_set_size_and_required_ids(catalogs: Catalogs) -> None:
    ids = {c.id for c in catalogs.capabilities}
    assert 30 <= len(ids) <= 45
    assert ids >= REQUIRED_CAPABILITIES


def test_firmware_capability_constants_exist_in_the_catalog(catalogs: Catalogs) -> None:
    constants = {v for k, v in vars(fw_model).items() if k.startswith("CAP_")}
    assert constants
    assert constants <= {c.id for c in catalogs.capabilities}


def test_every_capability_says_how_it_is_evidenced(catalogs: Catalogs) -> None:
    for cap in catalogs.capabilities:
        assert cap.automatic or cap.declarations, cap.id
        for auto in cap.automatic:
            if auto.source is EvidenceSource.FIRMWARE_FINDING:
                assert auto.match is not None
                assert auto.match.startswith(FIRMWARE_FINDING_PREFIXES), (cap.id, auto.match)


def test_every_firmware_finding_pattern_names_findings_the_checks_report(
    catalogs: Catalogs,
) -> None:
    """A pattern that no check can produce would never refute anything (it happened: the
    catalog once said IW-FW-CREDENTIAL-* while the checks report IW-FW-CREDS-*)."""
    from iotwarden.firmware.checks import CHECKS
    from iotwarden.firmware.vulns import FINDING_ID

    reported = {finding_id for check in CHECKS for finding_id in check.finding_ids}
    reported.add(FINDING_ID)
    for cap in catalogs.capabilities:
        for auto in cap.automatic:
            if auto.source is EvidenceSource.FIRMWARE_FINDING:
                assert any(auto.matches(f) for f in reported), (cap.id, auto.match)


def test_firmware_findings_reach_the_expected_capabilities(catalogs: Catalogs) -> None:
    def caps_for(finding_id: str) -> set[str]:
        return {
            c.id
            for c in catalogs.capabilities
            if any(a.source is EvidenceSource.FIRMWARE_FINDING and a.matches(finding_id)
                   for a in c.automatic)
        }  # fmt: skip

    assert {"unique-credentials", "secure-by-default"} <= caps_for("IW-FW-ACCOUNT-DEFAULT-PASSWORD")
    assert "exploit-mitigations" in caps_for("IW-FW-ELF-NO-NX")
    assert "no-known-exploitable-vulnerabilities" in caps_for("IW-FW-KNOWN-VULN")
    assert caps_for("IW-FW-KNOWN-VULNERABLE") == set()  # an exact id, not a prefix


def test_conditions_use_declared_facts(catalogs: Catalogs) -> None:
    req = catalogs.requirement("etsi-en-303-645:5.1-1")
    assert req.condition is not None
    assert req.condition.when == (("uses-passwords", True),)
    assert req.condition.applies({"uses-passwords": False}) is False
    assert req.condition.applies({"uses-passwords": True}) is True
    assert req.condition.applies({}) is None
    brute = catalogs.requirement("etsi-en-303-645:5.1-5")
    assert brute.condition is not None
    assert brute.condition.applies({"constrained-device": True}) is False
    # One declared "no" rules a requirement out whatever the order of its facts, even with
    # another fact undeclared.
    assert brute.condition.applies({"authenticates-over-network": False}) is False
    assert brute.condition.applies({"authenticates-over-network": True}) is None
    facts = {f.id for f in catalogs.facts}
    for fw in catalogs.frameworks:
        for r in fw.requirements:
            if r.condition:
                assert {k for k, _ in r.condition.when} <= facts


def test_declaration_keys_are_unique_dotted_names(catalogs: Catalogs) -> None:
    keys = [d.key for c in catalogs.capabilities for d in c.declarations]
    assert len(keys) == len(set(keys))
    assert "support_period.end_date" in keys
    assert "vulnerability_disclosure.contact" in keys


def test_lookup_errors_explain_what_to_type(catalogs: Catalogs) -> None:
    with pytest.raises(UnknownReferenceError, match="no framework 'etsi'"):
        catalogs.requirement("etsi:5.1-1")
    with pytest.raises(UnknownReferenceError, match="expected FRAMEWORK:REQUIREMENT"):
        catalogs.requirement("5.1-1")
    with pytest.raises(UnknownReferenceError, match=r"is a group .*5\.1-1, 5\.1-2"):
        catalogs.requirement("etsi-en-303-645:5.1")
    with pytest.raises(UnknownReferenceError, match=r"has no requirement '9\.9-9'"):
        catalogs.requirement("etsi-en-303-645:9.9-9")
    assert catalogs.requirement("eu-cra:i.2.B").id == "I.2.b"


def test_loading_is_cached() -> None:
    assert load_catalogs() is load_catalogs()


# --- broken catalog files (copies of the bundled ones, edited in tmp) ------------------------


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    target = tmp_path / "baseline"
    shutil.copytree(bundled_catalog_dir(), target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_copied_catalog_loads_like_the_bundled_one(catalog_copy: Path) -> None:
    copy = load_catalogs(catalog_copy)
    assert [f.id for f in copy.frameworks] == [f.id for f in load_catalogs().frameworks]


def test_invalid_field_value_names_file_and_field(catalog_copy: Path) -> None:
    path = catalog_copy / "frameworks" / "uk-psti.yaml"
    _edit(path, "level: mandatory", "level: must")
    with pytest.raises(CatalogError) as caught:
        load_catalogs(catalog_copy)
    assert caught.value.origin.endswith("uk-psti.yaml")
    assert caught.value.field_path == "requirements/0/level"
    assert "'must' is not one of" in str(caught.value)


def test_missing_field_is_reported(catalog_copy: Path) -> None:
    path = catalog_copy / "frameworks" / "owasp-iot-2018.yaml"
    _edit(path, "url: https://owasp.org/www-project-internet-of-things/\n", "")
    with pytest.raises(CatalogError, match=r"owasp-iot-2018\.yaml at \(top level\): 'url' is a"):
        load_catalogs(catalog_copy)


def test_unknown_capability_in_crosswalk(catalog_copy: Path) -> None:
    path = catalog_copy / "frameworks" / "eu-cra.yaml"
    _edit(path, "maps: {no-known-exploitable-vulnerabilities: equivalent}",
          "maps: {no-known-bugs: equivalent}")  # fmt: skip
    with pytest.raises(CatalogError, match=r"eu-cra\.yaml at requirements/1/maps/no-known-bugs"):
        load_catalogs(catalog_copy)


def test_unknown_relationship(catalog_copy: Path) -> None:
    path = catalog_copy / "frameworks" / "owasp-iot-2018.yaml"
    _edit(path, "maps: {secure-by-default: equivalent", "maps: {secure-by-default: same")
    with pytest.raises(CatalogError, match=r"requirements/8/maps/secure-by-default: 'same'"):
        load_catalogs(catalog_copy)


def test_unknown_fact_in_condition(catalog_copy: Path) -> None:
    path = catalog_copy / "frameworks" / "uk-psti.yaml"
    _edit(path, "when: {uses-passwords: true}", "when: {has-passwords: true}")
    with pytest.raises(CatalogError, match="unknown fact 'has-passwords'"):
        load_catalogs(catalog_copy)


def test_duplicate_requirement_id(catalog_copy: Path) -> None:
    path = catalog_copy / "frameworks" / "uk-psti.yaml"
    _edit(path, '- id: "2"', '- id: "1"')
    with pytest.raises(CatalogError, match=r"requirements/1/id: duplicate requirement '1'"):
        load_catalogs(catalog_copy)


def test_unknown_based_on(catalog_copy: Path) -> None:
    path = catalog_copy / "frameworks" / "etsi-en-303-645-v3.1.3.yaml"
    _edit(path, "aliases: [etsi-en-303-645]\n",
          "aliases: [etsi-en-303-645]\nbased_on: etsi-en-303-645-v1.0.0\n")  # fmt: skip
    with pytest.raises(CatalogError, match="at based_on: unknown framework"):
        load_catalogs(catalog_copy)


def test_based_on_inherits_and_replaces_by_id(catalog_copy: Path) -> None:
    # No bundled framework inherits any more (V3.1.3 is catalogued in full), so an amended
    # edition written in tmp keeps the mechanism tested.
    (catalog_copy / "frameworks" / "amended.yaml").write_text(
        "schema_version: 1\nid: etsi-amended\nbased_on: etsi-en-303-645-v2.1.1\n"
        "title: Amended\nshort_title: Amended\npublisher: Test\nversion: '1'\n"
        "date: '2026'\nurl: https://example.invalid/\nkind: standard\nid_scheme: as base\n"
        "verification: {verified: false, note: test only}\n"
        "requirements:\n"
        "  - {id: '5.1-1', group: '5.1', title: T, summary: S, level: recommended,"
        " maps: {unique-credentials: subset}}\n"
        "  - {id: '5.1-9', group: '5.1', title: T, summary: S, level: recommended,"
        " maps: {unique-credentials: subset}}\n",
        encoding="utf-8",
    )
    amended = load_catalogs(catalog_copy).framework("etsi-amended")
    assert len(amended.requirements) == 69
    replaced = amended.requirement("5.1-1")
    assert replaced is not None and replaced.level is Level.RECOMMENDED


def test_deemed_compliance_must_name_real_requirements(catalog_copy: Path) -> None:
    path = catalog_copy / "frameworks" / "uk-psti.yaml"
    _edit(path, 'requirements: ["5.3-13"]', 'requirements: ["5.3-99"]')
    with pytest.raises(CatalogError, match=r"routes/0/requirements/0: .* no requirement '5\.3-99'"):
        load_catalogs(catalog_copy)


def test_yaml_syntax_error_gives_line(catalog_copy: Path) -> None:
    path = catalog_copy / "capabilities.yaml"
    path.write_text("schema_version: 1\nfacts: [\n", encoding="utf-8")
    with pytest.raises(
        CatalogError, match=r"capabilities\.yaml at line \d+, column \d+: not valid"
    ):
        load_catalogs(catalog_copy)


def test_truncated_and_garbage_files(catalog_copy: Path) -> None:
    path = catalog_copy / "frameworks" / "uk-psti.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CatalogError, match=r"uk-psti\.yaml: not UTF-8 text"):
        load_catalogs(catalog_copy)
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="expected a mapping at the top level"):
        load_catalogs(catalog_copy)


def test_no_framework_files(catalog_copy: Path) -> None:
    shutil.rmtree(catalog_copy / "frameworks")
    with pytest.raises(CatalogError, match="no framework files"):
        load_catalogs(catalog_copy)


def test_alias_clash(catalog_copy: Path) -> None:
    path = catalog_copy / "frameworks" / "eu-cra.yaml"
    _edit(path, "id: eu-cra\n", "id: eu-cra\naliases: [etsi-en-303-645]\n")
    with pytest.raises(CatalogError, match="'etsi-en-303-645' is already used"):
        load_catalogs(catalog_copy)
