"""factory-boy factories for connected systems and their jobs."""

from __future__ import annotations

import json

import factory
from factory.django import DjangoModelFactory

from connectors import vault
from connectors.models import ConnectedSystem, ConnectorJob, JobStatus
from tests.factories import DataSubjectRequestFactory

SECRET = "s3cret-shared-between-portal-and-product-0123456789"


class ConnectedSystemFactory(DjangoModelFactory):
    """An enabled HTTP system, in scope for every request type, knowing the subject's e-mail.

    Pass `secret=...` for another shared secret (it is sealed like the service does).
    """

    class Meta:
        model = ConnectedSystem
        skip_postgeneration_save = True

    key = factory.Sequence(lambda n: f"system{n}")
    name = factory.LazyAttribute(lambda o: f"System {o.key}")
    owner_team = "Product"
    kind = "http"
    url = "http://127.0.0.1:9/connector"
    categories = factory.LazyFunction(lambda: ["account", "play_history"])
    request_types = factory.LazyFunction(
        lambda: [
            "access",
            "copy",
            "transfer",
            "delete",
            "correct",
            "supplement",
            "withdraw_consent",
            "restrict",
        ]
    )
    identifiers = factory.LazyFunction(lambda: ["email"])
    timeout_seconds = 2
    retry_base_seconds = 30
    secret_version = 1
    secret_encrypted = factory.LazyFunction(lambda: vault.seal(SECRET))

    @factory.post_generation
    def secret(obj: ConnectedSystem, create: bool, extracted: str | None, **kwargs: object) -> None:
        if extracted:
            obj.secret_encrypted = vault.seal(extracted)
        if create:
            obj.save()


class ManualSystemFactory(ConnectedSystemFactory):
    kind = "manual"
    url = ""
    secret_encrypted = factory.LazyFunction(str)
    secret_version = 0


class ConnectorJobFactory(DjangoModelFactory):
    """A queued export job at an HTTP system, with the subject's e-mail sealed in it."""

    class Meta:
        model = ConnectorJob

    request = factory.SubFactory(DataSubjectRequestFactory, type="copy")
    system = factory.SubFactory(ConnectedSystemFactory)
    type = "export"
    status = JobStatus.QUEUED
    scope = factory.LazyFunction(lambda: {"categories": None})
    subject_sealed = factory.LazyAttribute(
        lambda o: vault.seal(json.dumps({"identifiers": {"email": o.request.subject.email}}))
    )
