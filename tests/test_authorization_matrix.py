"""The authorization matrix: every route that takes an object id, asked for as each role.

The routes come from the URLconf itself (web pages, the API, downloads, receipts, the inbox,
guardian views, the staff API): a parameterized route with no entry here fails
`test_every_route_that_takes_an_id_is_in_the_matrix`, so nothing is added unguarded. Each entry
names the object of "the owner" it is asked about, and who may have it; the rest must be
refused (404 for a signed-in person, never a 403 that would confirm the object exists; the
login for an anonymous visitor; 401 from the API), and a staff member's refusal must be audited.
Routes with a signed link are also asked with a tampered and an expired link.

The admin's change views have their own matrix, below: a row of every model registered in the
admin, as each role, against what the role's permissions say (and the second factor the admin
asks for). A model newly registered without a row in the world fails
`test_every_admin_model_is_in_the_matrix`. Each test prints the matrix's size.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Any

import pytest
import time_machine
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from core.models import AuditLogEntry
from guardianship.flow import invitation
from tests.factories import (
    DataSubjectRequestFactory,
    PrivacyOfficerFactory,
    ProfileFactory,
    PurposeFactory,
    SupportAgentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROLES = (
    "owner",
    "other_user",
    "other_guardian",
    "support_agent",
    "privacy_officer",
    "staff_without_mfa",
    "anonymous",
)
STAFF_ROLES = {"support_agent", "privacy_officer", "staff_without_mfa"}
LINK_ROLES = ("tampered_link", "expired_link")


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            yield prefix + str(pattern.pattern), name


def parameterized_routes() -> dict[str, str]:
    """Route name -> pattern, for every route outside the admin that takes a parameter."""
    return {
        name: route
        for route, name in _walk(get_resolver().url_patterns)
        if ("<" in route or "(?P" in route) and not name.startswith("admin:")
    }


# --- The world every row is asked about ----------------------------------------------------------


class World:
    """The owner's objects, made when a row first asks for them."""

    @cached_property
    def owner(self) -> Any:
        user = UserFactory()
        ProfileFactory(user=user, birth_date=datetime.date(1985, 6, 1), region="DE")
        return user

    @cached_property
    def request(self) -> Any:
        return DataSubjectRequestFactory(subject=self.owner, type="access")

    @cached_property
    def unverified_request(self) -> Any:
        from requests_dsar import services

        filed, _ = services.dsar_request_create(
            subject=self.owner, requester=self.owner, type="question", details="Why?"
        )
        services.dsar_code_issue(request=filed)
        return filed

    def _completed(self, type: str) -> Any:
        """A request of the owner's of `type`, carried out by the worker's code."""
        from requests_dsar import services

        done: Any = DataSubjectRequestFactory(subject=self.owner, type=type)
        services.dsar_process(request_id=done.pk)
        done.refresh_from_db()
        return done

    @cached_property
    def copy(self) -> Any:
        """A completed copy with its archive."""
        return self._completed("copy")

    @cached_property
    def access(self) -> Any:
        """A completed access request, its data shown on the page."""
        return self._completed("access")

    @cached_property
    def transfer(self) -> Any:
        return self._completed("transfer")

    @cached_property
    def archive_link(self) -> str:
        from requests_dsar.downloads import download_url_for

        return download_url_for(self.copy.archives.get())

    @cached_property
    def purpose(self) -> Any:
        return PurposeFactory(key="newsletter", offered_to_minors=True)

    @cached_property
    def consent_event(self) -> Any:
        from consent import services
        from consent.models import Method

        return services.consent_give(
            user=self.owner, purpose=self.purpose, method=Method.API, actor=self.owner
        )

    @cached_property
    def message(self) -> Any:
        from notices.models import Category
        from notices.services import notify

        return notify(user=self.owner, category=Category.ACCOUNT_SECURITY, title="Hi", body="Hi")

    @cached_property
    def token(self) -> Any:
        from accounts import services

        return services.api_token_create(user=self.owner, name="script", lifetime=None)[0]

    @cached_property
    def session(self) -> Any:
        from allauth.usersessions.models import UserSession

        return UserSession.objects.create(
            user=self.owner, session_key="s" * 32, ip="203.0.113.7", user_agent="Firefox"
        )

    @cached_property
    def guardianship(self) -> Any:
        """The owner's approval of their ward (the invitation pages' object)."""
        from tests.guardianship.dashboard_helpers import make_guardianship

        return make_guardianship(guardian=self.owner)

    @cached_property
    def ward(self) -> Any:
        """A minor whose guardian is the owner."""
        return self.guardianship.minor

    @cached_property
    def invitation(self) -> Any:
        """An invitation to approve a minor's account, e-mailed to the owner, not yet answered."""
        from guardianship.models import Guardianship, MinorAccount
        from tests.guardianship.dashboard_helpers import make_guardianship, make_minor

        minor = make_minor()
        MinorAccount.objects.filter(user=minor).update(
            status=MinorAccount.Status.AWAITING_GUARDIAN, approved_at=None
        )
        return make_guardianship(
            guardian=self.owner,
            minor=minor,
            status=Guardianship.Status.INVITED,
            accepted_at=None,
            approved_at=None,
        )

    @cached_property
    def relative_link(self) -> str:
        """A relative's link to the owner's copy (the owner has died; a close relative asked)."""
        from relatives.downloads import relative_download_url_for
        from relatives.models import RelativeCase

        now = timezone.now()
        RelativeCase.objects.create(
            relative_name="Sam Relative",
            relative_email="sam.relative@example.org",
            relationship="child",
            deceased_email=self.owner.email,
            deceased=self.owner,
            asked="copy",
            outcome="copy",
            verified_at=now,
            decided_at=now,
            request=self.copy,
        )
        return relative_download_url_for(self.copy.archives.get())

    @cached_property
    def other_guardian(self) -> Any:
        from tests.guardianship.dashboard_helpers import make_guardianship

        return make_guardianship().guardian

    @cached_property
    def system(self) -> Any:
        from tests.connectors.factories import ConnectedSystemFactory

        # Switched off, so that the world's own requests do not wait on it.
        return ConnectedSystemFactory(enabled=False)

    @cached_property
    def job(self) -> Any:
        from tests.connectors.factories import ConnectorJobFactory

        return ConnectorJobFactory(request=self.request, system=self.system)

    def person(self, role: str) -> Any:
        makers: dict[str, Callable[[], Any]] = {
            "owner": lambda: self.owner,
            "other_user": UserFactory,
            "other_guardian": lambda: self.other_guardian,
            "support_agent": SupportAgentFactory,
            "privacy_officer": PrivacyOfficerFactory,
            "staff_without_mfa": PrivacyOfficerFactory,
        }
        return makers[role]()


