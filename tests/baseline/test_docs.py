"""docs/baseline.md does not drift from the catalogs."""

from __future__ import annotations

from pathlib import Path

from iotwarden.baseline import load_catalogs

DOC = Path(__file__).resolve().parents[2] / "docs" / "baseline.md"


def test_docs_list_every_framework_and_capability() -> None:
    text = DOC.read_text(encoding="utf-8")
    catalogs = load_catalogs()
    missing = [f.id for f in catalogs.frameworks if f"`{f.id}`" not in text]
    missing += [c.id for c in catalogs.capabilities if f"`{c.id}`" not in text]
    assert missing == []


def test_docs_flag_every_unverified_framework() -> None:
    text = DOC.read_text(encoding="utf-8")
    for fw in load_catalogs().frameworks:
        if not fw.verification.verified:
            assert f"`{fw.id}` (unverified" in text, fw.id
