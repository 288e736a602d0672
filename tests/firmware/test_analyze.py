"""The analysis pipeline end to end: extraction, the walk, per-file caching, identification,
checks, known vulnerabilities and recording the build, on small generated trees and images."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from iotwarden.core.fleet import BuildRef, ProductRef
from iotwarden.exposure.matcher import exposure
from iotwarden.firmware import analyze as analyze_mod
from iotwarden.firmware.analyze import (
    AnalysisError,
    AnalysisOptions,
    AnalysisPhase,
    FirmwareAnalysis,
    analyze_image,
)
from iotwarden.firmware.cache import MemoryFileCache, MemoryImageCache
from iotwarden.firmware.model import FirmwareError, Severity
from iotwarden.intel.ingest import ingest
from iotwarden.store.db import Store
from iotwarden.store.fleet import FleetRepository
from tests.firmware.images import squashfs
from tests.firmware.rootfs import RootFS, crypt_hash, pem_private, rsa_key

SAMPLES = Path(__file__).resolve().parents[2] / "src" / "iotwarden" / "data" / "samples"
ACME = BuildRef(ProductRef("Acme", "R500"), "2.1.0")

# Version strings as the real binaries carry them (the analysers read content, not names).
OPENSSL = b"\x00OpenSSL 1.0.1e 11 Feb 2013\x00"
BUSYBOX = b"\x00BusyBox v1.19.4 (2012-03-01 10:00:00 UTC) multi-call binary.\x00"
DROPBEAR = b"\x00SSH-2.0-dropbear_2012.55\x00dropbear_2012.55\x00"
#: One salted hash for every tree, so that two versions of the image share /etc/shadow.
SHADOW = f"root:{crypt_hash('xc3511', 'md5')}:0:0:99999:7:::\n"


def router_tree(root: Path, *, dropbear: bytes = DROPBEAR) -> RootFS:
    """A small router root file system: BusyBox with telnetd at boot, OpenSSL (libssl and
    libcrypto), Dropbear, and root's password set to a Mirai default."""
    fs = RootFS(root)
    fs.file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    fs.file("/etc/shadow", SHADOW)
    fs.file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n::respawn:/usr/sbin/telnetd -F\n")
    fs.file("/bin/busybox", BUSYBOX, mode=0o755)
    fs.link("/usr/sbin/telnetd", "/bin/busybox")
    fs.file("/usr/lib/libcrypto.so.1.0.0", OPENSSL, mode=0o755)
    fs.file("/usr/lib/libssl.so.1.0.0", OPENSSL, mode=0o755)
    fs.file("/usr/sbin/dropbear", dropbear, mode=0o755)
    fs.file("/www/index.html", "<html>router</html>\n")
    return fs


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    router_tree(root)
    return root


def component(analysis: FirmwareAnalysis, name: str) -> tuple[str | None, set[str]]:
    found = [c for c in analysis.components if c.name == name]
    assert len(found) == 1, [c.name for c in analysis.components]
    return found[0].version, {e.path for e in found[0].evidence}


def ids(analysis: FirmwareAnalysis) -> set[str]:
    return {f.id for f in analysis.findings}


def test_a_squashfs_image_is_extracted_walked_identified_and_checked(
    tree: Path, tmp_path: Path, store: Store
) -> None:
    image = squashfs(tree, tmp_path / "firmware.sqsh")

    analysis = analyze_image(image, store=store, options=AnalysisOptions(build=ACME))

    assert analysis.image.name == "firmware.sqsh"
    assert analysis.image.size == image.stat().st_size
    assert len(analysis.image.sha256 or "") == 64
    assert analysis.extraction.steps, "the extraction steps are reported"
    assert len(analysis.rootfs) == 1
    # The temporary work folder is gone after the analysis: paths in it are shown relative.
    assert not analysis.rootfs[0].path.startswith("/")
    assert analysis.work_dir is None
    assert component(analysis, "openssl") == (
        "1.0.1e",
        {"/usr/lib/libcrypto.so.1.0.0", "/usr/lib/libssl.so.1.0.0"},
    )
    assert component(analysis, "busybox") == ("1.19.4", {"/bin/busybox"})
    assert component(analysis, "dropbear")[0] == "2012.55"
    assert {
        "IW-FW-ACCOUNT-DEFAULT-PASSWORD",
        "IW-FW-SERVICE-TELNET",
        "IW-FW-REMOTE-LOGIN-DEFAULT-PASSWORD",
    } <= ids(analysis)
    # 8 regular files, one of them with the same content as another; the applet link is
    # counted, not followed.
    assert (analysis.files.total, analysis.files.unique) == (8, 7)
    assert analysis.files.symlinks == 1
    assert analysis.files.analysed == 7
    assert analysis.findings == tuple(sorted(analysis.findings, key=lambda f: f.severity.rank))
    assert set(analysis.timings) >= {"extract", "analyse", "identify", "check", "total"}
    assert analysis.stored and analysis.build == ACME