def client_for(world: World, role: str) -> tuple[Client, Any]:
    """A browser signed in as `role` (staff with a second factor in the session, unless the
    role says otherwise), and that person."""
    browser = Client()
    if role in ("anonymous", *LINK_ROLES):
        return browser, None
    person = world.person(role)
    browser.force_login(person)
    session = browser.session
    # Signed in (and just re-entered the password, as the sensitive pages ask) in this session.
    records = [
        {"method": "password", "at": time.time(), "email": person.email, "reauthenticated": True}
    ]
    if role in ("support_agent", "privacy_officer"):
        records.append({"method": "mfa", "at": time.time(), "type": "totp", "id": 1})
    session["account_authentication_methods"] = records
    session["account_authentication_methods_user"] = str(person.pk)
    session.save()
    return browser, person


# --- The rows ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    """How to ask for one route, and what each role must get."""

    url: Callable[[World], str]
    method: str = "get"
    data: Callable[[World], dict[str, Any]] | None = None
    ok: int = 200  # what the roles in `allowed` get
    allowed: frozenset[str] = frozenset({"owner"})
    refused: int = 404  # what every other signed-in role gets
    anonymous: int = 302  # the sign-in page (401 from the API)
    link: bool = False  # a signed link: also asked tampered (404) and expired (410)
    link_expired: int = 410
    link_tampered: int = 404
    special: dict[str, int] = dataclasses.field(default_factory=dict)

    def expected(self, role: str) -> int:
        if role in self.special:
            return self.special[role]
        if role == "tampered_link":
            return self.link_tampered
        if role == "expired_link":
            return self.link_expired
        if role in self.allowed:
            return self.ok
        return self.anonymous if role == "anonymous" else self.refused


def api(url: Callable[[World], str], **fields: Any) -> Row:
    return Row(url=url, anonymous=401, **fields)


STAFF_API = frozenset({"support_agent", "privacy_officer"})
EVERYONE_SIGNED_IN = frozenset(set(ROLES) - {"anonymous"})


