"""Precision and recall of an analysis against what the corpus generator planted.

Components are matched on (name, exact version): a component reported with the wrong version
is both a miss (the planted one was not found) and a false positive. Findings are matched on
(id, path); findings of severity 'info' and those the expected file leaves unjudged are not
counted either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from iotwarden.firmware.model import Finding, IdentifiedComponent, Severity
from tests.firmware.corpus.generator import Expected


@dataclass(frozen=True)
class Score:
    """What was expected, what was reported, and what matched."""

    expected: frozenset[Any]
    reported: frozenset[Any]

    @property
    def matched(self) -> frozenset[Any]:
        return self.expected & self.reported

    @property
    def missed(self) -> list[Any]:
        return sorted(self.expected - self.reported, key=str)

    @property
    def unexpected(self) -> list[Any]:
        return sorted(self.reported - self.expected, key=str)

    @property
    def recall(self) -> float:
        return len(self.matched) / len(self.expected) if self.expected else 1.0

    @property
    def precision(self) -> float:
        return len(self.matched) / len(self.reported) if self.reported else 1.0


def component_score(expected: Expected, components: Iterable[IdentifiedComponent]) -> Score:
    return Score(
        frozenset(c.key for c in expected.components),
        frozenset((c.name, c.version) for c in components),
    )


def judged_findings(expected: Expected, findings: Iterable[Finding]) -> list[Finding]:
    """The findings that count: not 'info', not left unjudged by the expected file."""
    return [
        f for f in findings if f.severity is not Severity.INFO and expected.judged(f.id, f.path)
    ]


def finding_score(expected: Expected, findings: Iterable[Finding]) -> Score:
    return Score(
        frozenset(f.key for f in expected.findings),
        frozenset((f.id, f.path) for f in judged_findings(expected, findings)),
    )


def total(scores: Sequence[tuple[str, Score]]) -> Score:
    """One score over several images (each key prefixed with its image's name)."""
    return Score(
        frozenset((name, key) for name, s in scores for key in s.expected),
        frozenset((name, key) for name, s in scores for key in s.reported),
    )


def table(rows: Sequence[tuple[str, str, Score, Score]]) -> str:
    """A small plain-text table: per image (name, container, components, findings), then the
    corpus totals."""
    header = (
        f"{'image':<20} {'container':<46} {'comp exp/found/ok':>17} {'recall':>7} "
        f"{'prec':>6} {'find exp/ok/extra':>17} {'recall':>7} {'prec':>6}"
    )
    lines = [header, "-" * len(header)]

    def line(name: str, container: str, c: Score, f: Score) -> str:
        counts_c = f"{len(c.expected)}/{len(c.reported)}/{len(c.matched)}"
        counts_f = f"{len(f.expected)}/{len(f.matched)}/{len(f.unexpected)}"
        return (
            f"{name:<20} {container[:46]:<46} {counts_c:>17} {c.recall:>7.1%} "
            f"{c.precision:>6.1%} {counts_f:>17} {f.recall:>7.1%} {f.precision:>6.1%}"
        )

    for name, container, components, findings in rows:
        lines.append(line(name, container, components, findings))
    lines.append("-" * len(header))
    lines.append(
        line(
            "corpus",
            f"{len(rows)} images",
            total([(r[0], r[2]) for r in rows]),
            total([(r[0], r[3]) for r in rows]),
        )
    )
    for name, _, components, findings in rows:
        for what, items in (
            ("component missed", components.missed),
            ("component not planted", components.unexpected),
            ("finding missed", findings.missed),
            ("finding not planted", findings.unexpected),
        ):
            lines += [f"  {name}: {what}: {item}" for item in items]
    return "\n".join(lines)
