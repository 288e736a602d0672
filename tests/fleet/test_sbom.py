"""CycloneDX and SPDX SBOM importers: SBOMs built with cyclonedx-python-lib (CycloneDX) and as
small SPDX 2.3 dicts, read back into the components of one firmware build."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component as CdxComponent
from cyclonedx.model.component import ComponentType
from cyclonedx.model.contact import OrganizationalEntity
from cyclonedx.output import make_outputter
from cyclonedx.schema import OutputFormat, SchemaVersion
from packageurl import PackageURL

from iotwarden.core.fleet import BuildComponents, BuildRef, Component, ProductRef
from iotwarden.fleet import sbom
from iotwarden.fleet.interface import ImportFileError, ImportOutcome, Located, RecordError
from iotwarden.fleet.sbom import CycloneDxImporter, SpdxImporter

EXGATE = BuildRef(ProductRef("Example Controls", "ExGate 100"), "4.2.1")
OTHER_BUILD = BuildRef(ProductRef("Acme", "Gateway X"), "9.9")
OPENSSL_PURL = "pkg:generic/openssl@1.0.1e"
OPENSSL_CPE = "cpe:2.3:a:openssl:openssl:1.0.1e:*:*:*:*:*:*:*"

#: What the ExGate 100 4.2.1 SBOMs below state, in the importers' (name, version) order.
EXGATE_COMPONENTS = (
    Component("busybox", "1.24.1", supplier="BusyBox"),
    Component("dropbear", "2015.67", supplier="matt"),
    Component("libtommath", "0.42.0"),
    Component("openssl", "1.0.1e", OPENSSL_PURL, OPENSSL_CPE, "OpenSSL Project"),
)


# --- generators ----------------------------------------------------------------------------


def exgate_bom(
    *, root_supplier: str | None = "Example Controls", extra: list[CdxComponent] | None = None
) -> Bom:
    """ExGate 100 4.2.1 firmware: openssl, busybox and dropbear (with libtommath inside)."""
    root = CdxComponent(
        name="ExGate 100",
        version="4.2.1",
        type=ComponentType.FIRMWARE,
        bom_ref="exgate-100",
        supplier=OrganizationalEntity(name=root_supplier) if root_supplier else None,
    )
    parts = [
        CdxComponent(
            name="openssl",
            version="1.0.1e",
            bom_ref="openssl",
            purl=PackageURL.from_string(OPENSSL_PURL),
            cpe=OPENSSL_CPE,
            supplier=OrganizationalEntity(name="OpenSSL Project"),
        ),
        CdxComponent(name="busybox", version="1.24.1", bom_ref="busybox", publisher="BusyBox"),
        CdxComponent(
            name="dropbear",
            version="2015.67",
            bom_ref="dropbear",
            group="matt",
            components=[CdxComponent(name="libtommath", version="0.42.0", bom_ref="libtommath")],
        ),
        *(extra or []),
    ]
    bom = Bom(metadata=BomMetaData(component=root), components=parts)
    bom.register_dependency(root, parts)
    return bom


def cyclonedx_json(bom: Bom, version: SchemaVersion = SchemaVersion.V1_6) -> dict[str, Any]:
    text = make_outputter(bom, OutputFormat.JSON, version).output_as_string(indent=2)
    document: dict[str, Any] = json.loads(text)
    return document


def component_index(document: dict[str, Any], name: str) -> int:
    """Where the library's outputter (which sorts) put a top-level component."""
    return next(i for i, c in enumerate(document["components"]) if c["name"] == name)


