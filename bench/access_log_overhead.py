"""How much the access log adds to an authenticated request.

Serves the same dashboard page N times through Django's full handler stack (middleware, session,
template) with the access log on and off, on whatever database DATABASE_URL names, and prints
mean and p95 per request. Figures, not assertions: run with `make bench`.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings, setup_test_environment  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1000"))


def measure(user, *, logging_on: bool) -> list[float]:
    with override_settings(ACCESS_LOG_ENABLED=logging_on):
        client = Client()
        client.force_login(user)
        client.get("/dashboard/")  # warm-up: templates, caches, connection
        timings = []
        for _ in range(REQUESTS):
            start = time.perf_counter()
            response = client.get("/dashboard/")
            timings.append(time.perf_counter() - start)
            assert response.status_code == 200
    return timings


def main() -> None:
    # DEBUG would keep every query in memory (and skew memory figures).
    setup_test_environment(debug=False)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from accounts.models import AccessLogEntry, User

        user = User.objects.create_user(email="bench@example.org", password="bench-password-1")
        off = measure(user, logging_on=False)
        on = measure(user, logging_on=True)
        rows = AccessLogEntry.objects.count()
        vendor = connection.vendor
        for label, values in (("access log off", off), ("access log on", on)):
            ms = sorted(v * 1000 for v in values)
            print(
                f"{vendor:10} {label:15} mean {statistics.mean(ms):6.2f} ms   "
                f"p95 {ms[int(len(ms) * 0.95)]:6.2f} ms   ({REQUESTS} requests)"
            )
        added = (statistics.mean(on) - statistics.mean(off)) * 1000
        print(f"{vendor:10} added per request: {added:+.2f} ms, {rows} rows written")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
