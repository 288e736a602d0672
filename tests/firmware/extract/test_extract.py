"""extract() end to end: every container format down to a ranked root filesystem."""

from __future__ import annotations

import bz2
import lzma
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from iotwarden.firmware.extract import ExtractionResult, ExtractionStep, extract
from iotwarden.firmware.extract.formats import HANDLERS
from iotwarden.firmware.extract.unblob import find_unblob
from tests.firmware import images

Builder = Callable[[Path, Path], Path]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _cpio(rootfs: Path, folder: Path) -> bytes:
    return images.cpio_newc(rootfs, folder / "a.cpio").read_bytes()


def _lzma(rootfs: Path, folder: Path) -> Path:
    data = lzma.compress(_cpio(rootfs, folder), format=lzma.FORMAT_ALONE)
    return _write(folder / "a.lzma", data)


def _bzip2(rootfs: Path, folder: Path) -> Path:
    return _write(folder / "a.bz2", bz2.compress(_cpio(rootfs, folder)))


def _uimage(rootfs: Path, folder: Path) -> Path:
    return _write(
        folder / "initrd.uimg", images.uimage(_cpio(rootfs, folder), image_type="ramdisk")
    )


def _trx(rootfs: Path, folder: Path) -> Path:
    squash = images.squashfs(rootfs, folder / "a.sqfs").read_bytes()
    return _write(folder / "fw.trx", images.trx([b"loader" * 64, images.fake_kernel(), squash]))


def _flash(rootfs: Path, folder: Path) -> Path:
    squash = images.vendor_lzma_squashfs(rootfs, folder / "a.sqfs").read_bytes()
    return _write(folder / "flash.bin", images.raw_flash_dump(images.fake_kernel(), squash))


def _squashfs3(rootfs: Path, folder: Path) -> Path:
    tree = images.tree_from_directory(rootfs)
    data = images.squashfs3_from_tree(tree, compression="lzma-vendor", big_endian=True, minor=0)
    return _write(folder / "root.sq3", data)


#: One image per built-in handler (the completeness test below checks none is missing):
#: name -> (tools it needs, builder(rootfs, folder) -> image, the formats its steps show).
CASES: dict[str, tuple[tuple[str, ...], Builder, tuple[str, ...]]] = {
    "squashfs": (("mksquashfs",), lambda r, d: images.squashfs(r, d / "fs.sqfs"), ("squashfs",)),
    "squashfs-vendor-lzma": (
        (),
        lambda r, d: images.vendor_lzma_squashfs(r, d / "fs.sqfs", magic=b"shsq"),
        ("squashfs",),
    ),
    "squashfs-3.0-be-vendor-lzma": ((), _squashfs3, ("squashfs",)),
    "ext": (("mkfs.ext4", "debugfs"), lambda r, d: images.ext4(r, d / "fs.ext4"), ("ext",)),
    "cramfs": (
        ("mkfs.cramfs", "fsck.cramfs"),
        lambda r, d: images.cramfs(r, d / "fs.cramfs"),
        ("cramfs",),
    ),
    "jffs2": (
        ("mkfs.jffs2", "jefferson"),
        lambda r, d: images.jffs2(r, d / "fs.jffs2"),
        ("jffs2",),
    ),
    "ubi": (
        ("mkfs.ubifs", "ubinize", "ubireader_extract_files"),
        lambda r, d: images.ubi(r, d / "fs.ubi", d),
        ("ubi",),
    ),
    "cpio": ((), lambda r, d: images.cpio_newc(r, d / "initramfs.cpio"), ("cpio",)),
    "tar": ((), lambda r, d: images.tar(r, d / "rootfs.tar"), ("tar",)),
    "zip": ((), lambda r, d: images.zip_archive(r, d / "rootfs.zip"), ("zip",)),
    "gzip": (
        (),
        lambda r, d: images.tar(r, d / "rootfs.tar.gz", compression="gz"),
        ("gzip", "tar"),
    ),
    "xz": (
        (),
        lambda r, d: images.xz_file(images.cpio_newc(r, d / "a.cpio"), d / "a.cpio.xz"),
        ("xz", "cpio"),
    ),
    "lzma": ((), _lzma, ("lzma", "cpio")),
    "bzip2": ((), _bzip2, ("bzip2", "cpio")),
    "lz4": (
        ("lz4",),
        lambda r, d: images.compress_cli("lz4", images.tar(r, d / "a.tar")),
        ("lz4", "tar"),
    ),
    "zstd": (
        ("zstd",),
        lambda r, d: images.compress_cli("zstd", images.tar(r, d / "a.tar")),
        ("zstd", "tar"),
    ),
    "uimage": ((), _uimage, ("uimage", "cpio")),
    "trx": (("mksquashfs",), _trx, ("trx", "lzma", "squashfs")),
    "raw-flash-dump": ((), _flash, ("uimage", "lzma", "squashfs")),
}


def _build(name: str, rootfs: Path, folder: Path) -> Path:
    tools, builder, _ = CASES[name]
    for tool in tools:
        if tool in ("jefferson", "ubireader_extract_files"):
            _tools_venv(tool)
        else:
            images.require_tool(tool)
    folder.mkdir(exist_ok=True)
    return builder(rootfs, folder)


def _tools_venv(tool: str) -> None:
    unblob = find_unblob()
    if unblob is None or not (unblob.parent / tool).exists():
        reason = f"{tool} is not installed (./dev installs it next to unblob in .tools/unblob)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)


def assert_rootfs(result: ExtractionResult) -> Path:
    assert result.rootfs, result.problems
    best = result.rootfs[0]
    assert (best / "etc/passwd").read_text() == images.PASSWD
    assert images.BUSYBOX_BANNER in (best / "bin/busybox").read_bytes()
    assert result.workdir in best.parents
    return best


