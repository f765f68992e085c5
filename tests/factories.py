"""factory-boy factories shared by the whole suite."""

from __future__ import annotations

import datetime

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import AccessLogEntry, LoginEvent, Profile, User

DEFAULT_PASSWORD = "a-long-test-password-42"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def verified(obj: User, create: bool, extracted: bool | None, **kwargs: object) -> None:
        """A verified primary address unless `verified=False` is passed."""
        if create:
            obj.save()
            EmailAddress.objects.create(
                user=obj, email=obj.email, primary=True, verified=extracted is not False
            )


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class ProfileFactory(DjangoModelFactory):
    class Meta:
        model = Profile
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)
    name = factory.Faker("name")
    nickname = factory.Faker("user_name")
    occupation = factory.Faker("job")
    signature = factory.Faker("sentence", nb_words=5)
    gender = Profile.Gender.UNDISCLOSED
    birth_date = factory.Faker(
        "date_between", start_date=datetime.date(1950, 1, 1), end_date=datetime.date(2000, 1, 1)
    )
    region = "FR"
    education = Profile.Education.BACHELOR
    bio = factory.Faker("paragraph")


class LoginEventFactory(DjangoModelFactory):
    class Meta:
        model = LoginEvent

    user = factory.SubFactory(UserFactory)
    ip_address = factory.Faker("ipv4")
    user_agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
    device = "Computer"
    browser = "Chrome 120.0"
    operating_system = "Linux"
    method = LoginEvent.Method.PASSWORD


class AccessLogEntryFactory(DjangoModelFactory):
    class Meta:
        model = AccessLogEntry

    user = factory.SubFactory(UserFactory)
    ip_address = factory.Faker("ipv4")
    method = "GET"
    path = factory.Sequence(lambda n: f"/dashboard/page/{n}/")
    status_code = 200
    user_agent = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0"


# --- Staff roles and requests (the request queue's tests) ---------------------------------------


class SupportAgentFactory(UserFactory):
    is_staff = True

    @factory.post_generation
    def role(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.groups.add(role_group("Support agents"))


# The data migrations that create the staff roles and grant them permissions, in order.
ROLE_MIGRATIONS = (
    ("requests_dsar", "0002_roles_and_audit_guard", "create_roles"),
    ("consent", "0003_policy_publishing", "grant"),
    ("accounts", "0004_guardian_consent_roles", "grant"),
    ("notices", "0002_staff_roles", "grant"),
    ("requests_dsar", "0006_relative_roles", "grant"),
    ("connectors", "0002_staff_roles", "grant"),
    # The redesign's moves: content types (and so the roles' permissions) follow the models.
    ("core", "0001_initial", "MOVE_CONTENT_TYPES.code"),
    ("retention", "0001_initial", "MOVE_CONTENT_TYPES.code"),
    ("relatives", "0001_initial", "MOVE_CONTENT_TYPES.code"),
    ("announcements", "0001_initial", "MOVE_CONTENT_TYPES.code"),
    ("guardianship", "0001_initial", "MOVE_CONTENT_TYPES.code"),
)


def role_group(name: str):  # type: ignore[no-untyped-def]
    """A staff role's group. A transactional test empties every table when it ends, the roles
    the migrations made included: they are made again, by the same migration code."""
    import importlib
    import types

    from django.contrib.auth.models import Group
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    group = Group.objects.filter(name=name).first()
    if group is None:
        loader = MigrationLoader(connection)
        schema_editor = types.SimpleNamespace(connection=connection)
        for app_label, migration, function in ROLE_MIGRATIONS:
            # Each runs on the models as they were at its migration, as `migrate` ran it.
            state_apps = loader.project_state((app_label, migration), at_end=True).apps
            target: object = importlib.import_module(f"{app_label}.migrations.{migration}")
            for attribute in function.split("."):
                target = getattr(target, attribute)
            target(state_apps, schema_editor)  # type: ignore[operator]
        group = Group.objects.get(name=name)
    return group


class PrivacyOfficerFactory(UserFactory):
    is_staff = True

    @factory.post_generation
    def role(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.groups.add(role_group("Privacy officers"))


class DataSubjectRequestFactory(DjangoModelFactory):
    """A verified request with its clock running; pass `due_at`/`status` to place it."""

    class Meta:
        model = "requests_dsar.DataSubjectRequest"

    type = "access"
    status = "pending"
    subject = factory.SubFactory(UserFactory)
    requester = factory.SelfAttribute("subject")
    verified_at = factory.LazyFunction(timezone.now)
    verification_method = "reauthentication"
    due_at = factory.LazyAttribute(lambda o: o.verified_at + datetime.timedelta(days=15))


# --- Consent purposes (cookie banner and GPC tests) ---------------------------------------------


class PurposeFactory(DjangoModelFactory):
    """An optional, consent-based purpose; pass `cookie_category` / `refused_by_gpc` as needed."""

    class Meta:
        model = "consent.Purpose"
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"purpose-{n}")
    name = factory.LazyAttribute(lambda o: o.key.replace("-", " ").capitalize())
    description = factory.Faker("sentence", nb_words=10)
    legal_basis = "consent"
    is_optional = True


# --- Consent: policy versions and third parties (consent center, receipts, check API) -----------


class PolicyVersionFactory(DjangoModelFactory):
    """A published version in effect since today; pass `is_material=True` for a material one."""

    class Meta:
        model = "consent.PolicyVersion"
        django_get_or_create = ("version",)

    version = factory.Sequence(lambda n: f"{n + 1}.0")
    text = factory.LazyAttribute(lambda o: f"## Privacy policy {o.version}\n\nWhat we do.\n")
    summary_of_changes = factory.LazyAttribute(
        lambda o: "We changed how we use your data." if o.is_material else ""
    )
    last_updated = factory.LazyFunction(timezone.localdate)
    effective_on = factory.LazyFunction(timezone.localdate)
    is_material = False
    status = "published"
    published_at = factory.LazyFunction(timezone.now)


class ThirdPartyFactory(DjangoModelFactory):
    class Meta:
        model = "consent.ThirdParty"
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"sdk-{n}")
    name = factory.LazyAttribute(lambda o: f"{o.key.upper()} Analytics")
    description = "Measures how the app is used."
    data_received = "Device identifiers, usage events."
    privacy_policy_url = "https://sdk.example.com/privacy"
