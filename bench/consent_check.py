"""Throughput and latency of the consent check API under gunicorn, beside a trivial view.

Starts gunicorn on loopback (sync workers, as in the README's production command) on a
throwaway copy of the database DATABASE_URL names (SQLite in a temporary file otherwise), then
drives `GET /api/v1/consent/check?user=<id>&purpose=<key>` with `Authorization: Service <token>`
from BENCH_CLIENTS concurrent client threads for BENCH_SECONDS (or BENCH_MAX_REQUESTS
requests, whichever comes first), and the same for `/bench/trivial`, a view that does nothing
behind the same gunicorn and middleware stack (bench/support/: a settings module adding that
one URL; nothing in the product changes). Prints requests per second, p50 and p99 latency.
Figures, not assertions. Targets: at least half the trivial view's throughput, p99 under 20 ms.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 2)))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", str(2 * WORKERS)))
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
MAX_REQUESTS = int(os.environ.get("BENCH_MAX_REQUESTS", "50000"))
WARMUP_SECONDS = 1.0
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 10.0
# Database connections kept between requests, as a production deployment would configure.
CONN_MAX_AGE = "60"
TRIVIAL_PATH = "/bench/trivial"
CHECK_PATH = "/api/v1/consent/check"
TARGET_RATIO, TARGET_P99_MS = 0.5, 20.0


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    elapsed: float = 0.0

    def add(self, other: Run) -> None:
        self.latencies += other.latencies
        self.statuses.update(other.statuses)
        self.errors += other.errors


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request_once(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    # Gunicorn's sync workers close the connection after each response: one per request.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def drive(port: int, path: str, headers: dict[str, str], seconds: float, limit: int) -> Run:
    """CLIENTS threads request `path` until `seconds` pass or `limit` requests are sent."""
    deadline = time.perf_counter() + seconds
    sent = 0
    lock = threading.Lock()

    def client() -> Run:
        nonlocal sent
        run = Run()
        while time.perf_counter() < deadline:
            with lock:
                if sent >= limit:
                    break
                sent += 1
            start = time.perf_counter()
            try:
                status, _body = request_once(port, path, headers)
            except OSError:
                run.errors += 1
                continue
            run.latencies.append(time.perf_counter() - start)
            run.statuses[status] += 1
        return run

    total = Run()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        for run in pool.map(lambda _i: client(), range(CLIENTS)):
            total.add(run)
    total.elapsed = time.perf_counter() - started
    return total


def report(label: str, run: Run) -> tuple[float, float]:
    ms = sorted(v * 1000 for v in run.latencies)
    if not ms:
        print(f"{connection.vendor:10} {label:14} no response ({run.errors} errors)")
        return 0.0, float("inf")
    ok = sum(n for status, n in run.statuses.items() if status == 200)
    rps = ok / run.elapsed
    p50, p99 = statistics.median(ms), ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    other = {s: n for s, n in run.statuses.items() if s != 200}
    print(
        f"{connection.vendor:10} {label:14} {rps:8.0f} req/s   p50 {p50:6.2f} ms   "
        f"p99 {p99:6.2f} ms   ({len(ms)} requests"
        + (f", non-200: {other}" if other else "")
        + (f", {run.errors} connection errors" if run.errors else "")
        + ")"
    )
    return rps, p99


def populate() -> tuple[int, str, str]:
    """A user who gave consent to one purpose, and a service token allowed to ask."""
    from accounts.models import User
    from consent import ledger
    from consent.models import Decision, Method, Purpose, ServiceToken

    user = User.objects.create_user(email="bench@example.org", password="bench-password-1")
    purpose = Purpose.objects.create(
        key="bench-analytics",
        name="Bench analytics",
        description="A purpose for the benchmark.",
        legal_basis="consent",
        is_optional=True,
    )
    ledger.consent_record(
        subject_key=ledger.user_subject_key(user.pk),
        purpose=purpose,
        decision=Decision.GIVEN,
        method=Method.CONSENT_CENTER,
    )
    # The check API's contract: the SHA-256 hex of the secret, the consent:check scope.
    secret = "svc_" + secrets.token_urlsafe(32)
    ServiceToken.objects.create(
        name="bench",
        prefix=secret[:10],
        key_hash=hashlib.sha256(secret.encode()).hexdigest(),
        scopes=["consent:check"],
    )
    return user.pk, purpose.key, secret


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def start_gunicorn(port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "bench" / "support"), str(ROOT)]),
        "DATABASE_URL": database_url(),
        "DATABASE_CONN_MAX_AGE": CONN_MAX_AGE,
        "DEBUG": "false",
        # The throttle still runs (its cost is part of the figure) but never refuses here.
        "API_THROTTLE_CONSENT_CHECK": "100000000/min",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(WORKERS),
                "--backlog",
                "256",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_until_serving(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-2000:]}")
        try:
            if request_once(port, TRIVIAL_PATH, {})[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {START_TIMEOUT:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(port: int, user_id: int, purpose_key: str, secret: str) -> None:
    check_path = f"{CHECK_PATH}?user={user_id}&purpose={purpose_key}"
    check_headers = {"Authorization": f"Service {secret}"}
    status, body = request_once(port, check_path, check_headers)
    if status == 404 and not body.lstrip().startswith(b"{"):
        print(
            f"{connection.vendor:10} {CHECK_PATH} answers 404: the consent check API is not "
            "there yet; only the floor is measured."
        )
        check_path = ""
    elif status != 200:
        print(f"{connection.vendor:10} the consent check answered {status}: {body[:200]!r}")
        return
    for path, headers in ((TRIVIAL_PATH, {}), (check_path, check_headers)):
        if path:
            drive(port, path, headers, WARMUP_SECONDS, MAX_REQUESTS)  # every worker warmed up
    floor = drive(port, TRIVIAL_PATH, {}, SECONDS, MAX_REQUESTS)
    floor_rps, _floor_p99 = report("trivial view", floor)
    if not check_path:
        return
    check = drive(port, check_path, check_headers, SECONDS, MAX_REQUESTS)
    check_rps, check_p99 = report("consent check", check)
    ratio = check_rps / floor_rps if floor_rps else 0.0
    print(
        f"{connection.vendor:10} check/trivial throughput {ratio:5.0%} "
        f"(target >= {TARGET_RATIO:.0%}: {'met' if ratio >= TARGET_RATIO else 'NOT met'}), "
        f"check p99 {check_p99:.2f} ms "
        f"(target < {TARGET_P99_MS:.0f} ms: {'met' if check_p99 < TARGET_P99_MS else 'NOT met'})"
        f"   [{WORKERS} sync workers, {CLIENTS} clients, cache: "
        f"{'Redis' if os.environ.get('REDIS_URL') else 'per-process memory'}]"
    )


def run(workdir: Path) -> None:
    proc = None
    try:
        user_id, purpose_key, secret = populate()
        connection.close()
        port = free_port()
        log = workdir / "gunicorn.log"
        proc = start_gunicorn(port, log)
        wait_until_serving(proc, port, log)
        measure(port, user_id, purpose_key, secret)
    finally:
        if proc is not None:
            stop(proc)


def main() -> None:
    setup_test_environment(debug=False)
    with tempfile.TemporaryDirectory(prefix="bench-consent-check-") as workdir:
        if connection.vendor == "sqlite":
            # A file, not the in-memory default: gunicorn's workers are other processes.
            connection.settings_dict["TEST"]["NAME"] = str(Path(workdir) / "bench.sqlite3")
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            run(Path(workdir))
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
