"""Incident fan-out rate: notices per second with one worker.

BENCH_FANOUT_USERS accounts (5,000 by default) with verified addresses receive one security
incident notice: a message in each inbox and an e-mail to a real SMTP server on loopback (aiosmtpd,
in its own process, keeping nothing). The bench plays the one worker: it runs the loop the Celery
task runs (`notices.tasks.fan_out_broadcast`: `fanout.broadcast_step` until done) in this process,
so the figure is the fan-out's own cost, not the broker's. Printed beside it: the same fan-out
with e-mail to memory (the SMTP round trips' share) and the floor, a plain bulk INSERT of the same
message rows, then each fan-out's time as a multiple of the floor's (per notice, so runs of
different sizes compare). Figures, not assertions.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

USERS = int(os.environ.get("BENCH_FANOUT_USERS", "5000"))


def populate(count: int, tag: str) -> list[int]:
    """Accounts with a verified primary address, inserted in bulk."""
    from allauth.account.models import EmailAddress

    from accounts.models import User

    now = timezone.now()
    users = User.objects.bulk_create(
        [
            User(email=f"bench-{tag}-{i}@example.org", password="!", date_joined=now)
            for i in range(count)
        ],
        batch_size=2000,
    )
    if users and users[0].pk is None:  # SQLite before RETURNING support: read them back
        users = list(User.objects.filter(email__startswith=f"bench-{tag}-"))
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, primary=True, verified=True) for u in users],
        batch_size=2000,
    )
    return [u.pk for u in users]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def smtp_server() -> tuple[subprocess.Popen[bytes], int]:
    """An SMTP server that accepts and drops everything, in its own process."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the SMTP sink did not start")


def fan_out(ids: list[int], label: str) -> float:
    """One incident notice to `ids`, as one worker sends it; returns the seconds it took."""
    from announcements import incidents
    from announcements.models import Incident
    from notices.fanout import broadcast_step
    from notices.models import EmailState, Message

    incident = Incident.objects.create(
        title=f"Bench incident {label}",
        what_happened="A benchmark.",
        found_at=timezone.now(),
        measures_taken="None.",
        advice="Nothing to do.",
        audience={"kind": "users", "ids": ids},
    )
    broadcast = incidents.incident_send(incident=incident, actor=None)
    start = time.perf_counter()
    while broadcast_step(broadcast_id=broadcast.pk):
        pass
    elapsed = time.perf_counter() - start
    sent = Message.objects.filter(broadcast=broadcast, email_state=EmailState.SENT).count()
    rate = len(ids) / elapsed
    print(
        f"{connection.vendor:10} {label:28} {len(ids):6} notices in {elapsed:6.2f} s = "
        f"{rate:7.0f} notices/s ({sent} e-mails sent)"
    )
    return elapsed


def floor_insert(ids: list[int]) -> float:
    """The floor: the same message rows in one bulk INSERT, nothing else; returns seconds."""
    from notices.models import Broadcast, EmailState, Message

    broadcast = Broadcast.objects.create(
        source=f"bench-floor-{time.time_ns()}",
        kind="incident",
        category="security_incidents",
        title="t",
        body="b",
    )
    now = timezone.now()
    start = time.perf_counter()
    Message.objects.bulk_create(
        [
            Message(
                user_id=pk,
                broadcast=broadcast,
                category="security_incidents",
                title="t",
                body="b",
                email_state=EmailState.SENT,
                created_at=now,
            )
            for pk in ids
        ],
        batch_size=2000,
    )
    elapsed = time.perf_counter() - start
    print(
        f"{connection.vendor:10} {'floor: bulk INSERT only':28} {len(ids):6} rows in "
        f"{elapsed:6.2f} s = {len(ids) / elapsed:7.0f} rows/s"
    )
    return elapsed


def ratio(label: str, seconds: float, count: int, floor_seconds: float, floor_count: int) -> None:
    """A run's time per notice as a multiple of the floor's time per row."""
    times = (seconds / count) / (floor_seconds / floor_count)
    print(f"{connection.vendor:10} {label:28} / floor = {times:7.1f}x")


def main() -> None:
    setup_test_environment(debug=False)
    from notices import services

    # The bench plays the worker: the broadcast is not also handed to Celery (or run eagerly).
    services.broadcast_start = lambda broadcast_id: None
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    sink, port = smtp_server()
    try:
        print(f"{connection.vendor}: incident fan-out to {USERS} users, one worker")
        warm = populate(50, "warm")
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        fan_out(warm, "warm-up")
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        smtp = fan_out(populate(USERS, "smtp"), "e-mail over SMTP")
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        memory = populate(USERS, "memory")
        in_memory = fan_out(memory, "e-mail to memory")
        floor = floor_insert(memory)
        ratio("e-mail over SMTP", smtp, USERS, floor, len(memory))
        ratio("e-mail to memory", in_memory, USERS, floor, len(memory))
    finally:
        sink.terminate()
        sink.wait(timeout=10)
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
