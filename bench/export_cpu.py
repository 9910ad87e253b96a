"""One export of every answer: wall time, this process's CPU and the PostgreSQL server's CPU.

    python -m bench.export_cpu --database postgresql://postgres@127.0.0.1:55432/run \\
        [--format parquet]

On a shared machine the CPU figures say what an export costs, the wall time what waiting for
the cores adds. The server must run on this machine (its CPU is read from /proc; other clients
of the same server are counted too).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from core import db, io, users


def server_cpu() -> float:
    """CPU seconds used so far by this machine's postgres processes."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"postgres" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15])  # utime, stime, and of waited children
        except OSError:
            pass
    return total / tick


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a generated workspace")
    parser.add_argument("--format", default="parquet", choices=io.EXPORT_FORMATS)
    args = parser.parse_args(argv)
    conn = db.connect(args.database)
    admin = users.get_user(conn, conn.execute(
        "SELECT u.username FROM users u JOIN user_roles r ON r.user_id = u.id "
        "WHERE r.role = 'admin' ORDER BY u.id LIMIT 1").fetchone()[0])
    with tempfile.TemporaryDirectory() as folder:
        server, mine, start = server_cpu(), own_cpu(), time.perf_counter()
        rows = io.export(conn, admin, "answers", None, Path(folder) / f"out.{args.format}",
                         args.format)
        wall, mine, server = (time.perf_counter() - start, own_cpu() - mine,
                              server_cpu() - server)
    conn.close()
    print(f"{rows:,} answers to {args.format}: wall {wall:.1f} s, this process's CPU "
          f"{mine:.1f} s, PostgreSQL server CPU {server:.1f} s")


if __name__ == "__main__":
    main()
