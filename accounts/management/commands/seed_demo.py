"""Load demo data: a staff superuser with MFA ready and a demo user with a full profile.

Idempotent: running it again changes nothing that is already there.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services
from accounts.models import User
from consent.seed import seed_consent_catalogue

STAFF_EMAIL = "staff@example.com"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password-123"  # noqa: S105 - published demo credentials
STAFF_PASSWORD = "staff-password-123"  # noqa: S105
# A fixed, published TOTP secret so a newcomer can add the demo staff login to an authenticator app.
STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105


class Command(BaseCommand):
    help = "Load idempotent demo data (demo user and MFA-ready staff superuser)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--port",
            default="",
            help="The port the portal is served on, to check it against PORTAL_URL (the printed "
            "links and those in e-mails follow PORTAL_URL).",
        )
        parser.add_argument(
            "--product-url",
            default="",
            help="Where the example product service answers (scripts/run.sh starts it).",
        )
        parser.add_argument(
            "--product-secret-file", default="", help="A file holding its shared secret."
        )
        parser.add_argument("--support-dsn", default="", help="The support desk's database DSN.")
        parser.add_argument(
            "--product-keys-file",
            default="",
            help="Where to write the product service's PRODUCT_SERVICE_KEYS setting.",
        )

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        seed_consent_catalogue()  # policy 1.0, purposes, demo SDK list
        staff = self._user(STAFF_EMAIL, STAFF_PASSWORD, superuser=True)
        if not Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(staff, STAFF_TOTP_SECRET)
            RecoveryCodes.activate(staff)
        demo = self._user(DEMO_EMAIL, DEMO_PASSWORD, superuser=False)
        services.profile_update(
            user=demo,
            actor=demo,
            data={
                "name": "Dana Demo",
                "nickname": "dana",
                "occupation": "Music production",
                "signature": "Always listening.",
                "gender": "undisclosed",
                "birth_date": datetime.date(1990, 4, 12),
                "region": "DE",
                "education": "master",
                "bio": "Demo account of the privacy portal.",
            },
        )
        services.profile_update(
            user=staff,
            actor=staff,
            data={"name": "Sam Staff", "birth_date": datetime.date(1985, 1, 1)},
        )
        systems = self._connected_systems(staff, options)
        codes = RecoveryCodes(Authenticator.objects.get(user=staff, type="recovery_codes"))
        # The links printed are those e-mails, receipts and manifests carry: PORTAL_URL, which
        # `make run` derives from HOST and PORT.
        base = settings.PORTAL_URL
        port = str(options.get("port") or "")
        if port and str(urlsplit(base).port or "") != port:
            self.stderr.write(
                f"Warning: PORTAL_URL is {base}, not on port {port}: links in e-mails will "
                "point there. Set PORTAL_URL to the address the portal is served on."
            )
        self.stdout.write(
            "\nDemo data is ready.\n"
            f"  Portal:      {base}/\n"
            f"  Dashboard:   {base}/dashboard/   {DEMO_EMAIL} / {DEMO_PASSWORD}\n"
            f"  Staff admin: {base}/admin/       {STAFF_EMAIL} / {STAFF_PASSWORD}\n"
            f"               TOTP secret {STAFF_TOTP_SECRET} (add it to an authenticator app)\n"
            f"               or a recovery code: {', '.join(codes.get_unused_codes()[:2])}\n"
            f"  API docs:    {base}/api/docs/\n"
            f"  Connected:   {systems}\n"
        )

    def _connected_systems(self, staff: User, options: dict[str, object]) -> str:
        """The example product service and support desk, when scripts/run.sh started them."""
        url, dsn = str(options.get("product_url") or ""), str(options.get("support_dsn") or "")
        secret_file = str(options.get("product_secret_file") or "")
        from connectors.demo import demo_systems_disable, demo_systems_seed

        if not (url and dsn and secret_file):
            demo_systems_disable(actor=staff)
            return "none (the example product service was not started)"

        keys = demo_systems_seed(
            actor=staff,
            product_url=url,
            secret=Path(secret_file).read_text().strip(),
            dsn=dsn,
        )
        keys_file = str(options.get("product_keys_file") or "")
        if keys_file:
            Path(keys_file).write_text(keys + "\n")
            Path(keys_file).chmod(0o600)
        return f"Product at {url} (HTTP connector), Support desk (database connector)"

    def _user(self, email: str, password: str, *, superuser: bool) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            create = User.objects.create_superuser if superuser else User.objects.create_user
            user = create(email=email, password=password)
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user
