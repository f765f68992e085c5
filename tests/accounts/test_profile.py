"""Edit Your Profile: optional fields are filled, changed, cleared; bad input changes nothing."""

import datetime

import pytest
from django.urls import reverse

from accounts.models import Profile
from tests.factories import ProfileFactory

pytestmark = pytest.mark.django_db


def form_data(profile, **overrides):
    data = {
        "name": profile.name,
        "nickname": profile.nickname,
        "occupation": profile.occupation,
        "signature": profile.signature,
        "gender": profile.gender,
        "birth_date": profile.birth_date.isoformat() if profile.birth_date else "",
        "region": profile.region.code or "",
        "education": profile.education,
        "bio": profile.bio,
    }
    data.update(overrides)
    return data


@pytest.fixture
def profile(user):
    return ProfileFactory(user=user)


def test_the_profile_page_shows_the_users_own_values(user_client, profile):
    response = user_client.get(reverse("dashboard:profile"))
    assert profile.nickname in response.content.decode()


def test_a_field_can_be_changed(user_client, profile):
    user_client.post(reverse("dashboard:profile"), form_data(profile, nickname="newnick"))
    profile.refresh_from_db()
    assert profile.nickname == "newnick"


@pytest.mark.parametrize(
    "field",
    [
        "name",
        "nickname",
        "occupation",
        "signature",
        "gender",
        "birth_date",
        "region",
        "education",
        "bio",
    ],
)
def test_every_optional_field_can_be_cleared(user_client, profile, field):
    response = user_client.post(reverse("dashboard:profile"), form_data(profile, **{field: ""}))
    assert response.status_code == 302
    profile.refresh_from_db()
    assert getattr(profile, field) in ("", None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nickname", "x" * 51),
        ("bio", "x" * 2001),
        ("gender", "wizard"),
        ("education", "hogwarts"),
        ("region", "ZZ"),
        ("birth_date", (datetime.date.today() + datetime.timedelta(days=3)).isoformat()),
        ("birth_date", "0001-01-01"),
    ],
)
def test_bad_input_is_refused_with_400_and_nothing_changes(user_client, profile, field, value):
    before = Profile.objects.values().get(pk=profile.pk)
    data = form_data(profile, **{"occupation": "changed too", field: value})
    response = user_client.post(reverse("dashboard:profile"), data)
    assert response.status_code == 400
    assert Profile.objects.values().get(pk=profile.pk) == before


def test_the_profile_page_requires_login(client):
    response = client.get(reverse("dashboard:profile"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
