"""Time the export of every answer through the HTTP API into a pandas DataFrame.

    python -m bench.generate --db /tmp/bq/quorum.duckdb      # 3,000,000 answers
    cp /tmp/bq/quorum.duckdb /tmp/bq/api.duckdb
    python -m bench.api_export --db /tmp/bq/api.duckdb --repeat 3

Starts `streamlit run quorum.py` on the database, then times the Python client's
`answers(None)` (GET /api/v1/answers?format=parquet, all campaigns, as an admin): the server's
COPY to Parquet, the streamed transfer and `pandas.read_parquet`, end to end.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from pathlib import Path

import pandas as pd

from bench.api_common import admin_token, running_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a DuckDB file or PostgreSQL URL")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from quorum_client import Client

    _, secret = admin_token(args.db)
    key = "QUORUM_DATABASE_URL" if args.db.startswith("postgres") else "QUORUM_DB"
    env = {key: args.db, "QUORUM_EMPTY": "1", "QUORUM_QUALITY_EVERY_SECONDS": "0",
           "QUORUM_WEBHOOK_EVERY_SECONDS": "0"}
    with running_app(env, Path(args.db).with_suffix(".log") if key == "QUORUM_DB"
                     else Path("/tmp/api_export.log")) as url:
        q = Client(url, secret, timeout=600)
        for run in range(args.repeat):
            started = time.perf_counter()
            frame = q.answers(None)
            took = time.perf_counter() - started
            # The same request again, split: the server's export and transfer, then parsing.
            began = time.perf_counter()
            body = q._request("GET", "/answers", params={"format": "parquet"}).content
            fetched = time.perf_counter() - began
            began = time.perf_counter()
            pd.read_parquet(io.BytesIO(body))
            parsed = time.perf_counter() - began
            print(f"run {run + 1}: {len(frame):,} answers × {frame.shape[1]} columns into a "
                  f"DataFrame in {took:.2f} s (GET {fetched:.2f} s for {len(body) / 1e6:.0f} MB"
                  f" of Parquet, read_parquet {parsed:.2f} s); load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
