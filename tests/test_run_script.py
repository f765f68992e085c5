"""scripts/run.sh (`make run`): PORTAL_URL, the address in links of e-mails, receipts and
manifests and the product service's callbacks, follows HOST and PORT unless it is set."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def portal_url(host: str, port: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k != "PORTAL_URL"}
    result = subprocess.run(
        [
            "bash",
            "-c",
            'source scripts/services.sh; portal_url_export "$0" "$1"; echo "$PORTAL_URL"',
            host,
            port,
        ],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "http://127.0.0.1:8123"),
        ("localhost", "http://localhost:8123"),
        ("0.0.0.0", "http://127.0.0.1:8123"),  # a wildcard is reached on loopback
        ("::1", "http://[::1]:8123"),
    ],
)
def test_make_run_derives_portal_url_from_host_and_port(host, expected):
    assert portal_url(host, "8123") == expected


def test_make_run_keeps_a_portal_url_that_is_set():
    assert portal_url("127.0.0.1", "8123", PORTAL_URL="https://demo.example") == (
        "https://demo.example"
    )
