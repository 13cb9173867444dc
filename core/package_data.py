"""Where the shipped files live: the ``models`` and ``resources`` packages,
found with importlib.resources. A source checkout, an installed wheel and the
PyInstaller bundle (whose frozen importer answers ``files()`` with a folder
in the bundle) all resolve them the same way, with no path arithmetic."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from .errors import OCTGuardError


def package_dir(package: str) -> Path:
    """The folder of a data package, as a real path: safetensors, numpy and
    Qt open files by name, so a zipped install cannot serve them."""
    root = files(package)
    if not isinstance(root, Path):
        raise OCTGuardError(f"the {package!r} data of OCTGuard are inside an archive ({root}); "
                            "install OCTGuard as plain files (pip install, not a zip)")
    return root


def models_dir() -> Path:
    """The shipped model directories (``default``, ``nt``, ...)."""
    return package_dir("models")


def default_model_dir() -> Path:
    return models_dir() / "default"


def resources_dir() -> Path:
    """Icons, themes and the real sample scans."""
    return package_dir("resources")
