"""Load demo data: a staff superuser with MFA ready, a demo user with a full profile, and each
app's part of the demo (accounts/demo.py: the policy and purposes, the connected systems).

Idempotent: running it again changes nothing that is already there. It publishes its passwords
and TOTP secret, so it refuses a production deployment (`DJANGO_ENV=production`) outright, and a
database that holds other people's accounts but was never seeded unless told `--force`.
"""

from __future__ import annotations

import datetime
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import services
from accounts.demo import add_demo_arguments, demo_parts
from accounts.models import User

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
            "--force",
            action="store_true",
            help="Seed a database that already holds accounts other than the demo's own.",
        )
        add_demo_arguments(parser)

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        self._refuse_a_real_deployment(force=bool(options.get("force")))
        for part in demo_parts(before_accounts=True):  # policy 1.0, purposes, demo SDK list
            part.seed(None, options)
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
        lines = []
        for part in demo_parts(before_accounts=False):  # the connected systems
            text = part.seed(staff, options)
            if part.label:
                lines.append(f"  {part.label + ':':<13}{text}\n")
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
            f"  API docs:    {base}/api/docs/\n" + "".join(lines)
        )

    def _refuse_a_real_deployment(self, *, force: bool) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "seed_demo refuses to run with DJANGO_ENV=production: it creates a superuser "
                "whose password and TOTP secret are published."
            )
        demo_emails = {STAFF_EMAIL, DEMO_EMAIL}
        seeded_before = User.objects.filter(email=STAFF_EMAIL).exists()
        others = User.objects.exclude(email__in=demo_emails).count()
        if others and not seeded_before and not force:
            raise CommandError(
                f"seed_demo refuses to seed a database that holds {others} other account(s) "
                "and no demo data: it would add a superuser with a published password. "
                "Run it with --force if this database is meant for the demo."
            )

    def _user(self, email: str, password: str, *, superuser: bool) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            create = User.objects.create_superuser if superuser else User.objects.create_user
            user = create(email=email, password=password)
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user
