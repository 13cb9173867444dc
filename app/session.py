"""The viewer's state, without Qt: the model and its state, the open scan and
its result, the folder and the results found for it, the threshold override.

MainWindow draws this state and forwards user actions here. The rules about
what the state becomes (when analysis must wait for the model, which cached
result an opened scan gets, what a new threshold or model throws away) live
in this one place, and tests/app/test_session.py checks them without a
QApplication. The work itself is handed out as plain ``(progress, partial)``
callables for a task runner to run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Literal

from core.errors import NoModelError
from core.scan import Scan

from . import jobs
from .results import NOT_CLINICAL, result_text
from .settings import Settings

ModelState = Literal["loading", "ready", "none", "error"]
Job = Callable[..., object]          # (progress, partial) -> result, run by a TaskRunner


class ViewerSession:
    def __init__(self, settings: Settings, model_dir: str | Path | None = None):
        self.settings = settings
        self.model_dir = Path(model_dir) if model_dir else (
            Path(settings.model_dir) if settings.model_dir else None)
        self.model = None                  # core.model_store.LoadedModel
        self.analyzer = None               # core.analysis.Analyzer of self.model
        self.model_state: ModelState = "loading"
        self.model_message = ""
        self.scan: Scan | None = None
        self.result = None                 # core.analysis.ScanResult of self.scan
        self.folder_paths: list[Path] = []
        self.folder_results: dict[Path, object] = {}
        self.folder_title = ""
        self.analysis_pending = False      # a scan waits for the model
        self.folder_pending = False        # a folder waits for the model

    @property
    def threshold_override(self) -> float | None:
        return self.settings.threshold_override

    def is_settled(self) -> bool:
        """No model loading and no analysis waiting for one (the runner's own
        work is the window's to check)."""
        return self.model_state != "loading" and not self.analysis_pending

    # ------------------------------------------------------------- model
    def load_model_job(self) -> Job:
        self.model, self.analyzer = None, None
        self.model_state = "loading"
        directory = self.model_dir
        return lambda pr, part: jobs.load_model(directory, pr, part)

    def model_loaded(self, loaded, analyzer) -> None:
        self.model, self.analyzer = loaded, analyzer
        self.model_state = "ready"
        self.model_message = f"{loaded.name}: {loaded.provenance}"
        if loaded.gate is None:
            self.model_message += " (no detection gate)"

    def model_failed(self, exc: Exception) -> ModelState:
        """'none' when there is no model where it was looked for, else 'error'."""
        self.model, self.analyzer = None, None
        if isinstance(exc, NoModelError):
            self.model_state = "none"
            self.model_message = "No model loaded: predictions unavailable"
        else:
            self.model_state = "error"
            self.model_message = "No model loaded: the model could not be used"
        return self.model_state

    def model_settled(self) -> tuple[bool, bool]:
        """After a model loaded or failed: (analyse the open scan, start the
        waiting folder). Clears what it hands out."""
        analyse = self.scan is not None and (self.analysis_pending or self.result is None)
        folder = self.folder_pending
        self.analysis_pending = self.folder_pending = False
        return analyse, folder

    def set_model_dir(self, path: Path | None) -> None:
        self.model_dir = path
        self.settings.model_dir = None if path is None else str(path)
        self.result = None

    def set_threshold_override(self, value: float | None) -> None:
        """Results found under the old threshold no longer hold."""
        self.settings.threshold_override = value
        self.folder_results = {}

    def model_line(self) -> str:
        return self.model_message or "no model loaded"

    # -------------------------------------------------------------- scan
    def scan_opened(self, scan: Scan, path: Path):
        """-> the folder's cached result for ``path``, or None (then analyse)."""
        self.scan, self.result = scan, None
        self.settings.add_recent(path)
        return self.folder_results.get(Path(path))

    def analysis_request(self) -> Literal["no scan", "wait", "no model", "run"]:
        if self.scan is None:
            return "no scan"
        if self.model_state == "loading":
            self.analysis_pending = True
            return "wait"
        return "no model" if self.analyzer is None else "run"

    def analysis_job(self) -> tuple[Scan, Job]:
        """(the scan it analyses, the job); a result for any other scan is stale."""
        scan, analyzer, override = self.scan, self.analyzer, self.threshold_override
        return scan, lambda pr, part: jobs.analyze(analyzer, scan, override, pr, part)

    def set_result(self, result) -> None:
        self.result = result
        if self.scan is not None and self.scan.source is not None \
                and Path(self.scan.source) in self.folder_paths:
            self.folder_results[Path(self.scan.source)] = result

    def frame_index(self, frame: int) -> int | None:
        """The result frame shown for view frame ``frame``; None without a result."""
        if self.result is None or not self.result.frames:
            return None
        return min(max(frame, 0), len(self.result.frames) - 1)

    def frame_state(self, frame: int) -> str:
        """The report's badge: none, or the frame's core.verdict."""
        i = self.frame_index(frame)
        if i is None:
            return "none"
        return self.result.frames[i].verdict

    def result_text(self, frame: int) -> str | None:
        i = self.frame_index(frame)
        if self.scan is None or i is None:
            return None
        return result_text(self.scan.name, self.result, i, self.model_line())

    def report_body(self, frame: int) -> str:
        """The report's text; its footer carries the model and the clinical-use
        line, so the body leaves them out."""
        text = self.result_text(frame)
        if not text:
            return "No prediction: " + (self.model_message or "analysis not finished")
        return "\n\n".join(line for line in text.split("\n")[1:]
                           if not line.startswith("Model: ") and line != NOT_CLINICAL)

    # ------------------------------------------------------------ folder
    def open_folder_list(self, files: list[Path], title: str) -> bool:
        """A new folder (its old results dropped); True when it must wait for the model."""
        self.folder_paths = [Path(f) for f in files]
        self.folder_results = {}
        self.folder_title = title
        self.folder_pending = self.model_state == "loading"
        return self.folder_pending

    def folder_job(self) -> Job:
        paths, analyzer, override = list(self.folder_paths), self.analyzer, self.threshold_override
        return lambda pr, part: jobs.analyze_folder(paths, analyzer, override, pr, part)

    def folder_item(self, item: jobs.FolderItem) -> None:
        if item.result is not None:
            self.folder_results[item.path] = item.result

    # ------------------------------------------------------------- about
    def about_markdown(self) -> str:
        from core import __version__
        head = (f"# OCTGuard {__version__}\n\nRetinal OCT B-scan viewer with an adversarially "
                f"trained classifier and a detector that rejects manipulated or unfamiliar "
                f"inputs.\n\n**{NOT_CLINICAL}**\n\n")
        if self.model is None:
            return head + f"## Model\n\n{self.model_message or 'No model loaded.'}\n"
        card = Path(self.model.directory) / "MODEL_CARD.md"
        try:
            text = card.read_text(encoding="utf-8")
        except OSError:
            text = f"## Model\n\n{self.model_line()}\n\n(This model has no MODEL_CARD.md.)"
        return head + "---\n\n" + text
