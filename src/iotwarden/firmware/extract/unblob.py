"""unblob (MIT) as a subprocess: carving and the many formats it knows.

unblob lives in its own virtualenv (``./dev`` creates ``.tools/unblob``); it is found through
``IOTWARDEN_UNBLOB``, that path, or PATH. Its SquashFS handlers call ``sasquatch``, which no
package registry provides: we put a ``sasquatch`` stand-in first on its PATH that runs stock
unsquashfs and then our own reader (:mod:`.squashfs`). Chunks unblob fails to open (a missing
7z, say) are handed back to the built-in handlers.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from iotwarden.firmware.extract.interface import ExtractionLimits, ExtractionStep
from iotwarden.firmware.extract.sandbox import Budget, run_tool

ENV_VARIABLE = "IOTWARDEN_UNBLOB"
#: Where ``./dev`` installs unblob, relative to the repository root (src layout).
TOOLS_VENV = Path(__file__).resolve().parents[4] / ".tools" / "unblob"


def find_unblob() -> Path | None:
    """The unblob executable, or None when it is not installed."""
    configured = os.environ.get(ENV_VARIABLE)
    if configured:
        path = Path(configured)
        return path if path.is_file() else None
    bundled = TOOLS_VENV / "bin" / "unblob"
    if bundled.is_file():
        return bundled
    found = shutil.which("unblob")
    return Path(found) if found else None


def tools_bin() -> Path:
    """Directory of unblob's companion tools (jefferson, ubireader) in its virtualenv."""
    tool = find_unblob()
    return tool.parent if tool is not None else TOOLS_VENV / "bin"


def write_shims(directory: Path) -> Path:
    """``sasquatch`` and ``sasquatch-v4be`` stand-ins that run our SquashFS entry point."""
    directory.mkdir(parents=True, exist_ok=True)
    script = f'#!/bin/sh\nexec "{sys.executable}" -m iotwarden.firmware.extract.squashfs "$@"\n'
    for name in ("sasquatch", "sasquatch-v4be"):
        path = directory / name
        path.write_text(script)
        path.chmod(0o755)
    return directory


def run_unblob(
    tool: Path,
    image: Path,
    out: Path,
    workdir: Path,
    limits: ExtractionLimits,
    budget: Budget,
    deadline: float,
    send: Callable[..., None],
) -> tuple[int, list[Path]]:
    """Runs unblob on ``image`` into ``out``. Returns (chunks recognised, chunk files unblob
    could not open, carved out for the built-in handlers)."""
    private = workdir / ".unblob"
    shims = write_shims(private / "shims")
    report = private / "report.json"
    path = os.pathsep.join([str(shims), str(tool.parent), os.environ.get("PATH", "/usr/bin:/bin")])
    args = [
        str(tool), "--extract-dir", str(out), "--depth", str(max(limits.max_depth, 1)),
        "--process-num", "1", "--report", str(report), "--log", str(private / "unblob.log"),
        str(image),
    ]  # fmt: skip
    send("step", ExtractionStep("firmware", image, 0, "unblob", out))
    done = run_tool(
        args,
        watch=out,
        budget=budget,
        timeout_s=max(deadline - time.monotonic(), 1.0),
        env=dict(os.environ, PATH=path),
    )
    if not report.is_file():
        send("problem", f"unblob exited with {done.returncode} without a report")
        return 0, []
    try:
        tasks = json.loads(report.read_text())
    except ValueError:
        send("problem", "unblob's report is not JSON")
        return 0, []
    found = 0
    retry: list[Path] = []
    for task, chunk in _chunks(tasks):
        source = Path(task["path"])
        errors = [
            _describe(item)
            for item in chunk.get("extraction_reports", [])
            if item.get("severity") == "ERROR"
        ]
        start, end = int(chunk["start_offset"]), int(chunk["end_offset"])
        # The input's chunks go under the extract dir, nested files' next to the file.
        base = source.parent if out in source.parents else out
        output = _output_dir(base / f"{source.name}_extract", start, end, chunk["handler_name"])
        step = ExtractionStep(
            format=chunk["handler_name"], source=source, offset=start, extractor="unblob",
            output=output, depth=int(task.get("depth", 0)), length=end - start,
            error="; ".join(errors) or None,
        )  # fmt: skip
        send("step", step)
        found += 1
        if errors:
            retry.append(_carve_chunk(source, base, start, end, chunk["handler_name"], budget))
    return found, retry


def _chunks(tasks: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for task in sorted(tasks, key=lambda t: (t["task"].get("depth", 0), t["task"]["path"])):
        for item in task.get("reports", []):
            if item.get("__typename__") == "ChunkReport":
                yield task["task"], item


def _describe(item: dict[str, Any]) -> str:
    if item.get("dependencies"):
        return "missing " + ", ".join(item["dependencies"])
    for key in ("message", "stderr", "reason"):
        if item.get(key):
            return str(item[key])[:200]
    return str(item.get("__typename__", "error"))


def _output_dir(base: Path, start: int, end: int, handler: str) -> Path | None:
    for candidate in (base / f"{start}-{end}.{handler}_extract", base):
        if candidate.is_dir() and any(candidate.iterdir()):
            return candidate
    return None


def _carve_chunk(
    source: Path, base: Path, start: int, end: int, handler: str, budget: Budget
) -> Path:
    target = base / f"{source.name}_extract" / f"{start}-{end}.{handler}"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as reader, target.open("xb") as writer:
        reader.seek(start)
        remaining = end - start
        while remaining > 0:
            chunk = reader.read(min(remaining, 1 << 20))
            if not chunk:
                break
            writer.write(chunk)
            budget.add_bytes(len(chunk))
            remaining -= len(chunk)
    return target
