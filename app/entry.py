"""The ``octguard`` console script.

``octguard predict|attack|samples|split|train|evaluate ...`` run the engine's
command line without loading Qt; ``octguard --smoke [--model DIR]`` is the
headless self-test of an installed build (app.smoke); anything else (no
arguments, ``view``, or paths) starts the viewer. This lives in app/ because core never imports the
GUI.
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--smoke" in argv:
        from app.smoke import main as smoke_main
        return smoke_main([a for a in argv if a != "--smoke"])
    from core.cli import COMMANDS

    if argv and (argv[0] in COMMANDS or argv[0] in ("-h", "--help")):
        from core.cli import main as cli_main
        return cli_main(argv)
    if argv and argv[0] == "view":
        argv = argv[1:]
    from app.main import run
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
