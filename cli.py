"""Quorum's command line: `python cli.py --help`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ui import settings


def reset(args: argparse.Namespace) -> int:
    """Delete the database so the next start creates it anew (with the demo unless empty)."""
    path = Path(args.db or settings.load().db_path)
    removed = [p for p in (path, path.with_name(path.name + ".wal")) if p.exists()]
    if not args.yes:
        answer = input(f"Delete {path} and everything in it? [y/N] ")
        if answer.strip().lower() != "y":
            print("Nothing deleted.")
            return 1
    for p in removed:
        p.unlink()
    print(f"Deleted {path}." if removed else f"No database at {path}; nothing to delete.")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python cli.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    reset_cmd = commands.add_parser("reset", help="delete the database (demo reloads on start)")
    reset_cmd.add_argument("--db", help="database path (default: $QUORUM_DB or data/)")
    reset_cmd.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reset_cmd.set_defaults(run=reset)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
