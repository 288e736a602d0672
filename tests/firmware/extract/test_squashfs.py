"""The built-in SquashFS reader: standard compressors, vendor LZMA variants, bad images."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from iotwarden.firmware.extract.interface import ExtractionLimits, FormatError
from iotwarden.firmware.extract.sandbox import Budget
from iotwarden.firmware.extract.squashfs import SquashfsReader, extract_squashfs, main
from tests.firmware import images


def read_tree(root: Path) -> dict[str, str | bytes]:
    """Path -> content (files) or '-> target' (links), without following links."""
    tree: dict[str, str | bytes] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_symlink():
            tree[name] = "-> " + str(path.readlink())
        elif path.is_file():
            tree[name] = path.read_bytes()
    return tree


def run_reader(image: Path, out: Path) -> tuple[int, str, list[str]]:
    problems: list[str] = []
    budget = Budget(ExtractionLimits(), image.stat().st_size)
    written, variant = extract_squashfs(image, out, budget=budget, problems=problems)
    return written, variant, problems


@pytest.mark.parametrize(
    ("compression", "magic", "variant"),
    [
        ("gzip", b"hsqs", "gzip"),
        ("xz", b"hsqs", "xz"),
        ("lzma", b"hsqs", "lzma-alone"),
        ("lzma-vendor", b"hsqs", "lzma-props"),
        ("lzma-vendor", b"shsq", "lzma-props"),
        ("lzma-vendor", b"sqlz", "lzma-props"),
    ],
)
def test_reader_extracts_python_written_images(
    tmp_path: Path, rootfs: Path, compression: str, magic: bytes, variant: str
) -> None:
    image = tmp_path / "fs.sqfs"
    tree = images.tree_from_directory(rootfs)
    image.write_bytes(images.squashfs_from_tree(tree, compression=compression, magic=magic))

    written, used, problems = run_reader(image, tmp_path / "out")

    assert used == variant
    assert problems == []
    assert read_tree(tmp_path / "out") == read_tree(rootfs)
    assert written == len(list(rootfs.rglob("*")))


@pytest.mark.parametrize("compression", ["gzip", "xz", "lzma", "lz4", "zstd"])
def test_reader_extracts_mksquashfs_images_with_fragments(
    tmp_path: Path, rootfs: Path, compression: str
) -> None:
    images.require_tool("mksquashfs")
    (rootfs / "big.bin").write_bytes(bytes(range(256)) * 1500)  # several blocks and a tail
    image = images.squashfs(rootfs, tmp_path / "fs.sqfs", compression=compression)

    run_reader(image, tmp_path / "out")

    assert read_tree(tmp_path / "out") == read_tree(rootfs)


def test_stock_unsquashfs_rejects_the_vendor_image_and_the_reader_extracts_it(
    tmp_path: Path, rootfs: Path
) -> None:
    """Acceptance: a vendor-LZMA SquashFS image extracts."""
    stock = images.require_tool("unsquashfs")
    image = images.vendor_lzma_squashfs(rootfs, tmp_path / "vendor.sqfs")

    refused = subprocess.run(
        [stock, "-d", str(tmp_path / "stock"), str(image)], capture_output=True, check=False
    )
    assert refused.returncode != 0

    assert main(["-le", "-no-exit-code", "-f", "-d", str(tmp_path / "out"), str(image)]) == 0
    assert (tmp_path / "out/etc/passwd").read_text() == images.PASSWD


def test_device_nodes_are_recorded_not_created(tmp_path: Path) -> None:
    tree = images.Node(
        "dir",
        mode=0o755,
        children={
            "dev": images.Node(
                "dir", mode=0o755, children={"console": images.Node("chr", rdev=(5 << 8) | 1)}
            ),
            "etc": images.Node("dir", mode=0o755, children={"hosts": images.Node("file", b"x")}),
        },
    )
    image = tmp_path / "fs.sqfs"
    image.write_bytes(images.squashfs_from_tree(tree, compression="gzip"))

    _, _, problems = run_reader(image, tmp_path / "out")

    assert not (tmp_path / "out/dev/console").exists()
    assert not (tmp_path / "out/dev/console").is_symlink()
    assert problems == [
        "character device 'dev/console' not created (special files are never written)"
    ]
    assert (tmp_path / "out/etc/hosts").read_bytes() == b"x"


def test_truncated_image_says_so(tmp_path: Path, rootfs: Path) -> None:
    whole = images.squashfs_from_tree(images.tree_from_directory(rootfs), compression="gzip")
    image = tmp_path / "cut.sqfs"
    image.write_bytes(whole[: len(whole.rstrip(b"\0")) // 2])

    problems: list[str] = []
    try:
        extract_squashfs(
            image, tmp_path / "out", budget=Budget(ExtractionLimits(), 1), problems=problems
        )
    except FormatError as e:  # the tables live at the end: the root itself may be gone
        problems.append(str(e))
    assert problems[0].startswith("SquashFS in cut.sqfs at 0 is truncated:")
    assert "image truncated: needs bytes up to" in problems[-1]


def test_lzo_is_left_to_unsquashfs_with_a_clear_message(tmp_path: Path, rootfs: Path) -> None:
    images.require_tool("mksquashfs")
    image = images.squashfs(rootfs, tmp_path / "fs.sqfs", compression="lzo")
    with pytest.raises(FormatError, match="LZO-compressed SquashFS needs unsquashfs"):
        SquashfsReader(image)


def test_a_broken_squashfs_3_superblock_is_named_not_misread(tmp_path: Path) -> None:
    header = bytearray(128)
    header[0:4] = b"sqsh"
    header[28:32] = bytes([0, 3, 0, 1])  # big-endian 3.1, every other field zero
    image = tmp_path / "old.sqfs"
    image.write_bytes(bytes(header) + bytes(4000))
    with pytest.raises(
        FormatError, match=r"SquashFS 3\.1 \(big-endian, magic 'sqsh'\): block size 0 is not"
    ):
        SquashfsReader(image)


def test_shim_prefers_stock_unsquashfs(tmp_path: Path, rootfs: Path) -> None:
    if shutil.which("unsquashfs") is None:
        pytest.skip("unsquashfs not installed")
    image = images.squashfs(rootfs, tmp_path / "fs.sqfs")
    assert main(["-d", str(tmp_path / "out"), str(image)]) == 0
    assert (tmp_path / "out/bin/sh").readlink() == Path("/bin/busybox")
