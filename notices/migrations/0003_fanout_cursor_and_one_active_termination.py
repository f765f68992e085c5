"""A broadcast walks its audience from a stored cursor, and its audience closes when the walk
ends (a finished broadcast's is closed now, so retrying its failed e-mails reaches nobody new).

At most one active announcement of the end of the service, enforced by a unique index on a
constant over the rows not cancelled: the former unique index on `cancelled_at` let any number
of them through (NULLs are distinct)."""

from django.db import migrations, models
from django.db.models import F


def close_finished_audiences(apps, schema_editor):
    Broadcast = apps.get_model("notices", "Broadcast")
    Broadcast.objects.filter(state="done", audience_closed_at__isnull=True).update(
        audience_closed_at=F("finished_at")
    )


def refuse_two_active_terminations(apps, schema_editor):
    ServiceTermination = apps.get_model("notices", "ServiceTermination")
    if ServiceTermination.objects.filter(cancelled_at__isnull=True).count() > 1:
        raise RuntimeError(
            "More than one end of the service is announced and not cancelled: set cancelled_at "
            "on all but the one in force (notices_servicetermination), then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0002_staff_roles"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="servicetermination",
            name="one_active_termination",
        ),
        migrations.AddField(
            model_name="broadcast",
            name="audience_closed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="broadcast",
            name="cursor",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(close_finished_audiences, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(refuse_two_active_terminations, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="servicetermination",
            constraint=models.UniqueConstraint(
                models.Value(True),
                condition=models.Q(("cancelled_at__isnull", True)),
                name="one_active_termination",
                violation_error_message="The end of the service is already announced.",
            ),
        ),
    ]
