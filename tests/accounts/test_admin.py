"""Staff reach /admin/ only with a second factor; hashes and MFA secrets are never shown."""

import re

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from django.urls import reverse

from tests.factories import StaffFactory, UserFactory
from tests.requests_dsar.staff import totp_code

pytestmark = pytest.mark.django_db

SECRET = pyotp.random_base32()


def staff_signed_in_with_totp(password):
    staff = StaffFactory()
    TOTP.activate(staff, SECRET)
    client = Client()
    client.post(reverse("account_login"), {"login": staff.email, "password": password})
    client.post(reverse("mfa_authenticate"), {"code": totp_code(SECRET)})
    return staff, client


def test_a_staff_user_without_a_second_factor_is_refused(password):
    staff = StaffFactory()
    client = Client()
    client.post(reverse("account_login"), {"login": staff.email, "password": password})
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert b"second factor is required" in response.content


def test_a_staff_session_forced_in_without_mfa_is_refused():
    client = Client()
    client.force_login(StaffFactory())
    assert client.get("/admin/accounts/user/").status_code == 302
    assert client.get("/admin/login/").status_code == 403


def test_a_staff_user_signed_in_with_totp_reaches_the_admin(password):
    _staff, client = staff_signed_in_with_totp(password)
    assert client.get("/admin/").status_code == 200


def test_anonymous_visitors_are_sent_to_the_portal_login():
    response = Client().get("/admin/")
    assert response.status_code == 302
    login = Client().get(response.url)
    assert login.url.startswith(reverse("account_login"))


def test_a_non_staff_user_with_mfa_is_refused(password):
    user = UserFactory()
    TOTP.activate(user, SECRET)
    client = Client()
    client.post(reverse("account_login"), {"login": user.email, "password": password})
    client.post(reverse("mfa_authenticate"), {"code": totp_code(SECRET)})
    response = client.get("/admin/")
    assert response.status_code == 302


def test_the_user_page_shows_no_password_hash(password):
    staff, client = staff_signed_in_with_totp(password)
    page = client.get(reverse("admin:accounts_user_change", args=[staff.pk])).content.decode()
    assert staff.password.split("$")[-1] not in page


def test_the_authenticator_page_shows_no_secret(password):
    staff, client = staff_signed_in_with_totp(password)
    authenticator = Authenticator.objects.get(user=staff, type="totp")
    page = client.get(
        reverse("admin:mfa_authenticator_change", args=[authenticator.pk])
    ).content.decode()
    assert SECRET not in page
    assert authenticator.data["secret"] not in page


def test_totp_secrets_are_encrypted_at_rest():
    user = UserFactory()
    TOTP.activate(user, SECRET)
    stored = Authenticator.objects.get(user=user).data["secret"]
    assert stored != SECRET
    assert TOTP(Authenticator.objects.get(user=user)).validate_code(totp_code(SECRET))


def test_a_staff_correction_of_a_profile_is_saved_and_audited(password):
    from accounts.models import Profile
    from core.models import AuditLogEntry
    from tests.factories import ProfileFactory

    staff, client = staff_signed_in_with_totp(password)
    profile = ProfileFactory(nickname="typo")
    url = reverse("admin:accounts_profile_change", args=[profile.pk])
    data = {
        "nickname": "fixed",
        "name": profile.name,
        "occupation": profile.occupation,
        "signature": profile.signature,
        "gender": profile.gender,
        "birth_date": profile.birth_date.isoformat(),
        "region": "FR",
        "education": profile.education,
        "bio": profile.bio,
    }
    response = client.post(url, data)
    assert response.status_code == 302
    assert Profile.objects.get(pk=profile.pk).nickname == "fixed"
    entry = AuditLogEntry.objects.get(action="profile.corrected")
    assert (entry.actor_user_id, entry.target_id, entry.data) == (
        staff.pk,
        str(profile.user_id),
        {"fields": ["nickname"]},
    )


def test_a_privacy_officer_cannot_make_themselves_superuser_or_set_passwords(password):
    from django.contrib.auth.models import Group

    officer = StaffFactory(is_superuser=False)
    officer.groups.add(Group.objects.get(name="Privacy officers"))
    TOTP.activate(officer, SECRET)
    client = Client()
    client.post(reverse("account_login"), {"login": officer.email, "password": password})
    client.post(reverse("mfa_authenticate"), {"code": totp_code(SECRET)})
    victim = UserFactory()
    password_page = reverse("admin:auth_user_password_change", args=[victim.pk])
    assert (
        client.post(password_page, {"password1": "x" * 12, "password2": "x" * 12}).status_code
        == 403
    )
    page = client.get(reverse("admin:accounts_user_change", args=[officer.pk]))
    assert page.status_code == 200
    change = page.content.decode()
    assert 'name="is_active"' not in change  # a staff account: a superuser's to switch off
    assert 'name="is_superuser"' not in change
    assert 'name="email"' not in change


def test_the_admin_home_has_one_accounts_section_and_no_schedule_internals_for_support():
    from django.contrib.auth.models import Permission

    from tests.factories import SupportAgentFactory
    from tests.requests_dsar.staff import signed_in

    agent = SupportAgentFactory()
    # Even with the right to see them, the schedule's internals stay out of a support agent's way.
    agent.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="django_celery_beat")
    )
    agent.user_permissions.add(*Permission.objects.filter(codename="view_emailaddress"))
    html = signed_in(agent).get(reverse("admin:index")).content.decode()
    sections = re.findall(r"<caption>\s*<a[^>]*>([^<]+)</a>", html)
    assert sections.count("Accounts") == 1
    assert "Email addresses" in html and "Periodic tasks" not in html and "Solar" not in html
