from django.apps import AppConfig


class RequestsDsarConfig(AppConfig):
    name = "requests_dsar"
    verbose_name = "Data-subject requests"

    def ready(self) -> None:
        from core.audit import target_labeller_register

        target_labeller_register("dsar", _request_labels)


def _request_labels(ids: list[str]) -> dict[str, str]:
    """Audit targets of kind "dsar" (request ids) as staff read them: the reference and type."""
    from .models import DataSubjectRequest

    requests = DataSubjectRequest.objects.filter(pk__in=[i for i in ids if i.isdigit()])
    return {
        str(request.pk): f"Request {request.reference} ({request.get_type_display().lower()})"
        for request in requests.only("pk", "public_id", "type")
    }
