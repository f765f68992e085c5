"""Inbox messages and e-mail preferences are the user's personal data: a copy holds them and a
deletion erases them."""

from __future__ import annotations

import datetime
import io
import json
import zipfile

import pytest
import time_machine

from notices.models import Message, Preference
from requests_dsar import export, services
from requests_dsar.models import Status
from tests.requests_dsar.residue import rich_account

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _archive_storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def file_request(user, type):
    request, _created = services.dsar_request_create(
        subject=user, requester=user, type=type, reauthenticated=True
    )
    return request


def test_a_copy_holds_the_users_inbox_messages_and_preferences():
    account = rich_account()
    request = file_request(account.user, "copy")

    services.dsar_process(request_id=request.pk)

    archive = request.archives.get()
    zf = zipfile.ZipFile(io.BytesIO(b"".join(export.archive_open_decrypted(archive))))
    titles = [row["title"] for row in json.loads(zf.read("messages/message.json"))]
    preferences = json.loads(zf.read("messages/preference.json"))
    assert account.values["notice"] in titles
    assert len(titles) == Message.objects.filter(user=account.user).count()
    assert [(row["category"], row["email"]) for row in preferences] == [("policy_changes", False)]


def test_a_deletion_erases_the_users_inbox_messages_and_preferences():
    account = rich_account()
    others = rich_account()
    request = file_request(account.user, "delete")

    with time_machine.travel(request.act_after + datetime.timedelta(minutes=1)):
        services.dsar_process(request_id=request.pk)

    request.refresh_from_db()
    assert request.status == Status.COMPLETED
    assert not Message.objects.filter(user=account.user).exists()
    assert not Preference.objects.filter(user=account.user).exists()
    assert Message.objects.filter(user=others.user).exists()  # someone else's stay
    assert Preference.objects.filter(user=others.user).exists()
