"""Recall and precision over the compiled test binaries (one or more per signature) and decoys.

Each binary is a real ELF built by gcc embedding the exact strings of a historical release;
identification must find its component with the right version (recall) and nothing else
(precision), whatever other strings the toolchain adds.
"""

from __future__ import annotations

import os
from pathlib import Path

from iotwarden.firmware.identify import identify_components, scan_content
from iotwarden.firmware.model import Confidence
from tests.firmware import binaries


def _scan_tree(root: Path) -> dict[str, tuple]:  # type: ignore[type-arg]
    hits = {}
    for directory, _dirs, files in os.walk(root):
        for name in files:
            host = Path(directory) / name
            found = scan_content(host.read_bytes())
            if found:
                hits["/" + host.relative_to(root).as_posix()] = found
    return hits


def test_recall_and_precision_on_the_compiled_catalogue(catalogue_tree: Path) -> None:
    hits = _scan_tree(catalogue_tree)
    components = identify_components(catalogue_tree, hits)
    reported = {(c.name, c.version) for c in components}
    expected = {b.expected for b in binaries.CATALOGUE if b.expected}
    assert len(binaries.CATALOGUE) >= 60

    found = expected & reported
    recall = len(found) / len(expected)
    precision = len(found) / len(reported)
    missing = sorted(expected - reported, key=str)
    extra = sorted(reported - expected, key=str)
    assert recall >= 0.95, f"missed {missing}"
    assert precision >= 0.98, f"reported wrongly {extra}"


def test_each_binary_is_found_in_the_file_it_was_built_for(catalogue_tree: Path) -> None:
    hits = _scan_tree(catalogue_tree)
    wrong = []
    for spec in binaries.CATALOGUE:
        seen = {(h.signature, h.version) for h in hits.get(spec.path, ())}
        if seen != {spec.expected}:
            wrong.append((spec.path, spec.expected, seen))
    assert not wrong


def test_decoys_yield_nothing(catalogue_tree: Path) -> None:
    hits = _scan_tree(catalogue_tree)
    for decoy in binaries.DECOYS:
        assert decoy.path not in hits, hits.get(decoy.path)
    assert "/var/blob.bin" not in hits


def test_conflicting_releases_are_two_components_each_with_its_file(catalogue_tree: Path) -> None:
    components = identify_components(catalogue_tree, _scan_tree(catalogue_tree))
    openssl = {c.version: c for c in components if c.name == "openssl"}
    assert set(openssl) == {"1.0.1e", "1.1.1w"}
    assert [e.path for e in openssl["1.0.1e"].evidence] == ["/usr/lib/libcrypto.so.1.0.0"]
    assert [e.path for e in openssl["1.1.1w"].evidence] == ["/usr/lib/libssl.so.1.1"]
    # Each was read from the component's own library: high confidence.
    assert {c.confidence for c in openssl.values()} == {Confidence.HIGH}


def test_hardening_flags_are_passed_to_gcc(tmp_path: Path) -> None:
    from elftools.elf.elffile import ELFFile

    spec = binaries.CATALOGUE[0]
    plain = binaries.compile_program(spec.strings, tmp_path / "plain")
    weak = binaries.compile_program(
        spec.strings,
        tmp_path / "weak",
        flags=["-fno-stack-protector", "-no-pie", "-z", "execstack", "-Wl,-z,norelro"],
    )
    with plain.open("rb") as fh:
        assert ELFFile(fh).header["e_type"] == "ET_DYN"  # PIE by default on Debian
    with weak.open("rb") as fh:
        elf = ELFFile(fh)
        assert elf.header["e_type"] == "ET_EXEC"
        stack = [s for s in elf.iter_segments() if s["p_type"] == "PT_GNU_STACK"]
        assert stack and stack[0]["p_flags"] & 1  # executable stack
        assert not any(s["p_type"] == "PT_GNU_RELRO" for s in elf.iter_segments())
    assert [h.version for h in scan_content(weak.read_bytes())] == ["1.19.4"]
