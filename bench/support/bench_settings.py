"""The portal's settings plus one trivial view (bench_urls), for bench/consent_check.py only.

The trivial view goes through the same gunicorn, WSGI handler and middleware stack as every
page, so it is the floor the consent check is measured against. Nothing in the product changes.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
