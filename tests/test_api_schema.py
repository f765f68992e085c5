"""Property-based API tests: schemathesis fuzzes every operation of the served OpenAPI schema.

The schema comes from /api/schema/ (drf-spectacular) of the real WSGI application, so every
endpoint added to /api/v1/ joins this run without being listed here. Requests carry a personal
API token of a user who has a profile, a login history and a (foreign-device) session, so
that list and detail responses have bodies to validate.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from typing import cast
from unittest import mock

import pytest
import schemathesis
from allauth.usersessions.models import UserSession
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts import services
from accounts.models import User
from consent import services as consent_services
from tests.factories import LoginEventFactory, ProfileFactory, StaffFactory

# Loaded at collection time: generating the schema needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())

# What every response must satisfy, and what the API must refuse or accept: what the schema
# forbids is refused, what it allows is taken (the API's fields are strict: core/api_fields.py).
# scripts/api_fuzz.sh runs every check, stateful phase included, against a served portal.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
]

# Cases of the coverage phase are built, with their auth, at collection time: before any test
# database exists. So the `api_token` fixture gives each test's fresh token this known secret.
TOKEN_SECRET = services.API_TOKEN_PREFIX + "schemathesis-fixed-secret-for-the-test-run-only"


# The consent check API takes only a service token; the fixture creates one with this secret.
SERVICE_SECRET = consent_services.SERVICE_TOKEN_PREFIX + "schemathesis-fixed-service-secret"


@schema.auth(refresh_interval=None)
class PersonalToken:
    """Declares the Bearer token as real auth, so the ignored-auth check probes without it.
    Operations secured by a service token get that instead."""

    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        return TOKEN_SECRET

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        if case.operation.path.startswith("/api/v1/consent/check"):
            case.headers["Authorization"] = f"Service {SERVICE_SECRET}"
        else:
            case.headers["Authorization"] = f"Bearer {data}"


@pytest.fixture
def api_token(user) -> str:  # type: ignore[no-untyped-def]
    ProfileFactory(user=user)
    LoginEventFactory.create_batch(2, user=user)
    UserSession.objects.create(
        user=user, session_key="s" * 32, ip="203.0.113.7", user_agent="Mozilla/5.0 (X11)"
    )
    fixed = TOKEN_SECRET.removeprefix(services.API_TOKEN_PREFIX)
    with mock.patch.object(services.secrets, "token_urlsafe", return_value=fixed):
        _token, secret = services.api_token_create(
            user=user, name="schemathesis", lifetime=datetime.timedelta(hours=1)
        )
    assert secret == TOKEN_SECRET
    fixed = SERVICE_SECRET.removeprefix(consent_services.SERVICE_TOKEN_PREFIX)
    with mock.patch.object(consent_services.secrets, "token_urlsafe", return_value=fixed):
        consent_services.service_token_create(
            name="schemathesis",
            scopes=[consent_services.SCOPE_CONSENT_CHECK],
            actor=cast(User, StaffFactory()),
        )
    return secret


@pytest.fixture
def _keep_db_connection() -> Iterator[None]:
    """As django.test.Client does: a request must not close the test's transaction's connection."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    # One user and token serve every example of an operation; examples only read or edit it.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.usefixtures("_keep_db_connection")
def test_api_conforms_to_its_schema(case: schemathesis.Case, api_token: str) -> None:
    case.call_and_validate(checks=CHECKS)


def test_ending_an_unknown_session_is_404(api_token: str) -> None:
    response = Client().delete(
        "/api/v1/me/sessions/987654321/", headers={"Authorization": f"Bearer {api_token}"}
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "query", [f"limit={2**64}", f"offset={2**64}", "limit=0", "offset=-1", "offset=null", "limit="]
)
def test_a_page_outside_the_schemas_range_is_refused_with_its_name(api_token: str, query: str):
    """Schemathesis found `?limit=` past 2**63 - 1 reaching the database, and `?offset=null`
    served as if absent: each is refused, naming the parameter."""
    response = Client().get(
        f"/api/v1/me/logins/?{query}", headers={"Authorization": f"Bearer {api_token}"}
    )
    assert response.status_code == 400
    name = query.split("=")[0]
    span = "1 to 200" if name == "limit" else "0 to 2147483647"
    assert response.json() == {name: [f"Give a whole number from {span}, once."]}


