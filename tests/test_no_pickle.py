"""Nothing is ever unpickled: a static scan of every Python file we ship or test.

Unpickling runs code chosen by whoever wrote the file, so a model or scan
that reaches ``pickle``, ``torch.load`` (without ``weights_only=True``) or
``np.load(allow_pickle=True)`` is a way into the clinician's machine. The
scan uses the ``ast`` module, so strings and comments that merely mention
these names (like the snippets below) are not flagged.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("core", "app", "tests", "bench")
# modules whose whole purpose is (un)pickling
BANNED_MODULES = {"pickle", "_pickle", "cPickle", "cloudpickle", "joblib", "dill", "shelve"}
BANNED_CALLS = {"loads", "load", "Unpickler"}          # as attributes of a banned module
PANDAS_PICKLE = {"read_pickle"}


def _root_name(node: ast.AST) -> str | None:
    """'torch' for torch.load, 'np' for np.load, None for obj().load."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


_DYNAMIC = object()


def _keyword(call: ast.Call, name: str):
    """The keyword's literal value; None when absent; _DYNAMIC when it is not
    a literal or a ``**kwargs`` could set it."""
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value.value if isinstance(kw.value, ast.Constant) else _DYNAMIC
    return _DYNAMIC if any(kw.arg is None for kw in call.keywords) else None


def scan_source(source: str, filename: str = "<snippet>") -> list[str]:
    """Every unpickling route in ``source``, as 'file:line: what'."""
    tree = ast.parse(source, filename=filename)
    found = []

    def flag(node, what):
        found.append(f"{filename}:{node.lineno}: {what}")

    # which local names stand for numpy and torch (import numpy as np, etc.)
    numpy_names, torch_names = {"numpy", "np"}, {"torch"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                top = a.name.split(".")[0]
                if top in BANNED_MODULES:
                    flag(node, f"import {a.name}")
                if top == "numpy":
                    numpy_names.add(a.asname or "numpy")
                if top == "torch":
                    torch_names.add(a.asname or "torch")
        elif isinstance(node, ast.ImportFrom):
            top = (node.module or "").split(".")[0]
            if top in BANNED_MODULES:
                flag(node, f"from {node.module} import ...")
            names = {a.name for a in node.names}
            if top == "torch" and "load" in names:
                flag(node, "from torch import load (use torch.load(..., weights_only=True))")
            if top == "pandas" and names & PANDAS_PICKLE:
                flag(node, "from pandas import read_pickle")

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if (isinstance(f, ast.Name) and f.id == "__import__") or (
                isinstance(f, ast.Attribute) and f.attr == "import_module"):
            if node.args and isinstance(node.args[0], ast.Constant) and \
                    str(node.args[0].value).split(".")[0] in BANNED_MODULES:
                flag(node, f"dynamic import of {node.args[0].value}")
        if not isinstance(f, ast.Attribute):
            continue
        root = _root_name(f.value)
        if root in BANNED_MODULES and f.attr in BANNED_CALLS:
            flag(node, f"{root}.{f.attr}(...)")
        elif f.attr == "load" and root in torch_names:
            if _keyword(node, "weights_only") is not True:
                flag(node, "torch.load without weights_only=True")
        elif f.attr == "load" and root in numpy_names:
            if _keyword(node, "allow_pickle") not in (None, False):
                flag(node, "np.load with allow_pickle")
        elif f.attr in PANDAS_PICKLE:
            flag(node, f"{f.attr}(...)")
    return found


def python_files() -> list[Path]:
    files = []
    for d in SCANNED:
        if (ROOT / d).is_dir():
            files.extend(p for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts)
    return sorted(files)


def test_no_unpickling_anywhere():
    files = python_files()
    assert len(files) > 20, "the scan found suspiciously few files"
    assert ROOT / "core" / "model_store.py" in files
    problems = []
    for p in files:
        problems += scan_source(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))
    assert not problems, "unpickling routes found:\n" + "\n".join(problems)


@pytest.mark.parametrize("snippet", [
    "import pickle",
    "import pickle as pk\npk.loads(b'')",
    "from pickle import loads",
    "import _pickle",
    "import joblib\njoblib.load('m.pkl')",
    "from joblib import load",
    "import cloudpickle",
    "import dill",
    "import shelve\nshelve.open('db')",
    "import torch\ntorch.load('w.pt')",
    "import torch\ntorch.load('w.pt', weights_only=False)",
    "import torch\ntorch.load('w.pt', **opts)",
    "import torch as T\nT.load('w.pt')",
    "from torch import load",
    "import numpy as np\nnp.load('a.npy', allow_pickle=True)",
    "import numpy\nnumpy.load('a.npz', allow_pickle=flag)",
    "import pandas as pd\npd.read_pickle('x')",
    "__import__('pickle')",
    "import importlib\nimportlib.import_module('dill')",
    "def f():\n    import pickle\n    return pickle.loads(b'')",
], ids=lambda s: s.replace("\n", "; ")[:40])
def test_scanner_flags_bad_snippet(snippet):
    assert scan_source(snippet), f"not flagged: {snippet!r}"


@pytest.mark.parametrize("snippet", [
    "import torch\ntorch.load('w.pt', weights_only=True)",
    "import numpy as np\nnp.load('a.npz', allow_pickle=False)",
    "import numpy as np\nnp.load('a.npy')",
    "from safetensors.torch import load_file\nload_file('w.safetensors')",
    "import json\njson.loads('{}')",
    "s = 'import pickle'  # a string is not an import",
], ids=lambda s: s.replace("\n", "; ")[:40])
def test_scanner_passes_safe_snippet(snippet):
    assert scan_source(snippet) == []
