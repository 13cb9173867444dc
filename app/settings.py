"""User settings as JSON in the platformdirs config folder.

``OCTGUARD_CONFIG_DIR`` overrides the folder (tests point it at tmp_path).
Writes go through a temp file and a rename so a crash never leaves a half
written file; an unreadable file falls back to defaults instead of failing.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from core.atomic import atomic_write_bytes

MAX_RECENT = 10


def config_dir() -> Path:
    override = os.environ.get("OCTGUARD_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs
    return Path(platformdirs.user_config_dir("octguard", appauthor=False))


def cache_dir() -> Path:
    override = os.environ.get("OCTGUARD_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs
    return Path(platformdirs.user_cache_dir("octguard", appauthor=False))


@dataclass
class Settings:
    model_dir: str | None = None          # None: core.model_store.DEFAULT_MODEL_DIR
    threshold_override: float | None = None
    theme: str = "dark"
    recent_files: list[str] = field(default_factory=list)

    @classmethod
    def path(cls) -> Path:
        return config_dir() / "settings.json"

    @classmethod
    def load(cls) -> "Settings":
        try:
            raw = json.loads(cls.path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(raw, dict):
            return cls()
        s = cls()
        known = {f.name for f in fields(cls)}
        for k, v in raw.items():
            if k in known:
                setattr(s, k, v)
        # a hand-edited file must not break the viewer
        if s.theme not in ("dark", "light"):
            s.theme = "dark"
        if not isinstance(s.recent_files, list):
            s.recent_files = []
        s.recent_files = [str(p) for p in s.recent_files][:MAX_RECENT]
        if s.threshold_override is not None:
            try:
                s.threshold_override = float(s.threshold_override)
            except (TypeError, ValueError):
                s.threshold_override = None
        return s

    def save(self) -> None:
        atomic_write_bytes(self.path(), json.dumps(asdict(self), indent=2).encode("utf-8"))

    def add_recent(self, path: str | Path) -> None:
        p = str(Path(path).resolve())
        self.recent_files = [p] + [r for r in self.recent_files if r != p]
        del self.recent_files[MAX_RECENT:]
