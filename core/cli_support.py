"""What the ``octguard`` engine commands share: their exit codes, the one
line an error prints, and loading the model a command names (with a hint
when it names none). core.cli, core.cli_attack and ``octguard evaluate``
(core.evaluation.run) all use these, so their errors read alike."""
from __future__ import annotations

import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED_INPUT, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 2, 130


def err(msg: str, command: str | None = None) -> None:
    """``octguard[ COMMAND]: msg`` on stderr."""
    print(f"octguard{' ' + command if command else ''}: {msg}", file=sys.stderr)


def load_model(model_dir, require_gate: bool = False):
    """The model in ``model_dir`` (the shipped one when None), or None after
    saying why it cannot be loaded."""
    from .errors import ModelError
    from .model_store import DEFAULT_MODEL_DIR, load_model_dir

    path = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
    try:
        return load_model_dir(path, require_gate=require_gate)
    except ModelError as exc:
        hint = "" if model_dir else " (no --model given; train one with `octguard train` or pass --model DIR)"
        err(f"cannot load model: {exc}{hint}")
        return None
