"""The extraction entry point: runs the format handlers (unblob, or the built-in ones) in a
child process under time, size, ratio, depth and file-count limits, then neutralises links
and ranks the root filesystems found.

The child is a new session (its tools die with it on timeout), cannot create device nodes
(CAP_MKNOD is dropped from its bounding set when running as root) and cannot write one file
larger than the size limit (RLIMIT_FSIZE).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import queue
import resource
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

from iotwarden.firmware.extract import formats, unblob
from iotwarden.firmware.extract.formats import Context, Hit, Kind
from iotwarden.firmware.extract.interface import (
    ExtractionError,
    ExtractionLimits,
    ExtractionObserver,
    ExtractionResult,
    ExtractionStep,
    FormatError,
    LimitExceeded,
    NullObserver,
)
from iotwarden.firmware.extract.rootfs import find_rootfs
from iotwarden.firmware.extract.sandbox import Budget, is_inside, neutralise_tree

OUTPUT_DIR = "extracted"
#: Set to '0' to ignore an installed unblob and use only the built-in handlers.
UNBLOB_SWITCH = "IOTWARDEN_USE_UNBLOB"


def extract(
    image: Path,
    workdir: Path,
    *,
    limits: ExtractionLimits = ExtractionLimits(),  # noqa: B008 - frozen, shared safely
    observer: ExtractionObserver | None = None,
) -> ExtractionResult:
    """Extracts ``image`` (a file in any supported format, a ``.tar``/``.zip`` of a rootfs,
    or an already extracted directory) under ``workdir`` and finds its root filesystems.

    Raises ExtractionError naming the input when it is missing, empty or holds nothing we
    recognise; anything partial (truncated containers, limits hit, timeouts) is returned with
    ``problems`` instead."""
    observer = observer or NullObserver()
    image = Path(image)
    workdir = Path(workdir)
    if image.is_symlink() and not image.exists():
        raise ExtractionError(f"{image}: dangling symbolic link")
    if not image.exists():
        raise ExtractionError(f"{image}: no such file or directory")
    if image.is_dir():
        return _directory_result(image, workdir)
    size = image.stat().st_size
    if size == 0:
        raise ExtractionError(f"{image}: the file is empty (0 bytes)")
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / OUTPUT_DIR
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    outcome = _run_child(image.resolve(), workdir.resolve(), limits, observer)
    return _finish(image, workdir.resolve(), outcome, observer)


def _directory_result(image: Path, workdir: Path) -> ExtractionResult:
    # Used in place, never copied or modified: analysis must not follow its symlinks.
    ranked = find_rootfs([image])
    rootfs = ranked if ranked else (image,)
    step = ExtractionStep("directory", image, 0, "none", image)
    problems = () if ranked else (f"{image}: no etc/ with bin/, sbin/, usr/ or lib/ found",)
    return ExtractionResult(image, workdir, rootfs, (step,), problems, 0)


# --------------------------------------------------------------------------------------------
# Parent side


class _Outcome:
    def __init__(self) -> None:
        self.steps: list[ExtractionStep] = []
        self.problems: list[str] = []
        self.fatal: str | None = None
        self.recognised = 0


def _run_child(
    image: Path, workdir: Path, limits: ExtractionLimits, observer: ExtractionObserver
) -> _Outcome:
    context = multiprocessing.get_context("spawn")
    messages: Queue[tuple[Any, ...]] = context.Queue()
    child = context.Process(
        target=_child_main, args=(image, workdir, limits, messages), daemon=True
    )
    outcome = _Outcome()
    deadline = time.monotonic() + limits.timeout_s
    child.start()
    finished = False
    try:
        while not finished:
            left = deadline - time.monotonic()
            if left <= 0:
                outcome.problems.append(
                    f"extraction stopped after the {limits.timeout_s:g} s time limit; "
                    "results are partial"
                )
                break
            try:
                message = messages.get(timeout=min(left, 0.5))
            except queue.Empty:
                if not child.is_alive():
                    with contextlib.suppress(queue.Empty):
                        while True:
                            finished |= _dispatch(messages.get(timeout=0.2), outcome, observer)
                    if not finished:
                        outcome.problems.append(
                            f"the extraction process died (exit code {child.exitcode})"
                        )
                    break
                continue
            finished = _dispatch(message, outcome, observer)
    finally:
        _stop(child)
        messages.close()
    return outcome


def _dispatch(message: tuple[Any, ...], outcome: _Outcome, observer: ExtractionObserver) -> bool:
    kind = message[0]
    if kind == "step":
        outcome.steps.append(message[1])
        observer.step_started(message[1])
    elif kind == "progress":
        observer.progress(message[1], message[2])
    elif kind == "problem":
        outcome.problems.append(message[1])
        observer.problem(message[1])
    elif kind == "done":
        outcome.fatal = message[1]
        outcome.recognised = message[2]
        return True
    return False


def _stop(child: multiprocessing.process.BaseProcess) -> None:
    if child.pid is not None and child.is_alive():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)  # the child leads its own session
        child.join(5)
    child.join(1)


def _finish(
    image: Path, workdir: Path, outcome: _Outcome, observer: ExtractionObserver
) -> ExtractionResult:
    out = workdir / OUTPUT_DIR
    if outcome.fatal is not None and outcome.recognised == 0:
        shutil.rmtree(out, ignore_errors=True)
        raise ExtractionError(f"{image}: {outcome.fatal}")
    problems = list(outcome.problems)
    ranked = find_rootfs([out])
    roots = sorted(
        {*ranked, *(s.output for s in outcome.steps if s.output is not None)},
        key=lambda p: len(p.parts),
        reverse=True,
    )

    def link_root(link: Path) -> Path:
        return next((root for root in roots if is_inside(link, root)), out)

    neutralised = neutralise_tree(out, link_root, problems)
    if neutralised:
        problems.append(f"{neutralised} symbolic links neutralised (absolute targets made "
                        "relative to their filesystem, links leaving it removed)")  # fmt: skip
    for message in problems[len(outcome.problems) :]:
        observer.problem(message)
    return ExtractionResult(
        image=image,
        workdir=workdir,
        rootfs=find_rootfs([out]),
        steps=tuple(outcome.steps),
        problems=tuple(problems),
        neutralised_links=neutralised,
    )


# --------------------------------------------------------------------------------------------
# Child side


def _child_main(
    image: Path, workdir: Path, limits: ExtractionLimits, messages: Queue[tuple[Any, ...]]
) -> None:
    os.setsid()
    _confine(limits)
    send: Callable[..., None] = lambda *message: messages.put(message)  # noqa: E731
    run = _ChildRun(image, workdir, limits, send)
    fatal: str | None = None
    try:
        run.run()
    except LimitExceeded as e:
        send("problem", f"stopped: {e}; results are partial")
    except ExtractionError as e:
        fatal = str(e)
    except Exception as e:  # noqa: BLE001 - reported to the parent, never a silent crash
        fatal = f"extraction failed unexpectedly: {type(e).__name__}: {e}"
    if fatal is None and run.recognised == 0:
        fatal = "no firmware format recognised (not an image, archive or filesystem we know)"
    run.budget.flush()
    send("done", fatal, run.recognised)
    messages.close()
    messages.join_thread()


def _confine(limits: ExtractionLimits) -> None:
    """Best effort, never fatal: no device nodes from any tool, no file over the limit."""
    with contextlib.suppress(ValueError, OSError):
        cap = resource.RLIM_INFINITY if limits.max_total_bytes <= 0 else limits.max_total_bytes
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))
    if os.geteuid() == 0 and sys.platform == "linux":
        pr_capbset_drop, cap_mknod = 24, 27
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(pr_capbset_drop, cap_mknod, 0, 0, 0)


class _ChildRun:
    """One extraction inside the child process."""

    def __init__(
        self,
        image: Path,
        workdir: Path,
        limits: ExtractionLimits,
        send: Callable[..., None],
    ) -> None:
        self.image = image
        self.out = workdir / OUTPUT_DIR
        self.workdir = workdir
        self.limits = limits
        self.send = send
        self.deadline = time.monotonic() + limits.timeout_s
        self.budget = Budget(limits, image.stat().st_size, lambda f, b: send("progress", f, b))
        self.problems: list[str] = []
        #: Containers recognised, opened or not (a truncated one is a result, not an error).
        self.recognised = 0

    def problem(self, message: str) -> None:
        self.send("problem", message)

    def run(self) -> None:
        tool = unblob.find_unblob() if os.environ.get(UNBLOB_SWITCH, "1") != "0" else None
        if tool is not None and not self._whole_known_container():
            found, retry = unblob.run_unblob(
                tool, self.image, self.out, self.workdir, self.limits, self.budget,
                self.deadline, self.send,
            )  # fmt: skip
            self.recognised += found
            for path in retry:  # what unblob could not open, the built-in handlers try
                self.file(path, path.parent, depth=1, in_filesystem=False)
            return
        self.file(self.image, self.out, depth=0, in_filesystem=False)

    def _whole_known_container(self) -> bool:
        """Is the image one container the built-in handlers recognise at offset 0 and that
        fills the file (a SquashFS, a tar, a uImage, ...)? Then unblob, whose start-up and
        carving pass cost seconds, has nothing to add: it is for images that need carving."""
        try:
            hits = formats.identify(self.image, carve=True)
        except OSError:
            return False
        return len(hits) == 1 and hits[0].offset == 0

    def context(self) -> Context:
        tools = os.pathsep.join(
            [str(unblob.tools_bin()), os.environ.get("PATH", "/usr/bin:/bin"), "/usr/sbin:/sbin"]
        )
        left = max(self.deadline - time.monotonic(), 1.0)
        problems: list[str] = []
        return Context(self.budget, problems, left, tools)

    def file(self, path: Path, out_parent: Path, *, depth: int, in_filesystem: bool) -> None:
        """Opens the containers found in ``path`` and then their contents, depth first.
        Inside a filesystem only filesystems and wrappers at offset 0 count (see identify)."""
        try:
            hits = formats.identify(path, carve=not in_filesystem, inside_filesystem=in_filesystem)
        except OSError as e:
            self.problem(f"cannot read {path.name}: {e.strerror}")
            return
        if not hits:
            return
        if depth > self.limits.max_depth:
            self.problem(
                f"{hits[0].format} in {path.name} not opened: nested deeper than "
                f"{self.limits.max_depth} levels (max_depth limit)"
            )
            return
        whole = len(hits) == 1 and hits[0].offset == 0
        for hit in hits:
            name = f"{path.name}_extract"
            out = out_parent / name if whole else out_parent / name / f"{hit.offset}.{hit.format}"
            self.open(path, hit, out, depth)

    def open(self, path: Path, hit: Hit, out: Path, depth: int) -> None:
        context = self.context()
        error = None
        try:
            extractor = formats.open_container(path, hit, out, context)
        except LimitExceeded as e:
            self.step(hit, path, "none", out, depth, str(e))
            raise
        except FormatError as e:
            extractor, error = "none", str(e)
        finally:
            for message in context.problems:
                self.problem(message)
        produced = out.exists() and any(out.iterdir())
        self.step(hit, path, extractor, out if produced else None, depth, error)
        if error is not None:
            self.problem(f"{hit.format} at offset {hit.offset} in {path.name}: {error}")
        if not produced:
            return
        kind = formats.BY_NAME[hit.format].kind
        for child in _regular_files(out):
            self.file(child, child.parent, depth=depth + 1, in_filesystem=kind == Kind.FILESYSTEM)

    def step(
        self, hit: Hit, path: Path, extractor: str, out: Path | None, depth: int, error: str | None
    ) -> None:
        self.recognised += 1
        self.send(
            "step",
            ExtractionStep(hit.format, path, hit.offset, extractor, out, depth, hit.length, error),
        )


def _regular_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                found.append(path)
    return found


def with_limits(limits: ExtractionLimits, **changes: Any) -> ExtractionLimits:
    """``limits`` with some fields changed (a convenience for callers and tests)."""
    return replace(limits, **changes)
