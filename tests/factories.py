"""factory-boy factories shared by the whole suite."""

from __future__ import annotations

import datetime

import factory
from allauth.account.models import EmailAddress
from factory.django import DjangoModelFactory

from accounts.models import LoginEvent, Profile, User

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