def staff_api(url: Callable[[World], str]) -> Row:
    # Not staff: 403 (the endpoint is staff-only, not someone's object); staff without a
    # second factor: 403, audited.
    return Row(url=url, allowed=STAFF_API, refused=403, anonymous=401)


def ward_url(name: str, *args: Any) -> Callable[[World], str]:
    return lambda w: reverse(name, args=[w.ward.pk, *args])


def request_url(name: str, attribute: str = "request") -> Callable[[World], str]:
    return lambda w: reverse(name, args=[getattr(w, attribute).public_id])


MATRIX: dict[str, Row] = {
    # The requester's pages.
    "dsar:detail": Row(url=request_url("dsar:detail")),
    "dsar:message": Row(
        url=request_url("dsar:message"), method="post", data=lambda w: {"body": "Hello"}, ok=302
    ),
    "dsar:verify": Row(
        url=request_url("dsar:verify", "unverified_request"),
        method="post",
        data=lambda w: {"code": "000000"},
        ok=400,
    ),
    "dsar:code_resend": Row(
        url=request_url("dsar:code_resend", "unverified_request"), method="post", ok=302
    ),
    "dsar:cancel": Row(url=request_url("dsar:cancel")),
    "dsar:transfer_token": Row(
        url=request_url("dsar:transfer_token", "transfer"), method="post", ok=302
    ),
    "dsar:data": Row(url=lambda w: reverse("dsar:data", args=[w.access.public_id, "account"])),
    "dsar_files:archive": Row(url=lambda w: w.archive_link, link=True),
    # Consent receipts and decisions.
    "consent:receipt": Row(url=lambda w: reverse("consent:receipt", args=[w.consent_event.uuid])),
    # The inbox.
    "notices:message": Row(url=lambda w: reverse("notices:message", args=[w.message.pk])),
    "notices:action": Row(
        url=lambda w: reverse("notices:action", args=[w.message.pk]),
        method="post",
        data=lambda w: {"action": "read"},
        ok=302,
    ),
    "notices:respond": Row(
        url=lambda w: reverse("notices:respond", args=[w.message.pk]),
        method="post",
        data=lambda w: {"response": "accepted"},
        ok=302,  # back to the message, which asks nothing: told so
    ),
    # The account's security page.
    "dashboard:token_revoke": Row(
        url=lambda w: reverse("dashboard:token_revoke", args=[w.token.pk]), method="post", ok=302
    ),
    # A guardian's views of their ward.
    "guardian:profile": Row(url=ward_url("guardian:profile")),
    "guardian:history": Row(url=ward_url("guardian:history")),
    "guardian:consents": Row(url=ward_url("guardian:consents")),
    "guardian:consent_decide": Row(
        url=lambda w: reverse("guardian:consent_decide", args=[w.ward.pk, w.purpose.key]),
        method="post",
        data=lambda w: {"decision": "give"},
        ok=302,
    ),
    "guardian:requests": Row(url=ward_url("guardian:requests")),
    "guardian:request_create": Row(url=ward_url("guardian:request_create", "copy")),
    "guardian:revoke": Row(url=ward_url("guardian:revoke")),
    # The guardian's invitation: its e-mailed links are the guardian's credential before they
    # sign in, so whoever holds one sees the invitation (and must sign in to answer).
    # Someone signed in to another account is told the invitation is not theirs to answer.
    "guardian_invitation:open": Row(
        url=lambda w: reverse(
            "guardian_invitation:open", args=[invitation.invitation_token(w.invitation)]
        ),
        allowed=frozenset({"owner", "anonymous"}),
        refused=403,
        link=True,
        link_tampered=400,  # "this link is not one of ours": a page that says so
    ),
    # The second confirmation, for the signed-in guardian only.
    "guardian_invitation:approve": Row(
        url=lambda w: reverse(
            "guardian_invitation:approve", args=[invitation.approval_token(w.invitation)]
        ),
        ok=302,
        link=True,
        link_tampered=400,
    ),
    # The guardian's own invitation pages (once signed in).
    "guardian_invitation:status": Row(
        url=lambda w: reverse("guardian_invitation:status", args=[w.guardianship.pk])
    ),
    "guardian_invitation:approve_verified": Row(
        url=lambda w: reverse("guardian_invitation:approve_verified", args=[w.guardianship.pk]),
        ok=302,  # already approved: to its status page
    ),
    "guardian_invitation:provider_start": Row(
        url=lambda w: reverse("guardian_invitation:provider_start", args=[w.guardianship.pk]),
        method="post",
        ok=302,  # no provider check is expected: to its status page
    ),
    "guardian_invitation:provider_return": Row(
        url=lambda w: reverse("guardian_invitation:provider_return", args=[w.guardianship.pk]),
        ok=400,  # no state from a provider: the link cannot be used
    ),
    # A relative's copy: the link is their credential (they have no account), and it opens
    # only a page that e-mails them a code (tests/relatives/test_cases.py).
    "dsar_relatives:archive": Row(
        url=lambda w: w.relative_link, allowed=frozenset(ROLES), link=True
    ),
    # The API: the person's own objects.
    "api:session-end": api(
        lambda w: reverse("api:session-end", args=[w.session.pk]), method="delete", ok=204
    ),
    "api:request": api(request_url("api:request")),
    "api:request-cancel": api(request_url("api:request-cancel"), method="post"),
    "api:request-verify": api(
        request_url("api:request-verify", "unverified_request"),
        method="post",
        data=lambda w: {"code": "000000"},
        ok=403,  # the owner's wrong code is checked and refused; others find nothing
    ),
    "api:request-code": api(
        request_url("api:request-code", "unverified_request"), method="post", ok=202
    ),
    "api:request-messages": api(request_url("api:request-messages")),
    "api:request-download": api(request_url("api:request-download", "copy"), ok=302),
    "api:consent-receipt": api(
        lambda w: reverse("api:consent-receipt", args=[w.consent_event.uuid])
    ),
    "api:inbox-message": api(lambda w: reverse("api:inbox-message", args=[w.message.pk])),
    "api:inbox-message-read": api(
        lambda w: reverse("api:inbox-message-read", args=[w.message.pk]), method="post"
    ),
    "api:inbox-message-unread": api(
        lambda w: reverse("api:inbox-message-unread", args=[w.message.pk]), method="post"
    ),
    "api:inbox-message-archive": api(
        lambda w: reverse("api:inbox-message-archive", args=[w.message.pk]), method="post"
    ),
    "api:inbox-message-unarchive": api(
        lambda w: reverse("api:inbox-message-unarchive", args=[w.message.pk]), method="post"
    ),
    "api:inbox-message-respond": api(
        lambda w: reverse("api:inbox-message-respond", args=[w.message.pk]),
        method="post",
        data=lambda w: {"response": "accepted"},
        ok=409,  # this message asks nothing: the owner is told so, others find nothing
    ),
    "api:guardian-minor": api(ward_url("api:guardian-minor")),
    "api:guardian-minor-consents": api(ward_url("api:guardian-minor-consents")),
    "api:guardian-minor-requests": api(ward_url("api:guardian-minor-requests")),
    # The staff API.
    "api:connectors-system": staff_api(
        lambda w: reverse("api:connectors-system", args=[w.system.pk])
    ),
    "api:connectors-job": staff_api(lambda w: reverse("api:connectors-job", args=[w.job.pk])),
    "api:connectors-request-progress": staff_api(request_url("api:connectors-request-progress")),
}

