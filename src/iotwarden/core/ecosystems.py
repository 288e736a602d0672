"""Package ecosystems as OSV names them, and the package URL of a package named in one:
so that a record without a purl is still found by `--purl` (and matched by purl later).
The table is data (``data/ecosystems.json``), validated when first read."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from iotwarden.core.errors import IoTWardenError

_SPLITS = {None, "path", "maven", "scope"}


class EcosystemTableError(IoTWardenError):
    """The packaged ecosystem table is malformed (a packaging error)."""


@functools.cache
def _table() -> dict[str, dict[str, Any]]:
    text = (resources.files("iotwarden") / "data" / "ecosystems.json").read_text("utf-8")
    entries = json.loads(text).get("ecosystems")
    if not isinstance(entries, dict):
        raise EcosystemTableError("data/ecosystems.json: 'ecosystems' must be an object")
    for name, entry in entries.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("purl_type"), str):
            raise EcosystemTableError(f"data/ecosystems.json: {name}: 'purl_type' is required")
        if entry.get("split") not in _SPLITS:
            raise EcosystemTableError(f"data/ecosystems.json: {name}: unknown split")
    return {name.lower(): entry for name, entry in entries.items()}


def purl_parts_for(ecosystem: str | None, name: str | None) -> tuple[str, str | None, str] | None:
    """(type, namespace, name) of package ``name`` in an OSV ``ecosystem`` ('Debian:12',
    'Maven', 'npm', ...), or None when the ecosystem has no package-URL type here."""
    if not ecosystem or not name:
        return None
    entry = _table().get(ecosystem.split(":", 1)[0].strip().lower())
    if entry is None:
        return None
    namespace: str | None = entry.get("namespace")
    split = entry.get("split")
    if split == "maven" and ":" in name:
        namespace, name = name.split(":", 1)
    elif split == "path" and "/" in name:
        namespace, name = name.rsplit("/", 1)
    elif split == "scope" and name.startswith("@") and "/" in name:
        namespace, name = name.split("/", 1)
    return entry["purl_type"], namespace, name
