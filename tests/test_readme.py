"""Docs do not drift: the README's quickstart names the real developer commands, and every
`$ iotwarden ...` example in it is run and its shown output compared with the real output.

The examples run in README order against one fresh SQLite store, as a reader would run them
(the first one ingests the bundled samples), from the project root so that the sample paths
resolve. Shown output is compared line by line after dropping table borders and extra spaces,
so that a change of column widths does not fail the test but a changed value does. A line
that is only ``...`` marks output left out; lines naming the README's own store URL are not
compared (the test uses its own store). An example whose command line ends in
``# exit status N`` must exit with N; every other example must exit with 0.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iotwarden.cli.app import app
from iotwarden.core import settings
from iotwarden.core.errors import IoTWardenError

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PROMPT = "$ iotwarden "
OMITTED = "..."
SAMPLES = "src/iotwarden/data/samples/advisories"
_EXIT_STATUS = re.compile(r"#\s*exit status (\d+)\s*$")
_STORE_EXPORT = re.compile(r"^\$ export IOTWARDEN_DB=(\S+)$")
_BOX_DRAWING = re.compile("[\u2500-\u257f]")


@dataclass(frozen=True)
class Block:
    """A fenced block: its info string, the README line of its first content line, its lines."""

    info: str
    line: int
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Example:
    line: int  # README line of the command, for messages and test ids
    command: str
    args: tuple[str, ...]
    status: int
    shown: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"L{self.line}:{' '.join(self.args)}"


def fenced_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = lines[index]
        if not opening.startswith("```"):
            index += 1
            continue
        body: list[str] = []
        index += 1
        start = index + 1
        while index < len(lines) and not lines[index].startswith("```"):
            body.append(lines[index])
            index += 1
        blocks.append(Block(opening[3:].strip(), start, tuple(body)))
        index += 1
    return blocks


def readme_examples(blocks: list[Block]) -> list[Example]:
    found: list[Example] = []
    for block in blocks:
        current: tuple[int, str] | None = None
        shown: list[str] = []
        for offset, text in enumerate([*block.lines, "$"]):  # a sentinel prompt ends the block
            if not text.startswith("$"):
                shown.append(text)
                continue
            if current is not None:
                found.append(_example(*current, tuple(shown)))
            current = (block.line + offset, text) if text.startswith(PROMPT) else None
            shown = []
    return found


def _example(line: int, command: str, shown: tuple[str, ...]) -> Example:
    status = _EXIT_STATUS.search(command)
    args = shlex.split(command[len(PROMPT) :], comments=True)
    return Example(line, command, tuple(args), int(status.group(1)) if status else 0, shown)


def normalised(line: str) -> str:
    return " ".join(_BOX_DRAWING.sub(" ", line).split())


def readme_store_url(blocks: list[Block]) -> str | None:
    for block in blocks:
        for text in block.lines:
            match = _STORE_EXPORT.match(text.strip())
            if match:
                return match.group(1)
    return None


def compared_lines(example: Example, store_url: str | None) -> list[str]:
    """The shown lines the real output must contain, in order."""
    kept = []
    for text in example.shown:
        if text.strip() == OMITTED or (store_url and store_url in text):
            continue
        line = normalised(text)
        if line:
            kept.append(line)
    return kept


def missing_lines(expected: list[str], output: str) -> list[str]:
    """Expected lines that do not appear, in order, among the real output's lines."""
    real = iter(normalised(line) for line in output.splitlines())
    missing = []
    for line in expected:
        if not any(candidate == line for candidate in real):
            missing.append(line)
            real = iter(normalised(line) for line in output.splitlines())  # report the rest too
    return missing


BLOCKS = fenced_blocks(README.read_text(encoding="utf-8"))
EXAMPLES = readme_examples(BLOCKS)