# Routes whose parameter names no one's object: public texts by their key, a kind of request,
# or a purpose the signed-in person decides about for themselves; and the code pages a signed-out
# person reaches, which answer the same for every id (they reveal nothing, by design:
# requests_dsar/intake.py). Listed so that the completeness test knows them.
NOT_AN_OBJECT = {
    "privacy:policy_version": "a published policy version, public",
    "privacy:purpose": "a purpose's public description",
    "dsar:create": "the kind of request to file, for oneself",
    "consent:decide": "a purpose the signed-in person decides for themselves",
    "api:consent-decision": "a purpose the caller decides for themselves",
    "dsar_public:verify": "the signed-out code page: the same page for every id",
    "dsar_relatives:verify": "the relatives' code page: the same page for every id",
    "dsar_relatives:code_resend": "sends a code only for a real, waiting case; answers alike",
}
# Routes of allauth, keyed by its own signed keys and provider names; and the guardian's
# invitation links, the guardian's only credential before they sign in. Each has its own tests,
# named here.
OWN_TESTS = {
    "account_confirm_email": "tests/accounts/test_signup.py",
    "account_reset_password_from_key": "tests/accounts/test_account_management.py",
    "openid_connect_login": "tests/accounts/test_third_party_login.py",
    "openid_connect_callback": "tests/accounts/test_third_party_login.py",
}


