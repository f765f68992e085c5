"""The retention sweep over a large access log, beside the plain SQL DELETE of the same rows.

Fills the access log in SQL (generate_series on PostgreSQL, a recursive CTE on SQLite), never
through the ORM: BENCH_RETENTION_ROWS expired rows (1,000,000 by default) spread over 1,000
users, a tenth as many recent rows that stay, and an active legal hold on a user who has only
recent rows (so every statement checks holds, and both runs remove the same rows). Then times
the sweep of the `access_log` category (bounded batches, each its own short transaction) and,
after filling the table again the same way, the floor: one
`DELETE FROM accounts_accesslogentry WHERE created_at < cutoff`, a single statement holding its
locks until it ends. Prints both times, rows per second, the sweep's time as a multiple of the
floor's, and the longest single removal beside the floor's one statement (how long a concurrent
writer could wait). Figures, not assertions.
"""

from __future__ import annotations

import datetime
import os
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

ROWS = int(os.environ.get("BENCH_RETENTION_ROWS", "1000000"))
USERS = 1000
AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"

POSTGRES_FILL = """
INSERT INTO accounts_accesslogentry
    (user_id, created_at, ip_address, method, path, status_code, user_agent)
SELECT %s + (g %% %s), %s::timestamptz - g * interval '1 second', '198.51.100.7', 'GET',
       '/dashboard/page/' || g || '/', 200, %s
FROM generate_series(1, %s) AS g
"""
SQLITE_FILL = """
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < %s)
INSERT INTO accounts_accesslogentry
    (user_id, created_at, ip_address, method, path, status_code, user_agent)
SELECT %s + (n %% %s), strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '-' || n || ' seconds'),
       '198.51.100.7', 'GET', '/dashboard/page/' || n || '/', 200, %s
FROM g
"""


def _insert(first_user: int, users: int, newest: datetime.datetime, rows: int) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_FILL, [first_user, users, newest, AGENT, rows])
        else:
            newest_text = newest.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            cursor.execute(SQLITE_FILL, [rows, first_user, users, newest_text, AGENT])


def fill(now: datetime.datetime, cutoff: datetime.datetime, first_user: int, held: int) -> None:
    """An empty table, then the expired rows (all users but the held one), then recent rows."""
    from accounts.models import AccessLogEntry

    AccessLogEntry.objects.all()._raw_delete(connection.alias)
    _insert(first_user, USERS, cutoff - datetime.timedelta(seconds=1), ROWS)
    _insert(held, 1, now, max(1, ROWS // 10))
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE accounts_accesslogentry"
            if connection.vendor == "postgresql"
            else "ANALYZE"
        )


def report(label: str, seconds: float, removed: int) -> None:
    print(
        f"{connection.vendor:10} {label:34} {seconds:7.2f} s   {removed / seconds:10,.0f} rows/s"
        f"   ({removed:,} rows)"
    )


def main() -> None:
    setup_test_environment(debug=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from accounts.models import AccessLogEntry, User
        from core.retention import DEFAULT_BATCH_SIZE, get_rule
        from retention import sweep as retention
        from retention.models import LegalHold
        from retention.sweep import retention_sweep

        users = User.objects.bulk_create(
            User(email=f"bench-{i}@example.org", password="!") for i in range(USERS + 1)
        )
        ids = sorted(u.pk for u in User.objects.filter(email__startswith="bench-"))
        assert ids == list(range(ids[0], ids[0] + len(users))), "user ids must be contiguous"
        first_user, held = ids[0], ids[-1]
        LegalHold.objects.create(user_id=held, reason="Benchmark: a hold in every statement")

        rule = get_rule("access_log")
        assert rule is not None
        days = settings.DSAR_RETENTION_DAYS["access_log"]
        now = timezone.now()
        cutoff = now - datetime.timedelta(days=days)
        print(
            f"{connection.vendor}: {ROWS:,} expired access-log rows over {USERS} users, "
            f"{ROWS // 10:,} recent rows kept, batches of {DEFAULT_BATCH_SIZE}"
        )

        # Each batch's removal, timed: what a concurrent writer could wait for at worst.
        batch_times: list[float] = []
        remove_batch = retention._remove_batch

        def timed_remove(target, batch):
            begin = time.perf_counter()
            try:
                return remove_batch(target, batch)
            finally:
                batch_times.append(time.perf_counter() - begin)

        retention._remove_batch = timed_remove
        fill(now, cutoff, first_user, held)
        start = time.perf_counter()
        result = retention_sweep(now=now, categories=["access_log"])
        sweep_time = time.perf_counter() - start
        retention._remove_batch = remove_batch
        swept = result.removed["access_log"]
        kept = AccessLogEntry.objects.count()

        fill(now, cutoff, first_user, held)
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM accounts_accesslogentry WHERE created_at < %s", [cutoff])
            floor_removed = cursor.rowcount
        floor_time = time.perf_counter() - start

        assert swept == floor_removed == ROWS, (swept, floor_removed)
        assert kept == AccessLogEntry.objects.count(), "both runs keep the same rows"
        report("retention sweep (batched)", sweep_time, swept)
        report("floor: one plain SQL DELETE", floor_time, floor_removed)
        print(
            f"{connection.vendor:10} sweep / floor = {sweep_time / floor_time:.1f}x "
            f"(total time; {sweep_time:.2f} s / {floor_time:.2f} s)"
        )
        longest = max(batch_times)
        print(
            f"{connection.vendor:10} longest statement removing rows: sweep "
            f"{longest * 1000:.0f} ms ({len(batch_times)} batches), "
            f"floor {floor_time * 1000:.0f} ms (one statement): "
            f"longest sweep statement / floor = {longest / floor_time:.2f}x"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
