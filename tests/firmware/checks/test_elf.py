"""inspect_elf: hardening facts of gcc-built binaries, one property changed at a time."""

from __future__ import annotations

from iotwarden.firmware.checks import ElfFacts, ElfKind, RelroLevel, inspect_elf
from tests.firmware.rootfs import corrupt_elfs


def test_hardened_binary_has_every_property(elf_variants: dict[str, bytes]) -> None:
    facts = inspect_elf(elf_variants["hardened"])
    assert facts is not None and facts.error is None
    assert facts.kind is ElfKind.PIE_EXECUTABLE
    assert (facts.nx, facts.pie, facts.canary, facts.fortify) == (True, True, True, True)
    assert facts.relro is RelroLevel.FULL
    assert "strcpy" in facts.fortified or "printf" in facts.fortified
    assert facts.interpreter is not None and facts.interpreter.startswith("/lib")
    assert "libc.so.6" in facts.needed
    assert not facts.stripped and not facts.static
    assert facts.rpath == () and facts.runpath == ()


def test_each_variant_changes_one_property(elf_variants: dict[str, bytes]) -> None:
    def facts(name: str) -> ElfFacts:
        result = inspect_elf(elf_variants[name])
        assert result is not None and result.error is None, name
        return result

    assert facts("no_canary").canary is False
    assert facts("execstack").nx is False and facts("execstack").gnu_stack is True
    no_pie = facts("no_pie")
    assert no_pie.kind is ElfKind.EXECUTABLE and no_pie.pie is False
    assert facts("partial_relro").relro is RelroLevel.PARTIAL
    assert facts("no_relro").relro is RelroLevel.NONE
    assert facts("no_fortify").fortify is False and facts("no_fortify").canary is True
    assert facts("rpath").rpath == ("/tmp/lib",) and facts("rpath").runpath == ()
    assert facts("runpath_origin").runpath == ("$ORIGIN/../lib",)
    stripped = facts("stripped")
    assert stripped.stripped is True and stripped.canary is True  # dynsym survives strip
    static = facts("static")
    assert static.static is True and static.interpreter is None and static.needed == ()
    weak = facts("weak")
    assert (weak.canary, weak.pie, weak.relro) == (False, False, RelroLevel.NONE)


def test_shared_library_is_not_judged_for_pie(elf_variants: dict[str, bytes]) -> None:
    facts = inspect_elf(elf_variants["library"])
    assert facts is not None
    assert facts.kind is ElfKind.SHARED_LIBRARY and facts.pie is None
    assert facts.soname == "libvendor.so.1"
    assert facts.canary is True and facts.nx is True


def test_not_an_elf_is_none() -> None:
    assert inspect_elf(b"#!/bin/sh\necho hi\n") is None
    assert inspect_elf(b"") is None


def test_corrupt_headers_give_an_error_not_an_exception(elf_variants: dict[str, bytes]) -> None:
    for name, data in corrupt_elfs(elf_variants["hardened"]).items():
        facts = inspect_elf(data)
        assert facts is not None, name
        assert facts.error is not None and "cannot parse ELF headers" in facts.error, name


def test_facts_round_trip(elf_variants: dict[str, bytes]) -> None:
    facts = inspect_elf(elf_variants["rpath"])
    assert facts is not None
    assert ElfFacts.from_dict(facts.to_dict()) == facts
