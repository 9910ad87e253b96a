"""What the HTTP API adds on top of the core call it makes: median and p95 per route.

    cp /tmp/bq/quorum.duckdb /tmp/bq/api.duckdb
    python -m bench.api_overhead --db /tmp/bq/api.duckdb -n 300

One process: the API app (`server.api.standalone`) under uvicorn in a thread, over the same
connection the direct calls use. For each route, `n` requests over one keep-alive connection
(httpx) and `n` direct calls of what the route runs (token look-up plus the core function),
alternating, so both see the same load.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import httpx

from bench.api_common import admin_token, free_port, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("-n", type=int, default=300)
    args = parser.parse_args()
    _, secret = admin_token(args.db)
    key = "QUORUM_DATABASE_URL" if args.db.startswith("postgres") else "QUORUM_DB"
    os.environ.update({key: args.db, "QUORUM_EMPTY": "1", "QUORUM_QUALITY_EVERY_SECONDS": "0",
                       "QUORUM_WEBHOOK_EVERY_SECONDS": "0",
                       "QUORUM_API_REQUESTS_PER_MINUTE": "0"})
    import uvicorn

    from core import campaigns, monitor, profile, tokens
    from server import api, runtime, settings

    conn = runtime.connection()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(api.standalone(), host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    campaign = int(conn.execute("SELECT min(id) FROM campaigns").fetchone()[0])

    def user():
        return tokens.authenticate(conn, secret, settings.now())

    def me():
        who = user()
        return profile.totals(conn, who), profile.campaigns_worked(conn, who, settings.now())

    def one_campaign():
        who = user()
        campaign_ = campaigns.get(conn, campaign)
        campaigns.require_owner(who, campaign_)
        return campaigns.spec(conn, campaign, campaign_.spec_version)

    routes = {
        "GET /me": ("/me", me),
        "GET /campaigns/{id}/progress": (f"/campaigns/{campaign}/progress",
                                         lambda: monitor.summary(conn, user(), campaign,
                                                                 settings.now())),
        "GET /campaigns/{id}": (f"/campaigns/{campaign}", one_campaign),
        "GET /campaigns (50 campaigns)": ("/campaigns", lambda: campaigns.overview(conn, user())),
    }
    print(f"load {os.getloadavg()[0]:.1f}; n = {args.n} per route")
    print("| route | core median ms | core p95 ms | HTTP median ms | HTTP p95 ms | "
          "overhead median ms | overhead p95 ms |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1",
                      headers={"Authorization": f"Bearer {secret}"}) as http:
        for name, (path, direct) in routes.items():
            core_times, http_times = [], []
            for _ in range(10):  # warm up both
                direct()
                http.get(path).raise_for_status()
            for _ in range(args.n):
                started = time.perf_counter()
                direct()
                core_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                http.get(path).raise_for_status()
                http_times.append(time.perf_counter() - started)
            (cm, cp), (hm, hp) = summary(core_times), summary(http_times)
            print(f"| {name} | {cm:.1f} | {cp:.1f} | {hm:.1f} | {hp:.1f} | {hm - cm:.1f} | "
                  f"{hp - cp:.1f} |")
    server.should_exit = True


if __name__ == "__main__":
    main()