def test_every_route_that_takes_an_id_is_in_the_matrix(capsys):
    routes = parameterized_routes()
    known = set(MATRIX) | set(NOT_AN_OBJECT) | set(OWN_TESTS)
    missing = sorted(set(routes) - known)
    assert missing == [], f"routes with no row in the authorization matrix: {missing}"
    stale = sorted(known - set(routes))
    assert stale == [], f"rows for routes that no longer exist: {stale}"
    cells = sum(len(ROLES) + (len(LINK_ROLES) if row.link else 0) for row in MATRIX.values())
    with capsys.disabled():
        print(
            f"\nauthorization matrix: {len(MATRIX)} routes x {len(ROLES)} roles "
            f"(+ {len(LINK_ROLES)} link cases) = {cells} cells; "
            f"{len(NOT_AN_OBJECT)} routes name no object, {len(OWN_TESTS)} have their own tests"
        )


CELLS = [
    (name, role)
    for name, row in MATRIX.items()
    for role in (*ROLES, *(LINK_ROLES if row.link else ()))
]


def _tampered(url: str) -> str:
    base, token = url.rstrip("/").rsplit("/", 1)
    return f"{base}/{token[:-3]}xyz/"


@pytest.mark.parametrize(("name", "role"), CELLS, ids=[f"{n}-{r}" for n, r in CELLS])
def test_each_role_gets_what_the_matrix_says(name, role, settings):
    settings.API_DOCS_PUBLIC = True
    row = MATRIX[name]
    world = World()
    url = row.url(world)
    data = row.data(world) if row.data else {}
    browser, person = client_for(world, "owner" if role in LINK_ROLES else role)
    if role == "tampered_link":
        url = _tampered(url)
    ask = getattr(browser, row.method)
    kwargs: dict[str, Any] = {"content_type": "application/json"} if name.startswith("api:") else {}
    if role == "expired_link":
        later = timezone.now() + datetime.timedelta(
            days=settings.DSAR_ARCHIVE_LIFETIME_DAYS, hours=1
        )
        with time_machine.travel(later):
            response = ask(url, data, **kwargs)
    else:
        response = ask(url, data, **kwargs)
    assert response.status_code == row.expected(role), (
        f"{row.method.upper()} {name} as {role}: {response.status_code}, "
        f"the matrix says {row.expected(role)}"
    )
    if role in STAFF_ROLES and role not in row.allowed and person is not None:
        refused = AuditLogEntry.objects.filter(actor_user_id=person.pk, action__contains="refused")
        assert refused.exists(), f"{name}: the refusal of {role} is not audited"


# --- The admin's change views --------------------------------------------------------------------

# Every model registered in the admin, asked for one of its rows as each role: non-staff are sent
# to the sign-in, staff without a second factor to it too (audited), staff with one get the page
# if their role may view or change such rows, and a 403 (audited) if not.


