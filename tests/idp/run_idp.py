"""Bootstrap and serve the test OpenID Connect identity provider on 127.0.0.1.

Usage (all options may also come from the environment variables shown in ``--help``)::

    python tests/idp/run_idp.py --port 8123 --db /tmp/idp.sqlite3 \\
        --client-id portal --client-secret s3cret \\
        --redirect-uris "http://testserver/accounts/oidc/idp/login/callback/" \\
        --username alice --email alice@example.org --password pw

The issuer is ``http://127.0.0.1:<port>/o``; discovery is at
``<issuer>/.well-known/openid-configuration``.
"""

import argparse
import os
import sys
from pathlib import Path


def parse_args(argv=None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=int(env("IDP_PORT", "8123")))
    p.add_argument("--db", default=env("IDP_DB_PATH"), help="SQLite file (IDP_DB_PATH)")
    p.add_argument("--client-id", default=env("IDP_CLIENT_ID", "privacy-portal"))
    p.add_argument("--client-secret", default=env("IDP_CLIENT_SECRET", "portal-secret"))
    p.add_argument(
        "--redirect-uris",
        default=env("IDP_REDIRECT_URIS", ""),
        help="space-separated list (IDP_REDIRECT_URIS)",
    )
    p.add_argument("--username", default=env("IDP_USERNAME", "alice"))
    p.add_argument("--email", default=env("IDP_EMAIL", "alice@example.org"))
    p.add_argument("--password", default=env("IDP_PASSWORD", "correct-horse-battery"))
    p.add_argument("--first-name", default=env("IDP_FIRST_NAME", "Alice"))
    p.add_argument("--last-name", default=env("IDP_LAST_NAME", "Liddell"))
    args = p.parse_args(argv)
    if not args.db:
        p.error("--db or IDP_DB_PATH is required")
    if not args.redirect_uris.split():
        p.error("--redirect-uris or IDP_REDIRECT_URIS is required")
    return args


def bootstrap(args: argparse.Namespace) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from oauth2_provider.models import get_application_model

    call_command("migrate", verbosity=0, interactive=False)
    user, _ = get_user_model().objects.update_or_create(
        username=args.username,
        defaults={
            "email": args.email,
            "first_name": args.first_name,
            "last_name": args.last_name,
        },
    )
    user.set_password(args.password)
    user.save()

    Application = get_application_model()
    Application.objects.filter(client_id=args.client_id).delete()
    # client_secret is given in plaintext; DOT hashes it on save (hash_client_secret=True).
    Application.objects.create(
        name="privacy-portal",
        client_id=args.client_id,
        client_secret=args.client_secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(args.redirect_uris.split()),
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )


def main(argv=None) -> None:
    args = parse_args(argv)
    os.environ["IDP_DB_PATH"] = str(args.db)
    os.environ["IDP_ISSUER"] = f"http://127.0.0.1:{args.port}/o"
    os.environ["DJANGO_SETTINGS_MODULE"] = "idp_project.settings"
    sys.path.insert(0, str(Path(__file__).resolve().parent))

    import django

    django.setup()
    bootstrap(args)

    from django.core.servers.basehttp import run
    from django.core.wsgi import get_wsgi_application

    print(f"IdP serving issuer {os.environ['IDP_ISSUER']}", file=sys.stderr, flush=True)
    run("127.0.0.1", args.port, get_wsgi_application(), threading=True)


if __name__ == "__main__":
    main()
