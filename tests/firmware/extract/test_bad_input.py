"""Hostile and broken input: clear errors naming the input, partial results with problems,
limits that hold, and nothing ever written outside the work directory."""

from __future__ import annotations

import gzip
import io
import os
import random
import tarfile
import zipfile
from pathlib import Path

import pytest

from iotwarden.firmware.extract import ExtractionError, ExtractionLimits, extract
from tests.firmware import images
from tests.firmware.extract.conftest import Outside


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match=r"nothing\.bin: no such file or directory"):
        extract(tmp_path / "nothing.bin", tmp_path / "work")


def test_zero_byte_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "empty.bin").touch()
    with pytest.raises(ExtractionError, match=r"empty\.bin: the file is empty \(0 bytes\)"):
        extract(tmp_path / "empty.bin", tmp_path / "work")
    assert not (tmp_path / "work").exists()


def test_random_data_is_not_recognised(tmp_path: Path) -> None:
    image = tmp_path / "noise.bin"
    image.write_bytes(random.Random(4).randbytes(256 * 1024))
    outside = Outside(tmp_path, tmp_path / "work")
    with pytest.raises(ExtractionError, match=r"noise\.bin: no firmware format recognised"):
        extract(image, tmp_path / "work")
    outside.assert_untouched()


def test_truncated_squashfs_is_a_problem_not_a_crash(tmp_path: Path, rootfs: Path) -> None:
    (rootfs / "big.bin").write_bytes(random.Random(1).randbytes(200_000))
    whole = images.vendor_lzma_squashfs(rootfs, tmp_path / "whole.sqfs").read_bytes()
    image = tmp_path / "cut.sqfs"
    image.write_bytes(whole[: len(whole) * 3 // 4])
    outside = Outside(tmp_path, tmp_path / "work")

    result = extract(image, tmp_path / "work")

    assert any("truncated" in problem for problem in result.problems)
    assert result.rootfs == ()
    outside.assert_untouched()


def test_truncated_cpio_keeps_the_files_before_the_cut(tmp_path: Path, rootfs: Path) -> None:
    whole = images.cpio_newc(rootfs, tmp_path / "whole.cpio").read_bytes()
    cut = whole.index(b"www/index.html") + 200  # inside the last file's data
    image = tmp_path / "cut.cpio"
    image.write_bytes(whole[:cut])

    result = extract(image, tmp_path / "work")

    assert (result.rootfs[0] / "etc/passwd").read_text() == images.PASSWD
    assert any("truncated" in problem for problem in result.problems)


def test_zip_bomb_stops_at_the_ratio_limit(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("etc/zeros", bytes(32 * 1024 * 1024))
    outside = Outside(tmp_path, tmp_path / "work")

    result = extract(bomb, tmp_path / "work")

    assert any("max_ratio limit" in problem for problem in result.problems), result.problems
    assert not (tmp_path / "work/extracted/bomb.zip_extract/etc/zeros").exists()
    outside.assert_untouched()


def _tar_with(entries: list[tarfile.TarInfo], data: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for info in entries:
            content = data.get(info.name)
            if content is not None:
                info.size = len(content)
            archive.addfile(info, io.BytesIO(content) if content is not None else None)
    return buffer.getvalue()


def _entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o644
    return info


def test_climbing_names_and_absolute_links_are_neutralised(tmp_path: Path) -> None:
    escape = tmp_path / "escaped.txt"
    entries = [
        _entry("etc", tarfile.DIRTYPE),
        _entry("bin", tarfile.DIRTYPE),
        _entry("etc/passwd"),
        _entry("../escaped.txt"),
        _entry("../../escaped.txt"),
        _entry(str(escape)),  # absolute member name: lands inside, relative to the root
        _entry("bin/sh", tarfile.SYMTYPE, "/bin/busybox"),
        _entry("etc/shadow", tarfile.SYMTYPE, "/etc/shadow"),
        _entry("etc/up", tarfile.SYMTYPE, "../../../../etc/passwd"),
        _entry("etc/via", tarfile.SYMTYPE, str(tmp_path)),
        _entry("etc/via/escaped.txt"),  # written through the link it would escape
    ]
    data = {e.name: b"pwned\n" for e in entries if e.type == tarfile.REGTYPE}
    data["etc/passwd"] = images.PASSWD.encode()
    image = tmp_path / "evil.tar"
    image.write_bytes(_tar_with(entries, data))
    outside = Outside(tmp_path, tmp_path / "work")

    result = extract(image, tmp_path / "work")

    outside.assert_untouched()
    assert not escape.exists()
    root = tmp_path / "work/extracted/evil.tar_extract"
    assert any("climbs out of the archive with '..' (rejected)" in p for p in result.problems)
    assert any("goes through a non-directory (rejected)" in p for p in result.problems)
    assert (root / "bin/sh").readlink() == Path("busybox")
    assert (root / "etc/shadow").readlink() == Path("shadow")
    assert not (root / "etc/up").is_symlink()  # climbs out: removed
    assert any("etc/up -> ../../../../etc/passwd climbs out" in p for p in result.problems)
    via = (root / "etc/via").readlink()
    assert not via.is_absolute() and (root / "etc/via").resolve().is_relative_to(root)
    assert result.neutralised_links == 4


def test_hardlinks_become_copies_and_devices_are_never_created(tmp_path: Path) -> None:
    device = _entry("dev/console", tarfile.CHRTYPE)
    device.devmajor, device.devminor = 5, 1
    entries = [
        _entry("etc", tarfile.DIRTYPE),
        _entry("etc/passwd"),
        _entry("etc/passwd-", tarfile.LNKTYPE, "etc/passwd"),
        _entry("etc/outside", tarfile.LNKTYPE, "/etc/hostname"),
        _entry("etc/climb", tarfile.LNKTYPE, "../../etc/hostname"),
        device,
        _entry("dev/fifo", tarfile.FIFOTYPE),
    ]
    image = tmp_path / "links.tar"
    image.write_bytes(_tar_with(entries, {"etc/passwd": images.PASSWD.encode()}))

    result = extract(image, tmp_path / "work")

    root = tmp_path / "work/extracted/links.tar_extract"
    copy = root / "etc/passwd-"
    assert copy.read_text() == images.PASSWD and copy.stat().st_nlink == 1
    assert not (root / "etc/outside").exists() and not (root / "etc/climb").exists()
    assert not (root / "dev/console").exists() and not (root / "dev/fifo").exists()
    assert "device node 'dev/console' not created (special files are never written)" in (
        result.problems
    )
    assert any("'etc/climb'" in p and "climbs out" in p for p in result.problems)


def test_nesting_deeper_than_max_depth_stops(tmp_path: Path, rootfs: Path) -> None:
    data = images.tar(rootfs, tmp_path / "rootfs.tar").read_bytes()
    for _ in range(6):
        data = gzip.compress(data, mtime=0)
    image = tmp_path / "deep.gz"
    image.write_bytes(data)

    result = extract(image, tmp_path / "work", limits=ExtractionLimits(max_depth=3))

    assert result.rootfs == ()
    assert any("nested deeper than 3 levels (max_depth limit)" in p for p in result.problems)
    assert max(step.depth for step in result.steps) == 3


def test_timeout_returns_partial_results(tmp_path: Path, rootfs: Path) -> None:
    image = images.tar(rootfs, tmp_path / "rootfs.tar")
    result = extract(image, tmp_path / "work", limits=ExtractionLimits(timeout_s=0.01))
    assert "extraction stopped after the 0.01 s time limit; results are partial" in (
        result.problems
    )


def test_sparse_one_gigabyte_image_in_bounded_time(tmp_path: Path) -> None:
    image = tmp_path / "huge.bin"
    with image.open("wb") as handle:
        handle.truncate(1024**3)  # sparse: no disk used
    outside = Outside(tmp_path, tmp_path / "work")
    with pytest.raises(ExtractionError, match=r"huge\.bin: no firmware format recognised"):
        extract(image, tmp_path / "work", limits=ExtractionLimits(timeout_s=60))
    outside.assert_untouched()


def test_too_many_files_stops(tmp_path: Path, rootfs: Path) -> None:
    image = images.tar(rootfs, tmp_path / "rootfs.tar")
    result = extract(image, tmp_path / "work", limits=ExtractionLimits(max_files=5))
    assert any("more than 5 files (max_files limit)" in p for p in result.problems)


def test_symlinked_input_that_dangles(tmp_path: Path) -> None:
    os.symlink(tmp_path / "gone", tmp_path / "link.bin")
    with pytest.raises(ExtractionError, match=r"link\.bin: dangling symbolic link"):
        extract(tmp_path / "link.bin", tmp_path / "work")