@pytest.mark.parametrize("name", sorted(CASES))
def test_extracts_down_to_the_rootfs(tmp_path: Path, rootfs: Path, name: str) -> None:
    image = _build(name, rootfs, tmp_path / "in")

    result = extract(image, tmp_path / "work")

    best = assert_rootfs(result)
    formats = [step.format for step in result.steps if step.error is None]
    assert formats[: len(CASES[name][2])] == list(CASES[name][2])
    sh = best / "bin/sh"
    if sh.is_symlink():  # zip keeps no links; the others must be made relative and inside
        assert not str(sh.readlink()).startswith("/")
        assert sh.resolve() == (best / "bin/busybox").resolve()


def test_every_builtin_handler_has_a_case() -> None:
    covered = {fmt for _, _, formats in CASES.values() for fmt in formats}
    assert {handler.name for handler in HANDLERS} <= covered


def test_vendor_lzma_image_reports_the_reader_and_variant(tmp_path: Path, rootfs: Path) -> None:
    image = images.vendor_lzma_squashfs(rootfs, tmp_path / "fs.sqfs")
    result = extract(image, tmp_path / "work")
    assert result.extractors == ("iotwarden-squashfs (lzma-props)",)
    assert result.rootfs == (tmp_path / "work/extracted/fs.sqfs_extract",)
    assert result.neutralised_links == 1  # bin/sh -> /bin/busybox
    assert (result.rootfs[0] / "bin/sh").readlink() == Path("busybox")


def test_a_directory_is_used_in_place(tmp_path: Path, rootfs: Path) -> None:
    result = extract(rootfs, tmp_path / "work")
    assert result.rootfs == (rootfs,)
    assert (rootfs / "bin/sh").readlink() == Path("/bin/busybox")  # never modified
    assert not (tmp_path / "work").exists()


def test_ranks_the_real_rootfs_first(tmp_path: Path, rootfs: Path) -> None:
    folder = tmp_path / "bundle"
    (folder / "recovery/etc").mkdir(parents=True)
    (folder / "recovery/bin").mkdir()
    shutil.copytree(rootfs, folder / "main", symlinks=True)
    archive = images.tar(folder, tmp_path / "bundle.tar")

    result = extract(archive, tmp_path / "work")

    assert [path.name for path in result.rootfs] == ["main", "recovery"]


def test_observer_sees_steps_progress_and_problems(tmp_path: Path, rootfs: Path) -> None:
    image = images.tar(rootfs, tmp_path / "rootfs.tar", compression="gz")
    observed = ObserverLog()

    result = extract(image, tmp_path / "work", observer=observed)

    assert [step.format for step in observed.steps] == ["gzip", "tar"]
    assert observed.events[-1][0] == "progress" or observed.problems
    files, written = observed.last_progress
    assert files >= 10 and written >= len(images.PASSWD)
    assert observed.problems == list(result.problems)


class ObserverLog:
    """Records what an extraction reported."""

    def __init__(self) -> None:
        self.steps: list[ExtractionStep] = []
        self.problems: list[str] = []
        self.events: list[tuple[str, object]] = []
        self.last_progress = (0, 0)

    def step_started(self, step: ExtractionStep) -> None:
        self.steps.append(step)
        self.events.append(("step", step))

    def progress(self, files: int, bytes_written: int) -> None:
        self.last_progress = (files, bytes_written)
        self.events.append(("progress", (files, bytes_written)))

    def problem(self, message: str) -> None:
        self.problems.append(message)
        self.events.append(("problem", message))


@pytest.fixture
def with_unblob(monkeypatch: pytest.MonkeyPatch) -> None:
    if find_unblob() is None:
        reason = "unblob is not installed (./dev test installs it in .tools/unblob)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    monkeypatch.setenv("IOTWARDEN_USE_UNBLOB", "1")


@pytest.mark.usefixtures("with_unblob")
def test_unblob_extracts_a_vendor_lzma_flash_dump_through_our_sasquatch(
    tmp_path: Path, rootfs: Path
) -> None:
    squash = images.vendor_lzma_squashfs(rootfs, tmp_path / "a.sqfs")
    image = _write(
        tmp_path / "flash.bin", images.raw_flash_dump(images.fake_kernel(), squash.read_bytes())
    )

    result = extract(image, tmp_path / "work")

    assert_rootfs(result)
    assert "unblob" in result.extractors
    assert any(step.format == "squashfs_v4_le" and step.error is None for step in result.steps)


@pytest.mark.usefixtures("with_unblob")
def test_what_unblob_cannot_open_goes_to_the_builtin_handlers(tmp_path: Path, rootfs: Path) -> None:
    # A flash dump (so it needs carving: unblob's job) whose rootfs is a .tar.gz, which unblob
    # cannot open here without 7z.
    archive = images.tar(rootfs, tmp_path / "rootfs.tar.gz", compression="gz")
    image = _write(
        tmp_path / "flash.bin", images.raw_flash_dump(images.fake_kernel(), archive.read_bytes())
    )
    result = extract(image, tmp_path / "work")
    assert_rootfs(result)
    assert result.extractors[0] == "unblob"


@pytest.mark.usefixtures("with_unblob")
def test_a_whole_squashfs_skips_unblob(tmp_path: Path, rootfs: Path) -> None:
    """One container filling the file needs no carving: the built-in handler opens it
    directly (unblob's start-up and scan cost seconds)."""
    image = images.squashfs(rootfs, tmp_path / "root.sqfs", compression="gzip")
    result = extract(image, tmp_path / "work")
    assert_rootfs(result)
    assert "unblob" not in result.extractors