def test_a_page_inside_the_range_is_served(api_token: str) -> None:
    response = Client().get(
        "/api/v1/me/logins/?limit=1&offset=1", headers={"Authorization": f"Bearer {api_token}"}
    )
    assert response.status_code == 200
    assert (response.json()["count"], len(response.json()["results"])) == (2, 1)


# --- Staff connector endpoints, with a privacy officer's token ---------------------------------
# The run above reaches them with a regular user's token, so they only ever answer 403. This run
# takes them alone with an officer's token, over jobs in every status, so their 200 bodies are
# validated too. Path parameters are sometimes the ids of the rows the fixture makes (fixed, as
# hypothesis would never guess a UUID), so detail and progress answers are not only 404.

STAFF_TOKEN_SECRET = services.API_TOKEN_PREFIX + "schemathesis-fixed-staff-secret-for-the-run"
SYSTEM_ID = 987_654  # far above any id a sequence hands out in a whole run
JOB_ID = uuid.UUID("6f1d3c2a-9b8e-4c7d-a5f6-0e1d2c3b4a59")
REQUEST_ID = uuid.UUID("0c9b8a7d-6e5f-4a3b-b2c1-d0e9f8a7b6c5")
KNOWN_PATH_PARAMETERS: dict[str, dict[str, object]] = {
    "/api/v1/connectors/systems/{system_id}/": {"system_id": SYSTEM_ID},
    "/api/v1/connectors/jobs/{job_id}/": {"job_id": str(JOB_ID)},
    "/api/v1/connectors/requests/{public_id}/progress/": {"public_id": str(REQUEST_ID)},
}

staff_schema = schema.include(path_regex=r"^/api/v1/connectors/(systems|jobs|requests)/")


class StaffToken:
    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        return STAFF_TOKEN_SECRET

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        case.headers["Authorization"] = f"Bearer {data}"


def before_generate_path_parameters(
    context: schemathesis.HookContext, strategy: st.SearchStrategy
) -> st.SearchStrategy:
    known = KNOWN_PATH_PARAMETERS.get(context.operation.path if context.operation else "")
    return strategy if known is None else strategy | st.just(known)


@pytest.fixture
def staff_api_token(db) -> str:  # type: ignore[no-untyped-def]
    from connectors.models import JobStatus
    from tests.connectors.factories import (
        ConnectedSystemFactory,
        ConnectorJobFactory,
        ManualSystemFactory,
    )
    from tests.factories import DataSubjectRequestFactory, PrivacyOfficerFactory

    officer = cast(User, PrivacyOfficerFactory())
    request = DataSubjectRequestFactory(type="copy", public_id=REQUEST_ID)
    ConnectorJobFactory(
        id=JOB_ID,
        request=request,
        system=ConnectedSystemFactory(pk=SYSTEM_ID),
        status=JobStatus.DONE,
        result_summary={"counts": {"play_history": 2}},
        confirmation="erasure-4411",
    )
    ConnectorJobFactory(request=request, status=JobStatus.FAILED, last_error="http_500")
    ConnectorJobFactory(
        request=request,
        status=JobStatus.EXCEPTED,
        excepted_reason="The vendor closed our account.",
        excepted_by=officer,
    )
    ConnectorJobFactory(request=request, system=ManualSystemFactory(), status=JobStatus.WAITING)
    ConnectorJobFactory(status=JobStatus.NOT_APPLICABLE, subject_sealed="")
    fixed = STAFF_TOKEN_SECRET.removeprefix(services.API_TOKEN_PREFIX)
    with mock.patch.object(services.secrets, "token_urlsafe", return_value=fixed):
        _token, secret = services.api_token_create(
            user=officer,
            name="schemathesis",
            lifetime=datetime.timedelta(hours=1),
            staff_scope=True,
            second_factor_used=True,
        )
    assert secret == STAFF_TOKEN_SECRET
    return secret


@staff_schema.hooks.apply(before_generate_path_parameters)
@staff_schema.auth(StaffToken, refresh_interval=None)
@staff_schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.usefixtures("_keep_db_connection")
def test_staff_connector_api_conforms_to_its_schema(
    case: schemathesis.Case, staff_api_token: str
) -> None:
    case.call_and_validate(checks=CHECKS)