def spdx_document() -> dict[str, Any]:
    """ExGate 100 4.2.1 as a small SPDX 2.3 document."""
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "exgate-100-4.2.1",
        "documentNamespace": "https://example.com/spdx/exgate-100-4.2.1",
        "creationInfo": {"created": "2024-05-01T10:00:00Z", "creators": ["Tool: iotwarden-tests"]},
        "packages": [
            {
                "SPDXID": "SPDXRef-firmware",
                "name": "ExGate 100",
                "versionInfo": "4.2.1",
                "supplier": "Organization: Example Controls",
                "downloadLocation": "NOASSERTION",
            },
            {
                "SPDXID": "SPDXRef-openssl",
                "name": "openssl",
                "versionInfo": "1.0.1e",
                "supplier": "Organization: OpenSSL Project",
                "downloadLocation": "NOASSERTION",
                "externalRefs": [
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": OPENSSL_PURL,
                    },
                    {
                        "referenceCategory": "SECURITY",
                        "referenceType": "cpe23Type",
                        "referenceLocator": OPENSSL_CPE,
                    },
                ],
            },
            {
                "SPDXID": "SPDXRef-busybox",
                "name": "busybox",
                "versionInfo": "1.24.1",
                "supplier": "Person: Erik Andersen (andersen@codepoet.org)",
                "downloadLocation": "NOASSERTION",
                "externalRefs": [
                    {
                        "referenceCategory": "PACKAGE_MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": "pkg:generic/busybox@1.24.1",
                    }
                ],
            },
            {
                "SPDXID": "SPDXRef-dropbear",
                "name": "dropbear",
                "supplier": "NOASSERTION",
                "downloadLocation": "NOASSERTION",
            },
        ],
        "relationships": [
            {
                "spdxElementId": "SPDXRef-DOCUMENT",
                "relationshipType": "DESCRIBES",
                "relatedSpdxElement": "SPDXRef-firmware",
            },
            *(
                {
                    "spdxElementId": "SPDXRef-firmware",
                    "relationshipType": "CONTAINS",
                    "relatedSpdxElement": f"SPDXRef-{name}",
                }
                for name in ("openssl", "busybox", "dropbear")
            ),
        ],
    }


SPDX_COMPONENTS = (
    Component("busybox", "1.24.1", "pkg:generic/busybox@1.24.1", supplier="Erik Andersen"),
    Component("dropbear"),
    Component("openssl", "1.0.1e", OPENSSL_PURL, OPENSSL_CPE, "OpenSSL Project"),
)


def write(tmp_path: Path, name: str, document: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def only_located(outcomes: list[ImportOutcome]) -> Located:
    located = [o for o in outcomes if isinstance(o, Located)]
    assert len(located) == 1
    return located[0]


def errors_of(outcomes: list[ImportOutcome]) -> list[RecordError]:
    return [o for o in outcomes if isinstance(o, RecordError)]


# --- CycloneDX -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version", [SchemaVersion.V1_4, SchemaVersion.V1_5, SchemaVersion.V1_6], ids=str
)
def test_cyclonedx_build_and_components_from_each_spec_version(
    tmp_path: Path, version: SchemaVersion
) -> None:
    path = write(tmp_path, "exgate.cdx.json", cyclonedx_json(exgate_bom(), version))

    outcomes = list(CycloneDxImporter().read(path))

    assert outcomes == [
        Located(BuildComponents(EXGATE, EXGATE_COMPONENTS), str(path), "$.metadata.component")
    ]


def test_cyclonedx_build_argument_overrides_metadata(tmp_path: Path) -> None:
    path = write(tmp_path, "exgate.cdx.json", cyclonedx_json(exgate_bom()))

    located = only_located(list(CycloneDxImporter().read(path, OTHER_BUILD)))

    assert located.record == BuildComponents(OTHER_BUILD, EXGATE_COMPONENTS)
    assert located.where == "$"


def test_cyclonedx_accepts_cyclonedx_json_only(tmp_path: Path) -> None:
    cdx = json.dumps(cyclonedx_json(exgate_bom())).encode()
    spdx = json.dumps(spdx_document()).encode()

    assert CycloneDxImporter.accepts(tmp_path / "a.json", cdx)
    assert CycloneDxImporter.accepts(tmp_path / "a.json", b"\xef\xbb\xbf" + cdx)
    assert not CycloneDxImporter.accepts(tmp_path / "a.json", spdx)
    assert not CycloneDxImporter.accepts(tmp_path / "a.csv", b'name,"bomFormat": "CycloneDX"')


