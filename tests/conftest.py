"""Shared fixtures. `make test` provides PostgreSQL and Redis (PORTAL_TEST_SERVICES=1); tests
marked `integration` also get a live Celery worker process and a real SMTP sink."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from config.celery import app as celery_app
from tests.factories import DEFAULT_PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent.parent
SERVICES = os.environ.get("PORTAL_TEST_SERVICES") == "1"


def pytest_sessionstart(session: pytest.Session) -> None:
    """The message catalogues as `make test` compiles them, for a plain `pytest` run too."""
    for catalogue in (ROOT / "locale").glob("*/LC_MESSAGES/*.po"):
        compiled = catalogue.with_suffix(".mo")
        if not compiled.exists() or compiled.stat().st_mtime < catalogue.stat().st_mtime:
            subprocess.run(
                [sys.executable, "manage.py", "compilemessages", "--ignore", ".venv", "-v0"],
                cwd=ROOT,
                check=True,
            )
            break


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SERVICES:
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(
            "CI=true: integration tests need `make test`'s services; never skipped"
        )
    skip = pytest.mark.skip(reason="needs PostgreSQL, Redis and a Celery worker: run `make test`")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fast_hasher_and_clean_cache(settings, request: pytest.FixtureRequest) -> Iterator[None]:
    # Argon2 stays the production hasher (a test checks it); MD5 keeps the suite fast.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Outside integration tests tasks run in-process; integration tests use the live worker.
    eager = "integration" not in request.keywords
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    cache.clear()
    yield
    celery_app.conf.task_always_eager = previous
    cache.clear()


@pytest.fixture
def production_policy(settings):  # type: ignore[no-untyped-def]
    """The outbound address policy as production has it (HTTPS only, no private addresses)."""
    settings.OUTBOUND_HTTPS_ONLY = True
    settings.OUTBOUND_PRIVATE_ADDRESSES = False
    settings.OUTBOUND_ALLOWED_HOSTS = []
    return settings


@pytest.fixture
def password() -> str:
    return DEFAULT_PASSWORD


@pytest.fixture
def user(db):  # type: ignore[no-untyped-def]
    return UserFactory()


@pytest.fixture
def user_client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """A real SMTP server on loopback that keeps every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        from email import message_from_bytes
        from email.policy import default

        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 30.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.messages


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


@contextlib.contextmanager
def start_worker(
    smtp_sink: SmtpSink,
    *,
    name: str = "pytest",
    queues: str | None = None,
    log_name: str = "test-worker.log",
) -> Iterator[subprocess.Popen]:
    """Run a real `celery worker` process on the test database, Redis and the SMTP sink until
    the block ends. `name` is the node name (a second worker needs its own); `queues` limits
    what it consumes (`-Q`). Tests may kill the process; it is terminated if still alive."""
    from django.db import connection

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_sink.port}",
        "PYTHONUNBUFFERED": "1",
    }
    node = f"{name}@{socket.gethostname()}"
    log = open(ROOT / "var" / log_name, "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
            "-n",
            node,
            *(["-Q", queues] if queues else []),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        # Ask this worker by name: another one already running would answer a broadcast.
        while not celery_app.control.ping(destination=[node], timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Celery worker did not start: see {log.name}")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, smtp_sink):  # type: ignore[no-untyped-def]
    """A real `celery worker` process on the test database, Redis and the SMTP sink."""
    if not SERVICES:
        pytest.skip("needs `make test`'s PostgreSQL and Redis")
    with start_worker(smtp_sink) as proc:
        yield proc
