"""One app process's worth of experts claiming and submitting (for tests/test_cross_process.py).

    python -m tests.claim_worker URL CAMPAIGN_ID THREADS USERNAME...

Each thread takes usernames in turn and, for each, claims and answers until nothing is left for
them; every answer is printed as `answered RESPONSE_ID USERNAME ITEM_ID` right after its commit,
so a parent that kills this process knows exactly which answers were confirmed.
"""

from __future__ import annotations

import random
import sys
import threading
from datetime import UTC, datetime

from core import assign, db, responses, users
from core.errors import Conflict

_print_lock = threading.Lock()
_failures: list[BaseException] = []


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def work(conn: db.Connection, campaign_id: int, names: list[str]) -> None:
    try:
        answer_all(conn, campaign_id, names)
    except BaseException as error:
        _failures.append(error)
        raise


def answer_all(conn: db.Connection, campaign_id: int, names: list[str]) -> None:
    for name in names:
        user = users.get_user(conn, name)
        while True:
            claim = assign.claim_next(conn, user, campaign_id, now(), random.Random())
            if claim.assignment is None:
                break
            try:
                receipt = responses.submit(conn, user, claim.assignment.item_id,
                                           {"label": "positive"}, claim.assignment.spec_version,
                                           now())
            except Conflict:
                continue  # the place went to someone else meanwhile: claim again
            with _print_lock:
                print(f"answered {receipt.response_id} {name} {claim.assignment.item_id}",
                      flush=True)


def main() -> None:
    url, campaign_id, threads, *names = sys.argv[1:]
    conn = db.connect(url, pool_size=int(threads) + 1)
    count = int(threads)
    shares = [names[i::count] for i in range(count)]
    workers = [threading.Thread(target=work, args=(conn, int(campaign_id), share))
               for share in shares]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if _failures:
        sys.exit(1)  # the threads printed their tracebacks
    print("done", flush=True)


if __name__ == "__main__":
    main()