def test_cyclonedx_nested_components_of_the_root_count_and_the_root_itself_does_not(
    tmp_path: Path,
) -> None:
    document = cyclonedx_json(exgate_bom())
    document["metadata"]["component"]["components"] = [
        {"type": "library", "name": "u-boot", "version": "2016.01", "bom-ref": "u-boot"}
    ]
    # Some generators list the described firmware among its own components too.
    document["components"].append(
        {"type": "firmware", "name": "ExGate 100", "version": "4.2.1", "bom-ref": "again"}
    )
    path = write(tmp_path, "exgate.cdx.json", document)

    located = only_located(list(CycloneDxImporter().read(path)))

    assert isinstance(located.record, BuildComponents)
    assert located.record.components == (*EXGATE_COMPONENTS, Component("u-boot", "2016.01"))


def test_cyclonedx_identical_components_are_kept_once(tmp_path: Path) -> None:
    twin = CdxComponent(
        name="openssl",
        version="1.0.1e",
        bom_ref="openssl-again",
        purl=PackageURL.from_string(OPENSSL_PURL),
    )
    path = write(tmp_path, "exgate.cdx.json", cyclonedx_json(exgate_bom(extra=[twin])))

    located = only_located(list(CycloneDxImporter().read(path)))

    assert isinstance(located.record, BuildComponents)
    assert located.record.components == EXGATE_COMPONENTS


@pytest.mark.parametrize(
    ("metadata", "vendor"),
    [
        ({"manufacturer": {"name": "Example Controls GmbH"}}, "Example Controls GmbH"),
        ({"supplier": {"name": "Example Distribution"}}, "Example Distribution"),
        (
            {"supplier": {"name": "Example Distribution"}, "component_group": "example-controls"},
            "example-controls",
        ),
    ],
    ids=["metadata.manufacturer", "metadata.supplier", "component.group-before-supplier"],
)
def test_cyclonedx_vendor_from_other_metadata(
    tmp_path: Path, metadata: dict[str, Any], vendor: str
) -> None:
    document = cyclonedx_json(exgate_bom(root_supplier=None))
    group = metadata.pop("component_group", None)
    if group:
        document["metadata"]["component"]["group"] = group
    document["metadata"].update(metadata)
    path = write(tmp_path, "exgate.cdx.json", document)

    located = only_located(list(CycloneDxImporter().read(path)))

    assert isinstance(located.record, BuildComponents)
    assert located.record.build == BuildRef(ProductRef(vendor, "ExGate 100"), "4.2.1")


def test_cyclonedx_without_build_information_asks_for_build(tmp_path: Path) -> None:
    path = write(tmp_path, "exgate.cdx.json", cyclonedx_json(exgate_bom(root_supplier=None)))

    with pytest.raises(ImportFileError) as caught:
        list(CycloneDxImporter().read(path))

    assert caught.value.error.origin == str(path)
    assert caught.value.error.message == (
        "the SBOM does not name its firmware build (metadata.component lacks: vendor); "
        "pass --build 'VENDOR/PRODUCT@VERSION' to say which firmware build it describes"
    )
    # The same file imports once the user names the build.
    located = only_located(list(CycloneDxImporter().read(path, EXGATE)))
    assert located.record == BuildComponents(EXGATE, EXGATE_COMPONENTS)


def test_cyclonedx_without_metadata_component_names_everything_missing(tmp_path: Path) -> None:
    document = cyclonedx_json(exgate_bom())
    del document["metadata"]["component"]
    document["dependencies"] = [d for d in document["dependencies"] if d["ref"] != "exgate-100"]
    path = write(tmp_path, "exgate.cdx.json", document)

    with pytest.raises(ImportFileError, match=r"lacks: vendor, product name, version\); pass"):
        list(CycloneDxImporter().read(path))


def test_cyclonedx_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.cdx.json"
    path.write_text('{\n  "bomFormat": "CycloneDX",\n  "specVersion": "1.6",,\n}\n')

    with pytest.raises(ImportFileError) as caught:
        list(CycloneDxImporter().read(path))

    assert caught.value.error.where == "line 3 column 24"
    assert (
        caught.value.error.message
        == "not valid JSON: Expecting property name enclosed in double quotes"
    )


