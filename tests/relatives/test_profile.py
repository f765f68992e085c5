"""The user's own wish for after their death: set on the profile page, explained plainly,
exported with their data and erased with it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Profile
from core.models import AuditLogEntry
from requests_dsar import export, services
from requests_dsar.models import DataSubjectRequest
from tests.factories import ProfileFactory
from tests.relatives.factories import use_tmp_media

pytestmark = pytest.mark.django_db
EDIT = "/dashboard/after-death/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    return use_tmp_media(settings, tmp_path)


def test_the_profile_page_offers_the_choice_with_an_explanation(user_client):
    page = user_client.get(reverse("dashboard:profile")).content.decode()
    assert 'id="after-death"' in page
    assert "Delete everything" in page and "close relative" in page
    assert f'action="{EDIT}"' in page


def test_the_choice_is_saved_and_shown_as_chosen(user_client, user):
    response = user_client.post(EDIT, {"after_death": "delete"})
    assert response.status_code == 302
    assert Profile.objects.get(user=user).after_death == "delete"
    page = user_client.get(reverse("dashboard:profile")).content.decode()
    assert 'value="delete" id="after_death_delete" checked' in page
    assert AuditLogEntry.objects.filter(action="profile.after_death_set").exists()


def test_an_unknown_choice_is_refused_with_a_clear_message(user_client, user):
    response = user_client.post(EDIT, {"after_death": "sell-it"})
    assert response.status_code == 400
    assert "Choose one of the options." in response.content.decode()
    assert Profile.objects.filter(user=user, after_death="sell-it").count() == 0


def test_signing_in_is_needed(client):
    assert client.post(EDIT, {"after_death": "delete"}).status_code == 302
    assert not Profile.objects.filter(after_death="delete").exists()


def test_the_choice_is_in_the_users_copy_and_goes_with_an_erasure(user):
    ProfileFactory(user=user, after_death=Profile.AfterDeath.RELATIVES_COPY)
    copy, _created = services.dsar_request_create(
        subject=user, requester=user, type="copy", reauthenticated=True
    )
    services.dsar_process(request_id=copy.pk)
    rows = export.archive_read_category(copy.archives.get(), "profile")
    assert rows[0]["after_death"] == "relatives_copy"
    delete, _created = services.dsar_request_create(
        subject=user, requester=user, type="delete", reauthenticated=True
    )
    DataSubjectRequest.objects.filter(pk=delete.pk).update(act_after=None)  # cool-off over
    services.dsar_process(request_id=delete.pk)
    assert not Profile.objects.filter(user=user).exists()
