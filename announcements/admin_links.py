"""The admin page of the announcement a broadcast tells (registered into notices' admin links
from `AnnouncementsConfig.ready()`)."""

from __future__ import annotations

from django.urls import reverse

from notices.models import Broadcast

from .models import Incident, IncidentUpdate, TransferNotice


def announcement_admin_url(broadcast: Broadcast) -> str | None:
    """The incident's page for its notice and its updates', the transfer notice's, or None."""
    incident = Incident.objects.filter(broadcast=broadcast).values_list("pk", flat=True).first()
    if incident is None:
        incident = (
            IncidentUpdate.objects.filter(broadcast=broadcast)
            .values_list("incident_id", flat=True)
            .first()
        )
    if incident is not None:
        return reverse("admin:announcements_incident_change", args=[incident])
    transfer = TransferNotice.objects.filter(broadcast=broadcast).values_list("pk", flat=True)
    if transfer:
        return reverse("admin:announcements_transfernotice_change", args=[transfer[0]])
    return None