def populate(world: World) -> None:
    """A row of every kind the admin shows, as far as the world makes them."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.totp.internal.auth import TOTP
    from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken

    from announcements.models import ServiceTermination
    from consent import services as consent_services
    from retention.models import LegalHold
    from tests.factories import (
        AccessLogEntryFactory,
        PolicyVersionFactory,
        StaffFactory,
        ThirdPartyFactory,
    )

    owner = world.owner
    EmailAddress.objects.get_or_create(user=owner, email=owner.email, defaults={"primary": True})
    AccessLogEntryFactory(user=owner)
    for name in (
        "token",
        "session",
        "job",
        "consent_event",
        "unverified_request",
        "relative_link",
        "ward",
    ):
        getattr(world, name)
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
    CrontabSchedule.objects.create(minute="0", hour="3")
    PeriodicTask.objects.create(name="a sweep", task="core.tasks.noop", interval=every)
    ServiceTermination.objects.create(
        ends_on=timezone.localdate() + datetime.timedelta(days=90), cancelled_at=timezone.now()
    )
    PolicyVersionFactory()
    third_party: Any = ThirdPartyFactory()
    superuser: Any = StaffFactory()
    consent_services.service_token_create(name="crm", scopes=[], actor=superuser)
    TOTP.activate(owner, "JBSWY3DPEHPK3PXP")
    LegalHold.objects.create(user=owner, reason="Litigation hold, case 7")
    from django_celery_beat.models import ClockedSchedule, SolarSchedule

    from announcements.models import Incident, TransferNotice
    from connectors.models import ManualTask
    from consent.models import Disclosure
    from guardianship.models import GuardianDocument
    from notices.models import Broadcast, Category
    from retention.models import RetentionOverride

    now = timezone.now()
    Incident.objects.create(
        title="A lost laptop",
        what_happened="A laptop was stolen.",
        found_at=now,
        measures_taken="Its disk was encrypted.",
        advice="Nothing to do.",
        declared_by=superuser,
    )
    TransferNotice.objects.create(
        kind=TransferNotice.Kind.MERGER,
        new_controller="Other Ltd",
        what_changes="Nothing.",
        effective_on=timezone.localdate(),
        created_by=superuser,
    )
    ManualTask.objects.create(job=world.job, instructions="Look in the CRM.")
    Disclosure.objects.create(user=owner, third_party=third_party, purpose=world.purpose)
    GuardianDocument.objects.create(
        guardianship=world.guardianship,
        storage_name="x.enc",
        key_id="k1",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
    )
    Broadcast.objects.create(
        source="matrix",
        kind=Broadcast.Kind.POLICY,
        category=Category.ACCOUNT_SECURITY,
        title="News",
        body="News.",
        audience={"kind": "all"},
        created_by=superuser,
    )
    RetentionOverride.objects.create(
        category="access_log", days=90, reason="Audit", set_by=superuser
    )
    ClockedSchedule.objects.create(clocked_time=now)
    SolarSchedule.objects.create(event="sunrise", latitude=48.1, longitude=11.6)
    app = SocialApp.objects.create(provider="github", name="GitHub", client_id="id", secret="s")
    account = SocialAccount.objects.create(user=owner, provider="github", uid="4711")
    SocialToken.objects.create(app=app, account=account, token="t")


# Models the world makes no row of, with why (none at present).
ADMIN_NO_ROW: dict[str, str] = {}


# Where a ModelAdmin lets more staff see its rows than the model's own permissions would, and
# why: the permissions that also open it.
ADMIN_ALSO_OPEN_TO = {
    # The request queue's workers see the holds that stop an erasure (retention/admin.py).
    "retention.LegalHold": (
        "requests_dsar.change_datasubjectrequest",
        "requests_dsar.approve_request",
    ),
    "retention.RetentionOverride": (
        "requests_dsar.change_datasubjectrequest",
        "requests_dsar.approve_request",
    ),
}


def admin_models() -> list[str]:
    return sorted(model._meta.label for model in admin.site._registry)


ADMIN_CELLS = [
    (label, role) for label in admin_models() if label not in ADMIN_NO_ROW for role in ROLES
]


def test_every_admin_model_is_in_the_matrix(capsys):
    world = World()
    populate(world)
    without_row = sorted(
        model._meta.label
        for model in admin.site._registry
        if not model._default_manager.exists() and model._meta.label not in ADMIN_NO_ROW
    )
    assert without_row == [], f"admin models with no row and no reason: {without_row}"
    with capsys.disabled():
        print(
            f"\nadmin matrix: {len(admin_models()) - len(ADMIN_NO_ROW)} models x {len(ROLES)} "
            f"roles = {len(ADMIN_CELLS)} cells; {len(ADMIN_NO_ROW)} models not yet covered"
        )


@pytest.mark.parametrize(("label", "role"), ADMIN_CELLS, ids=[f"{m}-{r}" for m, r in ADMIN_CELLS])
def test_each_role_gets_what_its_permissions_say_on_an_admin_change_view(label, role):
    world = World()
    populate(world)
    model = next(m for m in admin.site._registry if m._meta.label == label)
    row = model._default_manager.order_by("pk").first()
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
    browser, person = client_for(world, role)
    response = browser.get(url)
    if person is None or not person.is_staff:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
        return
    if role == "staff_without_mfa":
        expected = 302
    else:
        perms = (
            f"{opts.app_label}.view_{opts.model_name}",
            f"{opts.app_label}.change_{opts.model_name}",
            *ADMIN_ALSO_OPEN_TO.get(label, ()),
        )
        expected = 200 if any(person.has_perm(p) for p in perms) else 403
    assert response.status_code == expected, f"{label} as {role}: {response.status_code}"
    if expected != 200:
        assert AuditLogEntry.objects.filter(
            actor_user_id=person.pk, action="staff.access_refused"
        ).exists(), f"{label}: the refusal of {role} is not audited"
