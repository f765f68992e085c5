"""The move of policy-update notices to the notices app keeps who was already told: nobody is
e-mailed twice, and a recent fan-out is left for the notices sweep to finish."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from notices.fanout import broadcast_step

BEFORE = [("consent", "0004_inbox_notice_method")]
AFTER = [("consent", "0005_policy_notices_to_broadcasts")]


@pytest.fixture
def executor():  # type: ignore[no-untyped-def]
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield executor
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def _version(apps, label: str, published_at: datetime.datetime):  # type: ignore[no-untyped-def]
    return apps.get_model("consent", "PolicyVersion").objects.create(
        version=label,
        text="Text.",
        summary_of_changes="We added a section about location.",
        last_updated=published_at.date(),
        effective_on=published_at.date(),
        is_material=True,
        status="published",
        published_at=published_at,
    )


@pytest.mark.django_db(transaction=True)
def test_old_notices_become_broadcast_messages_in_the_same_email_state(executor):
    apps = executor.loader.project_state(BEFORE).apps
    User = apps.get_model("accounts", "User")
    PolicyNotice = apps.get_model("consent", "PolicyNotice")
    now = timezone.now()
    joined = now - datetime.timedelta(days=90)
    told, refused, waiting = (
        User.objects.create(email=f"p{n}@example.org", date_joined=joined) for n in range(3)
    )
    old = _version(apps, "1.0", now - datetime.timedelta(days=60))
    recent = _version(apps, "2.0", now - datetime.timedelta(days=2))
    PolicyNotice.objects.create(version=old, user=told, state="sent", sent_at=now)
    PolicyNotice.objects.create(version=recent, user=told, state="sent", sent_at=now)
    PolicyNotice.objects.create(version=recent, user=refused, state="refused", attempted_at=now)
    PolicyNotice.objects.create(version=recent, user=waiting, state="pending")

    executor.loader.build_graph()
    executor.migrate(AFTER)

    apps = executor.loader.project_state(AFTER).apps
    Broadcast = apps.get_model("notices", "Broadcast")
    Message = apps.get_model("notices", "Message")
    states = dict(
        Message.objects.filter(broadcast__source=f"policy:{recent.pk}").values_list(
            "user_id", "email_state"
        )
    )
    assert states == {told.pk: "sent", refused.pk: "failed", waiting.pk: "pending"}
    # The recent fan-out is resumed by the notices sweep; the old one is over.
    assert Broadcast.objects.get(source=f"policy:{recent.pk}").state == "sending"
    assert Broadcast.objects.get(source=f"policy:{old.pk}").state == "done"
    # Resumed, it e-mails only the one still waiting.
    resumed = Broadcast.objects.get(source=f"policy:{recent.pk}").pk
    while broadcast_step(broadcast_id=resumed):
        pass
    assert [message.to for message in mail.outbox] == [[waiting.email]]