def test_reanalysis_reuses_every_file_and_a_new_version_only_analyses_what_changed(
    tmp_path: Path, store: Store
) -> None:
    first = router_tree(tmp_path / "v1").root
    second = router_tree(tmp_path / "v2", dropbear=b"\x00dropbear_2019.78\x00").root

    v1 = analyze_image(first, store=store)
    again = analyze_image(first, store=store)
    v2 = analyze_image(second, store=store)

    assert (v1.files.analysed, v1.files.reused) == (7, 0)
    assert (again.files.analysed, again.files.reused) == (0, 7)
    assert again.components == v1.components
    assert again.findings == v1.findings
    assert (v2.files.analysed, v2.files.reused) == (1, 6)
    assert component(v2, "dropbear")[0] == "2019.78"


def test_a_changed_analyser_version_invalidates_the_cache(
    tree: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyze_image(tree, store=store)
    monkeypatch.setattr(analyze_mod, "RESULT_FORMAT", "test-next")

    again = analyze_image(tree, store=store)

    assert (again.files.analysed, again.files.reused) == (7, 0)


def test_a_corrupt_cache_entry_is_analysed_again(tree: Path) -> None:
    cache = MemoryFileCache()
    analyze_image(tree, cache=cache)
    for key in cache.results:
        cache.results[key] = {"hits": [{"no": "signature"}]}

    again = analyze_image(tree, cache=cache)

    assert again.files.analysed == 7
    assert component(again, "busybox")[0] == "1.19.4"


def test_the_build_is_recorded_with_its_components_and_the_exposure_engine_sees_it(
    tree: Path, store: Store
) -> None:
    analysis = analyze_image(tree, store=store, options=AnalysisOptions(build=ACME))
    assert not analysis.advisories_checked  # nothing ingested yet
    ingest(store, [str(SAMPLES / "advisories")])

    result = exposure(store, "CVE-2014-0160")

    exposed = [(str(b.product), b.version) for b in result.builds]
    assert exposed == [("Acme R500", "2.1.0")]
    counts = FleetRepository(store).counts()
    assert counts["firmware_builds"] == 1
    assert counts["components"] == len({(c.name, c.version) for c in analysis.components})


def test_known_vulnerabilities_become_findings_with_kev_as_critical(
    tree: Path, store: Store
) -> None:
    ingest(store, [str(SAMPLES / "advisories")])

    analysis = analyze_image(tree, store=store, options=AnalysisOptions(build=ACME))

    known = [f for f in analysis.findings if f.id == "IW-FW-KNOWN-VULN"]
    assert [f.details["vulnerability"] for f in known] == ["CVE-2014-0160"]
    heartbleed = known[0]
    assert heartbleed.severity is Severity.CRITICAL  # CVSS 7.5, but on CISA's KEV list
    assert heartbleed.details["kev"] is True
    assert heartbleed.details["fixed_versions"] == ["1.0.1g"]
    assert heartbleed.path in {"/usr/lib/libcrypto.so.1.0.0", "/usr/lib/libssl.so.1.0.0"}
    assert heartbleed.capabilities == ("no-known-exploitable-vulnerabilities",)
    assert "1.0.1g" in heartbleed.remediation
    assert analysis.advisories_checked


def test_no_store_matches_known_vulnerabilities_but_leaves_the_inventory_untouched(
    tree: Path, store: Store
) -> None:
    ingest(store, [str(SAMPLES / "advisories")])

    analysis = analyze_image(
        tree, store=store, options=AnalysisOptions(build=ACME, store_build=False)
    )

    assert "IW-FW-KNOWN-VULN" in ids(analysis)
    assert not analysis.stored and analysis.build is None
    counts = FleetRepository(store).counts()
    assert (counts["products"], counts["firmware_builds"], counts["components"]) == (0, 0, 0)


def test_a_fixed_component_version_is_not_reported(tmp_path: Path, store: Store) -> None:
    fs = router_tree(tmp_path / "fixed")
    fixed = b"\x00OpenSSL 1.0.1g 7 Apr 2014\x00"
    fs.file("/usr/lib/libcrypto.so.1.0.0", fixed)
    fs.file("/usr/lib/libssl.so.1.0.0", fixed)
    ingest(store, [str(SAMPLES / "advisories")])

    analysis = analyze_image(fs.root, store=store)

    assert component(analysis, "openssl")[0] == "1.0.1g"
    assert "IW-FW-KNOWN-VULN" not in ids(analysis)


def test_links_out_of_the_tree_are_not_followed_and_special_files_are_skipped(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "host-secret"
    outside.write_bytes(OPENSSL)
    fs = RootFS(tmp_path / "rootfs")
    fs.file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    fs.link("/usr/lib/libcrypto.so", str(outside))
    fs.link("/lib", "/")  # a loop if it were followed
    fs.host("/dev").mkdir()
    os.mkfifo(fs.host("/dev/initctl"))

    analysis = analyze_image(fs.root)

    assert analysis.files.total == 1
    assert analysis.files.symlinks == 2
    assert analysis.files.special == 1
    assert not [c for c in analysis.components if c.name == "openssl"]


def test_a_file_name_that_is_not_utf8_is_analysed_and_reported_escaped(tmp_path: Path) -> None:
    from iotwarden.report.firmware import dumps

    fs = RootFS(tmp_path / "rootfs")
    (fs.root / "bin").mkdir()
    Path(os.fsdecode(os.path.join(os.fsencode(fs.root / "bin"), b"busybox\xff"))).write_bytes(
        BUSYBOX
    )

    analysis = analyze_image(fs.root)

    assert component(analysis, "busybox") == ("1.19.4", {"/bin/busybox\\xff"})
    assert "/bin/busybox\\\\xff" in dumps(analysis).encode("utf-8").decode("utf-8")


def test_a_file_larger_than_the_read_limit_is_analysed_up_to_it(tmp_path: Path) -> None:
    fs = RootFS(tmp_path / "rootfs")
    fs.file("/bin/busybox", BUSYBOX + b"\x00" * 4096 + OPENSSL, mode=0o755)

    analysis = analyze_image(fs.root, options=AnalysisOptions(max_content_bytes=1024))

    assert analysis.files.truncated == 1
    assert any("/bin/busybox" in p and "analysed up to there" in p for p in analysis.problems)
    assert component(analysis, "busybox")[0] == "1.19.4"
    assert not [c for c in analysis.components if c.name == "openssl"]


def test_an_analyser_failing_on_one_file_is_a_problem_not_the_end(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from iotwarden.firmware import identify

    real = identify.scan_content

    def fragile(data: bytes) -> tuple[identify.SignatureHit, ...]:
        if b"dropbear" in data:
            raise ValueError("boom")
        return real(data)

    monkeypatch.setattr(identify, "scan_content", fragile)

    analysis = analyze_image(tree, options=AnalysisOptions(workers=0))

    assert any(
        p.startswith("/usr/sbin/dropbear: component signatures could not be scanned")
        for p in analysis.problems
    )
    assert component(analysis, "busybox")[0] == "1.19.4"
    assert "IW-FW-ACCOUNT-DEFAULT-PASSWORD" in ids(analysis)


def test_worker_processes_give_the_same_results(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analyze_mod, "POOL_MIN_FILES", 1)
    monkeypatch.setattr(analyze_mod, "POOL_BATCH", 2)

    pooled = analyze_image(tree, options=AnalysisOptions(workers=2))
    single = analyze_image(tree, options=AnalysisOptions(workers=0))

    assert pooled.components == single.components
    assert pooled.findings == single.findings
    assert pooled.files.analysed == single.files.analysed == 7


@pytest.mark.parametrize(
    ("workers", "files", "size", "expected"),
    [
        (None, 1500, 24 * 1024 * 1024, 0),  # measured: one process is faster here
        (None, 5000, 512 * 1024 * 1024, 2),
        (0, 5000, 512 * 1024 * 1024, 0),
        (2, 10, 512 * 1024 * 1024, 0),  # too few files to share
        (3, 100, 1024, 3),
    ],
)
def test_worker_processes_only_when_there_is_enough_to_share(
    workers: int | None, files: int, size: int, expected: int
) -> None:
    options = AnalysisOptions(workers=workers)

    assert analyze_mod._workers(options, files, size) == expected


def test_a_kept_work_folder_is_named_in_the_result(tree: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"

    analysis = analyze_image(tree, options=AnalysisOptions(work_dir=work))

    assert analysis.work_dir == str(work)
    assert work.is_dir()


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, AnalysisPhase, int | None]] = []
        self.count = 0

    def phase_started(self, phase: AnalysisPhase, total: int | None) -> None:
        self.events.append(("start", phase, total))

    def advanced(self, count: int) -> None:
        self.count += count

    def phase_finished(self, phase: AnalysisPhase) -> None:
        self.events.append(("end", phase, None))


def test_progress_goes_to_the_observer_phase_by_phase(tree: Path, store: Store) -> None:
    recorder = Recorder()

    analyze_image(tree, store=store, observer=recorder)

    started = [phase for kind, phase, _ in recorder.events if kind == "start"]
    assert started[:4] == [
        AnalysisPhase.EXTRACT,
        AnalysisPhase.WALK,
        AnalysisPhase.HASH,
        AnalysisPhase.ANALYSE,
    ]
    assert AnalysisPhase.CHECK in started
    assert ("start", AnalysisPhase.HASH, 8) in recorder.events
    assert recorder.count == 8 + 7  # every file hashed, every distinct content analysed


def test_a_missing_image_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(AnalysisError, match=r"nothing-here\.bin: no such file"):
        analyze_image(tmp_path / "nothing-here.bin")


def test_random_data_is_an_error_naming_the_input(tmp_path: Path) -> None:
    noise = tmp_path / "noise.bin"
    noise.write_bytes(os.urandom(64 * 1024))

    with pytest.raises(FirmwareError, match=r"noise\.bin"):
        analyze_image(noise)


# --- beside the root file systems: kernels, boot loaders, firmware blobs ------------------------

KERNEL_BANNER = b"Linux version 4.14.180 (builder@buildhost) (gcc version 7.5.0) #0 SMP\n\x00"
#: A boot loader partition: U-Boot's version string, and a key that a check would report were
#: it in a root file system (nothing outside the roots is checked).
BOOT_LOADER = b"\x00U-Boot 2016.03 (Jun 12 2017 - 10:00:00 +0800)\x00" + bytes(range(256)) * 4


def trx_with_kernel_and_boot_loader(tree: Path, out: Path) -> Path:
    """A TRX: an LZMA kernel, the root file system (SquashFS), a boot loader partition."""
    import lzma

    from tests.firmware.images import trx

    kernel = lzma.compress(KERNEL_BANNER + bytes(range(256)) * 64, format=lzma.FORMAT_ALONE)
    key = pem_private(rsa_key(1024))
    rootfs = squashfs(tree, out.with_suffix(".sqsh")).read_bytes()
    out.write_bytes(trx([kernel, rootfs, BOOT_LOADER + key]))
    return out


def test_the_kernel_and_boot_loader_beside_the_root_are_identified_not_checked(
    tree: Path, tmp_path: Path, store: Store
) -> None:
    from iotwarden.firmware.sbom import to_cyclonedx

    image = trx_with_kernel_and_boot_loader(tree, tmp_path / "firmware.trx")

    analysis = analyze_image(image, store=store, options=AnalysisOptions(build=ACME))

    version, paths = component(analysis, "linux_kernel")
    (kernel_path,) = paths
    assert version == "4.14.180"
    assert kernel_path.startswith("<extraction>/extracted/firmware.trx_extract/part0_extract/")
    assert component(analysis, "u-boot") == (
        "2016.03",
        {"<extraction>/extracted/firmware.trx_extract/part2"},
    )
    # The root file system is analysed as before.
    assert component(analysis, "busybox") == ("1.19.4", {"/bin/busybox"})
    assert (analysis.files.total, analysis.files.outside) == (8, 2)
    # Identification only: the key in the boot loader partition is no finding.
    assert [f.path for f in analysis.findings if f.path.startswith("<extraction>")] == []
    # The files are in the SBOM evidence with their digests, and the components in the SBOM.
    evidence = {e.path: e for e in analysis.evidence_files}
    assert len(evidence["<extraction>/extracted/firmware.trx_extract/part2"].sha256) == 64
    assert kernel_path in evidence
    names = {c["name"] for c in json.loads(to_cyclonedx(analysis))["components"]}
    assert {"linux_kernel", "u-boot", "busybox"} <= names


def _blob(path: Path, data: bytes = b"\x00U-Boot 2016.03 (Jun 12 2017 - 10:00:00)\x00") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_only_binary_files_outside_the_roots_are_scanned_and_links_are_not_followed(
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    out = work / "extracted" / "flash.bin_extract"
    root = out / "1048576.squashfs"
    _blob(root / "bin/busybox", BUSYBOX)  # inside the root: walked with it, not here
    _blob(out / "0-65536.unknown")  # a carved chunk: scanned
    _blob(out / "65536.uimage/Linux.bin_extract/Linux", KERNEL_BANNER)  # unpacked: scanned
    _blob(out / "65536.uimage/Linux.bin", b"\x5d\x00\x00\x80\x00")  # unpacked beside: skipped
    _blob(out / "notes.txt", b"U-Boot 2016.03 (Jun 12 2017 - 10:00:00)\n")  # text: skipped
    _blob(out / "erased.padding", b"\xff" * 65536)  # erased flash: skipped
    _blob(out / "empty", b"")
    _blob(work / ".unblob/shims/sasquatch", b"\x7fELF\x00")  # the extractor's own files
    host = _blob(tmp_path / "host-secret", KERNEL_BANNER)
    (out / "link").symlink_to(host)
    (out / "linked-folder").symlink_to(tmp_path)
    problems: list[str] = []

    # Something unpacked inside the root is walked with the root.
    inside = _blob(root / "usr/share/logo.gz_extract/logo", KERNEL_BANNER).parent
    outputs = [work / "extracted", out / "65536.uimage", inside, root]

    found = analyze_mod._outside_files(outputs, [root], work, problems)

    assert [f.image_path for f in found] == [
        "<extraction>/extracted/flash.bin_extract/0-65536.unknown",
        "<extraction>/extracted/flash.bin_extract/65536.uimage/Linux.bin_extract/Linux",
    ]
    assert all(f.root == -1 and f.tree_path == f.image_path for f in found)
    assert problems == []
    # An output outside the work folder (a directory given as the image) is not looked at.
    assert analyze_mod._outside_files([tmp_path], [], work, problems) == []


def test_outside_the_roots_the_scan_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    out = work / "extracted"
    for index in range(5):
        _blob(out / f"blob{index}")
    os.truncate(_blob(out / "huge"), 1024 * 1024 + 1)  # sparse
    monkeypatch.setattr(analyze_mod, "MAX_OUTSIDE_FILES", 3)
    monkeypatch.setattr(analyze_mod, "MAX_OUTSIDE_FILE_BYTES", 1024 * 1024)
    problems: list[str] = []

    found = analyze_mod._outside_files([out], [], work, problems)

    assert [f.image_path for f in found] == [f"<extraction>/extracted/blob{i}" for i in range(3)]
    assert problems == [
        "more than 3 files outside the root file systems: the rest were not scanned for components"
    ]
    monkeypatch.setattr(analyze_mod, "MAX_OUTSIDE_FILES", 10)
    problems.clear()
    assert len(analyze_mod._outside_files([out], [], work, problems)) == 5
    assert problems == [
        "<extraction>/extracted/huge: larger than 1 MiB, not scanned for components"
    ]


# --- re-analysing the same image ----------------------------------------------------------------

#: What differs between two analyses of the same image whatever is reused: when, how long,
#: and whether the stored analysis was reused.
VOLATILE = ("analysed_at", "timings", "files", "reused_image", "reused_from")


def same_report(first: FirmwareAnalysis, again: FirmwareAnalysis) -> None:
    from iotwarden.report.firmware import to_json

    one, two = to_json(first), to_json(again)
    for key in VOLATILE:
        one.pop(key), two.pop(key)
    assert two == one


def test_reanalysing_the_same_image_reuses_its_analysis_without_extracting(
    tree: Path, tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from iotwarden.firmware import extract as extract_pkg

    image = squashfs(tree, tmp_path / "firmware.sqsh")
    first = analyze_image(image, store=store, options=AnalysisOptions(build=ACME))

    def no_extraction(*args: object, **kwargs: object) -> None:
        raise AssertionError("the image was extracted again")

    monkeypatch.setattr(extract_pkg, "extract", no_extraction)
    recorder = Recorder()
    again = analyze_image(
        image, store=store, options=AnalysisOptions(build=ACME), observer=recorder
    )

    assert not first.reused_image and first.reused_from is None
    assert again.reused_image
    assert again.reused_from is not None and again.reused_from <= again.analysed_at
    assert again.reused_from[:10] == first.analysed_at[:10]
    # Every distinct content counts as reused; nothing was analysed, extracted or checked.
    assert (again.files.total, again.files.analysed, again.files.reused) == (8, 0, 7)
    assert set(again.timings) == {"reuse", "match", "total"}
    started = [phase for kind, phase, _ in recorder.events if kind == "start"]
    assert started == [AnalysisPhase.REUSE, AnalysisPhase.MATCH]
    # The same components, findings, checks, hardening, evidence files and extraction facts.
    assert again.components == first.components
    assert again.findings == first.findings
    assert again.evidence_files == first.evidence_files
    same_report(first, again)
    assert again.stored and again.build == ACME


def test_a_reused_image_is_matched_against_advisories_that_arrived_since(
    tree: Path, tmp_path: Path, store: Store
) -> None:
    image = squashfs(tree, tmp_path / "firmware.sqsh")
    first = analyze_image(image, store=store, options=AnalysisOptions(build=ACME))
    ingest(store, [str(SAMPLES / "advisories")])

    again = analyze_image(image, store=store, options=AnalysisOptions(build=ACME))

    assert "IW-FW-KNOWN-VULN" not in ids(first) and not first.advisories_checked
    assert again.reused_image and again.advisories_checked
    known = [f for f in again.findings if f.id == "IW-FW-KNOWN-VULN"]
    assert [f.details["vulnerability"] for f in known] == ["CVE-2014-0160"]
    assert known[0].severity is Severity.CRITICAL
    assert again.findings == tuple(
        sorted(again.findings, key=lambda f: (f.severity.rank, f.id, f.path, f.title))
    )


def test_a_reused_image_is_recorded_as_the_build_named_this_time(
    tree: Path, tmp_path: Path, store: Store
) -> None:
    image = squashfs(tree, tmp_path / "firmware.sqsh")
    analyze_image(image, store=store, options=AnalysisOptions(build=ACME))
    rebadged = BuildRef(ProductRef("Acme", "R600"), "1.0")

    again = analyze_image(image, store=store, options=AnalysisOptions(build=rebadged))
    unsaved = analyze_image(
        image, store=store, options=AnalysisOptions(build=ACME, store_build=False)
    )

    assert again.reused_image and again.stored and again.build == rebadged
    assert unsaved.reused_image and not unsaved.stored
    ingest(store, [str(SAMPLES / "advisories")])
    exposed = sorted((str(b.product), b.version) for b in exposure(store, "CVE-2014-0160").builds)
    assert exposed == [("Acme R500", "2.1.0"), ("Acme R600", "1.0")]


def test_no_cache_a_kept_work_folder_and_a_folder_are_analysed_in_full(
    tree: Path, tmp_path: Path, store: Store
) -> None:
    image = squashfs(tree, tmp_path / "firmware.sqsh")
    analyze_image(image, store=store)
    analyze_image(tree, store=store)

    no_cache = analyze_image(image, store=store, options=AnalysisOptions(use_cache=False))
    kept = analyze_image(image, store=store, options=AnalysisOptions(work_dir=tmp_path / "work"))
    folder = analyze_image(tree, store=store)

    assert not no_cache.reused_image
    assert (no_cache.files.analysed, no_cache.files.reused) == (7, 0)
    assert "extract" in no_cache.timings
    # The kept tree is extracted; its files come from the per-file cache.
    assert not kept.reused_image and "extract" in kept.timings
    assert (kept.files.analysed, kept.files.reused) == (0, 7)
    assert (tmp_path / "work" / "extracted").is_dir()
    # A folder has no digest saying its content did not change: per-file reuse only.
    assert not folder.reused_image and "reuse" not in folder.timings
    assert (folder.files.analysed, folder.files.reused) == (0, 7)


def test_another_image_or_another_key_is_analysed_again(
    tree: Path, tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = squashfs(tree, tmp_path / "firmware.sqsh")
    analyze_image(image, store=store)
    fs = router_tree(tmp_path / "v2", dropbear=b"\x00dropbear_2019.78\x00")
    next_version = analyze_image(squashfs(fs.root, tmp_path / "v2.sqsh"), store=store)
    renamed = tmp_path / "renamed.bin"
    renamed.write_bytes(image.read_bytes())
    same_bytes = analyze_image(renamed, store=store)
    monkeypatch.setattr(analyze_mod, "code_fingerprint", lambda: "new-code")
    new_code = analyze_image(image, store=store)

    assert not next_version.reused_image
    assert (next_version.files.analysed, next_version.files.reused) == (1, 6)
    assert component(next_version, "dropbear")[0] == "2019.78"
    # The key is the content, not the name.
    assert same_bytes.reused_image and same_bytes.image.name == "renamed.bin"
    assert not new_code.reused_image and "extract" in new_code.timings


def test_the_key_names_the_code_the_options_and_the_extraction_set_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from iotwarden.firmware.extract import ExtractionLimits

    base = analyze_mod.image_analysis_version()
    variants = [
        analyze_mod.image_analysis_version(AnalysisOptions(max_content_bytes=1024)),
        analyze_mod.image_analysis_version(AnalysisOptions(limits=ExtractionLimits(max_depth=2))),
    ]
    # Options that do not change what the image gives keep the key.
    assert analyze_mod.image_analysis_version(AnalysisOptions(workers=2, build=ACME)) == base
    monkeypatch.setenv("IOTWARDEN_USE_UNBLOB", "0")
    variants.append(analyze_mod.image_analysis_version())
    monkeypatch.delenv("IOTWARDEN_USE_UNBLOB")
    monkeypatch.setattr(analyze_mod, "IMAGE_RESULT_FORMAT", "test-next")
    variants.append(analyze_mod.image_analysis_version())
    monkeypatch.setattr(analyze_mod, "IMAGE_RESULT_FORMAT", "1")
    monkeypatch.setattr(analyze_mod, "code_fingerprint", lambda: "edited")
    variants.append(analyze_mod.image_analysis_version())

    assert len({base, *variants}) == 1 + len(variants)
    assert all(len(key) <= 128 for key in variants)


def test_the_code_fingerprint_covers_the_firmware_modules_and_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    package = Path(analyze_mod.__file__).resolve().parents[1]
    copy = tmp_path / "iotwarden"
    for part in ("firmware", "data/firmware", "core"):
        shutil.copytree(package / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(analyze_mod, "__file__", str(copy / "firmware" / "analyze.py"))

    def fingerprint() -> str:
        analyze_mod.code_fingerprint.cache_clear()
        return analyze_mod.code_fingerprint()

    try:
        original = fingerprint()
        (copy / "core" / "versions.py").write_text("# not what identification reads\n")
        unrelated = fingerprint()
        signatures = copy / "data" / "firmware" / "signatures.yaml"
        signatures.write_bytes(signatures.read_bytes() + b"\n# a new signature\n")
        data_edit = fingerprint()
        (copy / "firmware" / "checks" / "services.py").write_text("# edited\n")
        code_edit = fingerprint()
    finally:
        analyze_mod.code_fingerprint.cache_clear()

    assert original == unrelated
    assert len({original, data_edit, code_edit}) == 3


def test_a_partial_extraction_is_not_kept_for_the_next_analysis(
    tree: Path, tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from iotwarden.firmware import extract as extract_pkg

    image = squashfs(tree, tmp_path / "firmware.sqsh")
    real = extract_pkg.extract

    def stopped(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        note = "extraction stopped after the 300 s time limit; results are partial"
        return dataclasses.replace(result, problems=(note, *result.problems))

    monkeypatch.setattr(extract_pkg, "extract", stopped)
    partial = analyze_image(image, store=store)
    monkeypatch.setattr(extract_pkg, "extract", real)
    complete = analyze_image(image, store=store)
    again = analyze_image(image, store=store)

    assert partial.extraction.problems[0].startswith("extraction stopped")
    assert not complete.reused_image
    assert complete.extraction.neutralised_links == 1  # noted, and no reason not to keep it
    assert again.reused_image


def test_a_damaged_stored_analysis_is_analysed_again_and_replaced(
    tree: Path, tmp_path: Path
) -> None:
    image = squashfs(tree, tmp_path / "firmware.sqsh")
    images = MemoryImageCache()
    files = MemoryFileCache()
    analyze_image(image, cache=files, image_cache=images)
    (sha,) = images.results
    images.results[sha] = dataclasses.replace(images.results[sha], result={"format": "1"})

    damaged = analyze_image(image, cache=files, image_cache=images)
    again = analyze_image(image, cache=files, image_cache=images)

    assert not damaged.reused_image and (damaged.files.analysed, damaged.files.reused) == (0, 7)
    assert again.reused_image
    assert component(again, "busybox") == ("1.19.4", {"/bin/busybox"})


def test_a_failure_to_keep_the_analysis_is_a_problem_not_the_end(
    tree: Path, tmp_path: Path
) -> None:
    from iotwarden.core.errors import StoreError

    class ReadOnly(MemoryImageCache):
        def put(self, sha256: str, size: int, result: Mapping[str, Any]) -> None:
            raise StoreError("the store is read-only")

    image = squashfs(tree, tmp_path / "firmware.sqsh")

    analysis = analyze_image(image, image_cache=ReadOnly())

    assert analysis.problems[-1] == (
        "the analysis could not be kept for the next one: the store is read-only"
    )
    assert component(analysis, "busybox")[0] == "1.19.4"


def test_a_file_name_that_is_not_utf8_is_reused_as_reported(tmp_path: Path, store: Store) -> None:
    fs = router_tree(tmp_path / "rootfs")
    Path(os.fsdecode(os.path.join(os.fsencode(fs.root / "bin"), b"sh\xff"))).write_bytes(
        BUSYBOX + b"\x00other build\x00"
    )
    image = squashfs(fs.root, tmp_path / "firmware.sqsh")

    first = analyze_image(image, store=store)
    again = analyze_image(image, store=store)

    assert again.reused_image
    assert component(again, "busybox") == ("1.19.4", {"/bin/busybox", "/bin/sh\\xff"})
    same_report(first, again)