def test_cyclonedx_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.cdx.json"
    path.write_bytes(
        '{"bomFormat": "CycloneDX", "specVersion": "1.6", "x": "Gerät"}'.encode("latin-1")
    )

    with pytest.raises(ImportFileError) as caught:
        list(CycloneDxImporter().read(path))

    assert caught.value.error.message == "not UTF-8 text: invalid continuation byte"


def test_cyclonedx_importer_given_an_spdx_document(tmp_path: Path) -> None:
    path = write(tmp_path, "exgate.spdx.json", spdx_document())

    with pytest.raises(ImportFileError) as caught:
        list(CycloneDxImporter().read(path))

    assert (caught.value.error.where, caught.value.error.message) == (
        "$.bomFormat",
        "not a CycloneDX document",
    )


def test_cyclonedx_document_that_is_not_an_object(tmp_path: Path) -> None:
    path = write(tmp_path, "list.cdx.json", [{"bomFormat": "CycloneDX"}])

    with pytest.raises(ImportFileError) as caught:
        list(CycloneDxImporter().read(path))

    assert (caught.value.error.where, caught.value.error.message) == (
        "$",
        "the document is not a JSON object",
    )


@pytest.mark.parametrize(
    "version", [SchemaVersion.V1_4, SchemaVersion.V1_5, SchemaVersion.V1_6], ids=str
)
def test_cyclonedx_schema_violation_names_path_and_message(
    tmp_path: Path, version: SchemaVersion
) -> None:
    document = cyclonedx_json(exgate_bom(), version)
    index = component_index(document, "busybox")
    del document["components"][index]["name"]
    path = write(tmp_path, "exgate.cdx.json", document)

    with pytest.raises(ImportFileError) as caught:
        list(CycloneDxImporter().read(path))

    assert caught.value.error.where == f"$.components[{index}]"
    assert caught.value.error.message == (
        f"not a valid CycloneDX {version.to_version()} document: 'name' is a required property"
    )


def test_cyclonedx_counts_further_schema_violations(tmp_path: Path) -> None:
    document = cyclonedx_json(exgate_bom())
    document["components"][0]["version"] = 42
    document["components"][1]["type"] = "gadget"
    path = write(tmp_path, "exgate.cdx.json", document)

    with pytest.raises(ImportFileError, match=r"\(and 1 more schema violation\)$"):
        list(CycloneDxImporter().read(path))


@pytest.mark.parametrize("version", [SchemaVersion.V1_2, SchemaVersion.V1_3], ids=str)
def test_cyclonedx_unsupported_spec_version_is_named(
    tmp_path: Path, version: SchemaVersion
) -> None:
    path = write(tmp_path, "old.cdx.json", cyclonedx_json(exgate_bom(), version))

    with pytest.raises(ImportFileError) as caught:
        list(CycloneDxImporter().read(path))

    assert caught.value.error.where == "$.specVersion"
    assert caught.value.error.message == (
        f"CycloneDX spec version '{version.to_version()}' is not supported; IoT Warden reads "
        "CycloneDX 1.4, 1.5, 1.6 JSON (export the SBOM as one of those)"
    )


def test_cyclonedx_bad_purl_falls_back_to_json_and_reports_the_component(
    tmp_path: Path,
) -> None:
    document = cyclonedx_json(exgate_bom())
    index = component_index(document, "busybox")
    # Schema-valid (purl is any string) but not a package URL: the library cannot load it.
    document["components"][index]["purl"] = "busybox-1.24.1"
    path = write(tmp_path, "exgate.cdx.json", document)

    outcomes = list(CycloneDxImporter().read(path))

    assert errors_of(outcomes) == [
        RecordError(
            str(path),
            f"$.components[{index}]",
            "component busybox 1.24.1: the purl is ignored: 'busybox-1.24.1' is not a valid "
            'package URL: purl is missing the required "pkg" scheme component: '
            "'busybox-1.24.1'.",
        )
    ]
    assert only_located(outcomes).record == BuildComponents(EXGATE, EXGATE_COMPONENTS)


