"""The connectors API's shapes: systems and jobs as staff see them (never a secret, a DSN or a
subject's identifiers), a request's progress, and a system's callback."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api_fields import ModelSerializer, QuerySerializer, StrictCharField, StrictURLField
from requests_dsar.serializers import DetailSerializer as _DetailSerializer

from .models import ConnectedSystem, ConnectorJob, JobStatus, JobType, Kind


class BreakerSerializer(serializers.Serializer):
    open = serializers.BooleanField(help_text="True while sends to the system are held back.")
    consecutive_failures = serializers.IntegerField()
    open_until = serializers.DateTimeField(allow_null=True)


class ConnectedSystemSerializer(ModelSerializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    purposes: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="key", many=True, read_only=True
    )
    third_party: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="key", read_only=True, allow_null=True
    )
    categories = serializers.ListField(child=StrictCharField())
    request_types = serializers.ListField(child=StrictCharField())
    identifiers = serializers.ListField(child=StrictCharField())
    key_id = serializers.SerializerMethodField(
        help_text="The id of the current signing secret (HTTP connectors); null without one."
    )
    previous_key_id = StrictCharField(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField(
        help_text="Where jobs are POSTed (HTTP connectors); null for other kinds."
    )
    breaker = serializers.SerializerMethodField()

    class Meta:
        model = ConnectedSystem
        fields = [
            "id",
            "key",
            "name",
            "owner_team",
            "description",
            "kind",
            "categories",
            "purposes",
            "third_party",
            "request_types",
            "identifiers",
            "enabled",
            "url",
            "timeout_seconds",
            "key_id",
            "previous_key_id",
            "max_attempts",
            "retry_base_seconds",
            "failure_threshold",
            "cooldown_seconds",
            "breaker",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_key_id(self, system: ConnectedSystem) -> str | None:
        return system.key_id if system.secret_encrypted else None

    # A database or manual system has no URL: null, as "" is no URI.
    @extend_schema_field(StrictURLField(allow_null=True))
    def get_url(self, system: ConnectedSystem) -> str | None:
        return system.url or None

    @extend_schema_field(BreakerSerializer)
    def get_breaker(self, system: ConnectedSystem) -> dict[str, Any]:
        return {
            "open": system.breaker_open,
            "consecutive_failures": system.consecutive_failures,
            "open_until": system.open_until,
        }


class ConnectorJobSerializer(ModelSerializer):
    request = serializers.UUIDField(source="request.public_id", read_only=True)
    system_name = StrictCharField(source="system.name", read_only=True)
    type = serializers.ChoiceField(choices=JobType.choices)
    status = serializers.ChoiceField(choices=JobStatus.choices)
    has_result = serializers.SerializerMethodField()

    class Meta:
        model = ConnectorJob
        fields = [
            "id",
            "request",
            "system",
            "system_name",
            "type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "result_summary",
            "confirmation",
            "has_result",
            "excepted_reason",
            "excepted_at",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields

    def get_has_result(self, job: ConnectorJob) -> bool:
        return bool(job.result_storage_name)


class JobFilterSerializer(QuerySerializer):
    request = serializers.UUIDField(required=False, help_text="A request's public id.")
    system = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    status = serializers.ChoiceField(choices=JobStatus.choices, required=False)


class CallbackSerializer(serializers.Serializer):
    """A result (docs/connector-openapi.yaml, `Result`): for documentation; the view parses the
    signed bytes itself."""

    job_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=[("done", "done"), ("failed", "failed")])
    # A field named `data` (the protocol's name): DRF's metaclass takes it out of the class.
    data = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.DictField()),
        required=False,
        help_text="Exports: the subject's records, a list of objects per category.",
    )
    counts = serializers.DictField(
        child=serializers.IntegerField(min_value=0),
        required=False,
        help_text="Other jobs: rows affected per category.",
    )
    confirmation = StrictCharField(required=False, max_length=200)
    error = StrictCharField(required=False, max_length=100, help_text="A failed job's code.")


class CallbackAnswerSerializer(serializers.Serializer):
    job_id = serializers.UUIDField()
    status = serializers.ChoiceField(
        choices=[("accepted", "accepted"), ("duplicate", "duplicate")],
        help_text="`duplicate`: the job was already settled; this result was not applied again.",
    )


# The API's one error body ({"detail": ...}), shared with the requests API.
DetailSerializer = _DetailSerializer
