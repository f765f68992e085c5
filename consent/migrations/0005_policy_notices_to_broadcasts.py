"""Policy-update notices move to the notices app: each material version is told through a
`notices.Broadcast` (inbox + e-mail), and the e-mail-only `PolicyNotice` rows go.

What the old rows knew is kept: each material version that had notices gets its broadcast
(source "policy:<id>") with one message per user already reached, in the matching e-mail state,
so nobody is e-mailed twice. A version published within the old sweep's window (30 days) is left
"sending": the notices sweep resumes it, telling in their inbox the earlier users not yet reached.
The periodic task of the old sweep is removed from the beat schedule stored in the database.
"""

import datetime

from django.conf import settings
from django.db import migrations
from django.utils import timezone

# The old sweep looked at versions published within this window; a broadcast for one of them
# stays "sending" so that the notices sweep finishes its fan-out.
RESUME_WINDOW = datetime.timedelta(days=30)
BATCH = 1000
EMAIL_STATE = {
    "pending": "pending",
    "sending": "sending",
    "sent": "sent",
    "refused": "failed",
    "skipped": "no_address",
}


def _wording(version):
    # The wording of the time, fixed here: the live one (consent.policy_notices) may change.
    effective = f"{version.effective_on.day} {version.effective_on:%B %Y}"
    path = f"/privacy/policy/{version.version}/"
    title = f"Our privacy policy changes on {effective}"
    body = (
        f"We have changed our privacy policy. Version {version.version} takes effect on "
        f"{effective}.\n\nWhat changes:\n{version.summary_of_changes}\n\n"
        f"Read the new version:\n{settings.PORTAL_URL.rstrip('/')}{path}"
    )
    return title[:200], body, path


def notices_to_broadcasts(apps, schema_editor):
    PolicyVersion = apps.get_model("consent", "PolicyVersion")
    PolicyNotice = apps.get_model("consent", "PolicyNotice")
    Broadcast = apps.get_model("notices", "Broadcast")
    Message = apps.get_model("notices", "Message")
    now = timezone.now()
    versions = PolicyVersion.objects.filter(
        status="published", is_material=True, published_at__isnull=False
    ).order_by("pk")
    for version in versions:
        notices = PolicyNotice.objects.filter(version=version).order_by("user_id")
        recent = version.published_at >= now - RESUME_WINDOW
        if not recent and not notices.exists():
            continue
        source = f"policy:{version.pk}"
        if Broadcast.objects.filter(source=source).exists():
            continue
        title, body, link = _wording(version)
        broadcast = Broadcast.objects.create(
            source=source,
            kind="policy",
            category="policy_changes",
            title=title,
            body=body,
            link=link,
            audience={"kind": "joined_before", "at": version.published_at.isoformat()},
            state="sending" if recent else "done",
            created_by_id=version.published_by_id,
            created_at=version.published_at,
            # Old enough that the notices sweep picks up a resumed one at once.
            last_activity_at=version.published_at,
            finished_at=None if recent else now,
        )
        batch = []
        for notice in notices.iterator(chunk_size=BATCH):
            batch.append(
                Message(
                    user_id=notice.user_id,
                    broadcast=broadcast,
                    category="policy_changes",
                    title=title,
                    body=body,
                    link=link,
                    created_at=notice.created_at,
                    email_state=EMAIL_STATE[notice.state],
                    email_attempts=0 if notice.attempted_at is None else 1,
                    emailed_at=notice.sent_at,
                )
            )
            if len(batch) >= BATCH:
                Message.objects.bulk_create(batch)
                batch = []
        Message.objects.bulk_create(batch)


def remove_old_sweep(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    removed, _ = PeriodicTask.objects.filter(task="consent.tasks.sweep_policy_notices").delete()
    if removed:
        # How a running beat learns that its schedule changed.
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0004_inbox_notice_method"),
        ("notices", "0001_initial"),
        ("django_celery_beat", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(notices_to_broadcasts, migrations.RunPython.noop),
        migrations.RunPython(remove_old_sweep, migrations.RunPython.noop),
        migrations.DeleteModel(name="PolicyNotice"),
    ]
