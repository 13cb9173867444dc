"""``pip install .`` (not ``-e``) works: the wheel carries the models, the
icons and the sample scans, and ``octguard predict`` runs from a folder
outside the repository.

Slow (it builds a ~50 MB wheel): ``python -m pytest tests/test_wheel.py -m slow``.
Nothing is downloaded: the wheel is built without build isolation and
installed with ``--no-deps --no-index`` into a fresh venv that sees this
Python's packages (torch, Qt, ...) through a .pth path line. That is
``--system-site-packages`` without running the system site's .pth files,
one of which would put an editable checkout of OCTGuard ahead of the wheel.
"""
from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _run(*cmd, cwd, env=None, timeout=900) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"{cmd}: {r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    return r


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", tmp / "dist", ROOT, cwd=tmp)
    wheel = next((tmp / "dist").glob("octguard-*.whl"))
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", wheel, cwd=tmp)
    # after the install, so pip never meets the outer (editable) octguard
    purelib = Path(_run(py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                        cwd=tmp).stdout.strip())
    (purelib / "_outer_site.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(OMP_NUM_THREADS="1", XDG_CONFIG_HOME=str(tmp / "config"), HOME=str(tmp))
    return env_dir, env


def test_the_wheel_has_its_data_and_is_the_code_that_runs(installed, tmp_path):
    env_dir, env = installed
    code = ("import core, app, models, resources, json; from core.package_data import *; "
            "print(json.dumps([core.__file__, str(default_model_dir()), str(resources_dir())]))")
    files = json.loads(_run(env_dir / "bin" / "python", "-c", code, cwd=tmp_path, env=env).stdout)
    for f in files:
        assert Path(f).resolve().is_relative_to(env_dir.resolve()), f   # not the checkout
    model, res = Path(files[1]), Path(files[2])
    assert (model / "weights.safetensors").is_file() and (model / "manifest.json").is_file()
    assert (res / "octguard.png").is_file() and (res / "theme_dark.qss").is_file()
    assert (res / "samples" / "samples.json").is_file()


def test_installed_octguard_predicts_a_sample_outside_the_repository(installed, tmp_path):
    env_dir, env = installed
    octguard = env_dir / "bin" / "octguard"
    r = _run(octguard, "--help", cwd=tmp_path, env=env)
    assert "view" in r.stdout and "smoke" in r.stdout
    _run(octguard, "samples", "scans", cwd=tmp_path, env=env)
    index = json.loads((tmp_path / "scans" / "samples.json").read_text())
    first = index["files"][0]
    r = _run(octguard, "predict", Path("scans") / first["file"], "--json", cwd=tmp_path, env=env)
    rec = json.loads(r.stdout)
    assert rec["ok"] and rec["model"]["name"] and len(rec["frames"]) == 1
    assert set(rec["frames"][0]["probabilities"]) == {"CNV", "DME", "DRUSEN", "NORMAL"}
