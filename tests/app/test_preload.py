"""The viewer reads its model on a thread before the window is built
(app.jobs.preload_model); the task runner's model job takes that model, or
its error, once, and reads the files itself for anything else."""
from pathlib import Path

import pytest

from app import jobs
from core.errors import NoModelError
from core.progress import Progress

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "models" / "default"


def test_the_model_job_takes_the_preloaded_model_once():
    jobs.preload_model(SHIPPED)
    future = jobs._preloads[jobs._key(SHIPPED)]
    first, _ = jobs.load_model(Path(str(SHIPPED) + "/"), Progress(), lambda _: None)  # same folder, spelt otherwise
    again, _ = jobs.load_model(SHIPPED, Progress(), lambda _: None)
    assert first is future.result()[0]              # the preload's model, not a second read
    assert first.weights_sha256 == again.weights_sha256
    assert first.model is not again.model           # the second load read the files again
    assert jobs._key(SHIPPED) not in jobs._preloads


def test_a_preload_error_is_the_model_jobs_error(tmp_path):
    missing = tmp_path / "no-model-here"
    jobs.preload_model(missing)
    with pytest.raises(NoModelError):
        jobs.load_model(missing, Progress(), lambda _: None)


def test_a_preload_of_another_folder_is_not_taken(tmp_path):
    jobs.preload_model(tmp_path / "other")
    loaded, _ = jobs.load_model(SHIPPED, Progress(), lambda _: None)
    assert loaded.directory == SHIPPED
    jobs._preloads.clear()
