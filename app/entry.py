"""The ``octguard`` console script: one argparse tree.

core.cli's parser holds the engine commands (predict, attack, samples, split,
train, fit-gate, evaluate, model-card); this adds ``view`` (the viewer,
app.main) and ``smoke`` (the headless self-test of an installed build,
app.smoke), so ``octguard --help`` lists them all. ``octguard [PATH...]``
with no command starts the viewer, as ``octguard view [PATH...]`` does. This
lives in app/ because core never imports the GUI; building the tree imports
neither torch nor Qt, so ``--help`` is instant.
"""
from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    from core.cli import build_parser as engine_parser, subcommands

    from . import main as viewer, smoke

    parser = engine_parser()
    sub = subcommands(parser)
    view = sub.add_parser("view", help="start the viewer (also: octguard [PATH...])",
                          description=viewer.DESCRIPTION)
    viewer.add_arguments(view)
    view.set_defaults(func=viewer.run_args)
    st = sub.add_parser("smoke", help="headless self-test of an installed build",
                        description=smoke.DESCRIPTION)
    smoke.add_arguments(st)
    st.set_defaults(func=smoke.run)
    return parser


def _with_command(argv: list[str], commands) -> list[str]:
    """No command given: the viewer. ``--smoke`` is the older spelling of ``smoke``."""
    if argv and argv[0] == "--smoke":
        return ["smoke", *argv[1:]]
    if argv and (argv[0] in commands or argv[0] in ("-h", "--help", "--version")):
        return argv
    return ["view", *argv]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    from core.cli import run, subcommands

    commands = subcommands(parser).choices
    given = argv
    argv = _with_command(argv, commands)
    if argv is not given and given and not given[0].startswith("-") and not Path(given[0]).exists():
        # `octguard predcit x.jpg` should not open a viewer on two missing files
        near = difflib.get_close_matches(given[0], list(commands), n=1)
        if near:
            parser.error(f"{given[0]!r} is neither a command nor a file; did you mean `octguard {near[0]}`?")
    args = parser.parse_args(argv)
    if args.command in ("view", "smoke"):
        return args.func(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
