"""Export and erasure of a heavy user, beside the plain SQL that reads or deletes the same rows.

A user with BENCH_ACCESS_ROWS access-log rows (100,000 by default) and BENCH_OTHER_ROWS rows
elsewhere (login history). Prints wall time, peak Python memory during the work (tracemalloc)
and the process's peak RSS, the archive size, and the floor: the plain SQL SELECT (export) or
DELETE (erasure) of the same rows. Figures, not assertions. Targets: within 3x of the floor and
under 200 MB peak memory.
"""

from __future__ import annotations

import datetime
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

ACCESS_ROWS = int(os.environ.get("BENCH_ACCESS_ROWS", "100000"))
OTHER_ROWS = int(os.environ.get("BENCH_OTHER_ROWS", "1000"))


def populate(access_rows: int = ACCESS_ROWS, other_rows: int = OTHER_ROWS):
    from accounts.models import AccessLogEntry, LoginEvent, Profile, User

    user = User.objects.create_user(email=f"heavy-{time.time_ns()}@example.org", password="x" * 12)
    Profile.objects.create(user=user, nickname="heavy", bio="b" * 500)
    now = timezone.now()
    batch = []
    for i in range(access_rows):
        batch.append(
            AccessLogEntry(
                user=user,
                created_at=now - datetime.timedelta(seconds=i),
                ip_address="198.51.100.7",
                method="GET",
                path=f"/dashboard/page/{i}/",
                status_code=200,
                user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
            )
        )
        if len(batch) == 5000:
            AccessLogEntry.objects.bulk_create(batch)
            batch.clear()
    AccessLogEntry.objects.bulk_create(batch)
    LoginEvent.objects.bulk_create(
        LoginEvent(user=user, ip_address="198.51.100.7", method="password", browser="Firefox")
        for _ in range(other_rows)
    )
    return user


def timed(label, work):
    """Wall time, without tracemalloc (which slows every allocation and would skew it)."""
    start = time.perf_counter()
    work()
    elapsed = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{connection.vendor:10} {label:24} {elapsed:7.2f} s   process peak RSS {rss_mb:5.0f} MB")
    return elapsed


def traced(label, work):
    """Peak Python memory of a second, identical run."""
    tracemalloc.start()
    work()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{connection.vendor:10} {label:24} peak traced memory {peak / 2**20:6.1f} MB")


def floor_select(user_id):
    with connection.cursor() as cursor:
        for table in ("accounts_accesslogentry", "accounts_loginevent"):
            cursor.execute(f"SELECT * FROM {table} WHERE user_id = %s", [user_id])
            while cursor.fetchmany(2000):
                pass


def floor_delete(user_id):
    with connection.cursor() as cursor:
        for table in ("accounts_accesslogentry", "accounts_loginevent"):
            cursor.execute(f"DELETE FROM {table} WHERE user_id = %s", [user_id])


def filed(user, type_):
    """A verified request whose cool-off (for deletions) is over: the worker's starting point."""
    from requests_dsar import services
    from requests_dsar.models import DataSubjectRequest

    request, _ = services.dsar_request_create(
        subject=user, requester=user, type=type_, reauthenticated=True
    )
    DataSubjectRequest.objects.filter(pk=request.pk).update(act_after=None)
    return request


def fulfil(request):
    """What the worker does for the request (timed): claim, export or erase, complete."""
    from requests_dsar import services

    services.dsar_process(request_id=request.pk)
    request.refresh_from_db()
    assert request.status == "completed", request.status


def run_request(user, type_):
    fulfil(filed(user, type_))


def main() -> None:
    # DEBUG would keep every query in memory (and skew memory figures).
    setup_test_environment(debug=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from requests_dsar import services

    # The bench plays the worker: requests are not also handed to Celery (or run eagerly).
    services._enqueue_processing = lambda request_id: None
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(f"{connection.vendor}: {ACCESS_ROWS} access-log rows + {OTHER_ROWS} login rows")
        # Warm up as a long-running worker is: imports, URL resolver, templates loaded once.
        warm = populate(access_rows=10, other_rows=1)
        run_request(warm, "copy")
        run_request(warm, "delete")
        user = populate()
        floor = timed("floor: plain SELECT", lambda: floor_select(user.pk))
        copy = filed(user, "copy")
        export_time = timed("export (copy)", lambda: fulfil(copy))
        archive = copy.archives.get()
        print(f"{connection.vendor:10} archive size {archive.size / 2**20:.1f} MB (encrypted)")
        print(f"{connection.vendor:10} export / floor = {export_time / floor:.1f}x")
        second = filed(populate(), "copy")
        traced("export (copy)", lambda: fulfil(second))

        erasure_user, floor_user = populate(), populate()
        floor = timed("floor: plain DELETE", lambda: floor_delete(floor_user.pk))
        deletion = filed(erasure_user, "delete")
        erase_time = timed("erasure (delete)", lambda: fulfil(deletion))
        print(f"{connection.vendor:10} erasure / floor = {erase_time / floor:.1f}x")
        second = filed(populate(), "delete")
        traced("erasure (delete)", lambda: fulfil(second))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