def test_cyclonedx_bad_cpe_is_reported_with_its_nested_path(tmp_path: Path) -> None:
    document = cyclonedx_json(exgate_bom())
    index = component_index(document, "dropbear")
    document["components"][index]["components"][0]["cpe"] = "libtommath 0.42.0"
    path = write(tmp_path, "exgate.cdx.json", document)

    outcomes = list(CycloneDxImporter().read(path))

    assert errors_of(outcomes) == [
        RecordError(
            str(path),
            f"$.components[{index}].components[0]",
            "component libtommath 0.42.0: the CPE is ignored: 'libtommath 0.42.0' is not a "
            "CPE 2.3 name (it must start with 'cpe:2.3:')",
        )
    ]
    assert only_located(outcomes).record == BuildComponents(EXGATE, EXGATE_COMPONENTS)


def test_cyclonedx_json_fallback_reads_what_the_library_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = cyclonedx_json(exgate_bom(root_supplier=None))
    document["metadata"]["manufacture"] = {"name": "Example Controls"}  # 1.5's spelling
    document["specVersion"] = "1.5"
    document["$schema"] = "http://cyclonedx.org/schema/bom-1.5.schema.json"
    path = write(tmp_path, "exgate.cdx.json", document)
    library = only_located(list(CycloneDxImporter().read(path)))

    def refuse(data: object) -> None:
        raise KeyError("unexpected")

    monkeypatch.setattr(Bom, "from_json", refuse)
    fallback = only_located(list(CycloneDxImporter().read(path)))

    assert fallback == library
    assert fallback.record == BuildComponents(EXGATE, EXGATE_COMPONENTS)


def test_cyclonedx_refuses_files_over_the_size_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "exgate.cdx.json", cyclonedx_json(exgate_bom()))

    class Small:
        max_document_bytes = 100

    monkeypatch.setattr(sbom, "settings", Small)

    with pytest.raises(ImportFileError, match=r"more than the 100 bytes allowed"):
        list(CycloneDxImporter().read(path))


def test_missing_file_is_an_import_error(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match=r"cannot read the file: No such file"):
        list(SpdxImporter().read(tmp_path / "absent.spdx.json"))


# --- SPDX ----------------------------------------------------------------------------------


def test_spdx_build_from_described_package_and_components(tmp_path: Path) -> None:
    path = write(tmp_path, "exgate.spdx.json", spdx_document())

    outcomes = list(SpdxImporter().read(path))

    assert outcomes == [
        Located(BuildComponents(EXGATE, SPDX_COMPONENTS), str(path), "$.packages[0]")
    ]


def test_spdx_document_describes_field_names_the_build_too(tmp_path: Path) -> None:
    document = spdx_document()
    document["relationships"] = document["relationships"][1:]
    document["documentDescribes"] = ["SPDXRef-firmware"]
    path = write(tmp_path, "exgate.spdx.json", document)

    located = only_located(list(SpdxImporter().read(path)))

    assert located.record == BuildComponents(EXGATE, SPDX_COMPONENTS)


def test_spdx_build_argument_overrides_described_package(tmp_path: Path) -> None:
    path = write(tmp_path, "exgate.spdx.json", spdx_document())

    located = only_located(list(SpdxImporter().read(path, OTHER_BUILD)))

    assert located.record == BuildComponents(OTHER_BUILD, SPDX_COMPONENTS)
    assert located.where == "$"


def test_spdx_accepts_spdx_json_only(tmp_path: Path) -> None:
    spdx = json.dumps(spdx_document(), indent=2).encode()
    cdx = json.dumps(cyclonedx_json(exgate_bom())).encode()

    assert SpdxImporter.accepts(tmp_path / "a.json", spdx)
    assert not SpdxImporter.accepts(tmp_path / "a.json", cdx)
    assert not SpdxImporter.accepts(tmp_path / "a.spdx", b"SPDXVersion: SPDX-2.3\n")


def test_spdx_validation_error_names_problem_and_package(tmp_path: Path) -> None:
    document = spdx_document()
    document["packages"][1]["externalRefs"][1]["referenceLocator"] = "cpe:openssl"
    path = write(tmp_path, "exgate.spdx.json", document)

    with pytest.raises(ImportFileError) as caught:
        list(SpdxImporter().read(path))

    error = caught.value.error
    assert error.where == "$.packages[1]"
    assert error.message.startswith(
        "not a valid SPDX 2.3 document: external package ref in SPDXRef-openssl: "
        'externalPackageRef locator of type "cpe23Type" must conform with the regex'
    )
    assert error.message.endswith("but is: cpe:openssl")


