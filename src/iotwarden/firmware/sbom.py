"""SBOMs of an analysed firmware image: CycloneDX 1.6 JSON (cyclonedx-python-lib) and SPDX 2.3
JSON (spdx-tools), each validated by its library before it is returned.

Every identified component is listed with its package URL and CPE where known, and with the
files that evidence it: CycloneDX ``evidence.occurrences`` (location and offset) plus an
identity confidence, SPDX ``File`` entries (with their SHA-1 and SHA-256) that the firmware
package contains and that are related to the component, and the evidence in the package
comment. The firmware itself is the described component (CycloneDX ``metadata.component``,
SPDX the package the document DESCRIBES), named after the build when one was given.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from iotwarden import __version__
from iotwarden.firmware.analyze import EvidenceFile, FirmwareAnalysis
from iotwarden.firmware.model import Confidence, FirmwareError, IdentifiedComponent

if TYPE_CHECKING:
    from cyclonedx.model.bom import Bom
    from spdx_tools.spdx.model.document import Document

#: How sure an identification is, as CycloneDX's 0..1 confidence.
CONFIDENCE = {
    Confidence.HIGH: Decimal("0.9"),
    Confidence.MEDIUM: Decimal("0.6"),
    Confidence.LOW: Decimal("0.3"),
}
#: Evidence entries written per component (the JSON report has them all).
MAX_OCCURRENCES = 50
TOOL_NAME = "iotwarden"
#: A fixed namespace so that the same image always gets the same serial number / namespace.
_NAMESPACE = uuid.UUID("5b0e7d0c-3a57-4b57-9b0c-2f1f8f0e6a11")

FORMATS = ("cyclonedx", "spdx")


class SbomError(FirmwareError):
    """An SBOM could not be produced (unknown format, or it does not validate)."""


def _subject(analysis: FirmwareAnalysis) -> tuple[str, str | None, str | None]:
    """(name, version, supplier) of the firmware the SBOM describes."""
    if analysis.build is not None:
        product = analysis.build.product
        return product.name, analysis.build.version, product.vendor
    return analysis.image.name, None, None


def _document_uuid(analysis: FirmwareAnalysis) -> uuid.UUID:
    """The same image, build and analysis time always give the same serial number."""
    name, version, _ = _subject(analysis)
    image = analysis.image.sha256 or analysis.image.path
    return uuid.uuid5(_NAMESPACE, "|".join((image, name, version or "", analysis.analysed_at)))


def _created(analysis: FirmwareAnalysis) -> dt.datetime:
    try:
        return dt.datetime.strptime(analysis.analysed_at, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=dt.UTC
        )
    except ValueError:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _technique(component: IdentifiedComponent) -> str:
    return "manifest-analysis" if component.source in ("opkg", "dpkg") else "binary-analysis"


# --- CycloneDX ------------------------------------------------------------------------------


def cyclonedx_bom(analysis: FirmwareAnalysis) -> Bom:
    """The analysis as a cyclonedx-python-lib Bom."""
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.component_evidence import (
        AnalysisTechnique,
        ComponentEvidence,
        Identity,
        IdentityField,
        Method,
        Occurrence,
    )
    from cyclonedx.model.contact import OrganizationalEntity
    from packageurl import PackageURL

    name, version, supplier = _subject(analysis)
    firmware = Component(
        name=name,
        version=version,
        type=ComponentType.FIRMWARE,
        bom_ref="firmware",
        supplier=OrganizationalEntity(name=supplier) if supplier else None,
        properties=[
            Property(name="iotwarden:image", value=analysis.image.name),
            *(
                [Property(name="iotwarden:image-sha256", value=analysis.image.sha256)]
                if analysis.image.sha256
                else []
            ),
        ],
    )
    tool = Component(name=TOOL_NAME, version=__version__, type=ComponentType.APPLICATION)
    bom = Bom(
        serial_number=_document_uuid(analysis),
        metadata=BomMetaData(component=firmware, timestamp=_created(analysis)),
    )
    bom.metadata.tools.components.add(tool)
    children = []
    for index, c in enumerate(analysis.components, start=1):
        purl = None
        properties = [
            Property(name="iotwarden:confidence", value=c.confidence.value),
            Property(name="iotwarden:source", value=c.source),
        ]
        if c.purl:
            try:
                purl = PackageURL.from_string(c.purl)
            except ValueError:
                properties.append(Property(name="iotwarden:unparsed-purl", value=c.purl))
        evidence = c.evidence[:MAX_OCCURRENCES]
        technique = AnalysisTechnique(_technique(c))
        identity = Identity(
            field=IdentityField.PURL if purl is not None else IdentityField.NAME,
            confidence=CONFIDENCE[c.confidence],
            methods=[
                Method(
                    technique=technique,
                    confidence=CONFIDENCE[c.confidence],
                    value=f"{e.path}: {e.detail}"[:500],
                )
                for e in evidence[:5]
            ],
        )
        component = Component(
            name=c.name,
            version=c.version,
            type=ComponentType.OPERATING_SYSTEM if c.source == "kernel" else ComponentType.LIBRARY,
            bom_ref=f"component-{index}",
            purl=purl,
            cpe=c.cpe,
            supplier=OrganizationalEntity(name=c.supplier) if c.supplier else None,
            properties=properties,
            evidence=ComponentEvidence(
                identity=[identity],
                occurrences=[
                    Occurrence(
                        # Named, so that they keep the evidence's order (they sort by ref).
                        bom_ref=f"component-{index}-evidence-{n:04d}",
                        location=e.path,
                        offset=e.offset,
                        additional_context=e.detail[:500] or None,
                    )
                    for n, e in enumerate(evidence, start=1)
                ],
            ),
        )
        bom.components.add(component)
        children.append(component)
    bom.register_dependency(firmware, children)
    return bom


def to_cyclonedx(analysis: FirmwareAnalysis) -> str:
    """CycloneDX 1.6 JSON, validated strictly against the 1.6 schema."""
    from cyclonedx.output.json import JsonV1Dot6
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = JsonV1Dot6(cyclonedx_bom(analysis)).output_as_string(indent=2)
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise SbomError(f"the CycloneDX SBOM does not validate against CycloneDX 1.6: {error}")
    return text + "\n"


# --- SPDX -----------------------------------------------------------------------------------


def _spdx_file_name(path: str) -> str:
    return "./" + path.lstrip("/")


def spdx_document(analysis: FirmwareAnalysis) -> Document:
    """The analysis as an spdx-tools Document (SPDX 2.3)."""
    from spdx_tools.spdx.model.actor import Actor, ActorType
    from spdx_tools.spdx.model.checksum import Checksum, ChecksumAlgorithm
    from spdx_tools.spdx.model.document import CreationInfo, Document
    from spdx_tools.spdx.model.file import File
    from spdx_tools.spdx.model.package import (
        ExternalPackageRef,
        ExternalPackageRefCategory,
        Package,
        PackagePurpose,
    )
    from spdx_tools.spdx.model.relationship import Relationship, RelationshipType
    from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion
    from spdx_tools.spdx.validation.external_package_ref_validator import (
        validate_external_package_ref,
    )

    name, version, supplier = _subject(analysis)
    doc_uuid = _document_uuid(analysis)
    creation = CreationInfo(
        spdx_version="SPDX-2.3",
        spdx_id="SPDXRef-DOCUMENT",
        name=f"{name} {version}" if version else name,
        document_namespace=f"https://spdx.org/spdxdocs/iotwarden-{doc_uuid}",
        creators=[Actor(ActorType.TOOL, f"{TOOL_NAME}-{__version__}")],
        created=_created(analysis),
        creator_comment="Generated by IoT Warden firmware analysis from the image "
        f"{analysis.image.name}"
        + (f" (SHA-256 {analysis.image.sha256})" if analysis.image.sha256 else ""),
    )
    firmware_checksums = (
        [Checksum(ChecksumAlgorithm.SHA256, analysis.image.sha256)] if analysis.image.sha256 else []
    )
    firmware = Package(
        spdx_id="SPDXRef-Firmware",
        name=name,
        download_location=SpdxNoAssertion(),
        version=version,
        supplier=Actor(ActorType.ORGANIZATION, supplier) if supplier else None,
        files_analyzed=True,
        checksums=firmware_checksums,
        primary_package_purpose=PackagePurpose.FIRMWARE,
        comment=f"Firmware image {analysis.image.name}",
    )
    files_by_path: dict[str, EvidenceFile] = {f.path: f for f in analysis.evidence_files}
    file_ids: dict[str, str] = {}
    files = []
    for index, evidence_file in enumerate(analysis.evidence_files, start=1):
        spdx_id = f"SPDXRef-File-{index}"
        file_ids[evidence_file.path] = spdx_id
        files.append(
            File(
                name=_spdx_file_name(evidence_file.path),
                spdx_id=spdx_id,
                checksums=[
                    Checksum(ChecksumAlgorithm.SHA1, evidence_file.sha1),
                    Checksum(ChecksumAlgorithm.SHA256, evidence_file.sha256),
                ],
            )
        )
    relationships = [
        Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, "SPDXRef-Firmware")
    ]
    relationships += [
        Relationship("SPDXRef-Firmware", RelationshipType.CONTAINS, file_id)
        for file_id in file_ids.values()
    ]
    packages = [firmware]
    for index, c in enumerate(analysis.components, start=1):
        spdx_id = f"SPDXRef-Package-{index}"
        refs = []
        rejected = []
        for category, kind, locator in (
            (ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", c.purl),
            (ExternalPackageRefCategory.SECURITY, "cpe23Type", c.cpe),
        ):
            if not locator:
                continue
            ref = ExternalPackageRef(category, kind, locator)
            if validate_external_package_ref(ref, spdx_id, "SPDX-2.3"):
                rejected.append(f"{kind} {locator}")  # kept in the comment, not as a ref
            else:
                refs.append(ref)
        packages.append(
            Package(
                spdx_id=spdx_id,
                name=c.name,
                download_location=SpdxNoAssertion(),
                version=c.version,
                supplier=Actor(ActorType.ORGANIZATION, c.supplier) if c.supplier else None,
                files_analyzed=False,
                external_references=refs,
                comment=_evidence_comment(c, rejected),
            )
        )
        relationships.append(Relationship("SPDXRef-Firmware", RelationshipType.CONTAINS, spdx_id))
        for path in dict.fromkeys(e.path for e in c.evidence):
            if path in files_by_path:
                relationships.append(
                    Relationship(
                        file_ids[path],
                        RelationshipType.OTHER,
                        spdx_id,
                        comment=f"evidence that the firmware contains {c.name}",
                    )
                )
    return Document(
        creation_info=creation, packages=packages, files=files, relationships=relationships
    )


def _evidence_comment(c: IdentifiedComponent, rejected: Sequence[str]) -> str:
    lines = [f"Identified by IoT Warden ({c.source}, {c.confidence.value} confidence) from:"]
    lines += [
        f"{e.path}" + (f" at offset {e.offset}" if e.offset is not None else "") + f": {e.detail}"
        for e in c.evidence[:MAX_OCCURRENCES]
    ]
    if len(c.evidence) > MAX_OCCURRENCES:
        lines.append(f"... and {len(c.evidence) - MAX_OCCURRENCES} more files")
    if rejected:
        lines.append("Identifiers not valid in SPDX 2.3: " + "; ".join(rejected))
    return "\n".join(lines)


def to_spdx(analysis: FirmwareAnalysis) -> str:
    """SPDX 2.3 JSON, validated by spdx-tools."""
    from spdx_tools.spdx.jsonschema.document_converter import DocumentConverter
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    document = spdx_document(analysis)
    messages = validate_full_spdx_document(document)
    if messages:
        shown = "; ".join(m.validation_message for m in messages[:3])
        raise SbomError(f"the SPDX SBOM does not validate as SPDX 2.3: {shown}")
    data: dict[str, Any] = DocumentConverter().convert(document)  # type: ignore[no-untyped-call]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render(analysis: FirmwareAnalysis, fmt: str) -> str:
    """The SBOM in ``fmt`` ('cyclonedx' or 'spdx')."""
    if fmt == "cyclonedx":
        return to_cyclonedx(analysis)
    if fmt == "spdx":
        return to_spdx(analysis)
    raise SbomError(f"unknown SBOM format {fmt!r}: use one of {', '.join(FORMATS)}")
