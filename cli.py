"""Quorum's command line: `python cli.py --help`."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from core import db, io, quality, users
from core.errors import DomainError
from server import settings

DB_HELP = ("a DuckDB file or a postgresql:// URL "
           "(default: $QUORUM_DATABASE_URL, else $QUORUM_DB or data/)")


def reset(args: argparse.Namespace) -> int:
    """Delete the database so the next start creates it anew (with the demo unless empty)."""
    s = settings.load()
    if s.database_url and not args.db:
        print("error: Quorum runs on PostgreSQL here (QUORUM_DATABASE_URL); reset deletes a "
              "DuckDB file. Drop and create the PostgreSQL database instead.", file=sys.stderr)
        return 2
    path = Path(args.db or s.db_path)
    removed = [p for p in (path, path.with_name(path.name + ".wal")) if p.exists()]
    if not args.yes:
        answer = input(f"Delete {path} and everything in it? [y/N] ")
        if answer.strip().lower() != "y":
            print("Nothing deleted.")
            return 1
    if path.exists():
        db.connect(path).close()  # refuses, in a sentence, while the app holds the file
    for p in removed:
        p.unlink()
    print(f"Deleted {path}." if removed else f"No database at {path}; nothing to delete.")
    return 0


def _open(args: argparse.Namespace):
    s = settings.load()
    conn = db.connect(args.db or settings.database(s))
    return conn, users.get_user(conn, args.user)


def import_items(args: argparse.Namespace) -> int:
    """Import items into a campaign from a CSV, JSON Lines or Parquet file, all or nothing."""
    conn, actor = _open(args)
    fields = dict(pair.split("=", 1) for pair in args.map)
    report = io.import_items(conn, actor, args.campaign, args.file,
                             io.Mapping(fields, args.id, args.gold), settings.now(), args.format,
                             settings.load().import_limits)
    print(f"Imported {report.imported:,} items into campaign {args.campaign}.")
    return 0


def export(args: argparse.Namespace) -> int:
    """Export a campaign's (or every campaign's) answers or items to a file."""
    conn, actor = _open(args)
    campaign = None if args.campaign == "all" else int(args.campaign)
    fmt = args.format or io.file_format(args.out)
    rows = io.export(conn, actor, args.what, campaign, args.out, fmt)
    print(f"Wrote {rows:,} {args.what} to {args.out}.")
    return 0


def recompute_quality(args: argparse.Namespace) -> int:
    """Recompute labels, agreement and expert quality for one campaign or all of them."""
    conn = db.connect(args.db or settings.database(settings.load()))
    ids = [args.campaign] if args.campaign else [
        r[0] for r in conn.execute("SELECT id FROM campaigns ORDER BY id").fetchall()]
    for campaign_id in ids:
        quality.refresh(conn, campaign_id, settings.now())
    print(f"Recomputed quality for {len(ids)} campaign(s).")
    return 0


def set_password(args: argparse.Namespace) -> int:
    """Give an account a new password (typed twice, not echoed); ends all its sessions."""
    conn = db.connect(args.db or settings.database(settings.load()))
    password = getpass.getpass(f"New password for {args.user}: ")
    if getpass.getpass("Repeat it: ") != password:
        print("error: the two passwords differ; nothing changed.", file=sys.stderr)
        return 2
    users.set_password(conn, args.user, password, settings.now(), settings.load().bcrypt_rounds)
    print(f"Set a new password for {args.user} and signed them out everywhere.")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python cli.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    reset_cmd = commands.add_parser("reset", help="delete the database (demo reloads on start)")
    reset_cmd.add_argument("--db", help="DuckDB file (default: $QUORUM_DB or data/)")
    reset_cmd.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reset_cmd.set_defaults(run=reset)

    imp = commands.add_parser("import", help="import items into a campaign (all or nothing)")
    imp.add_argument("--campaign", type=int, required=True, help="campaign number")
    imp.add_argument("--file", required=True, help=".csv, .jsonl or .parquet file")
    imp.add_argument("--map", nargs="+", required=True, metavar="FIELD=COLUMN",
                     help="payload field from file column, e.g. text=review_body")
    imp.add_argument("--id", help="column holding each item's external id")
    imp.add_argument("--gold", help="column holding gold answers")
    imp.set_defaults(run=import_items)

    exp = commands.add_parser("export", help="export answers or items")
    exp.add_argument("--campaign", required=True, help="campaign number, or 'all' (admins)")
    exp.add_argument("--what", choices=["answers", "items", "revolt"], default="answers",
                     help="revolt: team campaigns' votes, explanations, concepts, final labels")
    exp.add_argument("--out", required=True, help="output file (.csv, .jsonl or .parquet)")
    for command in (imp, exp):
        command.add_argument("--format", choices=io.EXPORT_FORMATS,
                             help="file format (default: from the file name)")
        command.add_argument("--user", required=True,
                             help="act as this account (the campaign's owner or an admin)")
        command.add_argument("--db", help=DB_HELP)
    exp.set_defaults(run=export)

    qual = commands.add_parser("quality", help="recompute labels, agreement and quality scores")
    qual.add_argument("--campaign", type=int, help="one campaign (default: all)")
    qual.add_argument("--db", help=DB_HELP)
    qual.set_defaults(run=recompute_quality)

    pw = commands.add_parser("set-password", help="give an account a new password (operators)")
    pw.add_argument("--user", required=True, help="the account's username")
    pw.add_argument("--db", help=DB_HELP)
    pw.set_defaults(run=set_password)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except DomainError as error:
        print(f"error: {error}", file=sys.stderr)
        for where, what in getattr(error, "problems", {}).items():
            print(f"  {where}: {what}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