@dataclass(frozen=True)
class Run:
    status: int
    output: str


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, Run]]:
    """Every example, run once in README order against a fresh store."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('readme') / 'tour.db'}"
    # COLUMNS pins the table width even when pytest runs in a terminal (-s).
    env = {"IOTWARDEN_DB": db_url, "COLUMNS": "120"}
    runner = CliRunner()
    runs: dict[int, Run] = {}
    previous = Path.cwd()
    os.chdir(ROOT)
    try:
        for example in EXAMPLES:
            settings.reset()
            result = runner.invoke(app, list(example.args), env=env)
            status, output = result.exit_code, result.output
            if isinstance(result.exception, IoTWardenError):
                # What iotwarden.cli.app.main does with a library error.
                status, output = 2, f"{output}error: {result.exception}\n"
            elif result.exception is not None and not isinstance(result.exception, SystemExit):
                raise AssertionError(f"{example.command} crashed") from result.exception
            runs[example.line] = Run(status, output)
        yield runs
    finally:
        os.chdir(previous)
        settings.reset()


def test_quickstart_is_the_first_fenced_block() -> None:
    text = README.read_text(encoding="utf-8")
    before = text.split("```", 1)[0]
    title, description, *rest = [line for line in before.splitlines() if line.strip()]
    assert title.startswith("# IoT Warden")
    assert description and not description.startswith("#")
    assert rest == []
    first = BLOCKS[0]
    assert first.info == "bash"
    assert first.lines == ("./dev demo", "./dev test")


def test_quickstart_commands_exist_and_ci_runs_the_test_command() -> None:
    dev = ROOT / "dev"
    ci = ROOT / ".ci" / "run"
    assert dev.is_file() and os.access(dev, os.X_OK)
    script = dev.read_text(encoding="utf-8")
    assert "  demo) " in script and "  test) " in script
    assert ci.is_file() and os.access(ci, os.X_OK)
    commands = [line.strip() for line in ci.read_text(encoding="utf-8").splitlines()]
    assert any(re.fullmatch(r"(?:exec )?\./dev test", line) for line in commands)


def test_readme_tour_covers_the_intel_commands() -> None:
    commands = [example.args[:2] for example in EXAMPLES]
    for command in ("ingest", "show", "search", "stats"):
        assert ("intel", command) in commands
    # The tour starts by loading the samples, so that the examples after it have data.
    assert EXAMPLES[0].args == ("intel", "ingest", SAMPLES)
    assert (ROOT / SAMPLES).is_dir()
    assert any(example.status != 0 for example in EXAMPLES)  # exit statuses are shown too


def test_readme_names_its_store() -> None:
    url = readme_store_url(BLOCKS)
    assert url is not None and url.startswith("sqlite:///")


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_readme_example_output_is_real(example: Example, tour: dict[int, Run]) -> None:
    run = tour[example.line]
    assert run.status == example.status, f"{example.command}\n{run.output}"
    expected = compared_lines(example, readme_store_url(BLOCKS))
    assert expected, f"README line {example.line}: the example shows no output"
    missing = missing_lines(expected, run.output)
    assert not missing, (
        f"README line {example.line} ({example.command}) shows lines the command no longer "
        "prints; update the README:\n" + "\n".join(missing) + "\n--- real output ---\n" + run.output
    )


def test_readme_links_to_files_that_exist() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)\)", text)
    local = [t for t in targets if "://" not in t and not t.startswith("mailto:")]
    assert local
    for target in local:
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"


def test_matching_ignores_borders_and_widths_but_not_values() -> None:
    shown = "│ CVE-2014-0160 │ nvd    │ 7.5 HIGH │"
    assert missing_lines([normalised(shown)], "┃ CVE-2014-0160  ┃ nvd ┃  7.5 HIGH  ┃\n") == []
    assert missing_lines([normalised(shown)], "│ CVE-2014-0160 │ nvd │ 9.8 CRITICAL │\n") == [
        "CVE-2014-0160 nvd 7.5 HIGH"
    ]
    # order matters: a line shown after another must come after it
    assert missing_lines(["b", "a"], "a\nb\n") == ["a"]


def test_examples_are_split_at_prompts() -> None:
    blocks = fenced_blocks(
        "text\n```console\n$ export IOTWARDEN_DB=sqlite:////tmp/x.db\n"
        "$ iotwarden intel stats\nrow 1\n...\n"
        "$ iotwarden intel show 'CVE-1' --json  # exit status 2\nerror: x\n```\n"
    )
    found = readme_examples(blocks)
    assert [(e.line, e.args, e.status, e.shown) for e in found] == [
        (4, ("intel", "stats"), 0, ("row 1", "...")),
        (7, ("intel", "show", "CVE-1", "--json"), 2, ("error: x",)),
    ]
    assert readme_store_url(blocks) == "sqlite:////tmp/x.db"


def test_range_examples_in_the_advisories_doc_are_real() -> None:
    from iotwarden.core.versions import parse_range_text

    doc = ROOT / "docs" / "advisories.md"
    rows = [
        line
        for block in fenced_blocks(doc.read_text(encoding="utf-8"))
        for line in block.lines
        if " →  " in line
    ]
    assert len(rows) >= 6
    for row in rows:
        text, result = (part.strip() for part in row.split(" →  "))
        kind, _, shown = result.partition(" ")
        parsed = parse_range_text(text)
        assert parsed.kind.value == kind, row
        if shown.strip() == "(text kept verbatim)":
            assert parsed.vers is None and parsed.raw == text, row
        else:
            assert parsed.vers == shown.strip(), row
