"""Settings for privacy-portal, read from the environment.

With nothing set the portal runs on SQLite, executes Celery tasks eagerly after commit and
prints e-mail to the console, so `make run` needs no service. `DJANGO_ENV=production` turns on
the strict settings that pass `manage.py check --deploy`. Every variable is listed in README.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


class _Env(environ.Env):
    """django-environ, plus `<NAME>_FILE` for secrets mounted as files."""

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):  # type: ignore[no-untyped-def]
        file_var = f"{var}_FILE"
        if file_var in self.ENVIRON and var not in self.ENVIRON:
            try:
                value = Path(self.ENVIRON[file_var]).read_text().strip()
            except OSError as exc:
                raise ImproperlyConfigured(f"{file_var} cannot be read: {exc}") from exc
            return self.parse_value(value, cast) if cast else value
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except ValueError as exc:
            raise ImproperlyConfigured(f"Environment variable {var} is malformed: {exc}") from exc


env = _Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'.")
PRODUCTION = DJANGO_ENV == "production"

if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-" + "x" * 40)
# Off unless asked for (DEBUG=1), in development too: `make run` shows the portal's own error
# pages, never Django's debug page listing every URL pattern and setting.
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# How many reverse proxies append to X-Forwarded-For in front of the portal. 0 trusts none, so
# the client IP recorded in histories is REMOTE_ADDR.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = NUM_PROXIES

# The company whose policy the portal implements: data, never code.
COMPANY_NAME = env.str("COMPANY_NAME", default="AllMyTracks Technology")
COMPANY_CONTACT_EMAIL = env.str("COMPANY_CONTACT_EMAIL", default="customer-service@allmytracks.com")
# The data controller as consent receipts name it (Kantara requires each member, empty or not).
COMPANY_CONTACT_NAME = env.str("COMPANY_CONTACT_NAME", default=f"{COMPANY_NAME} privacy team")
COMPANY_ADDRESS = env.json("COMPANY_ADDRESS", default={})
if not isinstance(COMPANY_ADDRESS, dict):
    raise ImproperlyConfigured(
        'COMPANY_ADDRESS is a JSON object, e.g. {"streetAddress": "...", "addressCountry": "FR"}.'
    )
COMPANY_PHONE = env.str("COMPANY_PHONE", default="")
COMPANY_JURISDICTION = env.str("COMPANY_JURISDICTION", default="")
# The portal's public address, for links in e-mails sent by workers (no request to read it from).
PORTAL_URL = env.str("PORTAL_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "config.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.apple",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.weixin",
    "allauth.socialaccount.providers.weibo",
    "allauth.mfa",
    "allauth.usersessions",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_countries",
    "django_htmx",
    "csp",
    "core",
    "accounts",
    "requests_dsar",
    "consent",
    "notices",
    "connectors",
    "retention",
    "relatives",
    "announcements",
    "guardianship",
    "config.apps.PortalConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A body over REQUEST_BODY_MAX_BYTES is refused (413) before anything reads it.
    "core.middleware.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Honours Global Privacy Control for the signed-in user or the visitor.
    "consent.middleware.GlobalPrivacyControlMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    # A staff member refused on a route that names an object is audited.
    "core.middleware.StaffRefusalAuditMiddleware",
    "accounts.middleware.AccessLogMiddleware",
    # A minor waiting for their guardian's approval reaches only the waiting page.
    "guardianship.middleware.MinorGuardianMiddleware",
    # Which cookie choice applies after signing in, and re-consent after a policy change.
    "consent.reconsent.ConsentQuestionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.company",
                "notices.context_processors.inbox",
                "guardianship.access.guardian_nav",
            ],
        },
    },
]

# --- Data stores ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# Without a broker, tasks run in-process right after the transaction commits (make run).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
# Longer than the longest task, so Redis never hands an unacknowledged task to a second worker
# while the first is still working on it.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT * 2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    # Re-enqueue stalled requests, end cool-offs, warn staff before deadlines, flag overdue ones.
    "requests-sweep": {"task": "requests_dsar.tasks.sweep_requests", "schedule": 300.0},
    # Daily: end the guardianship of every minor who reached the age (idempotent).
    "guardianships-coming-of-age": {
        "task": "guardianship.tasks.end_guardianships_at_majority",
        "schedule": crontab(hour=0, minute=5),
    },
    # Minors: erase accounts no guardian approved in time, send due second confirmations.
    "minor-accounts-sweep": {"task": "guardianship.tasks.sweep_minor_accounts", "schedule": 900.0},
    # Restart notice fan-outs whose task was lost; send single e-mails left pending.
    "notices-sweep": {"task": "notices.tasks.sweep_notices", "schedule": 600.0},
    # Nightly: delete or anonymize what outlived its retention period (DSAR_RETENTION_DAYS).
    "retention-sweep": {
        "task": "retention.tasks.retention_sweep",
        "schedule": crontab(hour=3, minute=30),
    },
    # Send connector jobs whose retry time came, re-send stalled ones (docs/connector-protocol.md).
    "connectors-sweep": {"task": "connectors.tasks.sweep_jobs", "schedule": 60.0},
}
CELERY_TIMEZONE = "UTC"

# --- E-mail ----------------------------------------------------------------------------------
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
for _key in ("EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD"):
    if _email.get(_key):
        globals()[_key] = _email[_key]
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{COMPANY_NAME} <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Accounts --------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard:home"

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_USER_DISPLAY = "accounts.adapters.user_display"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "consent.signup_form.SignupExtraForm"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_FORMS = {"add_email": "accounts.forms.AddEmailForm", "login": "accounts.forms.LoginForm"}
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
# Confirming the address signs the person in, but only in the browser that signed up (allauth
# keeps the pending sign-in in that session); a link opened anywhere else leads to the sign-in.
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{COMPANY_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
# allauth's own rate limits stay on (its defaults); this only names them to show they are meant.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
}

SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
# Never create an account silently from a provider: the user first sees what the provider hands
# over and agrees (the policy's "Third Party Account" section).
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_FORMS = {"signup": "accounts.forms.ThirdPartySignupForm"}
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = 10


def _social_providers() -> dict:
    """Third-party login apps configured from the environment (admin can add more)."""
    providers: dict = {}
    simple: dict[str, dict[str, Any]] = {
        "google": {"SCOPE": ["openid", "profile", "email"], "OAUTH_PKCE_ENABLED": True},
        "github": {"SCOPE": ["read:user", "user:email"]},
        "weixin": {"SCOPE": ["snsapi_login"]},
        "weibo": {},
    }
    for name, extra in simple.items():
        client_id = env.str(f"SOCIAL_{name.upper()}_CLIENT_ID", default="")
        if client_id:
            app = {"client_id": client_id, "secret": env.str(f"SOCIAL_{name.upper()}_SECRET")}
            providers[name] = {"APPS": [app], **extra}
    apple_id = env.str("SOCIAL_APPLE_CLIENT_ID", default="")
    if apple_id:
        providers["apple"] = {
            "APPS": [
                {
                    "client_id": apple_id,
                    "secret": env.str("SOCIAL_APPLE_KEY_ID"),
                    "key": env.str("SOCIAL_APPLE_TEAM_ID"),
                    "settings": {"certificate_key": env.str("SOCIAL_APPLE_PRIVATE_KEY")},
                }
            ]
        }
    oidc_raw = env.str("SOCIAL_OIDC_PROVIDERS", default="")
    if oidc_raw:
        try:
            entries = json.loads(oidc_raw)
            apps = [
                {
                    "provider_id": e["id"],
                    "name": e["name"],
                    "client_id": e["client_id"],
                    "secret": e["secret"],
                    "settings": {"server_url": e["server_url"]},
                }
                for e in entries
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise ImproperlyConfigured(
                "SOCIAL_OIDC_PROVIDERS must be a JSON list of objects with "
                "id, name, client_id, secret and server_url."
            ) from exc
        providers["openid_connect"] = {"APPS": apps, "OAUTH_PKCE_ENABLED": True}
    return providers


SOCIALACCOUNT_PROVIDERS = _social_providers()

MFA_ADAPTER = "accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_FORMS = {"deactivate_totp": "accounts.forms.DeactivateTOTPForm"}
MFA_TOTP_ISSUER = COMPANY_NAME
MFA_RECOVERY_CODE_COUNT = 10
# Keys for encrypting MFA secrets at rest, newest first; older keys still decrypt (rotation).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if PRODUCTION and not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is required in production.")

USERSESSIONS_TRACK_ACTIVITY = True

# The access log ("Log Information" in the policy). Paths under these prefixes are not logged.
ACCESS_LOG_ENABLED = env.bool("ACCESS_LOG_ENABLED", default=True)
ACCESS_LOG_EXCLUDE_PREFIXES = ["/static/", "/healthz", "/favicon.ico"]

# A guardian who revokes their approval suspends the minor's account; without a new guardian's
# approval within this many days, the account is erased.
GUARDIAN_REVOCATION_COOL_OFF_DAYS = env.int("GUARDIAN_REVOCATION_COOL_OFF_DAYS", default=7)
if GUARDIAN_REVOCATION_COOL_OFF_DAYS < 1:
    raise ImproperlyConfigured("GUARDIAN_REVOCATION_COOL_OFF_DAYS must be at least 1.")

# --- Minors and guardian consent (accounts/jurisdictions.py, guardianship/) -------------------
# The policy's own jurisdiction: its reading of "minor" (POLICY_ADULT_AGE) applies there.
PORTAL_JURISDICTION = env.str("PORTAL_JURISDICTION", default=COMPANY_JURISDICTION or "CN").upper()
# The policy's "no full capacity for civil conduct": its guardian age at home and in regions the
# table does not name, and the age below which purposes not for minors are never offered.
POLICY_ADULT_AGE = env.int("POLICY_ADULT_AGE", default=18)
# Overrides of the shipped table of guardian-consent ages, e.g. {"SI": 15, "US": 16}.
GUARDIAN_CONSENT_AGES = env.json("GUARDIAN_CONSENT_AGES", default={})
if not isinstance(GUARDIAN_CONSENT_AGES, dict) or not all(
    isinstance(region, str)
    and len(region) == 2
    and isinstance(age, int)
    and not isinstance(age, bool)
    and 1 <= age <= 25
    for region, age in GUARDIAN_CONSENT_AGES.items()
):
    raise ImproperlyConfigured(
        'GUARDIAN_CONSENT_AGES maps two-letter region codes to ages from 1 to 25, e.g. {"SI": 15}.'
    )
if not 1 <= POLICY_ADULT_AGE <= 25:
    raise ImproperlyConfigured("POLICY_ADULT_AGE must be an age from 1 to 25.")
# A minor's account without a guardian's approval after this many days is erased.
GUARDIAN_DECISION_DAYS = env.int("GUARDIAN_DECISION_DAYS", default=7)
# How long an invitation link e-mailed to a guardian stays valid (never past the decision day).
GUARDIAN_INVITATION_DAYS = env.int("GUARDIAN_INVITATION_DAYS", default=7)
# email_plus: the second confirmation is e-mailed this long after the guardian's first.
GUARDIAN_EMAIL_PLUS_DELAY_HOURS = env.int("GUARDIAN_EMAIL_PLUS_DELAY_HOURS", default=24)
if GUARDIAN_DECISION_DAYS < 1 or GUARDIAN_INVITATION_DAYS < 1:
    raise ImproperlyConfigured("GUARDIAN_DECISION_DAYS and GUARDIAN_INVITATION_DAYS must be >= 1.")
if GUARDIAN_EMAIL_PLUS_DELAY_HOURS < 0:
    raise ImproperlyConfigured("GUARDIAN_EMAIL_PLUS_DELAY_HOURS cannot be negative.")
# How a guardian is verified, per region, with a "default": "email_plus", "document" or
# "provider:<name>" (a provider named in GUARDIAN_VERIFICATION_PROVIDERS).
GUARDIAN_VERIFICATION_METHODS = env.json(
    "GUARDIAN_VERIFICATION_METHODS", default={"default": "email_plus"}
)
# Verification providers (card transaction, ID check) by name: dotted paths of classes.
GUARDIAN_VERIFICATION_PROVIDERS = env.json("GUARDIAN_VERIFICATION_PROVIDERS", default={})
if not isinstance(GUARDIAN_VERIFICATION_PROVIDERS, dict) or not all(
    isinstance(name, str) and name.isidentifier() and isinstance(path, str)
    for name, path in GUARDIAN_VERIFICATION_PROVIDERS.items()
):
    raise ImproperlyConfigured(
        "GUARDIAN_VERIFICATION_PROVIDERS maps provider names to class paths, e.g. "
        '{"idcheck": "example.providers.IdCheck"}.'
    )
if (
    not isinstance(GUARDIAN_VERIFICATION_METHODS, dict)
    or "default" not in GUARDIAN_VERIFICATION_METHODS
    or not all(
        isinstance(method, str)
        and (
            method in ("email_plus", "document")
            or method.removeprefix("provider:") in GUARDIAN_VERIFICATION_PROVIDERS
        )
        for method in GUARDIAN_VERIFICATION_METHODS.values()
    )
):
    raise ImproperlyConfigured(
        'GUARDIAN_VERIFICATION_METHODS maps region codes and "default" to email_plus, document '
        "or provider:<a name in GUARDIAN_VERIFICATION_PROVIDERS>."
    )

# --- Data-subject requests ---------------------------------------------------------------------
# The policy's "reply within a maximum of fifteen days", counted from identity verification.
DSAR_RESPONSE_DAYS = env.int("DSAR_RESPONSE_DAYS", default=15)
# Per-jurisdiction rules (country/region code of the subject's profile), in days or calendar
# months, e.g. {"DE": {"months": 1}, "US-CA": {"days": 45}}.
DSAR_JURISDICTION_DEADLINES = env.json("DSAR_JURISDICTION_DEADLINES", default={})
if not isinstance(DSAR_JURISDICTION_DEADLINES, dict) or not all(
    isinstance(rule, dict)
    and len(rule) == 1
    and next(iter(rule)) in ("days", "months")
    and isinstance(next(iter(rule.values())), int)
    and next(iter(rule.values())) > 0
    for rule in DSAR_JURISDICTION_DEADLINES.values()
):
    raise ImproperlyConfigured(
        'DSAR_JURISDICTION_DEADLINES maps region codes to {"days": N} or {"months": N}.'
    )
DSAR_TIME_ZONE = env.str("DSAR_TIME_ZONE", default=env.str("TIME_ZONE", default="UTC"))
DSAR_EXTENSION_MAX_DAYS = env.int("DSAR_EXTENSION_MAX_DAYS", default=15)
DSAR_WARNING_DAYS = env.list("DSAR_WARNING_DAYS", cast=int, default=[10, 5, 2, 1])
DSAR_ERASURE_COOL_OFF_DAYS = env.int("DSAR_ERASURE_COOL_OFF_DAYS", default=7)
DSAR_ARCHIVE_LIFETIME_DAYS = env.int("DSAR_ARCHIVE_LIFETIME_DAYS", default=7)
# Work not finished after this long is queued again. It must exceed the task time limit, or a
# second worker could start on a request the first is still working on.
DSAR_STALLED_AFTER_MINUTES = env.int(
    "DSAR_STALLED_AFTER_MINUTES", default=CELERY_TASK_TIME_LIMIT // 60 + 15
)
if DSAR_STALLED_AFTER_MINUTES * 60 <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("DSAR_STALLED_AFTER_MINUTES must exceed CELERY_TASK_TIME_LIMIT.")
DSAR_CODE_TTL_MINUTES = env.int("DSAR_CODE_TTL_MINUTES", default=15)
DSAR_CODE_MAX_ATTEMPTS = env.int("DSAR_CODE_MAX_ATTEMPTS", default=5)
# The signed-out request form and its code page, per client IP address and hour.
DSAR_PUBLIC_REQUESTS_PER_HOUR = env.int("DSAR_PUBLIC_REQUESTS_PER_HOUR", default=5)
DSAR_PUBLIC_CODE_TRIES_PER_HOUR = env.int("DSAR_PUBLIC_CODE_TRIES_PER_HOUR", default=20)
# Key for the keyed hash that pseudonymizes erased subjects; defaults to SECRET_KEY.
# It names users in the consent ledger and erased subjects in proofs: it must never change
# (unlike SECRET_KEY, which may be rotated), so production sets it explicitly.
DSAR_PSEUDONYM_KEY = env.str("DSAR_PSEUDONYM_KEY", default="")
if PRODUCTION and not DSAR_PSEUDONYM_KEY:
    raise ImproperlyConfigured("DSAR_PSEUDONYM_KEY is required in production (never rotate it).")
# Keys for export archives at rest, "id:base64-32-bytes", newest first (rotation: see docs/).
EXPORT_ENCRYPTION_KEYS = env.list("EXPORT_ENCRYPTION_KEYS", default=[])
if PRODUCTION and not EXPORT_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("EXPORT_ENCRYPTION_KEYS is required in production.")
EXPORT_STORAGE_PREFIX = "exports/"
# Documents people upload (proof of relationship, a guardian's signed consent form): PDF, JPEG
# or PNG, checked by their bytes, encrypted at rest like export archives.
DSAR_UPLOAD_MAX_BYTES = env.int("DSAR_UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
# The web tier's body caps: the fields of a form in memory, the files of one request, and a whole
# request's body (the largest legitimate one: a relative's ten documents, or a connector's
# result). The proxy in front should refuse larger bodies first (docs/operations.md).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 10
REQUEST_BODY_MAX_BYTES = env.int(
    "REQUEST_BODY_MAX_BYTES", default=10 * DSAR_UPLOAD_MAX_BYTES + 1024 * 1024
)
# What unverified relatives' cases may hold before their e-mailed code is confirmed: per
# address per day, and in all (documents of cases never confirmed are deleted after a day).
RELATIVES_UNVERIFIED_BYTES_PER_IP = env.int(
    "RELATIVES_UNVERIFIED_BYTES_PER_IP", default=4 * DSAR_UPLOAD_MAX_BYTES
)
RELATIVES_UNVERIFIED_BYTES_TOTAL = env.int(
    "RELATIVES_UNVERIFIED_BYTES_TOTAL", default=2 * 1024 * 1024 * 1024
)
UPLOAD_STORAGE_PREFIX = "uploads/"
# A relative's proof documents (death certificate, proof of relationship) are deleted this many
# days after their case closes (the retention rule "relative_documents").
DSAR_RELATIVE_DOCUMENTS_RETENTION_DAYS = env.int(
    "DSAR_RELATIVE_DOCUMENTS_RETENTION_DAYS", default=30
)
# Retention periods in days, per category (the rules in each app's personal_data.py). The
# environment overrides any of them as JSON, e.g. DSAR_RETENTION_DAYS='{"access_log": 90}';
# staff may override one category in admin (Retention overrides), with a reason.
DSAR_RETENTION_DAYS = {
    "access_log": 180,
    "login_history": 180,
    # Days after an archive's link expired (its file is deleted at expiry).
    "export_archives": DSAR_ARCHIVE_LIFETIME_DAYS,
    "closed_request_evidence": 180,
    "unconfirmed_signups": 7,
    "declined_minors": 30,
    "inbox_messages": 365,
}
_retention_env = env.json("DSAR_RETENTION_DAYS", default={})
if not isinstance(_retention_env, dict) or not all(
    isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= 36500
    for days in _retention_env.values()
):
    raise ImproperlyConfigured(
        "DSAR_RETENTION_DAYS is a JSON object of whole days from 1 to 36500 per category, "
        'e.g. {"access_log": 90}.'
    )
DSAR_RETENTION_DAYS.update(_retention_env)
DSAR_RETENTION_DAYS.setdefault("relative_documents", DSAR_RELATIVE_DOCUMENTS_RETENTION_DAYS)

# The record of processing's security measures (docs/operations.md): the one part written by
# hand, one measure per line. The default lists what the portal itself does.
RECORD_SECURITY_MEASURES = env.list(
    "RECORD_SECURITY_MEASURES",
    default=[
        "Personal data in transit only over HTTPS (HSTS); sessions and CSRF cookies secure-only",
        "Two-factor authentication for every staff session; staff access to personal data audited",
        "Files produced for people and proof documents encrypted at rest (AES-GCM, rotatable keys)",
        "Secrets and two-factor seeds encrypted in the database (Fernet, rotatable keys)",
        "An append-only, hash-chained audit log of staff and system actions",
        "Outbound calls only to public HTTPS addresses unless allow-listed",
        "Personal data never written to application logs",
    ],
)

# --- Outbound addresses staff configure (core/outbound.py, docs/operations.md "Security model") --
# HTTP connectors, database connectors and third-party sign-in discovery connect only where this
# policy allows: HTTPS only in production; never loopback, private, link-local or metadata
# addresses unless the host (or its network, as a CIDR) is in OUTBOUND_ALLOWED_HOSTS. In
# development private addresses are allowed, since the demo's systems run on 127.0.0.1.
OUTBOUND_HTTPS_ONLY = env.bool("OUTBOUND_HTTPS_ONLY", default=PRODUCTION)
OUTBOUND_PRIVATE_ADDRESSES = env.bool("OUTBOUND_PRIVATE_ADDRESSES", default=not PRODUCTION)
OUTBOUND_ALLOWED_HOSTS = env.list("OUTBOUND_ALLOWED_HOSTS", default=[])
# Directories whose files a database connector's DSN may name (sslrootcert, sslcert, sslkey,
# sslcrl); none by default. A DSN can never name a password file or a service file.
OUTBOUND_DATABASE_FILE_DIRS = env.list("OUTBOUND_DATABASE_FILE_DIRS", default=[])

# --- Connected systems (docs/connector-protocol.md) ----------------------------------------------
# Shared secrets and DSNs of connected systems are encrypted at rest with FIELD_ENCRYPTION_KEYS.
# How old a signed message may be, either way (the replay window), in seconds.
CONNECTOR_SIGNATURE_WINDOW_SECONDS = env.int("CONNECTOR_SIGNATURE_WINDOW_SECONDS", default=300)
# The largest result a system may send (an export's JSON), in bytes.
CONNECTOR_MAX_RESULT_BYTES = env.int("CONNECTOR_MAX_RESULT_BYTES", default=50 * 1024 * 1024)
# A connector's result must fit through the web tier's body cap.
REQUEST_BODY_MAX_BYTES = max(REQUEST_BODY_MAX_BYTES, CONNECTOR_MAX_RESULT_BYTES + 64 * 1024)
# A job claimed by a worker but not finished after this long is queued again (same job id). It
# must exceed the longest HTTP timeout a system may have (CONNECTOR_MAX_TIMEOUT_SECONDS).
CONNECTOR_MAX_TIMEOUT_SECONDS = 120
CONNECTOR_STALLED_AFTER_SECONDS = env.int("CONNECTOR_STALLED_AFTER_SECONDS", default=900)
if CONNECTOR_STALLED_AFTER_SECONDS <= CONNECTOR_MAX_TIMEOUT_SECONDS:
    raise ImproperlyConfigured("CONNECTOR_STALLED_AFTER_SECONDS must exceed 120 seconds.")
# A system that accepted a job (202) but never called back is sent the same job again after this.
CONNECTOR_CALLBACK_WAIT_HOURS = env.int("CONNECTOR_CALLBACK_WAIT_HOURS", default=24)

# --- API -------------------------------------------------------------------------------------
# The API's schema (/api/schema/) and docs (/api/docs/): open to anyone, or (production's
# default) only to signed-in people.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=not PRODUCTION)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so that unauthenticated API calls get 401 with `WWW-Authenticate: Bearer`.
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="1200/min"),
        "transfer_pull": env.str("API_THROTTLE_TRANSFER_PULL", default="10/min"),
        # The consent check API, per service token.
        "consent_check": env.str("API_THROTTLE_CONSENT_CHECK", default="6000/min"),
        # New e-mailed codes for a request (POST /api/v1/requests/{id}/code/).
        "dsar_code": "5/hour",
        # Signed result callbacks from connected systems, per address.
        "connector_callback": env.str("API_THROTTLE_CONNECTOR_CALLBACK", default="600/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "config.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "NUM_PROXIES": NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "privacy-portal API",
    "DESCRIPTION": "Self-service access to one's own personal data, consents and requests.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # What the fields' JSON types cannot say, and where an answer's ids lead (OpenAPI links).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "requests_dsar.serializers.postprocess_change_schema",
        "core.api_docs.postprocess_text_patterns",
        "core.api_docs.postprocess_required_bodies",
        "config.api.postprocess_links",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ConsentDecisionEnum": "consent.models.Decision",
        "UserDecisionEnum": "consent.serializers.USER_DECISION_CHOICES",
        # The consent ledger's methods, shared by one's own and a guardian's view of events.
        "ConsentEventMethodEnum": "consent.models.Method",
        "ConnectorJobStatusEnum": "connectors.models.JobStatus",
        "ConnectorJobTypeEnum": "connectors.models.JobType",
        "RequestTypeEnum": "requests_dsar.models.RequestType",
        # A mandatory notice category: it can only be named as on.
        "AlwaysOnEnum": [(True, True)],
    },
}

# --- Static files, i18n ------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
STORAGES = {
    # Exports are encrypted before they reach storage; any S3-compatible store works through
    # django-storages by setting STORAGE_BACKEND (see docs/operations.md).
    "default": {
        "BACKEND": env.str(
            "STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": env.json("STORAGE_OPTIONS", default={}),
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# WhiteNoise serves static files in development too (runserver does only with DEBUG on), from
# the apps' and static/ folders as they are now, without collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
LANGUAGE_CODE = "en"
# The portal's own catalogues, before the libraries': locale/en rewrites allauth's stock wording.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Security -----------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if env.bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF, "https:"] if PRODUCTION else [SELF, "http:", "https:"],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
    }
}

# --- Logging: no personal data (no e-mail addresses, IPs or bodies) goes into logs. -------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's request logger repeats full URLs, which may carry tokens in query strings.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING" if PRODUCTION else "INFO"},
    },
}
