"""The whole deployment on 127.0.0.1: PostgreSQL, N Quorum replicas and HAProxy in front.

    python -m deploy.local --replicas 2 --port 8080      # then open http://127.0.0.1:8080

For trying the scale-out shape on one machine, and for the tests and benchmarks that need it.
Everything it starts lives in a temp folder and stops with Ctrl-C. Needs Debian's `postgresql`
and `haproxy` packages (`apt-get install postgresql haproxy`). See docs/DEPLOY.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from deploy import local_postgres

ROOT = Path(__file__).resolve().parent.parent
HAPROXY_CONFIG = Path(__file__).resolve().parent / "haproxy.cfg"
START_TIMEOUT = 90


@dataclass
class Replica:
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Deployment:
    """What `start` brought up; `stop` ends it all."""
    folder: Path
    database: local_postgres.LocalPostgres
    database_url: str
    env: dict[str, str]
    replicas: list[Replica] = field(default_factory=list)
    balancer: subprocess.Popen | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_replica(self) -> Replica:
        """Start one more app process on the shared database (not yet behind the balancer)."""
        port = local_postgres.free_port()
        log = self.folder / f"replica-{port}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "quorum.py", "--server.port", str(port),
                 "--server.address", "127.0.0.1", "--server.headless", "true"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        replica = Replica(port, process, log)
        self.replicas.append(replica)
        return replica

    def kill_replica(self, index: int) -> None:
        """End one replica at once, as a crash would (kill -9)."""
        self.replicas[index].process.kill()
        self.replicas[index].process.wait()

    def stop(self) -> None:
        processes = [r.process for r in self.replicas]
        if self.balancer is not None:
            processes.append(self.balancer)
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.database.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def start(replicas: int = 2, port: int | None = None, extra_env: dict[str, str] | None = None
          ) -> Deployment:
    """PostgreSQL, `replicas` app processes sharing it and their keys, HAProxy on `port`."""
    if shutil.which("haproxy") is None:
        raise RuntimeError("HAProxy is not installed: apt-get install haproxy")
    folder = Path(tempfile.mkdtemp(prefix="quorum-deploy-"))
    database = local_postgres.start()
    database_url = database.url("postgres")
    env = {**os.environ, **(extra_env or {}), "QUORUM_DATABASE_URL": database_url,
           # Every replica checks the cookies of Streamlit's own sign-in (st.login) alike; and
           # the demo's generated passwords are written to this deployment's folder.
           "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_urlsafe(48),
           "QUORUM_DB": str(folder / "quorum.duckdb"), "QUORUM_TRUSTED_PROXY": "1"}
    deployment = Deployment(folder, database, database_url, env,
                            port=port or local_postgres.free_port())
    try:
        # The first replica migrates and loads the demo before the others start on it.
        first = deployment.add_replica()
        wait_healthy(first)
        for _ in range(replicas - 1):
            deployment.add_replica()
        for replica in deployment.replicas[1:]:
            wait_healthy(replica)
        deployment.balancer = _start_balancer(deployment)
        _wait_url(deployment.url + "/_stcore/health", deployment.balancer,
                  folder / "haproxy.log")
    except BaseException:
        deployment.stop()
        raise
    return deployment


def _start_balancer(deployment: Deployment) -> subprocess.Popen:
    servers = "\n".join(
        f"    server replica{n} 127.0.0.1:{r.port} check inter 2s cookie replica{n}"
        for n, r in enumerate(deployment.replicas, start=1))
    config = Template(HAPROXY_CONFIG.read_text()).substitute(
        BIND=f"127.0.0.1:{deployment.port}", SERVERS=servers)
    path = deployment.folder / "haproxy.cfg"
    path.write_text(config)
    log = (deployment.folder / "haproxy.log").open("w")
    return subprocess.Popen(["haproxy", "-db", "-f", str(path)], stdout=log,
                            stderr=subprocess.STDOUT)


def wait_healthy(replica: Replica) -> None:
    """Wait until a replica answers its health check (it has migrated and is serving)."""
    _wait_url(replica.url + "/_stcore/health", replica.process, replica.log)


def _wait_url(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}:\n"
                               f"{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not healthy after {START_TIMEOUT} s:\n{log.read_text()[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    deployment = start(args.replicas, args.port)
    print(f"Quorum: {deployment.url}  ({args.replicas} replicas, database "
          f"{deployment.database_url})", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, SystemExit):
        deployment.stop()


if __name__ == "__main__":
    main()
