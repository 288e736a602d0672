"""The corpus, built once per test session under a temporary folder, and its analyses (run
in-process, once per image, against one temporary SQLite store)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from iotwarden.core.fleet import BuildRef, ProductRef
from iotwarden.firmware.analyze import AnalysisOptions, FirmwareAnalysis, analyze_image
from iotwarden.store.db import Store
from tests.firmware import images
from tests.firmware.corpus.generator import CorpusImage, build_corpus

#: Tools the generators call (``./dev test`` installs them).
TOOLS = ("gcc", "mksquashfs", "mkfs.jffs2", "mkfs.ext4")


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@dataclass(frozen=True)
class Corpus:
    directory: Path
    images: dict[str, CorpusImage]  # by profile
    not_built: dict[str, str]  # image file name -> why

    def image(self, profile: str) -> CorpusImage:
        """The image of ``profile``; skips the test (fails under CI) if it was not built."""
        if profile in self.images:
            return self.images[profile]
        reason = "; ".join(f"{n}: {r}" for n, r in self.not_built.items()) or "not built"
        if under_ci():
            pytest.fail(f"CI=true and the {profile} image was not built ({reason})")
        pytest.skip(f"the {profile} image was not built ({reason})")
        raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    for tool in TOOLS:
        images.require_tool(tool)
    directory = tmp_path_factory.mktemp("corpus")
    built, not_built = build_corpus(directory)
    if not_built and under_ci():
        pytest.fail(f"CI=true and corpus images could not be built: {not_built}")
    return Corpus(directory, {item.spec.profile: item for item in built}, not_built)


@pytest.fixture(scope="session")
def corpus_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('corpus-store') / 'store.db'}")
    yield store
    store.close()


@pytest.fixture(scope="session")
def analyses(corpus: Corpus, corpus_store: Store) -> dict[str, FirmwareAnalysis]:
    """Each built image analysed once (profile -> analysis), recorded as build 1.0 of a
    product named after its profile."""
    return {
        profile: analyze_image(
            item.image,
            store=corpus_store,
            options=AnalysisOptions(build=BuildRef(ProductRef("Corpus", profile), "1.0")),
        )
        for profile, item in corpus.images.items()
    }
