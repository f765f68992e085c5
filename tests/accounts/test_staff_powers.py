"""What staff may do to an account: a correction that would start the guardian flow (suspend,
then erase without a guardian) is a privacy officer's, never applies to staff accounts, and a
refusal is audited; the active flag of staff accounts is a superuser's."""

from __future__ import annotations

import datetime

import pytest
from allauth.usersessions.models import UserSession
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Profile
from core.models import AuditLogEntry
from guardianship.models import MinorAccount
from tests.factories import (
    PrivacyOfficerFactory,
    ProfileFactory,
    StaffFactory,
    SupportAgentFactory,
    UserFactory,
)
from tests.requests_dsar.staff import signed_in

pytestmark = pytest.mark.django_db

A_MINORS_BIRTH_DATE = "2015-03-01"


def correction(profile: Profile, **changes: str) -> dict[str, str]:
    data = {
        "nickname": profile.nickname,
        "name": profile.name,
        "occupation": profile.occupation,
        "signature": profile.signature,
        "gender": profile.gender,
        "birth_date": profile.birth_date.isoformat() if profile.birth_date else "",
        "region": "DE",
        "education": profile.education,
        "bio": profile.bio,
    }
    data.update(changes)
    return data


def adult_profile(user=None):  # type: ignore[no-untyped-def]
    return ProfileFactory(
        user=user or UserFactory(), birth_date=datetime.date(1985, 6, 1), region="DE"
    )


def post_correction(client, profile: Profile, **changes: str):  # type: ignore[no-untyped-def]
    url = reverse("admin:accounts_profile_change", args=[profile.pk])
    return client.post(url, correction(profile, **changes))


def test_a_support_agent_cannot_make_an_account_a_minors(password):
    profile = adult_profile()
    UserSession.objects.create(
        user=profile.user, session_key="s" * 32, ip="192.0.2.1", user_agent="test"
    )
    response = post_correction(
        signed_in(SupportAgentFactory()), profile, birth_date=A_MINORS_BIRTH_DATE
    )

    assert response.status_code == 200  # the form again, with the reason
    assert "Only a privacy officer can make this correction" in response.content.decode()
    assert Profile.objects.get(pk=profile.pk).birth_date == datetime.date(1985, 6, 1)
    assert not MinorAccount.objects.exists()
    assert UserSession.objects.filter(user=profile.user).exists()  # nobody was signed out
    refusal = AuditLogEntry.objects.get(action="profile.correction_refused")
    assert refusal.target_id == str(profile.user_id)
    assert refusal.data == {"reason": "needs_officer", "fields": ["birth_date"]}


def test_a_support_agent_cannot_lock_an_officer_out_by_their_date_of_birth(password):
    officer = PrivacyOfficerFactory()
    profile = adult_profile(officer)
    response = post_correction(
        signed_in(SupportAgentFactory()), profile, birth_date=A_MINORS_BIRTH_DATE
    )
    assert "This is a staff account" in response.content.decode()
    assert Profile.objects.get(pk=profile.pk).birth_date == datetime.date(1985, 6, 1)
    assert not MinorAccount.objects.exists()
    assert signed_in(officer).get(reverse("admin:index")).status_code == 200


def test_even_an_officer_never_makes_a_staff_account_a_minors(password):
    profile = adult_profile(StaffFactory())
    response = post_correction(
        signed_in(PrivacyOfficerFactory()), profile, birth_date=A_MINORS_BIRTH_DATE
    )
    assert "This is a staff account" in response.content.decode()
    assert not MinorAccount.objects.exists()
    assert AuditLogEntry.objects.get(action="profile.correction_refused").data["reason"] == (
        "staff_account"
    )


def test_an_officers_correction_starts_the_guardian_flow_and_is_audited(password):
    officer = PrivacyOfficerFactory()
    profile = adult_profile()
    response = post_correction(signed_in(officer), profile, birth_date=A_MINORS_BIRTH_DATE)
    assert response.status_code == 302
    account = MinorAccount.objects.get(user=profile.user)
    assert (account.status, account.reason) == ("suspended", "staff")
    started = AuditLogEntry.objects.get(action="minor.guardian_required")
    assert started.actor_user_id == officer.pk


def test_a_support_agent_still_corrects_an_adults_date_of_birth(password):
    profile = adult_profile()
    response = post_correction(signed_in(SupportAgentFactory()), profile, birth_date="1986-06-01")
    assert response.status_code == 302
    assert Profile.objects.get(pk=profile.pk).birth_date == datetime.date(1986, 6, 1)


def test_the_same_correction_outside_the_admin_is_refused_and_saves_nothing():
    profile = adult_profile()
    with pytest.raises(ValidationError, match="Only a privacy officer"):
        services.profile_update(
            user=profile.user,
            actor=SupportAgentFactory(),
            data={"birth_date": datetime.date(2015, 3, 1)},
        )
    assert Profile.objects.get(pk=profile.pk).birth_date == datetime.date(1985, 6, 1)
    assert not MinorAccount.objects.exists()


def test_a_minor_correcting_their_own_date_of_birth_still_waits_for_a_guardian():
    profile = adult_profile()
    services.profile_update(
        user=profile.user, actor=profile.user, data={"birth_date": datetime.date(2015, 3, 1)}
    )
    assert MinorAccount.objects.get(user=profile.user).reason == "profile"


def test_the_flag_action_never_suspends_a_staff_account(password):
    from guardianship import flow

    agent = SupportAgentFactory()
    ProfileFactory(user=agent, birth_date=timezone.localdate().replace(year=2015), region="DE")
    result = flow.minor_flag_by_staff(user=agent, actor=PrivacyOfficerFactory())
    assert not result.flagged
    assert not MinorAccount.objects.exists()
    assert AuditLogEntry.objects.filter(action="minor.flag_refused").exists()


def test_only_a_superuser_switches_a_staff_account_off(password):
    superuser = StaffFactory()
    officer_client = signed_in(PrivacyOfficerFactory())
    page = officer_client.get(reverse("admin:accounts_user_change", args=[superuser.pk]))
    assert 'name="is_active"' not in page.content.decode()
    officer_client.post(
        reverse("admin:accounts_user_change", args=[superuser.pk]),
        {"is_active": "", "profile-TOTAL_FORMS": "0", "profile-INITIAL_FORMS": "0"},
    )
    superuser.refresh_from_db()
    assert superuser.is_active

    customer = UserFactory()
    page = officer_client.get(reverse("admin:accounts_user_change", args=[customer.pk]))
    assert 'name="is_active"' in page.content.decode()  # an ordinary account: theirs to do
