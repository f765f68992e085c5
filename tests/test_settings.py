"""Production settings are strict: deploy checks pass, secrets are required, bad values refused."""

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, **env):
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment never has it.
    drop = {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "k" * 30 + "-a-long-random-production-secret-value",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "EXPORT_ENCRYPTION_KEYS": "k1:"
    + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode(),
    "ALLOWED_HOSTS": "privacy.example.org",
    "DSAR_PSEUDONYM_KEY": "p" * 48,
    # check --deploy does not connect: any address names a shared cache.
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def test_production_settings_pass_check_deploy_without_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_defaults_keep_the_api_map_private_and_outbound_calls_public_https():
    script = (
        "from django.conf import settings as s; "
        "print(s.API_DOCS_PUBLIC, s.OUTBOUND_HTTPS_ONLY, s.OUTBOUND_PRIVATE_ADDRESSES)"
    )
    result = manage("shell", "--no-imports", "-c", script, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "False"]


@pytest.mark.parametrize(
    "missing",
    ["SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "EXPORT_ENCRYPTION_KEYS", "DSAR_PSEUDONYM_KEY"],
)
def test_production_refuses_to_start_without_its_secrets(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = manage("check", **env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_a_malformed_setting_is_refused_at_start_up():
    result = manage("check", DATABASE_CONN_MAX_AGE="soon")
    assert result.returncode != 0
    assert "DATABASE_CONN_MAX_AGE" in result.stderr


def test_secrets_can_come_from_files(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(PRODUCTION["SECRET_KEY"])
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", SECRET_KEY_FILE=str(secret_file), **env
    )
    assert result.returncode == 0, result.stderr


def test_argon2_is_the_first_password_hasher():
    from django.conf import settings

    # conftest swaps in MD5 per test for speed; the configured list is in the settings module.
    from config import settings as configured

    assert configured.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    assert settings.AUTH_USER_MODEL == "accounts.User"


def test_production_without_a_shared_cache_is_warned_by_check_deploy():
    without = {k: v for k, v in PRODUCTION.items() if k != "REDIS_URL"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **without)
    assert result.returncode != 0
    assert "consent.W001" in result.stderr + result.stdout


@pytest.mark.parametrize(("value", "expected"), [(None, "False"), ("1", "True")])
def test_debug_is_off_unless_asked_for(value, expected):
    env = {"DEBUG": value} if value else {}
    base = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    result = subprocess.run(
        [sys.executable, "-c", "from config import settings; print(settings.DEBUG)"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == expected, result.stderr
