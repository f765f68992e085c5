"""The notices core: telling one user, preferences, and the broadcast fan-out."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from notices import fanout, services
from notices.models import Broadcast, Category, EmailState, Message
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_notice_reaches_the_inbox_and_the_mailbox(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        message = services.notify(
            user=user, category=Category.SERVICE_NOTICES, title="Maintenance", body="Tonight."
        )
    message.refresh_from_db()
    assert message.email_state == EmailState.SENT
    assert services.inbox_counts(user).unread == 1
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert f"/dashboard/inbox/{message.pk}/" in mail.outbox[0].body


def test_an_opted_out_category_stays_in_the_inbox_only(django_capture_on_commit_callbacks):
    user = UserFactory()
    services.preferences_update(user=user, choices={Category.SERVICE_NOTICES: False})
    with django_capture_on_commit_callbacks(execute=True):
        message = services.notify(
            user=user, category=Category.SERVICE_NOTICES, title="Maintenance", body="Tonight."
        )
    assert message.email_state == EmailState.NOT_WANTED
    assert mail.outbox == []


def test_mandatory_categories_cannot_be_switched_off():
    user = UserFactory()
    with pytest.raises(ValidationError, match="cannot be switched off"):
        services.preferences_update(user=user, choices={Category.SECURITY_INCIDENTS: False})
    assert not user.notice_preferences.exists()


def test_an_unverified_address_gets_no_mail(django_capture_on_commit_callbacks):
    user = UserFactory(verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        message = services.notify(
            user=user, category=Category.REQUEST_UPDATES, title="Update", body="Done."
        )
    assert message.email_state == EmailState.NO_ADDRESS
    assert mail.outbox == []


def test_a_broadcast_reaches_each_user_once_even_when_run_again(
    django_capture_on_commit_callbacks,
):
    users = UserFactory.create_batch(7)
    services.preferences_update(user=users[0], choices={Category.SERVICE_NOTICES: False})
    with django_capture_on_commit_callbacks(execute=True):
        broadcast = services.broadcast_create(
            source="test:1",
            kind=Broadcast.Kind.SERVICE,
            category=Category.SERVICE_NOTICES,
            title="New feature",
            body="Read more.",
            audience={"kind": "all"},
        )
    # Running it again (a redelivered task) changes nothing.
    while fanout.broadcast_step(broadcast_id=broadcast.pk, batch_size=3):
        pass
    assert Message.objects.filter(broadcast=broadcast).count() == 7
    assert len(mail.outbox) == 6
    broadcast.refresh_from_db()
    assert broadcast.state == Broadcast.State.DONE
    progress = fanout.broadcast_progress(broadcast)
    assert (progress.delivered, progress.sent, progress.site_only) == (7, 6, 1)


def test_the_same_source_makes_one_broadcast():
    UserFactory()
    first = services.broadcast_create(
        source="test:2",
        kind=Broadcast.Kind.SERVICE,
        category=Category.SERVICE_NOTICES,
        title="A",
        body="B",
        audience={"kind": "all"},
    )
    again = services.broadcast_create(
        source="test:2",
        kind=Broadcast.Kind.SERVICE,
        category=Category.SERVICE_NOTICES,
        title="A",
        body="B",
        audience={"kind": "all"},
    )
    assert first.pk == again.pk


@pytest.mark.parametrize(
    "audience",
    [
        {},
        {"kind": "everyone"},
        {"kind": "users", "ids": []},
        {"kind": "users", "ids": ["1"]},
        {
            "kind": "logged_in",
            "after": "2026-01-02T00:00:00+00:00",
            "before": "2026-01-01T00:00:00+00:00",
        },
        {"kind": "logged_in", "after": "yesterday"},
        {"kind": "data_category", "category": "nope"},
        {"kind": "broadcast", "id": 999},
    ],
)
def test_a_bad_audience_is_refused_with_a_message(audience):
    with pytest.raises(ValidationError):
        services.broadcast_create(
            source="test:bad",
            kind=Broadcast.Kind.SERVICE,
            category=Category.SERVICE_NOTICES,
            title="A",
            body="B",
            audience=audience,
        )
    assert not Broadcast.objects.exists()


def test_a_listed_audience_reaches_only_those_users(django_capture_on_commit_callbacks):
    chosen, other = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.broadcast_create(
            source="test:3",
            kind=Broadcast.Kind.SERVICE,
            category=Category.SERVICE_NOTICES,
            title="A",
            body="B",
            audience={"kind": "users", "ids": [chosen.pk]},
        )
    assert list(Message.objects.values_list("user_id", flat=True)) == [chosen.pk]
    assert not other.messages.exists()