def test_spdx_lists_the_first_three_problems_and_counts_the_rest(tmp_path: Path) -> None:
    document = spdx_document()
    document["relationships"] += [
        {
            "spdxElementId": "SPDXRef-firmware",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": f"SPDXRef-missing-{n}",
        }
        for n in range(5)
    ]
    path = write(tmp_path, "exgate.spdx.json", document)

    with pytest.raises(ImportFileError) as caught:
        list(SpdxImporter().read(path))

    message = caught.value.error.message
    assert message.count('did not find the referenced spdx_id "SPDXRef-missing-') == 3
    assert message.endswith(" (and 2 more)")
    assert caught.value.error.where == "$"


def test_spdx_parse_error_is_reported(tmp_path: Path) -> None:
    document = spdx_document()
    document["packages"][2]["supplier"] = "Erik Andersen"
    path = write(tmp_path, "exgate.spdx.json", document)

    with pytest.raises(ImportFileError) as caught:
        list(SpdxImporter().read(path))

    assert caught.value.error.message == (
        "not a valid SPDX document: Error while parsing Package: "
        '["Actor Erik Andersen doesn\'t match any of person, organization or tool."]'
    )


def test_spdx_with_unexpected_shapes_is_an_import_error(tmp_path: Path) -> None:
    document = spdx_document()
    document["packages"] = ["SPDXRef-openssl"]
    path = write(tmp_path, "exgate.spdx.json", document)

    with pytest.raises(ImportFileError, match=r"^.*: not a valid SPDX document: "):
        list(SpdxImporter().read(path))


@pytest.mark.parametrize("version", ["SPDX-2.1", "SPDX-3.0", None])
def test_spdx_unsupported_version_is_named(tmp_path: Path, version: str | None) -> None:
    document = spdx_document()
    document["spdxVersion"] = version
    path = write(tmp_path, "exgate.spdx.json", document)

    with pytest.raises(ImportFileError) as caught:
        list(SpdxImporter().read(path))

    assert caught.value.error.where == "$.spdxVersion"
    assert caught.value.error.message == (
        f"SPDX version {version!r} is not supported; IoT Warden reads SPDX 2.3 (and 2.2) JSON"
    )


def test_spdx_described_package_without_supplier_asks_for_build(tmp_path: Path) -> None:
    document = spdx_document()
    del document["packages"][0]["supplier"]
    path = write(tmp_path, "exgate.spdx.json", document)

    with pytest.raises(ImportFileError) as caught:
        list(SpdxImporter().read(path))

    assert caught.value.error.message == (
        "the SBOM does not name its firmware build (the described package SPDXRef-firmware "
        "lacks: vendor); pass --build 'VENDOR/PRODUCT@VERSION' to say which firmware build "
        "it describes"
    )
    located = only_located(list(SpdxImporter().read(path, EXGATE)))
    assert located.record == BuildComponents(EXGATE, SPDX_COMPONENTS)


def test_spdx_describing_two_packages_asks_for_build(tmp_path: Path) -> None:
    document = spdx_document()
    second = copy.deepcopy(document["relationships"][0])
    second["relatedSpdxElement"] = "SPDXRef-openssl"
    document["relationships"].append(second)
    path = write(tmp_path, "exgate.spdx.json", document)

    with pytest.raises(ImportFileError, match=r"describes 2 packages, not one firmware build"):
        list(SpdxImporter().read(path))

    located = only_located(list(SpdxImporter().read(path, OTHER_BUILD)))
    assert isinstance(located.record, BuildComponents)
    assert [c.name for c in located.record.components] == ["busybox", "dropbear"]


def test_spdx_single_package_document_describes_that_package(tmp_path: Path) -> None:
    document = spdx_document()
    document["packages"] = document["packages"][:1]
    document["relationships"] = []
    path = write(tmp_path, "exgate.spdx.json", document)

    located = only_located(list(SpdxImporter().read(path)))

    assert located.record == BuildComponents(EXGATE, ())
