"""Shared fixtures. Scan-related ones first; others may append below."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus.make_corpus import CORPUS


@pytest.fixture
def corpus() -> Path:
    """The folder of small nasty files (tests/corpus)."""
    return CORPUS


@pytest.fixture
def file_guard():
    """Call with paths before loading; call ``.check()`` after: fails if any
    file's bytes or modification time changed."""
    class Guard:
        def __init__(self):
            self.before: dict[Path, tuple[bytes, int]] = {}

        def __call__(self, *paths):
            for p in paths:
                p = Path(p)
                self.before[p] = (p.read_bytes(), p.stat().st_mtime_ns)

        def check(self):
            for p, (data, mtime) in self.before.items():
                assert p.read_bytes() == data, f"{p.name} was modified"
                assert p.stat().st_mtime_ns == mtime, f"{p.name} mtime changed"
    return Guard()


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory) -> Path:
    """One small phantom per class plus a 4-frame OPT DICOM, written once per session."""
    from core.phantoms import write_samples
    folder = tmp_path_factory.mktemp("phantoms")
    write_samples(folder, n=1, height=96, width=128, volume_frames=4)
    return folder
